"""Judge a charger's reported composite schedule against the one the harness computed.

The two start at slightly different instants (the harness takes X when it sends the request, the
charger when it receives it), so they are compared on wall time, and a step boundary may be late or
early by up to `boundary_slack_s` (the round trip, the charger's one-second resolution) without
counting. Limits agree within `limit_tolerance` in the expected schedule's unit (default 0.1 A per
phase, or its power on the step's phases: a limit is written with at most one decimal); the window's
edges move with the request's latency, so a schedule short of them by the slack still covers. A reported
schedule in the other unit is converted with the supply's voltage and the step's phases. Spans the
harness cannot predict (no profile and no local limit: the charger's own maximum applies) are not
judged, and are listed so a verdict can say so.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from runner.schedules.composite import effective_phases, to_unit
from runner.schedules.model import CompositePeriod, CompositeSchedule, RateUnit, Supply

_SPAN_S = 1e-6  # spans shorter than this are artefacts of float offsets


@dataclass(frozen=True)
class Mismatch:
    """From `from_s` to `to_s` after the expected start the charger's limit is not the expected one."""

    from_s: float
    to_s: float
    expected: float | None
    reported: float | None  # None: the charger's schedule has no period there
    unit: RateUnit
    bound_by: str
    # The phases each side's limit is on, when they differ (a limit in A is per phase: 16 A on 3 phases
    # allows three times the power of 16 A on 1); None when the phases agree or do not matter.
    expected_phases: int | None = None
    reported_phases: int | None = None

    def describe(self) -> str:
        def show(v: float | None, phases: int | None) -> str:
            on = "" if phases is None else f" on {phases} phase{'s' if phases > 1 else ''}"
            return "no period" if v is None else f"{v:g} {self.unit}{on}"

        why = f" (set by {self.bound_by})" if self.bound_by else ""
        return (
            f"from {self.from_s:g} s to {self.to_s:g} s: expected {show(self.expected, self.expected_phases)}{why}, "
            f"the charger reported {show(self.reported, self.reported_phases)}"
        )


@dataclass(frozen=True)
class Comparison:
    mismatches: tuple[Mismatch, ...]
    unjudged: tuple[tuple[float, float], ...]  # (from_s, to_s) spans no sent profile constrains

    @property
    def agrees(self) -> bool:
        return not self.mismatches


def in_unit(schedule: CompositeSchedule, unit: RateUnit, supply: Supply) -> CompositeSchedule:
    """`schedule` with its limits in `unit` (A per phase <-> W on each step's phases)."""
    if schedule.rate_unit == unit:
        return schedule

    def convert(p: CompositePeriod) -> CompositePeriod:
        if p.limit is None:
            return p
        phases = effective_phases(p.number_phases, supply)
        amps = p.limit if schedule.rate_unit == "A" else p.limit / (supply.voltage_v * phases)
        return CompositePeriod(p.start_s, to_unit(amps, phases, unit, supply), p.number_phases, p.bound_by)

    return CompositeSchedule(
        schedule.evse_id, schedule.start, schedule.duration_s, unit, tuple(convert(p) for p in schedule.periods)
    )


def compare(
    expected: CompositeSchedule,
    reported: CompositeSchedule,
    *,
    supply: Supply | None = None,
    boundary_slack_s: float = 2.0,
    limit_tolerance: float | None = None,
) -> Comparison:
    """Where `reported` differs from `expected` over the expected window (see the module docstring)."""
    supply = supply or Supply()
    reported = in_unit(reported, expected.rate_unit, supply)
    shift = (reported.start - expected.start) / timedelta(seconds=1)
    # Limit changes inside the window may be late or early by the slack; the window's own edges only
    # move with the request's latency, which matters for whether the charger's schedule covers them.
    inner = sorted({p.start_s for p in expected.periods if p.start_s > 0})
    edges = (0.0, expected.duration_s)
    points = {*inner, *edges, *(p.start_s + shift for p in reported.periods), shift, shift + reported.duration_s}
    cuts = sorted(t for t in points if 0 <= t <= expected.duration_s)
    mismatches: list[Mismatch] = []
    unjudged: list[tuple[float, float]] = []
    for a, b in itertools.pairwise(cuts):
        lo, hi = _trim(a, b, inner, boundary_slack_s)
        if hi - lo < _SPAN_S:
            continue
        want = expected.at(a)
        got = reported.at(a - shift)
        if want is None or want.limit is None:
            _extend(unjudged, lo, hi)
            continue
        tolerance = limit_tolerance
        if tolerance is None:
            tolerance = to_unit(0.1, want.number_phases, expected.rate_unit, supply)
        phases: tuple[int | None, int | None] = (None, None)
        if got is not None and got.limit is not None and abs(got.limit - want.limit) <= tolerance + 1e-9:
            wanted_on = effective_phases(want.number_phases, supply)
            got_on = effective_phases(got.number_phases, supply)
            if expected.rate_unit != "A" or wanted_on == got_on:
                continue
            phases = (wanted_on, got_on)  # the same current per phase on other phases: another power
        if got is None:  # not covered: a latency at the window's edges does not count
            lo, hi = _trim(lo, hi, edges, boundary_slack_s)
            if hi - lo < _SPAN_S:
                continue
        seen = None if got is None else got.limit
        last = mismatches[-1] if mismatches else None
        joins = last is not None and abs(last.to_s - lo) <= 2 * boundary_slack_s
        if (last is not None and joins and last.expected == want.limit and last.reported == seen
                and (last.expected_phases, last.reported_phases) == phases):
            mismatches[-1] = Mismatch(last.from_s, hi, last.expected, seen, last.unit, last.bound_by, *phases)
        else:
            mismatches.append(Mismatch(lo, hi, want.limit, seen, expected.rate_unit, want.bound_by, *phases))
    return Comparison(tuple(mismatches), tuple(unjudged))


def _trim(a: float, b: float, boundaries: Iterable[float], slack_s: float) -> tuple[float, float]:
    """[a, b) less `slack_s` either side of each boundary (none lies strictly inside [a, b))."""
    lo, hi = a, b
    for e in boundaries:
        if e <= a:
            lo = max(lo, e + slack_s)
        else:
            hi = min(hi, e - slack_s)
    return lo, hi


def _extend(spans: list[tuple[float, float]], lo: float, hi: float) -> None:
    if spans and abs(spans[-1][1] - lo) < _SPAN_S:
        spans[-1] = (spans[-1][0], hi)
    else:
        spans.append((lo, hi))
