"""Yokogawa WT1800 and WT5000 families over VISA, driver names ``yokogawa-wt1800`` and ``yokogawa-wt5000``.

Both speak the WT1800-style command tree (IM WT1801-17EN, IM WT5000-17EN), sent here in long form:
``:NUMERIC:FORMAT ASCII``, ``:NUMERIC:NORMAL:NUMBER <n>``, ``:NUMERIC:NORMAL:ITEM<k> <function>,<element>``
and ``:NUMERIC:NORMAL:VALUE?`` for all items at once; ``:RATE <interval>``; the integrator with
``:INTEGRATE:START|STOP|RESET`` and ``:INTEGRATE:STATE?``. Totals are element ``SIGMA``.

    wt = create("yokogawa-wt5000", name="analyzer", address="TCPIP0::10.0.0.7::10001::SOCKET")
    wt.open(); wt.configure(phases=3, update_interval_s=0.05)     # -> :RATE 50MS

Items, 3-phase: U, I, P, LAMBDA of elements 1..3, then P,SIGMA and WP,SIGMA (14 items). 1-phase: U, I,
P, LAMBDA of element 1 and WP,1 (5 items). Options: ``visa_library`` (default ``@py``), ``timeout_s``,
``reconnect_attempts``.

(check) Not confirmed against the manuals' own text, so treat as defaults: the energy function name
``WP`` (active energy, sum of positive and negative; ``WPP``/``WPM`` are the signed parts), and the
update intervals — WT1800: 50 ms, 100 ms, 200 ms, 500 ms, 1 s, 2 s, 5 s, 10 s, 20 s; WT5000 adds 10 ms.
A lab whose firmware differs can describe it with the ``generic-scpi`` driver without code.
"""

from __future__ import annotations

from typing import ClassVar

from instruments.drivers.yokogawa_wt300 import rate_text
from instruments.integrator import IntegratorCommands
from instruments.registry import register
from instruments.scpi_analyzer import Item, ScpiAnalyzer, check_phases, nearest_not_slower, phase_names

WT1800_RATES_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
WT5000_RATES_S = (0.01, *WT1800_RATES_S)


def wt1800_items(phases: int) -> tuple[Item, ...]:
    items: list[Item] = []
    for element, ph in enumerate(phase_names(phases), start=1):
        el = str(element)
        items += [Item("U", el, "voltage", ph), Item("I", el, "current", ph), Item("P", el, "power", ph),
                  Item("LAMBDA", el, "pf", ph)]
    if phases == 1:
        items.append(Item("WP", "1", "energy"))
    else:
        items += [Item("P", "SIGMA", "total_power"), Item("WP", "SIGMA", "energy")]
    return tuple(items)


@register("yokogawa-wt1800")
class YokogawaWT1800(ScpiAnalyzer):
    values_query = ":NUMERIC:NORMAL:VALUE?"
    integrator = IntegratorCommands(start=":INTEGRATE:START", stop=":INTEGRATE:STOP",
                                    reset=":INTEGRATE:RESET", state_query=":INTEGRATE:STATE?")
    rates_s: ClassVar[tuple[float, ...]] = WT1800_RATES_S

    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None:
        self._require_open()
        check_phases(self, phases)
        items = wt1800_items(phases)
        rate = nearest_not_slower(update_interval_s, self.rates_s)
        with self.link.lock:
            self._items = None  # unknown until every command went through
            self.link.write(":NUMERIC:FORMAT ASCII")
            self.link.write(f":NUMERIC:NORMAL:NUMBER {len(items)}")
            for k, item in enumerate(items, start=1):
                self.link.write(f":NUMERIC:NORMAL:ITEM{k} {item.function},{item.element}")
            self.link.write(f":RATE {rate_text(rate)}")
            self._items = items
            self._interval_s = rate


@register("yokogawa-wt5000")
class YokogawaWT5000(YokogawaWT1800):
    rates_s = WT5000_RATES_S
