"""Charging profiles: the K-block validation rules and the composite schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lab.twin.smart_charging import ProfileRejected, ProfileStore, TxContext, parse_profile

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def profile(
    pid: int,
    purpose: str,
    limit: float,
    *,
    level: int = 0,
    kind: str = "Absolute",
    unit: str = "A",
    periods: list[dict[str, Any]] | None = None,
    start: datetime | None = T0,
    tx: str | None = None,
    duration: int | None = None,
    phases: int | None = None,
) -> dict[str, Any]:
    sched: dict[str, Any] = {
        "id": pid,
        "charging_rate_unit": unit,
        "charging_schedule_period": periods
        or [{"start_period": 0, "limit": limit, **({"number_phases": phases} if phases else {})}],
    }
    if start is not None and kind != "Relative":
        sched["start_schedule"] = start.isoformat().replace("+00:00", "Z")
    if duration is not None:
        sched["duration"] = duration
    data = {
        "id": pid,
        "stack_level": level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": kind,
        "charging_schedule": [sched],
    }
    if tx is not None:
        data["transaction_id"] = tx
    return data


def store(**kw: Any) -> ProfileStore:
    return ProfileStore(evses=2, voltage_v=230.0, phases=3, **kw)


TX = TxContext("tx-1", T0)
ACTIVE = {1: "tx-1", 2: None}


@pytest.mark.parametrize(
    ("evse", "data", "reason", "words"),
    [
        (1, profile(1, "TxProfile", 10, tx="tx-9"), "TxNotFound", "not the active transaction"),
        (2, profile(1, "TxProfile", 10, tx="tx-1"), "TxNotFound", "no transaction is active on EVSE 2"),
        (1, profile(1, "ChargingStationMaxProfile", 10), "InvalidValue", "evseId 0"),
        (
            0,
            profile(1, "ChargingStationMaxProfile", 10, kind="Relative"),
            "InvalidValue",
            "cannot be Relative",
        ),
        (3, profile(1, "TxDefaultProfile", 10), "UnknownEvse", "EVSE 1..2"),
        (1, profile(1, "TxDefaultProfile", 10, unit="kW"), "InvalidValue", "chargingRateUnit 'kW'"),
    ],
)
def test_store_rejects(evse: int, data: dict[str, Any], reason: str, words: str) -> None:
    with pytest.raises(ProfileRejected) as err:
        store().add(parse_profile(evse, data), ACTIVE)
    assert err.value.reason == reason and words in err.value.detail


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            profile(1, "TxDefaultProfile", 10, periods=[{"start_period": 5, "limit": 10}]),
            "first startPeriod is 5",
        ),
        (
            profile(
                1,
                "TxDefaultProfile",
                10,
                periods=[{"start_period": 0, "limit": 10}, {"start_period": 0, "limit": 8}],
            ),
            "must increase",
        ),
        (profile(1, "TxDefaultProfile", 10, start=None), "needs startSchedule"),
        (
            {
                **profile(1, "TxDefaultProfile", 10, kind="Relative"),
                "charging_schedule": [
                    {
                        "charging_rate_unit": "A",
                        "start_schedule": "2026-01-01T00:00:00Z",
                        "charging_schedule_period": [{"start_period": 0, "limit": 6}],
                    }
                ],
            },
            "must not have startSchedule",
        ),
        (profile(1, "TxDefaultProfile", 10, kind="Recurring"), "needs recurrencyKind"),
        (profile(1, "TxDefaultProfile", 10.25), r"limit 10.25 at startPeriod 0 has more than one decimal"),
        (profile(1, "TxDefaultProfile", 11040.05, unit="W"), r"limit 11040.05 .* more than one decimal"),
    ],
)
def test_parse_rejects_bad_schedules(data: dict[str, Any], words: str) -> None:
    with pytest.raises(ProfileRejected, match=words):
        parse_profile(1, data)


@pytest.mark.parametrize("limit", [16, 6.0, 8.1, 32.5, 11040.0])
def test_limits_with_at_most_one_decimal_are_fine(limit: float) -> None:
    assert parse_profile(1, profile(1, "TxDefaultProfile", limit)).schedule.periods[0].limit == limit


def test_duplicate_stack_level_rejected_same_id_replaces() -> None:
    s = store()
    s.add(parse_profile(1, profile(1, "TxDefaultProfile", 16, level=1)), ACTIVE)
    with pytest.raises(ProfileRejected, match="already has purpose"):
        s.add(parse_profile(1, profile(2, "TxDefaultProfile", 8, level=1)), ACTIVE)
    s.add(parse_profile(1, profile(1, "TxDefaultProfile", 8, level=1)), ACTIVE)
    assert len(s.profiles) == 1 and s.evse_limit_a(1, T0, None) == 8


def test_stack_levels_purposes_and_station_cap() -> None:
    s = store()
    s.add(parse_profile(0, profile(1, "TxDefaultProfile", 20, level=0)), ACTIVE)
    s.add(parse_profile(1, profile(2, "TxDefaultProfile", 16, level=2)), ACTIVE)
    assert s.evse_limit_a(1, T0, TX) == 16  # the higher stack level wins
    s.add(parse_profile(1, profile(3, "TxProfile", 25, tx="tx-1")), ACTIVE)
    assert s.evse_limit_a(1, T0, TX) == 25  # TxProfile replaces TxDefaultProfile
    assert s.evse_limit_a(2, T0, None) == 20
    s.add(parse_profile(0, profile(4, "ChargingStationMaxProfile", 11040, unit="W")), ACTIVE)
    assert s.composite_limit_a(1, T0, TX) == pytest.approx(16.0)  # 11.04 kW / (230 V x 3)
    s.end_tx("tx-1")
    assert s.evse_limit_a(1, T0, TX) == 16


def test_stack_level_bug_picks_the_lowest() -> None:
    s = store(stack_level_bug=True)
    s.add(parse_profile(1, profile(1, "TxDefaultProfile", 20, level=0)), ACTIVE)
    s.add(parse_profile(1, profile(2, "TxDefaultProfile", 8, level=5)), ACTIVE)
    assert s.evse_limit_a(1, T0, None) == 20


def test_composite_schedule_steps_and_expiry() -> None:
    s = store()
    periods = [{"start_period": 0, "limit": 16}, {"start_period": 600, "limit": 10}]
    s.add(parse_profile(1, profile(1, "TxDefaultProfile", 0, periods=periods, duration=1200)), ACTIVE)
    s.add(parse_profile(0, profile(2, "ChargingStationMaxProfile", 12)), ACTIVE)
    steps = s.composite(1, T0, 1800, None, fallback_a=32.0)
    assert steps == [(0.0, 12.0), (600.0, 10.0), (1200.0, 12.0)]
    assert s.composite(1, T0 + timedelta(hours=1), 60, None, fallback_a=32.0) == [(0.0, 12.0)]
    assert s.clear(purpose="ChargingStationMaxProfile") == 1
    assert s.composite(1, T0, 1800, None, fallback_a=32.0) == [(0.0, 16.0), (600.0, 10.0), (1200.0, 32.0)]


def test_relative_profile_starts_with_the_transaction_and_recurring_repeats() -> None:
    s = store()
    periods = [{"start_period": 0, "limit": 6}, {"start_period": 300, "limit": 16}]
    s.add(parse_profile(1, profile(1, "TxDefaultProfile", 0, kind="Relative", periods=periods)), ACTIVE)
    late_tx = TxContext("tx-1", T0 + timedelta(seconds=100))
    assert s.evse_limit_a(1, T0 + timedelta(seconds=350), late_tx) == 6
    assert s.evse_limit_a(1, T0 + timedelta(seconds=400), late_tx) == 16
    daily = {
        **profile(
            2,
            "ChargingStationMaxProfile",
            0,
            periods=[{"start_period": 0, "limit": 10}, {"start_period": 3600, "limit": 32}],
        ),
        "recurrency_kind": "Daily",
    }
    daily["charging_profile_kind"] = "Recurring"
    s.add(parse_profile(0, daily), ACTIVE)
    assert s.station_limit_a(T0 + timedelta(days=3, minutes=30)) == 10
    assert s.station_limit_a(T0 + timedelta(days=3, hours=2)) == 32


def test_boundary_late_applies_each_period_change_late_but_reports_the_true_composite() -> None:
    """The schedule_boundary_late_s fault: the pilot's limit keeps the old period N s past each startPeriod
    (the first period starts on time), while GetCompositeSchedule still shows the true boundaries."""
    s = store(boundary_late_s=30.0)
    periods = [{"start_period": 0, "limit": 16}, {"start_period": 600, "limit": 6}]
    s.add(parse_profile(1, profile(1, "TxDefaultProfile", 0, periods=periods)), ACTIVE)
    s.add(parse_profile(0, profile(2, "ChargingStationMaxProfile", 0, periods=[
        {"start_period": 0, "limit": 20}, {"start_period": 600, "limit": 8}])), ACTIVE)
    at = [T0 + timedelta(seconds=x) for x in (0, 610, 629, 631)]
    assert [s.evse_limit_a(1, t, None) for t in at] == [16, 16, 16, 6]
    assert [s.station_limit_a(t) for t in at] == [20, 20, 20, 8]
    assert [s.limits_a(1, t, None) for t in at] == [(16, 20), (16, 20), (16, 20), (6, 8)]
    assert s.composite(1, T0, 1200, None, fallback_a=32.0) == [(0.0, 16.0), (600.0, 6.0)]
    assert store().evse_limit_a(1, T0 + timedelta(seconds=610), None) is None  # (healthy: nothing installed)


def test_the_pilot_limit_takes_phases_and_evse_external_constraints() -> None:
    # What the firmware puts on the pilot (limits_a), not only what GetCompositeSchedule reports: a W
    # station maximum over a one-phase TxProfile is converted on one phase (11040 W / 230 V = 48 A), so
    # the TxProfile's 32 A binds; an external constraint set on EVSE 1 caps EVSE 1 and not EVSE 2.
    s = store()
    s.add(parse_profile(0, profile(1, "ChargingStationMaxProfile", 11040, unit="W")), ACTIVE)
    s.add(parse_profile(1, profile(2, "TxProfile", 32, tx="tx-1", phases=1)), ACTIVE)
    own, station = s.limits_a(1, T0, TX)
    assert own == 32 and station == pytest.approx(48.0)
    s.profiles.append(parse_profile(1, profile(3, "ChargingStationExternalConstraints", 10)))
    assert s.limits_a(1, T0, TX)[0] == 10
    assert s.limits_a(2, T0, None) == (None, pytest.approx(16.0))  # three phases there: 11040 / 690
