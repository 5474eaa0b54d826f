"""Yokogawa WT1800/WT5000 drivers against pyvisa-sim definitions (sim/wt1800.yaml), exact bytes."""

from __future__ import annotations

import pytest

from instruments.drivers.yokogawa_wt1800 import WT1800_RATES_S, WT5000_RATES_S, YokogawaWT1800
from instruments.errors import InstrumentStateError
from instruments.registry import driver

ERRQ = b":STATUS:ERROR?\n"  # the error queue, read after every setting
STATE = b":INTEGRATE:STATE?\n"


def checked(*commands: bytes) -> list[bytes]:
    """The bytes of `commands`, each followed by the error-queue query."""
    return [b for c in commands for b in (c, ERRQ)]


WT1800_3PH = [
    b":NUMERIC:FORMAT ASCII\n",
    b":INPUT:WIRING P3W4\n",  # SIGMA (P,SIGMA and WP,SIGMA) needs the three elements wired as one group
    b":NUMERIC:NORMAL:NUMBER 14\n",
    b":NUMERIC:NORMAL:ITEM1 U,1\n", b":NUMERIC:NORMAL:ITEM2 I,1\n", b":NUMERIC:NORMAL:ITEM3 P,1\n",
    b":NUMERIC:NORMAL:ITEM4 LAMBDA,1\n",
    b":NUMERIC:NORMAL:ITEM5 U,2\n", b":NUMERIC:NORMAL:ITEM6 I,2\n", b":NUMERIC:NORMAL:ITEM7 P,2\n",
    b":NUMERIC:NORMAL:ITEM8 LAMBDA,2\n",
    b":NUMERIC:NORMAL:ITEM9 U,3\n", b":NUMERIC:NORMAL:ITEM10 I,3\n", b":NUMERIC:NORMAL:ITEM11 P,3\n",
    b":NUMERIC:NORMAL:ITEM12 LAMBDA,3\n",
    b":NUMERIC:NORMAL:ITEM13 P,SIGMA\n", b":NUMERIC:NORMAL:ITEM14 WP,SIGMA\n",
    b":RATE 200MS\n",
]


def wt1800(sim_analyzer):
    return sim_analyzer("yokogawa-wt1800", "wt1800.yaml", 10101)


def wt5000(sim_analyzer):
    return sim_analyzer("yokogawa-wt5000", "wt1800.yaml", 10102)


def clean(an) -> bool:
    """pyvisa-sim queues "ERROR" for any command it does not know; the next query would return it."""
    return an.link.query("*IDN?").startswith("YOKOGAWA,")


def test_both_names_are_registered() -> None:
    assert driver("yokogawa-wt1800") is YokogawaWT1800
    assert issubclass(driver("yokogawa-wt5000"), YokogawaWT1800)


def test_identify(sim_analyzer, record_writes) -> None:
    wt = wt1800(sim_analyzer)
    sent = record_writes(wt)
    assert wt.identify() == "YOKOGAWA,WT1806-06,91M000001,F2.01"
    assert sent == [b"*IDN?\n"]


def test_configure_three_phase_exact_bytes(sim_analyzer, record_writes) -> None:
    wt = wt1800(sim_analyzer)
    sent = record_writes(wt)
    wt.configure(phases=3, update_interval_s=0.3)  # the nearest rate not slower is 200 ms
    assert sent == [STATE, *checked(*WT1800_3PH)]
    assert wt.update_interval_s == 0.2
    assert clean(wt)


def test_configure_single_phase_and_the_wt5000s_10ms(sim_analyzer, record_writes) -> None:
    wt = wt5000(sim_analyzer)
    sent = record_writes(wt)
    wt.configure(phases=1, update_interval_s=0.01)
    # this WT5000 is integrating: stopped and reset before the rate may change
    assert sent == [STATE, *checked(b":INTEGRATE:STOP\n", b":INTEGRATE:RESET\n", b":NUMERIC:FORMAT ASCII\n",
                                    b":NUMERIC:NORMAL:NUMBER 5\n", b":NUMERIC:NORMAL:ITEM1 U,1\n",
                                    b":NUMERIC:NORMAL:ITEM2 I,1\n", b":NUMERIC:NORMAL:ITEM3 P,1\n",
                                    b":NUMERIC:NORMAL:ITEM4 LAMBDA,1\n", b":NUMERIC:NORMAL:ITEM5 WP,1\n",
                                    b":RATE 10MS\n")]
    assert wt.integration_state() == "RESET"
    assert wt.update_interval_s == 0.01
    assert clean(wt)


@pytest.mark.parametrize(("name", "rates", "texts"), [
    ("yokogawa-wt1800", WT1800_RATES_S, ["50MS", "100MS", "200MS", "500MS", "1S", "2S", "5S", "10S", "20S"]),
    ("yokogawa-wt5000", WT5000_RATES_S, ["10MS", "50MS", "100MS", "200MS", "500MS", "1S", "2S", "5S", "10S",
                                         "20S"]),
])
def test_every_rate_is_accepted(sim_analyzer, record_writes, name, rates, texts) -> None:
    wt = sim_analyzer(name, "wt1800.yaml", 10101 if name == "yokogawa-wt1800" else 10102)
    sent = record_writes(wt)
    for r in rates:
        wt.configure(phases=1, update_interval_s=r)
        assert wt.update_interval_s == r
    assert [s for s in sent if s.startswith(b":RATE")] == [f":RATE {t}\n".encode() for t in texts]
    assert clean(wt)


def test_wt1800_has_no_10ms_rate(sim_analyzer) -> None:
    wt = wt1800(sim_analyzer)
    wt.configure(phases=3, update_interval_s=0.01)
    assert wt.update_interval_s == 0.05  # the fastest it has


def test_read_exact_bytes_nan_and_overrange_are_missing(sim_analyzer, record_writes) -> None:
    wt = wt1800(sim_analyzer)
    wt.configure(phases=3)
    sent = record_writes(wt)
    r = wt.read()
    assert sent == [b":NUMERIC:NORMAL:VALUE?\n"]
    assert (r.phases["L1"].voltage_v, r.phases["L1"].current_a) == (230.1, 16.0)
    assert r.phases["L2"].current_a is None and r.phases["L2"].power_factor is None
    l3 = r.phases["L3"]
    assert (l3.voltage_v, l3.current_a, l3.power_w, l3.power_factor) == (229.5, None, None, None)
    assert r.total_power_w == 11040.0 and r.energy_wh == 2500.0


def test_read_single_phase(sim_analyzer) -> None:
    wt = wt5000(sim_analyzer)
    wt.configure(phases=1)
    r = wt.read()
    assert list(r.phases) == ["L1"]
    assert r.phases["L1"].power_factor == 0.9991 and r.total_power_w == 3675.1 and r.energy_wh == 1234.5


def test_integrator_cycle_exact_bytes(sim_analyzer, record_writes) -> None:
    wt = wt1800(sim_analyzer)
    sent = record_writes(wt)
    wt.integration_start()
    wt.integration_stop()
    wt.integration_start()  # continue from STOP
    wt.integration_stop()
    wt.integration_reset()
    st = STATE
    start, stop, reset = checked(b":INTEGRATE:START\n"), checked(b":INTEGRATE:STOP\n"), \
        checked(b":INTEGRATE:RESET\n")
    assert sent == [st, *start, st, *stop, st, *start, st, *stop, st, *reset]
    assert wt.integration_state() == "RESET"
    assert clean(wt)


def test_integrator_refuses_out_of_state(sim_analyzer, record_writes) -> None:
    wt = wt5000(sim_analyzer)
    if wt.integration_state() != "START":  # the simulated instrument keeps its state between tests
        wt.integration_start()
    sent = record_writes(wt)
    with pytest.raises(InstrumentStateError, match=r"cannot start .* in state START; start is allowed from "
                                                   "RESET or STOP"):
        wt.integration_start()
    with pytest.raises(InstrumentStateError, match="stop a running integration first"):
        wt.integration_reset()
    assert sent == [b":INTEGRATE:STATE?\n"] * 2
