"""The bench loop: one background thread running an asyncio loop for everything that speaks a network
protocol (the CSMS harness, and on the twin the virtual charger and instrument servers).

The test thread submits coroutines and waits with a real-time timeout:

    loop = LoopThread("bench")
    port = loop.run(server.start(), timeout=5)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from concurrent.futures import wait
from typing import Any, TypeVar

T = TypeVar("T")


class LoopTimeout(TimeoutError):
    pass


class LoopThread:
    def __init__(self, name: str = "bench-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None, what: str = "") -> T:
        """Run `coro` on the loop and wait for it, at most `timeout` real seconds."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        # Wait, then read the result: `fut.result(timeout)` raises the same TimeoutError (concurrent.futures'
        # is the builtin) for a wait that ran out and for a coroutine that raised one of its own (the CSMS
        # harness's CsmsTimeout: the charger did not answer), and the charger's silence read as the bench's.
        if not wait([fut], timeout).done:
            fut.cancel()
            raise LoopTimeout(
                f"{what or 'bench operation'} did not finish within {timeout:.1f} s (real time)")
        return fut.result()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self, timeout: float = 5.0) -> None:
        if not self.loop.is_running():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(_cancel_all(), timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
