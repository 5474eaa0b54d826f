"""OCPP JSON -> the typed profiles and composites of :mod:`runner.schedules.model`.

The harness holds what it sent as camelCase (the wire form); the `ocpp` library hands responses over
as snake_case. Both spellings are read. A profile the charger must refuse (block K01's shape rules)
raises :class:`ProfileError`: the composite is only defined over profiles a charger may accept, and a
harness that predicts a composite from a profile it should never have sent would judge nonsense.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from runner.schedules.model import (
    ChargingProfile,
    CompositePeriod,
    CompositeSchedule,
    Kind,
    Period,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
)


class ProfileError(ValueError):
    """A profile or composite that does not follow OCPP 2.0.1; the message names the rule."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _get(data: Mapping[str, Any], camel: str, default: Any = None) -> Any:
    """`data[camel]`, or its snake_case spelling."""
    if camel in data:
        return data[camel]
    return data.get(_snake(camel), default)


def parse_time(text: str | None) -> datetime | None:
    """An OCPP dateTime ('2026-11-30T16:00:00.000Z'); a time without an offset is taken as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ProfileError(f"{text!r} is not an ISO 8601 date-time") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _unit(value: Any, where: str) -> RateUnit:
    if value not in ("A", "W"):
        raise ProfileError(f"{where}: chargingRateUnit {value!r} is neither A nor W")
    return cast(RateUnit, value)


def _periods(raw: Any, where: str) -> tuple[Period, ...]:
    if not raw:
        raise ProfileError(f"{where}: chargingSchedulePeriod is empty")
    periods = tuple(
        Period(int(_get(p, "startPeriod")), float(_get(p, "limit")), _get(p, "numberPhases")) for p in raw
    )
    if any(b.start_s <= a.start_s for a, b in itertools.pairwise(periods)):
        raise ProfileError(f"{where}: startPeriod values must increase (K01.FR.35)")
    if any(p.limit < 0 for p in periods):
        raise ProfileError(f"{where}: a limit is negative")
    if any(p.number_phases not in (None, 1, 2, 3) for p in periods):
        raise ProfileError(f"{where}: numberPhases must be 1, 2 or 3")
    return periods


def profile_from_ocpp(evse_id: int, data: Mapping[str, Any]) -> ChargingProfile:
    """A SetChargingProfileRequest's chargingProfile, installed on `evse_id`."""
    try:
        purpose = Purpose(_get(data, "chargingProfilePurpose"))
        kind = Kind(_get(data, "chargingProfileKind"))
    except ValueError as e:
        raise ProfileError(str(e)) from None
    pid = int(_get(data, "id"))
    where = f"profile {pid}"
    schedules = _get(data, "chargingSchedule")
    if isinstance(schedules, Mapping):
        schedules = [schedules]
    if not schedules:
        raise ProfileError(f"{where}: chargingSchedule is empty")
    # Two or three schedules exist only for ISO 15118 sales tariffs offered to the EV; the limit the
    # charger enforces (AC) is the first one's.
    s = schedules[0]
    periods = _periods(_get(s, "chargingSchedulePeriod"), where)
    if periods[0].start_s != 0:
        raise ProfileError(f"{where}: the first startPeriod is {periods[0].start_s}, it must be 0 (K01.FR.31)")
    duration = _get(s, "duration")
    schedule = Schedule(
        rate_unit=_unit(_get(s, "chargingRateUnit"), where),
        periods=periods,
        start=parse_time(_get(s, "startSchedule")),
        duration_s=None if duration is None else int(duration),
    )
    if kind is not Kind.RELATIVE and schedule.start is None:
        raise ProfileError(f"{where}: a {kind.value} profile needs startSchedule (K01.FR.40)")
    if kind is Kind.RELATIVE and schedule.start is not None:
        raise ProfileError(f"{where}: a Relative profile must not have startSchedule (K01.FR.41)")
    if purpose is Purpose.STATION_MAX and evse_id != 0:
        raise ProfileError(f"{where}: a ChargingStationMaxProfile is set on evseId 0 (K01.FR.03)")
    if purpose is Purpose.STATION_MAX and kind is Kind.RELATIVE:
        raise ProfileError(f"{where}: a ChargingStationMaxProfile cannot be Relative (K01.FR.38)")
    if purpose is Purpose.TX and evse_id == 0:
        raise ProfileError(f"{where}: a TxProfile is set on an EVSE, not evseId 0 (K01.FR.16)")
    recurrency_raw = _get(data, "recurrencyKind")
    recurrency = None if recurrency_raw is None else Recurrency(recurrency_raw)
    if kind is Kind.RECURRING and recurrency is None:
        raise ProfileError(f"{where}: a Recurring profile needs recurrencyKind Daily or Weekly")
    profile = ChargingProfile(
        id=pid,
        evse_id=evse_id,
        stack_level=int(_get(data, "stackLevel")),
        purpose=purpose,
        kind=kind,
        schedule=schedule,
        recurrency=recurrency if kind is Kind.RECURRING else None,
        valid_from=parse_time(_get(data, "validFrom")),
        valid_to=parse_time(_get(data, "validTo")),
        transaction_id=_get(data, "transactionId"),
    )
    if profile.valid_from and profile.valid_to and profile.valid_to <= profile.valid_from:
        raise ProfileError(f"{where}: validTo is not after validFrom")
    return profile


def composite_from_ocpp(data: Mapping[str, Any]) -> CompositeSchedule:
    """A GetCompositeScheduleResponse's `schedule` (CompositeScheduleType)."""
    start = parse_time(_get(data, "scheduleStart"))
    if start is None:
        raise ProfileError("the composite schedule has no scheduleStart")
    raw = _get(data, "chargingSchedulePeriod") or []
    periods = tuple(
        CompositePeriod(
            start_s=float(_get(p, "startPeriod")),
            limit=float(_get(p, "limit")),
            number_phases=int(_get(p, "numberPhases") or 3),
        )
        for p in raw
    )
    if periods and periods[0].start_s != 0:
        raise ProfileError(f"the composite's first startPeriod is {periods[0].start_s:g}, not 0")
    if any(b.start_s <= a.start_s for a, b in itertools.pairwise(periods)):
        raise ProfileError("the composite's startPeriod values do not increase")
    return CompositeSchedule(
        evse_id=int(_get(data, "evseId")),
        start=start,
        duration_s=float(_get(data, "duration")),
        rate_unit=_unit(_get(data, "chargingRateUnit"), "composite"),
        periods=periods,
    )
