"""Yokogawa WT1800 and WT5000 families over VISA, driver names ``yokogawa-wt1800`` and ``yokogawa-wt5000``.

Both speak the WT1800-style command tree (IM WT1801-17EN, IM WT5000-17EN), sent here in long form:
``:NUMERIC:FORMAT ASCII``, ``:NUMERIC:NORMAL:NUMBER <n>``, ``:NUMERIC:NORMAL:ITEM<k> <function>,<element>``
and ``:NUMERIC:NORMAL:VALUE?`` for all items at once; ``:RATE <interval>``; the integrator with
``:INTEGRATE:START|STOP|RESET`` and ``:INTEGRATE:STATE?``; errors with ``:STATUS:ERROR?`` after every
setting and after a timeout. Totals are element ``SIGMA``, which needs the three elements wired as one
group: three phases are wired ``:INPUT:WIRING P3W4``. ``*IDN?`` must name a WT1801...WT1806 (the last
digit is the element count) or a WT5000 (whose element count depends on its installed modules and is not
checked).

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

from instruments.drivers.yokogawa import YokogawaAnalyzer, yokogawa_items
from instruments.integrator import IntegratorCommands
from instruments.registry import register
from instruments.scpi_analyzer import Item

WT1800_RATES_S = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
WT5000_RATES_S = (0.01, *WT1800_RATES_S)


def wt1800_items(phases: int) -> tuple[Item, ...]:
    return yokogawa_items(phases, "WP")


@register("yokogawa-wt1800")
class YokogawaWT1800(YokogawaAnalyzer):
    values_query = ":NUMERIC:NORMAL:VALUE?"
    integrator = IntegratorCommands(start=":INTEGRATE:START", stop=":INTEGRATE:STOP",
                                    reset=":INTEGRATE:RESET", state_query=":INTEGRATE:STATE?")
    error_query = ":STATUS:ERROR?"
    model_pattern = r"WT180[1-6]"
    family = "the Yokogawa WT1800 family (WT1801 ... WT1806)"
    format_command = ":NUMERIC:FORMAT ASCII"
    wiring_command = ":INPUT:WIRING {wiring}"
    count_command = ":NUMERIC:NORMAL:NUMBER {count}"
    item_command = ":NUMERIC:NORMAL:ITEM{index} {function},{element}"
    energy_function = "WP"
    rates_s = WT1800_RATES_S

    def elements_for(self, model: str) -> int | None:
        return int(model[5])


@register("yokogawa-wt5000")
class YokogawaWT5000(YokogawaWT1800):
    model_pattern = r"WT5000"
    family = "the Yokogawa WT5000"
    rates_s = WT5000_RATES_S

    def elements_for(self, model: str) -> int | None:
        return None  # one to seven elements, by the modules installed: *IDN? does not say
