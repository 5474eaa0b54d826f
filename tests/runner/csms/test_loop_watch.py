"""The bench loop's watch: a charger on its own thread (as a real one is on its own hardware) sends while the
harness's loop stands still; the frame is stamped after the stall, and the watch says it may have come in it."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from websockets.sync.client import connect

from instruments.clock import Clock
from lab.bench import CsmsConfig
from runner.csms import CsmsHarness
from runner.csms.waiting import LoopWatch, arrived_from
from runner.recorder import Recorder


def test_a_frame_sent_while_the_loop_stood_still_is_placed_anywhere_in_the_stall() -> None:
    clock = Clock(1.0)
    rec = Recorder(clock)
    sent_at: list[float] = []
    go = threading.Event()

    def charger(url: str) -> None:
        with connect(f"{url}/CS1", subprotocols=["ocpp2.0.1"], open_timeout=5) as ws:  # type: ignore[list-item]
            go.wait(5)
            time.sleep(0.3)  # inside the stall
            sent_at.append(clock.now())
            ws.send(json.dumps([2, "s1", "StatusNotification", {"timestamp": "2026-01-01T00:00:00Z",
                                                                 "connectorStatus": "Occupied", "evseId": 1,
                                                                 "connectorId": 1}]))
            ws.recv(timeout=5)

    async def main() -> None:
        h = CsmsHarness(rec, clock, CsmsConfig())
        await h.start()
        try:
            thread = threading.Thread(target=charger, args=(h.url,), daemon=True)
            thread.start()
            await h.wait_connected("CS1", 5)
            await asyncio.sleep(0.1)
            assert h.stalls(0, clock.now()) == []
            heard = h.heard_until()
            assert clock.now() - 0.5 < heard <= clock.now()
            go.set()
            time.sleep(1.5)  # the loop stands still (a blocking call on it); the charger sends meanwhile
            assert h.heard_until() == heard  # nothing beat: nothing newer is known to be read
            await asyncio.sleep(0.2)
            await asyncio.to_thread(thread.join, 5)
            assert h.heard_until() > sent_at[0]  # the loop ran on: what waited has been read
        finally:
            await h.stop()
        [frame] = [f for f in rec.frames() if f.action == "StatusNotification" and f.direction == "rx"]
        [stall] = h.stalls(0, clock.now())
        # (read in the loop's first turn after it, maybe before the beat that ends it: the shadow runs to `after`)
        assert stall.since <= stall.start < sent_at[0] < frame.t <= stall.after  # type: ignore[operator]
        assert 1.4 < stall.bench_s < 2.5 and frame.t - sent_at[0] > 1.0  # stamped over a second late
        assert stall.holds(frame.t) and arrived_from(frame.t, [stall]) == stall.since < sent_at[0]

    asyncio.run(main())


def test_gaps_the_loop_runs_through_are_no_stalls_and_one_going_on_is_reported() -> None:
    async def main() -> None:
        clock = Clock(1.0)
        watch = LoopWatch(clock, stall_s=0.5, beat_s=0.01)
        watch.start()
        await asyncio.sleep(0.3)
        assert watch.stalls() == [] and clock.now() - 0.3 < watch.heard_until()
        time.sleep(0.7)
        [ongoing] = watch.stalls()  # no beat for 0.7 s: going on, as far as a reader can tell
        assert ongoing.after is None and ongoing.bench_s > 0.5
        await asyncio.sleep(0.05)
        [stall] = watch.stalls()
        assert stall.after is not None and 0.5 < stall.bench_s < 1.5
        watch.stop()

    asyncio.run(main())
