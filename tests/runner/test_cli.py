"""The `chargespec` command line: check's exit codes and messages, run's argument handling."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.cli import EXTERNAL, _allure_binary, main

REPO = Path(__file__).resolve().parents[2]


def test_check_passes_the_spec_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(REPO / "specs")]) == 0
    assert "ok" in capsys.readouterr().out


def test_check_misspelled_unit_names_file_line_col_with_caret(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.spec"
    spec.write_text(
        'spec "Energy"\n'
        '  scenario "one"\n'
        '    ev draws 16 A\n'
        '    measure "steady" for 10 min\n'
        '    expect charger energy over "steady" within 2 kwh of analyzer energy over "steady"\n',
        encoding="utf-8")
    assert main(["check", str(spec)]) == 4  # a usage error (runner/exitcodes.py), as `run` exits on it
    err = capsys.readouterr().err
    assert f"{spec}:5:" in err
    assert 'unknown unit "kwh"' in err and '"kWh"' in err
    assert "expect charger energy over" in err and "^" in err


SHARED = """setup "plugged in"
  charger booted
  ev plugs in on evse 1
"""
USER = """spec "Uses a shared setup"
  setup
    include setup "plugged in" from "../common/setup.spec"

  scenario "s"
    ev draws 16 A
"""


def test_check_of_one_file_allows_includes_under_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "specs" / "common").mkdir(parents=True)
    (tmp_path / "specs" / "metering").mkdir()
    (tmp_path / "specs" / "common" / "setup.spec").write_text(SHARED)
    (tmp_path / "specs" / "metering" / "x.spec").write_text(USER)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "specs/metering/x.spec"]) == 0
    # a narrower root named explicitly is honoured: the include then leads out of it
    assert main(["check", "--include-root", "specs/metering", "specs/metering/x.spec"]) == 4
    assert 'include path "../common/setup.spec" leads out of the spec root' in capsys.readouterr().err


@pytest.mark.parametrize(("fault", "expected"), [
    ("meter_gain", "expected NAME=VALUE"),
    ("meter_gian=1.03", "unknown twin fault 'meter_gian'; valid faults are:"),
    ("meter_gain=abc", "fault meter_gain='abc': expected a number"),
])
def test_run_rejects_a_bad_fault_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      fault: str, expected: str) -> None:
    spec = tmp_path / "x.spec"
    spec.write_text('spec "x"\n  scenario "y"\n    wait 1 s\n', encoding="utf-8")
    code = main(["run", str(spec), "--out", str(tmp_path / "out"), "--fault", fault])
    assert code == 4  # pytest's usage error
    err = capsys.readouterr().err
    assert expected in err
    if "valid faults" in expected:
        assert "meter_gain (number in (0, 10], healthy 1.0)" in err


def test_run_rejects_a_bad_bench_file_naming_file_and_key(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text('name = "x"\nkind = "twin"\n[[stations]]\nid = "A"\n[stations.instruments.analyzer]\n'
                     'address = "twin"\n', encoding="utf-8")
    spec = tmp_path / "x.spec"
    spec.write_text('spec "x"\n  scenario "y"\n    wait 1 s\n', encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--bench", str(bench)]) == 4
    assert f"{bench}: stations.0.instruments.analyzer.driver: Field required" in capsys.readouterr().err


@pytest.mark.skipif(_allure_binary() is None, reason="the Allure 3 command line is not installed (npm install)")
def test_run_with_html_reports_that_runs_results_and_ends_with_the_report_path(tmp_path: Path) -> None:
    spec = tmp_path / "x.spec"
    spec.write_text('spec "x"\n  scenario "y"\n    wait 1 s\n', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "runner.cli", "run", str(spec), "--speed", "20", "--out",
                        str(tmp_path / "out"), "--html", str(tmp_path / "report")],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    (run,) = (tmp_path / "out" / "runs").iterdir()
    assert f"Run folder: {run.resolve()}" in r.stdout
    assert f"Verdicts and measurements: {(run / 'verdicts.json').resolve()}" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1] == f"HTML report: {(tmp_path / 'report').resolve() / 'index.html'}"
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    # titled with the charger and the bench; the twin says simulation
    assert summary["name"] == (f"chargespec Twin AC22, serial TWIN-AC22-SN-0001 on bench twin: chargespec run "
                               f"{run.name} (simulation)")
    # one self-contained file that opens from the file system: no script, style or image from outside
    index = (tmp_path / "report" / "index.html").resolve()
    html = index.read_text(encoding="utf-8")
    assert not EXTERNAL.search(html) and "googletagmanager" not in html
    assert 'src="data:text/javascript;base64,' in html
    assert not [p for p in (tmp_path / "report").rglob("*") if p.suffix in (".js", ".css")]
    assert f"to open it from any directory: python3 -m webbrowser {index.as_uri()}" in r.stdout


@pytest.mark.parametrize(("args", "said"), [
    (["run", "specs/", "--spead", "2"], "unrecognized arguments: --spead 2"),
    (["run", "--resume"], "--resume needs --campaign FILE"),
    (["run", "--speed", "fast"], "argument --speed: invalid float value: 'fast'"),
    (["proxy", "--port", "0"], "the following arguments are required: --to"),
    (["csms", "--max-frame-bytes", "12"], "--max-frame-bytes: 12 is below the smallest limit"),
    (["nonsense"], "invalid choice: 'nonsense'"),
])
def test_a_command_line_mistake_is_a_usage_error(tmp_path: Path, args: list[str], said: str) -> None:
    """Exit 4 (runner/exitcodes.py: "command line, bench file or spec file error"), not argparse's 2, which
    chargespec's table gives to an interrupted run; nothing ran, no run folder."""
    r = subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 4, r.stdout + r.stderr
    assert said in r.stderr and r.stderr.startswith("usage: chargespec"), r.stderr
    assert not (tmp_path / "out").exists()


def test_check_of_a_folder_without_specs_says_so_and_is_no_ok(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`check emptydir/` used to print "ok: no errors" having checked nothing: a mistyped folder passed."""
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("not a spec")
    assert main(["check", str(tmp_path / "empty")]) == 5  # RunExit.NO_SPECS, as `run` exits on it
    out, err = capsys.readouterr()
    assert "ok" not in out
    assert err.splitlines() == [f"chargespec: no spec file (*.spec) in {tmp_path / 'empty'}",
                                "chargespec: nothing checked"]
    # beside a folder with specs, the empty one is named and the others are checked as before
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "x.spec").write_text('spec "S"\n  scenario "s"\n    ev plugs in\n')
    assert main(["check", str(tmp_path / "empty"), str(tmp_path / "specs")]) == 0
    out, err = capsys.readouterr()
    assert out == "ok: no errors\n" and err == f"chargespec: no spec file (*.spec) in {tmp_path / 'empty'}\n"


LAB_STEP = '''from runner.steps import step


@step("load bank draws {power:power}", name="cli_lab.loadbank.draws")
def loadbank_draws(run, power):
    run.station.session.extra["loadbank"].set_power("L1", power.value)
'''
LAB_SPEC = 'spec "Site load"\n  scenario "site load"\n    load bank draws 3 kW\n'


@pytest.fixture
def lab_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A lab's tree as docs/language.md shows it: its conftest.py imports a module defining a statement with
    @step, and a spec uses it. The registry, the implementations and sys.path are the test's own."""
    import dsl.steps
    import runner.steps

    monkeypatch.setattr(dsl.steps, "_SHARED", dsl.builtin_registry().copy())
    monkeypatch.setattr(runner.steps, "IMPLEMENTATIONS", dict(runner.steps.IMPLEMENTATIONS))
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "cli_lab_loadbank.py").write_text(LAB_STEP, encoding="utf-8")
    (tmp_path / "conftest.py").write_text("import cli_lab_loadbank  # noqa: F401\n", encoding="utf-8")
    (tmp_path / "specs" / "site").mkdir(parents=True)
    (tmp_path / "specs" / "site" / "load.spec").write_text(LAB_SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:  # (the lab's modules and the conftests check imported)
        if name.startswith(("cli_lab_", "_chargespec_conftest_")):
            del sys.modules[name]


def test_check_knows_the_statements_a_labs_conftest_defines(lab_tree: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`check` used to report a lab's @step statement as unknown, where pytest collection (which imports the
    conftest.py) accepts it: check imports the same conftest.py files, from the current directory down."""
    assert main(["check", "specs"]) == 0
    assert capsys.readouterr().out == "ok: no errors\n"


def test_check_without_the_conftest_says_why_a_lab_statement_is_unknown(lab_tree: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--no-conftest", "specs"]) == 4
    err = capsys.readouterr().err
    assert 'unknown actor "load"' in err
    assert ("note: a statement a lab defines with @step (runner.steps.step) is known to check when its module is "
            "imported by a conftest.py in the current directory or a folder on the way to the spec, as pytest "
            "collection imports it (--no-conftest: none was); run check from where `chargespec run` runs "
            "(conftest.py loaded: none)") in err


def test_check_of_a_spec_outside_the_current_directory_imports_no_conftest(
        lab_tree: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # (a spec from elsewhere brings no Python to run)
    assert main(["check", str(lab_tree / "specs")]) == 4
    assert "(conftest.py loaded: none)" in capsys.readouterr().err


def test_check_stops_on_a_conftest_that_does_not_import(lab_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (lab_tree / "specs" / "conftest.py").write_text("import no_such_lab_module\n", encoding="utf-8")
    assert main(["check", "specs/site/load.spec"]) == 4  # as pytest collection stops on it (its usage error)
    assert capsys.readouterr().err == (
        f"chargespec: cannot import {lab_tree / 'specs' / 'conftest.py'} (pytest collection imports it too): "
        "ModuleNotFoundError: No module named 'no_such_lab_module'\n")


def test_collection_and_check_agree_on_a_lab_statement(lab_tree: Path, pytester: pytest.Pytester) -> None:
    """The same tree collected by pytest (the plugin): the spec's scenario is an item, no error."""
    for name in ("cli_lab_loadbank.py", "conftest.py"):
        (pytester.path / name).write_text((lab_tree / name).read_text(encoding="utf-8"), encoding="utf-8")
    (pytester.path / "load.spec").write_text(LAB_SPEC, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only", "-q", "load.spec",
                                           timeout=120)
    result.stdout.fnmatch_lines(["load.spec::Site load::site load"])
    assert result.ret == 0


def test_a_run_from_the_repository_prints_no_warning_about_chargespecs_own_modules(tmp_path: Path) -> None:
    """`python -m runner.cli run` (or the command started where its packages are importable) imports chargespec
    before pytest starts, and pytest warned that it could not rewrite runner's and dsl's asserts: noise in every
    run's output that a lab reads as something wrong."""
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "run", "specs/octt/B/TC_B_02_CS.spec", "--speed", "60",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "cannot be rewritten" not in out and "warnings summary" not in out, out[-3000:]
