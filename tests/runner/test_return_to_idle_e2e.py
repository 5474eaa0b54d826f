"""What the return to idle could not put back, end to end on the twin (runner/leftovers.py).

tests/runner/fixtures/leftover.spec: a first scenario makes EVSE 1 Inoperative (the return to idle sets it back
to Operative), a second charges on EVSE 1. The plugin tests/runner/fixtures/refuse_operative.py makes the twin
answer ChangeAvailability Operative Rejected the first N times (-1: always): a charger stuck Inoperative.

- always refused: the second scenario is broken before it runs, naming what was left, by which scenario and
  why, never failed on the charger's criteria it would have been judged on (it used to fail: "session starts"
  on an Inoperative EVSE); run.json and the acceptance summary say the charger was left changed;
- refused once: the retry before the second scenario restores it, and the second scenario runs and passes
  (it used to fail on the EVSE the first left Inoperative), its judged record starting after the retry;
- a second station's leftover is its own: a scenario on the first station runs as usual;
- never refused: the run is as before, no retry, nothing left changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "runner" / "fixtures"
SPEC = "tests/runner/fixtures/leftover.spec"
LEFT = ("scenario 'EVSE 1 made inoperative' (tests/runner/fixtures/leftover.spec:5) left station 'TWIN-AC22-001' "
        "changed and the return to idle, tried again before this scenario, could not restore it: availability of "
        "evse 1 not back to Operative (ChangeAvailability: Rejected)")


def _run(out: Path, refusals: int, *args: str, spec: str = SPEC,
         bench: str = "lab/benches/twin.toml") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHARGESPEC_TEST_REFUSE_OPERATIVE": str(refusals),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(FIXTURES)])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", spec, "-p", "refuse_operative", "-p", "no:cacheprovider", "-q",
         "--bench", bench, "--speed=60", f"--out={out}", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False, env=env)


def _run_folder(out: Path) -> Path:
    (run,) = (out / "runs").iterdir()
    return run


def _results(run: Path) -> dict[str, dict[str, Any]]:
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    return {r["scenario"]: r for r in verdicts["results"]}


def test_a_leftover_that_stays_breaks_the_next_scenario_naming_it(tmp_path: Path) -> None:
    proc = _run(tmp_path / "out", -1)
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-2000:]  # broken, no charger failure
    assert "1 passed, 0 failed, 1 broken" in proc.stdout
    run = _run_folder(tmp_path / "out")
    results = _results(run)
    assert results["EVSE 1 made inoperative"]["verdict"] == "passed"
    second = results["a session on EVSE 1"]
    assert second["verdict"] == "broken"
    assert second["message"].startswith('tests/runner/fixtures/leftover.spec:9:3: `scenario "a session on EVSE 1"`\n'
                                        "  not run: " + LEFT), second["message"]
    assert [m["verdict"] for m in second["measurements"]] == ["broken"]  # no criterion of it judged
    evidence = run / "evidence" / "A-scenario-leaves-EVSE-1-Inoperative"
    # the first scenario's evidence says what it left; the second's, the retry (its traffic apart)
    first_notes = (evidence / "EVSE-1-made-inoperative" / "notes.txt").read_text(encoding="utf-8")
    assert "availability of evse 1 NOT restored to Operative (Rejected" in first_notes
    assert "station 'TWIN-AC22-001' is left changed" in first_notes
    retry = evidence / "a-session-on-EVSE-1" / "return-to-idle-retry" / "ocpp.jsonl"
    assert 'ChangeAvailability' in retry.read_text(encoding="utf-8")
    # the run's last scenario left the charger changed: run.json and the acceptance summary say so
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert identity["left changed"] == {"TWIN-AC22-001": "by scenario 'EVSE 1 made inoperative' (tests/runner/"
                                        "fixtures/leftover.spec:5): availability of evse 1 not back to Operative "
                                        "(ChangeAvailability: Rejected)"}
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["left changed"] == identity["left changed"]
    from runner.summary import model

    assert any(d.startswith("the charger was left changed at the end of the run: station TWIN-AC22-001 by "
                            "scenario 'EVSE 1 made inoperative'") for d in model.read(run).deviations)


def test_a_leftover_the_retry_restores_lets_the_next_scenario_run(tmp_path: Path) -> None:
    proc = _run(tmp_path / "out", 1)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed, 0 failed, 0 broken" in proc.stdout
    run = _run_folder(tmp_path / "out")
    second = run / "evidence" / "A-scenario-leaves-EVSE-1-Inoperative" / "a-session-on-EVSE-1"
    notes = (second / "notes.txt").read_text(encoding="utf-8")
    assert "before the scenario, return to idle again: availability of evse 1 restored to Operative" in notes
    assert "before the scenario: station 'TWIN-AC22-001' is back to idle" in notes
    # the retry's ChangeAvailability is in its own folder, not in the record the scenario is judged on
    assert 'ChangeAvailability' in (second / "return-to-idle-retry" / "ocpp.jsonl").read_text(encoding="utf-8")
    assert 'ChangeAvailability' not in (second / "ocpp.jsonl").read_text(encoding="utf-8")
    assert "left changed" not in json.loads((run / "run.json").read_text(encoding="utf-8"))


def test_a_leftover_on_one_station_leaves_the_other_alone(tmp_path: Path) -> None:
    """On a bench of two, station right's EVSE left Inoperative breaks the next scenario on right alone."""
    proc = _run(tmp_path / "out", -1, spec="tests/runner/fixtures/leftover-two-stations.spec",
                bench="lab/benches/twin-2station.toml")
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-2000:]
    run = _run_folder(tmp_path / "out")
    results = _results(run)
    assert {s: r["verdict"] for s, r in results.items()} == {
        "EVSE 1 of station right made inoperative": "passed", "a session on station left": "passed",
        "a session on station right": "broken"}
    assert results["a session on station right"]["message"].split("\n", 1)[1].startswith(
        "  not run: scenario 'EVSE 1 of station right made inoperative' (tests/runner/fixtures/"
        "leftover-two-stations.spec:7) left station 'TWIN-B' changed"), results["a session on station right"]
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert list(identity["left changed"]) == ["TWIN-B"]


def test_when_the_return_to_idle_restores_all_nothing_changes(tmp_path: Path) -> None:
    """The healthy case, as before the leftovers: no retry, the second scenario passes, nothing left changed."""
    proc = _run(tmp_path / "out", 0)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    run = _run_folder(tmp_path / "out")
    assert {r["verdict"] for r in _results(run).values()} == {"passed"}
    assert not list(run.glob("evidence/*/*/return-to-idle-retry"))
    assert "left changed" not in json.loads((run / "run.json").read_text(encoding="utf-8"))
    first = run / "evidence" / "A-scenario-leaves-EVSE-1-Inoperative" / "EVSE-1-made-inoperative" / "notes.txt"
    assert "availability of evse 1 restored to Operative (Accepted" in first.read_text(encoding="utf-8")


def test_a_variable_whose_original_cannot_be_known_leaves_nothing_to_retry(tmp_path: Path) -> None:
    """A WriteOnly variable (the Basic-auth password): the charger will not tell its original, so it cannot be
    put back nor known to matter (runner/leftovers.py): said in the evidence, the next scenario runs."""
    proc = _run(tmp_path / "out", 0, spec="tests/runner/fixtures/leftover-write-only.spec")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    run = _run_folder(tmp_path / "out")
    assert {r["verdict"] for r in _results(run).values()} == {"passed"}
    notes = next(run.glob("evidence/*/the-Basic-auth-password-rotated/notes.txt")).read_text(encoding="utf-8")
    assert "SecurityCtrlr.BasicAuthPassword NOT restored: its original value is unknown" in notes
    assert "left changed" not in notes
    assert not list(run.glob("evidence/*/*/return-to-idle-retry"))
    assert "left changed" not in json.loads((run / "run.json").read_text(encoding="utf-8"))
