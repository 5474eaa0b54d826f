"""Twin behaviour options (`[twin.options]` in the bench file): conformant ways a charger may behave that
are not faults, so that the runner is rehearsed against each of them.

    reboot_s = 10.0                     # bench seconds a reboot takes
    meter_start_wh = 1000.0             # the energy register at start
    status_report = "NotifyEvent"       # how connectors report their status (below)

`status_report`: OCPP 2.0.1 lets a charger report a connector's status by StatusNotification (the default)
or by NotifyEvent, component Connector (evse.id, evse.connectorId), variable AvailabilityState, trigger
Delta (Part 2 appendix 3: Connector.AvailabilityState replaces StatusNotification's status; Part 6 accepts
either in every reusable state). A TriggerMessage StatusNotification is still answered by StatusNotification:
that is the message the CSMS asked for (F06).

Every option is checked as the bench file loads (lab/bench.py reports each problem against its key,
`twin.options.<name>`): an option the twin does not know is an error, never ignored, so that a misspelt one
cannot leave the twin on a default the lab did not mean. docs/twin.md describes each option.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

STATUS_REPORTS: tuple[str, ...] = ("StatusNotification", "NotifyEvent")


class TwinOptionError(ValueError):
    """A twin option the twin does not know or a value it cannot take; the message names the option."""


def _number(unit: str) -> Callable[[Any], str | None]:
    def problem(value: Any) -> str | None:
        # (a TOML boolean is no number of seconds or watt-hours, though Python would take it as one)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            return f"expected a number of {unit}, 0 or more; got {value!r}"
        return None
    return problem


def _status_report(value: Any) -> str | None:
    if value not in STATUS_REPORTS:
        return (f"{value!r}: the twin reports connector status by one of "
                f"{', '.join(repr(s) for s in STATUS_REPORTS)}")
    return None


@dataclass(frozen=True)
class Option:
    default: Any
    problem: Callable[[Any], str | None]  # why a value cannot be used, or None


OPTIONS: dict[str, Option] = {
    "reboot_s": Option(10.0, _number("bench seconds")),
    "meter_start_wh": Option(1000.0, _number("Wh")),
    "status_report": Option(STATUS_REPORTS[0], _status_report),
}


def _near(word: str, choices: list[str]) -> str | None:
    """The known option a misspelt one most resembles (case aside), or None. (dsl/suggest.py does this for
    specs; lab/ may not import dsl/, DESIGN.md's layering.)"""
    import difflib

    by_fold = {c.casefold(): c for c in choices}
    found = difflib.get_close_matches(word.casefold(), list(by_fold), n=1, cutoff=0.6)
    return by_fold[found[0]] if found else None


def option_problems(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every option of `options` the twin does not know or cannot take: (name, why), in order."""
    known = sorted(OPTIONS)
    out: list[tuple[str, str]] = []
    for name, value in options.items():
        option = OPTIONS.get(name)
        if option is None:
            near = _near(name, known)
            hint = f" — did you mean {near!r}?" if near else ""
            out.append((name, f"unknown twin option{hint} (the twin's options: {', '.join(known)})"))
            continue
        why = option.problem(value)
        if why:
            out.append((name, why))
    return out


def check_options(options: Mapping[str, Any]) -> None:
    """Raise TwinOptionError for the first option the twin does not know or cannot take."""
    problems = option_problems(options)
    if problems:
        name, why = problems[0]
        raise TwinOptionError(f"[twin.options] {name}: {why}")


def _value(options: Mapping[str, Any], name: str) -> Any:
    check_options({name: options[name]} if name in options else {})
    return options.get(name, OPTIONS[name].default)


def status_report(options: Mapping[str, Any]) -> str:
    """The message the twin's connectors report their status by (`status_report`, default StatusNotification)."""
    return str(_value(options, "status_report"))


def reboot_s(options: Mapping[str, Any]) -> float:
    """Bench seconds a reboot keeps the charger off (`reboot_s`, default 10)."""
    return float(_value(options, "reboot_s"))


def meter_start_wh(options: Mapping[str, Any]) -> float:
    """The energy register at start (`meter_start_wh`, default 1000 Wh)."""
    return float(_value(options, "meter_start_wh"))
