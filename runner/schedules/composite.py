"""The composite schedule the harness expects a charger to report (OCPP 2.0.1 Part 2, use case K08).

The CSMS may ask for it (K08.FR.01); the charger answers GetCompositeScheduleRequest(evseId, duration,
chargingRateUnit) with the limits that apply from the moment it got the request (time X) up to
X + duration, evseId 0 meaning the station's connection to the grid (K08.FR.03 (check)). This module
computes the same schedule from the profiles the harness sent, so a spec can compare the two.
Requirement ids marked (check) were cited from memory of Part 2, which is not among the documents in
/work/shared: confirm them against the standard before quoting them in a report.

The rules, as block K states them ("Stacking charging profiles" and "Combining charging profile
purposes" in Part 2's smart-charging section; the K01 requirements cited inline):

1. A profile applies at time t when t is in [validFrom, validTo) and its schedule is running at t:
   Absolute from startSchedule; Recurring from the latest startSchedule + k x cycle (Daily 24 h,
   Weekly 7 d) not after t, and not before the first startSchedule (check); Relative from the moment
   the EVSE became ready to deliver energy (errata 2023-12 on Relative), or from X when there is no
   transaction (check: the schedule a session starting now would get). A schedule with a duration stops after it; the
   last period lasts otherwise (a Recurring one until its next recurrence).
2. Within one purpose, the applying profile with the highest stackLevel prevails; a higher stackLevel
   whose schedule has ended (or not begun) leaves the time to the lower ones. No two profiles of the
   same purpose and stackLevel on the same EVSE may apply at once (K01.FR.06 (check), refused on
   install); a TxDefaultProfile on evseId 0 applies to every EVSE (K01.FR.14 (check)) and at an equal
   stackLevel the one set on the EVSE itself prevails over it (check).
3. The TxProfile of the EVSE's transaction (K01.FR.03: bound by transactionId) replaces the
   TxDefaultProfile while it applies.
4. The result is the minimum of that, the ChargingStationMaxProfile (evseId 0 only, K01.FR.03) and
   the ChargingStationExternalConstraints (on evseId 0 and on the EVSE), and the EVSE's own local
   limit when the caller knows it. For evseId 0 only the station-wide limits count.
5. Units. A limit in A is per phase; in W it is the total. The composite step uses the fewest phases
   any applying period allows (numberPhases absent = 3, ChargingSchedulePeriodType; never more than
   the supply has); limits meet as A per phase on those phases (A = W / (V x phases)) and the result
   is given in the unit asked for (W = A x V x phases).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from runner.schedules.model import (
    DEFAULT_PHASES,
    ChargingProfile,
    CompositePeriod,
    CompositeSchedule,
    Kind,
    Limit,
    Period,
    Purpose,
    RateUnit,
    Supply,
    Transaction,
)

_EPSILON = 1e-9


@dataclass(frozen=True)
class _Bound:
    """One limit in force at an instant, before the limits meet: its value in its unit, on its phases."""

    limit: float
    rate_unit: RateUnit
    phases: int
    by: str


def applies_to(profile: ChargingProfile, evse_id: int, transaction: Transaction | None) -> bool:
    """Whether `profile` takes part in the composite of `evse_id` (rules 2-4 above)."""
    if evse_id == 0:
        return profile.evse_id == 0 and profile.purpose in (Purpose.STATION_MAX, Purpose.EXTERNAL)
    if profile.purpose is Purpose.STATION_MAX:
        return profile.evse_id == 0
    if profile.purpose is Purpose.TX:
        return (
            profile.evse_id == evse_id and transaction is not None and profile.transaction_id == transaction.id
        )
    return profile.evse_id in (0, evse_id)


def occurrence_start(profile: ChargingProfile, t: datetime, relative_origin: datetime) -> datetime | None:
    """Where the run of the schedule that is (or would be) in force at `t` started (rule 1)."""
    s = profile.schedule
    if profile.kind is Kind.RELATIVE:
        return relative_origin
    assert s.start is not None  # parse_profile refuses Absolute/Recurring without it (K01.FR.40)
    if profile.kind is Kind.ABSOLUTE or profile.recurrency is None:
        return s.start
    if t < s.start:
        return None
    cycle = timedelta(seconds=profile.recurrency.cycle_s)
    return s.start + cycle * ((t - s.start) // cycle)


def period_at(profile: ChargingProfile, t: datetime, relative_origin: datetime) -> Period | None:
    """The period of `profile` in force at `t`, None when the profile does not apply then (rule 1)."""
    if (profile.valid_from is not None and t < profile.valid_from) or (
        profile.valid_to is not None and t >= profile.valid_to
    ):
        return None
    origin = occurrence_start(profile, t, relative_origin)
    if origin is None:
        return None
    elapsed = (t - origin).total_seconds()
    s = profile.schedule
    if elapsed < 0 or (s.duration_s is not None and elapsed >= s.duration_s):
        return None
    current = None
    for period in s.periods:
        if period.start_s <= elapsed + _EPSILON:
            current = period
    return current


def _occurrences(
    profile: ChargingProfile, start: datetime, end: datetime, relative_origin: datetime
) -> Iterator[datetime]:
    s = profile.schedule
    if profile.kind is not Kind.RECURRING or profile.recurrency is None or s.start is None:
        origin = occurrence_start(profile, start, relative_origin)
        if origin is not None:
            yield origin
        return
    cycle = timedelta(seconds=profile.recurrency.cycle_s)
    k = max(0, (start - s.start) // cycle)
    while s.start + cycle * k < end:
        yield s.start + cycle * k
        k += 1


def _breakpoints(
    profiles: Iterable[ChargingProfile], start: datetime, end: datetime, relative_origin: datetime
) -> list[datetime]:
    """Every instant in [start, end) where some applying profile may change its limit."""
    points = {start}
    for p in profiles:
        points.update(m for m in (p.valid_from, p.valid_to) if m is not None)
        for origin in _occurrences(p, start, end, relative_origin):
            points.update(origin + timedelta(seconds=q.start_s) for q in p.schedule.periods)
            if p.schedule.duration_s is not None:
                points.add(origin + timedelta(seconds=p.schedule.duration_s))
    return sorted(t for t in points if start <= t < end)


def effective_phases(number_phases: int | None, supply: Supply) -> int:
    """The phases a period's limit applies on: numberPhases (3 when absent), never more than the supply has."""
    return min(supply.phases, number_phases or DEFAULT_PHASES)


def _prevailing(
    pool: list[ChargingProfile], t: datetime, relative_origin: datetime
) -> tuple[ChargingProfile, Period] | None:
    """Rule 2: the highest stackLevel that applies; at a tie the EVSE's own profile over evseId 0."""
    running = [(p, q) for p in pool if (q := period_at(p, t, relative_origin)) is not None]
    if not running:
        return None
    return max(running, key=lambda pq: (pq[0].stack_level, pq[0].evse_id != 0))


def _bounds_at(
    profiles: list[ChargingProfile],
    evse_id: int,
    t: datetime,
    relative_origin: datetime,
    supply: Supply,
    local_limit: Limit | None,
) -> list[_Bound]:
    """Every limit in force at `t`, the EVSE's own first (rules 3-4)."""
    by_purpose: dict[Purpose, list[ChargingProfile]] = {}
    for p in profiles:
        by_purpose.setdefault(p.purpose, []).append(p)
    chosen: list[tuple[ChargingProfile, Period]] = []
    if evse_id != 0:
        tx = _prevailing(by_purpose.get(Purpose.TX, []), t, relative_origin)
        own = tx or _prevailing(by_purpose.get(Purpose.TX_DEFAULT, []), t, relative_origin)
        if own is not None:
            chosen.append(own)
    station_max = _prevailing(by_purpose.get(Purpose.STATION_MAX, []), t, relative_origin)
    if station_max is not None:
        chosen.append(station_max)
    external = by_purpose.get(Purpose.EXTERNAL, [])
    # External constraints on the station and on the EVSE both hold: each scope's prevailing one caps.
    for scope in sorted({p.evse_id for p in external}):
        ext = _prevailing([p for p in external if p.evse_id == scope], t, relative_origin)
        if ext is not None:
            chosen.append(ext)
    bounds = [_Bound(q.limit, p.schedule.rate_unit, effective_phases(q.number_phases, supply), p.label())
              for p, q in chosen]
    if local_limit is not None:
        phases = effective_phases(local_limit.number_phases, supply)
        bounds.append(_Bound(local_limit.value, local_limit.rate_unit, phases, "the local limit"))
    return bounds


def _meet(bounds: list[_Bound], supply: Supply) -> tuple[float | None, int, str]:
    """Rule 5: the lowest limit as A per phase on the fewest phases; None when nothing constrains."""
    if not bounds:
        return None, supply.phases, ""
    phases = min(b.phases for b in bounds)
    best_amps, best_by = math.inf, ""
    for b in bounds:
        amps = b.limit if b.rate_unit == "A" else b.limit / (supply.voltage_v * phases)
        if amps < best_amps - _EPSILON:  # on a tie the first named (the EVSE's own profile) is reported
            best_amps, best_by = amps, b.by
    return best_amps, phases, best_by


def to_unit(amps: float, phases: int, unit: RateUnit, supply: Supply) -> float:
    """A per phase on `phases` -> the same limit in `unit`."""
    return amps if unit == "A" else amps * supply.voltage_v * phases


def composite_schedule(
    profiles: Iterable[ChargingProfile],
    *,
    evse_id: int,
    start: datetime,
    duration_s: float,
    rate_unit: RateUnit,
    supply: Supply | None = None,
    transaction: Transaction | None = None,
    local_limit: Limit | None = None,
) -> CompositeSchedule:
    """The composite of `evse_id` over [start, start + duration_s) from the installed `profiles`.

    `profiles` are those the charger holds (accepted, not cleared, not replaced: see
    :func:`runner.schedules.install`; a TxProfile sent with RequestStartTransaction counts once
    :func:`runner.schedules.bind` gave it the transaction's id); `transaction` is the EVSE's
    transaction, if any; `local_limit`
    the EVSE's (or for evseId 0 the station's) own maximum, when known. Spans no limit reaches have
    `limit` None.
    """
    supply = supply or Supply()
    end = start + timedelta(seconds=duration_s)
    pool = [p for p in profiles if applies_to(p, evse_id, transaction)]
    relative_origin = transaction.energy_from if transaction is not None else start
    periods: list[CompositePeriod] = []
    for t in _breakpoints(pool, start, end, relative_origin):
        amps, phases, by = _meet(_bounds_at(pool, evse_id, t, relative_origin, supply, local_limit), supply)
        limit = None if amps is None else to_unit(amps, phases, rate_unit, supply)
        step = CompositePeriod((t - start).total_seconds(), limit, phases, by)
        if periods and _same(periods[-1], step):
            continue
        periods.append(step)
    return CompositeSchedule(evse_id, start, duration_s, rate_unit, tuple(periods))


def _same(a: CompositePeriod, b: CompositePeriod) -> bool:
    if a.number_phases != b.number_phases or (a.limit is None) != (b.limit is None):
        return False
    return a.limit is None or b.limit is None or math.isclose(a.limit, b.limit, abs_tol=_EPSILON)
