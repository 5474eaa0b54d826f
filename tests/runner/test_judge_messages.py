"""The message expectations added for the conformance pack: either of two messages, counts, timing
between messages, remembered values; each passing on the right trace and failing with the message a
reader needs on the wrong one."""

from __future__ import annotations

import pytest

from dsl.plan import After, AnyOf, ExpectMessage, MessageCount, MessagePattern, Quantity, Remember, Remembered
from runner.errors import BenchError, ExpectationFailed
from runner.judge import expect_message, remember
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
