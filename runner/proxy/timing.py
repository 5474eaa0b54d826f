"""Response times in relayed traffic: per action and per answering side, p50/p95/max in bench seconds.

A call's response time is from the moment the relay passed its CALL on to the other side's CALLRESULT or
CALLERROR with the same message id, both as recorded. That is the CALL's own time, unless the relay held it
(`proxy.held`, relay.py: a backend call waits while a call chargespec injected is outstanding, OCPP-J
§4.1.1), when it is the time the relay passed it on: the hold is chargespec's, never the answering side's.
Charger calls (rx) are answered by the backend, backend calls (tx) by the charger; injected calls
(chargespec's own, ids in `injected`) are left out: they time neither side's traffic with the other. So
are calls the relay could not pass on (relay.py's `proxy.undelivered` events): the side they were for
never got them, so its not answering is no response time of its.

A call that got no answer is one of three kinds, counted apart: *unanswered* (its connection stayed up to
the end of the record, which came at least IN_FLIGHT_S after it: the other side has not answered), *in
flight* (the record ended less than IN_FLIGHT_S after it: its answer may still come; only when the end of
the record, `now`, is given) or *open at a close* (the connection closed first, `proxy.closed`: not
answered because the connection closed, whoever closed it; no evidence that the other side would not have
answered).

    figures = response_times(recorder.frames(station="CS1"), injected, relayed(recorder, "CS1"))
    figures[("backend", "TransactionEvent")].p95
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from runner.recorder import CALL, CALLERROR, CALLRESULT, Frame, Recorder

FrameKey = tuple[str, str, float]          # (direction, message id, bench t) of a recorded frame
Lost = frozenset[FrameKey]                 # frames the relay never passed on
IN_FLIGHT_S = 30.0   # bench seconds an unanswered call counts as in flight (as relay.py's message timeout)


@dataclass(frozen=True)
class Relayed:
    """What the relay did with the recorded frames, from its events: those it never passed on, when it passed
    on those it held, and when each station's connection closed."""
    lost: Lost = frozenset()
    passed_on: Mapping[FrameKey, float] = field(default_factory=dict)   # held frames -> bench t passed on
    closes: Mapping[str, tuple[float, ...]] = field(default_factory=dict)   # station -> close times, sorted

    def start(self, frame: Frame) -> float:
        """When the side a call was for got it: when the relay passed it on."""
        return self.passed_on.get((frame.direction, frame.unique_id or "", frame.t), frame.t)

    def close_after(self, station: str, t: float) -> float | None:
        """The first close of `station`'s connection at or after `t`, None when it stayed up."""
        times = self.closes.get(station, ())
        i = bisect.bisect_left(times, t)
        return times[i] if i < len(times) else None


@dataclass(frozen=True)
class Figures:
    side: str          # who answered: "backend" or "charger"
    action: str
    count: int
    p50: float
    p95: float
    max: float
    unanswered: int    # no answer, the connection up to the end of the record
    open_at_close: int = 0   # no answer because the connection closed first
    in_flight: int = 0       # no answer yet, the record ended less than IN_FLIGHT_S after the call

    def text(self) -> str:
        return (f"{self.side:7} {self.action:32} n={self.count:<5} p50 {self.p50 * 1000:8.1f} ms  "
                f"p95 {self.p95 * 1000:8.1f} ms  max {self.max * 1000:8.1f} ms"
                + (f"  unanswered {self.unanswered}" if self.unanswered else "")
                + (f"  in flight {self.in_flight} (sent under {IN_FLIGHT_S:g} s before the end)"
                   if self.in_flight else "")
                + (f"  open at a close {self.open_at_close} (the connection closed before an answer)"
                   if self.open_at_close else ""))


@dataclass(frozen=True)
class Pending:
    """A call without an answer: when the answering side got it, and when its connection closed (None: up)."""
    t: float
    closed_t: float | None = None


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


def relayed(recorder: Recorder, station: str | None = None) -> Relayed:
    """What the relay did with the frames of `station` (or of every station), from its events."""
    def mine(e: dict) -> bool:
        return station in (None, e.get("station"))
    held = {(e["direction"], e["unique_id"], e["frame_t"]): e["passed_on_t"] for e in recorder.events("proxy.held")
            if mine(e) and e.get("unique_id") is not None}
    closes: dict[str, list[float]] = {}
    for e in recorder.events("proxy.closed"):
        if mine(e):
            closes.setdefault(e.get("station", ""), []).append(e["t"])
    return Relayed(undelivered(recorder, station), held, {s: tuple(sorted(ts)) for s, ts in closes.items()})


def delivered(frame: Frame, lost: Lost) -> bool:
    return (frame.direction, frame.unique_id, frame.t) not in lost


def response_times(frames: Iterable[Frame], injected: Iterable[str] = (), relay: Relayed = Relayed(),
                   now: float | None = None) -> dict[tuple[str, str], Figures]:
    """(answering side, action) -> its figures, over every answered call in `frames`; `now`: the end of the
    record (bench t), to tell calls still in flight from unanswered ones."""
    times, pending = _times(frames, injected, relay)
    out: dict[tuple[str, str], Figures] = {}
    for key in sorted(set(times) | set(pending)):
        got = times.get(key, [])
        waiting = pending.get(key, [])
        cut = sum(p.closed_t is not None for p in waiting)
        young = sum(p.closed_t is None and now is not None and now - p.t < IN_FLIGHT_S for p in waiting)
        out[key] = Figures(key[0], key[1], len(got), percentile(got, 50), percentile(got, 95),
                           max(got) if got else math.nan, len(waiting) - cut - young, cut, young)
    return out


def answer_times(frames: Iterable[Frame], injected: Iterable[str] = (),
                 relay: Relayed = Relayed()) -> dict[tuple[str, str], list[float]]:
    """(answering side, action) -> each answered call's response time, in order."""
    return _times(frames, injected, relay)[0]


def pending_calls(frames: Iterable[Frame], injected: Iterable[str] = (),
                  relay: Relayed = Relayed()) -> dict[tuple[str, str], list[Pending]]:
    """(answering side, action) -> the calls not (yet) answered in `frames`."""
    return _times(frames, injected, relay)[1]


def _times(frames: Iterable[Frame], injected: Iterable[str], relay: Relayed
           ) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], list[Pending]]]:
    skip = set(injected)
    open_calls: dict[tuple[str, str], tuple[str, float, str]] = {}   # (caller direction, id) -> (action, t, station)
    times: dict[tuple[str, str], list[float]] = {}
    for f in frames:
        if f.unique_id is None or f.unique_id in skip:
            continue
        if f.message_type == CALL and f.action:
            if not delivered(f, relay.lost):   # never reached the side that would answer it
                open_calls.pop((f.direction, f.unique_id), None)
                continue
            open_calls[(f.direction, f.unique_id)] = (f.action, relay.start(f), f.station)
        elif f.message_type in (CALLRESULT, CALLERROR):
            caller = "tx" if f.direction == "rx" else "rx"
            call = open_calls.pop((caller, f.unique_id), None)
            if call is not None:
                side = "backend" if caller == "rx" else "charger"
                times.setdefault((side, call[0]), []).append(f.t - call[1])
    pending: dict[tuple[str, str], list[Pending]] = {}
    for (caller, _), (action, t, station) in open_calls.items():
        key = ("backend" if caller == "rx" else "charger", action)
        pending.setdefault(key, []).append(Pending(t, relay.close_after(station, t)))
    return times, pending
