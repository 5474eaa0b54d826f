"""Connector status as a charger reports it: by StatusNotification or by NotifyEvent (device model).

OCPP 2.0.1 lets a charger report a connector's availability either way: a StatusNotification
(`evseId`, `connectorId`, `connectorStatus`), or a NotifyEvent entry on component Connector (`evse.id`,
`evse.connectorId`) with variable AvailabilityState, whose actualValue is a ConnectorStatusEnumType value
(Part 2, appendix 3: Connector.AvailabilityState "replaces the Status values reported by the
StatusNotification"). Part 6 accepts either in every reusable state (EVConnectedPreSession, Unavailable,
TC_B_51_CS, ...), so a harness that heard only StatusNotification would fail a conformant charger.

What counts as a connector's report, and why:
- component Connector with `evse.id` and `evse.connectorId`: that connector's status.
- component EVSE (AvailabilityState of the EVSE itself): not a connector's report. Part 2 does not list
  AvailabilityState among the EVSE's variables, Part 6 calls reporting it "optional" (TC_H_xx Reserved)
  and its post-scenario validations want a report of each connector (TC_G_03/04_CS), and an EVSE of several
  connectors names none of them. Such an entry is read past, without a finding.
- component Connector without `evse` or `evse.connectorId`, or an actualValue outside
  ConnectorStatusEnumType: the status cannot be placed or is no status; a problem (the harness records it
  as a finding) and no status change.

    statuses, problems = statuses_from_frame(frame)   # charger CALLs only; anything else gives ([], [])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dsl.vocab import CONNECTOR_STATES
from runner.csms.framing import charger_call
from runner.recorder import Frame

VARIABLE = "AvailabilityState"


@dataclass(frozen=True)
class ConnectorStatus:
    """One connector's status as one message reported it."""
    evse: int
    connector: int
    status: str
    t: float                      # bench time the message arrived
    timestamp: str | None         # when the charger says the status began (its own clock), if it said
    action: str                   # "StatusNotification" or "NotifyEvent": the evidence's source
    message_id: str | None        # the OCPP-J message id of that message
    event_id: int | None = None   # NotifyEvent: the eventData entry's eventId

    def evidence(self, t0: float | None = None) -> str:
        """`'Occupied' by NotifyEvent (message id 17, eventId 4, evse 1 connector 1, charger time ...)`; with
        `t0` (a scenario's start, bench time), also when it arrived: `received at t=3.2 s`."""
        ids = [f"message id {self.message_id}"] if self.message_id is not None else []
        if self.event_id is not None:
            ids.append(f"eventId {self.event_id}")
        ids.append(f"evse {self.evse} connector {self.connector}")
        if self.timestamp is not None:
            ids.append(f"charger time {self.timestamp}")
        if t0 is not None:
            ids.append(f"received at t={self.t - t0:.1f} s")
        return f"{self.status!r} by {self.action} ({', '.join(ids)})"


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _from_status_notification(frame: Frame, p: dict[str, Any]) -> tuple[list[ConnectorStatus], list[str]]:
    evse, connector, status = _int(p.get("evseId")), _int(p.get("connectorId")), p.get("connectorStatus")
    if evse is None or connector is None or not isinstance(status, str):
        return [], []   # (the schema finding names what is missing; nothing to place)
    stamp = p.get("timestamp") if isinstance(p.get("timestamp"), str) else None
    return [ConnectorStatus(evse, connector, status, frame.t, stamp, "StatusNotification", frame.unique_id)], []


def _from_notify_event(frame: Frame, p: dict[str, Any]) -> tuple[list[ConnectorStatus], list[str]]:
    entries = p.get("eventData")
    if not isinstance(entries, list):
        return [], []   # (a schema finding)
    found: list[tuple[int, ConnectorStatus]] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        component = entry.get("component") if isinstance(entry.get("component"), dict) else {}
        variable = entry.get("variable") if isinstance(entry.get("variable"), dict) else {}
        if component.get("name") != "Connector" or variable.get("name") != VARIABLE:
            continue    # another event, or the EVSE's own AvailabilityState (module docstring)
        where = f"NotifyEvent (message id {frame.unique_id}) eventData[{i}] Connector.{VARIABLE}"
        evse = component.get("evse") if isinstance(component.get("evse"), dict) else {}
        evse_id, connector = _int(evse.get("id")), _int(evse.get("connectorId"))
        value, event_id = entry.get("actualValue"), _int(entry.get("eventId"))
        if evse_id is None or connector is None:
            problems.append(f"{where} names no connector (component.evse {evse or 'missing'}; it needs id and "
                            f"connectorId): its status {value!r} belongs to no connector and is not counted")
            continue
        if value not in CONNECTOR_STATES:
            problems.append(f"{where} of evse {evse_id} connector {connector}: actualValue {value!r} is not a "
                            f"connector status (one of {', '.join(CONNECTOR_STATES)}); not counted")
            continue
        stamp = entry.get("timestamp") if isinstance(entry.get("timestamp"), str) else None
        found.append((i, ConnectorStatus(evse_id, connector, value, frame.t, stamp, "NotifyEvent",
                                         frame.unique_id, event_id)))
    # Several changes of one connector in one message: the charger's times order them (the last is the
    # status now), when every one of them gives a readable time; else the order the charger listed them.
    moments = [_moment(s.timestamp) for _, s in found]
    if found and all(m is not None for m in moments):
        found = [f for _, f in sorted(zip(moments, found, strict=True), key=lambda mf: (mf[0], mf[1][0]))]
    return [s for _, s in found], problems


def statuses_from_frame(frame: Frame) -> tuple[list[ConnectorStatus], list[str]]:
    """The connector statuses one charger CALL reports, in the order they took effect, and the problems of
    its entries that report a connector's status wrongly (each a sentence for a finding)."""
    if not charger_call(frame) or not isinstance(frame.payload, dict):
        return [], []
    if frame.action == "StatusNotification":
        return _from_status_notification(frame, frame.payload)
    if frame.action == "NotifyEvent":
        return _from_notify_event(frame, frame.payload)
    return [], []
