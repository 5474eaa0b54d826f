"""A twin station of several EVSEs: the firmware's pilot limits follow the documented allocation
(lab/twin/allocation.py) from what the physics shows: who wants current, on how many phases, in which
order; a paused EVSE resumes when a share is free; the two allocation knobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from instruments.clock import Clock
from lab.bench import StationConfig
from lab.twin.charger import VirtualCharger
from lab.twin.faults import Faults
from lab.twin.physics import Physics
from lab.twin.smart_charging import parse_profile


def station_max(clock: Clock, limit: float, unit: str = "A") -> Any:
    start = (clock.wall(clock.now()) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    return parse_profile(0, {
        "id": 1, "stack_level": 0, "charging_profile_purpose": "ChargingStationMaxProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": [{"id": 1, "charging_rate_unit": unit, "start_schedule": start,
                               "charging_schedule_period": [{"start_period": 0, "limit": limit}]}],
    })


def make(evses: int = 4, faults: Faults | None = None) -> tuple[VirtualCharger, Physics, Clock]:
    station = StationConfig(id="DEPOT-1", evses=evses, phases=3, nominal_voltage_v=230.0, max_current_a=32.0)
    clock = Clock(speed=1.0)
    physics = Physics(station, clock, ev_lag_s=0.0, faults=faults)
    return VirtualCharger(station, physics, clock, faults), physics, clock


def plug_and_want(charger: VirtualCharger, physics: Physics, evse: int, phases: int = 3) -> None:
    physics.set_ev_phases(evse, phases)
    physics.set_ev_request(evse, 32.0)
    physics.set_ev_state(evse, "C")
    charger.evses[evse].eligible = True  # authorized and plugged: the firmware would offer energy


def limits(charger: VirtualCharger, clock: Clock) -> dict[int, float]:
    now = clock.now()
    return {n: charger._limit_for(e, now) for n, e in charger.evses.items() if e.eligible}


def test_four_evs_under_20_a_pause_the_last_then_resume_it() -> None:
    charger, physics, clock = make()
    charger.profiles.add(station_max(clock, 20.0), {})
    for n in (1, 2, 3, 4):
        plug_and_want(charger, physics, n)
    got = limits(charger, clock)
    assert got == {1: 6.6, 2: 6.6, 3: 6.6, 4: 0.0}  # 5 A each is under 6 A: EVSE 4 (last) pauses
    physics.set_ev_state(2, "B")  # EV 2 is full: it stops asking
    got = limits(charger, clock)
    assert got[1] == got[3] == got[4] == 6.6  # EVSE 4 resumes in the share EVSE 2 left
    assert got[2] == 0.0  # EVSE 2, in state B, is offered what it would get by asking again: as the 4th, none


def test_an_idle_evse_takes_no_share_and_the_total_holds_a_watt_cap() -> None:
    charger, physics, clock = make(evses=3)
    charger.profiles.add(station_max(clock, 22000.0, "W"), {})
    plug_and_want(charger, physics, 1)
    plug_and_want(charger, physics, 2)
    got = limits(charger, clock)
    assert got == {1: 15.9, 2: 15.9}
    assert sum(got.values()) * 3 * 230.0 <= 22000.0


def test_a_one_phase_ev_gets_its_power_on_one_phase() -> None:
    charger, physics, clock = make(evses=2)
    charger.profiles.add(station_max(clock, 13800.0, "W"), {})
    plug_and_want(charger, physics, 1, phases=1)
    plug_and_want(charger, physics, 2)
    assert limits(charger, clock) == {1: 30.0, 2: 10.0}


@pytest.mark.parametrize(("knob", "expected"), [
    ("station_max_ignored", {1: 32.0, 2: 32.0}),
    ("unfair_allocation", {1: 31.8, 2: 0.0}),
])
def test_allocation_knobs(knob: str, expected: dict[int, float]) -> None:
    charger, physics, clock = make(evses=2, faults=Faults(**{knob: True}))
    charger.profiles.add(station_max(clock, 22000.0, "W"), {})
    plug_and_want(charger, physics, 1)
    plug_and_want(charger, physics, 2)
    assert limits(charger, clock) == expected
