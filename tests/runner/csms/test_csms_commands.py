"""Named CSMS-initiated messages, reports collected in parts, connector status and boot tracking."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from runner.csms import CsmsHarness, CsmsTimeout
from runner.csms.commands import variable_ref
from runner.recorder import Recorder

Run = Callable[..., Recorder]  # the `run` fixture (conftest.py)

NOW = "2025-01-01T00:00:00.000Z"
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}
PROFILE = {"id": 7, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute",
           "chargingSchedule": [{"id": 1, "startSchedule": NOW, "chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}
VAR = {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}}

# What the scripted charger answers to each action (schema-valid, so any finding is the harness's fault).
ANSWERS: dict[str, dict[str, Any]] = {
    "SetChargingProfile": {"status": "Accepted"}, "ClearChargingProfile": {"status": "Accepted"},
    "GetCompositeSchedule": {"status": "Accepted", "schedule": {
        "evseId": 1, "duration": 600, "scheduleStart": NOW, "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}},
    "GetChargingProfiles": {"status": "Accepted"}, "GetBaseReport": {"status": "Accepted"},
    "RequestStartTransaction": {"status": "Accepted"}, "RequestStopTransaction": {"status": "Rejected"},
    "Reset": {"status": "Accepted"}, "TriggerMessage": {"status": "Accepted"},
    "GetVariables": {"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "60", **VAR}]},
    "SetVariables": {"setVariableResult": [{"attributeStatus": "Accepted", **VAR}]},
    "ChangeAvailability": {"status": "Scheduled"}, "UnlockConnector": {"status": "Unlocked"},
    "UpdateFirmware": {"status": "Accepted"}, "SetNetworkProfile": {"status": "Accepted"},
}



class ScriptedCharger:
    """Answers CSMS calls from ANSWERS; after a report request, sends the parts `reports` says."""

    def __init__(self, ws: ClientConnection, reports: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.ws = ws
        self.reports = reports or {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.n = 0

    async def serve(self) -> None:
        async for raw in self.ws:
            msg = json.loads(raw)
            if msg[0] != 2:
                continue
            _, uid, action, payload = msg
            self.requests.append((action, payload))
            await self.ws.send(json.dumps([3, uid, ANSWERS[action]]))
            report_action = {"GetBaseReport": "NotifyReport",
                             "GetChargingProfiles": "ReportChargingProfiles"}.get(action)
            for part in self.reports.get(action, []):
                self.n += 1
                await self.ws.send(json.dumps([2, f"r{self.n}", report_action,
                                               {"requestId": payload["requestId"], **part}]))

    async def call(self, action: str, payload: dict[str, Any]) -> None:
        self.n += 1
        await self.ws.send(json.dumps([2, f"c{self.n}", action, payload]))


def item(name: str, value: str) -> dict[str, Any]:
    return {"component": {"name": "Ctrlr"}, "variable": {"name": name},
            "variableAttribute": [{"value": value}]}


def test_every_named_message_is_schema_valid_and_answered(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            charger = ScriptedCharger(ws)
            task = asyncio.create_task(charger.serve())
            await h.wait_connected("CS1", 50)
            outcomes = [
                await h.set_charging_profile("CS1", 1, PROFILE),
                await h.clear_charging_profile("CS1", profile_id=7),
                await h.clear_charging_profile("CS1", evse_id=1, purpose="TxDefaultProfile"),
                await h.get_composite_schedule("CS1", 1, 600, "A"),
                await h.request_start_transaction("CS1", "04A2B3C4", evse_id=1, remote_start_id=5),
                await h.request_stop_transaction("CS1", "TX-1"),
                await h.reset("CS1", "OnIdle", evse_id=1),
                await h.trigger_message("CS1", "StatusNotification", evse_id=1, connector_id=1),
                await h.get_variables("CS1", ["SampledDataCtrlr.TxUpdatedInterval"]),
                await h.set_variables("CS1", {"SampledDataCtrlr.TxUpdatedInterval": 60}),
                await h.change_availability("CS1", "Inoperative", evse_id=1),
                await h.unlock_connector("CS1", 1),
                await h.update_firmware("CS1", "https://fw.example/1.5.bin", retries=2),
                await h.set_network_profile("CS1", 1, {
                    "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://csms.example/ocpp",
                    "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}),
            ]
            task.cancel()
        assert all(o.ok for o in outcomes)
        assert [o.response for o in outcomes][-4:] == [{"status": "Scheduled"}, {"status": "Unlocked"},
                                                      {"status": "Accepted"}, {"status": "Accepted"}]
        sent = dict(charger.requests[:2])
        assert sent["SetChargingProfile"] == {"evseId": 1, "chargingProfile": PROFILE}
        criteria = {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile"}
        assert charger.requests[2][1] == {"chargingProfileCriteria": criteria}
        assert charger.requests[9][1]["setVariableData"] == [{**VAR, "attributeValue": "60"}]
        firmware = charger.requests[12][1]
        assert firmware["retries"] == 2 and firmware["firmware"]["retrieveDateTime"].endswith("Z")

    rec = run(test)
    assert rec.findings() == []     # every request matched its OCPP 2.0.1 schema
    sent = [f.action for f in rec.frames() if f.direction == "tx"]
    assert sent == ["SetChargingProfile", "ClearChargingProfile", "ClearChargingProfile",
                    "GetCompositeSchedule", "RequestStartTransaction", "RequestStopTransaction", "Reset",
                    "TriggerMessage", "GetVariables", "SetVariables", "ChangeAvailability", "UnlockConnector",
                    "UpdateFirmware", "SetNetworkProfile"]


def test_base_report_parts_are_collected_in_seqno_order_until_tbc_false(run: Run) -> None:
    parts = [{"seqNo": 1, "generatedAt": NOW, "tbc": False, "reportData": [item("B", "2")]},
             {"seqNo": 0, "generatedAt": NOW, "tbc": True, "reportData": [item("A", "1")]}]
    profiles = [{"chargingLimitSource": "CSO", "evseId": 1, "tbc": True, "chargingProfile": [PROFILE]},
                {"chargingLimitSource": "CSO", "evseId": 0, "chargingProfile": [{**PROFILE, "id": 8}]}]

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            charger = ScriptedCharger(ws, {"GetBaseReport": parts, "GetChargingProfiles": profiles})
            task = asyncio.create_task(charger.serve())
            await h.wait_connected("CS1", 50)
            report = await h.get_base_report("CS1", "FullInventory", timeout_s=50)
            assert report.accepted and [p["seqNo"] for p in report.parts] == [0, 1]
            assert [d["variable"]["name"] for d in report.data] == ["A", "B"]
            listed = await h.get_charging_profiles("CS1", {"chargingProfilePurpose": "TxDefaultProfile"})
            assert [p["id"] for p in listed.data] == [7, 8] and [p["evseId"] for p in listed.parts] == [1, 0]
            # A charger that never sends the last part: the wait names what did arrive.
            charger.reports["GetBaseReport"] = [parts[1]]
            with pytest.raises(CsmsTimeout, match=r"sent 1 NotifyReport part\(s\) and no last one"):
                await h.get_base_report("CS1", "SummaryInventory", timeout_s=5)
            # A gap in seqNo is the charger's fault: recorded, and the report still returned.
            charger.reports["GetBaseReport"] = [{**parts[0], "seqNo": 2}, parts[1]]
            gapped = await h.get_base_report("CS1", "ConfigurationInventory", timeout_s=50)
            assert [p["seqNo"] for p in gapped.parts] == [0, 2]
            task.cancel()

    rec = run(test)
    [finding] = rec.findings()
    assert "NotifyReport parts for requestId" in finding.message and "seqNo [0, 2]" in finding.message


def test_report_refused_by_the_charger_returns_at_once_with_no_parts(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            await h.wait_connected("CS1", 50)
            pending = asyncio.create_task(h.get_base_report("CS1", "FullInventory", timeout_s=50))
            msg = json.loads(await ws.recv())
            await ws.send(json.dumps([4, msg[1], "NotSupported", "no reports here", {}]))
            report = await pending
            assert not report.accepted and report.parts == () and report.data == []
            assert report.outcome.error_code == "NotSupported"

    run(test)


def test_connector_status_and_boot_time_survive_a_new_scenario_and_reset_on_reboot(run: Run) -> None:
    def status(evse: int, connector: int, value: str) -> dict[str, Any]:
        return {"timestamp": NOW, "connectorStatus": value, "evseId": evse, "connectorId": connector}

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            charger = ScriptedCharger(ws)
            assert h.booted_t("CS1") is None and h.status("CS1", 1) is None
            await charger.call("BootNotification", BOOT)
            await ws.recv()
            await h.wait_booted("CS1", 50)
            booted = h.booted_t("CS1")
            assert booted is not None
            for args in ((1, 1, "Available"), (2, 1, "Occupied"), (1, 2, "Faulted")):
                await charger.call("StatusNotification", status(*args))
                await ws.recv()
            assert (h.status("CS1", 1), h.status("CS1", 1, 1), h.status("CS1", 2)) == (
                "Faulted", "Available", "Occupied")
            rec.begin(None)                           # a new scenario keeps what the charger said
            assert h.status("CS1", 2) == "Occupied" and h.booted_t("CS1") == booted
            await charger.call("BootNotification", BOOT)
            await ws.recv()
            assert h.status("CS1", 1) is None and h.booted_t("CS1") >= booted  # type: ignore[operator]

    run(test)


def test_variable_references_name_what_is_wrong() -> None:
    assert variable_ref("SampledDataCtrlr.TxUpdatedInterval") == VAR
    assert variable_ref(VAR) == VAR
    with pytest.raises(ValueError, match=r"must be Component\.Variable"):
        variable_ref("TxUpdatedInterval")
    with pytest.raises(ValueError, match="needs 'component' and 'variable'"):
        variable_ref({"component": {"name": "X"}})


def test_variable_references_carry_an_instance_and_an_evse() -> None:
    assert variable_ref("OCPPCommCtrlr.MessageAttempts[TransactionEvent]") == {
        "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "MessageAttempts", "instance": "TransactionEvent"}}
    assert variable_ref("SampledDataCtrlr.TxUpdatedMeasurands", 1) == {
        "component": {"name": "SampledDataCtrlr", "evse": {"id": 1}}, "variable": {"name": "TxUpdatedMeasurands"}}
    with pytest.raises(ValueError, match=r"Component.Variable\[instance\]"):
        variable_ref("OCPPCommCtrlr.MessageAttempts[]")
