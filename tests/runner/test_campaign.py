"""Campaign bookkeeping (runner/campaign.py) without a bench: which scenarios a resumed campaign keeps, and
how a unit's attempts merge (the final verdict per scenario, every attempt kept beside it)."""

from __future__ import annotations

import json
from pathlib import Path

from runner import runs
from runner.campaign import FINAL, Unit, attempts, final_verdicts, merge, parallel_units
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
