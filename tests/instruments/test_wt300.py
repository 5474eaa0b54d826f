"""Yokogawa WT300 driver against pyvisa-sim definitions (sim/wt300.yaml) with the manual's exact syntax."""

from __future__ import annotations

import pytest

from instruments.drivers.yokogawa_wt300 import RATES_S, rate_text
from instruments.errors import InstrumentConfigError, InstrumentProtocolError, InstrumentStateError
from instruments.scpi_analyzer import nearest_not_slower

ERRQ = b":STAT:ERR?\n"  # the WT300's error queue, read after every setting


def checked(*commands: bytes) -> list[bytes]:
    """The bytes of `commands`, each followed by the error-queue query."""
    return [b for c in commands for b in (c, ERRQ)]


WT333_CONFIGURE = [
    b":INTEG:MODE NORM\n", b":INTEG:TIM 0,0,0\n",  # integrate until stopped, whatever the last user left
    b":NUM:FORM ASC\n",
    b":INP:WIR P3W4\n",  # three-phase four-wire: the SIGMA items need the elements wired as one group
    b":NUM:NORM:NUM 14\n",
    b":NUM:NORM:ITEM1 U,1\n", b":NUM:NORM:ITEM2 I,1\n", b":NUM:NORM:ITEM3 P,1\n",
    b":NUM:NORM:ITEM4 LAMBDA,1\n",
    b":NUM:NORM:ITEM5 U,2\n", b":NUM:NORM:ITEM6 I,2\n", b":NUM:NORM:ITEM7 P,2\n",
    b":NUM:NORM:ITEM8 LAMBDA,2\n",
    b":NUM:NORM:ITEM9 U,3\n", b":NUM:NORM:ITEM10 I,3\n", b":NUM:NORM:ITEM11 P,3\n",
    b":NUM:NORM:ITEM12 LAMBDA,3\n",
    b":NUM:NORM:ITEM13 P,SIGMA\n", b":NUM:NORM:ITEM14 WH,SIGMA\n",
    b":RATE 500MS\n",
]


def accepted_everything(wt) -> bool:
    """The simulator queues "ERROR" for a command it does not know; the next query would return it."""
    return wt.link.query("*IDN?").startswith("YOKOGAWA,")


def test_configure_three_phase_writes_the_manuals_commands(sim_wt, record_writes) -> None:
    wt = sim_wt("wt333")
    wt.open()
    sent = record_writes(wt)
    wt.configure(phases=3, update_interval_s=0.5)
    # its integrator is stopped: reset first, as the rate and the wiring cannot change while integrating
    assert sent == [b":INTEG:STAT?\n", *checked(b":INTEG:RES\n", *WT333_CONFIGURE)]
    assert wt.update_interval_s == 0.5
    assert accepted_everything(wt)


def test_configure_single_phase_reads_element_1_only(sim_wt, record_writes) -> None:
    wt = sim_wt("wt310")
    wt.open()
    sent = record_writes(wt)
    wt.configure(phases=1, update_interval_s=2)
    # integrator already reset, one element: no wiring command
    assert sent == [b":INTEG:STAT?\n", *checked(b":INTEG:MODE NORM\n", b":INTEG:TIM 0,0,0\n",
                                                b":NUM:FORM ASC\n", b":NUM:NORM:NUM 5\n",
                                                b":NUM:NORM:ITEM1 U,1\n", b":NUM:NORM:ITEM2 I,1\n",
                                                b":NUM:NORM:ITEM3 P,1\n", b":NUM:NORM:ITEM4 LAMBDA,1\n",
                                                b":NUM:NORM:ITEM5 WH,1\n", b":RATE 2S\n")]
    assert accepted_everything(wt)


@pytest.mark.parametrize(("asked", "chosen", "text"), [
    (0.05, 0.1, "100MS"), (0.1, 0.1, "100MS"), (0.2, 0.1, "100MS"), (0.25, 0.25, "250MS"),
    (0.3, 0.25, "250MS"), (0.5, 0.5, "500MS"), (0.99, 0.5, "500MS"), (1, 1.0, "1S"), (1.5, 1.0, "1S"),
    (4.9, 2.0, "2S"), (5, 5.0, "5S"), (60, 5.0, "5S"),
])
def test_rate_is_the_nearest_allowed_not_slower(asked: float, chosen: float, text: str) -> None:
    assert nearest_not_slower(asked, RATES_S) == chosen
    assert rate_text(chosen) == text


def test_every_rate_is_accepted_by_the_instrument(sim_wt, record_writes) -> None:
    wt = sim_wt("wt310")
    wt.open()
    sent = record_writes(wt)
    for rate in RATES_S:
        wt.configure(phases=1, update_interval_s=rate)
        assert wt.update_interval_s == rate
    rates = [s for s in sent if s.startswith(b":RATE")]
    assert rates == [b":RATE 100MS\n", b":RATE 250MS\n", b":RATE 500MS\n", b":RATE 1S\n", b":RATE 2S\n",
                     b":RATE 5S\n"]
    assert accepted_everything(wt)


def test_read_single_phase(sim_wt, record_writes) -> None:
    wt = sim_wt("wt310")
    wt.open()
    wt.configure(phases=1, update_interval_s=0.5)
    sent = record_writes(wt)
    before = wt.clock.now()
    r = wt.read()
    assert sent == [b":NUM:NORM:VAL?\n"]
    assert before <= r.t <= wt.clock.now()
    l1 = r.phases["L1"]
    assert (l1.voltage_v, l1.current_a, l1.power_w, l1.power_factor) == (229.87, 15.998, 3675.1, 0.9991)
    assert list(r.phases) == ["L1"]
    assert r.total_power_w == 3675.1  # element 1 is the whole load on a 1-phase bench
    assert r.energy_wh == 1234.5


def test_read_three_phase_nan_and_overrange_are_missing_not_zero(sim_wt) -> None:
    wt = sim_wt("wt333")
    wt.open()
    wt.configure(phases=3)
    r = wt.read()
    assert r.phases["L1"].current_a == 16.0
    assert r.phases["L2"].current_a is None and r.phases["L2"].power_factor is None  # NAN
    assert r.phases["L2"].power_w == 3700.0
    l3 = r.phases["L3"]
    # 9.9E+37, INF, -9.9E+37
    assert (l3.voltage_v, l3.current_a, l3.power_w, l3.power_factor) == (229.5, None, None, None)
    assert r.total_power_w == 11040.0
    assert r.energy_wh == 2500.0
    assert r.signals()["analyzer.current.L2"] is None


def test_read_energy_uses_the_energy_item(sim_wt, record_writes) -> None:
    wt = sim_wt("wt333")
    wt.open()
    wt.configure(phases=3)
    sent = record_writes(wt)
    assert wt.read_energy_wh() == 2500.0
    assert sent == [b":NUM:NORM:VAL?\n"]


def test_identify(sim_wt, record_writes) -> None:
    wt = sim_wt("wt310")
    wt.open()
    sent = record_writes(wt)
    assert wt.identify() == "YOKOGAWA,WT310,C2XA00001,F1.03"
    assert sent == [b"*IDN?\n"]


def test_garbled_answer_is_a_protocol_error(sim_wt) -> None:
    wt = sim_wt("wt310_garbage")
    wt.open()
    wt.configure(phases=1)
    with pytest.raises(InstrumentProtocolError) as e:
        wt.read()
    assert "'#FF' is not a number" in str(e.value) and "item 2" in str(e.value)
    assert e.value.last_command == ":NUM:NORM:VAL?"


def test_wrong_item_count_is_a_protocol_error(sim_wt) -> None:
    wt = sim_wt("wt310_short")
    wt.open()
    wt.configure(phases=1)
    with pytest.raises(InstrumentProtocolError, match="expected 5 values, got 2"):
        wt.read()


def test_lifecycle_errors_name_the_state(sim_wt) -> None:
    wt = sim_wt("wt310")
    with pytest.raises(InstrumentStateError, match="analyzer 'wt' is not open"):
        wt.read()
    with pytest.raises(InstrumentStateError, match="analyzer 'wt' is not open"):
        wt.integration_start()
    wt.open()
    with pytest.raises(InstrumentStateError, match="open but not configured: call configure"):
        wt.read()
    wt.configure(phases=1)
    wt.close()
    with pytest.raises(InstrumentStateError, match="not open"):
        wt.identify()


def test_unsupported_phase_count_names_the_choice(sim_wt) -> None:
    wt = sim_wt("wt310")
    wt.open()
    with pytest.raises(InstrumentConfigError, match="cannot measure 2 phases"):
        wt.configure(phases=2)


# -- integrator -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("device", "method", "command"), [
    ("wt310", "integration_start", b":INTEG:STAR\n"),        # RESET -> start
    ("wt333", "integration_start", b":INTEG:STAR\n"),        # STOP -> start (continue)
    ("wt310_running", "integration_stop", b":INTEG:STOP\n"),
    ("wt310_ready", "integration_stop", b":INTEG:STOP\n"),
    ("wt333", "integration_reset", b":INTEG:RES\n"),
    ("wt310_timeup", "integration_reset", b":INTEG:RES\n"),
    ("wt310_header", "integration_start", b":INTEG:STAR\n"),  # ":INTEGRATE:STATE STOP"
])
def test_integrator_commands_follow_the_state_rules(sim_wt, record_writes, device, method, command) -> None:
    wt = sim_wt(device)
    wt.open()
    sent = record_writes(wt)
    getattr(wt, method)()
    assert sent == [b":INTEG:STAT?\n", *checked(command)]
    assert accepted_everything(wt)


@pytest.mark.parametrize(("device", "method", "state"), [
    ("wt310_running", "integration_start", "START"),
    ("wt310_timeup", "integration_start", "TIMEUP"),
    ("wt310_running", "integration_reset", "START"),
    ("wt310", "integration_stop", "RESET"),
    ("wt333", "integration_stop", "STOP"),
])
def test_integrator_refuses_out_of_state_and_sends_nothing(sim_wt, record_writes, device, method,
                                                           state) -> None:
    wt = sim_wt(device)
    wt.open()
    sent = record_writes(wt)
    with pytest.raises(InstrumentStateError) as e:
        getattr(wt, method)()
    assert f"in state {state}" in str(e.value)
    assert "analyzer 'wt'" in str(e.value)
    assert sent == [b":INTEG:STAT?\n"]


def test_unknown_integrator_state_is_a_protocol_error(sim_wt) -> None:
    wt = sim_wt("wt310_odd")
    wt.open()
    with pytest.raises(InstrumentProtocolError, match="unknown integrator state 'BUSY'"):
        wt.integration_start()
