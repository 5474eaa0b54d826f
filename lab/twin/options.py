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

docs/twin.md describes each option. Options not named here are read by whoever uses them (lab/twin/__init__.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATUS_REPORTS: tuple[str, ...] = ("StatusNotification", "NotifyEvent")


class TwinOptionError(ValueError):
    """A twin option with a value it cannot take; the message names the option and its values."""


def status_report(options: Mapping[str, Any]) -> str:
    """The message the twin's connectors report their status by (`status_report`, default StatusNotification)."""
    value = options.get("status_report", STATUS_REPORTS[0])
    if value not in STATUS_REPORTS:
        raise TwinOptionError(f"[twin.options] status_report = {value!r}: the twin reports connector status by "
                              f"one of {', '.join(repr(s) for s in STATUS_REPORTS)}")
    return str(value)


def check_options(options: Mapping[str, Any]) -> None:
    """Raise TwinOptionError for the first option whose value the twin cannot take (as the bench file loads)."""
    status_report(options)
