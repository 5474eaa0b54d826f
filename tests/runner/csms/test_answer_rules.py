"""Answer rules: the CSMS answers the Nth or a matching call only, with an error, a payload, late or not at
all, for a count or until reset — decided (Responses) and carried out on a real connection (the session)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from dsl.plan import AnyOf, Not, Present
from dsl.vocab import CHARGER_CALLS
from runner.csms import CsmsHarness
from runner.csms.actions import ALL_ACTIONS, CHARGER_TO_CSMS
from runner.csms.responses import AnswerRule, Responses
from runner.recorder import Recorder
from tests.runner.csms.test_csms_harness import BOOT, Charger, Run, open_charger

NOW = "2025-01-01T00:00:00.000Z"
TOKEN = {"idToken": "04A2B3C4", "type": "ISO14443"}


def tx(event: str, seq: int = 0, **extra: Any) -> dict[str, Any]:
    return {"eventType": event, "timestamp": "2025-01-01T00:00:00Z", "triggerReason": "Authorized", "seqNo": seq,
            "transactionInfo": {"transactionId": "TX-1"}, **extra}


def outcomes(r: Responses, action: str, payloads: list[dict[str, Any]]) -> list[str]:
    """What each call got: "ok", "error <code>", "silent", "late <s>", with the deciding rule's text."""
    out = []
    for p in payloads:
        a = r.decide(action, p, NOW)
        kind = "silent" if a.silent else f"error {a.error_code}" if a.error_code else "ok"
        out.append(kind + (f" late {a.delay_s:g}" if a.delay_s else "") + (f" [{a.rule}]" if a.rule else ""))
    return out


def test_the_charger_initiated_actions_are_2_0_1_actions() -> None:
    # one list serves the language and the harness; a misspelt name would be a call no charger makes
    assert CHARGER_TO_CSMS is CHARGER_CALLS and CHARGER_CALLS < ALL_ACTIONS and "Reset" not in CHARGER_CALLS


def test_the_nth_call_only_then_the_default_again() -> None:
    r = Responses()
    r.add_rule(AnswerRule("TransactionEvent", text="2nd", nth=2, count=1, error_code="InternalError"))
    got = outcomes(r, "TransactionEvent", [tx("Started"), tx("Updated", 1), tx("Updated", 2), tx("Ended", 3)])
    assert got == ["ok", "error InternalError [2nd]", "ok", "ok"]
    assert r.rules() == []  # spent


def test_the_nth_counts_only_the_calls_the_pattern_matches() -> None:
    r = Responses()
    r.add_rule(AnswerRule("TransactionEvent", text="2nd Updated", match={"eventType": "Updated"}, nth=2, count=2,
                          silent=True))
    got = outcomes(r, "TransactionEvent", [tx("Started"), tx("Updated", 1), tx("Ended", 2), tx("Updated", 3),
                                           tx("Updated", 4), tx("Updated", 5)])
    assert got == ["ok", "ok", "ok", "silent [2nd Updated]", "silent [2nd Updated]", "ok"]


def test_patterns_of_the_expect_language_select_calls() -> None:
    r = Responses()
    r.add_rule(AnswerRule("TransactionEvent", text="ended or updated with a token",
                          match={"eventType": AnyOf(("Ended", "Updated")), "idToken": Present()},
                          error_code="GenericError"))
    r.add_rule(AnswerRule("Authorize", text="not the good token", match={"idToken": {"idToken": Not("GOOD")}},
                          payload={"idTokenInfo": {"status": "Invalid"}}))
    assert outcomes(r, "TransactionEvent", [tx("Updated", idToken=TOKEN), tx("Updated"), tx("Started", idToken=TOKEN),
                                            tx("Ended", idToken=TOKEN)]) == [
        "error GenericError [ended or updated with a token]", "ok", "ok",
        "error GenericError [ended or updated with a token]"]
    bad = r.decide("Authorize", {"idToken": TOKEN}, NOW)
    good = r.decide("Authorize", {"idToken": {"idToken": "GOOD", "type": "ISO14443"}}, NOW)
    assert bad.payload == {"idTokenInfo": {"status": "Invalid"}} and bad.rule == "not the good token"
    assert good.payload == {"idTokenInfo": {"status": "Accepted"}} and good.rule is None


def test_a_payload_is_laid_over_the_default_answer() -> None:
    r = Responses()
    r.add_rule(AnswerRule("BootNotification", text="rejected", payload={"status": "Rejected", "interval": 30}))
    r.add_rule(AnswerRule("Authorize", text="expiring",
                          payload={"idTokenInfo": {"cacheExpiryDateTime": "2030-01-01T00:00:00Z"}}))
    assert r.decide("BootNotification", BOOT, NOW).payload == {"currentTime": NOW, "interval": 30,
                                                                "status": "Rejected"}
    r.block_tokens("04A2B3C4")  # the default it is merged into still applies
    assert r.decide("Authorize", {"idToken": TOKEN}, NOW).payload == {
        "idTokenInfo": {"status": "Blocked", "cacheExpiryDateTime": "2030-01-01T00:00:00Z"}}


def test_counts_once_n_times_and_until_reset() -> None:
    r = Responses()
    r.add_rule(AnswerRule("MeterValues", text="twice", count=2, error_code="InternalError"))
    r.add_rule(AnswerRule("Heartbeat", text="always", silent=True))
    assert outcomes(r, "MeterValues", [{}] * 3) == ["error InternalError [twice]"] * 2 + ["ok"]
    assert outcomes(r, "Heartbeat", [{}] * 5) == ["silent [always]"] * 5
    r.reset()  # the return to idle: every rule gone
    assert r.rules() == [] and outcomes(r, "Heartbeat", [{}]) == ["ok"]


def test_the_newest_rule_that_applies_answers() -> None:
    r = Responses()
    r.add_rule(AnswerRule("Authorize", text="old", error_code="InternalError"))
    r.add_rule(AnswerRule("Authorize", text="new, once", count=1, delay_s=40))
    assert outcomes(r, "Authorize", [{"idToken": TOKEN}] * 2) == ["ok late 40 [new, once]",
                                                                  "error InternalError [old]"]


def test_the_legacy_injected_error_still_works_beside_rules() -> None:
    r = Responses()
    r.inject_error("StatusNotification", "InternalError", times=1)
    assert outcomes(r, "StatusNotification", [{}] * 2) == ["error InternalError", "ok"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"error_code": "Oops"}, "unknown OCPP-J error code 'Oops'"),
    ({"nth": 0}, "nth must be at least 1"),
    ({"count": 0}, "count must be at least 1"),
    ({"delay_s": -1}, "cannot come -1 s early"),
    ({"silent": True, "delay_s": 5}, "not answered has no error, payload or delay"),
])
def test_a_rule_that_cannot_be_carried_out_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AnswerRule("Authorize", **kwargs)


# ---- on a real connection ---------------------------------------------------------------------


def test_a_late_answer_correlates_by_message_id_while_other_calls_are_answered(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            cp = Charger(ws)
            await cp.call("BootNotification", BOOT)
            h.responses("CS1").add_rule(AnswerRule("Authorize", text="line 7: late", delay_s=3, count=1))
            start = time.monotonic()
            await ws.send(json.dumps([2, "slow-1", "Authorize", {"idToken": TOKEN}]))
            await ws.send(json.dumps([2, "hb-1", "Heartbeat", {}]))  # answered at once, before the late one
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            second = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert first[:2] == [3, "hb-1"]
            assert second == [3, "slow-1", {"idTokenInfo": {"status": "Accepted"}}]
            assert 0.25 <= time.monotonic() - start < 5  # 3 bench s at 10x: 0.3 s real

    rec = run(test, speed=10.0)
    (event,) = rec.events("csms_answer_rule")
    assert event["unique_id"] == "slow-1" and event["rule"] == "line 7: late" and event["delay_s"] == 3
    sent = {f.unique_id: f.t for f in rec.frames() if f.direction == "tx"}
    got = {f.unique_id: f.t for f in rec.frames() if f.direction == "rx"}
    assert sent["slow-1"] - got["slow-1"] >= 3 - 0.2  # bench seconds, as the rule said


def test_an_unanswered_call_is_recorded_and_the_next_one_answered(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            cp = Charger(ws)
            await cp.call("BootNotification", BOOT)
            h.responses("CS1").add_rule(AnswerRule("TransactionEvent", text="line 9: the 1st Started",
                                                   match={"eventType": "Started"}, nth=1, count=1, silent=True))
            await ws.send(json.dumps([2, "t1", "TransactionEvent", tx("Started")]))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)
            retry = await cp.call("TransactionEvent", tx("Started"), uid="t2")   # the charger retries
            assert retry[:2] == [3, "t2"]

    rec = run(test)
    assert [f.unique_id for f in rec.frames() if f.direction == "tx" and f.action == "TransactionEvent"] == ["t2"]
    (event,) = rec.events("csms_answer_rule")
    assert (event["unique_id"], event["answer"], event["rule"]) == ("t1", "no answer", "line 9: the 1st Started")
    assert any(f.severity == "info" and "TransactionEvent (message id 't1') not answered" in f.message
               and "line 9: the 1st Started" in f.message for f in rec.findings())


def test_a_late_answer_the_connection_outlives_not_is_recorded_as_not_sent(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await Charger(ws).call("BootNotification", BOOT)
            h.responses("CS1").add_rule(AnswerRule("Authorize", text="line 3: very late", delay_s=600))
            await ws.send(json.dumps([2, "a1", "Authorize", {"idToken": TOKEN}]))
            await asyncio.sleep(0.2)
        await h.wait_disconnected("CS1", 5)
        await asyncio.sleep(0.2)

    rec = run(test)
    assert not [f for f in rec.frames() if f.direction == "tx" and f.unique_id == "a1"]
    assert any("late answer to Authorize (message id 'a1') was not sent" in f.message for f in rec.findings())


def test_a_late_answer_still_due_at_the_return_to_idle_is_dropped(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await Charger(ws).call("BootNotification", BOOT)
            h.responses("CS1").add_rule(AnswerRule("Authorize", text="line 4: late", delay_s=0.5))
            await ws.send(json.dumps([2, "a1", "Authorize", {"idToken": TOKEN}]))
            await asyncio.sleep(0.1)
            h.responses("CS1").reset()       # the scenario ended: its answers must not leak into the next
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 1.0)

    rec = run(test)
    assert not [f for f in rec.frames() if f.direction == "tx" and f.unique_id == "a1"]
    assert any("late answer to Authorize (message id 'a1') was dropped" in f.message for f in rec.findings())
