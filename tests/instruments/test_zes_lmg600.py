"""ZES LMG600 driver (SCPI language) against pyvisa-sim definitions (sim/lmg600.yaml), exact bytes."""

from __future__ import annotations

import pytest

from instruments.drivers.zes_lmg600 import cycle_text
from instruments.errors import InstrumentStateError

F = ":FETCh:SCALar:"
ERRQ = b":SYSTem:ERRor?\n"


def checked(*commands: bytes, query: bytes = ERRQ) -> list[bytes]:
    """The bytes of `commands`, each followed by the error query the driver reads after every setting."""
    return [b for c in commands for b in (c, query)]


def lmg(sim_analyzer, port: int = 10301):
    return sim_analyzer("zes-lmg600", "lmg600.yaml", port)


def clean(an) -> bool:
    return an.link.query("*IDN?").startswith("ZES ZIMMER")


@pytest.mark.parametrize(("s", "text"), [(0.01, "0.01"), (0.05, "0.05"), (0.5, "0.5"), (1.0, "1"),
                                         (60.0, "60"), (0.0126, "0.013")])
def test_cycle_text(s: float, text: str) -> None:
    assert cycle_text(s) == text


def test_identify(sim_analyzer, record_writes) -> None:
    an = lmg(sim_analyzer)
    sent = record_writes(an)
    assert an.identify() == "ZES ZIMMER Electronic Systems GmbH,LMG671,12345,2.103"
    assert sent == [b"*IDN?\n"]


def test_configure_and_read_three_phase_exact_bytes(sim_analyzer, record_writes) -> None:
    an = lmg(sim_analyzer)
    sent = record_writes(an)
    an.configure(phases=3, update_interval_s=0.05)
    # the cycle time changes only with the integrator reset, as it is here: nothing to stop
    assert sent == [*checked(b"*ZLANG SCPI\n"), b":INTegral:STATe?\n", *checked(b":SENSe:SWEep:TIME 0.05\n")]
    del sent[:]
    r = an.read()
    per = [f"{F}VOLTage:TRMS{k}?;{F}CURRent:TRMS{k}?;{F}POWer:ACTive{k}?;{F}POWer:PFACtor{k}?"
           for k in (1, 2, 3)]
    energy = [f"{F}ENERgy:ACTive{k}?" for k in (1, 2, 3)]
    assert sent == [(":INITiate:IMMediate;" + ";".join(per + energy) + "\n").encode()]
    assert r.phases["L2"].current_a == 16.1 and r.phases["L3"].current_a is None
    assert r.total_power_w == pytest.approx(3680.0 + 3700.0 + 3650.0)
    assert r.energy_wh == pytest.approx(3000.0)
    assert clean(an)


@pytest.mark.parametrize(("asked", "sent_text", "interval"), [
    (0.001, "0.01", 0.01), (0.5, "0.5", 0.5), (1, "1", 1.0), (3600, "60", 60.0)])
def test_cycle_time_is_clamped_to_the_instruments_range(sim_analyzer, record_writes, asked, sent_text,
                                                        interval) -> None:
    an = lmg(sim_analyzer, 10302)
    sent = record_writes(an)
    an.configure(phases=1, update_interval_s=asked)
    assert sent[-2:] == checked(f":SENSe:SWEep:TIME {sent_text}\n".encode())
    assert an.integration_state() == "RESET"  # it was running: stopped and reset before the change
    assert an.update_interval_s == interval
    assert clean(an)


def test_read_single_phase_overrange_is_missing(sim_analyzer) -> None:
    an = lmg(sim_analyzer, 10302)
    an.configure(phases=1, update_interval_s=0.1)
    r = an.read()
    assert r.phases["L1"].power_factor is None and r.phases["L1"].current_a == 15.998
    assert r.energy_wh == 1234.5


def test_integrator_exact_bytes_and_rules(sim_analyzer, record_writes) -> None:
    an = lmg(sim_analyzer)
    sent = record_writes(an)
    an.integration_start()
    with pytest.raises(InstrumentStateError, match="in state START"):
        an.integration_reset()
    an.integration_stop()
    an.integration_reset()
    st = b":INTegral:STATe?\n"
    assert sent == [st, *checked(b":INTegral:STARt\n"), st, st, *checked(b":INTegral:STOP\n"), st,
                    *checked(b":INTegral:RESet\n")]
    assert clean(an)
