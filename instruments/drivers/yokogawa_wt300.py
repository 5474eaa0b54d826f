"""Yokogawa WT300 family (WT310, WT310HC, WT332, WT333) over VISA, driver name ``yokogawa-wt300``.

Speaks the WT300 communication command set (IM WT310-17EN): numeric items are set with
``:NUM:NORM:ITEM<k> <function>,<element>`` and read in one go with ``:NUM:NORM:VAL?``; ``:RATE`` takes
100MS, 250MS, 500MS, 1S, 2S or 5S. The integrator is driven with ``:INTEG:STAR|STOP|RES`` and its state
read with ``:INTEG:STAT?``.

    wt = create("yokogawa-wt300", name="analyzer", address="TCPIP0::10.0.0.5::10001::SOCKET")
    wt.open(); wt.configure(phases=3, update_interval_s=0.5)
    wt.read().phases["L1"].current_a

Items, 3-phase: U, I, P, LAMBDA of elements 1..3, then P,SIGMA and WH,SIGMA (14 items). 1-phase: U, I,
P, LAMBDA of element 1 and WH,1 (5 items; the total power is element 1's). Options: ``visa_library``
(default ``@py``), ``timeout_s``, ``reconnect_attempts``.
"""

from __future__ import annotations

from instruments.integrator import IntegratorCommands
from instruments.registry import register
from instruments.scpi_analyzer import Item, ScpiAnalyzer, check_phases, nearest_not_slower, phase_names

RATES_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


def rate_text(interval_s: float) -> str:
    """``:RATE`` argument for an allowed interval: 0.25 -> ``250MS``, 2 -> ``2S``."""
    return f"{round(interval_s * 1000)}MS" if interval_s < 1 else f"{round(interval_s)}S"


def wt300_items(phases: int) -> tuple[Item, ...]:
    items: list[Item] = []
    for element, ph in enumerate(phase_names(phases), start=1):
        el = str(element)
        items += [Item("U", el, "voltage", ph), Item("I", el, "current", ph), Item("P", el, "power", ph),
                  Item("LAMBDA", el, "pf", ph)]
    if phases == 1:
        items.append(Item("WH", "1", "energy"))
    else:
        items += [Item("P", "SIGMA", "total_power"), Item("WH", "SIGMA", "energy")]
    return tuple(items)


@register("yokogawa-wt300")
class YokogawaWT300(ScpiAnalyzer):
    values_query = ":NUM:NORM:VAL?"
    # :INTEG:STAT? answers RESET/READY/START/STOP/ERROR/TIMEUP, with a header if :COMM:HEAD is ON.
    integrator = IntegratorCommands(start=":INTEG:STAR", stop=":INTEG:STOP", reset=":INTEG:RES",
                                    state_query=":INTEG:STAT?")

    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None:
        self._require_open()
        check_phases(self, phases)
        items = wt300_items(phases)
        rate = nearest_not_slower(update_interval_s, RATES_S)
        with self.link.lock:
            self._items = None  # until every command went through, the item list on the instrument is unknown
            self.link.write(":NUM:FORM ASC")
            self.link.write(f":NUM:NORM:NUM {len(items)}")
            for k, item in enumerate(items, start=1):
                self.link.write(f":NUM:NORM:ITEM{k} {item.function},{item.element}")
            self.link.write(f":RATE {rate_text(rate)}")
            self._items = items
            self._interval_s = rate
