"""Smart charging for the virtual charger: charging profiles, their validation, the composite schedule.

Profiles arrive as the `ocpp` library hands them over (snake_case dicts). The rules are OCPP 2.0.1 block
K as DOMAIN.md lists them: ChargingStationMaxProfile only on EVSE 0 and never Relative; TxProfile only
for the active transaction on its EVSE; first startPeriod 0 and ascending; a limit has at most one
decimal; Absolute/Recurring need a startSchedule, Relative must not have one; rate unit among
SmartChargingCtrlr.RateUnit; a second profile with the same purpose and stackLevel on the same EVSE is
rejected; the same id replaces. Composite: within a purpose the highest stackLevel whose schedule is
running wins; TxProfile replaces TxDefaultProfile; the result is capped by ChargingStationMaxProfile and
external constraints (on the station, and on the EVSE for its own composite). Limits meet as A per phase
on the fewest phases any of them allows (a period's numberPhases, 3 when absent): W / (nominal V x
phases); a composite asked in W is W = A x V x those phases. A Relative schedule without a transaction
counts from the moment the composite is asked for. runner/schedules is the harness's independent
implementation of the same rules; tests/runner/test_schedule_vs_twin.py holds the two together.

    store = ProfileStore(evses=2, voltage_v=230, phases=3)
    store.add(parse_profile(1, request["charging_profile"]), active_tx={1: "tx-1"})
    store.evse_limit_a(1, now, TxContext("tx-1", started))   # 10.0
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

TX = "TxProfile"
TX_DEFAULT = "TxDefaultProfile"
STATION_MAX = "ChargingStationMaxProfile"
EXTERNAL = "ChargingStationExternalConstraints"
PURPOSES = (STATION_MAX, EXTERNAL, TX_DEFAULT, TX)
KINDS = ("Absolute", "Recurring", "Relative")
RECURRENCY_S = {"Daily": 86400.0, "Weekly": 7 * 86400.0}
# The id of the EMS's ChargingStationExternalConstraints profile (set by the charger itself, never by the
# CSMS: a CSMS's profile ids are its own, this one sits at the top of the int32 range out of their way).
EXTERNAL_ID = 2**31 - 1


class ProfileRejected(Exception):
    """A profile the charger refuses; `reason` is the reasonCode it reports in statusInfo."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class Period:
    start_s: float
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True)
class Schedule:
    rate_unit: str
    periods: tuple[Period, ...]
    start: datetime | None = None
    duration_s: float | None = None
    id: int = 0


@dataclass(frozen=True)
class Profile:
    id: int
    evse_id: int
    stack_level: int
    purpose: str
    kind: str
    schedule: Schedule
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None
    raw: Mapping[str, Any] | None = None  # as received, for GetChargingProfiles reports


@dataclass(frozen=True)
class TxContext:
    transaction_id: str
    started: datetime


def decimals(number: float | int) -> int:
    """Decimal places of a number as it was written in the JSON (10.25 -> 2, 16 -> 0, 6.0 -> 0)."""
    # repr gives the shortest text that reads back as the same float, i.e. what the CSMS wrote.
    exponent = Decimal(repr(number)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProfileRejected("InvalidValue", f"{text!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_profile(evse_id: int, data: Mapping[str, Any]) -> Profile:
    """A snake_case chargingProfile dict -> :class:`Profile`; shape rules raise :class:`ProfileRejected`."""
    purpose = data.get("charging_profile_purpose")
    kind = data.get("charging_profile_kind")
    if purpose not in PURPOSES:
        raise ProfileRejected("InvalidValue", f"chargingProfilePurpose {purpose!r}")
    if kind not in KINDS:
        raise ProfileRejected("InvalidValue", f"chargingProfileKind {kind!r}")
    schedules = data.get("charging_schedule") or []
    if isinstance(schedules, Mapping):  # tolerate 1.6-style single schedule
        schedules = [schedules]
    if not schedules:
        raise ProfileRejected("InvalidSchedule", "chargingSchedule is empty")
    s = schedules[0]
    raw_periods = s.get("charging_schedule_period") or []
    if not raw_periods:
        raise ProfileRejected("InvalidSchedule", "chargingSchedulePeriod is empty")
    periods = tuple(Period(float(p["start_period"]), float(p["limit"]), p.get("number_phases")) for p in raw_periods)
    if periods[0].start_s != 0:
        raise ProfileRejected("InvalidSchedule", f"the first startPeriod is {periods[0].start_s:g}, it must be 0")
    if any(b.start_s <= a.start_s for a, b in itertools.pairwise(periods)):
        raise ProfileRejected("InvalidSchedule", "startPeriod values must increase")
    if any(p.limit < 0 for p in periods):
        raise ProfileRejected("InvalidSchedule", "a limit is negative")
    for p in raw_periods:
        if decimals(p["limit"]) > 1:
            raise ProfileRejected(
                "InvalidSchedule",
                f"limit {p['limit']!r} at startPeriod {p['start_period']} has more than one decimal; "
                "OCPP 2.0.1 accepts at most one digit fraction, e.g. 8.1 (ChargingSchedulePeriodType.limit)",
            )
    schedule = Schedule(
        rate_unit=str(s.get("charging_rate_unit")),
        periods=periods,
        start=parse_time(s.get("start_schedule")),
        duration_s=s.get("duration"),
        id=s.get("id", 0),
    )
    if kind in ("Absolute", "Recurring") and schedule.start is None:
        raise ProfileRejected("InvalidSchedule", f"a {kind} profile needs startSchedule")
    if kind == "Relative" and schedule.start is not None:
        raise ProfileRejected("InvalidSchedule", "a Relative profile must not have startSchedule")
    recurrency = data.get("recurrency_kind")
    if kind == "Recurring" and recurrency not in RECURRENCY_S:
        raise ProfileRejected(
            "InvalidSchedule", f"a Recurring profile needs recurrencyKind Daily or Weekly, got {recurrency!r}"
        )
    profile = Profile(
        id=int(data["id"]),
        evse_id=evse_id,
        stack_level=int(data["stack_level"]),
        purpose=purpose,
        kind=kind,
        schedule=schedule,
        recurrency=recurrency,
        valid_from=parse_time(data.get("valid_from")),
        valid_to=parse_time(data.get("valid_to")),
        transaction_id=data.get("transaction_id"),
        raw=dict(data),
    )
    if profile.valid_from and profile.valid_to and profile.valid_to <= profile.valid_from:
        raise ProfileRejected("InvalidValue", "validTo is not after validFrom")
    return profile


class ProfileStore:
    """The profiles installed on one station and the limits they impose."""

    def __init__(
        self,
        *,
        evses: int,
        voltage_v: float = 230.0,
        phases: int = 3,
        rate_units: tuple[str, ...] = ("A", "W"),
        stack_level_bug: bool = False,
        boundary_late_s: float = 0.0,
    ) -> None:
        self.evses = evses
        self.voltage_v = voltage_v
        self.phases = phases
        self.rate_units = rate_units
        self.stack_level_bug = stack_level_bug
        # The schedule_boundary_late_s fault: the limits the firmware applies (evse_limit_a, station_caps,
        # station_limit_a, limits_a) change to a schedule's next period this many seconds after its
        # startPeriod; the composite it reports (composite_at, composite_in) keeps the true boundaries.
        self.boundary_late_s = boundary_late_s
        self.profiles: list[Profile] = []

    # ------------------------------------------------------------------ install / clear
    def check(self, profile: Profile, active_tx: Mapping[int, str | None]) -> None:
        """Raise :class:`ProfileRejected` if the station must refuse `profile`."""
        if not 0 <= profile.evse_id <= self.evses:
            raise ProfileRejected("UnknownEvse", f"evseId {profile.evse_id}; this station has EVSE 1..{self.evses}")
        if profile.schedule.rate_unit not in self.rate_units:
            raise ProfileRejected(
                "InvalidValue",
                f"chargingRateUnit {profile.schedule.rate_unit!r}; this station supports {', '.join(self.rate_units)}",
            )
        if profile.purpose == EXTERNAL:
            raise ProfileRejected("InvalidValue", "ChargingStationExternalConstraints are not set by the CSMS")
        if profile.purpose == STATION_MAX:
            if profile.evse_id != 0:
                raise ProfileRejected("InvalidValue", "a ChargingStationMaxProfile must be set on evseId 0")
            if profile.kind == "Relative":
                raise ProfileRejected("InvalidValue", "a ChargingStationMaxProfile cannot be Relative")
        if profile.purpose == TX:
            if profile.evse_id == 0:
                raise ProfileRejected("InvalidValue", "a TxProfile must name an EVSE, not evseId 0")
            active = active_tx.get(profile.evse_id)
            if active is None:
                raise ProfileRejected("TxNotFound", f"no transaction is active on EVSE {profile.evse_id}")
            if profile.transaction_id != active:
                raise ProfileRejected(
                    "TxNotFound",
                    f"transactionId {profile.transaction_id!r} is not the "
                    f"active transaction {active!r} on EVSE {profile.evse_id}",
                )
        for other in self.profiles:
            if (
                other.id != profile.id
                and other.evse_id == profile.evse_id
                and other.purpose == profile.purpose
                and other.stack_level == profile.stack_level
            ):
                raise ProfileRejected(
                    "DuplicateProfile",
                    f"profile {other.id} already has purpose {profile.purpose} and stackLevel {profile.stack_level}",
                )

    def add(self, profile: Profile, active_tx: Mapping[int, str | None]) -> None:
        self.check(profile, active_tx)
        self.profiles = [p for p in self.profiles if p.id != profile.id] + [profile]

    def bind_tx(self, profile: Profile, transaction_id: str) -> Profile:
        """A TxProfile that came with RequestStartTransaction, bound to the transaction it started."""
        return replace(profile, transaction_id=transaction_id)

    def clear(
        self,
        *,
        profile_id: int | None = None,
        evse_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> int:
        """Remove matching profiles (all criteria given must match); the number removed."""

        def hit(p: Profile) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (
                (evse_id is None or p.evse_id == evse_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        # ChargingStationExternalConstraints belong to the external system that set them (the EMS), not
        # to the CSMS: ClearChargingProfile leaves them (reading of K10 and K12; Part 2 is not here).
        before = len(self.profiles)
        self.profiles = [p for p in self.profiles if p.purpose == EXTERNAL or not hit(p)]
        return before - len(self.profiles)

    # ------------------------------------------------------------------ external constraints (the EMS)
    def set_external(self, limit: float, unit: str, since: datetime) -> Profile:
        """Install the EMS's site limit as the station's ChargingStationExternalConstraints (EVSE 0): a
        one-period Absolute schedule from `since`, replacing the previous one. It caps every EVSE's
        composite like a ChargingStationMaxProfile does; the lower of the two wins."""
        schedule = Schedule(rate_unit=unit, periods=(Period(0.0, float(limit)),), start=since, id=EXTERNAL_ID)
        # As GetChargingProfiles reports it (ChargingProfileType, snake_case as the ocpp library takes it).
        raw = {"id": EXTERNAL_ID, "stack_level": 0, "charging_profile_purpose": EXTERNAL,
               "charging_profile_kind": "Absolute",
               "charging_schedule": [{"id": EXTERNAL_ID, "charging_rate_unit": unit,
                                      "start_schedule": since.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                                      "charging_schedule_period": [{"start_period": 0, "limit": round(limit, 1)}]}]}
        profile = Profile(id=EXTERNAL_ID, evse_id=0, stack_level=0, purpose=EXTERNAL, kind="Absolute",
                          schedule=schedule, raw=raw)
        self.profiles = [p for p in self.profiles if p.id != EXTERNAL_ID] + [profile]
        return profile

    def clear_external(self) -> bool:
        """Remove the EMS's site limit; whether there was one."""
        before = len(self.profiles)
        self.profiles = [p for p in self.profiles if p.id != EXTERNAL_ID]
        return before != len(self.profiles)

    def end_tx(self, transaction_id: str) -> None:
        """TxProfiles live as long as their transaction."""
        self.profiles = [p for p in self.profiles if not (p.purpose == TX and p.transaction_id == transaction_id)]

    # ------------------------------------------------------------------ limits
    # A limit in A is per phase, in W the total (ChargingSchedulePeriodType.limit); a period without
    # numberPhases means 3 (ChargingSchedulePeriodType.numberPhases: "3 will be assumed unless another
    # number is given"), never more than the station has. Limits in force together meet as A per phase on
    # the fewest phases any of them allows: 11 kW caps a one-phase EV at 11000 / 230 = 47.8 A, not at
    # 11000 / (230 x 3). The composite is reported in the unit asked for on those phases, without a detour
    # through 0.1 A (a W limit comes back to the watt). Reading of Part 2 K08 and the data types (Part 2
    # is not among the documents here): the harness's runner/schedules/composite.py takes the same one.
    def to_amps(self, limit: float, unit: str, phases: int | None) -> float:
        if unit == "W":
            return limit / (self.voltage_v * self._phases(phases))
        return limit

    def _phases(self, number_phases: int | None) -> int:
        return min(self.phases, number_phases or 3)

    def _period_at(
        self, p: Profile, when: datetime, tx: TxContext | None, origin: datetime | None = None, late_s: float = 0.0
    ) -> Period | None:
        """The period of `p` in force at `when`. A Relative schedule counts from the transaction's start
        (errata 2023-12: when the EVSE was ready to deliver energy), else from `origin` (the moment a
        composite is asked for: the schedule a session starting then would get), else from `when`."""
        if (p.valid_from and when < p.valid_from) or (p.valid_to and when >= p.valid_to):
            return None
        s = p.schedule
        if p.kind == "Relative":
            start = tx.started if tx is not None else (origin or when)
        else:
            assert s.start is not None
            start = s.start
            if p.kind == "Recurring" and p.recurrency in RECURRENCY_S and when >= start:
                cycle = RECURRENCY_S[p.recurrency]
                start += timedelta(seconds=((when - start).total_seconds() // cycle) * cycle)
        elapsed = (when - start).total_seconds()
        if elapsed < 0 or (s.duration_s is not None and elapsed >= s.duration_s):
            return None
        current = None
        for i, period in enumerate(s.periods):
            if period.start_s + (late_s if i else 0.0) <= elapsed:  # (late: the schedule_boundary_late_s fault)
                current = period
        return current

    def _winner_bound(
        self, purpose: str, evses: tuple[int, ...], when: datetime, tx: TxContext | None, origin: datetime | None,
        late_s: float = 0.0,
    ) -> tuple[float, str, int] | None:
        """(limit, unit, phases) of the prevailing profile of `purpose` on `evses`; None if none runs."""
        running = []
        for p in self.profiles:
            if p.purpose != purpose or p.evse_id not in evses:
                continue
            if purpose == TX and (tx is None or p.transaction_id != tx.transaction_id):
                continue
            period = self._period_at(p, when, tx, origin, late_s)
            if period is not None:
                # On a tie an EVSE-specific profile beats one for the whole station.
                running.append((p.stack_level, p.evse_id != 0, period.limit, p.schedule.rate_unit,
                                self._phases(period.number_phases)))
        if not running:
            return None
        pick = min(running) if self.stack_level_bug else max(running)
        return pick[2], pick[3], pick[4]

    def _winner(self, purpose: str, evses: tuple[int, ...], when: datetime, tx: TxContext | None) -> float | None:
        bound = self._winner_bound(purpose, evses, when, tx, None)
        return None if bound is None else self.to_amps(*bound)

    def _meet(self, bounds: list[tuple[float, str, int]]) -> tuple[float, int] | None:
        """The lowest of `bounds` as (A per phase, phases): on the fewest phases any of them allows."""
        if not bounds:
            return None
        phases = min(b[2] for b in bounds)
        return min(b[0] if b[1] == "A" else b[0] / (self.voltage_v * phases) for b in bounds), phases

    def _station_bounds(self, when: datetime, late_s: float = 0.0) -> list[tuple[float, str, int]]:
        found = (self._winner_bound(STATION_MAX, (0,), when, None, None, late_s),
                 self._winner_bound(EXTERNAL, (0,), when, None, None, late_s))
        return [b for b in found if b is not None]

    def _evse_bounds(
        self, evse_id: int, when: datetime, tx: TxContext | None, origin: datetime | None = None, late_s: float = 0.0
    ) -> list[tuple[float, str, int]]:
        """The EVSE's own limits: its TxProfile (else TxDefaultProfile) and external constraints set on it."""
        own = self._winner_bound(TX, (evse_id,), when, tx, origin, late_s) if tx is not None else None
        if own is None:
            own = self._winner_bound(TX_DEFAULT, (0, evse_id), when, tx, origin, late_s)
        # ChargingStationExternalConstraints may be set for one EVSE (an EMS behind one connector): they cap
        # that EVSE alone (reading of K08's "combining purposes": each external constraint caps the composite).
        external = self._winner_bound(EXTERNAL, (evse_id,), when, None, origin, late_s) if evse_id else None
        return [b for b in (own, external) if b is not None]

    def station_caps(self, when: datetime, *, with_max: bool = True) -> list[tuple[float, str]]:
        """The station-wide caps in force, each as (value, "A" per phase or "W"), for the firmware's
        allocation between EVSEs (lab/twin/allocation.py); `with_max` False leaves the
        ChargingStationMaxProfile out (the station_max_ignored fault)."""
        late = self.boundary_late_s
        found = (self._winner_bound(STATION_MAX, (0,), when, None, None, late) if with_max else None,
                 self._winner_bound(EXTERNAL, (0,), when, None, None, late))
        return [(b[0], b[1]) for b in found if b is not None]

    def station_limit_a(self, when: datetime) -> float | None:
        """The station-wide cap per phase (Max profile and external constraints), A; None if none."""
        met = self._meet(self._station_bounds(when, self.boundary_late_s))
        return None if met is None else met[0]

    def evse_limit_a(self, evse_id: int, when: datetime, tx: TxContext | None) -> float | None:
        """The EVSE's own limit (TxProfile, else TxDefaultProfile; its external constraints), A per phase."""
        met = self._meet(self._evse_bounds(evse_id, when, tx, late_s=self.boundary_late_s))
        return None if met is None else met[0]

    def limits_a(self, evse_id: int, when: datetime, tx: TxContext | None) -> tuple[float | None, float | None]:
        """(the EVSE's own limit, the station-wide cap), A per phase on the phases they share (the
        firmware's pilot limit: the station part is then shared between the EVSEs that offer)."""
        late = self.boundary_late_s
        own, station = self._evse_bounds(evse_id, when, tx, late_s=late), self._station_bounds(when, late)
        if not own and not station:
            return None, None
        phases = min(b[2] for b in own + station)
        pinned = [(b[0], b[1], phases) for b in own], [(b[0], b[1], phases) for b in station]
        met_own, met_station = self._meet(pinned[0]), self._meet(pinned[1])
        return (None if met_own is None else met_own[0]), (None if met_station is None else met_station[0])

    def composite_at(
        self, evse_id: int, when: datetime, tx: TxContext | None, origin: datetime | None = None
    ) -> tuple[float, int] | None:
        """(A per phase, phases) of the composite at `when`; None where no profile applies."""
        bounds = self._station_bounds(when)
        if evse_id != 0:
            bounds += self._evse_bounds(evse_id, when, tx, origin)
        return self._meet(bounds)

    def composite_limit_a(self, evse_id: int, when: datetime, tx: TxContext | None) -> float | None:
        met = self.composite_at(evse_id, when, tx)
        return None if met is None else met[0]

    def _breakpoints(self, start: datetime, end: datetime, tx: TxContext | None) -> list[datetime]:
        points = {start}
        for p in self.profiles:
            s = p.schedule
            for moment in (p.valid_from, p.valid_to):
                if moment is not None:
                    points.add(moment)
            origins: list[datetime] = []
            if p.kind == "Relative":
                origins = [tx.started if tx is not None else start]
            elif s.start is not None:
                origins = [s.start]
                if p.kind == "Recurring" and p.recurrency in RECURRENCY_S:
                    cycle = timedelta(seconds=RECURRENCY_S[p.recurrency])
                    first = s.start + cycle * max(0, int((start - s.start) / cycle))
                    origins = [first + cycle * k for k in range(-1, int((end - first) / cycle) + 2)]
            for origin in origins:
                points.update(origin + timedelta(seconds=q.start_s) for q in s.periods)
                if s.duration_s is not None:
                    points.add(origin + timedelta(seconds=s.duration_s))
        return sorted(t for t in points if start <= t < end)

    def composite_in(
        self, evse_id: int, start: datetime, duration_s: float, tx: TxContext | None, fallback_a: float,
        unit: str = "A",
    ) -> list[tuple[float, float, int]]:
        """(offset s from `start`, limit in `unit`, phases) steps over the window; `fallback_a` (the
        hardware's A per phase, on all the station's phases) caps it and stands where no profile applies."""
        out: list[tuple[float, float, int]] = []
        for t in self._breakpoints(start, start + timedelta(seconds=duration_s), tx):
            met = self.composite_at(evse_id, t, tx, origin=start)
            amps, phases = (fallback_a, self.phases) if met is None else (min(met[0], fallback_a), met[1])
            value = round(amps if unit == "A" else amps * self.voltage_v * phases, 1)
            if not out or out[-1][1:] != (value, phases):
                out.append(((t - start).total_seconds(), value, phases))
        return out

    def composite(
        self, evse_id: int, start: datetime, duration_s: float, tx: TxContext | None, fallback_a: float
    ) -> list[tuple[float, float]]:
        """(offset s from `start`, limit A) steps over the window; `fallback_a` where no profile applies."""
        out: list[tuple[float, float]] = []
        for offset, amps, _phases in self.composite_in(evse_id, start, duration_s, tx, fallback_a):
            if not out or out[-1][1] != amps:
                out.append((offset, amps))
        return out
