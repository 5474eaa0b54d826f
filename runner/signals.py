"""Reading recorded signal series: conditions, interpolation, values over a measurement window, coverage.

Pure functions over (t, v) lists as the recorder keeps them; no waiting, no I/O. The expectation engine
(`runner.judge`) decides when enough has been recorded and calls these.

Two kinds of signal. Event-driven ones (``charger.*``: a status, a periodic meter value) are reported by
the charger and hold their value until the next report: sample-and-hold is their meaning. Sampled ones
(``analyzer.*``, ``ev.*``, and the ``station.*`` sums over a station's analyzers: runner/station_sum.py) are
polled by the bench at an update interval: a value holds only as long as the bench kept looking, so a
span judged on them must be covered (:func:`coverage`) and a value held from longer ago than the
signal's max gap is stale (``max_age`` below), not evidence.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from dsl.plan import Comparison, Condition, Signal, StateIs

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}

# Cumulative signals are compared as their change over a window; all others as their mean.
CUMULATIVE_SUFFIXES = ("energy", "Energy.Active.Import.Register", "Energy.Active.Export.Register",
                       "Energy.Reactive.Import.Register", "Energy.Reactive.Export.Register",
                       "Energy.Active.Net", "Energy.Apparent.Net")


def is_cumulative(key: str) -> bool:
    return any(key == s or key.endswith("." + s) or key.startswith(f"charger.{s}") for s in CUMULATIVE_SUFFIXES)


def holds(condition: Condition, value: object) -> bool | None:
    """Whether one sample satisfies the condition; None when the sample has no value."""
    if value is None:
        return None
    if isinstance(condition, StateIs):
        return str(value) in condition.states
    assert isinstance(condition, Comparison)
    if not isinstance(value, int | float):
        return None
    return _OPS[condition.op](float(value), condition.bound.value)


# Sources the bench polls (see the module docstring); everything else is event-driven.
SAMPLED_SOURCES = ("analyzer", "ev", "station")


def is_sampled(signal: Signal) -> bool:
    """Whether the bench polls `signal` (coverage applies) rather than the charger reporting it."""
    return signal.source in SAMPLED_SOURCES


def held_from(ts: Sequence[float], vs: Sequence[object], start: float, end: float,
              max_age: float | None = None) -> list[tuple[float, object]]:
    """The samples in [start, end], led by the value held at `start` (the last sample before it, stamped
    `start`): a signal keeps its last recorded value until the next sample, as a status does. With
    `max_age` (sampled signals), a held sample older than that at `start` is stale and left out."""
    i = bisect.bisect_right(ts, start)
    fresh = i > 0 and (max_age is None or start - ts[i - 1] <= max_age)
    out: list[tuple[float, object]] = [(start, vs[i - 1])] if fresh else []
    out += [(t, v) for t, v in zip(ts[i:], vs[i:], strict=True) if t <= end]
    return out


@dataclass(frozen=True)
class Settling:
    """Where a settle criterion stands on the record so far (see :func:`settling`).

    - ``settled``: the condition held at every sample from `start` (no later than the deadline) to
      `start` + hold.
    - ``broke``: it held from `start` (no later than the deadline), then `violation` (the first sample
      that broke it) came after the deadline, so no later run can count.
    - ``never``: at the deadline the condition did not hold; `violation` is the last violating sample
      up to the deadline (None when there was no valid sample at all).
    - ``pending``: the record does not decide yet.
    """

    state: Literal["settled", "broke", "never", "pending"]
    start: float | None = None
    violation: tuple[float, object] | None = None
    samples: int = 0


def settling(ts: Sequence[float], vs: Sequence[object], condition: Condition, t0: float, deadline: float,
             hold: float, complete_until: float, max_age: float | None = None) -> Settling:
    """Judge "C holds without a break for `hold`, on a run starting in [t0, deadline]" on the samples up
    to `complete_until` (the record is taken as complete up to there). A run starts at the first sample
    that holds (the value held at t0 counts, stamped t0, unless older than `max_age`) and ends at the first
    that does not; a sample without a value neither starts nor ends one. The earliest run that lasts
    `hold` wins. Whether the samples cover the run is :func:`coverage`'s question, asked by the caller."""
    points = held_from(ts, vs, t0, complete_until, max_age)
    start: float | None = None
    last_violation: tuple[float, object] | None = None
    for t, v in points:
        if start is not None and t > start + hold:
            break
        verdict = holds(condition, v)
        if verdict is True and start is None:
            if t > deadline:
                break
            start = t
        elif verdict is False:
            if start is not None and t > deadline:
                return Settling("broke", start, (t, v), len(points))
            if start is None and t > deadline:
                break
            start, last_violation = None, (t, v)
    if start is not None:
        done = complete_until >= start + hold
        return Settling("settled" if done else "pending", start, None, len(points))
    if complete_until < deadline:
        return Settling("pending", None, last_violation, len(points))
    return Settling("never", None, last_violation, len(points))


@dataclass(frozen=True)
class Coverage:
    """How densely a sampled signal's record covers a span (see :func:`coverage`).

    `samples` counts the valued samples the span is judged on (a held one included); `largest_gap` is
    the longest stretch without one; `gap` is the first stretch longer than the allowed max gap, as
    (from, to) bench times, or None when the span is covered; `of` the series the gap is in, when the
    judge found it in another than the signal's own (runner/judge.py: a station total's analyzers)."""

    samples: int
    largest_gap: float
    gap: tuple[float, float] | None
    of: str | None = None  # the series the gap is in, when not the signal's own (a station total's part)


def coverage(ts: Sequence[float], vs: Sequence[object], start: float, end: float, max_gap: float) -> Coverage:
    """The gaps in the record of a sampled signal over [start, end]: the leading one, from the last sample
    at or before `start` (or from `start` when there is none) to the first after it; those between
    consecutive samples; the tail, from the last sample to `end`. Put otherwise: at every instant of the
    span, the latest sample must be no older than `max_gap`. A sample without a value (the instrument
    returned no reading) measured nothing and does not count. A gap longer than `max_gap` means the span
    was not measured: a verdict that rests on all of it cannot be given."""
    times = [t for t, v in zip(ts, vs, strict=True) if v is not None]
    i = bisect.bisect_right(times, start)
    j = bisect.bisect_right(times, end)
    lead = times[i - 1] if i > 0 else start
    points = [lead, *times[i:j], end]
    gaps = list(itertools.pairwise(points))
    largest = max((b - a for a, b in gaps), default=0.0)
    first_bad = next(((a, b) for a, b in gaps if b - a > max_gap), None)
    return Coverage((1 if i > 0 else 0) + (j - i), largest, first_bad)


def interpolate(ts: Sequence[float], vs: Sequence[float | None], t: float) -> float | None:
    """Linear interpolation of a numeric series at time t; None outside the series or across gaps."""
    pts = [(a, b) for a, b in zip(ts, vs, strict=True) if isinstance(b, int | float)]
    if not pts:
        return None
    times = [p[0] for p in pts]
    i = bisect.bisect_left(times, t)
    if i < len(times) and times[i] == t:
        return float(pts[i][1])
    if i == 0 or i == len(times):
        return None
    (t0, v0), (t1, v1) = pts[i - 1], pts[i]
    return float(v0 + (v1 - v0) * (t - t0) / (t1 - t0))


def as_claimed(ts: Sequence[float], vs: Sequence[float | None], claims: Mapping[float, float]
               ) -> tuple[list[float], list[float | None]]:
    """The series with each reading that `claims` names (by its time in the series) moved back to the time
    claimed for it, as far as the order of the series allows (just after the reading before it, as moved)."""
    out_t: list[float] = []
    for t in ts:
        if t in claims:
            t = max(claims[t], math.nextafter(out_t[-1], math.inf)) if out_t else claims[t]
        out_t.append(t)
    return out_t, list(vs)


@dataclass(frozen=True)
class WindowValue:
    value: float
    first: float  # value at the window start (cumulative) or min (others)
    last: float
    samples: int


def over_window(key: str, ts: Sequence[float], vs: Sequence[float | None], start: float,
                end: float) -> WindowValue | None:
    """Change over [start, end] for a cumulative signal, mean otherwise; None without enough data."""
    if is_cumulative(key):
        a, b = interpolate(ts, vs, start), interpolate(ts, vs, end)
        if a is None or b is None:
            return None
        n = sum(1 for t in ts if start <= t <= end)
        return WindowValue(b - a, a, b, n)
    inside = [float(v) for t, v in zip(ts, vs, strict=True) if start <= t <= end and isinstance(v, int | float)]
    if not inside:
        return None
    return WindowValue(sum(inside) / len(inside), min(inside), max(inside), len(inside))


@dataclass(frozen=True)
class Fall:
    """Where a register fell: from `before` at `t_before` to `after` at `t`."""

    t_before: float
    before: float
    t: float
    after: float


def never_falls(key: str) -> bool:
    """Whether the signal is a register that only counts up (an import or export register, an analyzer's
    integrated energy), so that a fall in it is a reset or a fault; net registers may fall."""
    return is_cumulative(key) and ".Net" not in key


def first_fall(ts: Sequence[float], vs: Sequence[float | None], start: float, end: float) -> Fall | None:
    """The first fall of a register over [start, end], the samples either side that its interpolation at the
    window's edges reads included; None when it only rose or held (a change below a part in 10^9 of its
    value is rounding, not a fall)."""
    pts = [(t, float(v)) for t, v in zip(ts, vs, strict=True) if isinstance(v, int | float)]
    times = [t for t, _ in pts]
    lo = max(0, bisect.bisect_right(times, start) - 1)
    hi = bisect.bisect_left(times, end) + 1
    for (ta, a), (tb, b) in itertools.pairwise(pts[lo:hi]):
        if b < a - 1e-9 * max(abs(a), 1.0):
            return Fall(ta, a, tb, b)
    return None


def edge_bracket(ts: Sequence[float], vs: Sequence[float | None], t: float) -> tuple[float, float] | None:
    """The times of the numeric readings either side of `t` that :func:`interpolate` reads there ((t, t) on a
    reading at t); None when one side has none (interpolation then has no value either)."""
    pts = [tt for tt, v in zip(ts, vs, strict=True) if isinstance(v, int | float)]
    i = bisect.bisect_left(pts, t)
    if i < len(pts) and pts[i] == t:
        return (t, t)
    if i == 0 or i == len(pts):
        return None
    return (pts[i - 1], pts[i])


def covers(ts: Sequence[float], vs: Sequence[float | None], t: float) -> bool:
    """Whether the series has a numeric sample at or after t (so interpolation at t is possible)."""
    return any(tt >= t and isinstance(v, int | float) for tt, v in zip(ts, vs, strict=True))


