"""Audit of CALL/CALLRESULT correlation and malformed frames: an answer counts for the call it names, once,
on the connection it came on; a frame the harness refused is never "the message came"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect

from runner.csms import CsmsHarness
from runner.recorder import Recorder

Run = Callable[..., Recorder]  # the `run` fixture (conftest.py)


def open_charger(url: str, station: str = "CS1") -> Any:
    return connect(f"{url}/{station}", subprotocols=["ocpp2.0.1"], open_timeout=5)


def test_a_second_answer_to_one_call_is_a_finding_even_when_it_arrives_before_the_caller_wakes(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await h.wait_connected("CS1", 5)

            async def answer_twice() -> None:
                m = json.loads(await ws.recv())
                # Both answers in one write: the harness reads the second before the caller resumes.
                await ws.send(json.dumps([3, m[1], {"status": "Accepted"}]))
                await ws.send(json.dumps([3, m[1], {"status": "Rejected"}]))

            task = asyncio.create_task(answer_twice())
            out = await h.call("CS1", "Reset", {"type": "Immediate"}, timeout_s=5)
            await task
            await asyncio.sleep(0.1)
            assert out.response == {"status": "Accepted"}

    rec = run(test)
    [dup] = [f for f in rec.findings() if "answers no outstanding call" in f.message]
    assert '"Rejected"' in (dup.raw or "") and "Reset, answered at t=" in dup.message
