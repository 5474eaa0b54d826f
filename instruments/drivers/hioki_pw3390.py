"""Hioki PW3390 (and PW3336/PW3337-style command sets) over VISA, driver name ``hioki-pw3390``.

The PW3390 reads any list of items in one query, ``:MEASure? U1,I1,P1,...``, so configuring sets no item
list on the instrument: it turns response headers off (``:HEADer OFF``) and remembers the query. Channel
``k`` measures phase ``Lk``. Values are answered in NR3 form; the driver accepts ``,`` or ``;`` between
them and strips a header if one slipped through (``U1 +230.01E+0``). ``+9999.9E+99`` and larger mean
"no valid data" and become missing samples.

    pw = create("hioki-pw3390", name="analyzer", address="TCPIP0::10.0.0.9::3390::SOCKET")
    pw.open(); pw.configure(phases=3, update_interval_s=0.2)
    pw.read()    # -> :MEASure? U1,I1,P1,PF1,U2,...,PF3,WP1,WP2,WP3

Items per channel: ``U<k>``, ``I<k>``, ``P<k>``, ``PF<k>``; then the integrated active energy of each
channel, ``WP<k>``, summed into the total; the total power is the sum of the channel powers. The
integrator: ``:INTEGrate:STARt``, ``:INTEGrate:STOP``, ``:INTEGrate:RESet``. Errors are read from the
IEEE 488.2 event status register (``*ESR?``: command, execution, device-dependent and query error bits)
after every setting and after a timeout. ``*IDN?`` must name a PW3390 (4 channels), PW3336 (2) or PW3337
(3). Options: ``visa_library``, ``timeout_s``, ``reconnect_attempts``.

(check) Not confirmed against the manual's own text: the energy item ``WP<k>`` (DOMAIN.md), the state
query ``:INTEGrate?`` answering RESET/START/STOP, the channel counts of the models, and the fixed
50 ms data update interval — the PW3390 has no update-rate command, so `configure` only sets how often
the driver expects new data (never faster than 50 ms). A firmware that differs can be described with ``generic-scpi``.
"""

from __future__ import annotations

import re

from instruments.integrator import IntegratorCommands
from instruments.registry import register
from instruments.scpi_analyzer import Item, ScpiAnalyzer, phase_names

UPDATE_S = 0.05
_HEADER = re.compile(r"^\s*[A-Z][A-Z0-9]*\s+(?=\S+\s*$)", re.IGNORECASE)


def pw3390_items(phases: int) -> tuple[Item, ...]:
    items: list[Item] = []
    names = phase_names(phases)
    for ch, ph in enumerate(names, start=1):
        items += [Item(f"U{ch}", str(ch), "voltage", ph), Item(f"I{ch}", str(ch), "current", ph),
                  Item(f"P{ch}", str(ch), "power", ph), Item(f"PF{ch}", str(ch), "pf", ph)]
    items += [Item(f"WP{ch}", str(ch), "energy", ph) for ch, ph in enumerate(names, start=1)]
    return tuple(items)


@register("hioki-pw3390")
class HiokiPW3390(ScpiAnalyzer):
    integrator = IntegratorCommands(start=":INTEGrate:STARt", stop=":INTEGrate:STOP",
                                    reset=":INTEGrate:RESet", state_query=":INTEGrate?")
    model_pattern = r"PW33(90|36|37)"
    family = "the Hioki PW3390, PW3336 and PW3337"

    def elements_for(self, model: str) -> int | None:
        return {"PW3390": 4, "PW3336": 2, "PW3337": 3}.get(model.upper()[:6])

    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None:
        self._require_open()
        self._check_phases(phases)
        if not update_interval_s > 0:
            raise ValueError(f"update interval must be positive, got {update_interval_s!r}")
        items = pw3390_items(phases)
        with self._reconfiguring(items, max(UPDATE_S, update_interval_s)):
            self._send(":HEADer OFF")
            self.values_query = ":MEASure? " + ",".join(item.function for item in items)  # type: ignore[misc]

    def _strip_answer(self, answer: str) -> str:
        # With headers on each value reads "U1 +230.01E+0"; keep the number only. Only a header (a letter,
        # then letters or digits) is stripped: "+15 .998E+0" is garbage, not 0.998.
        tokens = answer.strip().replace(";", ",").split(",")
        return ",".join(_HEADER.sub("", tok) for tok in tokens)
