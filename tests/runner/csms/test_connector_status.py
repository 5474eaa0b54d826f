"""Connector status by StatusNotification or by NotifyEvent Connector.AvailabilityState (OCPP 2.0.1 allows
both; Part 6 accepts either): the harness's tracking, its evidence, the status signal, and malformed entries
as findings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from runner.csms import CsmsHarness
from runner.csms.connector_status import statuses_from_frame
from runner.recorder import CALL, Frame, Recorder

Run = Callable[..., Recorder]  # the `run` fixture (conftest.py)

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "Twin AC22", "vendorName": "chargespec"}}


def event(value: Any, evse: dict[str, Any] | None, *, event_id: int = 1, name: str = "Connector",
          variable: str = "AvailabilityState", at: str = "2025-01-01T00:00:00Z") -> dict[str, Any]:
    component: dict[str, Any] = {"name": name}
    if evse is not None:
        component["evse"] = evse
    return {"eventId": event_id, "timestamp": at, "trigger": "Delta", "actualValue": value,
            "eventNotificationType": "HardWiredNotification", "component": component,
            "variable": {"name": variable}}


def notify(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"generatedAt": "2025-01-01T00:00:00Z", "seqNo": 0, "eventData": list(entries)}


async def call(ws: ClientConnection, uid: str, action: str, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([2, uid, action, payload]))
    return json.loads(await ws.recv())


def test_notify_event_availability_state_is_the_connector_status_with_its_evidence(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            await call(ws, "b1", "BootNotification", BOOT)
            assert h.status("CS1", 1) is None and h.reported_evses("CS1") == []
            reply = await call(ws, "n1", "NotifyEvent", notify(
                event("Available", {"id": 1, "connectorId": 1}, event_id=11),
                event("Available", {"id": 2, "connectorId": 1}, event_id=12)))
            assert reply[0] == 3
            assert (h.status("CS1", 1), h.status("CS1", 2, 1)) == ("Available", "Available")
            assert h.reported_evses("CS1") == [1, 2]
            # A StatusNotification and a NotifyEvent on one connector: the later report is its status.
            await call(ws, "s1", "StatusNotification", {"timestamp": "2025-01-01T00:00:05Z", "evseId": 1,
                                                        "connectorId": 1, "connectorStatus": "Occupied"})
            assert h.status("CS1", 1) == "Occupied"
            assert h.connector_status("CS1", 1).action == "StatusNotification"  # type: ignore[union-attr]
            # Two changes in one message, listed out of order: the charger's times order them.
            await call(ws, "n2", "NotifyEvent", notify(
                event("Available", {"id": 1, "connectorId": 1}, event_id=14, at="2025-01-01T00:00:09Z"),
                event("Reserved", {"id": 1, "connectorId": 1}, event_id=13, at="2025-01-01T00:00:07Z")))
            reported = h.connector_status("CS1", 1, 1)
            assert reported is not None and reported.status == "Available"
            assert (reported.action, reported.message_id, reported.event_id, reported.timestamp) == (
                "NotifyEvent", "n2", 14, "2025-01-01T00:00:09Z")
            assert reported.evidence() == ("'Available' by NotifyEvent (message id n2, eventId 14, evse 1 "
                                           "connector 1, charger time 2025-01-01T00:00:09Z)")
            assert reported.evidence(reported.t - 2.5).endswith("charger time 2025-01-01T00:00:09Z, received at "
                                                                "t=2.5 s)")
            # The EVSE's own AvailabilityState, another variable, another component: no connector status.
            await call(ws, "n3", "NotifyEvent", notify(
                event("Faulted", {"id": 2}, name="EVSE"),
                event("Faulted", {"id": 2, "connectorId": 1}, variable="Problem"),
                event("Faulted", None, name="ChargingStation")))
            assert h.status("CS1", 2) == "Available"
            assert rec.findings() == []
            # A rebooted charger re-reports every connector, whichever way it reports them.
            await call(ws, "b2", "BootNotification", BOOT)
            assert h.status("CS1", 1) is None and h.reported_evses("CS1") == []

    rec = run(test)
    assert rec.series("charger.status.evse1")[1] == ["Available", "Occupied", "Reserved", "Available"]
    assert rec.series("charger.status.evse2")[1] == ["Available"]


def test_a_malformed_availability_entry_is_a_finding_and_no_status(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            await call(ws, "b1", "BootNotification", BOOT)
            reply = await call(ws, "n1", "NotifyEvent", notify(
                event("Occupied", {"id": 1}),                          # which connector?
                event("Charging", {"id": 1, "connectorId": 1}),        # a 1.6 status, not 2.0.1's
                event("Occupied", None),                               # no EVSE at all
                event("Available", {"id": 2, "connectorId": 1})))      # the one good entry still counts
            assert reply[0] == 3                                      # answered: the harness keeps serving
            assert (h.status("CS1", 1), h.status("CS1", 2)) == (None, "Available")
            await call(ws, "n2", "NotifyEvent", {"generatedAt": "2025-01-01T00:00:00Z", "seqNo": 0,
                                                 "eventData": ["Occupied", None, {"component": 7}]})
            assert h.status("CS1", 1) is None

    rec = run(test)
    mine = [f.message for f in rec.findings() if "AvailabilityState" in f.message]
    assert mine == [
        "CS1: NotifyEvent (message id n1) eventData[0] Connector.AvailabilityState names no connector "
        "(component.evse {'id': 1}; it needs id and connectorId): its status 'Occupied' belongs to no connector "
        "and is not counted",
        "CS1: NotifyEvent (message id n1) eventData[1] Connector.AvailabilityState of evse 1 connector 1: "
        "actualValue 'Charging' is not a connector status (one of Available, Occupied, Reserved, Unavailable, "
        "Faulted); not counted",
        "CS1: NotifyEvent (message id n1) eventData[2] Connector.AvailabilityState names no connector "
        "(component.evse missing; it needs id and connectorId): its status 'Occupied' belongs to no connector "
        "and is not counted",
    ]
    assert rec.series("charger.status.evse1")[1] == []
    assert rec.series("charger.status.evse2")[1] == ["Available"]


def test_statuses_from_frame_reads_charger_calls_only() -> None:
    payload = notify(event("Occupied", {"id": 1, "connectorId": 1}))
    sent = Frame(1.0, "", "CS1", "tx", "", CALL, "x", "NotifyEvent", payload)
    assert statuses_from_frame(sent) == ([], [])
    got = Frame(1.0, "", "CS1", "rx", "", CALL, "x", "NotifyEvent", payload)
    [status], problems = statuses_from_frame(got)
    assert (status.evse, status.connector, status.status, status.t, problems) == (1, 1, "Occupied", 1.0, [])
    odd = Frame(1.0, "", "CS1", "rx", "", CALL, "y", "NotifyEvent", {"eventData": "Occupied"})
    assert statuses_from_frame(odd) == ([], [])
