"""Judge every GetCompositeSchedule in a scenario's record against the harness's own composite.

For each GetCompositeScheduleRequest the harness sent, the profiles and transactions the charger
held at that moment are replayed from the frames before it (:mod:`runner.schedules.frames`), the
expected composite is computed from X = the wall time the request left the harness over the requested
duration, and the charger's answer is compared with it (:mod:`runner.schedules.compare`). This is
what `expect charger composite schedule on evse N …` (issue 12) needs from the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from runner.schedules.compare import Comparison, compare
from runner.schedules.composite import composite_schedule
from runner.schedules.frames import CALL, RESULT, FrameLike, held_from_frames
from runner.schedules.model import CompositeSchedule, Limit, RateUnit, Supply
from runner.schedules.parse import ProfileError, composite_from_ocpp, parse_time

CALLERROR = 4


@dataclass(frozen=True)
class CompositeCheck:
    """One GetCompositeSchedule exchange judged: `comparison` None when the charger gave no schedule."""

    t: float  # bench time the request was sent
    evse_id: int
    expected: CompositeSchedule
    reported: CompositeSchedule | None
    comparison: Comparison | None
    refusal: str = ""  # the charger's status/error when it gave no schedule

    @property
    def agrees(self) -> bool:
        return self.comparison is not None and self.comparison.agrees

    def describe(self) -> str:
        head = f"GetCompositeSchedule for evse {self.evse_id} sent at t={self.t:.1f} s"
        if self.comparison is None:
            return f"{head}: the charger gave no schedule ({self.refusal})"
        if self.comparison.agrees:
            return f"{head}: the charger's composite matches the profiles sent"
        return f"{head}: " + "; ".join(m.describe() for m in self.comparison.mismatches)


def check_composites(
    frames: Sequence[FrameLike],
    *,
    supply: Supply | None = None,
    local_limits: Mapping[int, Limit] | None = None,
    boundary_slack_s: float = 2.0,
    limit_tolerance: float | None = None,
    wall_of: Callable[[FrameLike], datetime | None] | None = None,
) -> list[CompositeCheck]:
    """Every answered GetCompositeSchedule in `frames` (oldest first, one station), judged.

    `local_limits` by evseId (0: the station) are the limits outside the profiles the harness knows
    (the bench file's ratings); without one, spans no profile reaches are not judged. `wall_of(frame)`
    gives the wall time a frame crossed the harness (default: the recorder's `frame.wall`).
    """
    when = wall_of or (lambda fr: parse_time(fr.wall))
    checks: list[CompositeCheck] = []
    for i, f in enumerate(frames):
        if not (f.direction == "tx" and f.message_type == CALL and f.action == "GetCompositeSchedule"):
            continue
        answer = next((a for a in frames[i + 1:] if a.direction == "rx" and a.unique_id == f.unique_id
                       and a.message_type in (RESULT, CALLERROR)), None)
        if answer is None:
            continue  # unanswered: the call's own expectation reports the timeout
        request = f.payload if isinstance(f.payload, Mapping) else {}
        evse_id = int(request.get("evseId", 0))
        body = answer.payload if isinstance(answer.payload, Mapping) else {}
        schedule = body.get("schedule")
        unit: RateUnit = request.get("chargingRateUnit") or (schedule or {}).get("chargingRateUnit") or "A"
        held = held_from_frames(frames[:i])
        x = when(f)
        if x is None:
            continue
        expected = composite_schedule(
            held.profiles,
            evse_id=evse_id,
            start=x,
            duration_s=float(request.get("duration", 0)),
            rate_unit=unit,
            supply=supply,
            transaction=held.transactions.get(evse_id),
            local_limit=(local_limits or {}).get(evse_id),
        )
        if answer.message_type == CALLERROR or body.get("status") != "Accepted" or not schedule:
            refusal = getattr(answer, "error_code", None) or str(body.get("status") or "no schedule")
            checks.append(CompositeCheck(f.t, evse_id, expected, None, None, refusal))
            continue
        try:
            reported = composite_from_ocpp(schedule)
        except (ProfileError, KeyError, TypeError, ValueError) as e:
            checks.append(CompositeCheck(f.t, evse_id, expected, None, None, f"unreadable schedule: {e}"))
            continue
        result = compare(expected, reported, supply=supply, boundary_slack_s=boundary_slack_s,
                         limit_tolerance=limit_tolerance)
        checks.append(CompositeCheck(f.t, evse_id, expected, reported, result))
    return checks
