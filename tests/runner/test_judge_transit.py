"""Messages in flight at a window's end (runner/csms/transit.py): the message judges listen past the end for
the transit allowance and place a late message by its timestamp; one they cannot place is never a pass of
`expect no` / `at most` / `exactly`, and a `within` that gives it the benefit says so."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from dsl.plan import ExpectMessage, ExpectNoMessage, MessageCount, Quantity
from instruments.clock import iso_utc
from runner.context import ScenarioRun
from runner.csms import transit
from runner.csms.transit import send_time
from runner.errors import BenchError, ExpectationFailed
from runner.judge import expect_message, expect_no_message
from runner.recorder import Frame
from tests.runner.test_judge import SRC, make_run

SPEED = 20.0
WINDOW_S = 10.0     # bench seconds: 0.5 s real
TRANSIT_S = 0.5     # real seconds (patched): 10 bench seconds of allowance at 20x
ARRIVES = 5.0       # bench seconds after the window's end: half the allowance (0.25 s real of slack either side)

TEN_S = Quantity(WINDOW_S, "time", "10 s")
STATUS = {"connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}


@pytest.fixture(autouse=True)
def _wide_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    """An allowance wide enough that a loaded machine's scheduling (the judge opens its window a few real
    milliseconds after the test reads the clock) cannot move a message across either edge."""
    monkeypatch.setattr(transit, "TRANSIT_REAL_S", TRANSIT_S)


def _stamp(run: ScenarioRun, t: float) -> str:
    return iso_utc(run.clock.wall(t))


def _measured_clock(run: ScenarioRun) -> None:
    """A live timestamped message before the window: the charger's clock measured, lag 0."""
    t = run.clock.now()
    run.recorder.frame(station="CS1", direction="rx", t=t, raw=json.dumps(
        [2, "s0", "SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": _stamp(run, t)}]))


def _arrives_late(run: ScenarioRun, sent: float | None, payload: dict[str, Any] | None = None) -> threading.Thread:
    """A StatusNotification that arrives ARRIVES bench seconds after the end of a window of WINDOW_S opened
    now, stamped `sent` bench seconds from the window's end (None: no timestamp)."""
    end = run.clock.now() + WINDOW_S
    body = dict(payload or STATUS)
    if sent is not None:
        body["timestamp"] = _stamp(run, end + sent)

    def deliver() -> None:
        run.clock.sleep_until(end + ARRIVES)
        run.recorder.frame(station="CS1", direction="rx", t=end + ARRIVES,
                           raw=json.dumps([2, "late", "StatusNotification", body]))

    th = threading.Thread(target=deliver, daemon=True)
    th.start()
    return th


def _run() -> ScenarioRun:
    run = make_run(speed=SPEED)
    run.last_action_t = run.clock.now()
    _measured_clock(run)
    return run


def _within() -> ExpectMessage:
    return ExpectMessage("StatusNotification", {"connectorStatus": "Occupied"}, TEN_S, SRC, SRC.text)


def _count(kind: str, n: int) -> ExpectMessage:
    return ExpectMessage("StatusNotification", {"connectorStatus": "Occupied"}, TEN_S, SRC, SRC.text,
                         count=MessageCount(kind, n))  # type: ignore[arg-type]


NO_STATUS = ExpectNoMessage("StatusNotification", {}, TEN_S, SRC, SRC.text)


def test_within_counts_a_late_message_sent_before_the_deadline_and_not_one_sent_after() -> None:
    run = _run()
    th = _arrives_late(run, sent=-3.0)  # stamped 3 s before the deadline, arrived 5 s after it
    expect_message(run, _within())
    th.join()
    [m] = run.measurements
    assert m.verdict == "passed"
    assert "real after the deadline, inside the 0.5 s transit allowance" in m.message
    assert "places it at" in m.message and "before the deadline" in m.message
    # the time judged is its sending's, inside what was allowed: the margin stays on the compliant side
    assert m.timing.what == "time to send" and m.timing.seconds <= m.timing.allowed_s and m.margin.value >= 0

    run = _run()
    th = _arrives_late(run, sent=+4.0)  # stamped after the deadline: it was sent late
    with pytest.raises(ExpectationFailed, match=r"did not send StatusNotification .* real after the deadline, "
                                                r"inside the 0\.5 s transit allowance, but its timestamp .* "
                                                r"after the deadline: it does not count"):
        expect_message(run, _within())
    th.join()


def test_within_gives_an_unplaceable_late_message_the_benefit_and_says_so() -> None:
    run = _run()
    th = _arrives_late(run, sent=None)
    expect_message(run, _within())
    th.join()
    [m] = run.measurements
    assert m.verdict == "passed"
    assert ("it carries no timestamp, so whether it was sent before the deadline is not known: the charger is "
            "given the benefit of the allowance") in m.message
    # allowed: the window and the allowance, as the arrival was judged against
    assert m.timing.what == "time to arrive" and m.timing.seconds <= m.timing.allowed_s and m.margin.value >= 0


def test_expect_no_fails_on_a_late_message_sent_inside_and_passes_one_sent_after() -> None:
    run = _run()
    th = _arrives_late(run, sent=-3.0)
    with pytest.raises(ExpectationFailed, match=r"charger sent StatusNotification at t=[\d.]+ s, during the 10 s "
                                                r"in which it must not \(StatusNotification arrived .* real after "
                                                r"the window, .* places it at t=[\d.]+ s, inside the "
                                                r"window\)"):
        expect_no_message(run, NO_STATUS)
    th.join()
    assert run.measurements[-1].verdict == "failed"

    run = _run()
    th = _arrives_late(run, sent=+4.0)
    expect_no_message(run, NO_STATUS)
    th.join()
    [m] = run.measurements
    assert m.verdict == "passed" and m.observed.value == 0
    assert "real after the window, inside the 0.5 s transit allowance, and its timestamp" in m.message
    assert m.message.endswith("after the window")


def test_expect_no_is_broken_by_a_late_message_it_cannot_place() -> None:
    for payload, why in ((None, "it carries no timestamp"),
                         ({**STATUS, "timestamp": "yesterday"}, "does not parse")):
        run = _run()
        th = _arrives_late(run, sent=None, payload=payload)
        with pytest.raises(BenchError, match=rf"no StatusNotification arrived in the 10 s .* inside the 0\.5 s "
                                             rf"transit allowance, and .*{why}.*: it may have been sent inside the "
                                             r"window or after it, .* no verdict"):
            expect_no_message(run, NO_STATUS)
        th.join()
        assert run.measurements[-1].verdict == "broken"


def test_counts_place_late_messages_and_never_pass_an_upper_bound_on_one_they_cannot() -> None:
    run = _run()
    th = _arrives_late(run, sent=-3.0)
    with pytest.raises(ExpectationFailed, match=r"charger sent 1 StatusNotification .*expected at most 0"):
        expect_message(run, _count("at most", 0))
    th.join()

    run = _run()
    th = _arrives_late(run, sent=+4.0)
    with pytest.raises(ExpectationFailed, match=r"expected at least 1: .*not counted: StatusNotification arrived"
                                                r" .* after the window"):
        expect_message(run, _count("at least", 1))
    th.join()

    run = _run()
    th = _arrives_late(run, sent=None)
    with pytest.raises(BenchError, match=r"charger sent 0 StatusNotification .* for certain; StatusNotification "
                                         r"arrived .*: it carries no timestamp, so whether it was sent inside the "
                                         r"window is not known; counting it, 1 would not be at most 0: .* no "
                                         r"verdict"):
        expect_message(run, _count("at most", 0))
    th.join()
    assert run.measurements[-1].verdict == "broken"

    run = _run()
    th = _arrives_late(run, sent=None)
    expect_message(run, _count("exactly", 1))  # the lower side gives the benefit: counted, it is exactly 1
    th.join()
    m = run.measurements[-1]
    assert m.verdict == "passed" and "the charger is given the benefit of the allowance" in m.message


def _frame(t: float, action: str, payload: dict[str, Any], wall_offset: float = 0.0) -> Frame:
    from datetime import UTC, datetime, timedelta
    wall = iso_utc(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=t + wall_offset))
    return Frame(t, wall, "CS1", "rx", json.dumps([2, f"m{t}", action, payload]), 2, f"m{t}", action, payload)


def test_a_message_is_never_placed_by_its_own_lag_nor_by_a_replayed_timestamp() -> None:
    def stamp(t: float) -> str:
        return _frame(t, "x", {}).wall

    late = _frame(20.0, "StatusNotification", {**STATUS, "timestamp": stamp(12.0)})
    # alone, its own (arrival - timestamp) would place it at its arrival, after any end before it
    assert send_time([late], late).sent is None
    earlier = _frame(5.0, "SecurityEventNotification", {"type": "x", "timestamp": stamp(4.9)})
    placed = send_time([earlier, late], late)
    assert placed.sent == pytest.approx(12.1) and "lag of +0.100 s" in placed.why
    replayed = _frame(20.0, "TransactionEvent", {"offline": True, "timestamp": stamp(12.0)})
    assert send_time([earlier, replayed], replayed).sent is None


def test_a_meter_values_message_is_placed_by_its_latest_reading() -> None:
    def stamp(t: float) -> str:
        return _frame(t, "x", {}).wall

    earlier = _frame(5.0, "SecurityEventNotification", {"type": "x", "timestamp": stamp(5.0)})
    late = _frame(20.0, "MeterValues", {"evseId": 1, "meterValue": [
        {"timestamp": stamp(11.0), "sampledValue": [{"value": 1}]},
        {"timestamp": stamp(12.0), "sampledValue": [{"value": 2}]}]})
    placed = send_time([earlier, late], late)
    assert placed.sent == pytest.approx(12.0) and "latest meterValue timestamp" in placed.why
    assert send_time([earlier, _frame(20.0, "Heartbeat", {})], _frame(20.0, "Heartbeat", {})).sent is None


def test_silence_is_heard_through_the_transit_allowance() -> None:
    """A message on its way at the window's end is lost when the connection goes in the allowance after it:
    the end of the window was not heard (broken), for `expect no` as for `at most`."""
    from tests.runner.test_judge import Link

    for judge, e in ((expect_no_message, NO_STATUS), (expect_message, _count("at most", 0))):
        run = _run()
        run.session.harness = Link(run.clock.now(), [(WINDOW_S + 3.0, WINDOW_S + 5.0)])  # in the allowance
        with pytest.raises(BenchError, match=r"came.*, but the charger was not connected for 2\.0 s of the transit "
                                             r"allowance after the window"):
            judge(run, e)
