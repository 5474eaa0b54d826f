"""runner/schedule_steps.py without a bench: the SetChargingProfile a statement sends (its meaning on the
scenario's clock), and that the harness's own composite of that profile has the periods the statement
wrote. The steps on the twin: tests/runner/test_schedule_steps_e2e.py."""

from __future__ import annotations

from datetime import UTC, datetime

from dsl.plan import Quantity
from runner.schedule_steps import periods_of, profile_payload
from runner.schedules import composite_schedule, profile_from_ocpp

NOW = datetime(2026, 11, 30, 16, 0, 0, 250_000, tzinfo=UTC)


def amps(v: float) -> Quantity:
    return Quantity(value=v, dimension="current", text=f"{v:g} A")


def minutes(v: float) -> Quantity:
    return Quantity(value=v * 60, dimension="time", text=f"{v:g} min")


def test_a_single_limit_keeps_its_meaning() -> None:
    tx = profile_payload(profile_id=7, purpose="TxProfile", periods=[(0, amps(10), None)], stack=0, now=NOW,
                         transaction_id="tx-1")
    assert tx["chargingProfileKind"] == "Relative" and "startSchedule" not in tx["chargingSchedule"][0]
    assert tx["transactionId"] == "tx-1"
    default = profile_payload(profile_id=8, purpose="TxDefaultProfile", periods=[(0, amps(10), None)], stack=1,
                              now=NOW)
    assert default["chargingProfileKind"] == "Absolute"
    assert default["chargingSchedule"][0] == {"id": 1, "chargingRateUnit": "A", "startSchedule":
                                              "2026-11-30T16:00:00.250Z",
                                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}


def test_periods_count_from_the_statement_on_the_scenario_clock() -> None:
    periods = periods_of({"limit": amps(16), "phases": 1, "for1": minutes(10), "limit2": amps(8),
                          "for2": minutes(5), "limit3": amps(6)})
    assert [(s, q.value, p) for s, q, p in periods] == [(0, 16, 1), (600, 8, None), (900, 6, None)]
    tx = profile_payload(profile_id=9, purpose="TxProfile", periods=periods, stack=0, now=NOW,
                         transaction_id="tx-1")
    schedule = tx["chargingSchedule"][0]
    assert tx["chargingProfileKind"] == "Absolute"  # several periods: from now, not from the session's start
    assert schedule["startSchedule"] == "2026-11-30T16:00:00.250Z"
    assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16.0, "numberPhases": 1},
                                                  {"startPeriod": 600, "limit": 8.0},
                                                  {"startPeriod": 900, "limit": 6.0}]


def test_starting_in_and_recurring_daily_in_watts() -> None:
    power = Quantity(value=11000.0, dimension="power", text="11 kW")
    p = profile_payload(profile_id=10, purpose="ChargingStationMaxProfile", periods=[(0, power, None)], stack=0,
                        now=NOW, start_s=120, recurrency="daily")
    assert p["chargingProfileKind"] == "Recurring" and p["recurrencyKind"] == "Daily"
    assert p["chargingSchedule"][0]["startSchedule"] == "2026-11-30T16:02:00.250Z"
    assert p["chargingSchedule"][0]["chargingRateUnit"] == "W"


def test_the_harness_composite_of_a_statement_has_its_periods() -> None:
    # What `expect charger composite schedule` and `wait for the next schedule period` rest on.
    periods = periods_of({"limit": amps(16), "for1": minutes(2), "limit2": amps(6)})
    sent = profile_payload(profile_id=11, purpose="TxDefaultProfile", periods=periods, stack=0, now=NOW,
                           start_s=60)
    held = [profile_from_ocpp(1, sent)]
    c = composite_schedule(held, evse_id=1, start=NOW, duration_s=600, rate_unit="A")
    assert [(p.start_s, p.limit) for p in c.periods] == [(0, None), (60, 16), (180, 6)]
