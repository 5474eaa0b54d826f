"""The message expectations added for the conformance pack: either of two messages, counts, timing
between messages, remembered values; each passing on the right trace and failing with the message a
reader needs on the wrong one."""

from __future__ import annotations

import json

import pytest

from dsl.plan import (
    After,
    AnyOf,
    ExpectMessage,
    ExpectNoMessage,
    MessageCount,
    MessagePattern,
    Quantity,
    Remember,
    Remembered,
)
from runner.csms.waiting import Stall
from runner.errors import BenchError, ExpectationFailed
from runner.judge import expect_message, expect_no_message, remember
from tests.runner.test_judge import SRC, _after_action, _rx, make_run


def _secs(n: float) -> Quantity:
    return Quantity(float(n), "time", f"{n:g} s")


def _expect(action: str, fields: dict, **kw) -> ExpectMessage:
    return ExpectMessage(action, fields, kw.pop("within", None), SRC, SRC.text, **kw)


def test_either_of_two_messages() -> None:
    run = make_run()
    _after_action(run)
    e = _expect("StatusNotification", {"connectorStatus": "Occupied"},
                others=(MessagePattern("NotifyEvent", {"eventData": [{"actualValue": "Occupied"}]}),))
    _rx(run, "StatusNotification", {"connectorStatus": "Available", "evseId": 1}, 1)
    with pytest.raises(ExpectationFailed, match=r'did not send StatusNotification \{connectorStatus: "Occupied"\} '
                                                r'or NotifyEvent \{eventData: \[\{actualValue: "Occupied"\}\]\} '
                                                r'by now.*'
                                                r'1 StatusNotification, 0 NotifyEvent arrived but none matched'):
        expect_message(run, e)
    _rx(run, "NotifyEvent", {"eventData": [{"actualValue": "Available"}, {"actualValue": "Occupied"}]}, 2)
    expect_message(run, e)


def test_a_pattern_is_shown_as_written_in_the_failure() -> None:
    run = make_run()
    _after_action(run)
    _rx(run, "StatusNotification", {"connectorStatus": "Faulted", "evseId": 1}, 1)
    e = _expect("StatusNotification", {"connectorStatus": AnyOf(("Available", "Occupied"))})
    with pytest.raises(ExpectationFailed, match=r'connectorStatus: expected "Available" or "Occupied", '
                                                r'observed "Faulted"'):
        expect_message(run, e)


def test_exactly_one_fails_on_a_second_message_and_passes_on_one() -> None:
    run = make_run()
    _after_action(run)
    e = _expect("TransactionEvent", {"eventType": "Started"}, count=MessageCount("exactly", 1))
    _rx(run, "TransactionEvent", {"eventType": "Started", "seqNo": 0}, 1)
    expect_message(run, e)
    _rx(run, "TransactionEvent", {"eventType": "Started", "seqNo": 1}, 2)
    with pytest.raises(ExpectationFailed, match=r'charger sent 2 TransactionEvent \{eventType: "Started"\} by now '
                                                r'.*; expected exactly 1: 2 arrived: TransactionEvent at t='):
        expect_message(run, e)


def test_at_least_waits_within_and_counts() -> None:
    run = make_run()
    _after_action(run)
    _rx(run, "StatusNotification", {"evseId": 1}, 1)
    e = _expect("StatusNotification", {}, count=MessageCount("at least", 2), within=_secs(2))
    with pytest.raises(ExpectationFailed, match=r"charger sent 1 StatusNotification within 2 s .*at least 2"):
        expect_message(run, e)
    _rx(run, "StatusNotification", {"evseId": 1}, 2)
    expect_message(run, e)


def test_within_after_measures_from_the_reference_message() -> None:
    run = make_run()
    _after_action(run)
    _rx(run, "StatusNotification", {"connectorStatus": "Available"}, 1)
    run.clock.sleep(5)
    _rx(run, "TransactionEvent", {"eventType": "Ended"}, 2)
    ref = MessagePattern("StatusNotification", {"connectorStatus": "Available"})
    late = _expect("TransactionEvent", {"eventType": "Ended"}, after=After(_secs(2), ref))
    with pytest.raises(ExpectationFailed, match=r"charger sent 0 TransactionEvent \{eventType: \"Ended\"\} within "
                                                r"2 s after StatusNotification .*the first matching one came at "
                                                r"t=5\.\d s, 5\.\d s after the window began"):
        expect_message(run, late)
    expect_message(run, _expect("TransactionEvent", {"eventType": "Ended"}, after=After(_secs(10), ref)))
    missing_ref = _expect("TransactionEvent", {}, after=After(_secs(10), MessagePattern("BootNotification", {})))
    with pytest.raises(ExpectationFailed, match=r"did not send BootNotification by now .* could not be timed"):
        expect_message(run, missing_ref)


def test_a_count_after_a_message_says_when_it_counts_that_message_itself() -> None:
    """`… within D after M` counts from M, so M is among what it counts where it matches: `at least 1 A within D
    after A` passes on the reference alone. The verdict says so rather than reading as a second A."""
    run = make_run()
    _after_action(run)
    _rx(run, "TransactionEvent", {"eventType": "Started"}, 1)
    started = MessagePattern("TransactionEvent", {"eventType": "Started"})
    expect_message(run, _expect("TransactionEvent", {"eventType": "Started"}, count=MessageCount("at least", 1),
                                after=After(_secs(1), started)))
    assert run.notes[-1].endswith("(counting the TransactionEvent {eventType: \"Started\"} at t=0.0 s that the "
                                  "window starts from); expected at least 1")
    with pytest.raises(ExpectationFailed, match=r"expected at least 2: 1 arrived: TransactionEvent at t=0\.\d s "
                                                r"\(counting the TransactionEvent"):
        expect_message(run, _expect("TransactionEvent", {}, count=MessageCount("at least", 2),
                                    after=After(_secs(1), started)))


def test_remember_keeps_a_field_for_later_lines() -> None:
    run = make_run()
    _rx(run, "TransactionEvent", {"eventType": "Started", "transactionInfo": {"transactionId": "T1"}}, 1)
    _rx(run, "TransactionEvent", {"eventType": "Started", "transactionInfo": {"transactionId": "T2"}}, 2)
    use = _expect("TransactionEvent", {"transactionInfo": {"transactionId": Remembered("tx")}})
    with pytest.raises(BenchError, match='nothing was remembered as "tx"'):
        expect_message(run, use)
    last = Remember(("transactionInfo", "transactionId"), "last", MessagePattern("TransactionEvent", {}), "tx",
                    SRC, SRC.text)
    remember(run, last)
    assert run.remembered == {"tx": "T2"}
    remember(run, Remember(last.path, "first", last.message, "tx", SRC, SRC.text))
    assert run.remembered == {"tx": "T1"}
    expect_message(run, use)
    run.remembered["tx"] = "T9"
    with pytest.raises(ExpectationFailed, match=r'transactionInfo.transactionId: expected "T9", observed "T1"'):
        expect_message(run, use)
    with pytest.raises(ExpectationFailed, match=r"has no idToken.idToken to remember"):
        remember(run, Remember(("idToken", "idToken"), "last", last.message, "id", SRC, SRC.text))
    with pytest.raises(ExpectationFailed, match=r"nothing to remember .* no MeterValues arrived"):
        remember(run, Remember(("x",), "last", MessagePattern("MeterValues", {}), "id", SRC, SRC.text))


def test_remember_says_when_what_it_kept_came_before_the_previous_action() -> None:
    """`remember` does not wait: the last TransactionEvent before a new session's Started is the old one. The
    pass says so, in the evidence, rather than passing as if it were the new one's."""
    run = make_run()
    _rx(run, "TransactionEvent", {"eventType": "Started", "transactionInfo": {"transactionId": "OLD"}}, 1)
    run.clock.sleep(1)
    _after_action(run)
    last = Remember(("transactionInfo", "transactionId"), "last", MessagePattern("TransactionEvent", {}), "tx",
                    SRC, SRC.text)
    remember(run, last)
    assert "before the previous action at t=" in run.notes[-1] and '"OLD"' in run.notes[-1]
    _rx(run, "TransactionEvent", {"eventType": "Started", "transactionInfo": {"transactionId": "NEW"}}, 2)
    remember(run, last)
    assert "before the previous action" not in run.notes[-1] and '"NEW"' in run.notes[-1]


def test_a_message_that_broke_the_schema_is_counted_but_never_silently() -> None:
    """A verdict resting on a message that violated the OCPP 2.0.1 schema (lenient mode took it; strict mode
    answered CALLERROR) says so: before, `charger sends` and counts passed on it without a word."""
    import json

    run = make_run()
    _after_action(run)
    bad = {"connectorStatus": "Occupied", "evseId": "1"}  # evseId a string: the schema wants an integer
    _rx(run, "StatusNotification", bad, 1)
    raw = json.dumps([2, "m1", "StatusNotification", bad])
    run.recorder.finding("warning", "CS1: StatusNotification request (message id 'm1') at t=0.000 s violates the "
                         "OCPP 2.0.1 schema: evseId: '1' is not of type 'integer'; answered anyway (lenient)",
                         station="CS1", raw=raw)
    expect_message(run, _expect("StatusNotification", {"connectorStatus": "Occupied"}))
    assert run.notes[-1].endswith("after the preceding action; it violates the OCPP 2.0.1 schema (evseId: '1' is not "
                                  "of type 'integer'; answered anyway (lenient))"), run.notes[-1]
    _rx(run, "StatusNotification", {"connectorStatus": "Occupied", "evseId": 1}, 2)
    expect_message(run, _expect("StatusNotification", {"connectorStatus": "Occupied"},
                                count=MessageCount("at least", 2)))
    assert "; 1 of them (t=" in run.notes[-1]
    assert ") violates the OCPP 2.0.1 schema (the first: evseId" in run.notes[-1]
    remember(run, Remember(("evseId",), "first", MessagePattern("StatusNotification", {}), "evse", SRC, SRC.text))
    assert "it violates the OCPP 2.0.1 schema" in run.notes[-1]


# ---- the bench loop's stalls: a frame read after one may have arrived anywhere in it ----------------------

def _stall(run, since: float, start: float, end: float, after: float) -> None:
    """The harness's loop stood still from `start` to `end` (bench seconds from now); what it read up to the
    beat at `after` may have arrived from `since` on."""
    t = run.clock.now()
    run.harness.stalled = [Stall(t + since, t + start, t + end, t + after)]


def _rx_at(run, action: str, payload: dict, n: int, at: float) -> None:
    run.recorder.frame(station="CS1", direction="rx", t=run.clock.now() + at,
                       raw=json.dumps([2, f"m{n}", action, payload]))


NO_STATUS_10 = ExpectNoMessage("StatusNotification", {}, _secs(10), SRC, SRC.text)


def test_silence_is_undecided_when_a_message_read_after_a_stall_across_the_end_may_be_in_it() -> None:
    """`expect no X for 10 s`: an X stamped 0.7 s after the window, read after the loop stood still across its
    end, may have been sent inside it: broken, naming the stall and the frame, not passed."""
    run = make_run(speed=20)
    _rx_at(run, "StatusNotification", {"connectorStatus": "Occupied"}, 1, at=10.7)
    _stall(run, since=8, start=8.5, end=10.5, after=11)
    with pytest.raises(BenchError, match=r"^specs/x\.spec:12:5: .*\n  expect no StatusNotification: undecided, and "
                                         r"the bench's fault: its event loop was stalled for 0\.1 s of real time "
                                         r"\(t=8\.\d s … t=10\.\d s\), and the StatusNotification stamped at "
                                         r"t=10\.\d s was read after it: it may have arrived before the window ended "
                                         r"\(the window: t=0\.\d s … t=10\.\d s\)"):
        expect_no_message(run, NO_STATUS_10)
    assert run.measurements[-1].verdict == "broken"
    # the same frame with no stall was read when it came: after the window, and the silence stands
    run = make_run(speed=20)
    _rx_at(run, "StatusNotification", {"connectorStatus": "Occupied"}, 1, at=10.7)
    expect_no_message(run, NO_STATUS_10)
    assert run.measurements[-1].verdict == "passed"
    # a stall across the end with nothing of the kind read in its shadow decides nothing either way
    run = make_run(speed=20)
    _rx_at(run, "Heartbeat", {}, 1, at=10.7)
    _stall(run, since=8, start=8.5, end=10.5, after=11)
    expect_no_message(run, NO_STATUS_10)
    assert run.measurements[-1].verdict == "passed"


def test_a_message_read_after_a_stall_across_the_action_may_be_older_than_it() -> None:
    """The only matching message, stamped after the preceding action but read after a stall that began before
    it, may answer something earlier: broken; another matching one read in time passes it."""
    run = make_run(speed=20)
    _stall(run, since=-2, start=-1.5, end=0.2, after=0.4)
    _after_action(run)
    _rx_at(run, "StatusNotification", {"connectorStatus": "Occupied"}, 1, at=0.3)
    e = _expect("StatusNotification", {"connectorStatus": "Occupied"}, within=_secs(2))
    with pytest.raises(BenchError, match=r"expect charger sends StatusNotification \{connectorStatus: \"Occupied\"\}: "
                                         r"undecided.* stamped at t=[\d.]+ s was read after it: it may have arrived "
                                         r"before the window began"):
        expect_message(run, e)
    _rx_at(run, "StatusNotification", {"connectorStatus": "Occupied"}, 2, at=1.0)
    expect_message(run, e)
    assert run.measurements[-1].verdict == "passed"


def test_a_message_read_after_a_stall_across_the_deadline_is_no_proof_it_came_late() -> None:
    """Nothing stamped within 2 s, but a match stamped after the deadline was read after a stall across it: it may
    have come in time, so the charger is not failed (broken)."""
    run = make_run(speed=20)
    _after_action(run)
    _rx_at(run, "StatusNotification", {"connectorStatus": "Occupied"}, 1, at=2.5)
    _stall(run, since=1.0, start=1.2, end=2.4, after=2.6)
    e = _expect("StatusNotification", {"connectorStatus": "Occupied"}, within=_secs(2))
    with pytest.raises(BenchError, match=r"undecided.*may have arrived before the window ended"):
        expect_message(run, e)
    run.harness.stalled = []  # read when it came: late, the charger's failure
    with pytest.raises(ExpectationFailed, match=r"did not send StatusNotification"):
        expect_message(run, e)


def test_exactly_one_is_undecided_when_a_second_may_have_come_inside() -> None:
    """Two matches stamped in the window, one read after a stall that began before it: one or two came inside,
    so `exactly 1` is undecided (broken); read when they came, two are one too many (failed)."""
    run = make_run(speed=20)
    _stall(run, since=-1, start=-0.5, end=0.05, after=0.2)
    _after_action(run)
    e = _expect("StatusNotification", {}, count=MessageCount("exactly", 1), within=_secs(2))
    _rx_at(run, "StatusNotification", {"evseId": 1}, 1, at=0.1)
    _rx_at(run, "StatusNotification", {"evseId": 1}, 2, at=1.0)
    with pytest.raises(BenchError, match=r"expect charger sends exactly 1 StatusNotification: undecided.*it may have "
                                         r"arrived before the window began"):
        expect_message(run, e)
    run.harness.stalled = []
    with pytest.raises(ExpectationFailed, match=r"charger sent 2 StatusNotification .*expected exactly 1"):
        expect_message(run, e)
