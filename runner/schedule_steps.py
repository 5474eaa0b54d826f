"""Schedules in bench time: the steps behind `csms sets … for T, then …`, `expect charger composite schedule`
and `wait for the next schedule period` (issue 12, item 2).

A profile written in a spec is placed on the scenario's clock: its periods count from the moment the
statement runs (startSchedule = now, or now + `starting in T`), so `limit 16 A for 10 min, then 6 A` means
ten bench minutes from that line. The one form that keeps its old meaning is a single limit with neither
`starting in` nor `recurring`: a TxProfile is then Relative (to its transaction), any other purpose
Absolute from now, as before.

The composite expectation sends GetCompositeScheduleRequest and judges the answer with
:func:`runner.schedules.check_composites` against the composite the harness computes itself from the
profiles its record says the charger accepted (runner/schedules: K08's stacking and purpose rules). The
bench file's `max_current_a` is the local limit (the EVSE's rating): where no profile reaches, the charger
must report that rating. `wait for the next schedule period` sleeps until the harness's composite changes
next and makes that instant "the previous action", so a settle expectation after it measures the time from
the period boundary to compliance.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dsl.plan import Quantity
from instruments.clock import iso_utc
from runner.context import ScenarioRun
from runner.errors import BenchError, ExpectationFailed
from runner.schedules import Limit, Supply, check_composites, composite_schedule
from runner.schedules.frames import held_from_frames
from runner.steps import _call, implements

DEFAULT_COMPOSITE_S = 3600  # `expect charger composite schedule` without `for D`
BOUNDARY_SLACK_S = 2.0  # a step of the charger's composite may be this early or late (its 1 s resolution)
PERIOD_HORIZON_S = 2 * 86_400  # how far `wait for the next schedule period` looks ahead


def profile_payload(
    *,
    profile_id: int,
    purpose: str,
    periods: list[tuple[int, Quantity, int | None]],
    stack: int,
    now: datetime,
    start_s: float | None = None,
    recurrency: str | None = None,
    transaction_id: str | None = None,
) -> dict[str, Any]:
    """The chargingProfile of a SetChargingProfileRequest: `periods` are (startPeriod s, limit, phases).

    Every limit is in the first one's unit (the checker refused a mix): A per phase or W in total."""
    unit = {"current": "A", "power": "W"}.get(periods[0][1].dimension)
    if unit is None or any(q.dimension != periods[0][1].dimension for _s, q, _p in periods):
        raise BenchError(None, "a charging profile's limits are all currents or all powers")
    timed = len(periods) > 1 or start_s is not None or recurrency is not None
    schedule: dict[str, Any] = {"id": 1, "chargingRateUnit": unit, "chargingSchedulePeriod": [
        {"startPeriod": s, "limit": round(q.value, 1), **({"numberPhases": p} if p else {})}
        for s, q, p in periods]}
    kind = "Relative" if purpose == "TxProfile" and not timed else "Absolute"
    if recurrency is not None:
        kind = "Recurring"
    if kind != "Relative":
        schedule["startSchedule"] = iso_utc(now + timedelta(seconds=start_s or 0))
    profile: dict[str, Any] = {"id": profile_id, "stackLevel": stack, "chargingProfilePurpose": purpose,
                               "chargingProfileKind": kind, "chargingSchedule": [schedule]}
    if recurrency is not None:
        profile["recurrencyKind"] = recurrency.capitalize()
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    return profile


def periods_of(args: dict[str, Any]) -> list[tuple[int, Quantity, int | None]]:
    """(startPeriod, limit, phases) from the statement's `limit`, `for1, limit2`, … parameters."""
    out = [(0, args["limit"], args.get("phases"))]
    at = 0
    for n in (2, 3, 4):
        if f"limit{n}" not in args:
            break
        at += round(args[f"for{n - 1}"].value)
        out.append((at, args[f"limit{n}"], args.get(f"phases{n}")))
    return out


def _round_trip(frames: list[Any], sent_t: float) -> float:
    """Bench seconds between the last GetCompositeSchedule sent from `sent_t` and its answer (0 if none)."""
    calls = [f for f in frames if f.direction == "tx" and f.action == "GetCompositeSchedule" and f.t >= sent_t]
    if not calls:
        return 0.0
    answer = next((f for f in frames if f.direction == "rx" and f.unique_id == calls[-1].unique_id), None)
    return max(0.0, answer.t - calls[-1].t) if answer is not None else 0.0


def _show(limit: float | None, unit: str) -> str:
    return "no period" if limit is None else f"{limit:g} {unit}"


def _supply(run: ScenarioRun) -> Supply:
    return Supply(voltage_v=run.station.config.nominal_voltage_v, phases=run.station.config.phases)


def _rating(run: ScenarioRun) -> Limit:
    return Limit(run.station.config.max_current_a, "A")


@implements("expect.composite_schedule")
def expect_composite_schedule(run: ScenarioRun, evse: int, duration: Quantity | None = None,
                              unit: str = "A") -> None:
    if run.station.ems_touched:  # never a verdict against a composite that leaves out a limit in force
        raise BenchError(None, "the harness computes the composite from the profiles it sent; it cannot know the "
                               "EMS's site limit the charger holds as ChargingStationExternalConstraints in this "
                               "scenario: judge that with the analyzers and NotifyChargingLimit (docs/ems.md)")
    seconds = round(duration.value) if duration is not None else DEFAULT_COMPOSITE_S
    if seconds < 1:
        raise BenchError(None, f"a composite schedule lasts at least 1 s, not {duration.text if duration else ''}")
    sent_t = run.clock.now()
    out = _call(run, "GetCompositeSchedule", {"evseId": evse, "duration": seconds, "chargingRateUnit": unit})
    run.last_outcome = out
    if out.error_code or (out.response or {}).get("status") != "Accepted":
        raise ExpectationFailed(None, f"charger did not give its composite schedule for evse {evse}: "
                                      f"{out.error_code or out.response}")
    frames = run.recorder.frames(station=run.station.id)
    # The charger takes its own X somewhere between the request leaving and the answer arriving: the
    # schedule's edges and steps may be off by that round trip on top of the usual slack.
    slack = BOUNDARY_SLACK_S + _round_trip(frames, sent_t)
    checks = [c for c in check_composites(frames, supply=_supply(run), boundary_slack_s=slack,
                                          local_limits={0: _rating(run), evse: _rating(run)})
              if c.t >= sent_t and c.evse_id == evse]
    if not checks:
        raise BenchError(None, "the GetCompositeSchedule exchange is missing from the record")
    check = checks[-1]  # this statement's request: the last one sent for this EVSE
    if not check.agrees:
        assert check.comparison is not None
        wrong = "; ".join(
            f"from {m.from_s:.1f} s to {m.to_s:.1f} s: expected {_show(m.expected, m.unit)}"
            + (f" (set by {m.bound_by})" if m.bound_by else "") + f", the charger reported {_show(m.reported, m.unit)}"
            for m in check.comparison.mismatches)
        raise ExpectationFailed(None, f"the charger's composite schedule for evse {evse} (GetCompositeSchedule at "
                                      f"t={check.t - run.recorder.t_begin:.1f} s, {seconds} s) is not the one the "
                                      f"profiles sent give, in seconds after the request: {wrong}")
    expected = "; ".join(f"{p.limit:g} {unit} from {p.start_s:.0f} s" if p.limit is not None else
                         f"unconstrained from {p.start_s:.0f} s" for p in check.expected.periods)
    note = f"composite schedule on evse {evse} over {seconds} s matches the profiles sent: {expected}"
    assert check.comparison is not None
    if check.comparison.unjudged:
        spans = ", ".join(f"{a:.0f}-{b:.0f} s" for a, b in check.comparison.unjudged)
        note += f" (not judged where no profile or rating reaches: {spans})"
    run.note(note)


@implements("wait.schedule_period")
def wait_schedule_period(run: ScenarioRun, evse: int) -> None:
    now_t = run.clock.now()
    held = held_from_frames(run.recorder.frames(station=run.station.id))
    plan = composite_schedule(held.profiles, evse_id=evse, start=run.clock.wall(now_t), duration_s=PERIOD_HORIZON_S,
                              rate_unit="A", supply=_supply(run), transaction=held.transactions.get(evse),
                              local_limit=_rating(run))
    current = plan.at(0)
    upcoming = next((p for p in plan.periods if p.start_s > 1e-3), None)
    if upcoming is None:
        raise BenchError(None, f"no schedule period begins on evse {evse} after t={now_t - run.recorder.t_begin:.1f} s "
                               f"(looking {PERIOD_HORIZON_S // 3600} h ahead in the profiles the charger accepted): "
                               "nothing to wait for (a boundary already past is not waited for)")
    boundary_t = now_t + upcoming.start_s
    run.clock.sleep_until(boundary_t)
    run.last_action_t = boundary_t  # a settle expectation next counts from the boundary itself

    def show(limit: float | None) -> str:
        return "no limit" if limit is None else f"{limit:g} A"

    was = show(current.limit if current is not None else None)
    run.recorder.event("schedule_boundary", evse=evse, t_boundary=boundary_t - run.recorder.t_begin,
                       limit_a=upcoming.limit, bound_by=upcoming.bound_by)
    run.note(f"schedule period boundary on evse {evse} at t={boundary_t - run.recorder.t_begin:.1f} s: the "
             f"composite goes from {was} to {show(upcoming.limit)}"
             + (f" (set by {upcoming.bound_by})" if upcoming.bound_by else ""))
