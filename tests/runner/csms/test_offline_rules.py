"""The offline rules judge from the bench's clock and arrival order where the charger's clock may be wrong:
a charger whose clock is off by minutes is not blamed for offline flags it set right (the timestamp rule
reports its clock), and an event resent after a lost answer is not a repeated seqNo.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from instruments.clock import iso_utc
from runner.csms.expect import charger_clock_offset, offline_flagged, seqno_increments
from runner.recorder import Frame, parse_frame

WALL0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
OUTAGE = [(100.0, 1000.0)]


def te(seq: int, arrived: float, happened: float, skew: float = 0.0, **extra: object) -> Frame:
    """A TransactionEvent that happened at bench time `happened`, stamped by a clock `skew` s ahead."""
    payload = {"eventType": "Updated", "seqNo": seq, "timestamp": iso_utc(WALL0 + timedelta(seconds=happened + skew)),
               "triggerReason": "MeterValuePeriodic", "transactionInfo": {"transactionId": "T1"}, **extra}
    raw = json.dumps([2, f"id{seq}-{arrived}", "TransactionEvent", payload])
    _, uid, action, parsed, code = parse_frame(raw)
    return Frame(arrived, iso_utc(WALL0 + timedelta(seconds=arrived)), "CS1", "rx", raw, 2, uid, action, parsed, code)


def session(skew: float, *, flag_replays: bool = True) -> list[Frame]:
    """Live events before an outage, events raised during it replayed after it, then a live one."""
    live = [te(0, 10.02, 10, skew, eventType="Started"), te(1, 50.01, 50, skew), te(2, 90.03, 90, skew)]
    replayed = [te(3 + i, 1000.5 + i, 110 + 10 * i, skew, **({"offline": True} if flag_replays else {}))
                for i in range(3)]
    return [*live, *replayed, te(6, 1010.02, 1010, skew)]


def test_charger_clock_offset_is_measured_on_its_freshest_message() -> None:
    assert abs(charger_clock_offset(session(0.0)) - 0.01) < 1e-6        # the least link latency
    assert abs(charger_clock_offset(session(300.0)) - (0.01 - 300)) < 1e-6  # 300 s ahead
    assert abs(charger_clock_offset(session(-45.0)) - (0.01 + 45)) < 1e-6
    assert charger_clock_offset([]) is None


def test_a_skewed_clock_is_not_blamed_on_offline_flags() -> None:
    for skew in (0.0, 300.0, -300.0, 3600.0):
        assert offline_flagged(session(skew), OUTAGE) == [], skew


def test_unflagged_replays_fail_whatever_the_charger_clock() -> None:
    for skew in (0.0, 300.0, -300.0):
        violations = offline_flagged(session(skew, flag_replays=False), OUTAGE)
        assert [v.frame.payload["seqNo"] for v in violations] == [3, 4, 5], skew
    (first, *_) = offline_flagged(session(300.0, flag_replays=False), OUTAGE)
    assert first.message == ("TransactionEvent offline (transaction T1, seqNo 3): expected true for an event at "
                             "t=110.010 s, inside the outage 100.000-1000.000 s; observed None (arrived at "
                             "t=1000.500 s; charger clock +300.0 s from the bench's, corrected)")


def test_an_event_raised_as_the_link_drops_is_not_judged() -> None:
    # Raised 0.6 s into the outage, before the charger could know: it went out as a live event.
    frames = [*session(0.0)[:3], te(3, 1000.5, 100.6), te(4, 1001.5, 110, offline=True)]
    assert offline_flagged(frames, OUTAGE) == []
    assert len(offline_flagged(frames, OUTAGE, grace_s=0.0)) == 1


def test_an_event_resent_after_a_lost_answer_is_not_a_repeated_seqno() -> None:
    live = session(0.0)[:3]
    resent = te(2, 1000.4, 90)  # seqNo 2 again, same payload: its answer was lost to the drop
    assert seqno_increments([*live, resent, *session(0.0)[3:]]) == []
    changed = te(2, 1000.4, 95)  # seqNo 2 again with other content: a real repeat
    [v] = seqno_increments([*live, changed, *session(0.0)[3:]])
    assert "seqNo expected 3, observed 2 (repeated)" in v.message
