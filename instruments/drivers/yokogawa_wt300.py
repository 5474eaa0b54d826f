"""Yokogawa WT300 family (WT310, WT310HC, WT332, WT333) over VISA, driver name ``yokogawa-wt300``.

Speaks the WT300 communication command set (IM WT310-17EN): numeric items are set with
``:NUM:NORM:ITEM<k> <function>,<element>`` and read in one go with ``:NUM:NORM:VAL?``; ``:RATE`` takes
100MS, 250MS, 500MS, 1S, 2S or 5S. The integrator is driven with ``:INTEG:STAR|STOP|RES`` and its state
read with ``:INTEG:STAT?``; ``:INTEG:MODE NORM`` and ``:INTEG:TIM 0,0,0`` make it run until stopped;
errors are read with ``:STAT:ERR?`` after every setting and after a timeout.
Three phases are wired ``:INP:WIR P3W4`` (SIGMA needs it). ``*IDN?`` must name a WT310 (also E, EH,
HC), WT332 or WT333: the element count is the model's (WT310: 1, WT332: 2, WT333: 3).

    wt = create("yokogawa-wt300", name="analyzer", address="TCPIP0::10.0.0.5::10001::SOCKET")
    wt.open(); wt.configure(phases=3, update_interval_s=0.5)
    wt.read().phases["L1"].current_a

Items, 3-phase: U, I, P, LAMBDA of elements 1..3, then P,SIGMA and WH,SIGMA (14 items). 1-phase: U, I,
P, LAMBDA of element 1 and WH,1 (5 items; the total power is element 1's). Options: ``visa_library``
(default ``@py``), ``timeout_s``, ``reconnect_attempts``.
"""

from __future__ import annotations

from instruments.drivers.yokogawa import YokogawaAnalyzer, rate_text, yokogawa_items
from instruments.integrator import IntegratorCommands
from instruments.registry import register
from instruments.scpi_analyzer import Item

__all__ = ["RATES_S", "YokogawaWT300", "rate_text", "wt300_items"]

RATES_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


def wt300_items(phases: int) -> tuple[Item, ...]:
    return yokogawa_items(phases, "WH")


@register("yokogawa-wt300")
class YokogawaWT300(YokogawaAnalyzer):
    values_query = ":NUM:NORM:VAL?"
    # :INTEG:STAT? answers RESET/READY/START/STOP/ERROR/TIMEUP, with a header if :COMM:HEAD is ON.
    integrator = IntegratorCommands(start=":INTEG:STAR", stop=":INTEG:STOP", reset=":INTEG:RES",
                                    state_query=":INTEG:STAT?")
    error_query = ":STAT:ERR?"
    model_pattern = r"WT3(10|32|33)"
    family = "the Yokogawa WT300 family (WT310, WT332, WT333)"
    format_command = ":NUM:FORM ASC"
    wiring_command = ":INP:WIR {wiring}"
    count_command = ":NUM:NORM:NUM {count}"
    item_command = ":NUM:NORM:ITEM{index} {function},{element}"
    energy_function = "WH"
    rates_s = RATES_S
    integration_setup = (":INTEG:MODE NORM", ":INTEG:TIM 0,0,0")

    def elements_for(self, model: str) -> int | None:
        return 1 if model.upper().startswith("WT310") else int(model[4])
