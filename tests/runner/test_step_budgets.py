"""The steps' own patience (not a spec's bound): at least the harness's real-time floor at twin speeds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from instruments.clock import Clock
from runner.csms.harness import REPLY_WAIT_FLOOR_S
from runner.steps import TX_TIMEOUT_S, _tx_budget


@pytest.mark.parametrize(("speed", "budget"), [(1.0, TX_TIMEOUT_S), (10.0, TX_TIMEOUT_S), (120.0, 240.0)])
def test_session_steps_wait_at_least_the_real_time_floor(speed: float, budget: float) -> None:
    """At 120x, 60 s is half a real second: a charger delivering its queued TransactionEvents one CALL at a time
    across a loaded host passed it with its Ended on the way (the fault matrix's depot rows, session 13). A real
    charger, at speed 1, waits the 60 s."""
    assert REPLY_WAIT_FLOOR_S == 2.0
    assert _tx_budget(SimpleNamespace(clock=Clock(speed))) == pytest.approx(budget)  # type: ignore[arg-type]
