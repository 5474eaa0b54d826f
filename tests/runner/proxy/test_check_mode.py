"""`chargespec check --bench FILE / --proxy-to URL`: each line that cannot run in the bench's mode, compiler style.

Golden files (tests/runner/proxy/golden/): each *.spec is checked in the mode its name says and the *.expected
next to it holds the exact stderr. Regenerate after an intended change of wording:
CHARGESPEC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/runner/proxy/test_check_mode.py (then read the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dsl
from runner.cli import main
from runner.exitcodes import RunExit
from runner.proxy.statements import RULES, mode_errors, mode_problems

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parents[3]
TWIN = str(REPO / "lab" / "benches" / "twin.toml")
UPDATE = os.environ.get("CHARGESPEC_UPDATE_GOLDEN") == "1"

CASES = {  # golden case -> the mode's arguments
    "harness-only-in-proxy-mode": ["--proxy-to", "ws://127.0.0.1:9/ocpp"],
    "proxy-only-on-the-harness": ["--bench", TWIN],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_names_each_line_that_cannot_run_in_the_mode(case: str, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(GOLDEN)  # messages name the file as a person passed it
    assert main(["check", *CASES[case], f"{case}.spec"]) == RunExit.USAGE_ERROR
    got = capsys.readouterr().err
    expected = GOLDEN / f"{case}.expected"
    if UPDATE:
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")


def test_the_same_specs_are_clean_in_their_own_mode_and_without_a_bench(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(GOLDEN)
    assert main(["check", "harness-only-in-proxy-mode.spec"]) == 0  # no bench named: the mode is unknown
    assert main(["check", "--bench", TWIN, "harness-only-in-proxy-mode.spec"]) == 0
    assert main(["check", "--proxy-to", "ws://127.0.0.1:9/ocpp", "proxy-only-on-the-harness.spec"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ok: no errors (checked for proxy mode)"


def test_a_bench_file_with_a_proxy_table_is_proxy_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "proxy.toml"  # the twin bench with a [proxy] table
    bench.write_text(Path(TWIN).read_text(encoding="utf-8") + '\n[proxy]\nto = "ws://127.0.0.1:9/ocpp"\n')
    monkeypatch.chdir(GOLDEN)
    assert main(["check", "--bench", str(bench), "proxy-only-on-the-harness.spec"]) == 0
    assert main(["check", "--bench", str(bench), "."]) == RunExit.USAGE_ERROR  # a folder: every file in it
    err = capsys.readouterr().err
    assert "harness-only-in-proxy-mode.spec:12:5: `csms sends` needs chargespec to be the CSMS" in err
    assert "proxy-only-on-the-harness" not in err


def test_a_bench_file_error_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--bench", str(tmp_path / "none.toml"), str(GOLDEN)]) == RunExit.USAGE_ERROR
    assert "none.toml: no such bench file" in capsys.readouterr().err
    assert main(["check", "--proxy-to", "http://x/ocpp", str(GOLDEN)]) == RunExit.USAGE_ERROR
    assert "ws://" in capsys.readouterr().err


def test_a_file_with_spec_errors_reports_those_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "x.spec"
    spec.write_text('spec "x"\n  scenario "s"\n    csms sends Reset {type: "OnIdle"}\n    ev plgs in\n')
    assert main(["check", "--proxy-to", "ws://127.0.0.1:9/ocpp", str(spec)]) == RunExit.USAGE_ERROR
    err = capsys.readouterr().err
    assert "unknown statement" in err and "needs chargespec" not in err


def test_a_run_and_check_use_the_same_judgement() -> None:
    """The run-time check (runner/execute.py, mode_problems) names the lines and gives the hints check prints."""
    [spec] = dsl.load(GOLDEN / "harness-only-in-proxy-mode.spec")
    plan = spec.scenarios[0]  # (limit 6 A)
    checked = [e.headline() for e in mode_errors(plan, proxy=True)]
    run = mode_problems(plan, proxy=True)
    assert [(c.split(": ")[0], c.split(" — ")[1]) for c in checked] == [(r.split(": ")[0], r.split(" — ")[1])
                                                                          for r in run]
    assert "harness-only-in-proxy-mode.spec:11:5: `csms sets TxProfile on evse 1: limit 6 A` needs chargespec " \
           "to be the CSMS — in proxy mode the backend sets the limits" in run[3]
    assert len(run) == 6 and mode_errors(plan, proxy=False) == mode_problems(plan, proxy=False) == []


def test_every_rule_names_a_statement_of_the_language() -> None:
    registry = dsl.builtin_registry()
    assert [step for step in RULES if step not in registry] == []
