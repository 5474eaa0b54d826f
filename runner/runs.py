"""One run, one folder: where a run's identity, Allure results and evidence live, and never mix with another's.

    out/runs/2026-11-30T13-07-39Z/             one folder per run, named by its UTC start
        run.json                                identity and status (run-gw0.json, ... per pytest-xdist worker)
        allure-results/                         (`chargespec run`; plain pytest writes them where --alluredir says)
        evidence/<spec>/<scenario>/             OCPP trace, samples, events, plot, figures
    out/runs/2026-11-30T13-07-39Z-2/           a second run started in the same second
    out/latest -> runs/2026-11-30T13-07-39Z-2   the newest run

A folder is reserved with an exclusive ``mkdir``: two processes starting in the same second get two folders.
The identity file is written as soon as the bench is open with status ``incomplete`` (a run killed from then
on stays incomplete), rewritten when a charger boots, and at the end with ``complete`` or ``incomplete`` and
the reason. Every write replaces the file atomically, so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUNS = "runs"
LATEST = "latest"
EVIDENCE = "evidence"
ALLURE_RESULTS = "allure-results"
COMPLETE = "complete"
INCOMPLETE = "incomplete"

_MAX_SAME_SECOND = 1000

# Keys of a campaign's merged run.json (runner/campaign.py; the acceptance summary reads them): each aspect of
# the setup (bench, charger, instrument) on which the merged attempts differ, and the attempts that ran on a
# simulation (a twin bench, a fault knob).
ATTEMPTS_DIFFER = "attempts differ"
SIMULATED_ATTEMPTS = "simulated attempts"
# Key of a campaign's merged verdicts.json: results kept from earlier attempts for scenarios the campaign no longer
# selects (renamed, deleted, deselected since): listed apart, not counted.
NO_LONGER_SELECTED = "no longer selected"
# Key of a pytest-xdist worker's run file: the scenario a signal stopped there, and where (runner/plugin.py): its
# controller, stopped by the same Ctrl-C, may never receive that scenario's report.
INTERRUPTED_SCENARIO = "interrupted scenario"
# Key of run.json (a worker's run file too): by station id, what the run's last return to idle on it could not put
# back, by which scenario (runner/leftovers.py): the charger is left changed; the acceptance summary says so.
LEFT_CHANGED = "left changed"


def utc_stamp(when: datetime | None = None) -> str:
    """A folder-safe UTC time stamp: ``2026-11-30T13-07-39Z`` (no colons: Windows and URLs)."""
    return (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")


def reserve(out: Path, when: datetime | None = None, *, latest: bool = True) -> Path:
    """Create and return a fresh run folder under ``out/runs`` and (unless `latest` is False: a pytest-xdist
    controller that does not know yet whether its workers will run any spec) point ``out/latest`` at it."""
    runs = out / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp(when)
    for n in range(1, _MAX_SAME_SECOND + 1):
        folder = runs / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()  # exclusive: the reservation itself
        except FileExistsError:
            continue
        if latest:
            point_latest(out, folder)
        return folder
    raise OSError(f"{runs}: {_MAX_SAME_SECOND} runs already started at {stamp}")


def point_latest(out: Path, folder: Path) -> None:
    """``out/latest`` -> ``runs/<folder>`` (relative, so the tree can be moved), replaced atomically."""
    link = out / LATEST
    tmp = out / f".{LATEST}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        tmp.symlink_to(Path(RUNS) / folder.name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:  # a file system without symlinks: the runs are all there, only the shortcut is missing
        with contextlib.suppress(OSError):
            tmp.unlink()


def discard_if_unused(folder: Path) -> bool:
    """Remove a run folder nothing was written to (a usage error, no spec selected); True if removed.

    Only empty directories are removed, never a file; ``latest`` is moved back to the newest remaining run.
    """
    if not folder.is_dir():
        return False
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
    try:
        folder.rmdir()
    except OSError:
        return False
    out = folder.parent.parent
    link = out / LATEST
    if link.is_symlink() and not link.exists():
        remaining = sorted((p for p in (out / RUNS).iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        if remaining:
            point_latest(out, remaining[-1])
        else:
            with contextlib.suppress(OSError):
                link.unlink()
    for d in (out / RUNS, out):  # what reserve() created for nothing (rmdir: only when empty)
        with contextlib.suppress(OSError):
            d.rmdir()
    return True


# What a run leaves in its folder (an attempt's campaign-kept.json and console.log are written before it starts).
_RUN_FILES = ("run.json", "run-*.json", "verdicts.json", "preflight.json", "feature-matrix.json", "boot", EVIDENCE)


def earlier_run(folder: Path) -> str | None:
    """What in `folder` shows that a run was written there already (None: a fresh folder). A run given such a
    folder (`--run-dir`) would leave the earlier run's files beside its own: its BootNotification as this run's
    proof of the device, a worker's run-gw2.json naming a station this run never opened, its evidence."""
    for pattern in _RUN_FILES:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0].name
    return None


def identity_file(folder: Path, worker: str | None = None) -> Path:
    """run.json; under pytest-xdist each worker opens its own bench, so each writes run-<worker>.json."""
    return folder / (f"run-{worker}.json" if worker else "run.json")


# What a run file says of the run itself (the controller's word), not of a worker's bench.
_RUN_STATE = ("status", "status.reason", "run", "started", "finished", "scenarios", "exit code", "workers",
              INTERRUPTED_SCENARIO)


def workers_identity(folder: Path) -> dict[str, Any]:
    """The pytest-xdist workers' bench identities (run-gw0.json, ...) merged: bench, faults, every worker's
    charger and instruments. Not their state: a worker that finished says nothing of whether the run did."""
    merged: dict[str, Any] = {}
    for p in sorted(folder.glob("run-*.json")):
        worker = read_json(p)
        if "bench" in worker:
            instruments = {**(merged.get("instruments") or {}), **(worker.get("instruments") or {})}
            left = {**(merged.get(LEFT_CHANGED) or {}), **(worker.get(LEFT_CHANGED) or {})}  # (each its station's)
            merged = {**worker, **merged, "instruments": instruments, **({LEFT_CHANGED: left} if left else {})}
    return {k: v for k, v in merged.items() if k not in _RUN_STATE}


def read_identity(folder: Path) -> dict[str, Any]:
    """run.json, with the workers' bench identity when the controller has none (under pytest-xdist the
    controller opens no bench; in per-station mode each worker opened a station of its own)."""
    ident = read_json(identity_file(folder))
    return ident if "bench" in ident else {**workers_identity(folder), **ident}


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object written by a run ({} when the file is missing, unreadable or not an object)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temporary file, then rename): a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_environment(alluredir: Path, identity: dict[str, Any]) -> None:
    """The identity as Allure's environment.properties (flat ``key=value``; nested dicts as ``key.sub``)."""
    lines: list[str] = []
    for k, v in identity.items():
        if isinstance(v, dict):
            lines += [f"{k}.{kk}={_one_line(vv)}" for kk, vv in v.items()]
        else:
            lines.append(f"{k}={_one_line(v)}")
    alluredir.mkdir(parents=True, exist_ok=True)
    path = alluredir / "environment.properties"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _one_line(value: Any) -> str:
    return str(value).replace("\n", " ")
