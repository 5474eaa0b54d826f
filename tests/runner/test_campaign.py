"""Campaign bookkeeping (runner/campaign.py) without a bench: which scenarios a resumed campaign keeps, and
how a unit's attempts merge (the final verdict per scenario, every attempt kept beside it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner import runs
from runner.campaign import DONE_FILE, FINAL, Campaign, Unit, attempts, final_verdicts, finish, merge, parallel_units
from runner.exitcodes import RunExit
from runner.verdicts import UNFINISHED


def _attempt(unit: Unit, name: str, status: str, results: dict[str, tuple[str, str]]) -> Path:
    folder = unit.folder / runs.RUNS / name
    folder.mkdir(parents=True)
    runs.write_json(folder / "run.json", {"status": status, "started": "2026-11-30T10:00:00+00:00", "bench": "twin",
                                          "bench.kind": "twin"})
    runs.write_json(folder / "verdicts.json", {"status": status, "results": [
        {"nodeid": f"a.spec::S::{n}", "spec": "a.spec", "scenario": n, "verdict": v, "message": m,
         "evidence": f"evidence/S/{n}", "measurements": []} for n, (v, m) in results.items()]})
    return folder


def test_a_resume_keeps_final_verdicts_and_runs_broken_and_unfinished_ones_again(tmp_path: Path) -> None:
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "INCOMPLETE", {
        "passes": ("passed", ""), "fails": ("failed", "L1 above 16.6 A"), "breaks": ("broken", "analyzer timeout"),
        "killed": ("broken", UNFINISHED)})
    finals = final_verdicts(attempts(unit))
    assert {n.rsplit("::", 1)[1] for n, r in finals.items() if r["verdict"] in FINAL} == {"passes", "fails"}

    _attempt(unit, "2026-11-30T10-00-00Z-2", "complete", {"breaks": ("passed", ""), "killed": ("failed", "late"),
                                                           "never started": ("passed", "")})
    merged = merge(unit)
    assert merged is not None
    data = json.loads((merged / "verdicts.json").read_text(encoding="utf-8"))
    by = {r["scenario"]: r for r in data["results"]}
    assert {k: r["verdict"] for k, r in by.items()} == {
        "passes": "passed", "fails": "failed", "breaks": "passed", "killed": "failed", "never started": "passed"}
    assert [a["verdict"] for a in by["breaks"]["attempts"]] == ["broken", "passed"]
    assert by["breaks"]["message"] == ("attempt 2 of 2 (run 2026-11-30T10-00-00Z-2); earlier: attempt 1 "
                                       "(run 2026-11-30T10-00-00Z): broken — analyzer timeout")
    assert by["killed"]["message"].startswith("late [attempt 2 of 2")
    assert by["passes"]["evidence"] == "../runs/2026-11-30T10-00-00Z/evidence/S/passes"
    assert data["status"] == "complete" and data["verdict"] == "failed"
    identity = json.loads((merged / "run.json").read_text(encoding="utf-8"))
    assert identity["attempts"] == ["2026-11-30T10-00-00Z", "2026-11-30T10-00-00Z-2"]


def test_a_unit_whose_last_attempt_was_killed_is_incomplete(tmp_path: Path) -> None:
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "INCOMPLETE", {"a": ("passed", ""), "b": ("broken", UNFINISHED)})
    merged = merge(unit)
    assert merged is not None
    data = json.loads((merged / "verdicts.json").read_text(encoding="utf-8"))
    assert data["status"] == "INCOMPLETE" and data["verdict"] == "incomplete"


def test_parallel_units_reads_n_and_passes_the_rest_on() -> None:
    assert parallel_units(["-n", "2", "-x"]) == (2, ["-x"])
    assert parallel_units(["-n3"]) == (3, [])
    assert parallel_units(["--numprocesses=4", "-k", "y"]) == (4, ["-k", "y"])
    assert parallel_units(["-x"]) == (1, ["-x"])


def _campaign(tmp_path: Path, *units: Unit) -> Campaign:
    return Campaign(path=tmp_path / "c.toml", name="C", bench=tmp_path / "bench.toml", out=tmp_path, date=None,
                    paths=(), tags="", units=units)


def test_a_campaign_whose_unit_did_not_finish_does_not_exit_0(tmp_path: Path, capsys: Any) -> None:
    """A unit killed (or crashed) between two scenarios: what it ran passed, the rest never ran. Its summary says
    INCOMPLETE; the campaign's exit code must not say "every selected scenario passed"."""
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "INCOMPLETE", {"a": ("passed", "")})
    assert finish(_campaign(tmp_path, unit)) == RunExit.BENCH_BROKEN
    assert "unit SN-1 (station ST-1): INCOMPLETE" in capsys.readouterr().out


def test_a_campaign_that_selected_no_scenario_exits_5(tmp_path: Path) -> None:
    """`tags` that match none: each unit's pytest selects nothing (exit 5) and writes no run; the campaign as a
    run would: 5, never 0."""
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    folder = unit.folder / runs.RUNS / "2026-11-30T10-00-00Z"
    folder.mkdir(parents=True)
    runs.write_json(folder / DONE_FILE, {"kept": []})
    # killed before its first scenario (no run file, no verdicts): INCOMPLETE, and no pass
    assert finish(_campaign(tmp_path, unit)) == RunExit.BENCH_BROKEN
    # nothing selected (runner.campaign.unit_main says so in the run file): 5
    runs.write_json(folder / "run.json", {"status": "complete", "status.reason": "no scenario selected"})
    assert finish(_campaign(tmp_path, unit)) == RunExit.NO_SPECS


def test_a_campaign_whose_summary_could_not_be_made_exits_6(tmp_path: Path, monkeypatch: Any) -> None:
    from runner import summary

    def broken_build(folder: Path, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(summary, "build", broken_build)
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("passed", "")})
    for name in ("summary.html", "summary.pdf"):  # an earlier invocation's summary, ACCEPTED before this attempt
        (unit.folder / name).write_text("ACCEPTED", encoding="utf-8")
    assert finish(_campaign(tmp_path, unit)) == RunExit.NO_REPORT
    assert not list(unit.folder.glob("summary.*"))  # no stale summary beside "no summary"
    overview = json.loads((tmp_path / "overview.json").read_text(encoding="utf-8"))
    assert overview["units"][0]["verdict"] == "no summary" and overview["units"][0]["error"] == "disk full"


def test_a_complete_passing_unit_exits_0(tmp_path: Path) -> None:
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("passed", "")})
    assert finish(_campaign(tmp_path, unit)) == RunExit.PASSED


def _booted(folder: Path, station: str, firmware: str, **identity: Any) -> None:
    """The attempt's charger booted with `firmware` (boot/<station>.json as runner/summary/boot.py keeps it)."""
    runs.write_json(folder / "boot" / f"{station}.json", {
        "station": station, "t": 1.0, "frame": "[2,\"1\",\"BootNotification\",{}]", "boots": 1, "chargingStation": {
            "vendorName": "Acme", "model": "W22", "serialNumber": "SN-1", "firmwareVersion": firmware}})
    if identity:
        runs.write_json(folder / "run.json", {**runs.read_json(folder / "run.json"), **identity})


def test_results_merged_from_two_firmwares_are_not_accepted(tmp_path: Path) -> None:
    """Attempt 1 on firmware 2.0.1: one scenario passed, one broken (bench fault). The charger is updated to 2.0.2
    and the campaign resumed: only the broken one runs again, and passes. The merged summary named only the newest
    attempt's device (2.0.2) and said ACCEPTED, while one result was measured on 2.0.1."""
    from runner.summary import model

    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    one = _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("passed", ""), "b": ("broken", "timeout")})
    two = _attempt(unit, "2026-11-30T11-00-00Z", "complete", {"b": ("passed", "")})
    _booted(one, "ST-1", "2.0.1")
    _booted(two, "ST-1", "2.0.1")
    merged = merge(unit)
    assert merged is not None
    assert runs.ATTEMPTS_DIFFER not in runs.read_json(merged / "run.json")
    assert model.read(merged).verdict == model.ACCEPTED  # the same firmware throughout: nothing to say

    _booted(two, "ST-1", "2.0.2")
    merge(unit)
    differ = runs.read_json(merged / "run.json")[runs.ATTEMPTS_DIFFER]
    assert differ == ["charger: Acme W22, serial SN-1, firmware 2.0.1 (run 2026-11-30T10-00-00Z); "
                      "Acme W22, serial SN-1, firmware 2.0.2 (run 2026-11-30T11-00-00Z)"]
    by = {r["scenario"]: r for r in runs.read_json(merged / "verdicts.json")["results"]}
    assert by["a"]["charger"].endswith("firmware 2.0.1") and by["b"]["charger"].endswith("firmware 2.0.2")
    summary = model.read(merged)
    assert summary.verdict == model.INCOMPLETE
    assert f"the merged attempts were not measured on one setup: {differ[0]}" in summary.verdict_reasons


def test_a_result_kept_from_a_twin_attempt_makes_the_merged_summary_a_simulation(tmp_path: Path) -> None:
    """A rehearsal on the twin, then the campaign resumed on the physical bench: the summary was made from the
    newest attempt's identity (physical: no banner) while a kept result was measured on the twin."""
    from runner.summary import model

    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("passed", ""), "b": ("broken", "timeout")})
    phys = _attempt(unit, "2026-11-30T11-00-00Z", "complete", {"b": ("passed", "")})
    _booted(phys, "ST-1", "2.0.1", **{"bench": "lab-3", "bench.kind": "physical"})
    merged = merge(unit)
    assert merged is not None
    identity = runs.read_identity(merged)
    assert identity["bench.kind"] == "physical"
    assert model.simulation_banner(identity) == ("SIMULATION — NOT VALID FOR ACCEPTANCE (run 2026-11-30T10-00-00Z: "
                                                 "twin bench)")
    assert model.read(merged).verdict == model.INCOMPLETE
    assert "bench: twin (twin) (run 2026-11-30T10-00-00Z); lab-3 (physical) (run 2026-11-30T11-00-00Z)" in \
        runs.read_json(merged / "run.json")[runs.ATTEMPTS_DIFFER]


def test_the_merged_run_file_counts_the_merged_results_not_the_last_attempts(tmp_path: Path) -> None:
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("failed", "too high"), "b": ("broken", "timeout")})
    two = _attempt(unit, "2026-11-30T11-00-00Z", "complete", {"b": ("passed", "")})
    runs.write_json(two / "run.json", {**runs.read_json(two / "run.json"), "exit code": 0,
                                       "scenarios": {"passed": 1, "failed": 0, "broken": 0, "skipped": 0}})
    runs.write_json(two / "verdicts.json", {**runs.read_json(two / "verdicts.json"), "exit code": 0})
    merged = merge(unit)
    assert merged is not None
    counts = {"passed": 1, "failed": 1, "broken": 0, "skipped": 0}
    assert runs.read_json(merged / "run.json")["scenarios"] == counts
    assert runs.read_json(merged / "verdicts.json")["scenarios"] == counts
    assert "exit code" not in runs.read_json(merged / "run.json")  # the last attempt's 0 is not the unit's
    assert "exit code" not in runs.read_json(merged / "verdicts.json")


def test_a_unit_accepted_on_the_twin_says_simulation_in_the_console_and_the_overview(tmp_path: Path,
                                                                                       capsys: Any) -> None:
    """The unit's summary carries the SIMULATION banner; the campaign's console line and overview said only
    "ACCEPTED" for the same unit."""
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("passed", "")})
    assert finish(_campaign(tmp_path, unit)) == RunExit.PASSED
    banner = "SIMULATION — NOT VALID FOR ACCEPTANCE (twin bench twin)"
    assert f"unit SN-1 (station ST-1): ACCEPTED — {banner}; 1 passed" in capsys.readouterr().out
    (row,) = json.loads((tmp_path / "overview.json").read_text(encoding="utf-8"))["units"]
    assert (row["verdict"], row["simulation"]) == ("ACCEPTED", banner)
    page = (tmp_path / "overview.html").read_text(encoding="utf-8")
    assert f"<div class='banner'>{banner}</div>" in page and f"<td>ACCEPTED — {banner}</td>" in page


def test_the_merged_summary_checks_the_billing_evidence_of_the_attempts(tmp_path: Path) -> None:
    """The bench file says the charger signs its meter values; attempt 1's transaction came unsigned. The attempt's
    own summary is INCOMPLETE for it; the merged summary read billing frames from merged/evidence/, which holds
    none (the evidence stays in the attempts' folders): no transaction, ACCEPTED."""
    from runner.summary import model

    bench = tmp_path / "bench.toml"
    bench.write_text('name = "lab"\nkind = "twin"\n[[stations]]\nid = "ST-1"\nsigned_meter_values = true\n',
                     encoding="utf-8")
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    one = _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("passed", "")})
    runs.write_json(one / "run.json", {**runs.read_json(one / "run.json"), "bench.file": str(bench)})
    frame = json.dumps([2, "m1", "TransactionEvent", {"eventType": "Updated", "transactionInfo": {
        "transactionId": "T1"}, "meterValue": [{"sampledValue": [{"value": 120.0}]}]}])
    (one / "evidence" / "S" / "a").mkdir(parents=True)
    (one / "evidence" / "S" / "a" / "ocpp.jsonl").write_text(
        json.dumps({"direction": "rx", "station": "ST-1", "frame": frame}) + "\n", encoding="utf-8")
    reason = ("billing evidence of ST-1 transaction T1: absent: none of its 1 energy register readings came signed; "
              "the bench file says this charger signs them")
    assert reason in model.read(one).verdict_reasons  # the attempt's own summary
    merged = merge(unit)
    assert merged is not None
    summary = model.read(merged)
    assert summary.verdict == model.INCOMPLETE and reason in summary.verdict_reasons


def test_a_scenario_a_signal_stopped_keeps_the_merged_run_incomplete(tmp_path: Path) -> None:
    """A scenario stopped by a signal has no verdict, as one that did not finish has none: the merged run that
    holds it as its final result is not complete (merge keyed on "did not finish" alone)."""
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"a": ("passed", ""), "b": (
        "broken", "interrupted by SIGINT at `a.spec:4` (`wait 60 s`) after 3.0 s: no verdict, the run is incomplete")})
    merged = merge(unit)
    assert merged is not None
    data = json.loads((merged / "verdicts.json").read_text(encoding="utf-8"))
    assert data["status"] == "INCOMPLETE" and data["verdict"] == "incomplete"


def test_a_result_that_passed_only_on_a_re_run_is_a_deviation_of_the_summary(tmp_path: Path) -> None:
    """Broken (an analyzer timeout) in attempt 1, passed when the campaign was resumed: the merged result's
    message said so, but the summary listed nothing under deviations, so a reader of the summary saw a clean
    pass. A failure after a broken attempt is a deviation as ever, its message naming the earlier attempt."""
    from runner.summary import model

    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "INCOMPLETE", {
        "passes": ("passed", ""), "breaks": ("broken", "analyzer timeout"), "killed": ("broken", UNFINISHED)})
    _attempt(unit, "2026-11-30T10-00-00Z-2", "complete", {"breaks": ("passed", ""), "killed": ("failed", "late")})
    merged = merge(unit)
    assert merged is not None
    deviations = model.read(merged).deviations
    assert ("passed only on a re-run: a.spec · breaks: attempt 1 (run 2026-11-30T10-00-00Z): broken — analyzer "
            "timeout; attempt 2 (run 2026-11-30T10-00-00Z-2): passed") in deviations
    assert [d for d in deviations if "· passes" in d] == []  # passed once, in the one attempt that ran it
    (killed,) = [d for d in deviations if "· killed" in d]
    assert killed.startswith("failed: a.spec · killed: late [attempt 2 of 2 (run 2026-11-30T10-00-00Z-2); earlier: "
                             "attempt 1 (run 2026-11-30T10-00-00Z): broken — did not finish")


def test_results_of_scenarios_no_longer_selected_are_listed_apart_not_counted(tmp_path: Path) -> None:
    """Attempt 1 judged "old name" (passed) and "dropped" (failed); the scenario was renamed and "dropped"
    deleted (or deselected) before attempt 2, whose collection selected "kept" and "new name". The merge
    counted all four: the signed summary claimed a pass for a scenario the spec library no longer holds. The
    current selection's results count; the others are listed apart, in verdicts.json, summary and overview."""
    from runner.summary import model

    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    _attempt(unit, "2026-11-30T10-00-00Z", "complete", {
        "kept": ("passed", ""), "old name": ("passed", ""), "dropped": ("failed", "L1 above 16.6 A")})
    second = _attempt(unit, "2026-11-30T10-00-00Z-2", "complete", {"new name": ("passed", "")})
    runs.write_json(second / DONE_FILE, {"kept": ["a.spec::S::kept"], "selected": [
        "a.spec::S::kept", "a.spec::S::new name"]})
    assert finish(_campaign(tmp_path, unit)) == RunExit.PASSED
    data = json.loads((unit.folder / "merged" / "verdicts.json").read_text(encoding="utf-8"))
    assert sorted(r["scenario"] for r in data["results"]) == ["kept", "new name"]
    assert data["scenarios"] == {"passed": 2, "failed": 0, "broken": 0, "skipped": 0}
    assert [(r["scenario"], r["verdict"], r["run"]) for r in data["no longer selected"]] == [
        ("old name", "passed", "2026-11-30T10-00-00Z"), ("dropped", "failed", "2026-11-30T10-00-00Z")]
    summary = model.read(unit.folder / "merged")
    assert [r.scenario for r in summary.results] == ["kept", "new name"]
    assert ("not counted: 2 result(s) of earlier attempts for scenarios the campaign no longer selects (renamed, "
            "deleted or deselected since): a.spec · old name: passed (run 2026-11-30T10-00-00Z); a.spec · dropped: "
            "failed (run 2026-11-30T10-00-00Z)") in summary.deviations
    overview = json.loads((tmp_path / "overview.json").read_text(encoding="utf-8"))
    assert [r["scenario"] for r in overview["units"][0]["no longer selected"]] == ["old name", "dropped"]
    assert "a.spec · old name: passed (run 2026-11-30T10-00-00Z)" in (tmp_path / "overview.html").read_text(
        encoding="utf-8")


def test_results_ran_after_the_newest_known_selection_count(tmp_path: Path) -> None:
    """An attempt that wrote down no selection (a spec file did not collect, or killed while collecting) was
    collected after the newest one that did: what it ran counts. So does everything of a campaign whose
    attempts predate the selection being written down."""
    unit = Unit("SN-1", "ST-1", tmp_path / "SN-1")
    first = _attempt(unit, "2026-11-30T10-00-00Z", "complete", {"one": ("passed", ""), "gone": ("passed", "")})
    _attempt(unit, "2026-11-30T10-00-00Z-2", "complete", {"added": ("passed", "")})
    merged = merge(unit)
    assert merged is not None
    data = json.loads((merged / "verdicts.json").read_text(encoding="utf-8"))
    assert sorted(r["scenario"] for r in data["results"]) == ["added", "gone", "one"]
    runs.write_json(first / DONE_FILE, {"kept": [], "selected": ["a.spec::S::one"]})
    data = json.loads((merge(unit) / "verdicts.json").read_text(encoding="utf-8"))  # type: ignore[operator]
    assert sorted(r["scenario"] for r in data["results"]) == ["added", "one"]
    assert [r["scenario"] for r in data["no longer selected"]] == ["gone"]
