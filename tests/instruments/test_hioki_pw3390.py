"""Hioki PW3390 driver against pyvisa-sim definitions (sim/pw3390.yaml), exact bytes."""

from __future__ import annotations

import pytest

from instruments.errors import InstrumentStateError

MEAS_3PH = (b":MEASure? U1,I1,P1,PF1,U2,I2,P2,PF2,U3,I3,P3,PF3,WP1,WP2,WP3\n")
ERRQ = b"*ESR?\n"  # the PW3390 reports errors in its event status register


def checked(*commands: bytes, query: bytes = ERRQ) -> list[bytes]:
    """The bytes of `commands`, each followed by the error query the driver reads after every setting."""
    return [b for c in commands for b in (c, query)]


def pw(sim_analyzer, port: int = 10201):
    return sim_analyzer("hioki-pw3390", "pw3390.yaml", port)


def clean(an) -> bool:
    return an.link.query("*IDN?").startswith("HIOKI,")


def test_identify(sim_analyzer, record_writes) -> None:
    an = pw(sim_analyzer)
    sent = record_writes(an)
    assert an.identify() == "HIOKI,PW3390-03,140900001,V1.10"
    assert sent == [b"*IDN?\n"]


def test_configure_and_read_three_phase_exact_bytes(sim_analyzer, record_writes) -> None:
    an = pw(sim_analyzer)
    sent = record_writes(an)
    an.configure(phases=3, update_interval_s=0.01)
    assert sent == checked(b":HEADer OFF\n")
    assert an.update_interval_s == 0.05  # the PW3390 updates every 50 ms; never poll faster
    r = an.read()
    assert sent[2:] == [MEAS_3PH]
    assert r.phases["L1"].voltage_v == 230.12 and r.phases["L1"].current_a == 16.001
    assert r.phases["L2"].current_a is None  # +9999.9E+99: over range, not zero
    assert r.phases["L2"].power_w == 3700.0
    assert r.phases["L3"].power_factor is None
    assert r.total_power_w == pytest.approx(3681.0 + 3700.0 + 3660.0)  # sum of channels
    assert r.energy_wh == pytest.approx(3000.0)  # WP1 + WP2 + WP3
    assert clean(an)


def test_headers_and_semicolons_are_tolerated(sim_analyzer, record_writes) -> None:
    an = pw(sim_analyzer, 10202)
    an.configure(phases=1, update_interval_s=1)
    sent = record_writes(an)
    r = an.read()
    assert sent == [b":MEASure? U1,I1,P1,PF1,WP1\n"]
    assert r.phases["L1"].voltage_v == 229.87 and r.energy_wh == 1234.5 and r.total_power_w == 3675.1
    assert an.update_interval_s == 1


def test_integrator_exact_bytes(sim_analyzer, record_writes) -> None:
    an = pw(sim_analyzer)
    sent = record_writes(an)
    an.integration_start()
    an.integration_stop()
    an.integration_reset()
    st = b":INTEGrate?\n"
    assert sent == [st, *checked(b":INTEGrate:STARt\n"), st, *checked(b":INTEGrate:STOP\n"), st,
                    *checked(b":INTEGrate:RESet\n")]
    assert an.integration_state() == "RESET"
    assert clean(an)


def test_integrator_state_rules(sim_analyzer) -> None:
    an = pw(sim_analyzer, 10202)  # stopped
    with pytest.raises(InstrumentStateError, match="in state STOP; stop is allowed from START or READY"):
        an.integration_stop()
    an.integration_start()  # continue
    assert an.integration_state() == "START"


@pytest.mark.parametrize("answer", [
    "+229.87E+0,+15 .998E+0,+3.6751E+3,+0.9991E+0,+1.2345E+3",  # a space in a number: not ".998"
    "U1 +229.87E+0;I1 +15.998E+0 3;P1 +3.6751E+3;PF1 +0.9991E+0;WP1 +1.2345E+3",  # three words: not "3"
    "U1 +229.87E+0;1 5.998E+0;P1 +3.6751E+3;PF1 +0.9991E+0;WP1 +1.2345E+3",  # "1" is no header
])
def test_only_a_header_is_stripped_never_part_of_a_garbled_number(answer: str) -> None:
    from instruments.drivers.hioki_pw3390 import HiokiPW3390
    from instruments.numeric import NotANumber, parse_values

    an = HiokiPW3390("pa", "TCPIP0::127.0.0.1::1::SOCKET")
    with pytest.raises(NotANumber):
        parse_values(an._strip_answer(answer))
    assert parse_values(an._strip_answer("U1 +229.87E+0;I1 +15.998E+0")) == [229.87, 15.998]
