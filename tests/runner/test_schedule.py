"""The harness's composite schedule (runner.schedules) on hand-worked examples.

Every expected composite below was worked out by hand from the rules in runner/schedules/composite.py
(OCPP 2.0.1 Part 2 block K); the comment above each says how. Times: T0 = Monday 2026-11-30 08:00 UTC.
Profiles are written as the harness sends them (camelCase JSON) and go through profile_from_ocpp.
"""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from instruments.clock import Clock
from runner.recorder import Recorder
from runner.schedules import (
    ChargingProfile,
    CompositePeriod,
    CompositeSchedule,
    Held,
    Limit,
    ProfileError,
    Purpose,
    Supply,
    Transaction,
    bind,
    check_composites,
    clear,
    compare,
    composite_from_ocpp,
    composite_schedule,
    end_transaction,
    held_from_frames,
    in_unit,
    install,
    period_at,
    profile_from_ocpp,
)
from runner.schedules.model import RateUnit

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
_ids = itertools.count(1)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def profile(
    purpose: str = "TxDefaultProfile",
    periods: list[tuple[int, float]] | list[tuple[int, float, int]] | None = None,
    *,
    evse: int = 1,
    stack: int = 0,
    kind: str = "Absolute",
    start: datetime | None = T0,
    unit: str = "A",
    duration: int | None = None,
    recurrency: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    tx: str | None = None,
    pid: int | None = None,
) -> ChargingProfile:
    raw_periods = []
    for p in periods or [(0, 16.0)]:
        item: dict[str, Any] = {"startPeriod": p[0], "limit": p[1]}
        if len(p) == 3:
            item["numberPhases"] = p[2]
        raw_periods.append(item)
    schedule: dict[str, Any] = {"id": 1, "chargingRateUnit": unit, "chargingSchedulePeriod": raw_periods}
    if kind != "Relative" and start is not None:
        schedule["startSchedule"] = iso(start)
    if duration is not None:
        schedule["duration"] = duration
    data: dict[str, Any] = {
        "id": pid if pid is not None else next(_ids),
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": [schedule],
    }
    for key, value in (("recurrencyKind", recurrency), ("transactionId", tx)):
        if value is not None:
            data[key] = value
    for key, moment in (("validFrom", valid_from), ("validTo", valid_to)):
        if moment is not None:
            data[key] = iso(moment)
    return profile_from_ocpp(evse, data)


def steps(schedule: CompositeSchedule) -> list[tuple[float, float | None]]:
    return [(p.start_s, None if p.limit is None else round(p.limit, 3)) for p in schedule.periods]


def comp(profiles: list[ChargingProfile], *, at: datetime = T0, duration: float = 3600, evse: int = 1,
         unit: RateUnit = "A", **kw: Any) -> CompositeSchedule:
    return composite_schedule(profiles, evse_id=evse, start=at, duration_s=duration, rate_unit=unit, **kw)


TX1 = Transaction("tx-1", energy_from=T0)


# ---------------------------------------------------------------- several periods, Absolute


def test_several_periods_switch_at_their_boundaries() -> None:
    # "limit 16 A for 10 min, then 6 A" from T0, asked at T0+5 min for 15 min: 16 A for the 5 min left, then 6 A.
    p = profile(periods=[(0, 16), (600, 6)])
    assert steps(comp([p], at=T0 + timedelta(minutes=5), duration=900)) == [(0, 16), (300, 6)]


def test_absolute_profile_before_its_start_and_after_its_duration_leaves_no_limit() -> None:
    # Starts at T0+10 min, lasts 20 min; the composite from T0 for 1 h: nothing, 10 A, nothing.
    p = profile(periods=[(0, 10)], start=T0 + timedelta(minutes=10), duration=1200)
    assert steps(comp([p])) == [(0, None), (600, 10), (1800, None)]


def test_the_last_period_lasts_when_there_is_no_duration() -> None:
    p = profile(periods=[(0, 20), (60, 8)], start=T0 - timedelta(days=3))
    assert steps(comp([p])) == [(0, 8)]


# ---------------------------------------------------------------- stack levels (rule 2)


def test_higher_stack_level_prevails_while_its_schedule_runs_then_the_lower_one_returns() -> None:
    # Low (stack 0): 6 A, 8 A from 100 s, 10 A from 200 s, for 400 s. High (stack 1): 10 A for 150 s.
    # 0-150 high 10; 150-200 low's second period 8; 200-400 low 10; after 400 nothing applies.
    low = profile(periods=[(0, 6), (100, 8), (200, 10)], duration=400, stack=0)
    high = profile(periods=[(0, 10)], duration=150, stack=1)
    assert steps(comp([low, high], duration=600)) == [(0, 10), (150, 8), (200, 10), (400, None)]


def test_a_higher_stack_level_that_allows_more_still_prevails() -> None:
    # Stacking is precedence, not a minimum: stack 3 at 32 A overrides stack 0 at 6 A.
    low = profile(periods=[(0, 6)], stack=0)
    high = profile(periods=[(0, 32)], stack=3, start=T0 + timedelta(minutes=30))
    assert steps(comp([low, high])) == [(0, 6), (1800, 32)]


def test_valid_from_and_valid_to_bound_a_profile() -> None:
    # Stack 1 at 8 A valid only in [T0+100 s, T0+300 s); stack 0 at 16 A around it.
    base = profile(periods=[(0, 16)])
    window = profile(periods=[(0, 8)], stack=1, valid_from=T0 + timedelta(seconds=100),
                     valid_to=T0 + timedelta(seconds=300))
    assert steps(comp([base, window], duration=600)) == [(0, 16), (100, 8), (300, 16)]


def test_valid_from_does_not_move_the_schedule_start() -> None:
    # The schedule runs from startSchedule T0; validFrom T0+150 s only hides its first 150 s: so at
    # T0+150 s it is already in its second period (from 100 s: 7 A), and from 300 s in its third (5 A).
    p = profile(periods=[(0, 9), (100, 7), (300, 5)], valid_from=T0 + timedelta(seconds=150))
    assert steps(comp([p], duration=600)) == [(0, None), (150, 7), (300, 5)]


def test_tx_default_on_evse_0_applies_to_every_evse_and_the_evse_own_wins_a_tie() -> None:
    station_wide = profile(periods=[(0, 10)], evse=0, stack=1)
    evse2_own = profile(periods=[(0, 14)], evse=2, stack=1)
    assert steps(comp([station_wide, evse2_own], evse=1)) == [(0, 10)]  # K01.FR.14: evse 0 reaches evse 1
    assert steps(comp([station_wide, evse2_own], evse=2)) == [(0, 14)]  # same stack level: EVSE's own
    higher = profile(periods=[(0, 7)], evse=0, stack=2)
    assert steps(comp([station_wide, evse2_own, higher], evse=2)) == [(0, 7)]  # higher stack, even on evse 0


# ---------------------------------------------------------------- purposes (rules 3 and 4)


def test_tx_profile_replaces_tx_default_while_it_runs() -> None:
    # TxDefault 6 A at stack 5; the transaction's TxProfile (stack 0) 20 A for 10 min: 20 A, then 6 A again.
    default = profile(periods=[(0, 6)], stack=5)
    txp = profile("TxProfile", [(0, 20)], kind="Relative", duration=600, tx="tx-1")
    assert steps(comp([default, txp], transaction=TX1)) == [(0, 20), (600, 6)]


def test_tx_profile_of_another_transaction_or_without_transaction_is_ignored() -> None:
    default = profile(periods=[(0, 6)])
    other = profile("TxProfile", [(0, 20)], kind="Relative", tx="tx-old")
    assert steps(comp([default, other], transaction=TX1)) == [(0, 6)]
    assert steps(comp([default, other])) == [(0, 6)]


def test_tx_profile_on_another_evse_is_ignored() -> None:
    txp = profile("TxProfile", [(0, 20)], kind="Relative", evse=2, tx="tx-1")
    assert steps(comp([txp], transaction=TX1)) == [(0, None)]


def test_station_max_caps_the_evse_and_names_itself() -> None:
    station = profile("ChargingStationMaxProfile", [(0, 16)], evse=0)
    txp = profile("TxProfile", [(0, 32), (600, 10)], kind="Relative", tx="tx-1")
    got = comp([station, txp], transaction=TX1, duration=1200)
    assert steps(got) == [(0, 16), (600, 10)]
    assert got.periods[0].bound_by.startswith("ChargingStationMaxProfile #")
    assert got.periods[1].bound_by.startswith("TxProfile #")


def test_external_constraints_on_the_station_and_on_the_evse_both_cap() -> None:
    default = profile(periods=[(0, 32)])
    site = profile("ChargingStationExternalConstraints", [(0, 20)], evse=0,
                   start=T0 + timedelta(seconds=100))
    evse = profile("ChargingStationExternalConstraints", [(0, 12)], evse=1, start=T0 + timedelta(seconds=200),
                   duration=100)
    assert steps(comp([default, site, evse], duration=600)) == [(0, 32), (100, 20), (200, 12), (300, 20)]


def test_the_station_composite_holds_only_station_wide_limits() -> None:
    # evseId 0 (K08.FR.03): the grid connection; a TxDefaultProfile on evse 0 is a per-EVSE default.
    station = profile("ChargingStationMaxProfile", [(0, 40), (1800, 25)], evse=0)
    default = profile(periods=[(0, 6)], evse=0)
    ems = profile("ChargingStationExternalConstraints", [(0, 30)], evse=0, duration=600)
    assert steps(comp([station, default, ems], evse=0)) == [(0, 30), (600, 40), (1800, 25)]


def test_the_local_limit_caps_and_fills_the_spans_no_profile_reaches() -> None:
    p = profile(periods=[(0, 10), (300, 40)], duration=900)
    got = comp([p], duration=1200, local_limit=Limit(32, "A"))
    assert steps(got) == [(0, 10), (300, 32)]  # after 900 s the local limit alone: still 32 A, no new step
    assert got.periods[1].bound_by == "the local limit"


# ---------------------------------------------------------------- Relative


def test_relative_profile_runs_from_the_moment_energy_could_flow() -> None:
    # Ready to deliver energy at T0-5 min; periods 16 A then 6 A from 10 min: asked at T0, 5 min of 16 A left.
    txp = profile("TxProfile", [(0, 16), (600, 6)], kind="Relative", tx="tx-1")
    tx = Transaction("tx-1", energy_from=T0 - timedelta(minutes=5))
    assert steps(comp([txp], transaction=tx, duration=900)) == [(0, 16), (300, 6)]


def test_relative_default_without_transaction_starts_at_the_request() -> None:
    # No session yet: the schedule a session starting now would get, its periods counted from X.
    p = profile(periods=[(0, 16), (600, 6)], kind="Relative", start=None)
    assert steps(comp([p], duration=900)) == [(0, 16), (600, 6)]


# ---------------------------------------------------------------- Recurring


def test_daily_profile_repeats_every_day_from_its_start() -> None:
    # Daily from Sun 29 Nov 22:00: 6 A for 8 h (until 06:00), then 16 A. Asked Mon 20:00 for 12 h:
    # 16 A until 22:00 (2 h), 6 A until 06:00 (10 h), then 16 A.
    p = profile(periods=[(0, 6), (8 * 3600, 16)], kind="Recurring", recurrency="Daily",
                start=datetime(2026, 11, 29, 22, 0, tzinfo=UTC))
    got = comp([p], at=datetime(2026, 11, 30, 20, 0, tzinfo=UTC), duration=12 * 3600)
    assert steps(got) == [(0, 16), (7200, 6), (36000, 16)]


def test_daily_profile_with_a_duration_leaves_the_rest_of_the_day_free() -> None:
    # Night limit 6 A 22:00-06:00 only (duration 8 h) over a base of 32 A at stack 0.
    base = profile(periods=[(0, 32)], start=T0 - timedelta(days=10))
    night = profile(periods=[(0, 6)], kind="Recurring", recurrency="Daily", duration=8 * 3600, stack=1,
                    start=datetime(2026, 11, 1, 22, 0, tzinfo=UTC))
    got = comp([base, night], at=datetime(2026, 11, 30, 21, 0, tzinfo=UTC), duration=24 * 3600)
    assert steps(got) == [(0, 32), (3600, 6), (9 * 3600, 32)]  # the next night starts after the window


def test_recurring_profile_does_not_apply_before_its_first_start() -> None:
    p = profile(periods=[(0, 6)], kind="Recurring", recurrency="Daily", start=T0 + timedelta(days=1, hours=1))
    assert steps(comp([p], duration=2 * 86400)) == [(0, None), (90000, 6)]


def test_weekly_profile_repeats_each_week() -> None:
    # Weekly from Mon 2 Nov 00:00, 10 A for 1 day; asked Sun 6 Dec 12:00 for 2 days: free until Mon 00:00
    # (12 h), 10 A for 24 h, then free.
    p = profile(periods=[(0, 10)], kind="Recurring", recurrency="Weekly", duration=86400,
                start=datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
    got = comp([p], at=datetime(2026, 12, 6, 12, 0, tzinfo=UTC), duration=2 * 86400)
    assert steps(got) == [(0, None), (43200, 10), (43200 + 86400, None)]


def test_daily_periods_past_the_day_are_cut_by_the_next_recurrence() -> None:
    # A daily schedule written with a period at 25 h never reaches it: every day restarts at period 0.
    p = profile(periods=[(0, 6), (90000, 30)], kind="Recurring", recurrency="Daily", start=T0 - timedelta(days=1))
    assert steps(comp([p], duration=3 * 86400)) == [(0, 6)]


# ---------------------------------------------------------------- A and W, phases (rule 5)


def test_power_limit_in_amps_on_three_phases_by_default() -> None:
    # 11040 W on 3 phases at 230 V = 16 A per phase (numberPhases absent means 3).
    p = profile(periods=[(0, 11040)], unit="W")
    assert steps(comp([p], unit="A")) == [(0, 16)]
    assert steps(comp([p], unit="W")) == [(0, 11040)]


def test_single_phase_current_limit_in_watts() -> None:
    # 16 A on 1 phase = 3680 W; under a 22080 W station maximum (96 A on one phase) the 16 A binds.
    station = profile("ChargingStationMaxProfile", [(0, 22080)], evse=0, unit="W")
    p = profile(periods=[(0, 16, 1)])
    got = comp([station, p], unit="W")
    assert steps(got) == [(0, 3680)]
    assert got.periods[0].number_phases == 1
    assert steps(comp([station, p], unit="A")) == [(0, 16)]


def test_mixed_units_meet_on_the_fewest_phases() -> None:
    # TxProfile 7360 W on 1 phase (= 32 A on that phase); station max 16 A per phase: 16 A on 1 phase = 3680 W.
    station = profile("ChargingStationMaxProfile", [(0, 16)], evse=0)
    txp = profile("TxProfile", [(0, 7360, 1)], kind="Relative", unit="W", tx="tx-1")
    assert steps(comp([station, txp], transaction=TX1, unit="W")) == [(0, 3680)]
    assert steps(comp([station, txp], transaction=TX1, unit="A")) == [(0, 16)]


def test_number_of_phases_changes_make_a_new_step() -> None:
    # 16 A on 3 phases, then 16 A on 1 phase: same current, a third of the power.
    p = profile(periods=[(0, 16, 3), (600, 16, 1)])
    got = comp([p], unit="W", duration=1200)
    assert steps(got) == [(0, 11040), (600, 3680)]


def test_a_single_phase_supply_caps_the_phases() -> None:
    p = profile(periods=[(0, 16)])
    assert steps(comp([p], unit="W", supply=Supply(voltage_v=230, phases=1))) == [(0, 3680)]
    assert steps(comp([p], unit="W", supply=Supply(voltage_v=120, phases=3))) == [(0, 5760)]


# ---------------------------------------------------------------- the step function is the pointwise rule


def test_composite_equals_the_rule_sampled_every_second() -> None:
    # 100 random stacks of Absolute/Recurring/Relative profiles: between two reported steps the limit the
    # rules give at any second equals the step's (the steps are neither missing nor spurious).
    rng = random.Random(12)
    for _ in range(100):
        profiles = []
        for k in range(rng.randint(1, 4)):
            kind = rng.choice(["Absolute", "Relative", "Recurring"])
            purpose = rng.choice(["TxDefaultProfile", "TxProfile", "ChargingStationMaxProfile"])
            if purpose == "ChargingStationMaxProfile" and kind == "Relative":
                kind = "Absolute"
            starts = sorted(rng.sample(range(1, 150), rng.randint(0, 3)))
            periods = [(s, float(rng.randint(6, 32))) for s in [0, *starts]]
            profiles.append(profile(
                purpose, periods, evse=0 if purpose == "ChargingStationMaxProfile" else 1, stack=k, kind=kind,
                start=T0 + timedelta(seconds=rng.randint(-100, 100)),
                recurrency="Daily" if kind == "Recurring" else None,
                duration=rng.choice([None, rng.randint(25, 200)]), tx="tx-1" if purpose == "TxProfile" else None,
                valid_to=rng.choice([None, T0 + timedelta(seconds=rng.randint(10, 250))]),
            ))
        tx = Transaction("tx-1", T0 - timedelta(seconds=rng.randint(0, 100)))
        got = comp(profiles, transaction=tx, duration=300)
        for second in range(300):
            want = comp(profiles, at=T0 + timedelta(seconds=second), duration=1, transaction=tx)
            step = got.at(second)
            assert step is not None and step.limit == want.periods[0].limit, (second, profiles)


# ---------------------------------------------------------------- what the charger holds


def test_install_replaces_a_profile_with_the_same_id() -> None:
    first = profile(periods=[(0, 16)], pid=7)
    second = profile(periods=[(0, 8)], pid=7, stack=2)
    held = install(install((), first), second)
    assert held == (second,)
    assert steps(comp(list(held))) == [(0, 8)]


def test_clear_by_id_by_criteria_and_all_keeps_external_constraints() -> None:
    a = profile(periods=[(0, 16)], evse=1, stack=0, pid=1)
    b = profile(periods=[(0, 16)], evse=2, stack=1, pid=2)
    c = profile("ChargingStationMaxProfile", [(0, 30)], evse=0, pid=3)
    ems = profile("ChargingStationExternalConstraints", [(0, 20)], evse=0, pid=4)
    held = (a, b, c, ems)
    assert clear(held, profile_id=2) == (a, c, ems)
    assert clear(held, evse_id=1, purpose=Purpose.TX_DEFAULT) == (b, c, ems)
    assert clear(held, stack_level=1) == (a, c, ems)
    assert clear(held) == (ems,)


def test_a_tx_profile_from_a_remote_start_counts_once_bound_to_its_transaction() -> None:
    txp = profile("TxProfile", [(0, 20)], kind="Relative")  # sent inside RequestStartTransaction: no id yet
    assert steps(comp([txp], transaction=TX1)) == [(0, None)]
    assert steps(comp([bind(txp, "tx-1")], transaction=TX1)) == [(0, 20)]


def test_end_transaction_drops_its_tx_profiles_only() -> None:
    mine = profile("TxProfile", [(0, 20)], kind="Relative", tx="tx-1")
    other = profile("TxProfile", [(0, 20)], kind="Relative", evse=2, tx="tx-2")
    default = profile(periods=[(0, 6)])
    assert end_transaction((mine, other, default), "tx-1") == (other, default)


# ---------------------------------------------------------------- parsing: the K01 shape rules


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda d: d["chargingSchedule"][0]["chargingSchedulePeriod"][0].update(startPeriod=5), "K01.FR.31"),
        (lambda d: d["chargingSchedule"][0]["chargingSchedulePeriod"].append({"startPeriod": 0, "limit": 3}),
         "K01.FR.35"),
        (lambda d: d["chargingSchedule"][0].pop("startSchedule"), "K01.FR.40"),
        (lambda d: d.update(chargingProfileKind="Relative"), "K01.FR.41"),
        (lambda d: d.update(chargingProfilePurpose="ChargingStationMaxProfile"), "K01.FR.03"),
        (lambda d: d.update(chargingProfilePurpose="TxProfile", _evse=0), "K01.FR.16"),
        (lambda d: d.update(chargingProfileKind="Recurring"), "recurrencyKind"),
        (lambda d: d.update(validFrom=iso(T0), validTo=iso(T0)), "validTo is not after validFrom"),
        (lambda d: d["chargingSchedule"][0].update(chargingRateUnit="kW"), "chargingRateUnit 'kW'"),
        (lambda d: d["chargingSchedule"][0]["chargingSchedulePeriod"][0].update(numberPhases=4), "numberPhases"),
    ],
)
def test_profiles_a_charger_must_refuse_are_refused_naming_the_rule(change: Any, rule: str) -> None:
    data: dict[str, Any] = {
        "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "A", "startSchedule": iso(T0),
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}],
    }
    change(data)
    evse = data.pop("_evse", 1)
    with pytest.raises(ProfileError, match=rule.replace(".", r"\.")):
        profile_from_ocpp(evse, data)


def test_station_max_profile_cannot_be_relative() -> None:
    data = {"id": 1, "stackLevel": 0, "chargingProfilePurpose": "ChargingStationMaxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}]}
    with pytest.raises(ProfileError, match=r"K01\.FR\.38"):
        profile_from_ocpp(0, data)


def test_snake_case_from_the_ocpp_library_reads_the_same() -> None:
    camel = {"id": 5, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
             "chargingProfileKind": "Recurring", "recurrencyKind": "Daily", "validTo": "2026-12-01T00:00:00Z",
             "chargingSchedule": [{"id": 1, "chargingRateUnit": "W", "startSchedule": "2026-11-30T08:00:00Z",
                                   "duration": 3600,
                                   "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400, "numberPhases": 1}]}]}
    snake = {"id": 5, "stack_level": 1, "charging_profile_purpose": "TxDefaultProfile",
             "charging_profile_kind": "Recurring", "recurrency_kind": "Daily", "valid_to": "2026-12-01T00:00:00Z",
             "charging_schedule": [{"id": 1, "charging_rate_unit": "W", "start_schedule": "2026-11-30T08:00:00Z",
                                    "duration": 3600, "charging_schedule_period": [
                                        {"start_period": 0, "limit": 7400, "number_phases": 1}]}]}
    assert profile_from_ocpp(1, camel) == profile_from_ocpp(1, snake)
    p = profile_from_ocpp(1, camel)
    assert period_at(p, T0 + timedelta(days=1, minutes=1), T0) is None  # validTo passed
    assert period_at(p, T0 + timedelta(hours=23, minutes=59), T0) is None  # outside the hour of the day
    assert period_at(p, T0 + timedelta(minutes=1), T0) is not None


# ---------------------------------------------------------------- comparing with what a charger reports


def expected_16_then_6() -> CompositeSchedule:
    return comp([profile(periods=[(0, 16), (600, 6)], pid=12)], duration=900)


def reported(start: datetime, periods: list[dict[str, Any]], unit: str = "A", duration: int = 900) -> CompositeSchedule:
    return composite_from_ocpp({"evseId": 1, "duration": duration, "scheduleStart": iso(start),
                                "chargingRateUnit": unit, "chargingSchedulePeriod": periods})


def test_the_same_schedule_agrees_even_a_second_late_and_in_snake_case() -> None:
    got = composite_from_ocpp({"evse_id": 1, "duration": 900, "schedule_start": iso(T0 + timedelta(seconds=1)),
                               "charging_rate_unit": "A", "charging_schedule_period": [
                                   {"start_period": 0, "limit": 16.0}, {"start_period": 599, "limit": 6.0}]})
    assert compare(expected_16_then_6(), got).agrees


def test_a_charger_that_took_x_a_second_earlier_agrees() -> None:
    got = reported(T0 - timedelta(seconds=1), [{"startPeriod": 0, "limit": 16}, {"startPeriod": 601, "limit": 6}])
    assert compare(expected_16_then_6(), got).agrees


def test_a_boundary_later_than_the_slack_is_a_mismatch_named_with_its_span() -> None:
    got = reported(T0, [{"startPeriod": 0, "limit": 16}, {"startPeriod": 660, "limit": 6}])
    result = compare(expected_16_then_6(), got)
    assert [m.describe() for m in result.mismatches] == [
        "from 602 s to 660 s: expected 6 A (set by TxDefaultProfile #12 (stackLevel 0, evse 1)), "
        "the charger reported 16 A"
    ]


def test_a_wrong_limit_is_a_mismatch_and_a_tenth_of_an_amp_is_not() -> None:
    assert compare(expected_16_then_6(), reported(T0, [{"startPeriod": 0, "limit": 15.9},
                                                       {"startPeriod": 600, "limit": 6.1}])).agrees
    result = compare(expected_16_then_6(), reported(T0, [{"startPeriod": 0, "limit": 16}]))
    # The slack trims the span after the boundary at 600 s; the window's end is no limit change.
    assert [(m.from_s, m.to_s, m.expected, m.reported) for m in result.mismatches] == [(602, 900, 6, 16)]


def test_the_same_current_on_more_phases_is_a_mismatch() -> None:
    """A limit in A is per phase: 16 A on 3 phases allows three times the power of 16 A on 1. A charger that
    reports its period on 3 phases where the profile said 1 disagrees (it agreed before: limits alone)."""
    expected = comp([profile(periods=[(0, 16, 1)], pid=12)], duration=900)
    assert compare(expected, reported(T0, [{"startPeriod": 0, "limit": 16, "numberPhases": 1}])).agrees
    result = compare(expected, reported(T0, [{"startPeriod": 0, "limit": 16}]))  # numberPhases absent: 3
    assert [m.describe() for m in result.mismatches] == [
        "from 0 s to 900 s: expected 16 A on 1 phase (set by TxDefaultProfile #12 (stackLevel 0, evse 1)), "
        "the charger reported 16 A on 3 phases"
    ]
    # on a 1-phase supply both are one phase: they agree
    assert compare(expected, reported(T0, [{"startPeriod": 0, "limit": 16}]), supply=Supply(phases=1)).agrees


def test_a_reported_schedule_in_watts_is_judged_in_amps() -> None:
    got = reported(T0, [{"startPeriod": 0, "limit": 11040}, {"startPeriod": 600, "limit": 4140}], unit="W")
    assert compare(expected_16_then_6(), got).agrees
    assert in_unit(got, "A", Supply()).periods[1].limit == pytest.approx(6)


def test_a_reported_schedule_that_stops_short_is_a_mismatch() -> None:
    got = reported(T0, [{"startPeriod": 0, "limit": 16}, {"startPeriod": 600, "limit": 6}], duration=700)
    result = compare(expected_16_then_6(), got)
    assert [(m.from_s, m.to_s, m.reported) for m in result.mismatches] == [(700, 898, None)]


def test_spans_no_profile_constrains_are_listed_not_judged() -> None:
    expected = comp([profile(periods=[(0, 10)], duration=300)], duration=900)
    got = reported(T0, [{"startPeriod": 0, "limit": 10}, {"startPeriod": 300, "limit": 32}])
    result = compare(expected, got)
    assert result.agrees
    assert result.unjudged == ((302, 900),)


def test_composite_from_ocpp_refuses_a_schedule_without_start() -> None:
    with pytest.raises(ProfileError, match="scheduleStart"):
        composite_from_ocpp({"evseId": 1, "duration": 60, "chargingRateUnit": "A", "chargingSchedulePeriod": []})


def test_composite_period_lookup() -> None:
    s = CompositeSchedule(1, T0, 100, "A", (CompositePeriod(0, 10, 3), CompositePeriod(50, 5, 3)))
    assert s.at(-1) is None and s.at(100) is None
    assert s.at(49.9).limit == 10 and s.at(50).limit == 5  # type: ignore[union-attr]


# ---------------------------------------------------------------- rebuilt from a scenario's record


class Exchange:
    """A scenario's OCPP record, written through the real Recorder (frames as the harness keeps them)."""

    def __init__(self) -> None:
        self.rec = Recorder(Clock(start_wall=T0))
        self.rec.begin(None)
        self.n = 0
        self.t = 0.0

    def call(self, action: str, request: dict[str, Any], answer: dict[str, Any]) -> None:
        self.n += 1
        self.t += 1
        self.rec.frame(station="CS1", direction="tx", raw=json.dumps([2, str(self.n), action, request]), t=self.t)
        self.rec.frame(station="CS1", direction="rx", raw=json.dumps([3, str(self.n), answer]), t=self.t)

    def event(self, event_type: str, tx: str, at: datetime, **info: Any) -> None:
        self.n += 1
        self.t += 1
        payload: dict[str, Any] = {"eventType": event_type, "timestamp": iso(at), "triggerReason": "Authorized",
                                   "seqNo": 0, "transactionInfo": {"transactionId": tx, **info}}
        if event_type == "Started":
            payload["evse"] = {"id": 2, "connectorId": 1}
        self.rec.frame(station="CS1", direction="rx", raw=json.dumps([2, f"c{self.n}", "TransactionEvent", payload]),
                       t=self.t)

    def held(self) -> Held:
        return held_from_frames(self.rec.frames(station="CS1"))


def raw_profile(pid: int, purpose: str = "TxDefaultProfile", limit: float = 16, **extra: Any) -> dict[str, Any]:
    schedule: dict[str, Any] = {"id": 1, "chargingRateUnit": "A",
                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
    kind = "Relative" if purpose == "TxProfile" else "Absolute"
    if kind == "Absolute":
        schedule["startSchedule"] = iso(T0)
    return {"id": pid, "stackLevel": 0, "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
            "chargingSchedule": [schedule], **extra}


def test_only_accepted_profiles_are_held_and_an_accepted_clear_removes() -> None:
    ex = Exchange()
    ex.call("SetChargingProfile", {"evseId": 1, "chargingProfile": raw_profile(1)}, {"status": "Accepted"})
    ex.call("SetChargingProfile", {"evseId": 1, "chargingProfile": raw_profile(2, limit=8)}, {"status": "Rejected"})
    ex.call("SetChargingProfile", {"evseId": 0, "chargingProfile": raw_profile(3, "ChargingStationMaxProfile")},
            {"status": "Accepted"})
    assert [p.id for p in ex.held().profiles] == [1, 3]
    ex.call("ClearChargingProfile", {"chargingProfileCriteria": {"chargingProfilePurpose": "TxDefaultProfile"}},
            {"status": "Accepted"})
    assert [p.id for p in ex.held().profiles] == [3]
    ex.call("ClearChargingProfile", {"chargingProfileId": 3}, {"status": "Unknown"})
    assert [p.id for p in ex.held().profiles] == [3]


def test_remote_start_profile_binds_to_its_transaction_and_relative_counts_from_power_offered() -> None:
    ex = Exchange()
    ex.call("RequestStartTransaction", {"idToken": {"idToken": "A1", "type": "ISO14443"}, "remoteStartId": 7,
                                        "chargingProfile": raw_profile(9, "TxProfile", limit=10)},
            {"status": "Accepted"})
    ex.event("Started", "tx-9", T0, remoteStartId=7, chargingState="EVConnected")
    ex.event("Updated", "tx-9", T0 + timedelta(seconds=40), chargingState="Charging")
    held = ex.held()
    assert held.transactions == {2: Transaction("tx-9", T0 + timedelta(seconds=40))}
    (txp,) = held.profiles
    assert (txp.evse_id, txp.transaction_id) == (2, "tx-9")  # the EVSE the charger chose
    got = composite_schedule(held.profiles, evse_id=2, start=T0, duration_s=60, rate_unit="A",
                             transaction=held.transactions[2])
    assert steps(got) == [(0, None), (40, 10)]  # the Relative schedule runs once power is offered
    ex.event("Ended", "tx-9", T0 + timedelta(minutes=5), chargingState="Idle")
    assert ex.held() == Held((), {})
    ex.event("Updated", "tx-9", T0 + timedelta(minutes=4), offline=True)  # late: changes nothing
    assert ex.held() == Held((), {})


def test_an_accepted_profile_the_charger_must_refuse_makes_the_composite_unpredictable() -> None:
    ex = Exchange()
    bad = raw_profile(4)
    bad["chargingSchedule"][0]["chargingSchedulePeriod"][0]["startPeriod"] = 30
    ex.call("SetChargingProfile", {"evseId": 1, "chargingProfile": bad}, {"status": "Accepted"})
    must_refuse = r"accepted a SetChargingProfile it must refuse \(sent at t=1\.0 s\).*K01\.FR\.31"
    with pytest.raises(ProfileError, match=must_refuse):
        ex.held()


# ---------------------------------------------------------------- every GetCompositeSchedule of a record


def ask_composite(ex: Exchange, evse: int, duration: int, answer: dict[str, Any] | None,
                  error: str | None = None) -> None:
    ex.n += 1
    ex.t += 1
    ex.rec.frame(station="CS1", direction="tx", t=ex.t,
                 raw=json.dumps([2, str(ex.n), "GetCompositeSchedule", {"evseId": evse, "duration": duration}]))
    raw = [4, str(ex.n), error, "", {}] if error else [3, str(ex.n), answer]
    ex.rec.frame(station="CS1", direction="rx", t=ex.t, raw=json.dumps(raw))


def test_each_composite_request_is_judged_against_the_profiles_held_at_that_moment() -> None:
    ex = Exchange()
    ex.call("SetChargingProfile", {"evseId": 1, "chargingProfile": raw_profile(1, limit=16)}, {"status": "Accepted"})
    x1 = T0 + timedelta(seconds=ex.t + 1)
    ask_composite(ex, 1, 600, {"status": "Accepted", "schedule": {
        "evseId": 1, "duration": 600, "scheduleStart": iso(x1), "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}})
    ex.call("SetChargingProfile", {"evseId": 1, "chargingProfile": raw_profile(1, limit=8)}, {"status": "Accepted"})
    x2 = T0 + timedelta(seconds=ex.t + 1)
    ask_composite(ex, 1, 600, {"status": "Accepted", "schedule": {  # still the old limit: wrong
        "evseId": 1, "duration": 600, "scheduleStart": iso(x2), "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}})
    ask_composite(ex, 3, 600, {"status": "Rejected"})
    ask_composite(ex, 1, 600, None, error="NotImplemented")
    checks = check_composites(ex.rec.frames(station="CS1"), local_limits={1: Limit(32, "A")})
    assert [c.agrees for c in checks] == [True, False, False, False]
    assert [c.describe() for c in checks] == [
        "GetCompositeSchedule for evse 1 sent at t=2.0 s: the charger's composite matches the profiles sent",
        "GetCompositeSchedule for evse 1 sent at t=4.0 s: from 0 s to 600 s: expected 8 A "
        "(set by TxDefaultProfile #1 (stackLevel 0, evse 1)), the charger reported 16 A",
        "GetCompositeSchedule for evse 3 sent at t=5.0 s: the charger gave no schedule (Rejected)",
        "GetCompositeSchedule for evse 1 sent at t=6.0 s: the charger gave no schedule (NotImplemented)",
    ]
