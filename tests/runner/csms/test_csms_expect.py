"""Rules over recorded frames: subset match, forbidden messages, seqNo, offline, timestamps, intervals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from instruments.clock import Clock, iso_utc
from runner.csms.expect import (
    clock_aligned,
    find_message,
    forbidden,
    intervals,
    matches,
    meter_samples,
    offline_flagged,
    seqno_increments,
    seqno_series,
    timestamps_aligned,
    timestamps_every,
    timestamps_within,
    transaction_lifetimes,
)
from runner.recorder import Frame, parse_frame

WALL0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)


def at(t: float) -> str:
    return iso_utc(WALL0 + timedelta(seconds=t))


def frame(action: str, payload: dict, t: float, direction: str = "rx", mtype: int = 2) -> Frame:
    raw = json.dumps([mtype, f"id{t}", action, payload] if mtype == 2 else [mtype, f"id{t}", payload])
    _, uid, _, parsed, code = parse_frame(raw)
    return Frame(t, at(t), "CS1", direction, raw, mtype, uid, action, parsed, code)  # type: ignore[arg-type]


def te(seq: int, t: float, event: str = "Updated", happened: float | None = None, tid: str = "T1",
       **extra: object) -> Frame:
    return frame("TransactionEvent", {"eventType": event, "seqNo": seq, "timestamp": at(t if happened is None
                                                                                          else happened),
                                      "triggerReason": "MeterValuePeriodic",
                                      "transactionInfo": {"transactionId": tid}, **extra}, t)


def test_nested_subset_matching() -> None:
    observed = {"a": 1, "b": {"c": [{"x": 1, "y": 2}, {"x": 3}], "d": True}}
    assert matches(observed, {"b": {"c": [{"x": 3}, {"y": 2}]}})
    assert matches(observed, {"a": 1.0})
    assert not matches(observed, {"b": {"c": [{"x": 4}]}})
    assert not matches(observed, {"b": {"d": 1}})        # True is not 1
    assert not matches(observed, {"missing": None})
    assert not matches([1], {"a": 1})


def test_find_message_tolerates_reordering_and_honours_since() -> None:
    frames = [te(1, 5.0, offline=True), te(0, 6.0, event="Started"), te(2, 7.0, offline=True)]
    found = find_message(frames, "TransactionEvent", {"eventType": "Updated", "offline": True}, since_t=6.0)
    assert found is frames[2]
    assert find_message(frames, "TransactionEvent", {"eventType": "Started"}) is frames[1]
    assert find_message(frames, "TransactionEvent", {"eventType": "Ended"}) is None
    assert find_message(frames, "TransactionEvent", {}, kind="call", direction="tx") is None
    result = frame("Reset", {"status": "Accepted"}, 9.0, mtype=3)
    assert find_message([result], "Reset", {"status": "Accepted"}, kind="result") is result


def test_forbidden_lists_every_offender_in_the_window() -> None:
    frames = [frame("StatusNotification", {"connectorStatus": s}, t) for t, s in
              [(1, "Faulted"), (5, "Available"), (6, "Faulted"), (20, "Faulted")]]
    assert forbidden(frames, "StatusNotification", {"connectorStatus": "Faulted"}, 2, 10) == [frames[2]]
    assert forbidden(frames, "Heartbeat", None, 0, 100) == []


def test_seqno_rule_accepts_reordered_arrival_and_names_gaps() -> None:
    healthy = [te(0, 1, "Started"), te(2, 3.5, happened=3), te(1, 3.6, happened=2), te(3, 4, "Ended")]
    assert seqno_increments(healthy) == []
    broken = [te(0, 1, "Started"), te(1, 2), te(3, 3), te(3, 4), te(4, 5, "Ended")]
    violations = seqno_increments(broken)
    assert [(v.expected, v.observed) for v in violations] == [(2, 3), (4, 3)]
    assert "seqNo expected 2, observed 3 (skipped) at t=3.000 s" in violations[0].message
    assert "transaction T1" in violations[0].message
    late_start = [te(1, 1), te(0, 2, "Started", happened=1.5)]
    first, order = seqno_increments(late_start)
    assert (first.expected, first.observed) == ("Started", "Updated")
    assert (order.expected, order.observed) == (2, 0) and "(decreased)" in order.message


def test_a_report_series_counts_up_from_0_until_tbc_ends_it() -> None:
    """B07/B08 (TC_B_12/13/53_CS): NotifyReport seqNo 0 first, then each + 1 while tbc is true, per requestId;
    a series ended by tbc false starts again at 0. The rule judged TransactionEvents only."""
    def nr(req: int, seq: object, t: float, tbc: bool | None = True) -> Frame:
        return frame("NotifyReport", {"requestId": req, "seqNo": seq, "generatedAt": "x",
                                      **({"tbc": tbc} if tbc is not None else {})}, t)

    healthy = [nr(7, 0, 1), nr(8, 0, 1.5, None), nr(7, 1, 2), nr(7, 1, 2.1), nr(7, 2, 3, None),
               frame("NotifyEvent", {"seqNo": 0, "generatedAt": "x", "eventData": []}, 4),
               frame("NotifyEvent", {"seqNo": 0, "generatedAt": "x", "eventData": []}, 5)]
    assert seqno_series(healthy) == []  # (7, seqNo 1 sent twice: the same message again, not a repeat)
    gap = [nr(7, 0, 1), nr(7, 2, 2), nr(9, 1, 3, None), nr(7, 3, 4, False), nr(7, 1, 5, None)]
    assert [v.message for v in seqno_series(gap)] == [
        "NotifyReport of request 7: seqNo expected 1, observed 2 (skipped) at t=2.000 s",
        "NotifyReport of request 9: seqNo expected 0, observed 1 (a new series must start at 0) at t=3.000 s",
        "NotifyReport of request 7: seqNo expected 0, observed 1 (a new series must start at 0) at t=5.000 s",
    ]
    assert seqno_increments(gap) == []  # (the transaction rule leaves them to this one)


def test_offline_flag_required_for_events_that_happened_during_an_outage() -> None:
    outage = [(100.0, 200.0)]
    frames = [te(3, 210, happened=150, offline=True), te(4, 211, happened=160), te(5, 212)]
    [v] = offline_flagged(frames, outage)
    assert v.frame is frames[1] and v.observed is None
    assert "expected true for an event at t=160.000 s, inside the outage 100.000-200.000 s" in v.message


def test_timestamps_within_tolerance_of_the_harness_clock() -> None:
    clock = Clock(start_wall=WALL0)
    frames = [
        frame("StatusNotification", {"timestamp": at(10.5)}, 10.0),
        frame("StatusNotification", {"timestamp": at(40.0)}, 11.0),                   # 29 s ahead
        te(7, 12.0, happened=-500, offline=True),                                    # replayed: exempt
        frame("NotifyEvent", {"generatedAt": "yesterday"}, 13.0),
    ]
    violations = timestamps_within(frames, clock, 2.0)
    assert [(v.frame, v.rule) for v in violations] == [(frames[1], "timestamp"), (frames[3], "timestamp")]
    assert "+29.000 s" in violations[0].message
    assert timestamps_within(frames[:1], None, 2.0) == []


def test_a_timestamp_behind_its_arrival_is_allowed_the_messages_transit_one_ahead_is_not() -> None:
    # A timestamp is taken before the message leaves: at 60x, 39 ms of real transit put a healthy twin's
    # timestamps 2.345 bench s behind their arrival, which failed `timestamp within 2 s` (1 run in 3).
    clock = Clock(start_wall=WALL0)
    late = frame("StatusNotification", {"timestamp": at(7.5)}, 10.0)     # 2.5 s behind its arrival
    early = frame("StatusNotification", {"timestamp": at(22.5)}, 20.0)   # 2.5 s ahead: the charger's clock
    later = frame("StatusNotification", {"timestamp": at(26.0)}, 30.0)   # 4 s behind: more than transit explains
    assert [v.frame for v in timestamps_within([late, early, later], clock, 2.0, 1.0)] == [early, later]
    assert [v.frame for v in timestamps_within([late], clock, 2.0)] == [late]  # no transit allowed: as before
    [v] = timestamps_within([later], clock, 2.0, 1.0)
    assert ("expected within 2 s of the harness clock (behind it 3 s: 1 s for the message's transit), "
            "observed") in v.message and "(-4.000 s)" in v.message


def test_intervals_judge_gaps_and_window_edges() -> None:
    good = [frame("MeterValues", {}, t) for t in (60, 120.5, 181, 239.8)]
    assert intervals(good, "MeterValues", 60, 2, 0, 260) == []
    gappy = [frame("MeterValues", {}, t) for t in (60, 120, 250)]
    [gap] = intervals(gappy, "MeterValues", 60, 2, 0, 260)
    assert gap.observed == 130 and "observed 130.000 s between t=120.000 s and t=250.000 s" in gap.message
    stops = intervals(good[:2], "MeterValues", 60, 2, 0, 300)
    assert [v.t for v in stops] == [300]
    [none] = intervals([], "MeterValues", 60, 2, 0, 300)
    assert "observed no MeterValues" in none.message
    filtered = [frame("TransactionEvent", {"triggerReason": r}, t) for t, r in
                [(60, "MeterValuePeriodic"), (90, "ChargingStateChanged"), (120, "MeterValuePeriodic")]]
    assert intervals(filtered, "TransactionEvent", 60, 2, 30, 150,
                     fields={"triggerReason": "MeterValuePeriodic"}) == []


PERIODIC = {"triggerReason": "MeterValuePeriodic"}


def test_a_transaction_that_ran_without_its_periodic_events_is_a_gap_of_its_own() -> None:
    # Two transactions on two EVSEs; only T1 reports every 60 s. Judged by the streams that came, T2's
    # silence went unnoticed: the check passed for "the charger" while one transaction sent nothing.
    frames = [te(1, 0, "Started", triggerReason="Authorized", tid="T1", evse={"id": 1}),
              te(1, 1, "Started", triggerReason="Authorized", tid="T2", evse={"id": 2}),
              *(te(n + 1, 60.0 * n, tid="T1") for n in range(1, 5))]
    assert intervals(frames, "TransactionEvent", 60, 2, 0, 280, fields=PERIODIC) == []
    lifetimes = transaction_lifetimes(frames, PERIODIC)
    assert lifetimes == {"transaction T1": (0.0, float("inf")), "transaction T2": (1.0, float("inf"))}
    [gap] = intervals(frames, "TransactionEvent", 60, 2, 0, 280, fields=PERIODIC, lifetimes=lifetimes)
    assert gap.message == ("TransactionEvent interval (transaction T2): expected 60 s ± 2 s, observed no "
                           "TransactionEvent between t=1.000 s and t=280.000 s")
    # the filter's identifying fields say which transactions are meant: EVSE 1's alone is T1
    only_one = transaction_lifetimes(frames, {**PERIODIC, "evse": {"id": 1}})
    assert list(only_one) == ["transaction T1"]
    assert intervals(frames, "TransactionEvent", 60, 2, 0, 280, fields=PERIODIC, lifetimes=only_one) == []


def test_each_transaction_is_held_to_the_part_of_the_window_in_which_it_ran() -> None:
    # T2 begins at 100 s (its first sample at 160 s) and ends at 230 s, inside the window 0-300 s: neither
    # the window's start nor its end was due for it. T1 runs throughout.
    frames = [te(1, -5, "Started", triggerReason="Authorized", tid="T1"),
              te(1, 100, "Started", triggerReason="Authorized", tid="T2"),
              *(te(n + 1, 60.0 * n, tid="T1") for n in range(1, 6)),
              te(2, 160, tid="T2"), te(3, 220, tid="T2"), te(4, 230, "Ended", triggerReason="EVDeparted", tid="T2")]
    lifetimes = transaction_lifetimes(frames, PERIODIC)
    assert intervals(frames, "TransactionEvent", 60, 2, 0, 300, fields=PERIODIC, lifetimes=lifetimes) == []
    # judged against the window alone, T2 failed twice: 160 s from the window's start, 80 s to its end
    assert len(intervals(frames, "TransactionEvent", 60, 2, 0, 300, fields=PERIODIC)) == 2
    # a stream that stops while its transaction runs is still a gap
    stopped = [f for f in frames if not (f.payload.get("transactionInfo", {}).get("transactionId") == "T1"
                                          and f.t > 130)]
    [gap] = intervals(stopped, "TransactionEvent", 60, 2, 0, 300, fields=PERIODIC, lifetimes=lifetimes)
    assert "(transaction T1)" in gap.message and "observed none after t=120.000 s" in gap.message


def test_a_queued_ended_event_ends_its_transaction_when_it_happened() -> None:
    # T1's Ended happened at 130 s while the charger was offline and arrived at 400 s (offline: true).
    frames = [te(1, 0, "Started"), te(2, 60), te(3, 120),
              te(4, 400, "Ended", triggerReason="EVDeparted", happened=130, offline=True)]
    assert transaction_lifetimes(frames) == {"transaction T1": (0.0, 130.0)}
    # T2 began and ended before the window: not due in it
    lifetimes = {"transaction T2": (0.0, 50.0)}
    assert intervals([], "TransactionEvent", 60, 2, 100, 300, lifetimes=lifetimes) == []


def mv(evse: int, stamped: float | str, t: float, context: str | None = "Sample.Clock") -> Frame:
    """A MeterValues of one reading stamped `stamped` (bench s after WALL0, or the text), arriving at `t`."""
    sv: dict[str, object] = {"value": 1.0, "measurand": "Power.Active.Import"}
    if context is not None:
        sv["context"] = context
    text = at(stamped) if isinstance(stamped, float | int) else stamped
    return frame("MeterValues", {"evseId": evse, "meterValue": [{"timestamp": text, "sampledValue": [sv]}]}, t)


def test_clock_aligned_instants_start_at_midnight_in_the_timestamps_own_offset() -> None:
    moment = datetime(2025, 3, 1, 8, 0, 58, tzinfo=UTC)
    assert clock_aligned(moment, 60) == datetime(2025, 3, 1, 8, 1, tzinfo=UTC)
    assert clock_aligned(moment, 900) == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    local = datetime.fromisoformat("2025-03-01T13:45:02+05:45")  # (Nepal: 08:00:02 UTC)
    assert clock_aligned(local, 3600).isoformat() == "2025-03-01T14:00:00+05:45"
    # 7 s does not divide a day: its last interval is shorter, and the next midnight is aligned too.
    assert clock_aligned(datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC), 7) == datetime(2025, 3, 2, tzinfo=UTC)


def test_timestamps_aligned_judges_each_reading_against_the_clock_not_its_arrival() -> None:
    """J01: a clock-aligned reading carries the aligned instant, however late the message comes; one stamped
    with the time it was taken (the aligned instant plus a delay) is off the clock."""
    healthy = [mv(1, 60.0, 63.0), mv(0, 60.0, 61.0), mv(1, 120.0, 129.0), mv(1, 180.0, 181.0)]
    assert timestamps_aligned(meter_samples(healthy, "Sample.Clock"), 60, 2) == []
    late = [mv(1, 60.0, 63.0), mv(1, 125.4, 126.0)]
    [v] = timestamps_aligned(meter_samples(late, "Sample.Clock"), 60, 2)
    assert v.message == ("MeterValues (evse 1) meterValue[0].timestamp 2025-03-01T08:02:05.400Z: expected the "
                         "clock-aligned time 2025-03-01T08:02:00.000Z (midnight + k × 60 s) within 2 s, observed "
                         "5.400 s late at t=126.000 s")
    assert timestamps_aligned(meter_samples(late, "Sample.Clock"), 60, 6) == []


def test_timestamps_aligned_wants_one_reading_per_interval_per_stream() -> None:
    skipped = [mv(1, 60.0, 61.0), mv(2, 120.0, 121.0), mv(1, 240.0, 241.0), mv(2, 180.0, 181.0)]
    [v] = timestamps_aligned(meter_samples(skipped, "Sample.Clock"), 60, 2)
    assert v.message == ("MeterValues (evse 1) meterValue[0].timestamp 2025-03-01T08:04:00.000Z: expected a "
                         "clock-aligned reading at 2025-03-01T08:02:00.000Z (60 s after the one at "
                         "2025-03-01T08:01:00.000Z), observed none until 2025-03-01T08:04:00.000Z (2 intervals "
                         "without a reading) at t=241.000 s")


def test_meter_samples_are_the_readings_of_the_context_in_the_charger_s_calls() -> None:
    frames = [mv(1, 60.0, 61.0), mv(1, 61.0, 62.0, context="Trigger"), mv(1, 62.0, 63.0, context=None),
              mv(1, "yesterday", 64.0), mv(1, 65.0, 65.0, context="Sample.Clock")]
    answer = frame("MeterValues", {}, 66.0, direction="tx", mtype=3)
    assert [s.frame.t for s in meter_samples([*frames, answer], "Sample.Clock")] == [61.0, 64.0, 65.0]
    assert [s.frame.t for s in meter_samples(frames, "Sample.Periodic")] == [63.0]  # (no context: Sample.Periodic)
    [v] = timestamps_aligned(meter_samples(frames[3:4], "Sample.Clock"), 60, 2)
    assert v.message == ("MeterValues (evse 1) meterValue[0].timestamp: expected an RFC 3339 timestamp with a "
                         "zone, observed 'yesterday' at t=64.000 s")


def test_timestamps_every_judges_the_interval_between_readings_of_a_stream() -> None:
    """J02 (TC_J_09_CS): consecutive sampled readings of a transaction are the configured interval apart,
    whenever their messages arrive; the same reading in two messages is one instant, not an interval of 0 s."""
    def upd(seq: int, stamped: float, t: float, tid: str = "T1") -> Frame:
        return te(seq, t, tid=tid, meterValue=[{"timestamp": at(stamped), "sampledValue": [
            {"value": 1.0, "context": "Sample.Periodic"}]}])
    healthy = [upd(1, 20.3, 25.0), upd(2, 40.1, 41.0), upd(3, 40.1, 42.0), upd(4, 60.2, 70.0),
               upd(1, 33.0, 34.0, tid="T2"), upd(2, 53.5, 54.0, tid="T2")]
    assert timestamps_every(meter_samples(healthy, "Sample.Periodic"), 20, 2) == ([], 3)
    drifting = [upd(1, 20.0, 21.0), upd(2, 40.0, 41.0), upd(3, 63.0, 63.5)]
    violations, judged = timestamps_every(meter_samples(drifting, "Sample.Periodic"), 20, 2)
    assert judged == 2
    assert [v.message for v in violations] == [
        "TransactionEvent (transaction T1) meterValue[0].timestamp 2025-03-01T08:01:03.000Z: expected 20 s after "
        "the reading at 2025-03-01T08:00:40.000Z within 2 s, observed 23.000 s (+3.000 s) at t=63.500 s"]
    assert timestamps_every(meter_samples(drifting, "Sample.Periodic"), 20, 2, slack_s=1.0) == ([], 2)
    [v], _ = timestamps_every(meter_samples(drifting, "Sample.Periodic"), 20, 2, slack_s=0.5)
    assert "within 2 s (and 0.5 s for the bench's scheduling), observed 23.000 s (+3.000 s)" in v.message
