"""The run's verdict file: ``out/runs/<start>/verdicts.json``, every scenario with its verdict and its
measurements, and the run's overall state.

    {"run": "2026-11-30T13-07-39Z", "status": "complete", "status.reason": "...", "verdict": "failed",
     "started": "...", "finished": "...", "exit code": 1,
     "scenarios": {"passed": 3, "failed": 1, "broken": 0, "skipped": 0},
     "results": [{"nodeid": "...", "spec": "specs/x.spec", "spec title": "...", "spec version": "1",
                  "spec sha256": "...", "scenario": "limit 6 A", "line": 17, "params": {"limit": "6 A"},
                  "refs": ["OCPP 2.0.1 K01"], "verdict": "failed", "message": "...", "duration_s": 41.3,
                  "evidence": "evidence/<spec>/<scenario>", "measurements": [ ...runner.measurements... ]}]}

Each scenario's entry is made where it ran (:func:`scenario_record`, in the pytest report: it travels to a
pytest-xdist controller with the report) and collected by the one process that writes the file
(:class:`VerdictFile`). The file is rewritten after every scenario and at the end, atomically: a run killed
midway leaves the scenarios judged so far and the status ``INCOMPLETE``.

The run's `verdict`: ``incomplete`` while the run is not complete (in progress, interrupted, killed,
stopped early), else the worst scenario verdict (failed over broken over passed; skipped scenarios count as
passed, as they do for the exit code), ``none`` when no scenario ran.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from runner import runs
from runner.measurements import masked, relative_path

FILE = "verdicts.json"
UNFINISHED = "did not finish: the run stopped while this scenario ran (killed, crashed or powered off); no verdict"
INTERRUPTED = "interrupted by "  # the message of a scenario a signal stopped (runner/plugin.py): no verdict either
_RANK = {"passed": 0, "skipped": 1, "broken": 2, "failed": 3}


def scenario_record(item: Any, report: Any, call: Any, verdict: str) -> dict[str, Any] | None:
    """The entry of one phase of a scenario item (None for anything else): JSON-ready data only."""
    plan, spec = getattr(item, "plan", None), getattr(item, "spec", None)
    if plan is None or spec is None:
        return None
    record: dict[str, Any] = {
        "nodeid": report.nodeid, "phase": report.when, "spec": relative_path(spec.file), "spec title": spec.title,
        "spec version": spec.version, "spec sha256": spec.sha256, "scenario": plan.name, "line": plan.source.line,
        "params": dict(plan.params), "refs": list(plan.refs), "verdict": verdict,
        "message": _spec_relative(_message(report, call, verdict), spec.file),
        "duration_s": round(float(report.duration), 3),
        "evidence": getattr(item, "evidence_path", None),
        "measurements": [],
    }
    station = getattr(report, "chargespec_station", None)
    if station:  # per-station mode (runner/per_station.py): one result per scenario and station
        record["station"] = station
    if report.when == "call":
        from runner import measurements

        record["measurements"] = measurements.as_json(getattr(item, "measurements", None) or [])
    return record


def same_node_id(items: list[Any]) -> str | None:
    """Why the scenarios collected cannot each have a result of their own, or None. A result is kept by its
    scenario's pytest node id, and pytest gives two spec files outside the rootdir (specs from two places in
    one run) node ids without their path, so two scenarios of the same spec title and name get one node id:
    one's verdict would replace the other's (a pass written over a failure), and the run would count one
    result too few. So would a spec file given twice (`--keep-duplicates`)."""
    seen: dict[str, Any] = {}
    for item in items:
        spec, plan = getattr(item, "spec", None), getattr(item, "plan", None)
        if spec is None or plan is None:
            continue
        first = seen.setdefault(item.nodeid, item)
        if first is item:
            continue
        where = [f"{relative_path(i.spec.file)}:{i.plan.source.line}" for i in (first, item)]
        return (f"two scenarios have the node id {item.nodeid!r} ({where[0]} and {where[1]}): their verdicts "
                "would be one. Spec files outside the rootdir are named without their path: give --rootdir a "
                "folder that holds every spec file (and each spec file once)")
    return None


def _message(report: Any, call: Any, verdict: str) -> str:
    if verdict == "passed":
        return ""
    if verdict == "skipped":
        longrepr = report.longrepr
        return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    e = call.excinfo.value if call is not None and call.excinfo is not None else None
    if e is not None:
        return str(e) or type(e).__name__
    return getattr(report, "longreprtext", "") or ""


def _spec_relative(text: str, spec_file: str) -> str:
    """A message names the spec as it was collected (an absolute path); the record names it as the
    project does."""
    rel = relative_path(spec_file)
    return text.replace(spec_file, rel) if rel != spec_file else text


class VerdictFile:
    """The scenarios' entries as the reports arrive (setup, call and teardown of each), merged per scenario:
    the worst phase's verdict and message, the call's measurements."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def started(self, nodeid: str) -> None:
        """A scenario began: until its reports arrive it stands as broken, "did not finish" (the run was
        killed, crashed or lost power while it ran). Its evidence folder holds the records made so far."""
        path, _, rest = nodeid.partition("::")
        self.results[nodeid] = {
            "nodeid": nodeid, "spec": path, "scenario": rest.rpartition("::")[2], "verdict": "broken",
            "message": UNFINISHED, "duration_s": 0.0, "evidence": None, "measurements": [], "provisional": True}

    def add(self, report: Any) -> bool:
        """Take a report's entry; True if it had one."""
        record = getattr(report, "chargespec_record", None)
        if not isinstance(record, dict):
            return False
        key = f"{record['nodeid']}@{record['station']}" if record.get("station") else record["nodeid"]
        known = self.results.get(key)
        if known is None or known.get("provisional"):
            entry = dict(record)
            if record.get("phase") == "setup" and record["verdict"] == "passed":
                # set up, not yet run: the scenario's verdict is still to come (or never will, if killed)
                entry.update(verdict="broken", message=UNFINISHED, provisional=True)
            self.results[key] = entry
            return True
        if _RANK.get(record["verdict"], 0) > _RANK.get(known["verdict"], 0):
            known["verdict"], known["message"] = record["verdict"], record["message"]
        known["duration_s"] = round(known["duration_s"] + record["duration_s"], 3)
        known["measurements"] = known["measurements"] + record["measurements"]
        known["evidence"] = known["evidence"] or record["evidence"]
        return True

    def interrupted(self, key: str, message: str) -> None:
        """A scenario still standing as "did not finish" was stopped by a signal, as `message` says (a
        pytest-xdist worker's account, runner/plugin.py). Its report, should it still come, replaces it."""
        known = self.results.get(key)
        if known is not None and known.get("provisional"):
            known["message"] = message

    def data(self, identity: dict[str, Any]) -> dict[str, Any]:
        """The file's content: the run's state (from its identity: status, times, exit code) and entries."""
        results = [{k: v for k, v in r.items() if k not in ("provisional", "phase")} for r in self.results.values()]
        verdicts = [r["verdict"] for r in results]
        complete = str(identity.get("status", "")).lower() == runs.COMPLETE
        if not complete:
            overall = "incomplete"
        elif not results:
            overall = "none"
        else:
            worst = max(verdicts, key=lambda v: _RANK.get(v, 0))
            overall = "passed" if worst == "skipped" else worst
        head = {k: identity[k] for k in ("run", "status", "status.reason", "started", "finished", "exit code",
                                         "bench", "bench.kind", "faults", runs.LEFT_CHANGED) if k in identity}
        return {**head, "verdict": overall,
                "scenarios": {v: verdicts.count(v) for v in ("passed", "failed", "broken", "skipped")},
                "results": [masked(r) for r in results]}

    def write(self, folder: Path, identity: dict[str, Any]) -> None:
        if "bench" not in identity:  # a pytest-xdist controller: the bench (twin? faults?) is its workers'
            identity = {**runs.workers_identity(folder), **identity}
        with contextlib.suppress(OSError):  # the run goes on; the identity file still says how it stands
            runs.write_json(folder / FILE, self.data(identity))

