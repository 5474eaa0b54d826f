"""Per-station mode end to end (runner/per_station.py, issue 15): `pytest -n 2` on the two-station twin bench
binds each worker to a station of its own and runs every scenario once per station; -n that does not fit
the bench is a usage error (exit code 4) before any worker starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.exitcodes import RunExit
from runner.summary import model

REPO = Path(__file__).resolve().parents[2]
TWO = "lab/benches/twin-2station.toml"
SPEC = '''spec "Per station"
  scenario "boots"
    charger booted

  scenario "waits"
    wait 1 s

  scenario "names the right station"
    charger booted on station right
'''


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--out={tmp_path / 'out'}", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def test_two_workers_each_bound_to_a_station_every_scenario_once_per_station(tmp_path: Path) -> None:
    spec = tmp_path / "a.spec"
    spec.write_text(SPEC, encoding="utf-8")
    allure = tmp_path / "allure"
    proc = _pytest(tmp_path, str(spec), "-n", "2", f"--bench={TWO}", "--speed=60", f"--alluredir={allure}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (run,) = (tmp_path / "out" / "runs").iterdir()
    results = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))["results"]
    got = sorted((r["scenario"], r["station"], r["verdict"]) for r in results)
    assert got == [("boots", "TWIN-A", "passed"), ("boots", "TWIN-B", "passed"),
                   ("names the right station", "TWIN-A", "skipped"),
                   ("names the right station", "TWIN-B", "passed"),
                   ("waits", "TWIN-A", "passed"), ("waits", "TWIN-B", "passed")]
    # each station's evidence in a folder of its own (two workers never write the same record)
    assert sorted(r["evidence"] for r in results if r["verdict"] == "passed") == [
        "evidence/TWIN-A/Per-station/boots", "evidence/TWIN-A/Per-station/waits",
        "evidence/TWIN-B/Per-station/boots", "evidence/TWIN-B/Per-station/names-the-right-station",
        "evidence/TWIN-B/Per-station/waits"]
    assert all((run / r["evidence"] / "ocpp.jsonl").exists() for r in results if r["verdict"] == "passed")
    skipped = next(r for r in results if r["verdict"] == "skipped")
    assert "names station right: it needs the whole bench" in skipped["message"]
    assert "this worker opens only TWIN-A" in skipped["message"]
    # each worker opened one station, a different one: its charger is the only one it names
    workers = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in run.glob("run-gw*.json")}
    assert sorted(workers) == ["run-gw0.json", "run-gw1.json"]
    text = {name: json.dumps(w) for name, w in workers.items()}
    assert "TWIN-A-SN" in text["run-gw0.json"] and "TWIN-B-SN" not in text["run-gw0.json"]
    assert "TWIN-B-SN" in text["run-gw1.json"] and "TWIN-A-SN" not in text["run-gw1.json"]
    # the acceptance summary: both units, each scenario's result per station, grouped by station
    summary = model.read(run)
    assert [d.serial for d in summary.devices] == ["TWIN-A-SN", "TWIN-B-SN"]
    assert [r.scenario for r in summary.results if r.verdict == "passed"] == [
        "boots @ station TWIN-A", "waits @ station TWIN-A",
        "boots @ station TWIN-B", "waits @ station TWIN-B", "names the right station @ station TWIN-B"]
    assert summary.verdict == "ACCEPTED"
    # Allure: one result per scenario and unit, grouped by unit, distinct histories (not retries)
    found = [json.loads(p.read_text(encoding="utf-8")) for p in allure.glob("*-result.json")]
    units = sorted((r["name"], next(lb["value"] for lb in r["labels"] if lb["name"] == "unit")) for r in found
                   if r["status"] != "skipped")
    assert units == [("boots", "TWIN-A (TWIN-A-SN)"), ("boots", "TWIN-B (TWIN-B-SN)"),
                     ("names the right station", "TWIN-B (TWIN-B-SN)"),
                     ("waits", "TWIN-A (TWIN-A-SN)"), ("waits", "TWIN-B (TWIN-B-SN)")]
    assert len({r["historyId"] for r in found}) == len(found) == 6


def test_workers_that_do_not_fit_the_bench_are_a_usage_error(tmp_path: Path) -> None:
    spec = tmp_path / "a.spec"
    spec.write_text(SPEC, encoding="utf-8")
    proc = _pytest(tmp_path, str(spec), "-n", "3", f"--bench={TWO}")
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert ("-n 3: bench 'twin-2station' (lab/benches/twin-2station.toml) has 2 stations (TWIN-A, TWIN-B) and "
            "runs one worker per station: give -n 2, or --station ID for one of them") in proc.stderr
    proc = _pytest(tmp_path, str(spec), "-n", "2", "--bench=lab/benches/example-lab.toml")
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "is physical with one station" in proc.stderr and "2 workers would drive that charger at once" \
        in proc.stderr
    assert not (tmp_path / "out").exists()  # refused before any run folder


def test_chargespec_run_refuses_before_its_preflight_opens_the_bench(tmp_path: Path) -> None:
    spec = tmp_path / "a.spec"
    spec.write_text(SPEC, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "runner.cli", "run", str(spec), f"--bench={TWO}", f"--out={tmp_path / 'out'}",
         "--", "-n", "3"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.startswith("chargespec: -n 3: bench 'twin-2station'")
    assert "preflight" not in proc.stdout  # the bench was not opened
    assert not (tmp_path / "out").exists()


FAILING = '''spec "Stops early"
  scenario "fails on right"
    bench has station right
    expect analyzer power > 100 kW

  scenario "holds"
    wait 300 s

  scenario "after one"
    wait 1 s

  scenario "after two"
    wait 1 s
'''


def test_a_run_stopped_with_x_stops_every_station_and_keeps_its_record(tmp_path: Path) -> None:
    """-x stops per-station mode at the first failure (TWIN-B's): TWIN-A's worker, which has every scenario
    queued, finishes the one it is running (it earns its verdict) and runs no further one. The run's record
    (run.json, verdicts.json) is written, INCOMPLETE with the reason, the failure with its station; its exit
    code is a charger failure's, as without -n, not an interruption's."""
    spec = tmp_path / "a.spec"
    spec.write_text(FAILING, encoding="utf-8")
    proc = _pytest(tmp_path, str(spec), "-n", "2", f"--bench={TWO}", "--speed=60", "-x")
    # (pytest-xdist reports a stop by -x as its "Interrupted", 2; no signal came)
    assert proc.returncode == RunExit.CHARGER_FAILED, proc.stdout[-3000:] + proc.stderr[-2000:]
    (run,) = (tmp_path / "out" / "runs").iterdir()
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert identity["status"] == "INCOMPLETE", identity
    assert identity["exit code"] == RunExit.CHARGER_FAILED
    assert identity["workers"] == ["run-gw0.json", "run-gw1.json"]
    results = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))["results"]
    got = sorted((r["scenario"], r["station"], r["verdict"]) for r in results)
    # TWIN-B fails at once; where TWIN-A's worker is then depends on the load: still in "fails on right", or
    # already in "holds" (5 s of real time), which it finishes with its verdict. It starts nothing after the
    # stop: the two short scenarios queued behind "holds" never run, and nothing it ran is cut short.
    assert ("fails on right", "TWIN-B", "failed") in got, got
    assert set(got) <= {("fails on right", "TWIN-A", "skipped"), ("fails on right", "TWIN-B", "failed"),
                        ("holds", "TWIN-A", "passed")}, got
    assert identity["status.reason"] == f"stopped early: {len(got)} of 8 scenarios ran", identity
    assert not list(run.glob(".stop*"))  # the workers' stop sign is gone with the run


@pytest.mark.parametrize("dist", [["--dist", "load"], ["--dist=loadscope"], ["-d"]])
def test_a_dist_other_than_each_is_refused_not_overridden(tmp_path: Path, dist: list[str]) -> None:
    """Per-station mode runs every scenario on every station (--dist each); a --dist the user gave that
    would run each scenario on one station only is a usage error saying why, never overridden unsaid."""
    spec = tmp_path / "a.spec"
    spec.write_text(SPEC, encoding="utf-8")
    name = "load" if dist == ["-d"] else dist[-1].split("=")[-1]
    proc = _pytest(tmp_path, str(spec), "-n", "2", *dist, f"--bench={TWO}")
    assert proc.returncode == RunExit.USAGE_ERROR, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"--dist {name}: bench 'twin-2station' (lab/benches/twin-2station.toml) has 2 stations" in proc.stderr
    assert "so no two scenarios ever drive one station at once" in proc.stderr
    assert "Leave --dist out (or give --dist each)" in proc.stderr
    assert not (tmp_path / "out").exists()  # refused before any run folder
    proc = subprocess.run(
        [sys.executable, "-m", "runner.cli", "run", str(spec), f"--bench={TWO}", f"--out={tmp_path / 'out'}",
         "--", "-n", "2", *dist], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == RunExit.USAGE_ERROR, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.startswith(f"chargespec: --dist {name}: bench 'twin-2station'")
    assert "preflight" not in proc.stdout  # said before the preflight opens the bench
    assert not (tmp_path / "out").exists()


def test_dist_each_given_is_per_station_mode(tmp_path: Path) -> None:
    spec = tmp_path / "a.spec"
    spec.write_text(SPEC, encoding="utf-8")
    proc = _pytest(tmp_path, str(spec), "-n", "2", "--dist", "each", f"--bench={TWO}", "--speed=60")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (run,) = (tmp_path / "out" / "runs").iterdir()
    results = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))["results"]
    assert sorted((r["scenario"], r["station"]) for r in results if r["verdict"] == "passed") == [
        ("boots", "TWIN-A"), ("boots", "TWIN-B"), ("names the right station", "TWIN-B"),
        ("waits", "TWIN-A"), ("waits", "TWIN-B")]


CRASHING = '''spec "Per station"
  scenario "boots"
    charger booted

  scenario "crashes"
    wait 1 s

  scenario "waits"
    wait 1 s
'''
CRASH_CONFTEST = '''import os


def pytest_runtest_call(item):
    station = (getattr(item.config, "workerinput", None) or {}).get("chargespec_station")
    if item.name == "crashes" and station == "TWIN-B":
        os._exit(1)  # the worker process dies (a driver's segfault, the OOM killer)
'''


def test_a_worker_that_crashes_is_its_stations_broken_result_and_the_run_is_not_complete(tmp_path: Path) -> None:
    """TWIN-B's worker dies in "crashes" and is not replaced (--max-worker-restart=0): "waits" never runs on
    TWIN-B. pytest-xdist's report of the crash named no station, so it counted as a seventh result beside
    TWIN-B's own "did not finish": "6 scenario(s) ran to a verdict", the run complete, the console counting 2
    broken where verdicts.json had 1."""
    spec = tmp_path / "a.spec"
    spec.write_text(CRASHING, encoding="utf-8")
    (tmp_path / "conftest.py").write_text(CRASH_CONFTEST, encoding="utf-8")
    proc = _pytest(tmp_path, str(spec), "-n", "2", "--max-worker-restart=0", f"--bench={TWO}", "--speed=60")
    assert proc.returncode == RunExit.BENCH_BROKEN, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "4 passed, 0 failed, 1 broken, 0 skipped; exit code 3" in proc.stdout
    (run,) = (tmp_path / "out" / "runs").iterdir()
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert identity["status"] == verdicts["status"] == "INCOMPLETE"
    assert identity["status.reason"] == "stopped early: 5 of 6 scenarios ran"
    counts = {"passed": 4, "failed": 0, "broken": 1, "skipped": 0}
    assert identity["scenarios"] == verdicts["scenarios"] == counts
    got = sorted((r["scenario"], r["station"], r["verdict"]) for r in verdicts["results"])
    assert got == [("boots", "TWIN-A", "passed"), ("boots", "TWIN-B", "passed"), ("crashes", "TWIN-A", "passed"),
                   ("crashes", "TWIN-B", "broken"), ("waits", "TWIN-A", "passed")]
    summary = model.read(run)
    assert summary.verdict == model.INCOMPLETE and summary.counts == counts
    assert summary.verdict_reasons[0] == "the run did not finish: stopped early: 5 of 6 scenarios ran"
