"""Reading a charger's feature matrix on the bench, once per charger boot, and the skip it decides.

`csms reads the device model` and `charger supports <feature>` (runner/steps.py) come here. The device
model is read with one GetBaseReport(FullInventory), every NotifyReport part collected up to the one with
tbc false, and kept per bench session and station until the charger boots again (a new boot may bring a
new firmware and a new device model). Each reading is written at once into the run folder, beside
run.json: feature-matrix.json (every station read in this run) and feature-matrix.csv, and is noted in
the scenario's evidence. A feature the device model says is absent or disabled raises
NotSupportedByCharger: the plugin skips the scenario, naming the feature and what the model said.
The same goes for a variable a case needs reported, writable, with a value or settable to one.

Capabilities outside the device model (can it reset one EVSE alone? a permanently attached cable?) come
from the bench file ([stations.capabilities]): declared true or false there, or a BenchError naming the key
to add — the bench cannot tell whether the case applies, and neither a skip nor a run would be true.
"""

from __future__ import annotations

import contextlib
import json
import threading
import weakref
from pathlib import Path
from typing import Any

from runner import runs
from runner.context import ScenarioRun
from runner.errors import BenchError, ExpectationFailed, NotSupportedByCharger
from runner.feature_matrix import Matrix, matrix_from_report

BOOT_WAIT_S = 120.0      # bench seconds a charger not yet booted gets before its device model is read
REPORT_TIMEOUT_S = 120.0  # bench seconds for the whole report: a large charger reports in many parts
MATRIX_JSON = "feature-matrix.json"
MATRIX_CSV = "feature-matrix.csv"

_lock = threading.Lock()
# bench session -> station -> (boot it was read after, the matrix); dropped with the session.
_cache: weakref.WeakKeyDictionary[Any, dict[str, tuple[float | None, Matrix]]] = weakref.WeakKeyDictionary()


def device_model(run: ScenarioRun, *, fresh: bool = False) -> Matrix:
    """The station's matrix: the one read since its last boot, or a new FullInventory reading."""
    sid = run.station.id
    if run.harness.booted_t(sid) is None:  # (a spec that put `charger supports` before `charger booted`)
        run.run(run.harness.wait_booted(sid, BOOT_WAIT_S), bench_timeout=BOOT_WAIT_S + 5,
                what=f"charger {sid!r} to boot before its device model is read")
    boot = run.harness.booted_t(sid)
    with _lock:
        kept = _cache.get(run.session, {}).get(sid)
    if kept is not None and kept[0] == boot and not fresh:
        run.note(f"feature matrix of {sid}: as read after its boot at t={boot}s (not read again)")
        return kept[1]
    report = run.run(run.harness.get_base_report(sid, "FullInventory", timeout_s=REPORT_TIMEOUT_S),
                     bench_timeout=REPORT_TIMEOUT_S + 5, what=f"GetBaseReport FullInventory to charger {sid!r}")
    if not report.accepted:
        out = report.outcome
        raise ExpectationFailed(None, "the charger did not accept GetBaseReport FullInventory (OCPP 2.0.1 B07, "
                                      f"required of every charger): {out.error_code or out.response}")
    matrix = matrix_from_report(report.parts)
    with _lock:
        _cache.setdefault(run.session, {})[sid] = (boot, matrix)
    _write(run, sid, matrix)
    return matrix


def forget(run: ScenarioRun) -> None:
    """The station's matrix no longer holds what the charger holds: it accepted a change (SetVariables,
    ChangeAvailability) or had one put back since the matrix was read. The next `charger supports …` reads
    the device model again rather than decide on a value the charger no longer has."""
    session = getattr(run, "session", None)
    with _lock, contextlib.suppress(TypeError):  # (a session that cannot be weakly referenced has none kept)
        _cache.get(session, {}).pop(run.station.id, None)


def read_already(run: ScenarioRun) -> Matrix | None:
    """The station's matrix if it was read in this session since the charger's last boot, else None; asks the
    charger nothing (a judge reads what is known, it does not send requests)."""
    session = getattr(run, "session", None)
    try:
        with _lock:
            kept = _cache.get(session, {}).get(run.station.id) if session is not None else None
    except TypeError:  # (a session that cannot be weakly referenced has none kept)
        return None
    boot = getattr(run.harness, "booted_t", lambda _sid: None)(run.station.id)
    return kept[1] if kept is not None and kept[0] == boot else None


def require(run: ScenarioRun, feature: str) -> None:
    """Raise NotSupportedByCharger unless the device model says the charger has `feature`."""
    supported, said = device_model(run).supports(feature)
    run.recorder.event("feature", station=run.station.id, feature=feature, supported=supported, said=said)
    if not supported:
        raise NotSupportedByCharger(feature, f"the device model says: {said}")
    run.note(f"{feature} supported: {said}")


def require_variable(run: ScenarioRun, variable: str, *, writable: bool = False, value: str | None = None,
                     settable_to: str | None = None, without_value: str | None = None) -> None:
    """Raise NotSupportedByCharger unless the device model reports `variable` as the form asks."""
    feature = f"variable {variable}" + (
        " writable" if writable else f' with value "{value}"' if value is not None
        else f' settable to "{settable_to}"' if settable_to is not None
        else f' without value "{without_value}"' if without_value is not None else "")
    supported, said = device_model(run).variable(variable, writable=writable, value=value, settable_to=settable_to,
                                                 without_value=without_value)
    run.recorder.event("feature", station=run.station.id, feature=feature, supported=supported, said=said)
    if not supported:
        raise NotSupportedByCharger(feature, f"the device model says: {said}")
    run.note(f"{feature}: {said}")


def require_capability(run: ScenarioRun, capability: str, *, present: bool = True) -> None:
    """Skip unless the bench file declares the station has (`present`) or lacks the capability."""
    station = run.station.config
    declared = station.capabilities.get(capability)
    where = f"[stations.capabilities] of station {station.id!r} in {run.session.config.path}"
    if declared is None:
        others = ", ".join(f"{k} = {str(v).lower()}" for k, v in sorted(station.capabilities.items())) or "none"
        raise BenchError(None, f"the bench file does not say whether the charger has capability {capability}: add "
                               f"{capability} = true or false to {where} (declared: {others})")
    feature = f"capability {capability}"
    said = f"the bench file declares {capability} = {str(declared).lower()} in {where}"
    run.recorder.event("feature", station=station.id, feature=feature, supported=declared, said=said)
    _write_capabilities(run)
    if declared != present:
        raise NotSupportedByCharger(feature, said, wanted_absent=not present)
    run.note(f"{feature} {'present' if present else 'absent'}: {said}")


def _run_folder(run: ScenarioRun) -> Path | None:
    """The run folder: scenario evidence goes to <run folder>/evidence/<spec>/<scenario>."""
    directory = run.recorder.directory
    if directory is None or len(directory.parents) < 3 or directory.parents[1].name != runs.EVIDENCE:
        return None
    return directory.parents[2]


def _write_capabilities(run: ScenarioRun) -> None:
    """The station's declared capabilities beside its device model in feature-matrix.json: a skip they decide
    is then as traceable as one the device model decides."""
    folder = _run_folder(run)
    if folder is None:
        return
    station = run.station.config
    with _lock, contextlib.suppress(OSError):
        path = folder / MATRIX_JSON
        everything: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            everything = json.loads(path.read_text(encoding="utf-8"))
        entry = everything.setdefault(station.id, {})
        if "capabilities" not in entry:
            entry["capabilities"] = {"declared": dict(sorted(station.capabilities.items())),
                                     "source": f"[stations.capabilities] in {run.session.config.path}"}
            runs.write_json(path, everything)


def _write(run: ScenarioRun, station: str, matrix: Matrix) -> None:
    data = matrix.as_json()
    run.recorder.event("feature_matrix", station=station, **data)
    missing = data["required"]["missing"]
    run.note(f"feature matrix of {station}: {data['variables']} variables in {data['report_parts']} NotifyReport "
             f"part(s); controllers " + ", ".join(
                 f"{c['component']}{'' if c['enabled'] is not False and c['available'] is not False else ' (off)'}"
                 for c in data["controllers"] if c["component"].endswith("Ctrlr"))
             + f"; {len(missing)} required variable(s) missing")
    folder = _run_folder(run)
    if folder is None:
        return
    with _lock, contextlib.suppress(OSError):
        path = folder / MATRIX_JSON
        everything: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            everything = json.loads(path.read_text(encoding="utf-8"))
        kept = {k: v for k, v in everything.get(station, {}).items() if k == "capabilities"}
        everything[station] = {"read_at_t": run.clock.now(), **data, **kept}
        runs.write_json(path, everything)
        with_header = [m.as_csv(sid) for sid, (_, m) in sorted(_cache.get(run.session, {}).items())]
        (folder / MATRIX_CSV).write_text("".join(
            text if k == 0 else text.split("\n", 1)[1] for k, text in enumerate(with_header)), encoding="utf-8")
