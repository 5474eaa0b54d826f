"""Interrupted runs never pass (real subprocesses, real signals, the twin at 20x).

A run is stopped during a 600 s `expect for` hold, once it is seen to have entered that step (its
"step" event in the scenario's events.jsonl). SIGINT, SIGTERM and SIGHUP: the scenario is *broken* with the line,
the step and the bench time spent in it; no later scenario runs; run.json and the Allure environment say
INCOMPLETE; the exit code says interrupted. SIGKILL: the provisional result stays (*broken*, "did not
finish") and the run's identity (charger, firmware, instruments) is on disk, status INCOMPLETE.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner import runs
from runner.exitcodes import RunExit

HOLD = '''spec "Hold"
  scenario "long hold"
    charger booted
    expect for 600 s: analyzer current L1 <= 40 A

  scenario "after"
    wait 1 s
'''
HOLD_LINE = 4


def _start(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    spec = tmp_path / "hold.spec"
    spec.write_text(HOLD, encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "run", str(spec), "--speed", "20", "--out", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, out


def _wait_for_the_hold(proc: subprocess.Popen[str], out: Path) -> None:
    """Until the scenario has been inside the hold for a moment (bounded: 60 s real)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for events in out.glob("runs/*/evidence/Hold/long-hold/events.jsonl"):
            lines = [json.loads(x) for x in events.read_text(encoding="utf-8").splitlines() if x.strip()]
            if any(e.get("kind") == "step" and e.get("line") == HOLD_LINE for e in lines):
                time.sleep(0.5)  # 10 bench seconds into the hold
                return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the hold:\n{proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run did not reach the hold within 60 s")


def _results(run: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in (run / "allure-results").glob("*-result.json")]


def _only_run(out: Path) -> Path:
    runs = list((out / "runs").iterdir())
    assert len(runs) == 1, runs
    assert (out / "latest").resolve() == runs[0].resolve()
    return runs[0]


def _interrupted(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """The output of a run just sent a signal, which must end it as interrupted within `timeout_s`."""
    try:
        stdout, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == RunExit.INTERRUPTED, stdout
    return stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_during_expect_for_breaks_the_scenario_and_the_run_is_incomplete(tmp_path: Path,
                                                                                   sig: signal.Signals) -> None:
    proc, out = _start(tmp_path)
    _wait_for_the_hold(proc, out)
    proc.send_signal(sig)
    stdout = _interrupted(proc, 60)
    message = re.compile(rf"interrupted by {sig.name} at `[^`]*hold\.spec:{HOLD_LINE}` "
                         r"\(`expect for 600 s: analyzer current L1 <= 40 A`\) after (\d+\.\d) s of the 600 s hold")
    m = message.search(stdout)
    assert m and 0 < float(m.group(1)) < 600, stdout

    run = _only_run(out)
    results = _results(run)
    assert [(r["name"], r["status"]) for r in results] == [("long hold", "broken")]  # and "after" never ran
    assert message.search(results[0]["statusDetails"]["message"])
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert identity["status"] == "INCOMPLETE"
    assert message.search(identity["status.reason"])
    assert identity["exit code"] == RunExit.INTERRUPTED
    assert identity["scenarios"] == {"passed": 0, "failed": 0, "broken": 1, "skipped": 0}
    env = (run / "allure-results" / "environment.properties").read_text(encoding="utf-8")
    assert "status=INCOMPLETE\n" in env
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert (verdicts["status"], verdicts["verdict"]) == ("INCOMPLETE", "incomplete")
    (result,) = verdicts["results"]
    assert result["verdict"] == "broken" and message.search(result["message"])
    (hold,) = [m for m in result["measurements"] if m["line"] == HOLD_LINE]  # the interrupted judgement
    assert hold["verdict"] == "broken" and hold["message"] == f"interrupted ({sig.name}) while judging: no verdict"
    assert hold["limits"][0]["value"] == 40.0 and hold["window"]["end_s"] - hold["window"]["start_s"] == 600


def test_sigkill_during_expect_for_leaves_the_scenario_broken_and_the_identity_on_disk(tmp_path: Path) -> None:
    proc, out = _start(tmp_path)
    _wait_for_the_hold(proc, out)
    proc.kill()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    run = _only_run(out)
    results = _results(run)
    assert [(r["name"], r["status"]) for r in results] == [("long hold", "broken")]
    assert results[0]["statusDetails"]["message"].startswith("did not finish")
    assert {"name": "suite", "value": "Hold"} in results[0]["labels"]
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert identity["status"] == "INCOMPLETE"
    assert "firmware 1.4.2" in identity["charger.TWIN-AC22-001"]
    assert set(identity["instruments"]) == {f"TWIN-AC22-001.{role}"  # every instrument of lab/benches/twin.toml
                                           for role in ("analyzer", "analyzer2", "ems", "ev", "ev2", "reader")}
    assert not list(run.rglob("*.tmp"))  # every file on disk is whole
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert (verdicts["status"], verdicts["verdict"]) == ("INCOMPLETE", "incomplete")
    assert [(r["scenario"], r["verdict"]) for r in verdicts["results"]] == [("long hold", "broken")]
    assert verdicts["results"][0]["message"].startswith("did not finish")
    records = json.loads(next(run.rglob("long-hold/measurements.json")).read_text(encoding="utf-8"))
    assert [(m["line"], m["verdict"]) for m in records] == [(HOLD_LINE, "broken")]  # the hold, unfinished
    assert records[0]["message"].startswith("did not finish")


def test_ctrl_c_in_per_station_mode_says_where_each_stations_scenario_was_stopped(tmp_path: Path) -> None:
    """`pytest -n 2` on the two-station twin, Ctrl-C (SIGINT to the process group) while both stations hold.
    Each worker stops its scenario with the line, step and time; the controller, stopped by the same Ctrl-C,
    never received those reports, so verdicts.json said "did not finish" (killed, crashed) for both: the
    merged verdict takes each worker's own account from its run file."""
    spec = tmp_path / "hold.spec"
    spec.write_text(HOLD, encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--out={out}", str(spec),
                             "-n", "2", "--bench=lab/benches/twin-2station.toml", "--speed=20"],
                            cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        held = [p for p in out.glob("runs/*/evidence/*/Hold/long-hold/events.jsonl")
                if any(json.loads(x).get("kind") == "step" and json.loads(x).get("line") == HOLD_LINE
                       for x in p.read_text(encoding="utf-8").splitlines() if x.strip())]
        if len(held) == 2:
            time.sleep(0.5)
            break
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the hold:\n{proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the stations did not reach the hold within 90 s")
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C at a terminal: the controller and both workers
    _interrupted(proc, 90)
    run = next((out / "runs").iterdir())
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert (verdicts["status"], verdicts["verdict"]) == ("INCOMPLETE", "incomplete")
    message = re.compile(rf"interrupted by SIGINT at `[^`]*hold\.spec:{HOLD_LINE}` \(`expect for 600 s: analyzer "
                         r"current L1 <= 40 A`\) after \d+\.\d s of the 600 s hold: no verdict, the run is incomplete")
    assert sorted(r["station"] for r in verdicts["results"]) == ["TWIN-A", "TWIN-B"]  # and "after" never ran
    for r in verdicts["results"]:
        assert r["scenario"] == "long hold" and r["verdict"] == "broken" and message.fullmatch(r["message"]), r
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert re.match(rf"interrupted by SIGINT at `[^`]*hold\.spec:{HOLD_LINE}` .* \(worker gw[01]\)$",
                    identity["status.reason"]), identity["status.reason"]
    assert runs.INTERRUPTED_SCENARIO not in identity  # (a worker's account stays in its own run file)
