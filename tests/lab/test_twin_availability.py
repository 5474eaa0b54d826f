"""ChangeAvailability, UnlockConnector, profile limit decimals and the idToken of remote starts, on the
whole twin against the tests' minimal CSMS (the EV is moved through the physics model directly)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocpp.v201 import call

import lab

# The conftest's TwinEnv (conftest modules are not importable under pytest's importlib mode).
TwinEnv = Any

TOKEN = {"id_token": "04A2B3C4", "type": "ISO14443"}
TWIN_BENCH = Path(lab.__file__).parent / "benches" / "twin.toml"


def statuses(env: TwinEnv, evse: int) -> list[str]:
    return [r.payload["connector_status"] for r in env.csms.find("StatusNotification", evse_id=evse)]


def wait_status(env: TwinEnv, evse: int, status: str, after: int = 0) -> None:
    """Until EVSE `evse` reported `status` in a StatusNotification later than its first `after` ones."""
    env.csms.wait_for(lambda: status in statuses(env, evse)[after:], 5, f"EVSE {evse} {status}")


def ready(env: TwinEnv) -> TwinEnv:
    """The twin once its charger has booted and reported its connectors."""
    for evse in (1, 2):
        wait_status(env, evse, "Available")
    return env


def remote_start(env: TwinEnv, evse: int = 1) -> Any:
    return env.csms.call(env.station_id, call.RequestStartTransaction(id_token=TOKEN, remote_start_id=7, evse_id=evse))


def started_tx(env: TwinEnv, evse: int = 1) -> str:
    """Plug the EV in on `evse`, start remotely, and return the transaction id once it charges."""
    phys = env.twin.physics
    phys.set_ev_request(evse, 16.0)
    phys.set_ev_state(evse, "C")
    assert remote_start(env, evse).status == "Accepted"
    started = env.csms.wait_for(
        lambda: [r for r in env.csms.find("TransactionEvent", event_type="Started") if r.payload["evse"]["id"] == evse],
        5,
        "Started",
    )
    return str(started[0].payload["transaction_info"]["transaction_id"])


def test_evse_inoperative_and_back_survives_a_reboot(twin_factory: Callable[..., TwinEnv]) -> None:
    env = ready(twin_factory())
    csms, sid = env.csms, env.station_id
    reply = csms.call(sid, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    assert reply.status == "Accepted"
    wait_status(env, 1, "Unavailable")
    assert "Unavailable" not in statuses(env, 2)
    refused = remote_start(env, 1)
    assert refused.status == "Rejected" and refused.status_info["reason_code"] == "Unavailable"
    env.twin.physics.set_ev_state(1, "B")  # an EV plugged into an inoperative EVSE: still Unavailable
    n = len(statuses(env, 1))
    assert csms.call(sid, call.Reset(type="Immediate")).status == "Accepted"
    csms.wait_for(lambda: len(csms.find("BootNotification")) == 2, 5, "second boot")
    wait_status(env, 1, "Unavailable", after=n)  # the availability outlived the reboot
    assert "Occupied" not in statuses(env, 1)
    assert not csms.find("TransactionEvent")
    n = len(statuses(env, 1))
    reply = csms.call(sid, call.ChangeAvailability(operational_status="Operative", evse={"id": 1, "connector_id": 1}))
    assert reply.status == "Accepted"
    wait_status(env, 1, "Occupied", after=n)  # back in service, with the EV that is still plugged in
    assert remote_start(env, 1).status == "Accepted"
    for evse, words in (({"id": 3}, "UnknownEvse"), ({"id": 1, "connector_id": 2}, "UnknownConnectorId")):
        bad = csms.call(sid, call.ChangeAvailability(operational_status="Inoperative", evse=evse))
        assert bad.status == "Rejected" and bad.status_info["reason_code"] == words


def test_station_inoperative_is_scheduled_behind_a_running_transaction(twin_factory: Callable[..., TwinEnv]) -> None:
    env = ready(twin_factory())
    csms, sid = env.csms, env.station_id
    tx_id = started_tx(env, 1)
    assert csms.call(sid, call.ChangeAvailability(operational_status="Inoperative")).status == "Scheduled"
    wait_status(env, 2, "Unavailable")  # the idle EVSE at once
    assert "Unavailable" not in statuses(env, 1)
    assert env.twin.charger.evses[1].tx is not None  # the transaction goes on
    n = len(statuses(env, 1))
    assert csms.call(sid, call.RequestStopTransaction(transaction_id=tx_id)).status == "Accepted"
    csms.wait_for(lambda: csms.find("TransactionEvent", event_type="Ended"), 5, "Ended")
    wait_status(env, 1, "Unavailable", after=n)  # then the busy one, EV still plugged in
    assert env.twin.charger.device.value("ChargingStation", "AvailabilityState") == "Unavailable"
    assert csms.call(sid, call.ChangeAvailability(operational_status="Operative")).status == "Accepted"
    wait_status(env, 2, "Available", after=1)


def test_unlock_connector(twin_factory: Callable[..., TwinEnv]) -> None:
    env = ready(twin_factory())
    csms, sid = env.csms, env.station_id
    started_tx(env, 1)
    assert csms.call(sid, call.UnlockConnector(evse_id=1, connector_id=1)).status == "OngoingAuthorizedTransaction"
    assert csms.call(sid, call.UnlockConnector(evse_id=2, connector_id=1)).status == "Unlocked"
    for evse, connector in ((3, 1), (1, 2)):
        assert csms.call(sid, call.UnlockConnector(evse_id=evse, connector_id=connector)).status == "UnknownConnector"
    assert env.twin.charger.counters.unlocks == 1


def test_remote_start_after_plug_in_transaction_carries_the_id_token(twin_factory: Callable[..., TwinEnv]) -> None:
    """TxStartPoint EVConnected: the transaction starts at plug-in without a token; the RemoteStart event
    that authorizes it carries the idToken (and the remoteStartId)."""
    env = ready(twin_factory())
    csms, sid = env.csms, env.station_id
    start_point = {"component": {"name": "TxCtrlr"}, "variable": {"name": "TxStartPoint"}}
    result = csms.call(sid, call.SetVariables(set_variable_data=[{**start_point, "attribute_value": "EVConnected"}]))
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"
    env.twin.physics.set_ev_state(1, "B")
    started = csms.wait_for(lambda: csms.find("TransactionEvent", event_type="Started"), 5, "Started")[0].payload
    assert started["trigger_reason"] == "CablePluggedIn" and "id_token" not in started
    assert remote_start(env, 1).status == "Accepted"
    authorized = csms.wait_for(lambda: csms.find("TransactionEvent", trigger_reason="RemoteStart"), 5, "RemoteStart")
    payload = authorized[0].payload
    assert payload["id_token"] == TOKEN and payload["transaction_info"]["remote_start_id"] == 7
    assert payload["transaction_info"]["transaction_id"] == started["transaction_info"]["transaction_id"]


def test_set_charging_profile_limit_with_two_decimals_is_rejected(twin_factory: Callable[..., TwinEnv]) -> None:
    env = ready(twin_factory())

    def set_limit(limit: float) -> Any:
        periods = [{"start_period": 0, "limit": limit}]
        schedule = {"id": 1, "charging_rate_unit": "A", "charging_schedule_period": periods}
        profile = {
            "id": 1,
            "stack_level": 0,
            "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Relative",
            "charging_schedule": [schedule],
        }
        return env.csms.call(env.station_id, call.SetChargingProfile(evse_id=1, charging_profile=profile))

    rejected = set_limit(10.25)
    assert rejected.status == "Rejected" and rejected.status_info["reason_code"] == "InvalidSchedule"
    assert "more than one decimal" in rejected.status_info["additional_info"]
    assert set_limit(10.2).status == "Accepted"


NOTIFY_EVENT = {"status_report": "NotifyEvent"}


def availability_events(env: TwinEnv, evse: int) -> list[dict[str, Any]]:
    """The Connector.AvailabilityState events of EVSE `evse`'s connector, in the order the CSMS got them."""
    return [d for r in env.csms.find("NotifyEvent") for d in r.payload["event_data"]
            if d["component"].get("evse", {}).get("id") == evse]


def test_status_report_notify_event_reports_connectors_by_the_device_model(
        twin_factory: Callable[..., TwinEnv]) -> None:
    """A charger may report connector status by NotifyEvent AvailabilityState instead of StatusNotification
    (Part 6 reusable states accept either); the twin option makes it one, in the shape Part 6 validates."""
    env = twin_factory(options=NOTIFY_EVENT)
    csms, sid = env.csms, env.station_id

    def values(evse: int) -> list[str]:
        return [d["actual_value"] for d in availability_events(env, evse)]

    for evse in (1, 2):
        csms.wait_for(lambda e=evse: "Available" in values(e), 5, f"EVSE {evse} Available by NotifyEvent")
    env.twin.physics.set_ev_state(1, "B")
    csms.wait_for(lambda: "Occupied" in values(1), 5, "EVSE 1 Occupied by NotifyEvent")
    inoperative = call.ChangeAvailability(operational_status="Inoperative", evse={"id": 2})
    assert csms.call(sid, inoperative).status == "Accepted"
    csms.wait_for(lambda: "Unavailable" in values(2), 5, "EVSE 2 Unavailable by NotifyEvent")
    assert csms.find("StatusNotification") == []
    assert values(1) == ["Available", "Occupied"] and values(2) == ["Available", "Unavailable"]
    for r in csms.find("NotifyEvent"):
        assert r.payload["seq_no"] == 0 and not r.payload.get("tbc") and len(r.payload["event_data"]) == 1
    events = availability_events(env, 1) + availability_events(env, 2)
    for d in events:
        assert (d["trigger"], d["event_notification_type"]) == ("Delta", "HardWiredNotification")
        assert d["component"]["name"] == "Connector" and d["component"]["evse"]["connector_id"] == 1
        assert d["variable"] == {"name": "AvailabilityState"} and d["timestamp"].endswith("Z")
    ids = [d["event_id"] for d in events]
    assert len(set(ids)) == len(ids)
    # A TriggerMessage for StatusNotification is still answered with the message asked for (F06).
    assert csms.call(sid, call.TriggerMessage(requested_message="StatusNotification",
                                              evse={"id": 1, "connector_id": 1})).status == "Accepted"
    csms.wait_for(lambda: csms.find("StatusNotification", evse_id=1, connector_status="Occupied"), 5, "triggered")


def test_status_report_option_with_a_value_the_twin_cannot_take_is_a_bench_file_error() -> None:
    import pytest

    from lab.bench import BenchFileError, load_bench
    from lab.twin.options import TwinOptionError, status_report

    with pytest.raises(BenchFileError) as err:
        load_bench(TWIN_BENCH, overrides={"twin.options": {"status_report": "SecurityEvent"}})
    assert ("twin.options.status_report: 'SecurityEvent': the twin reports connector status by one of "
            "'StatusNotification', 'NotifyEvent'") in str(err.value)
    with pytest.raises(TwinOptionError):
        status_report({"status_report": "notifyevent"})
    assert status_report({}) == "StatusNotification"
