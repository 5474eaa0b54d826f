"""What a scenario changed on the charger, remembered when it changed it, so the return to idle can put
it back and say so in the evidence.

Steps call :func:`remember_variables` before a SetVariables and :func:`remember_availability` before a
ChangeAvailability: each reads the original (GetVariables) the first time a scenario touches a variable
or an availability scope, and :func:`commit` keeps it only if the charger accepted the change.
:func:`restore` (from ``runner.execute.return_to_idle``) sets every original back, latest change first,
and returns one line per restoration for the evidence.

    remember_variables(run, [variable_ref("SampledDataCtrlr.TxUpdatedInterval")])
    out = ... SetVariables ...
    commit(run, accepted=...)
    ...
    restore(run)   # ["SampledDataCtrlr.TxUpdatedInterval restored to '10' (Accepted)", ...]

An original the charger will not tell (a WriteOnly variable such as SecurityCtrlr.BasicAuthPassword, or a
charger without the variable) cannot be restored: that is said in the evidence, never guessed. Values of
secret-looking variables are not written out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.context import ScenarioRun

CALL_TIMEOUT_S = 30.0
_SECRET_WORDS = ("password", "secret", "key", "token")


@dataclass(frozen=True)
class VariableOriginal:
    item: dict[str, Any]         # component, variable (and attributeType) as OCPP names them
    value: str | None            # None: the charger did not tell it
    why_unknown: str = ""

    @property
    def name(self) -> str:
        comp, var = self.item["component"], self.item["variable"]
        evse = (comp.get("evse") or {}).get("id")
        return f"{comp['name']}{f'[evse {evse}]' if evse is not None else ''}.{var['name']}"

    @property
    def secret(self) -> bool:
        return any(w in self.name.lower() for w in _SECRET_WORDS)


@dataclass(frozen=True)
class AvailabilityOriginal:
    evse: dict[str, Any] | None  # the ChangeAvailability scope: None is the whole station
    status: str                  # Operative or Inoperative
    source: str                  # where the original came from, for the evidence

    @property
    def name(self) -> str:
        if self.evse is None:
            return "the station"
        connector = self.evse.get("connectorId")
        return f"evse {self.evse.get('id')}" + (f" connector {connector}" if connector is not None else "")


@dataclass
class Changes:
    """The originals of what this scenario changed, in the order it first changed them."""
    variables: dict[str, VariableOriginal] = field(default_factory=dict)
    availability: dict[str, AvailabilityOriginal] = field(default_factory=dict)
    profiles: bool = False       # a charging profile was set: clear them all at the end
    _pending: list[tuple[str, str]] = field(default_factory=list)  # (kind, key) read before the change

    def empty(self) -> bool:
        return not (self.variables or self.availability or self.profiles)


def _key(item: Mapping[str, Any]) -> str:
    return json.dumps({k: item.get(k) for k in ("component", "variable", "attributeType")}, sort_keys=True)


def _ref(item: Mapping[str, Any]) -> tuple[Any, ...]:
    """What identifies a variable in a GetVariables answer (chargers may echo more than was asked)."""
    comp, var = item.get("component") or {}, item.get("variable") or {}
    return comp.get("name"), (comp.get("evse") or {}).get("id"), comp.get("instance"), var.get("name")


def _call(run: ScenarioRun, action: str, payload: dict[str, Any]) -> Any:
    return run.run(run.harness.call(run.station.id, action, payload, timeout_s=CALL_TIMEOUT_S),
                   bench_timeout=CALL_TIMEOUT_S + 5, what=f"{action} to charger {run.station.id!r}")


def _get(run: ScenarioRun, items: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    """(value, why not) per item, from one GetVariables; a failed call leaves every value unknown.

    A charger refuses a whole request of more items than its DeviceDataCtrlr.ItemsPerMessage[GetVariables]
    (or more bytes than BytesPerMessage) with a CALLERROR (B06.FR.16/17), a limit the bench does not know
    beforehand: such a refusal of several items is followed by one GetVariables per item."""
    try:
        out = _call(run, "GetVariables", {"getVariableData": items})
    except Exception as e:  # an unreadable original is recorded, the step goes on
        return [(None, f"GetVariables failed: {e}")] * len(items)
    if not out.ok and out.error_code is not None and len(items) > 1:
        return [answer for item in items for answer in _get(run, [item])]
    if not out.ok:
        return [(None, f"GetVariables answered {out.error_code}")] * len(items)
    results = (out.response or {}).get("getVariableResult") or []
    answers: list[tuple[str | None, str]] = []
    for item in items:
        r = next((r for r in results if _ref(r) == _ref(item)), None)
        if r is None:
            answers.append((None, "GetVariables did not answer for it"))
        elif r.get("attributeStatus") != "Accepted" or not isinstance(r.get("attributeValue"), str):
            answers.append((None, f"GetVariables answered {r.get('attributeStatus')}"))
        else:
            answers.append((r["attributeValue"], ""))
    return answers


def remember_variables(run: ScenarioRun, items: Iterable[Mapping[str, Any]]) -> None:
    """Before a SetVariables: read the original of each variable this scenario has not changed yet."""
    changes = run.changes
    fresh = [{k: v for k, v in dict(i).items() if k in ("component", "variable", "attributeType")}
             for i in items]
    fresh = [i for i in fresh if _key(i) not in changes.variables]
    if not fresh:
        return
    for item, (value, why) in zip(fresh, _get(run, fresh), strict=True):
        changes.variables[_key(item)] = VariableOriginal(item, value, why)
        changes._pending.append(("variable", _key(item)))


def remember_availability(run: ScenarioRun, payload: Mapping[str, Any]) -> None:
    """Before a ChangeAvailability: the scope's original operational status (its AvailabilityState, or
    failing that the connector status the charger last reported)."""
    evse = payload.get("evse") if isinstance(payload.get("evse"), dict) else None
    key = json.dumps(evse, sort_keys=True)
    if key in run.changes.availability:
        return
    if evse is None:
        component: dict[str, Any] = {"name": "ChargingStation"}
    elif evse.get("connectorId") is not None:
        component = {"name": "Connector", "evse": {"id": evse.get("id"), "connectorId": evse["connectorId"]}}
    else:
        component = {"name": "EVSE", "evse": {"id": evse.get("id")}}
    [(state, why)] = _get(run, [{"component": component, "variable": {"name": "AvailabilityState"}}])
    if state is not None:
        original = AvailabilityOriginal(evse, "Inoperative" if state == "Unavailable" else "Operative",
                                        f"{component['name']}.AvailabilityState was {state!r}")
    else:
        evse_ids = [evse.get("id")] if evse is not None else range(1, run.station.config.evses + 1)
        statuses = [run.harness.status(run.station.id, e) for e in evse_ids if isinstance(e, int)]
        down = bool(statuses) and all(s == "Unavailable" for s in statuses)
        original = AvailabilityOriginal(evse, "Inoperative" if down else "Operative",
                                        f"AvailabilityState unreadable ({why}); last reported status "
                                        f"{', '.join(repr(s) for s in statuses) or 'none'}")
    run.changes.availability[key] = original
    run.changes._pending.append(("availability", key))


def commit(run: ScenarioRun, accepted: bool | Callable[[str], bool]) -> None:
    """After the change: keep the originals read for it if the charger accepted it (per variable name
    when `accepted` is a function of it), forget them if it changed nothing."""
    changes = run.changes
    changed = False
    for kind, key in changes._pending:
        store: dict[str, Any] = changes.variables if kind == "variable" else changes.availability
        original = store.get(key)
        ok = accepted(original.name) if callable(accepted) and original is not None else bool(accepted)
        changed = changed or ok
        if not ok:
            store.pop(key, None)
    changes._pending.clear()
    if changed:
        _forget_device_model(run)


def _forget_device_model(run: ScenarioRun) -> None:
    from runner.features import forget  # (runner.features imports runner.context, which imports this module)

    forget(run)


def _shown(original: VariableOriginal, value: str | None) -> str:
    return "(value not shown)" if original.secret or value is None else repr(value)


def restore(run: ScenarioRun, left: Changes | None = None,
            failed: list[tuple[str, str]] | None = None) -> list[str]:
    """Set every original back, latest change first; one line per restoration (or why not). Never raises.

    Each original the charger refused (or did not answer for) is kept in `left`, to be tried again before the
    next scenario, and (what, why) in `failed` (runner/leftovers.py). An original the charger would not tell
    is neither: it cannot be put back, nor known to matter (runner/leftovers.py says why)."""
    lines: list[str] = []
    changes = run.changes
    for original in reversed(list(changes.variables.values())):
        if original.value is None:
            lines.append(f"{original.name} NOT restored: its original value is unknown ({original.why_unknown})")
            continue
        try:
            out = _call(run, "SetVariables", {"setVariableData": [{**original.item,
                                                                   "attributeValue": original.value}]})
            result = ((out.response or {}).get("setVariableResult") or [{}])[0]
            status = out.error_code or result.get("attributeStatus")
        except Exception as e:  # reported in the evidence
            status = f"failed: {e}"
        verb = "restored" if status in ("Accepted", "RebootRequired") else "NOT restored"
        lines.append(f"{original.name} {verb} to {_shown(original, original.value)} ({status})")
        if verb != "restored":
            if left is not None:
                left.variables[_key(original.item)] = original
            if failed is not None:
                failed.append((f"{original.name} not back to {_shown(original, original.value)}",
                               f"SetVariables: {status}"))
    for avail in reversed(list(changes.availability.values())):
        payload: dict[str, Any] = {"operationalStatus": avail.status}
        if avail.evse is not None:
            payload["evse"] = avail.evse
        try:
            out = _call(run, "ChangeAvailability", payload)
            status = out.error_code or (out.response or {}).get("status")
        except Exception as e:
            status = f"failed: {e}"
        verb = "restored" if status in ("Accepted", "Scheduled") else "NOT restored"
        lines.append(f"availability of {avail.name} {verb} to {avail.status} ({status}; {avail.source})")
        if verb != "restored":
            if left is not None:
                left.availability[json.dumps(avail.evse, sort_keys=True)] = avail
            if failed is not None:
                failed.append((f"availability of {avail.name} not back to {avail.status}",
                               f"ChangeAvailability: {status}"))
    if left is not None:  # in the order they were changed, as the retry restores them latest first again
        left.variables = {k: v for k, v in changes.variables.items() if k in left.variables}
        left.availability = {k: v for k, v in changes.availability.items() if k in left.availability}
    if lines:
        _forget_device_model(run)
    return lines
