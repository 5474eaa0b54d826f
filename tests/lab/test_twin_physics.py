"""The physics model on a hand-driven clock: exact energy, the EV's lag, the pilot, the meter's gain."""

from __future__ import annotations

import pytest

from instruments.clock import Clock
from instruments.iec61851 import cable_rating_a, current_for_duty, duty_for_current
from lab.bench import StationConfig
from lab.twin.faults import Faults
from lab.twin.physics import Physics


class HandClock(Clock):
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        super().__init__(speed=1.0)
        self.t = 0.0

    def now(self) -> float:
        return self.t


def station(**kw: object) -> StationConfig:
    return StationConfig(**{"id": "CS1", "evses": 2, "phases": 3, **kw})  # type: ignore[arg-type]


def charging(clock: HandClock, phys: Physics, amps: float = 16.0, offered: float = 32.0, evse: int = 1) -> None:
    phys.set_ev_state(evse, "C")
    phys.set_ev_request(evse, amps)
    phys.set_offered(evse, offered)
    phys.set_energized(evse, True)


def test_duty_mapping_matches_iec_61851() -> None:
    assert duty_for_current(6) == 10.0
    assert duty_for_current(16) == 26.6  # rounded down: never offer more than asked
    assert duty_for_current(32) == 53.3
    assert duty_for_current(63) == pytest.approx(89.2)
    assert duty_for_current(5.9) is None
    assert current_for_duty(9.0) == 6.0
    assert current_for_duty(26.6) == pytest.approx(15.96)
    assert current_for_duty(90.0) == pytest.approx(65.0)
    assert current_for_duty(5.0) is None and current_for_duty(100.0) is None
    assert cable_rating_a(220) == 32 and cable_rating_a(1500) == 13 and cable_rating_a(None) is None


def test_ev_follows_pilot_after_lag_and_energy_is_exact() -> None:
    clock = HandClock()
    phys = Physics(station(), clock, ev_lag_s=3.0, meter_start_wh=0.0)
    charging(clock, phys, amps=16.0)
    assert phys.snapshot(1).currents == (0.0, 0.0, 0.0)  # the lag has not passed
    clock.t = 2.999
    assert phys.snapshot(1).currents == (0.0, 0.0, 0.0)
    clock.t = 3.0
    assert phys.snapshot(1).currents == (16.0, 16.0, 16.0)
    clock.t = 3.0 + 3600.0
    s = phys.snapshot(1)
    expected = sum(phys.voltages) * 16.0 * 0.99  # Wh over exactly one hour
    assert s.energy_wh == pytest.approx(expected, rel=1e-12)
    assert s.power_w == pytest.approx(expected, rel=1e-12)
    assert s.duty_percent == 53.3 and s.frequency_hz == 1000.0


def test_limit_change_reaches_current_after_lag_and_integration_is_piecewise() -> None:
    clock = HandClock()
    phys = Physics(station(phases=3), clock, ev_lag_s=5.0, meter_start_wh=0.0)
    charging(clock, phys, amps=32.0)
    clock.t = 10.0
    e10 = phys.energy_wh(1)
    phys.set_offered(1, 10.0)
    assert phys.snapshot(1).duty_percent == pytest.approx(16.6)
    full = current_for_duty(53.3)  # what 32 A on the pilot means to the EV: 31.98 A
    clock.t = 14.9
    assert phys.snapshot(1).currents[0] == pytest.approx(full)
    clock.t = 20.0
    s = phys.snapshot(1)
    ten = current_for_duty(16.6)
    assert s.currents[0] == pytest.approx(ten)
    watts_per_amp = sum(phys.voltages) * 0.99
    # 5 s at the old current, then 5 s at the new one, integrated step by step.
    assert s.energy_wh - e10 == pytest.approx(watts_per_amp * (full * 5 + ten * 5) / 3600, rel=1e-12)


def test_contactor_opening_cuts_at_once_and_single_phase_ev() -> None:
    clock = HandClock()
    phys = Physics(station(), clock, ev_lag_s=2.0)
    charging(clock, phys, amps=10.0)
    phys.set_ev_phases(1, 1)
    clock.t = 5.0
    assert phys.snapshot(1).currents == (10.0, 0.0, 0.0)
    phys.set_energized(1, False)
    s = phys.snapshot(1)
    assert s.currents == (0.0, 0.0, 0.0) and s.phases[0].voltage_v == 0.0
    assert s.grid_voltages[0] > 200


def test_follow_off_draws_request_and_cable_limits_offer() -> None:
    clock = HandClock()
    phys = Physics(station(), clock, ev_lag_s=2.0)
    phys.set_pp(1, 1500.0)  # a 13 A cable
    charging(clock, phys, amps=20.0, offered=32.0)
    assert phys.snapshot(1).pilot_current_a == pytest.approx(current_for_duty(duty_for_current(13)))
    phys.set_follow(1, False)
    assert phys.snapshot(1).currents[0] == 20.0  # a non-compliant EV ignores the pilot, at once


def test_meter_gain_and_evses_are_independent() -> None:
    clock = HandClock()
    phys = Physics(station(), clock, ev_lag_s=0.0, faults=Faults(meter_gain=1.03), meter_start_wh=500.0)
    charging(clock, phys, amps=16.0, evse=2)
    clock.t = 600.0
    s2, s1 = phys.snapshot(2), phys.snapshot(1)
    assert s2.meter_wh - 500.0 == pytest.approx(s2.energy_wh * 1.03, rel=1e-12)
    assert s1.energy_wh == 0.0 and s1.meter_wh == 500.0


def test_shorted_diode_shows_f_and_stops_the_pilot() -> None:
    clock = HandClock()
    phys = Physics(station(), clock)
    charging(clock, phys)
    phys.set_diode(1, False)
    s = phys.snapshot(1)
    # The charger holds the pilot at -12 V (state F): steady and never high, so the EV reads 0 %, not the
    # 100 % of a steady +12 V pilot (an EV unplugged or waiting), and no current offered.
    assert s.pilot_state == "F" and s.currents == (0.0, 0.0, 0.0)
    assert (s.duty_percent, s.frequency_hz, s.pilot_current_a) == (0.0, 0.0, None)


def test_a_pilot_shorted_to_pe_is_a_fault_the_charger_answers_by_offering_nothing_and_opening() -> None:
    """State E (IEC 61851-1: the pilot shorted to PE, 0 V) is an error, not an EV in use: the line carries no
    PWM (the EV reads 0 % at 0 Hz, no current), the charger's pilot circuit sees the fault and stops offering
    (no offered current: what its meter values report as Current.Offered) and keeps its contactor open, even
    with its firmware still asking for 32 A and a closed contactor (energy only in C and D). Once the short
    is gone the firmware's offer is on the pilot again."""
    clock = HandClock()
    phys = Physics(station(), clock)
    charging(clock, phys)
    assert phys.snapshot(1).duty_percent == 53.3  # 32 A offered
    phys.set_ev_state(1, "E")
    phys.set_offered(1, 32.0)  # the firmware, unaware, sets its offer again and closes the contactor
    phys.set_energized(1, True)
    clock.t = 60.0
    s = phys.snapshot(1)
    assert s.pilot_state == "E" and s.pilot_fault
    assert s.offered_a is None and s.energized is False
    assert s.currents == (0.0, 0.0, 0.0) and s.power_w == 0.0
    assert [p.voltage_v for p in s.phases] == [0.0, 0.0, 0.0]  # the EV side of the open contactor
    assert (s.duty_percent, s.frequency_hz, s.pilot_current_a) == (0.0, 0.0, None)
    phys.set_ev_state(1, "C")
    s = phys.snapshot(1)
    assert not s.pilot_fault and s.offered_a == 32.0 and s.energized and s.duty_percent == 53.3
    clock.t = 70.0  # the EV's lag
    assert phys.snapshot(1).currents == (16.0, 16.0, 16.0)


def test_a_missing_diode_is_the_same_fault_on_the_charger_side() -> None:
    clock = HandClock()
    phys = Physics(station(), clock)
    charging(clock, phys)
    phys.set_diode(1, False)
    s = phys.snapshot(1)
    assert s.pilot_state == "F" and s.pilot_fault and s.offered_a is None and s.energized is False


def test_listeners_hear_of_changes_only() -> None:
    """The twin's firmware wakes on every physics notification and sets its offer again when the pilot does
    not show it (during a pilot fault it never does): a notification for a setting that changed nothing would
    wake it into a loop."""
    clock = HandClock()
    phys = Physics(station(), clock)
    heard: list[int] = []
    phys.subscribe(heard.append)
    charging(clock, phys)
    assert heard == [1, 1, 1, 1]
    phys.set_ev_state(1, "E")
    for _ in range(3):
        phys.set_offered(1, 32.0)
        phys.set_energized(1, True)
    assert heard == [1] * 5
    phys.set_offered(1, 10.0)
    assert heard == [1] * 6


def test_bad_inputs_name_the_problem() -> None:
    phys = Physics(station(), HandClock())
    with pytest.raises(ValueError, match="EVSE 3"):
        phys.snapshot(3)
    with pytest.raises(ValueError, match="pilot state 'X'"):
        phys.set_ev_state(1, "X")
    with pytest.raises(ValueError, match="1 or 3 phases"):
        phys.set_ev_phases(1, 2)
