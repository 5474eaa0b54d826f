"""Measurement-window edges in proxy mode: a fresh meter reading only by an injected call, and only on request.

On the harness, each `measure` window edge asks the charger for a fresh register reading (TriggerMessage
MeterValues, runner/execute.py `fresh_register_reading`). In proxy mode chargespec is not the CSMS: the only
honest way to ask is an injected call of its own, which the backend never sees, while the charger's
MeterValues in answer to it is relayed to the backend like any other. The issue's rule is that chargespec
sends nothing of its own unless told, so this is opt-in: the bench file's `[proxy]
trigger_meter_values_at_window_edges = true`. Off (the default), window edges are interpolated between the
charger's periodic meter values, and the scenario's notes say so.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from runner.context import ScenarioRun
from runner.proxy.harness import ProxyHarness

INTERPOLATED = ("proxy mode: no TriggerMessage at window edges (chargespec injects a call only when told: [proxy] "
                "trigger_meter_values_at_window_edges = true): window edges are interpolated between periodic "
                "meter values")
INJECTED = ("proxy mode: TriggerMessage MeterValues injected at each window edge ([proxy] "
            "trigger_meter_values_at_window_edges = true); the charger's MeterValues in answer reach the backend too")


def _note_once(run: ScenarioRun, note: str) -> None:
    if note not in run.notes:
        run.note(note)


def edge_trigger(run: ScenarioRun, evse: int) -> Coroutine[Any, Any, Any] | None:
    """The injected TriggerMessage MeterValues for a window edge, or None (noted) when the bench did not ask."""
    proxy = run.session.config.proxy
    harness = run.harness
    if proxy is None or not proxy.trigger_meter_values_at_window_edges or not isinstance(harness, ProxyHarness):
        _note_once(run, INTERPOLATED)
        return None
    _note_once(run, INJECTED)
    return harness.inject(run.station.id, "TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": evse}},
                          timeout_s=30)
