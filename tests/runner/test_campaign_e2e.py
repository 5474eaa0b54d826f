"""Campaigns end to end (issue 15's acceptance): two units at the two stations of a twin bench, `-n 2`
(one process per station), killed partway, resumed: every scenario of both units has exactly one final
verdict, the attempts are merged without hiding the killed one, and the overview shows both units.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.exitcodes import RunExit

REPO = Path(__file__).resolve().parents[2]
SPEC = '''spec "Campaign"
  scenario "quick one"
    charger booted
    wait 1 s

  scenario "long hold"
    charger booted
    expect for 300 s: analyzer current L1 <= 40 A

  scenario "quick two"
    wait 1 s
'''
HOLD_LINE = 8
# The hold is 3 s of real time at --speed 100: the test signals once both units are in it, and a loaded host
# once took longer than the 1 s it used to be (the signal came after the hold, "between steps").
SECOND_STATION = '''
[[stations]]
id = "TWIN-AC22-002"
vendor = "chargespec"
model = "Twin AC22"
serial = "TWIN-AC22-SN-0002"
firmware = "1.4.2"
evses = 1

[stations.instruments.analyzer]
driver = "yokogawa-wt300"
address = "twin"
serial = "TWIN-WT333-0001"
calibration_due = 2099-06-30

[stations.instruments.ev]
driver = "chargespec-ev"
address = "twin"
serial = "TWIN-EVE-0001"
calibration_due = 2099-06-30
'''
CAMPAIGN = '''name = "Two units"
bench = "bench.toml"
out = "out"
[specs]
paths = ["specs"]
[[units]]
serial = "TWIN-AC22-SN-0001"
[[units]]
serial = "TWIN-AC22-SN-0002"
station = "TWIN-AC22-002"
'''
UNITS = ("TWIN-AC22-SN-0001", "TWIN-AC22-SN-0002")


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.spec").write_text(SPEC, encoding="utf-8")
    twin = (REPO / "lab" / "benches" / "twin.toml").read_text(encoding="utf-8")
    head, _, _ = twin.partition("[twin]")  # the second station goes before the twin's own table
    (tmp_path / "bench.toml").write_text(head + SECOND_STATION + "\n[twin]\n", encoding="utf-8")
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(CAMPAIGN, encoding="utf-8")
    return campaign


def _command(campaign: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "runner.cli", "run", "--campaign", str(campaign), "--speed", "100",
            "--progress", "off", *more, "--", "-n", "2"]


def _in_the_hold(out: Path) -> bool:
    for events in out.glob("*/runs/*/evidence/Campaign/long-hold/events.jsonl"):
        if f'"line": {HOLD_LINE}' in events.read_text(encoding="utf-8"):
            return True
    return False


def test_a_two_station_campaign_killed_and_resumed_has_one_final_verdict_per_scenario(tmp_path: Path) -> None:
    campaign = _setup(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(_command(campaign), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)  # a power cut: the campaign and its units at once
    deadline = time.monotonic() + 90
    while not _in_the_hold(out) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert _in_the_hold(out), "the campaign did not reach the hold"

    r = subprocess.run(_command(campaign, "--resume"), cwd=tmp_path, capture_output=True, text=True, timeout=180,
                       check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    assert [u["unit"] for u in overview["units"]] == list(UNITS)
    for unit in overview["units"]:
        merged = json.loads((out / unit["unit"] / "merged" / "verdicts.json").read_text(encoding="utf-8"))
        assert merged["status"] == "complete"
        scenarios = [x["scenario"] for x in merged["results"]]
        assert sorted(scenarios) == ["long hold", "quick one", "quick two"]  # each exactly once
        assert {x["verdict"] for x in merged["results"]} == {"passed"}
        assert len(unit["attempts"]) == 2
        hold = next(x for x in merged["results"] if x["scenario"] == "long hold")
        if len(hold["attempts"]) == 2:  # killed in the hold: the broken attempt is kept beside the pass
            assert hold["attempts"][0]["verdict"] == "broken"
            assert hold["attempts"][0]["message"].startswith("did not finish")
            assert "attempt 2 of 2" in hold["message"]
        assert (out / unit["unit"] / "summary.html").exists()
    killed = [u for u in overview["units"]
              if any(len(x["attempts"]) == 2 for x in u["results"] if x["scenario"] == "long hold")]
    assert killed, "no unit shows the scenario the kill stopped"
    page = (out / "overview.html").read_text(encoding="utf-8")
    assert all(u in page for u in UNITS) and "broken" in page


def _holding(out: Path) -> int:
    """How many units are in the long hold."""
    return sum(f'"line": {HOLD_LINE}' in events.read_text(encoding="utf-8")
               for events in out.glob("*/runs/*/evidence/Campaign/long-hold/events.jsonl"))


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(("signum", "to_group"),
                         [(signal.SIGTERM, False), (signal.SIGINT, True), (signal.SIGHUP, True)],
                         ids=["SIGTERM to the campaign alone", "Ctrl-C (SIGINT to the process group)",
                              "hang-up (SIGHUP to the process group: the terminal closed)"])
def test_a_stopped_campaign_stops_its_units_and_keeps_what_finished(tmp_path: Path, signum: signal.Signals,
                                                                     to_group: bool) -> None:
    """SIGTERM to the campaign process alone (`kill PID`): every unit process stops too; a Ctrl-C, which
    reaches the units as well, stops each once (no second signal cutting its write-up short). Each unit writes
    up what it finished; the campaign merges and reports that, exits 2 (interrupted), and --resume runs only
    what did not finish."""
    campaign = _setup(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(_command(campaign), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    units: list[int] = []
    try:
        deadline = time.monotonic() + 90
        while _holding(out) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert _holding(out) == 2, "the units did not both reach the hold"
        units = _children(proc.pid)
        assert len(units) == 2, units  # one process per unit
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)  # to the campaign alone, not its process group
        console = proc.communicate(timeout=90)[0]
        assert proc.returncode == RunExit.INTERRUPTED, console
        assert not [u for u in units if _alive(u)], f"unit processes {units} still run after the campaign ended"
    finally:
        for pid in [proc.pid, *units]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(10)
    assert f"Campaign stopped by {signum.name}" in console and "--resume" in console, console
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    assert [u["unit"] for u in overview["units"]] == list(UNITS)
    for unit in overview["units"]:
        (attempt,) = unit["attempts"]
        verdicts = json.loads((out / unit["unit"] / "runs" / attempt / "verdicts.json").read_text(encoding="utf-8"))
        assert verdicts["status"] != "complete"
        by_scenario = {r["scenario"]: r for r in verdicts["results"]}
        # the unit wrote up what it was doing when the signal came: the hold broken, interrupted by the signal
        # (a unit whose process was killed would have left "did not finish")
        hold = by_scenario["long hold"]
        assert hold["verdict"] == "broken" and f"interrupted by {signum.name} at" in hold["message"], hold
        assert verdicts["exit code"] == RunExit.INTERRUPTED  # written up by the unit, not cut short
        assert by_scenario["quick one"]["verdict"] == "passed"

    r = subprocess.run(_command(campaign, "--resume"), cwd=tmp_path, capture_output=True, text=True, timeout=180,
                       check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    overview = json.loads((out / "overview.json").read_text(encoding="utf-8"))
    for unit in overview["units"]:
        merged = json.loads((out / unit["unit"] / "merged" / "verdicts.json").read_text(encoding="utf-8"))
        assert merged["status"] == "complete"
        assert sorted(x["scenario"] for x in merged["results"]) == ["long hold", "quick one", "quick two"]
        assert {x["verdict"] for x in merged["results"]} == {"passed"}
        quick = next(x for x in merged["results"] if x["scenario"] == "quick one")
        assert len(quick["attempts"]) == 1  # kept from the interrupted attempt, not run again
        resumed = json.loads((out / unit["unit"] / "runs" / unit["attempts"][-1] / "run.json").read_text(
            encoding="utf-8"))
        assert "deselected" not in resumed  # what it kept was judged, not left out of the selection


def test_a_campaign_file_error_names_the_file_and_the_key(tmp_path: Path) -> None:
    from runner.campaign import CampaignFileError, load_campaign

    campaign = _setup(tmp_path)
    campaign.write_text(CAMPAIGN.replace('serial = "TWIN-AC22-SN-0002"', 'serial = "TWIN-AC22-SN-0009"')
                        .replace('paths = ["specs"]', 'paths = ["specs", "nowhere"]\ntag = "x"'), encoding="utf-8")
    with pytest.raises(CampaignFileError) as e:
        load_campaign(campaign)
    assert str(e.value) == f"{campaign}: specs.tag: unknown key"
    campaign.write_text(CAMPAIGN.replace('serial = "TWIN-AC22-SN-0002"', 'serial = "TWIN-AC22-SN-0009"')
                        .replace('paths = ["specs"]', 'paths = ["specs", "nowhere"]'), encoding="utf-8")
    with pytest.raises(CampaignFileError) as e:
        load_campaign(campaign)
    assert str(e.value).splitlines() == [
        f"{campaign}: specs.paths.1: no such file or folder: {tmp_path / 'nowhere'}",
        f"{campaign}: units.1.serial: station TWIN-AC22-002 of the bench file expects the charger TWIN-AC22-SN-0002, "
        "not TWIN-AC22-SN-0009",
    ]


@pytest.mark.parametrize("path", sorted((REPO / "lab" / "campaigns").glob("*.toml")), ids=lambda p: p.name)
def test_the_shipped_campaign_files_load(path: Path) -> None:
    from runner.campaign import load_campaign

    camp = load_campaign(path)
    assert camp.units and all(p.exists() for p in camp.paths)


QUICK_SPEC = '''spec "Campaign"
  scenario "quick one"
    charger booted

  scenario "quick two"
    wait 1 s

  scenario "quick three"
    wait 1 s
'''


def test_a_campaign_that_selects_no_scenario_exits_5_and_one_with_nothing_left_completes(tmp_path: Path) -> None:
    """`tags` that match no scenario: each unit selects nothing (pytest's 5); the campaign said 0, "every
    selected scenario passed". And a unit whose every scenario already has its final verdict, while its last
    attempt did not finish (killed after its last scenario), stayed INCOMPLETE however often it was resumed:
    the attempt that had nothing left to run wrote no run file."""
    campaign = _setup(tmp_path)
    (tmp_path / "specs" / "a.spec").write_text(QUICK_SPEC, encoding="utf-8")  # (no hold: a loaded host is no matter)
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(text.replace('paths = ["specs"]', 'paths = ["specs"]\ntags = "nosuchtag"'), encoding="utf-8")
    command = [sys.executable, "-m", "runner.cli", "run", "--campaign", str(campaign), "--speed", "100",
               "--progress", "off"]
    r = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == RunExit.NO_SPECS, r.stdout + r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith(f"  unit {UNITS[0]}"))
    assert ": INCOMPLETE — SIMULATION" in line and "; 0 passed, 0 failed, 0 broken, 0 skipped;" in line, line

    campaign.write_text(text, encoding="utf-8")
    r = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    unit = tmp_path / "out" / UNITS[0]
    newest = sorted((unit / "runs").iterdir())[-1]
    run = json.loads((newest / "run.json").read_text(encoding="utf-8"))
    run["status"], run["status.reason"] = "INCOMPLETE", "not finished: the run is in progress, or was killed"
    (newest / "run.json").write_text(json.dumps(run), encoding="utf-8")  # as a kill after the last verdict leaves it

    r = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    merged = json.loads((unit / "merged" / "verdicts.json").read_text(encoding="utf-8"))
    assert merged["status"] == "complete" and merged["scenarios"]["passed"] == 3
    last = sorted((unit / "runs").iterdir())[-1]
    assert json.loads((last / "run.json").read_text(encoding="utf-8"))["status.reason"] == (
        "nothing left to run: each of the 3 selected scenario(s) keeps its verdict from an earlier attempt")
    assert "SIMULATION" in (unit / "summary.html").read_text(encoding="utf-8")


LIMIT_SPEC = '''spec "Limit"
  scenario "idle current"
    charger booted
    expect analyzer current L1 <= {limit}
'''


def test_a_kept_verdict_whose_spec_changed_since_runs_again(tmp_path: Path) -> None:
    """Attempt 1 passes against `<= 1000 A`; the lab tightens the spec to `< 0 A` (the charger cannot meet it)
    and resumes. The pass was kept, measured against the old spec: the campaign said 0 and the summary
    ACCEPTED. A verdict is kept only for the spec it was judged by."""
    campaign = _setup(tmp_path)
    one_unit = CAMPAIGN.split("[[units]]\nserial = \"TWIN-AC22-SN-0002\"")[0]
    campaign.write_text(one_unit, encoding="utf-8")
    (tmp_path / "specs" / "a.spec").unlink()
    spec = tmp_path / "specs" / "limit.spec"
    spec.write_text(LIMIT_SPEC.format(limit="1000 A"), encoding="utf-8")
    command = [sys.executable, "-m", "runner.cli", "run", "--campaign", str(campaign), "--speed", "100",
               "--progress", "off"]
    r = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr

    spec.write_text(LIMIT_SPEC.format(limit="0 A - 1 A"), encoding="utf-8")
    r = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == RunExit.CHARGER_FAILED, r.stdout + r.stderr
    unit = tmp_path / "out" / UNITS[0]
    (result,) = json.loads((unit / "merged" / "verdicts.json").read_text(encoding="utf-8"))["results"]
    assert result["verdict"] == "failed" and [a["verdict"] for a in result["attempts"]] == ["passed", "failed"]
    last = sorted((unit / "runs").iterdir())[-1]
    (why,) = json.loads((last / "campaign-kept.json").read_text(encoding="utf-8"))["run again"].values()
    assert why.startswith("its spec changed since its verdict (SHA-256 ") and why.endswith("now): run again")


def test_a_unit_at_a_station_that_states_no_serial_is_refused(tmp_path: Path) -> None:
    """A unit placed at a station (`station = ...`) whose bench-file entry has no `serial`: nothing checked that
    the charger there was the unit, and the overview named the unit's serial beside results measured on
    whatever charger stood there."""
    from runner.campaign import CampaignFileError, load_campaign

    campaign = _setup(tmp_path)
    bench = tmp_path / "bench.toml"
    bench.write_text(bench.read_text(encoding="utf-8").replace('serial = "TWIN-AC22-SN-0002"\n', ""), encoding="utf-8")
    with pytest.raises(CampaignFileError) as e:
        load_campaign(campaign)
    assert str(e.value) == (f"{campaign}: units.1.station: station TWIN-AC22-002 of the bench file states no `serial`, "
                            "so neither the preflight nor the summary would check that the charger there is "
                            'TWIN-AC22-SN-0002: set its `serial = "TWIN-AC22-SN-0002"`')


@pytest.mark.parametrize("second", ["TWIN-AC22-SN/0001", "twin-ac22-sn-0001"], ids=["slash", "case"])
def test_two_units_whose_results_would_share_a_folder_are_refused(tmp_path: Path, second: str) -> None:
    """Unit folders are named by serial, made file-system safe: "TWIN-AC22-SN/0001" became the folder of
    "TWIN-AC22-SN_0001"... and of no one else only by luck; "twin-ac22-sn-0001" is "TWIN-AC22-SN-0001"'s on a
    case-insensitive file system. Two units in one folder merge their attempts into one summary."""
    from runner.campaign import CampaignFileError, load_campaign

    campaign = _setup(tmp_path)
    first = "TWIN-AC22-SN_0001" if "/" in second else "TWIN-AC22-SN-0001"
    bench = tmp_path / "bench.toml"
    text = bench.read_text(encoding="utf-8").replace('serial = "TWIN-AC22-SN-0002"', f'serial = "{second}"')
    bench.write_text(text.replace('serial = "TWIN-AC22-SN-0001"', f'serial = "{first}"', 1), encoding="utf-8")
    campaign.write_text(CAMPAIGN.replace("TWIN-AC22-SN-0002", second).replace("TWIN-AC22-SN-0001", first),
                        encoding="utf-8")
    with pytest.raises(CampaignFileError) as e:
        load_campaign(campaign)
    folder = first if "/" in second else second.replace("/", "_")
    assert str(e.value) == (f"{campaign}: units: {first} and {second} would keep their results in one folder "
                            f"({folder}): their attempts would merge into one summary")


def test_kept_verdicts_of_an_earlier_firmware_run_again_after_the_update(tmp_path: Path) -> None:
    """The charger is updated from 1.4.2 to 1.4.3 after attempt 1, and the bench file with it (the preflight
    checks the charger reports 1.4.3). Resumed, the campaign kept every verdict of 1.4.2 and ran nothing: the
    merged results were the old firmware's. They run again, and the merged summary is one firmware's."""
    campaign = _setup(tmp_path)
    campaign.write_text(CAMPAIGN.split("[[units]]\nserial = \"TWIN-AC22-SN-0002\"")[0], encoding="utf-8")
    (tmp_path / "specs" / "a.spec").write_text(QUICK_SPEC, encoding="utf-8")
    command = [sys.executable, "-m", "runner.cli", "run", "--campaign", str(campaign), "--speed", "100",
               "--progress", "off"]
    r = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    bench = tmp_path / "bench.toml"
    bench.write_text(bench.read_text(encoding="utf-8").replace('firmware = "1.4.2"', 'firmware = "1.4.3"', 1),
                     encoding="utf-8")
    r = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    unit = tmp_path / "out" / UNITS[0]
    merged = json.loads((unit / "merged" / "verdicts.json").read_text(encoding="utf-8"))
    assert {x["charger"] for x in merged["results"]} == {
        "chargespec Twin AC22, serial TWIN-AC22-SN-0001, firmware 1.4.3"}
    assert all(len(x["attempts"]) == 2 for x in merged["results"])
    assert "attempts differ" not in json.loads((unit / "merged" / "run.json").read_text(encoding="utf-8"))
    last = sorted((unit / "runs").iterdir())[-1]
    again = json.loads((last / "campaign-kept.json").read_text(encoding="utf-8"))["run again"]
    assert len(again) == 3 and all(why.startswith("measured on firmware 1.4.2 (run ") and why.endswith(
        "the bench file now expects 1.4.3: run again") for why in again.values()), again


@pytest.mark.parametrize("change", ["deleted", "deselected"])
def test_a_resume_after_a_spec_was_dropped_counts_only_what_the_campaign_selects_now(tmp_path: Path,
                                                                                     change: str) -> None:
    """Attempt 1 passes a.spec's three scenarios and b.spec's one; b.spec is deleted (or the campaign's `tags`
    leave it out) and the campaign resumed. The merge counted b.spec's pass with the rest: the summary claimed a
    verdict for a scenario the campaign no longer selects. It is listed apart now (not counted), and the
    summary says so."""
    from runner.summary import model

    campaign = _setup(tmp_path)
    campaign.write_text(CAMPAIGN.split("[[units]]\nserial = \"TWIN-AC22-SN-0002\"")[0], encoding="utf-8")
    (tmp_path / "specs" / "a.spec").write_text(QUICK_SPEC, encoding="utf-8")
    (tmp_path / "specs" / "b.spec").write_text('spec "Other"\n  tags other\n  scenario "gone soon"\n    wait 1 s\n',
                                               encoding="utf-8")
    command = [sys.executable, "-m", "runner.cli", "run", "--campaign", str(campaign), "--speed", "100",
               "--progress", "off"]
    r = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    if change == "deleted":
        (tmp_path / "specs" / "b.spec").unlink()
    else:
        text = campaign.read_text(encoding="utf-8")
        campaign.write_text(text.replace('paths = ["specs"]', 'paths = ["specs"]\ntags = "not other"'),
                            encoding="utf-8")
    r = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    unit = tmp_path / "out" / UNITS[0]
    merged = json.loads((unit / "merged" / "verdicts.json").read_text(encoding="utf-8"))
    assert sorted(x["scenario"] for x in merged["results"]) == ["quick one", "quick three", "quick two"]
    assert merged["scenarios"]["passed"] == 3 and merged["status"] == "complete"
    assert [(x["spec"], x["scenario"], x["verdict"]) for x in merged["no longer selected"]] == [
        ("specs/b.spec", "gone soon", "passed")]
    first = sorted((unit / "runs").iterdir())[0].name
    assert (f"not counted: 1 result(s) of earlier attempts for scenarios the campaign no longer selects (renamed, "
            f"deleted or deselected since): specs/b.spec · gone soon: passed (run {first})"
            ) in model.read(unit / "merged").deviations
    line = next(x for x in r.stdout.splitlines() if x.startswith(f"  unit {UNITS[0]}"))
    assert "; 3 passed, 0 failed, 0 broken, 0 skipped;" in line, line
