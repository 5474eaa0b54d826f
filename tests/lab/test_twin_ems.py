"""The twin charger and its local energy manager: the EMS's registers (written here as the bench's driver
would) become a ChargingStationExternalConstraints limit, NotifyChargingLimit / ClearedChargingLimit tell
the CSMS, the composite is the lower of backend and EMS, and the watchdog brings in the fallback. The
analyzers' view of the same is specs/site/ems.spec (on the fault matrix)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocpp.v201 import call

from instruments import ems_map as m
from instruments.ems_map import SiteLimit
from lab.twin.ems_server import EmsServer
from lab.twin.faults import Faults

# The conftest's TwinEnv (conftest modules are not importable under pytest's importlib mode).
TwinEnv = Any


def ems_of(env: TwinEnv) -> EmsServer:
    ems = env.twin.station().ems
    assert ems is not None
    assert env.endpoints[env.station_id]["ems"] == ems.address
    return ems


def write(ems: EmsServer, address: int, values: list[int]) -> None:
    """A write as the EMS makes it (the twin server's own rule decides whether it is allowed)."""
    assert m.check_write(address, values) is None
    ems.registers[address:address + len(values)] = values


def set_limit(ems: EmsServer, limit: SiteLimit | None) -> None:
    mode, hi, lo = m.encode_limit(limit)
    write(ems, m.LIMIT_HI, [hi, lo])
    write(ems, m.LIMIT_MODE, [mode])


def composite_w(env: TwinEnv) -> float:
    got = env.csms.call(env.station_id, call.GetCompositeSchedule(duration=60, evse_id=1, charging_rate_unit="W"))
    assert got.status == "Accepted"
    return float(got.schedule["charging_schedule_period"][0]["limit"])


def booted(env: TwinEnv) -> None:
    env.csms.wait_for(lambda: env.csms.find("BootNotification"), 5, "boot")
    env.csms.wait_for(lambda: env.csms.find("StatusNotification"), 5, "status")


def max_profile(limit_w: float) -> dict[str, Any]:
    return {"id": 7, "stack_level": 0, "charging_profile_purpose": "ChargingStationMaxProfile",
            "charging_profile_kind": "Absolute",
            "charging_schedule": [{"id": 7, "charging_rate_unit": "W", "start_schedule": "2020-01-01T00:00:00Z",
                                   "charging_schedule_period": [{"start_period": 0, "limit": limit_w}]}]}


def test_the_ems_limit_is_notified_and_caps_the_composite_below_the_backend(
        twin_factory: Callable[..., TwinEnv]) -> None:
    env = twin_factory()
    csms, sid, ems = env.csms, env.station_id, ems_of(env)
    booted(env)
    assert composite_w(env) == 22080.0  # 32 A on 3 x 230 V: nothing set yet
    assert csms.call(sid, call.SetChargingProfile(evse_id=0, charging_profile=max_profile(16000))).status == "Accepted"
    set_limit(ems, SiteLimit(11000, "W"))
    note = csms.wait_for(lambda: csms.find("NotifyChargingLimit"), 5, "NotifyChargingLimit")[0].payload
    assert note["charging_limit"] == {"charging_limit_source": "EMS", "is_grid_critical": False}
    assert "evse_id" not in note  # it caps the station
    (schedule,) = note["charging_schedule"]
    assert schedule["charging_rate_unit"] == "W"
    assert schedule["charging_schedule_period"] == [{"start_period": 0, "limit": 11000}]
    csms.wait_for(lambda: ems.registers[m.CHARGER_STATE] == m.STATE_LIMIT, 5, "CHARGER_STATE 1")
    assert composite_w(env) == 11000.0  # min(backend 16 kW, EMS 11 kW)
    set_limit(ems, SiteLimit(40, "A"))  # above the backend's 16 kW: the backend's limit holds
    csms.wait_for(lambda: len(csms.find("NotifyChargingLimit")) == 2, 5, "the second NotifyChargingLimit")
    assert composite_w(env) == 16000.0
    set_limit(ems, SiteLimit(11000, "W"))
    csms.wait_for(lambda: len(csms.find("NotifyChargingLimit")) == 3, 5, "the third NotifyChargingLimit")
    # ClearChargingProfile is the CSMS's: it takes its own profiles, never the EMS's limit.
    csms.call(sid, call.ClearChargingProfile(charging_profile_criteria={"charging_profile_purpose":
                                                                        "ChargingStationExternalConstraints"}))
    csms.call(sid, call.ClearChargingProfile(charging_profile_id=7))
    assert composite_w(env) == 11000.0
    # GetChargingProfiles reports it as the EMS's (a schema-valid ChargingProfileType, source EMS).
    got = csms.call(sid, call.GetChargingProfiles(request_id=5, charging_profile={"charging_limit_source": ["EMS"]}))
    assert got.status == "Accepted"
    report = csms.wait_for(lambda: csms.find("ReportChargingProfiles", request_id=5), 5, "the report")[0].payload
    assert (report["charging_limit_source"], report["evse_id"]) == ("EMS", 0)
    (profile,) = report["charging_profile"]
    assert profile["charging_profile_purpose"] == "ChargingStationExternalConstraints"
    assert profile["charging_schedule"][0]["charging_schedule_period"] == [{"start_period": 0, "limit": 11000}]
    got = csms.call(sid, call.GetChargingProfiles(request_id=6, charging_profile={"charging_limit_source": ["CSO"]}))
    assert got.status == "NoProfiles"  # the backend's own were cleared above
    set_limit(ems, None)
    cleared = csms.wait_for(lambda: csms.find("ClearedChargingLimit"), 5, "ClearedChargingLimit")[0].payload
    assert cleared == {"charging_limit_source": "EMS"}
    csms.wait_for(lambda: ems.registers[m.CHARGER_STATE] == m.STATE_NONE, 5, "CHARGER_STATE 0")
    assert composite_w(env) == 22080.0


def test_the_watchdog_applies_the_fallback_and_lets_go_when_the_heartbeat_returns(
        twin_factory: Callable[..., TwinEnv]) -> None:
    env = twin_factory()
    csms, clock, ems = env.csms, env.clock, ems_of(env)
    booted(env)
    mode, hi, lo = m.encode_limit(SiteLimit(6000, "W"))
    write(ems, m.FALLBACK_HI, [hi, lo])
    write(ems, m.FALLBACK_MODE, [mode])
    set_limit(ems, SiteLimit(11000, "W"))
    csms.wait_for(lambda: ems.registers[m.CHARGER_STATE] == m.STATE_LIMIT, 5, "CHARGER_STATE 1")
    # The watchdog runs from the last heartbeat change the charger saw: one last beat, the watchdog set
    # (only now: the heartbeat has not changed since the charger started), then silence.
    write(ems, m.HEARTBEAT, [(ems.registers[m.HEARTBEAT] + 1) & 0xFFFF])
    write(ems, m.WATCHDOG_S, [30])
    silent_t = clock.now()
    csms.wait_for(lambda: ems.registers[m.CHARGER_STATE] == m.STATE_FALLBACK, 5, "CHARGER_STATE 2")
    assert 29.0 <= clock.now() - silent_t <= 33.0  # 30 s of watchdog, read every 1 s, polled at 60x
    assert composite_w(env) == 6000.0
    # With the watchdog out the charger still reads the EMS once a poll period, not continuously: a loop
    # that spun here starved the twin's analyzer (sample gaps of 10-20 bench s in specs/site/ems.spec).
    now = clock.now()
    assert env.twin.charger._ems_poll(now) >= now + 0.5
    notes = csms.wait_for(lambda: len(csms.find("NotifyChargingLimit")) == 2 and csms.find("NotifyChargingLimit"),
                          5, "the fallback's NotifyChargingLimit")
    assert notes[1].payload["charging_schedule"][0]["charging_schedule_period"][0]["limit"] == 6000
    write(ems, m.HEARTBEAT, [(ems.registers[m.HEARTBEAT] + 1) & 0xFFFF])
    csms.wait_for(lambda: ems.registers[m.CHARGER_STATE] == m.STATE_LIMIT, 5, "back to the EMS limit")
    assert composite_w(env) == 11000.0


def test_knobs_bend_the_ems_part_of_the_firmware(twin_factory: Callable[..., TwinEnv]) -> None:
    ignored = twin_factory(Faults(external_constraint_ignored=True, no_fallback_on_ems_loss=True))
    ems = ems_of(ignored)
    booted(ignored)
    write(ems, m.FALLBACK_MODE, [m.MODE_A])
    write(ems, m.FALLBACK_LO, [60])
    write(ems, m.WATCHDOG_S, [20])
    set_limit(ems, SiteLimit(11000, "W"))
    ignored.csms.wait_for(lambda: ignored.csms.find("NotifyChargingLimit"), 5, "NotifyChargingLimit")
    assert composite_w(ignored) == 22080.0  # reported, not applied
    ignored.csms.wait_for(lambda: ignored.clock.now() > 25 and ems.registers[m.CHARGER_STATE] == m.STATE_NONE,
                          5, "the watchdog out, and no fallback")
    assert composite_w(ignored) == 22080.0

    quiet = twin_factory(Faults(no_notify_charging_limit=True))
    ems = ems_of(quiet)
    booted(quiet)
    set_limit(ems, SiteLimit(11000, "W"))
    quiet.csms.wait_for(lambda: ems.registers[m.CHARGER_STATE] == m.STATE_LIMIT, 5, "CHARGER_STATE 1")
    assert composite_w(quiet) == 11000.0
    set_limit(ems, None)
    quiet.csms.wait_for(lambda: ems.registers[m.CHARGER_STATE] == m.STATE_NONE, 5, "CHARGER_STATE 0")
    assert not quiet.csms.find("NotifyChargingLimit") and not quiet.csms.find("ClearedChargingLimit")


def test_the_notified_limit_carries_its_schedule_only_when_the_station_says_so(
        twin_factory: Callable[..., TwinEnv]) -> None:
    """SmartChargingCtrlr.NotifyChargingLimitWithSchedules (appendices: false when omitted) says whether
    NotifyChargingLimit includes the external schedule; the twin declares it (true) and follows it."""
    env = twin_factory()
    csms, sid, ems = env.csms, env.station_id, ems_of(env)
    booted(env)
    variable = {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "NotifyChargingLimitWithSchedules"}}
    got = csms.call(sid, call.GetVariables(get_variable_data=[variable])).get_variable_result[0]
    assert (got["attribute_status"], got.get("attribute_value")) == ("Accepted", "true")
    reply = csms.call(sid, call.SetVariables(set_variable_data=[{**variable, "attribute_value": "false"}]))
    assert reply.set_variable_result[0]["attribute_status"] == "Accepted"
    set_limit(ems, SiteLimit(11000, "W"))
    note = csms.wait_for(lambda: csms.find("NotifyChargingLimit"), 5, "NotifyChargingLimit")[0].payload
    assert note["charging_limit"]["charging_limit_source"] == "EMS"
    assert "charging_schedule" not in note
