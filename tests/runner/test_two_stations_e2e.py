"""specs/site/two-stations.spec end to end on the two-station twin bench (lab/benches/twin-2station.toml):
both chargers connect with their own identities, each station's EV charges at its own current and each is
read on its own analyzer, and a message expectation and a charging profile that name the second station
reach that station's messages and charger; on a one-station bench the spec is skipped (it requires the station)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = "specs/site/two-stations.spec"


def _run(out: Path, bench: str, spec: str = SPEC) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", spec, "-p", "no:cacheprovider", "-q", "--bench", bench, "--speed=60",
         f"--out={out}"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_two_stations_each_charging_on_its_own_instruments(tmp_path: Path) -> None:
    proc = _run(tmp_path / "out", "lab/benches/twin-2station.toml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    (run,) = (tmp_path / "out" / "runs").iterdir()
    (ev,) = (run / "evidence").glob("*/*/samples.csv")
    rows = [r for r in csv.DictReader(ev.open(encoding="utf-8")) if r["value"]]
    left = [float(r["value"]) for r in rows if r["signal"] == "analyzer.power"]
    right = [float(r["value"]) for r in rows if r["signal"] == "@TWIN-B.analyzer.power"]
    assert max(left) < 7_500 and max(right) > 10_500  # 10 A and 16 A on 3 x 230 V: never each other's
    # the 8 A profile `on station right` limited the right EV alone (left judged until its session stopped:
    # the samples run into the teardown)
    charging = left[: max(i for i, v in enumerate(left) if v > 1_000) + 1]
    assert min(charging[len(charging) // 2:]) > 6_500
    frames = [json.loads(line) for line in (ev.parent / "ocpp.jsonl").open(encoding="utf-8")]
    assert {f["station"] for f in frames} == {"TWIN-A", "TWIN-B"}
    assert {f["station"] for f in frames if '"SetChargingProfile"' in f["frame"]} == {"TWIN-B"}


def test_on_a_one_station_bench_it_is_skipped_and_without_the_requirement_broken(tmp_path: Path) -> None:
    """`bench has station right` skips the scenario on a bench without it; a line naming a station the bench
    lacks, with no such requirement, is a usage error (broken: exit code 3), never a verdict on the charger."""
    proc = _run(tmp_path / "out", "lab/benches/twin.toml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "0 passed, 0 failed, 0 broken, 1 skipped" in proc.stdout
    verdicts = json.loads(next((tmp_path / "out" / "runs").glob("*/verdicts.json")).read_text(encoding="utf-8"))
    (result,) = verdicts["results"]
    assert result["message"].endswith(
        "the bench lacks a station the scenario requires: station 'right' (bench 'twin' has TWIN-AC22-001)")
    proc = _run(tmp_path / "out2", "lab/benches/twin.toml", spec="tests/runner/fixtures/station-not-required.spec")
    assert proc.returncode == 3, proc.stdout[-3000:]
    assert "bench 'twin' (lab/benches/twin.toml) has no station 'right'; it has TWIN-AC22-001" in proc.stdout


def test_a_failure_on_a_bench_of_two_says_which_station_it_read(tmp_path: Path) -> None:
    """`… on station right` names an alias; a line naming none reads the first station, which it would not
    say at all: each failure message (on the console and in verdicts.json) names the station's id and alias."""
    proc = _run(tmp_path / "out", "lab/benches/twin-2station.toml",
                spec="tests/runner/fixtures/two-stations-failing.spec")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 passed, 3 failed, 0 broken" in proc.stdout
    verdicts = json.loads(next((tmp_path / "out" / "runs").glob("*/verdicts.json")).read_text(encoding="utf-8"))
    messages = {r["scenario"]: r["message"] for r in verdicts["results"]}
    records = [m["message"] for r in verdicts["results"] for m in r["measurements"] if m["verdict"] == "failed"]
    assert len(records) == 3 and all(" — on station TWIN-" in m for m in records), records  # the records say it too
    assert "station power on station right is 0 W at t=" in messages["a signal on station right"]
    assert "expected > 5 kW — on station TWIN-B (alias right)\n" in messages["a signal on station right"]
    assert ("no StatusNotification arrived — on station TWIN-B (alias right)\n"
            in messages["a message on station right"]), messages
    assert "expected > 5 kW — on station TWIN-A (alias left)\n" in messages["a signal naming no station"]
    for message in messages.values():
        assert message in proc.stdout  # the console says the same


def test_with_one_station_of_several_opened_the_failure_still_says_which(tmp_path: Path) -> None:
    """`--station TWIN-B` (and per-station mode, which binds each worker so) opens one station of the two:
    the scenario's station is then TWIN-B, and a failure says so."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/runner/fixtures/two-stations-failing.spec", "-p", "no:cacheprovider",
         "-q", "--bench", "lab/benches/twin-2station.toml", "--station", "TWIN-B", "--speed=60",
         f"--out={tmp_path / 'out'}", "-k", "naming and no and station"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "expected > 5 kW — on station TWIN-B (alias right)\n" in proc.stdout, proc.stdout[-3000:]


def test_a_failed_statement_on_a_bench_of_several_names_its_station(monkeypatch: pytest.MonkeyPatch) -> None:
    """A statement (`ev plugs in on station right`) the charger refused: its failure names the station too,
    in the message and in the record (step_failed gets the located error)."""
    import contextlib
    from types import SimpleNamespace

    from dsl.plan import Action, Source
    from runner import execute
    from runner.errors import ExpectationFailed

    source = Source(file="x.spec", line=7, column=5, text="    ev plugs in on station right")
    step = Action(step="ev plugs in", args={}, source=source, text="ev plugs in on station right", station="right")
    left = SimpleNamespace(id="TWIN-A", config=SimpleNamespace(alias="left"))
    right = SimpleNamespace(id="TWIN-B", config=SimpleNamespace(alias=""))
    run = SimpleNamespace(station=left, named={"right": right}, session=SimpleNamespace(bench_stations=2))
    run.station_for = lambda name: run.station if name is None else run.named[name]
    run.on_station = lambda name: contextlib.nullcontext()

    def refuse(_run: object, _step: object) -> None:
        raise ExpectationFailed(source, "charger answered Rejected")

    recorded: list[str] = []
    monkeypatch.setattr(execute, "run_action", refuse)
    monkeypatch.setattr(execute, "step_failed", lambda _run, _s, e: recorded.append(e.detail))
    with pytest.raises(ExpectationFailed) as failed:
        execute.run_step(run, step)  # type: ignore[arg-type]
    assert recorded == ["charger answered Rejected — on station TWIN-B"]  # (no alias: the id alone)
    assert str(failed.value).endswith("`ev plugs in on station right`\n  charger answered Rejected — on station TWIN-B")


def test_rules_and_intervals_are_judged_on_the_station_they_name(tmp_path: Path) -> None:
    """`expect charger sends A every T ± D … on station right` and `expect every A: RULE on station right` read
    the second station's messages: there a transaction runs and both pass; the same interval naming no station
    reads the first station's, where none runs, and fails saying so, and which station it read."""
    proc = _run(tmp_path / "out", "lab/benches/twin-2station.toml",
                spec="tests/runner/fixtures/two-stations-rules.spec")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed, 1 failed, 0 broken" in proc.stdout
    verdicts = json.loads(next((tmp_path / "out" / "runs").glob("*/verdicts.json")).read_text(encoding="utf-8"))
    results = {r["scenario"]: r for r in verdicts["results"]}
    named = results["named: the second station's transaction"]
    assert named["verdict"] == "passed"
    judged = {m["line"]: m for m in named["measurements"] if m["kind"] in ("interval", "rule")}
    assert judged[18]["verdict"] == judged[19]["verdict"] == "passed"
    frames = re.search(r"no violation in (\d+) message", judged[19]["message"])
    assert frames and int(frames.group(1)) >= 4, judged[19]["message"]  # the second station's events, judged
    failed = results["unnamed: the first station, which has none"]["message"]
    assert "observed no TransactionEvent between" in failed and "— on station TWIN-A (alias left)" in failed
