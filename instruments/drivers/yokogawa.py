"""What the Yokogawa analyzer drivers share: one item layout, one configure sequence, two spellings.

The WT300 (IM WT310-17EN) and the WT1800/WT5000 (IM WT1801-17EN, IM WT5000-17EN) configure their numeric
output the same way — format, wiring, item count, one ``ITEM<k> <function>,<element>`` per item, then the
rate — and differ in how the commands are spelt (``:NUM:NORM:ITEM1`` against ``:NUMERIC:NORMAL:ITEM1``),
the energy function (``WH`` against ``WP``) and the rates they allow. A driver names those:

The order is the instrument's: the update rate and the wiring cannot change while integrating, so a
running or stopped integrator is stopped and reset first. Then the integration is set to run until it is
told to stop (`integration_setup`: normal mode, no timer): a timer or continuous mode left by the last user
would end or restart it inside a measurement window, and the reference energy would cover only part of it.
Three phases are wired as one three-phase four-wire group (``:INPut:WIRing P3W4``): the SIGMA totals
exist only for elements wired as a group.
Every command is followed by a read of the error queue (``:STATus:ERRor?``), so a refusal stops the
configuration with the instrument's own text. ``*IDN?`` must name a model of the family.

    class YokogawaWT300(YokogawaAnalyzer):
        format_command = ":NUM:FORM ASC"
        count_command = ":NUM:NORM:NUM {count}"
        item_command = ":NUM:NORM:ITEM{index} {function},{element}"
        wiring_command = ":INP:WIR {wiring}"
        energy_function = "WH"
        rates_s = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
"""

from __future__ import annotations

from typing import ClassVar

from instruments.scpi_analyzer import Item, ScpiAnalyzer, nearest_not_slower, phase_names


def rate_text(interval_s: float) -> str:
    """``:RATE`` argument for an allowed interval: 0.25 -> ``250MS``, 2 -> ``2S``."""
    return f"{round(interval_s * 1000)}MS" if interval_s < 1 else f"{round(interval_s)}S"


def yokogawa_items(phases: int, energy_function: str) -> tuple[Item, ...]:
    """3-phase: U, I, P, LAMBDA of elements 1..3, then P,SIGMA and the energy of SIGMA (14 items).
    1-phase: U, I, P, LAMBDA of element 1 and its energy (5 items; the total power is element 1's)."""
    items: list[Item] = []
    for element, ph in enumerate(phase_names(phases), start=1):
        el = str(element)
        items += [Item("U", el, "voltage", ph), Item("I", el, "current", ph), Item("P", el, "power", ph),
                  Item("LAMBDA", el, "pf", ph)]
    if phases == 1:
        items.append(Item(energy_function, "1", "energy"))
    else:
        items += [Item("P", "SIGMA", "total_power"), Item(energy_function, "SIGMA", "energy")]
    return tuple(items)


class YokogawaAnalyzer(ScpiAnalyzer):
    """Base of the Yokogawa drivers; a subclass spells the commands and lists its rates."""

    #: Numeric output in ASCII.
    format_command: ClassVar[str]
    #: How many items the output holds; ``{count}``.
    count_command: ClassVar[str]
    #: One item; ``{index}`` (1-based), ``{function}`` and ``{element}``.
    item_command: ClassVar[str]
    #: Wires the elements as one group; ``{wiring}`` (``P3W4``: three-phase four-wire).
    wiring_command: ClassVar[str]
    #: The integrated active energy's function name.
    energy_function: ClassVar[str]
    #: The update intervals the instrument allows, in seconds.
    rates_s: ClassVar[tuple[float, ...]]
    #: Sent with the integrator reset: integrate until told to stop (normal mode, no timer).
    integration_setup: ClassVar[tuple[str, ...]] = ()

    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None:
        self._require_open()
        self._check_phases(phases)
        items = yokogawa_items(phases, self.energy_function)
        rate = nearest_not_slower(update_interval_s, self.rates_s)
        with self._reconfiguring(items, rate):
            self._quiesce_integrator()
            for command in self.integration_setup:
                self._send(command)
            self._send(self.format_command)
            if phases == 3:
                self._send(self.wiring_command.format(wiring="P3W4"))
            self._send(self.count_command.format(count=len(items)))
            for k, item in enumerate(items, start=1):
                self._send(self.item_command.format(index=k, function=item.function, element=item.element))
            self._send(f":RATE {rate_text(rate)}")
