"""The twin's analyzer (SCPI through pyvisa-py) and EV emulator (line protocol through pyserial)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pyvisa
import serial

from instruments.clock import Clock
from instruments.errors import InstrumentCommandRejected, InstrumentConfigError
from instruments.registry import create
from lab.bench import StationConfig
from lab.loop import LoopThread
from lab.twin.analyzer_server import AnalyzerServer, engineering, nr3
from lab.twin.ev_server import EvServer
from lab.twin.lineserver import LATE_S
from lab.twin.physics import Physics

SPEED = 60.0


@pytest.fixture
def rig(loop: LoopThread) -> Iterator[tuple[Physics, Any, serial.SerialBase]]:
    clock = Clock(speed=SPEED)
    phys = Physics(StationConfig(id="CS1", evses=2, phases=3), clock, ev_lag_s=0.0, noise=0.0005)
    analyzer = AnalyzerServer(phys, 1, serial="WT-42", seed=1)
    ev = EvServer(phys, 1, serial="EV-7")
    loop.run(analyzer.start(), timeout=5)
    loop.run(ev.start(), timeout=5)
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(analyzer.address, read_termination="\n", write_termination="\n", timeout=2000)
    port = serial.serial_for_url(ev.address, timeout=2)
    yield phys, inst, port
    port.close()
    inst.close()
    rm.close()
    loop.run(analyzer.stop(), timeout=5)
    loop.run(ev.stop(), timeout=5)


def until(probe: Callable[[], bool], clock: Clock, timeout_real_s: float = 5.0) -> float:
    """Bench time at which `probe` first held (polled every millisecond)."""
    deadline = time.monotonic() + timeout_real_s
    while not probe():
        assert time.monotonic() < deadline, f"condition not met within {timeout_real_s} s"
        time.sleep(0.001)
    return clock.now()


def ask(port: serial.SerialBase, rid: int, command: str) -> str:
    port.write(f"{rid} {command}\n".encode())
    return port.readline().decode().rstrip("\n")


def test_number_formats() -> None:
    assert nr3(230.12) == "2.3012E+02" and nr3(None) == "NAN" and nr3(0.0) == "0.0000E+00"
    assert engineering(0.5) == "500.0E-03" and engineering(2.0) == "2.0E+00"


def test_analyzer_identity_items_and_values(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    phys, inst, _ = rig
    assert inst.query("*IDN?") == "YOKOGAWA,WT333,WT-42,F1.03"
    inst.write(
        ":NUM:FORM ASC;:NUM:NORM:NUM 5;:NUM:NORM:ITEM1 U,1;ITEM2 I,2;ITEM3 P,SIGMA;ITEM4 WH,SIGMA;"
        ":NUMERIC:NORMAL:ITEM5 LAMBDA,1"
    )
    assert inst.query(":NUM:NORM:NUM?") == "5"
    assert inst.query(":NUM:NORM:ITEM2?") == "I,2"
    assert inst.query(":NUM:FORM?") == "ASCII"
    values = inst.query(":NUM:NORM:VAL?").split(",")
    assert values[1:] == ["0.0000E+00", "NAN", "NAN", "NAN"]  # no current; no wiring group: no SIGMA
    assert inst.query(":INP:WIR?") == "P1W2"
    inst.write(":INPUT:WIRING P3W4")
    values = inst.query(":NUM:NORM:VAL?").split(",")
    assert values[1:] == ["0.0000E+00", "0.0000E+00", "NAN", "NAN"]  # no current, no integration yet
    phys.set_ev_state(1, "C")
    phys.set_ev_request(1, 16.0)
    phys.set_offered(1, 32.0)
    phys.set_energized(1, True)
    inst.write(":RATE 100MS")
    assert inst.query(":RATE?") == "100.0E-03"
    time.sleep(0.01)
    u, i, p, wh, lam = inst.query(":NUM:NORM:VAL?").split(",")
    assert float(u) == pytest.approx(phys.voltages[0], rel=0.005)
    assert float(i) == pytest.approx(16.0, rel=0.005)
    assert float(p) == pytest.approx(sum(phys.voltages) * 16 * 0.99, rel=0.005)
    assert wh == "NAN" and float(lam) == pytest.approx(0.99, abs=0.002)
    assert inst.query(":SYST:ERR?") == '0,"No error"'


def test_analyzer_integrator_rules_and_energy(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    phys, inst, _ = rig
    phys.set_ev_state(1, "C")
    phys.set_ev_request(1, 10.0)
    phys.set_offered(1, 32.0)
    phys.set_energized(1, True)
    inst.write(":INP:WIR P3W4;:NUM:NORM:NUM 2;ITEM1 WH,SIGMA;ITEM2 TIME")
    assert inst.query(":INTEG:STAT?") == "RESET"
    t_before_start = phys.clock.now()
    inst.write(":INTEG:STAR")
    assert inst.query("*OPC?") == "1"  # the write has been executed
    e0 = phys.energy_wh(1)
    t_after_start = phys.clock.now()
    assert inst.query(":INTEG:STAT?") == "START"
    inst.write(":INTEG:STAR")  # not from START: refused, state unchanged
    assert inst.query(":SYST:ERR?").startswith('-221,"Settings conflict; integration is START')
    inst.write(":INTEG:RES")
    assert inst.query(":SYST:ERR?").startswith("-221,")
    time.sleep(0.5)  # 30 bench seconds
    t_before_stop = phys.clock.now()
    inst.write(":INTEG:STOP")
    assert inst.query("*OPC?") == "1"
    e1 = phys.energy_wh(1)
    t_after_stop = phys.clock.now()
    assert inst.query(":INTEG:STAT?") == "STOP"
    wh, secs = (float(x) for x in inst.query(":NUM:NORM:VAL?").split(","))
    assert e1 - e0 == pytest.approx(wh, rel=0.05)  # the twin's true energy, give or take the round trips
    # WH and TIME come from the same two instants: the energy is exact for the constant current.
    assert wh == pytest.approx(sum(phys.voltages) * 10.0 * 0.99 * secs / 3600, rel=2e-4)
    assert t_before_stop - t_after_start <= secs <= t_after_stop - t_before_start
    time.sleep(0.05)
    assert float(inst.query(":NUM:NORM:VAL?").split(",")[0]) == wh  # stopped: frozen
    inst.write(":INTEG:RES")
    assert inst.query(":NUM:NORM:VAL?").split(",")[0] == "NAN"


def test_analyzer_errors_go_to_the_queue(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    _, inst, _ = rig
    inst.write(":BOGUS:CMD 1;:NUM:NORM:ITEM1 XYZ,1;:NUM:NORM:ITEM1 U,7;:RATE 300MS")
    errors = [inst.query(":SYST:ERR?") for _ in range(5)]
    assert errors[0].startswith('-113,"Undefined header; BOGUS:CMD')
    assert errors[1].startswith("-224,") and "XYZ" in errors[1]
    assert errors[2].startswith("-222,") and "elements 1..3" in errors[2]
    assert errors[3].startswith("-222,") and "100MS, 250MS" in errors[3]
    assert errors[4] == '0,"No error"'
    assert inst.query("*IDN?;:INTEG:STAT?").endswith(";RESET")  # several queries, one reply line


def test_analyzer_refuses_setting_changes_while_integrating(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    _, inst, _ = rig
    inst.write(":INTEG:STAR;:RATE 100MS;:INP:WIR P3W4;:INTEG:MODE CONT")
    errors = [inst.query(":STATUS:ERROR?") for _ in range(4)]
    assert errors == ['-221,"Settings conflict; Integration in progress"'] * 3 + ['0,"No error"']
    assert inst.query(":RATE?;:INP:WIR?;:INTEG:MODE?") == "500.0E-03;P1W2;NORMAL"  # unchanged
    inst.write(":INTEG:STOP;:INTEG:RES;:RATE 100MS;:INP:WIR P3W4")
    assert inst.query(":STAT:ERR?") == '0,"No error"'
    assert inst.query(":RATE?;:INP:WIR?") == "100.0E-03;P3W4"


def test_analyzer_event_status_register_shows_the_errors(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    """*ESR? sets a bit per error class (IEEE 488.2 11.5.1), cleared by reading it and by *CLS: a driver whose
    error query is *ESR? sees on the twin every refusal the instrument would show it."""
    _, inst, _ = rig
    assert inst.query("*ESR?") == "0"
    inst.write(":BOGUS:CMD 1;:RATE 300MS")  # -113 (command error, CME 32), -222 (execution error, EXE 16)
    assert inst.query("*ESR?") == "48"
    assert inst.query("*ESR?") == "0"  # read and cleared; the queue still holds the texts
    assert inst.query(":SYST:ERR?").startswith("-113,")
    inst.write(":NUM:NORM:VALUE2?;*CLS")
    assert inst.query("*ESR?;:SYST:ERR?") == '0;0,"No error"'


def test_generic_scpi_with_the_event_status_register_sees_the_twin_refuse_a_setting(loop: LoopThread) -> None:
    clock = Clock(speed=SPEED)
    phys = Physics(StationConfig(id="CS1", phases=1), clock, ev_lag_s=0.0, noise=0.0)
    server = AnalyzerServer(phys, 1, serial="WT-5")
    loop.run(server.start(), timeout=5)
    an = create("generic-scpi", name="analyzer", address=server.address, clock=clock,
                configure=[":NUM:FORM ASC", ":NUM:NORM:NUM {count}"], item_command=":NUM:NORM:ITEM{index} {item}",
                rate_command=":RATE {ms}MS", read=":NUM:NORM:VAL?",  # error_query: *ESR? by default
                items=[{"item": "U,1", "quantity": "voltage", "phase": "L1"},
                       {"item": "I,1", "quantity": "current", "phase": "L1"},
                       {"item": "P,1", "quantity": "power", "phase": "L1"}])
    try:
        an.open()
        an.configure(phases=1, update_interval_s=0.5)
        with pytest.raises(InstrumentCommandRejected, match=r"rejected ':RATE 300MS': 16,\"execution error"):
            an.configure(phases=1, update_interval_s=0.3)  # no rates_s given: the WT300 has no 300 ms rate
    finally:
        an.close()
        loop.run(server.stop(), timeout=5)


def charge_16a(phys: Physics) -> None:
    phys.set_ev_state(1, "C")
    phys.set_ev_request(1, 16.0)
    phys.set_offered(1, 32.0)
    phys.set_energized(1, True)


def test_analyzer_integration_timer_ends_or_restarts_it(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    """As the WT300 does: in normal mode a timer stops the integration (TIMEUP, the values frozen); in
    continuous mode it starts it over each period (the energy falls back to zero)."""
    phys, inst, _ = rig
    charge_16a(phys)
    inst.write(":NUM:NORM:NUM 1;:NUM:NORM:ITEM1 WH,1;:INTEG:TIM 0,0,2;:INTEG:STAR")
    until(lambda: inst.query(":INTEG:STAT?") == "TIMEUP", phys.clock)
    frozen = float(inst.query(":NUM:NORM:VAL?"))
    assert frozen == pytest.approx(phys.voltages[0] * 16.0 * phys.power_factor * 2.0 / 3600.0, rel=0.02)  # 2 s
    time.sleep(2.0 / SPEED)
    assert float(inst.query(":NUM:NORM:VAL?")) == frozen
    inst.write(":INTEG:RES;:INTEG:MODE CONT;:INTEG:STAR")
    energies = [float(inst.query(":NUM:NORM:VAL?"))]
    while len(energies) < 400 and energies[-1] >= max(energies) * 0.5:
        time.sleep(0.2 / SPEED)
        energies.append(float(inst.query(":NUM:NORM:VAL?")))
    assert energies[-1] < max(energies) * 0.5 and inst.query(":INTEG:STAT?") == "START"  # restarted, still on


def test_wt300_driver_integrates_until_told_whatever_timer_the_last_user_left(loop: LoopThread) -> None:
    """A timer or continuous mode left on the instrument would end or restart the integration mid-window:
    the driver sets normal mode without a timer, so the reference energy covers every window."""
    clock = Clock(speed=SPEED)
    phys = Physics(StationConfig(id="CS1", phases=1), clock, ev_lag_s=0.0, noise=0.0)
    server = AnalyzerServer(phys, 1, serial="WT-3")
    server.integ_mode, server.integ_timer_s = "CONT", 1.0  # the front panel's settings, kept over power-up
    loop.run(server.start(), timeout=5)
    wt = create("yokogawa-wt300", name="analyzer", address=server.address, clock=clock)
    try:
        wt.open()
        wt.configure(phases=1, update_interval_s=0.1)
        charge_16a(phys)
        wt.integration_reset()
        wt.integration_start()
        time.sleep(3.0 / SPEED)
        assert wt.integration_state() == "START"
        watts = phys.voltages[0] * 16.0 * phys.power_factor
        assert wt.read_energy_wh() >= watts * 2.5 / 3600.0  # three seconds' worth, not a 1 s period's
        assert (server.integ_mode, server.integ_timer_s) == ("NORM", 0.0)
    finally:
        wt.close()
        loop.run(server.stop(), timeout=5)


def test_analyzer_unknown_query_gets_no_answer_only_an_error(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    _, inst, _ = rig
    inst.write(":NUM:NORM:VALUE2?")
    inst.write("*ESE 77;*ESE?")  # the next answer is the marker's: the unknown query answered nothing
    assert inst.read() == "77"
    assert inst.query(":SYST:ERR?") == '-113,"Undefined header; NUM:NORM:VAL2?"'


def test_ev_protocol_commands(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    phys, _, port = rig
    assert ask(port, 1, "*IDN?") == "1 OK chargespec,TWIN-EV,EV-7,1.0.0"
    assert ask(port, 2, "CP:STATE B") == "2 OK"
    assert ask(port, 3, "cp:state?") == "3 OK B"
    assert ask(port, 4, "PWM:DUTY?") == "4 OK 100.0"  # no PWM before the charger offers
    phys.set_offered(1, 16.0)
    assert ask(port, 5, "PWM:DUTY?") == "5 OK 26.6"
    assert ask(port, 6, "PWM:FREQ?") == "6 OK 1000.0"
    assert ask(port, 7, "LOAD:PHASES 1") == "7 OK"
    assert ask(port, 8, "LOAD:CURR 20") == "8 OK"
    assert ask(port, 9, "LOAD:FOLLOW ON,0") == "9 OK"
    assert ask(port, 10, "CP:STATE C") == "10 OK"
    phys.set_energized(1, True)
    assert ask(port, 11, "LOAD:CURR?") == "11 OK 16.0,0.0,0.0"  # min(20 A asked, 15.96 A offered)
    assert ask(port, 12, "PP:RES 220") == "12 OK"
    assert ask(port, 13, "PP:RES 333") == "13 ERR 101 PP resistor '333'; one of 1500, 680, 220, 100 ohm or OPEN"
    assert ask(port, 14, "CP:STATE X").startswith("14 ERR 101 ")
    assert ask(port, 15, "FLY:AWAY") == "15 ERR 100 unknown command 'FLY:AWAY'"
    assert ask(port, 16, "LOAD:CURR lots") == "16 ERR 101 'lots' is not a number"
    assert ask(port, 17, "CP:DIODE SHORT") == "17 OK"
    assert ask(port, 18, "CP:STATE?") == "18 OK F"
    assert ask(port, 19, "LOAD:CURR 99").startswith("19 ERR 101 ")
    assert ask(port, 0, "x") == "0 ERR 100 unknown command 'X'"
    port.write(b"nonsense\n")
    assert port.readline().decode().startswith("0 ERR 101 request must start with an id")


def test_ev_events_and_watchdog(rig: tuple[Physics, Any, serial.SerialBase]) -> None:
    phys, _, port = rig
    assert ask(port, 1, "CP:STATE C") == "1 OK"
    assert ask(port, 2, "EVT ON") == "2 OK"
    event = port.readline().decode().strip()
    assert event.startswith("! MEAS state=C duty=100.0 freq=0.0 i=0.0,0.0,0.0")
    port.write(b"3 EVT OFF\n")
    line = port.readline().decode().strip()
    if line.startswith("!"):  # an event was already on its way
        line = port.readline().decode().strip()
    assert line == "3 OK"
    port.reset_input_buffer()
    assert ask(port, 4, "SYST:WDOG 3000") == "4 OK"  # 3 bench seconds = 50 ms real at 60x
    t_last_request = phys.clock.now()
    # Watch the physics directly (not over the line, which would feed the watchdog), on bench time.
    t_b = until(lambda: phys.snapshot(1).ev_state != "C", phys.clock)
    assert phys.snapshot(1).ev_state == "B" and t_b - t_last_request >= 3.0 - 0.5
    t_a = until(lambda: phys.snapshot(1).ev_state == "A", phys.clock)
    # One more period of silence before A; measured from the last request, since the poll above may see B late
    # on a loaded machine (the watchdog looks every 0.75 bench s).
    assert t_a - t_last_request >= 2 * 3.0 - 0.5


def test_wt300_driver_refuses_three_phases_on_the_single_element_twin(loop: LoopThread) -> None:
    clock = Clock(speed=SPEED)
    phys = Physics(StationConfig(id="CS1", phases=1), clock, ev_lag_s=0.0, noise=0.0)
    server = AnalyzerServer(phys, 1, serial="WT-1")
    loop.run(server.start(), timeout=5)
    wt = create("yokogawa-wt300", name="analyzer", address=server.address, clock=clock)
    try:
        wt.open()
        with pytest.raises(InstrumentConfigError, match="a 3-phase station needs 3 input elements, but this "
                                                        "WT310 has 1"):
            wt.configure(phases=3)
    finally:
        wt.close()
        loop.run(server.stop(), timeout=5)


@pytest.mark.parametrize(("phases", "model"), [(3, "WT333"), (1, "WT310")])
def test_wt300_driver_drives_the_twin_analyzer(loop: LoopThread, phases: int, model: str) -> None:
    """The twin answers as the WT300 model with as many elements as the station has phases, and the
    yokogawa-wt300 driver configures and reads it without an error."""
    clock = Clock(speed=SPEED)
    phys = Physics(StationConfig(id="CS1", phases=phases), clock, ev_lag_s=0.0, noise=0.0)
    server = AnalyzerServer(phys, 1, serial="WT-9")
    loop.run(server.start(), timeout=5)
    wt = create("yokogawa-wt300", name="analyzer", address=server.address, clock=clock)
    try:
        wt.open()
        assert wt.identify() == f"YOKOGAWA,{model},WT-9,F1.03"
        wt.configure(phases=phases, update_interval_s=0.1)
        phys.set_ev_state(1, "C")
        phys.set_ev_request(1, 10.0)
        phys.set_offered(1, 32.0)
        phys.set_energized(1, True)
        time.sleep(0.01)
        reading = wt.read()
        assert sorted(reading.phases) == ["L1", "L2", "L3"][:phases]
        assert reading.phases["L1"].current_a == pytest.approx(10.0, rel=1e-6)
        assert reading.total_power_w == pytest.approx(sum(phys.voltages[:phases]) * 10.0 * 0.99, rel=1e-3)
        assert server.wiring == ("P3W4" if phases == 3 else "P1W2")  # SIGMA needs the group on 3 phases
        wt.integration_reset()
        wt.integration_start()
        assert wt.read_energy_wh() is not None  # SIGMA (3 phases) or element 1 energy: measured
        # Reconfiguring while integrating (a recovery after a fault) stops and resets the integrator
        # first, as the instrument refuses a rate change while integrating.
        wt.configure(phases=phases, update_interval_s=0.25)
        assert server.integ_state == "RESET" and server.rate_s == 0.25
        assert not server.errors  # every command the driver sent was understood
    finally:
        wt.close()
        loop.run(server.stop(), timeout=5)


@pytest.mark.parametrize(("command", "reply"), [
    ("LOAD:CURR 1e1", "ERR 101 '1e1' is not a number"),
    ("LOAD:CURR 1_6", "ERR 101 '1_6' is not a number"),
    ("LOAD:CURR nan", "ERR 101 'nan' is not a number"),
    ("LOAD:FOLLOW ON,nan", "ERR 101 follow lag ms 'NAN'; a whole number"),
    ("LOAD:FOLLOW ON,2.5", "ERR 101 follow lag ms '2.5'; a whole number"),
    ("LOAD:FOLLOW ON", "ERR 101 LOAD:FOLLOW 'ON'; ON,<lag ms> or OFF"),
    ("SYST:WDOG inf", "ERR 101 watchdog ms 'inf'; a whole number"),
    ("SYST:WDOG -5", "ERR 101 watchdog ms '-5'; a whole number"),
    ("PP:RES 220.4", "ERR 101 PP resistor '220.4'; a whole number"),
    ("PWM:DUTY? 3", "ERR 101 PWM:DUTY? takes no argument, got '3'"),
    ("*IDN? x", "ERR 101 *IDN? takes no argument, got 'x'"),
])
def test_ev_refuses_what_the_protocol_does_not_write(rig: tuple[Physics, Any, serial.SerialBase], command: str,
                                                     reply: str) -> None:
    """Numbers with "." and no exponent, durations in whole ms, resistors in whole ohms, queries bare: the
    twin refuses the rest as a strict device would (`LOAD:FOLLOW ON,nan` was taken, and the EV never followed
    the pilot again: its next step was due at t+NaN), and the model keeps its settings."""
    phys, _, port = rig
    before = phys.snapshot(1)
    assert ask(port, 5, command) == f"5 {reply}"
    after = phys.snapshot(1)
    assert (after.requested_a, after.lag_s, after.follow, after.pp_ohms) == (before.requested_a, before.lag_s,
                                                                             before.follow, before.pp_ohms)
    assert ask(port, 6, "LOAD:FOLLOW ON,250") == "6 OK" and phys.snapshot(1).lag_s == 0.25


def test_a_late_ev_answer_keeps_its_request_id(loop: LoopThread) -> None:
    """The `late` line fault answers one request 3 s late with its numbers 999, but the id stays the request's
    own, as a real device's late answer would: the driver's id check is what is rehearsed (with the id turned
    into 999 too, any driver would skip it unless its current request were number 999)."""
    phys = Physics(StationConfig(id="CS1"), Clock(speed=SPEED), ev_lag_s=0.0, noise=0.0)
    ev = EvServer(phys, 1)
    loop.run(ev.start(), timeout=5)
    port = serial.serial_for_url(ev.address, timeout=LATE_S + 2)
    try:
        ev.line_fault = "late"
        assert ask(port, 41, "PWM:DUTY?") == "41 OK 999"
        assert ask(port, 42, "PWM:DUTY?") == "42 OK 100.0"  # on time again
    finally:
        port.close()
        loop.run(ev.stop(), timeout=5)


def _conformance() -> Any:
    """tests/lab/test_twin_conformance.py as a module, for its `charge` (conftest-style helpers are not importable
    under pytest's importlib mode)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("twin_conformance",
                                                  Path(__file__).with_name("test_twin_conformance.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_shorted_pilot_stops_the_twin_chargers_offer_and_does_not_spin_its_firmware(twin_factory: Any) -> None:
    """The EV shorts the pilot to PE (state E) mid-charge: the twin charger offers nothing (no PWM, no offered
    current, contactor open), and its firmware, which sets its offer again on each pass, is not woken into a
    loop by settings that change nothing (counted over 0.5 s of real time, 30 bench s)."""
    conformance = _conformance()
    env = twin_factory()
    phys = env.twin.physics
    ev, _ = conformance.charge(env)
    env.csms.wait_for(lambda: phys.snapshot(1).currents[0] > 0, 5, "current flowing")
    offers: list[float | None] = []
    set_offered = phys.set_offered

    def counting(evse: int, amps: float | None) -> None:
        offers.append(amps)
        set_offered(evse, amps)

    phys.set_offered = counting  # type: ignore[method-assign]
    ev.ok("CP:STATE E")
    time.sleep(0.5)
    s = phys.snapshot(1)
    assert s.pilot_fault and s.offered_a is None and not s.energized and s.currents == (0.0, 0.0, 0.0)
    assert ev.value("PWM:DUTY?") == "0.0" and ev.value("CP:STATE?") == "E"
    assert len(offers) < 50, f"the firmware set its offer {len(offers)} times in 0.5 s"
    ev.close()


def test_a_shorted_pilot_is_reported_faulted_and_the_transaction_suspended_by_the_charger(twin_factory: Any) -> None:
    """IEC 61851-1 state E is an error of the charging circuit, as F is: the twin reports the connector Faulted
    (it stayed Occupied) and its firmware stops offering, so the transaction is SuspendedEVSE, not the EV's
    SuspendedEV; when the short is gone the connector is Occupied again."""
    conformance = _conformance()
    env = twin_factory()
    ev, _ = conformance.charge(env)
    env.csms.wait_for(lambda: env.twin.physics.snapshot(1).currents[0] > 0, 5, "current flowing")

    def statuses() -> list[str]:
        return [f.payload["connector_status"] for f in env.csms.find("StatusNotification")
                if f.payload.get("evse_id") == 1]

    before = len(statuses())
    ev.ok("CP:STATE E")
    env.csms.wait_for(lambda: "Faulted" in statuses()[before:], 5, "StatusNotification Faulted")
    env.csms.wait_for(lambda: any(f.payload.get("transaction_info", {}).get("charging_state") == "SuspendedEVSE"
                                  for f in env.csms.find("TransactionEvent")), 5, "chargingState SuspendedEVSE")
    ev.ok("CP:STATE C")
    env.csms.wait_for(lambda: statuses()[-1] == "Occupied", 5, "Occupied again")
    ev.close()
