"""The bench loop's stalls: a wait that tells the charger's silence from them, and a watch that records them.

`asyncio.wait_for` checks its deadline when the loop gets to it. If the loop was stalled across the deadline
(a blocking call on it, the host starved of CPU), the deadline is checked late, often in the same loop turn
in which the charger's answer is read off the socket and before it is delivered: the wait times out with
the answer unread. That is the bench's fault, not the charger's silence, so a deadline checked more than
STALL_S (real) late raises :class:`CsmsBenchFault` naming the stall; a timely one re-raises the timeout.

The harness stamps each frame when its loop reads it. While the loop is stalled, what the charger sends
waits in the socket and is stamped after the stall: a frame stamped in a :class:`Stall`'s shadow may have
arrived anywhere in it, on either side of a judge's window edge. :class:`LoopWatch` beats on the loop and
records every gap longer than STALL_S, so the judges can tell a message placed by its stamp from one that
may belong elsewhere (runner/judge.py), and know up to when everything sent has been read (`heard_until`).

    watch = LoopWatch(clock); watch.start()           # on the loop
    watch.heard_until()                               # bench time; from any thread
    arrived_from(frame.t, watch.stalls(t0, t1))       # the earliest bench time it may have arrived
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from instruments.clock import Clock
from runner.csms.errors import CsmsBenchFault

T = TypeVar("T")

# Real seconds a deadline may be checked late before the loop counts as stalled: an idle loop is late by
# well under a millisecond, a loaded host's by tens of milliseconds; a second late is no scheduling jitter.
STALL_S = 1.0


async def within(aw: Awaitable[T], timeout_real_s: float, what: str) -> T:
    """`await asyncio.wait_for(aw, timeout_real_s)`; a timeout whose deadline the loop reached more than
    STALL_S late raises CsmsBenchFault ("`what`: the bench's event loop was stalled ...")."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_real_s
    try:
        return await asyncio.wait_for(aw, timeout_real_s)
    except TimeoutError:
        late = loop.time() - deadline
        if late > STALL_S:
            raise CsmsBenchFault(f"{what}: the bench's event loop was stalled, and reached the deadline "
                                 f"({timeout_real_s:.1f} s real) {late:.1f} s late, so what the charger sent "
                                 "meanwhile may not have been read yet; the bench's fault, not the charger's "
                                 "silence") from None
        raise


# Real seconds between the watch's beats: `heard_until` trails the clock by one or two (a judge whose verdict
# rests on silence waits that long past its window), and a beat costs the loop a few microseconds.
BEAT_S = 0.01
MAX_STALLS = 1000  # the most recent, per watch: a week of a loaded host cannot grow memory without end


@dataclass(frozen=True)
class Stall:
    """A gap of more than STALL_S (real) between two beats of the bench loop, in bench seconds. A frame the
    loop read in [`since`, `after`] may have arrived at any moment of it: it waited out the stall in the
    socket (or half-way through the harness) and was stamped when the loop ran again."""
    since: float          # the beat before the last one ahead of the stall: what came earlier was read in time
    start: float          # the last beat before the stall
    end: float            # the beat that ended it
    after: float | None   # the next beat: by then what waited was read; None while it has not come

    @property
    def bench_s(self) -> float:
        """How long the loop did not run, in bench seconds (the clock's `real` gives real ones)."""
        return self.end - self.start

    def holds(self, t: float) -> bool:
        """Whether a frame stamped at `t` may have waited out this stall."""
        return self.since <= t <= (self.after if self.after is not None else math.inf)


class LoopWatch:
    """Beats on the loop it is started on; records its stalls (gaps over `stall_s` real) and how far its
    reading is complete. Read from any thread."""

    def __init__(self, clock: Clock, *, stall_s: float = STALL_S, beat_s: float = BEAT_S) -> None:
        self.clock, self.stall_s, self.beat_s = clock, stall_s, beat_s
        self._lock = threading.Lock()
        self._beats: deque[float] = deque(maxlen=3)   # bench times of the last beats
        self._heard = -math.inf
        self._stalls: deque[Stall] = deque(maxlen=MAX_STALLS)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start beating (call on the loop to watch)."""
        if self._task is None or self._task.done():
            self._beat()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="bench-loop-watch")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.beat_s)
            self._beat()

    def _beat(self) -> None:
        now = self.clock.now()
        with self._lock:
            beats = self._beats
            if self._stalls and self._stalls[-1].after is None:
                last = self._stalls[-1]
                self._stalls[-1] = Stall(last.since, last.start, last.end, now)
            if beats and self.clock.real(now - beats[-1]) > self.stall_s:
                self._stalls.append(Stall(beats[-2] if len(beats) > 1 else beats[-1], beats[-1], now, None))
            elif beats:
                # A gap the loop ran through: all that had arrived before its first beat has been read by now.
                # (After a stall this is the gap that follows it, so what waited is read, too.)
                self._heard = max(self._heard, beats[-1])
            beats.append(now)

    def heard_until(self) -> float:
        """Bench time before which everything the charger sent has been read and stamped: the start of the
        last gap between beats that the loop ran through. -inf before two beats; while the loop is stalled it
        stays at the stall's start. +inf when the watch is not running (nothing more will be read)."""
        with self._lock:
            return self._heard if self.running else math.inf

    def stalls(self, start: float = -math.inf, end: float = math.inf) -> list[Stall]:
        """The stalls whose shadow [since, after] meets [start, end], oldest first; one still going on (no beat
        for over `stall_s` real) is among them, ending now with no `after`."""
        now = self.clock.now()
        with self._lock:
            found = [s for s in self._stalls if s.since <= end and (s.after is None or s.after >= start)]
            if self._beats and self.clock.real(now - self._beats[-1]) > self.stall_s and self.running:
                beats = self._beats
                ongoing = Stall(beats[-2] if len(beats) > 1 else beats[-1], beats[-1], now, None)
                if ongoing.since <= end:
                    found.append(ongoing)
        return found



def arrived_from(t: float, stalls: list[Stall]) -> float:
    """The earliest bench time a frame stamped at `t` may have arrived: `t`, or the `since` of a stall whose
    shadow holds it (it may have waited that stall out)."""
    return min((s.since for s in stalls if s.holds(t)), default=t)
