"""Window edges in proxy mode: an injected meter trigger only when the bench opts in; else noted as interpolated."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from instruments.clock import Clock
from lab.bench import CsmsConfig, ProxyConfig
from runner.proxy import ProxyHarness
from runner.proxy.metering import INJECTED, INTERPOLATED, edge_trigger
from runner.recorder import Recorder


def _run(proxy: ProxyConfig) -> Any:
    clock = Clock(1.0)
    harness = ProxyHarness(Recorder(clock), clock, CsmsConfig(), proxy=proxy)
    run = SimpleNamespace(session=SimpleNamespace(config=SimpleNamespace(proxy=proxy)), harness=harness,
                          station=SimpleNamespace(id="CS1"), notes=[])
    run.note = run.notes.append
    return run


def test_by_default_chargespec_injects_nothing_and_says_the_edges_are_interpolated() -> None:
    run = _run(ProxyConfig(to="ws://127.0.0.1:9/ocpp"))
    assert edge_trigger(run, 1) is None and edge_trigger(run, 1) is None
    assert run.notes == [INTERPOLATED]   # once per scenario


def test_opted_in_it_injects_trigger_message_meter_values_on_the_evse() -> None:
    run = _run(ProxyConfig(to="ws://127.0.0.1:9/ocpp", trigger_meter_values_at_window_edges=True))
    sent: list[tuple[str, str, dict[str, Any]]] = []

    async def inject(station: str, action: str, payload: dict[str, Any], timeout_s: float = 30) -> str:
        sent.append((station, action, payload))
        return "answered"

    run.harness.inject = inject
    call = edge_trigger(run, 2)
    assert call is not None and asyncio.run(call) == "answered"
    assert sent == [("CS1", "TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": 2}})]
    assert run.notes == [INJECTED]
