"""ZES ZIMMER LMG600 family (LMG610...LMG671) in its SCPI language, driver name ``zes-lmg600``.

The LMG600 listens on TCP port 5025 (``TCPIP0::<host>::5025::SOCKET``) and speaks two languages, SCPI
and its own SHORT form; ``*ZLANG SCPI`` selects SCPI, which this driver speaks. Several queries go in
one message separated by ``;`` and are answered in one line, separated by ``;``. Each read starts a
fresh measurement cycle and waits for it (``:INITiate:IMMediate``, the SCPI twin of SHORT ``actn``), so
every read is a new update and none is read twice. Channel ``k`` measures phase ``Lk``.

    lmg = create("zes-lmg600", name="analyzer", address="TCPIP0::10.0.0.6::5025::SOCKET")
    lmg.open(); lmg.configure(phases=3, update_interval_s=0.05)   # -> :SENSe:SWEep:TIME 0.05

Items per channel: TRMS voltage and current, active power, power factor, integrated active energy
(summed into the total; the total power is the sum of the channel powers). The cycle time is any value
from 10 ms to 60 s, set to the requested interval in whole milliseconds; it is set with the integrator
reset, as the rate of other analyzers must be. Errors are read with ``:SYSTem:ERRor?`` after every setting
and after a timeout. ``*IDN?`` must name an LMG6x0/LMG6x1, whose x is its channel count. Options:
``visa_library``, ``timeout_s``, ``reconnect_attempts``.

(check) Only ``*ZLANG`` and the SHORT forms (``actn;utrms1?;itrms1?;p1?``, ``ep1``) are confirmed in
DOMAIN.md; the SCPI spellings below are the SHORT commands' documented long names as we understand them
and must be checked on a real instrument: ``:FETCh:SCALar:VOLTage:TRMS<k>?``, ``...:CURRent:TRMS<k>?``,
``...:POWer:ACTive<k>?``, ``...:POWer:PFACtor<k>?``, ``...:ENERgy:ACTive<k>?``, the cycle time
``:SENSe:SWEep:TIME``, the error queue ``:SYSTem:ERRor?``, and the integrator
``:INTegral:STARt|STOP|RESet`` with ``:INTegral:STATe?``, the channel count in the model name. If a firmware
differs, describe it with ``generic-scpi`` (``separator = ";"``).
"""

from __future__ import annotations

from instruments.integrator import IntegratorCommands
from instruments.registry import register
from instruments.scpi_analyzer import Item, ScpiAnalyzer, phase_names

MIN_CYCLE_S = 0.01
MAX_CYCLE_S = 60.0

_FETCH = {
    "voltage": ":FETCh:SCALar:VOLTage:TRMS{k}?",
    "current": ":FETCh:SCALar:CURRent:TRMS{k}?",
    "power": ":FETCh:SCALar:POWer:ACTive{k}?",
    "pf": ":FETCh:SCALar:POWer:PFACtor{k}?",
    "energy": ":FETCh:SCALar:ENERgy:ACTive{k}?",
}


def lmg600_items(phases: int) -> tuple[Item, ...]:
    items: list[Item] = []
    names = phase_names(phases)
    for k, ph in enumerate(names, start=1):
        items += [Item(_FETCH[q].format(k=k), str(k), q, ph)  # type: ignore[arg-type]
                  for q in ("voltage", "current", "power", "pf")]
    items += [Item(_FETCH["energy"].format(k=k), str(k), "energy", ph) for k, ph in enumerate(names, start=1)]
    return tuple(items)


def cycle_text(interval_s: float) -> str:
    """The cycle time in seconds, whole milliseconds, no exponent: 0.05 -> ``0.05``, 2 -> ``2``."""
    return f"{round(interval_s * 1000) / 1000:.3f}".rstrip("0").rstrip(".")


@register("zes-lmg600")
class ZesLmg600(ScpiAnalyzer):
    value_separator = ";"
    integrator = IntegratorCommands(start=":INTegral:STARt", stop=":INTegral:STOP", reset=":INTegral:RESet",
                                    state_query=":INTegral:STATe?")
    error_query = ":SYSTem:ERRor?"
    model_pattern = r"LMG6[1-7][01]"
    family = "the ZES ZIMMER LMG600 family (LMG610 ... LMG671)"

    def elements_for(self, model: str) -> int | None:
        return int(model[4])

    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None:
        self._require_open()
        self._check_phases(phases)
        if not update_interval_s > 0:
            raise ValueError(f"update interval must be positive, got {update_interval_s!r}")
        cycle = min(MAX_CYCLE_S, max(MIN_CYCLE_S, round(update_interval_s, 3)))
        items = lmg600_items(phases)
        with self._reconfiguring(items, cycle):
            self._send("*ZLANG SCPI")
            self._quiesce_integrator()
            self._send(f":SENSe:SWEep:TIME {cycle_text(cycle)}")
            self.values_query = ":INITiate:IMMediate;" + ";".join(i.function for i in items)  # type: ignore[misc]
