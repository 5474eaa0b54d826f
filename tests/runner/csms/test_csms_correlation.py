"""Audit of CALL/CALLRESULT correlation and malformed frames: an answer counts for the call it names, once,
on the connection it came on; a frame the harness refused is never "the message came"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect

from lab.bench import CsmsConfig
from runner.csms import CsmsHarness
from runner.csms import expect as msg
from runner.recorder import Recorder

Run = Callable[..., Recorder]  # the `run` fixture (conftest.py)


def open_charger(url: str, station: str = "CS1") -> Any:
    return connect(f"{url}/{station}", subprotocols=["ocpp2.0.1"], open_timeout=5)


def test_a_second_answer_to_one_call_is_a_finding_even_when_it_arrives_before_the_caller_wakes(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await h.wait_connected("CS1", 5)

            async def answer_twice() -> None:
                m = json.loads(await ws.recv())
                # Both answers in one write: the harness reads the second before the caller resumes.
                await ws.send(json.dumps([3, m[1], {"status": "Accepted"}]))
                await ws.send(json.dumps([3, m[1], {"status": "Rejected"}]))

            task = asyncio.create_task(answer_twice())
            out = await h.call("CS1", "Reset", {"type": "Immediate"}, timeout_s=5)
            await task
            await asyncio.sleep(0.1)
            assert out.response == {"status": "Accepted"}

    rec = run(test)
    [dup] = [f for f in rec.findings() if "answers no outstanding call" in f.message]
    assert '"Rejected"' in (dup.raw or "") and "Reset, answered at t=" in dup.message


STARTED = {"eventType": "Started", "timestamp": "2025-01-01T00:00:00.000Z", "triggerReason": "CablePluggedIn",
           "seqNo": 0, "transactionInfo": {"transactionId": "T-bad-id"}, "evse": {"id": 1, "connectorId": 1},
           "meterValue": [{"timestamp": "2025-01-01T00:00:00.000Z",
                           "sampledValue": [{"value": 7400.0, "measurand": "Power.Active.Import"}]}]}


def test_a_call_whose_message_id_cannot_be_read_is_refused_and_never_counts_as_sent(run: Run) -> None:
    """`[2, 7, "Heartbeat", {}]` is no CALL (the id must be a string): answered RpcFrameworkError with id
    "-1", and neither an expectation, nor the transaction book, nor a signal may take it as received."""
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            status = {"timestamp": "2025-01-01T00:00:00.000Z", "connectorStatus": "Faulted", "evseId": 1,
                      "connectorId": 1}
            for uid, action, payload in ((7, "Heartbeat", {}), (8, "TransactionEvent", STARTED),
                                         (None, "StatusNotification", status)):
                await ws.send(json.dumps([2, uid, action, payload]))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert reply[:3] == [4, "-1", "RpcFrameworkError"]
            assert h.transactions("CS1") == {} and h.status("CS1", 1, 1) is None

    rec = run(test, CsmsConfig(strict_schema=False))   # lenient: only an expectation could fail the run
    frames = rec.frames()
    assert msg.find_any(frames, [("Heartbeat", {}), ("TransactionEvent", {})]) == []
    assert msg.find_message(frames, "Heartbeat") is None
    assert msg.forbidden(frames, "Heartbeat") == []
    assert msg.seqno_increments(frames) == [] and msg.timestamps_within(frames, None, 1) == []
    assert not [k for k in rec.series_keys() if k.startswith("charger.")]
    assert sum("message id (element 2) is missing or not a string" in f.message for f in rec.findings()) == 3


def test_a_charger_call_while_its_earlier_call_waits_for_an_answer_is_recorded(run: Run) -> None:
    """OCPP-J §4.1.1: one outstanding CALL per direction. The harness cannot know the charger's timeout, so a
    CALL sent while an earlier one waits for the answer a spec delays is evidence (info), once per call."""
    from runner.csms.responses import AnswerRule

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            h.responses("CS1").add_rule(AnswerRule("Heartbeat", text="line 7: late", delay_s=3, count=1))
            await ws.send(json.dumps([2, "slow-1", "Heartbeat", {}]))
            for uid in ("hb-2", "hb-3"):
                await ws.send(json.dumps([2, uid, "Heartbeat", {}]))
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))[:2] == [3, uid]
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))[:2] == [3, "slow-1"]
            await ws.send(json.dumps([2, "hb-4", "Heartbeat", {}]))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))[:2] == [3, "hb-4"]

    rec = run(test, speed=10.0)
    [note] = [f for f in rec.findings() if "§4.1.1" in f.message]
    assert note.severity == "info" and note.raw is not None and '"hb-2"' in note.raw
    assert "Heartbeat (message id 'slow-1'" in note.message and "line 7: late" in note.message


def test_a_report_whose_request_id_is_no_integer_is_the_chargers_finding_and_the_harness_serves_on(run: Run) -> None:
    """`NotifyReport {requestId: [1]}` broke the harness's report tracking (a list as a dict key): it closed the
    connection (1011) with a "CSMS harness fault" filed under the charger, which strict mode held against it.
    Now the frame is the charger's schema finding, and the connection goes on (a Heartbeat after it is answered)."""
    report = {"requestId": [1], "generatedAt": "2025-01-01T00:00:00.000Z", "seqNo": 0, "tbc": False}

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await ws.send(json.dumps([2, "r1", "NotifyReport", report]))
            await ws.recv()
            await ws.send(json.dumps([2, "h1", "Heartbeat", {}]))
            answer = json.loads(await ws.recv())
            assert answer[:2] == [3, "h1"], answer

    rec = run(test)
    assert not [f for f in rec.findings() if "harness fault" in f.message]
    assert [f for f in rec.findings() if f.station == "CS1" and "NotifyReport" in f.message]


def test_a_fault_of_the_harness_itself_is_filed_apart_and_breaks_the_scenario_never_fails_it(run: Run) -> None:
    """A fault of chargespec's own while serving the charger is filed under "CS1 (chargespec)": strict mode never
    counts it as the charger's (it did before: the charger "broke the protocol"), and the scenario is broken."""
    from types import SimpleNamespace

    from runner.errors import BenchError
    from runner.execute import own_faults

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        def fail(*_: object, **__: object) -> None:
            raise RuntimeError("a bug in the configured answers")

        h.responses("CS1").decide = fail  # type: ignore[method-assign]
        async with open_charger(h.url) as ws:
            await ws.send(json.dumps([2, "h1", "Heartbeat", {}]))
            answer = json.loads(await ws.recv())
            assert answer[0] == 4 and answer[2] == "InternalError", answer

    rec = run(test)
    [fault] = [f for f in rec.findings() if "harness fault" in f.message]
    assert fault.station == "CS1 (chargespec)" and fault.severity == "error"
    verdict = own_faults(SimpleNamespace(recorder=rec, station=SimpleNamespace(id="CS1"), named={}))  # type: ignore[arg-type]
    assert isinstance(verdict, BenchError) and "a bug in the configured answers" in str(verdict)
