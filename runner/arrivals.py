"""When the charger's messages arrived, as far as the bench can tell: the judges' guard against its own stalls.

The harness stamps a frame when its loop reads it. Read in the shadow of a stall of that loop (LoopWatch in
runner/csms/waiting.py), a frame may have arrived at any moment of the stall, on either side of a window's
edge: counted by its stamp it could make `expect no X` pass on a message sent inside the window, or fail a
charger whose answer came in time. So a message verdict counts the frames certainly inside its window and
those that may be: the verdict stands when both counts give it; otherwise it is *broken*, naming the stall.

    heard_through(run, end, source)         # wait until what was sent up to `end` has been read
    placed = place(run, hits, start, end)   # hits: matching frames stamped from `start` on
    placed.certain, placed.possible         # how many are inside for sure, how many may be
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dsl.plan import Source
from runner import units
from runner.context import ScenarioRun
from runner.csms.waiting import Stall, arrived_from
from runner.errors import BenchError
from runner.recorder import Frame

# Real seconds a judge waits for the harness to have read what was sent by a window's end (one or two of the
# watch's beats on a running loop); past that the loop is taken as stalled for good.
HEARD_STUCK_REAL_S = 30.0
POLL_REAL_S = 0.005


def heard_through(run: ScenarioRun, end: float, source: Source) -> None:
    """Wait until the harness has read and stamped everything the charger sent before bench time `end` (its
    loop ran past it): a verdict resting on what did not come must not be taken on frames still unread.
    Broken after HEARD_STUCK_REAL_S of real time."""
    began = time.monotonic()
    while run.harness.heard_until() < end:
        if time.monotonic() - began > HEARD_STUCK_REAL_S:
            raise BenchError(source, f"the bench's event loop has not read what the charger sent up to t={end:.1f} s "
                                     f"after {HEARD_STUCK_REAL_S:g} s of real time: it is stalled, so what the charger "
                                     "sent cannot be judged; the bench's fault, not the charger's")
        run.recorder.wait(lambda: False, POLL_REAL_S)


@dataclass(frozen=True)
class Placed:
    """Of some frames, those inside a window [start, end] by when they may have arrived."""
    certain: tuple[Frame, ...]    # arrived inside for sure (stamped inside, and no stall could have held them)
    possible: tuple[Frame, ...]   # may have arrived inside (the certain ones among them)
    doubtful: tuple[tuple[Frame, Stall], ...]  # possible but not certain, each with the stall that makes it so

    def verdict(self, allowed: Callable[[int], bool]) -> bool | None:
        """True when every count the frames may make inside is `allowed`, False when none is, else None."""
        counts = range(len(self.certain), len(self.possible) + 1)
        oks = {allowed(n) for n in counts}
        return True if oks == {True} else False if oks == {False} else None


def place(run: ScenarioRun, frames: Sequence[Frame], start: float, end: float) -> Placed:
    """Place `frames` (any stamps) against [start, end] with the harness's stalls."""
    if not frames:
        return Placed((), (), ())
    stamps = [f.t for f in frames]
    stalls = run.harness.stalls(min(start, *stamps), max(end, *stamps))
    certain: list[Frame] = []
    possible: list[Frame] = []
    doubtful: list[tuple[Frame, Stall]] = []
    for f in frames:
        lo = arrived_from(f.t, stalls) if stalls else f.t
        if lo > end or f.t < start:
            continue
        possible.append(f)
        if lo >= start and f.t <= end:
            certain.append(f)
        else:
            doubtful.append((f, next(s for s in stalls if s.holds(f.t) and s.since == lo)))
    return Placed(tuple(certain), tuple(possible), tuple(doubtful))


def held_up(run: ScenarioRun, frames: Sequence[Frame], start: float, end: float) -> tuple[Frame, Stall] | None:
    """The first of `frames` (bench-time stamps) read in the shadow of a stall that meets [start, end], with
    the stall: its arrival is known only to within the stall (for verdicts that time every message)."""
    stalls = run.harness.stalls(start, end)
    return next(((f, s) for f in frames for s in stalls if s.holds(f.t)), None) if stalls else None


def stalled(run: ScenarioRun, held: tuple[Frame, Stall], source: Source, what: str, start: float, end: float, *,
            so: str | None = None) -> BenchError:
    """The broken verdict on `what` (the expectation's words) when `held` (a frame and the stall it may have
    waited out; :attr:`Placed.doubtful` or :func:`held_up`) leaves it undecided; `so`: what cannot be told
    (default: whether the frame counts, from which side of the window [start, end] it may have come)."""
    f, s = held

    def rel(t: float) -> str:
        return units.show_t(t - run.recorder.t_begin)

    if so is None:
        side = "before the window began" if f.t <= end else "before the window ended"
        so = (f"it may have arrived {side} (the window: {rel(start)} … {rel(end)}), so whether it counts cannot "
              "be told")
    real = run.clock.real(s.bench_s)
    real_text = f"{real:.1f} s" if real >= 0.1 else f"{real * 1000:.0f} ms"
    return BenchError(source, f"{what}: undecided, and the bench's fault: its event loop was stalled for "
                              f"{real_text} of real time ({rel(s.start)} … {rel(s.end)}), and the {f.action} stamped "
                              f"at {rel(f.t)} was read after it: {so}")
