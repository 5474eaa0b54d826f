"""Response times in relayed traffic: per action and per answering side, p50/p95/max in bench seconds.

A call's response time is from its CALL to the other side's CALLRESULT or CALLERROR with the same message
id, both as recorded. Charger calls (rx) are answered by the backend, backend calls (tx) by the charger;
injected calls (chargespec's own, ids in `injected`) are left out: they time neither side's traffic with
the other. So are calls the relay could not pass on (`undelivered`, relay.py's `proxy.undelivered` events):
the side they were for never got them, so its not answering is no response time of its.

    figures = response_times(recorder.frames(station="CS1"))
    figures[("backend", "TransactionEvent")].p95
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runner.recorder import CALL, CALLERROR, CALLRESULT, Frame, Recorder

Lost = frozenset[tuple[str, str, float]]   # (direction, message id, bench t) of frames never passed on


@dataclass(frozen=True)
class Figures:
    side: str          # who answered: "backend" or "charger"
    action: str
    count: int
    p50: float
    p95: float
    max: float
    unanswered: int

    def text(self) -> str:
        return (f"{self.side:7} {self.action:32} n={self.count:<5} p50 {self.p50 * 1000:8.1f} ms  "
                f"p95 {self.p95 * 1000:8.1f} ms  max {self.max * 1000:8.1f} ms"
                + (f"  unanswered {self.unanswered}" if self.unanswered else ""))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank: a value that was observed, never an interpolation."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def undelivered(recorder: Recorder, station: str | None = None) -> Lost:
    """The frames the relay recorded but could not pass on (of `station`, or of every station)."""
    return frozenset((e["direction"], e["unique_id"], e["frame_t"]) for e in recorder.events("proxy.undelivered")
                     if e.get("unique_id") is not None and station in (None, e.get("station")))


def delivered(frame: Frame, lost: Lost) -> bool:
    return (frame.direction, frame.unique_id, frame.t) not in lost


def response_times(frames: Iterable[Frame], injected: Iterable[str] = (),
                   lost: Lost = frozenset()) -> dict[tuple[str, str], Figures]:
    """(answering side, action) -> its figures, over every answered call in `frames`."""
    times, unanswered, _ = _times(frames, injected, lost)
    out: dict[tuple[str, str], Figures] = {}
    for key in sorted(set(times) | set(unanswered)):
        got = times.get(key, [])
        out[key] = Figures(key[0], key[1], len(got), percentile(got, 50), percentile(got, 95),
                           max(got) if got else math.nan, unanswered.get(key, 0))
    return out


def answer_times(frames: Iterable[Frame], injected: Iterable[str] = (),
                 lost: Lost = frozenset()) -> dict[tuple[str, str], list[float]]:
    """(answering side, action) -> each answered call's response time, in order."""
    return _times(frames, injected, lost)[0]


def pending_calls(frames: Iterable[Frame], injected: Iterable[str] = (),
                  lost: Lost = frozenset()) -> dict[tuple[str, str], list[float]]:
    """(answering side, action) -> the call times of calls not (yet) answered in `frames`."""
    return _times(frames, injected, lost)[2]


def _times(frames: Iterable[Frame], injected: Iterable[str],
           lost: Lost = frozenset()) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], int],
                                              dict[tuple[str, str], list[float]]]:
    skip = set(injected)
    open_calls: dict[tuple[str, str], tuple[str, float]] = {}   # (caller direction, id) -> (action, t)
    times: dict[tuple[str, str], list[float]] = {}
    for f in frames:
        if f.unique_id is None or f.unique_id in skip:
            continue
        if f.message_type == CALL and f.action:
            if not delivered(f, lost):   # never reached the side that would answer it
                open_calls.pop((f.direction, f.unique_id), None)
                continue
            open_calls[(f.direction, f.unique_id)] = (f.action, f.t)
        elif f.message_type in (CALLRESULT, CALLERROR):
            caller = "tx" if f.direction == "rx" else "rx"
            call = open_calls.pop((caller, f.unique_id), None)
            if call is not None:
                side = "backend" if caller == "rx" else "charger"
                times.setdefault((side, call[0]), []).append(f.t - call[1])
    unanswered: dict[tuple[str, str], int] = {}
    pending: dict[tuple[str, str], list[float]] = {}
    for (caller, _), (action, t) in open_calls.items():
        key = ("backend" if caller == "rx" else "charger", action)
        unanswered[key] = unanswered.get(key, 0) + 1
        pending.setdefault(key, []).append(t)
    return times, unanswered, pending
