"""Reading recorded signal series: conditions, interpolation, values over a measurement window.

Pure functions over (t, v) lists as the recorder keeps them; no waiting, no I/O. The expectation engine
(`runner.judge`) decides when enough has been recorded and calls these.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from dsl.plan import Comparison, Condition, StateIs

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


def held_from(ts: Sequence[float], vs: Sequence[object], start: float, end: float) -> list[tuple[float, object]]:
    """The samples in [start, end], led by the value held at `start` (the last sample before it, stamped
    `start`): a signal keeps its last recorded value until the next sample, as a status does."""
    i = bisect.bisect_right(ts, start)
    out: list[tuple[float, object]] = [(start, vs[i - 1])] if i > 0 else []
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
             hold: float, complete_until: float) -> Settling:
    """Judge "C holds without a break for `hold`, on a run starting in [t0, deadline]" on the samples up
    to `complete_until` (the record is taken as complete up to there). A run starts at the first sample
    that holds (the value held at t0 counts, stamped t0) and ends at the first that does not; a sample
    without a value neither starts nor ends one. The earliest run that lasts `hold` wins."""
    points = held_from(ts, vs, t0, complete_until)
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


def covers(ts: Sequence[float], vs: Sequence[float | None], t: float) -> bool:
    """Whether the series has a numeric sample at or after t (so interpolation at t is possible)."""
    return any(tt >= t and isinstance(v, int | float) for tt, v in zip(ts, vs, strict=True))
