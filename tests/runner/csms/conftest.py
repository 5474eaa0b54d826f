"""The CSMS tests' shared fixture: a started harness to run an async scenario against."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from instruments.clock import Clock
from lab.bench import CsmsConfig
from runner.csms import CsmsHarness
from runner.recorder import Recorder

Scenario = Callable[[CsmsHarness, Recorder], Awaitable[None]]


@pytest.fixture
def run() -> Callable[..., Recorder]:
    """``run(test, cfg=None, *, speed=1.0, stations=None)``: start a harness (`cfg`, default a plain
    CsmsConfig; its clock at `speed`), await ``test(harness, recorder)`` for at most 20 s, stop the
    harness, and return the recorder to inspect."""

    def serve(test: Scenario, cfg: CsmsConfig | None = None, *, speed: float = 1.0,
              stations: list[str] | None = None) -> Recorder:
        clock = Clock(speed)
        recorder = Recorder(clock)

        async def main() -> None:
            harness = CsmsHarness(recorder, clock, cfg or CsmsConfig(), stations=stations)
            await harness.start()
            try:
                await asyncio.wait_for(test(harness, recorder), 20)
            finally:
                await harness.stop()

        asyncio.run(main())
        return recorder

    return serve
