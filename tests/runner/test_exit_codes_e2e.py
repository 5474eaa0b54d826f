"""Exit codes a campaign script can act on: one test per code, through `chargespec run` (a subprocess each,
the twin at 20x) and, where pytest alone can give it, plain `pytest` with the plugin.

Code 2 (interrupted) is proven with real signals in test_interrupt_e2e.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.exitcodes import RunExit, Tally, decide

REPO = Path(__file__).resolve().parents[2]

PASSES = '''spec "Passes"
  scenario "holds"
    expect for 5 s: analyzer current L1 <= 40 A
'''
FAILS = '''spec "Fails"
  scenario "does not hold"
    expect for 5 s: analyzer current L1 >= 40 A
'''
BREAKS = '''spec "Breaks"
  scenario "bench breaks"
    bench breaks
'''
# A step a lab could add in Python: a bench fault, as a dropped instrument line would raise.
CONFTEST = '''
from runner.errors import BenchError
from runner.steps import step


@step("bench breaks", name="test.bench_breaks")
def bench_breaks(run):
    raise BenchError(None, "the analyzer line dropped")
'''


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner.cli", "run", *args, "--speed", "20",
                           "--out", str(tmp_path / "out")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)


def _specs(tmp_path: Path, **specs: str) -> list[str]:
    paths = []
    for name, text in specs.items():
        (tmp_path / f"{name}.spec").write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / f"{name}.spec"))
    if "breaks" in specs:
        (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    return paths


def test_0_every_scenario_passed(tmp_path: Path) -> None:
    r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES))
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr


def test_1_a_charger_failed_a_criterion_even_beside_a_broken_scenario(tmp_path: Path) -> None:
    r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES, fails=FAILS, breaks=BREAKS))
    assert r.returncode == RunExit.CHARGER_FAILED, r.stdout + r.stderr
    # pytest counts the broken one as "failed" too; chargespec's own line tells them apart
    assert "\n1 passed, 1 failed, 1 broken, 0 skipped; exit code 1 (a charger failed a criterion)\n" in r.stdout


def test_3_bench_broken_without_a_charger_failure(tmp_path: Path) -> None:
    r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES, breaks=BREAKS))
    assert r.returncode == RunExit.BENCH_BROKEN, r.stdout + r.stderr
    assert "the analyzer line dropped" in r.stdout
    assert "\n1 passed, 0 failed, 1 broken, 0 skipped; exit code 3 (the bench broke and no charger failed)\n" \
        in r.stdout


def test_4_a_bench_file_error_is_a_usage_error_and_leaves_no_run_folder(tmp_path: Path) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text('name = "x"\nkind = "twin"\n[[stations]]\nid = "A"\n[stations.instruments.analyzer]\n'
                     'address = "twin"\n', encoding="utf-8")
    r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES), "--bench", str(bench))
    assert r.returncode == RunExit.USAGE_ERROR, r.stdout + r.stderr
    assert not (tmp_path / "out" / "runs").exists()


def test_4_a_spec_error_is_a_usage_error(tmp_path: Path) -> None:
    bad = 'spec "x"\n  scenario "y"\n    expect within 15 s: analyzer current L1 <= 7 kW\n'
    r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES, bad=bad))
    assert r.returncode == RunExit.USAGE_ERROR, r.stdout + r.stderr
    assert "bad.spec:3:" in r.stdout


def test_a_wrong_driver_name_does_not_exit_like_a_nonconforming_charger(tmp_path: Path) -> None:
    twin = (REPO / "lab" / "benches" / "twin.toml").read_text(encoding="utf-8")
    bench = tmp_path / "bench.toml"
    bench.write_text(twin.replace('driver = "yokogawa-wt300"', 'driver = "yokogawa-wt999"'), encoding="utf-8")
    r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES), "--bench", str(bench))
    assert r.returncode == RunExit.USAGE_ERROR, r.stdout + r.stderr  # before anything ran; never 1
    assert "unknown driver 'yokogawa-wt999'" in r.stdout + r.stderr
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.parametrize("how", ["no spec files", "all deselected"])
def test_5_no_specs_selected(tmp_path: Path, how: str) -> None:
    if how == "no spec files":
        (tmp_path / "empty").mkdir()
        r = _cli(tmp_path, str(tmp_path / "empty"))
    else:
        r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES), "-m", "no-such-tag")
    assert r.returncode == RunExit.NO_SPECS, r.stdout + r.stderr
    assert not (tmp_path / "out" / "runs").exists()


def test_6_the_html_report_could_not_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory", encoding="utf-8")
    r = _cli(tmp_path, *_specs(tmp_path, passes=PASSES), "--html", str(tmp_path / "file" / "report"))
    assert r.returncode == RunExit.NO_REPORT, r.stdout + r.stderr
    assert "chargespec: " in r.stderr


def test_plain_pytest_gives_the_same_codes(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".spec", breaks=BREAKS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "20", timeout=300)
    assert result.ret == RunExit.BENCH_BROKEN
    pytester.makefile(".spec", fails=FAILS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "20", timeout=300)
    assert result.ret == RunExit.CHARGER_FAILED
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "no-such-tag", timeout=300)
    assert result.ret == RunExit.NO_SPECS


def test_a_session_without_specs_keeps_pytests_codes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_error():\n    raise KeyError(1)\n")
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider").ret == pytest.ExitCode.TESTS_FAILED
    assert not (pytester.path / "out").exists()


@pytest.mark.parametrize(("status", "tally", "code"), [
    (0, Tally(), RunExit.PASSED),
    (1, Tally(failed=1), RunExit.CHARGER_FAILED),
    (1, Tally(broken=2), RunExit.BENCH_BROKEN),
    (1, Tally(failed=1, broken=2), RunExit.CHARGER_FAILED),
    (2, Tally(failed=1, broken=1, interrupted=True), RunExit.INTERRUPTED),
    (2, Tally(collection_errors=1), RunExit.USAGE_ERROR),  # pytest stops at collection errors "interrupted"
    (4, Tally(), RunExit.USAGE_ERROR),
    (5, Tally(), RunExit.NO_SPECS),
    (3, Tally(), RunExit.BENCH_BROKEN),  # pytest's internal error: nothing was judged
])
def test_decide_order(status: int, tally: Tally, code: RunExit) -> None:
    assert decide(status, tally) == code


@pytest.mark.parametrize(("args", "said"), [
    (["--fault", "meter_gian=1.01"], "meter_gian"),
    (["--speed", "0"], "--speed"),
    (["--bench", "lab/benches/no-such.toml"], "no-such.toml"),
])
def test_4_chargespec_twin_refuses_to_start_as_a_usage_error(args: list[str], said: str) -> None:
    from lab.twin import serve

    assert serve.USAGE_ERROR == RunExit.USAGE_ERROR  # (lab cannot import runner: the same number, held here)
    r = subprocess.run([sys.executable, "-m", "runner.cli", "twin", "--csms", "ws://127.0.0.1:9", *args],
                       cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 4, r.stderr
    assert r.stderr.startswith("chargespec twin: ") and said in r.stderr and "Traceback" not in r.stderr
