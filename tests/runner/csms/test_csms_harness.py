"""The CSMS harness against a real websocket client on loopback: recording, answers, faults, robustness."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from lab.bench import CsmsConfig
from runner.csms import CsmsBenchFault, CsmsConnectionLost, CsmsHarness, CsmsNotConnected, CsmsTimeout
from runner.recorder import Recorder

Run = Callable[..., Recorder]  # the `run` fixture (conftest.py)

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "Twin AC22", "vendorName": "chargespec"}}
TOKEN = {"idToken": "04A2B3C4", "type": "ISO14443"}



class Charger:
    """A bare OCPP-J client: sends exactly the text it is given."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.n = 0

    async def call(self, action: str, payload: dict[str, Any], uid: str | None = None) -> list[Any]:
        self.n += 1
        await self.ws.send(json.dumps([2, uid or f"c{self.n}", action, payload]))
        return json.loads(await self.ws.recv())

    async def raw(self, text: str) -> list[Any]:
        await self.ws.send(text)
        return json.loads(await asyncio.wait_for(self.ws.recv(), 5))


DEFAULT = ["ocpp2.0.1"]


def open_charger(url: str, station: str = "CS1", subprotocols: list[str] | None = DEFAULT) -> Any:
    return connect(f"{url}/{station}", subprotocols=subprotocols, open_timeout=5)


def kinds(rec: Recorder) -> list[tuple[str, int | None, str | None]]:
    return [(f.direction, f.message_type, f.action) for f in rec.frames()]


def test_boot_heartbeat_and_transaction_flow_recorded_in_both_directions(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        connected = asyncio.create_task(h.wait_connected("CS1", 5))   # waiting before anything happens
        booted = asyncio.create_task(h.wait_booted("CS1", 5))
        async with open_charger(h.url + "/ocpp") as ws:
            cp = Charger(ws)
            await connected
            assert not booted.done()
            boot = await cp.call("BootNotification", BOOT)
            await booted
            assert boot[0] == 3 and boot[2]["status"] == "Accepted" and boot[2]["interval"] == 300
            assert boot[2]["currentTime"].endswith("Z") and len(boot[2]["currentTime"]) == 24
            await h.wait_booted("CS1", 5)
            assert (await cp.call("Heartbeat", {}))[2].keys() == {"currentTime"}
            await cp.call("StatusNotification", {"timestamp": "2025-01-01T00:00:00Z", "evseId": 1,
                                                 "connectorStatus": "Occupied", "connectorId": 1})
            started = await cp.call("TransactionEvent", {
                "eventType": "Started", "timestamp": "2025-01-01T00:00:01Z", "triggerReason": "Authorized",
                "seqNo": 0, "transactionInfo": {"transactionId": "TX-1"}, "idToken": TOKEN,
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [{"timestamp": "2025-01-01T00:00:01Z", "sampledValue": [
                    {"value": 1.25, "unitOfMeasure": {"unit": "kWh"}, "context": "Transaction.Begin"}]}]})
            assert started[2] == {"idTokenInfo": {"status": "Accepted"}}
            assert h.active_transaction("CS1", 1) == "TX-1"
            await cp.call("TransactionEvent", {
                "eventType": "Ended", "timestamp": "2025-01-01T00:01:01Z", "triggerReason": "StopAuthorized",
                "seqNo": 1, "transactionInfo": {"transactionId": "TX-1", "stoppedReason": "Local"}})
        await h.wait_disconnected("CS1", 5)
        assert h.active_transaction("CS1", 1) is None
        state = h.transactions("CS1")["TX-1"]
        assert (state.events, state.last_seq_no) == (2, 1) and state.evse_id == 1 and state.ended_t is not None

    rec = run(test)
    assert kinds(rec) == [("rx", 2, "BootNotification"), ("tx", 3, "BootNotification"),
                          ("rx", 2, "Heartbeat"), ("tx", 3, "Heartbeat"),
                          ("rx", 2, "StatusNotification"), ("tx", 3, "StatusNotification"),
                          ("rx", 2, "TransactionEvent"), ("tx", 3, "TransactionEvent"),
                          ("rx", 2, "TransactionEvent"), ("tx", 3, "TransactionEvent")]
    assert rec.findings() == []
    assert rec.series("charger.Energy.Active.Import.Register")[1] == [1250.0]
    assert rec.series("charger.status.evse1")[1] == ["Occupied"]
    assert [e["kind"] for e in rec.events()][:2] == ["csms.listening", "csms.connected"]
    assert rec.events("csms.disconnected")[0]["code"] == 1000


def test_a_fast_bench_still_waits_real_time_for_an_answer(run: Run) -> None:
    """At 600x a 30 s bench timeout is 50 ms of real time, less than a loaded host may take to schedule the
    charger's answer: the harness waits REPLY_WAIT_FLOOR_S real seconds at the least, so an answer 0.3 s late
    in real time is an answer; silence is still a timeout, after the floor, saying the bench time waited."""
    from runner.csms.harness import REPLY_WAIT_FLOOR_S

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await h.wait_connected("CS1", 3000)

            async def answer(delay_s: float | None) -> None:
                msg = json.loads(await ws.recv())
                if delay_s is not None:
                    await asyncio.sleep(delay_s)
                    await ws.send(json.dumps([3, msg[1], {"status": "Accepted"}]))

            task = asyncio.create_task(answer(0.3))
            ok = await h.call("CS1", "Reset", {"type": "Immediate"}, timeout_s=30)
            await task
            assert ok.ok and ok.response == {"status": "Accepted"}
            silent = asyncio.create_task(answer(None))
            started = time.monotonic()
            with pytest.raises(CsmsTimeout, match=r"no answer to Reset \(message id \S+\) within 1200\.0 s bench"):
                await h.call("CS1", "Reset", {"type": "Immediate"}, timeout_s=30)
            assert time.monotonic() - started >= REPLY_WAIT_FLOOR_S - 0.05
            await silent

    run(test, speed=600)


def test_a_fast_bench_still_waits_real_time_for_a_connection_and_a_boot(run: Run) -> None:
    """The same floor for the charger's connection and its boot: at 600x, 60 s of bench time is 0.1 s real; a
    charger that connects and boots 0.3 s late in real time is in time, and a timeout says the bench time it
    waited."""
    from runner.csms.harness import REPLY_WAIT_FLOOR_S

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async def late_charger() -> None:
            await asyncio.sleep(0.3)
            async with open_charger(h.url) as ws:
                await asyncio.sleep(0.3)
                await Charger(ws).call("BootNotification", BOOT)
                await asyncio.sleep(REPLY_WAIT_FLOOR_S + 0.5)

        charger = asyncio.create_task(late_charger())
        await h.wait_connected("CS1", 60)
        await h.wait_booted("CS1", 60)
        started = time.monotonic()
        with pytest.raises(CsmsTimeout, match=r"did not disconnect within 1200 s \(bench time\)"):
            await h.wait_disconnected("CS1", 60)
        assert time.monotonic() - started >= REPLY_WAIT_FLOOR_S - 0.05
        await charger

    run(test, speed=600)


def test_a_boot_the_harness_itself_answers_pending_times_out_as_the_benchs_doing(run: Run) -> None:
    """`csms answers BootNotification with Pending`: no accepted boot can come while the harness answers so; a
    wait for one that runs out is the bench's (CsmsBenchFault, broken), never the charger's failure. Answered
    Accepted, a boot that does not come is the charger's (CsmsTimeout)."""
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        h.responses("CS1").boot("Pending", 10)
        async with open_charger(h.url) as ws:
            assert (await Charger(ws).call("BootNotification", BOOT))[2]["status"] == "Pending"
            with pytest.raises(CsmsBenchFault, match=r"^charging station 'CS1' did not complete an accepted "
                               r"BootNotification \(boot status configured: Pending\) within 2 s \(bench time\); "
                               r"the harness answers its boots Pending, as the spec asked: no accepted boot could "
                               r"come, which is no evidence against the charger$"):
                await h.wait_booted("CS1", 1)
            h.responses("CS1").boot("Accepted", 10)
            with pytest.raises(CsmsTimeout):
                await h.wait_booted("CS1", 1)

    run(test)


def test_a_wait_the_stalled_bench_loop_checks_late_is_the_benchs_fault(run: Run) -> None:
    """A wait whose deadline the bench loop reached over a second late (the loop blocked across it) is broken
    (CsmsBenchFault, naming the stall): what the charger sent meanwhile may lie unread. On time, it is the
    charger's timeout."""
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        asyncio.get_running_loop().call_later(0.2, time.sleep, 3.5)  # across the 2 s (real) floor's deadline
        with pytest.raises(CsmsBenchFault, match=r"^charging station 'CS1' did not connect to .*: the bench's "
                           r"event loop was stalled, and reached the deadline \(2\.0 s real\) \d+\.\d s late"):
            await h.wait_connected("CS1", 1)
        with pytest.raises(CsmsTimeout, match=r"did not connect to .* within 2 s \(bench time\)$"):
            await h.wait_connected("CS1", 1)

    run(test)


def test_the_bench_refuses_the_charger_only_when_every_way_in_is_refused(run: Run) -> None:
    """`bench_refuses` (a charger offline meanwhile is no evidence against it): reconnects refused, or every
    endpoint refusing every attempt. One endpoint refused leaves the other (B10: the charger falls back to it),
    and a count of refusals is used up by retrying: then a charger that stays away is its own failure."""
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        assert h.bench_refuses() == ""
        h.refuse_endpoint("csms2")
        assert h.bench_refuses() == ""
        h.refuse_endpoint("csms", 1)
        assert h.bench_refuses() == ""
        h.refuse_endpoint("csms")
        assert h.bench_refuses() == "the bench refuses every connection at csms, csms2"
        h.accept_reconnects()
        h.refuse_reconnects(60)
        assert h.bench_refuses() == "the bench refuses its reconnects (`csms refuses reconnects`)"

    run(test)


def test_call_outcomes_results_callerrors_and_timeouts(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await h.wait_connected("CS1", 50)

            async def answer(reply: Callable[[list[Any]], list[Any] | None]) -> None:
                msg = json.loads(await ws.recv())
                out = reply(msg)
                if out is not None:
                    await ws.send(json.dumps(out))

            task = asyncio.create_task(answer(lambda m: [3, m[1], {"status": "Accepted"}]))
            ok = await h.call("CS1", "Reset", {"type": "Immediate"}, timeout_s=50)
            await task
            assert ok.ok and ok.response == {"status": "Accepted"} and ok.error_code is None
            assert ok.t_answered is not None and ok.t_answered >= ok.t_sent

            task = asyncio.create_task(answer(lambda m: [4, m[1], "NotSupported", "no reports", {"a": 1}]))
            err = await h.call("CS1", "GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"}, 50)
            await task
            assert (err.response, err.error_code, err.error_description, err.error_details) == (
                None, "NotSupported", "no reports", {"a": 1})

            silent = asyncio.create_task(answer(lambda m: None))
            with pytest.raises(CsmsTimeout, match="no answer to UnlockConnector"):
                await h.call("CS1", "UnlockConnector", {"evseId": 1, "connectorId": 1}, timeout_s=5)
            await silent
            late = next(m for m in rec.frames() if m.action == "UnlockConnector")
            await ws.send(json.dumps([3, late.unique_id, {"status": "Unlocked"}]))  # too late: recorded only

            task = asyncio.create_task(answer(lambda m: [3, m[1], {"status": "Maybe"}]))
            bad = await h.call("CS1", "ChangeAvailability", {"operationalStatus": "Inoperative"}, 50)
            await task
            assert bad.response == {"status": "Maybe"}   # judged by the spec, and a schema finding
            await asyncio.sleep(0.05)

    rec = run(test, speed=50)
    messages = [f.message for f in rec.findings()]
    assert any("answers no outstanding call" in m for m in messages)
    assert any("ChangeAvailability response" in m and "'Maybe' is not one of" in m for m in messages)
    answers = [(f.action, f.message_type) for f in rec.frames() if f.direction == "rx"]
    assert answers == [("Reset", 3), ("GetBaseReport", 4), ("UnlockConnector", 3), ("ChangeAvailability", 3)]


def test_malformed_frames_are_recorded_answered_and_the_harness_keeps_serving(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            cp = Charger(ws)
            assert (await cp.raw('[2,"1","Heartbeat",{')) [:3] == [4, "-1", "FormatViolation"]
            assert (await cp.raw('[5,"m5",{}]'))[:3] == [4, "m5", "MessageTypeNotSupported"]
            assert (await cp.raw('{"hello": 1}'))[:3] == [4, "-1", "RpcFrameworkError"]
            assert (await cp.call("FlyToTheMoon", {}))[:3] == [4, "c1", "NotImplemented"]
            assert (await cp.call("Reset", {"type": "Immediate"}))[2] == "NotSupported"
            oversize = await cp.call("Authorize", {"idToken": {"idToken": "X" * 500, "type": "ISO14443"}})
            assert oversize[2] == "PropertyConstraintViolation"
            assert oversize[3] == "idToken.idToken: 500 characters, at most 36 allowed"
            no_station = await cp.call("BootNotification", {"reason": "PowerUp"})
            assert no_station[2] == "OccurrenceConstraintViolation"
            assert (await cp.call("Heartbeat", {}, uid="dup"))[0] == 3
            assert (await cp.call("Heartbeat", {}, uid="dup"))[0] == 3       # answered, and recorded
            await ws.send(b"\x00\x01binary")
            await ws.send('[3,"nobody",{}]')
            assert (await cp.call("Heartbeat", {}))[0] == 3                  # still serving
        async with open_charger(h.url) as ws:                                # and still listening
            assert (await Charger(ws).call("Heartbeat", {}))[0] == 3

    rec = run(test)
    findings = rec.findings()
    text = "\n".join(f.message for f in findings)
    for expected in ("not valid JSON", "message type 5", "not an OCPP-J message array",
                     "'FlyToTheMoon' is not an OCPP 2.0.1 action", "Reset is sent by a CSMS",
                     "500 characters", "'chargingStation' is a required property", "message id reused",
                     "binary websocket frame", "answers no outstanding call"):
        assert expected in text, expected
    assert all(f.station == "CS1" for f in findings)
    malformed = next(f for f in findings if "not valid JSON" in f.message)
    assert malformed.raw == '[2,"1","Heartbeat",{' and malformed.severity == "error"
    assert rec.frames()[0].raw == '[2,"1","Heartbeat",{'                    # recorded exactly as received


def test_lenient_mode_answers_schema_violations_and_records_warnings(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            long_token = {"idToken": {"idToken": "X" * 40, "type": "ISO14443"}}
            reply = await Charger(ws).call("Authorize", long_token)
            assert reply[0] == 3 and reply[2] == {"idTokenInfo": {"status": "Accepted"}}

    rec = run(test, CsmsConfig(strict_schema=False))
    [finding] = rec.findings()
    assert finding.severity == "warning" and "answered anyway (lenient)" in finding.message


def test_configured_answers_boot_pending_tokens_and_injected_callerror(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        r = h.responses("CS1")
        r.boot("Pending", interval=7)
        r.block_tokens("STOLEN")
        r.inject_error("Heartbeat", "InternalError", "maintenance", times=1)
        async with open_charger(h.url) as ws:
            cp = Charger(ws)
            assert (await cp.call("BootNotification", BOOT))[2]["status"] == "Pending"
            with pytest.raises(CsmsBenchFault, match="did not complete an accepted BootNotification"):
                await h.wait_booted("CS1", 0.2)  # (the harness's own Pending: the bench's doing)
            r.boot("Accepted", interval=7)
            t_boot = h.clock.now()
            accepted = (await cp.call("BootNotification", BOOT))[2]
            assert (accepted["status"], accepted["interval"]) == ("Accepted", 7)
            await h.wait_booted("CS1", 1, since_t=t_boot)
            blocked = await cp.call("Authorize", {"idToken": {"idToken": "STOLEN", "type": "ISO14443"}})
            assert blocked[2]["idTokenInfo"]["status"] == "Blocked"
            assert (await cp.call("Heartbeat", {}))[:4] == [4, "c4", "InternalError", "maintenance"]
            assert (await cp.call("Heartbeat", {}))[0] == 3

    rec = run(test)
    assert rec.findings() == []
    heartbeat_answers = [f for f in rec.frames() if f.action == "Heartbeat" and f.direction == "tx"]
    assert [f.message_type for f in heartbeat_answers] == [4, 3]
    assert heartbeat_answers[0].error_code == "InternalError"


def test_subprotocol_missing_or_wrong_closes_with_a_recorded_reason(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        for offered in (None, ["ocpp1.6"]):
            async with open_charger(h.url, subprotocols=offered) as ws:
                assert ws.subprotocol is None
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
                assert "subprotocol ocpp2.0.1 required" in closed.value.rcvd.reason
        assert not h.connected("CS1")

    rec = run(test)
    messages = [f.message for f in rec.findings()]
    assert len(messages) == 2
    assert "charger offered none" in messages[0] and "charger offered ocpp1.6" in messages[1]
    assert [e["kind"] for e in rec.events("csms.rejected")] == ["csms.rejected"] * 2


def test_charger_disappearing_mid_call_in_either_direction(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        # The charger asks and leaves before the answer is written.
        ws = await open_charger(h.url)
        await ws.send(json.dumps([2, "gone", "BootNotification", BOOT]))
        ws.transport.abort()
        await h.wait_disconnected("CS1", 5)
        # The harness asks and the charger leaves before answering.
        async with open_charger(h.url) as ws:
            await h.wait_connected("CS1", 5)
            pending = asyncio.create_task(h.call("CS1", "Reset", {"type": "Immediate"}, timeout_s=30))
            await ws.recv()
            await ws.close()
            with pytest.raises(CsmsConnectionLost, match="before the charger answered Reset"):
                await pending
        with pytest.raises(CsmsNotConnected, match="not connected"):
            await h.call("CS1", "Reset", {"type": "Immediate"})
        async with open_charger(h.url) as ws:                                  # still serving
            assert (await Charger(ws).call("Heartbeat", {}))[0] == 3

    rec = run(test)
    assert [e["kind"] for e in rec.events() if e["kind"].startswith("csms.")].count("csms.disconnected") == 3
    assert not [f for f in rec.findings() if "harness fault" in f.message]


def test_drop_refuse_and_accept_reconnects(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with open_charger(h.url) as ws:
            await h.wait_connected("CS1", 50)
            h.refuse_reconnects()
            await h.drop("CS1")
            assert not h.connected("CS1")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        with pytest.raises(InvalidStatus) as refused:
            await open_charger(h.url)
        assert refused.value.response.status_code == 503
        h.accept_reconnects()
        async with open_charger(h.url) as ws:
            await h.wait_connected("CS1", 50)
            assert (await Charger(ws).call("Heartbeat", {}))[0] == 3
        h.refuse_reconnects(10)                                                # 10 bench s = 0.2 s real
        with pytest.raises(InvalidStatus):
            await open_charger(h.url)
        await h.clock.asleep(12)
        async with open_charger(h.url):
            await h.wait_connected("CS1", 50)
            periods = h.offline_periods("CS1")
            assert len(periods) == 2 and all(b >= a for a, b in periods)
            assert periods[1][1] - periods[1][0] >= 10

    rec = run(test, speed=50)
    refused = rec.events("csms.refused")
    assert [e["status"] for e in refused] == [503, 503]
    assert rec.findings() == []                                   # refusing on purpose is no finding
    assert rec.events("csms.drop")[0]["station"] == "CS1"


def test_offline_within_a_window_counts_before_the_first_connection_and_every_drop(run: Run) -> None:
    """The parts of a window in which the harness could not hear the charger: before it ever connected,
    and while it was dropped; none while it stays connected."""
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        t0 = h.clock.now()
        assert h.offline_within("CS1", t0 - 5, t0) == [(t0 - 5, t0)]          # never connected: all of it
        await h.clock.asleep(2)
        async with open_charger(h.url):
            await h.wait_connected("CS1", 50)
            up = h.clock.now()
            [(a, b)] = h.offline_within("CS1", t0, up + 10)
            assert a == t0 and t0 + 2 <= b <= up                              # up to the first connection
            await h.clock.asleep(3)
            assert h.offline_within("CS1", up, h.clock.now()) == []           # connected throughout
            h.refuse_reconnects()
            await h.drop("CS1")
        down = h.clock.now()
        await h.clock.asleep(4)
        [(a, b)] = h.offline_within("CS1", up, h.clock.now())
        assert down - 1 <= a <= down and b == pytest.approx(h.clock.now(), abs=1)  # still open: ends now
        h.accept_reconnects()
        async with open_charger(h.url):
            await h.wait_connected("CS1", 50)
            back = h.clock.now()
            await h.clock.asleep(2)
            [(a, b)] = h.offline_within("CS1", up, h.clock.now())
            assert a <= down and down + 4 <= b <= back                        # closed by the reconnection
            assert h.offline_within("CS1", back, h.clock.now()) == []

    run(test, speed=50)


def test_identity_from_the_path_unknown_stations_refused_and_reconnect_replaces(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        with pytest.raises(InvalidStatus) as unknown:
            await open_charger(h.url, "INTRUDER")
        assert unknown.value.response.status_code == 404
        old = await open_charger(h.url + "/some/prefix", "CS%201")
        await h.wait_connected("CS 1", 5)
        async with open_charger(h.url, "CS%201") as new:                    # replaces the stale socket
            with pytest.raises(ConnectionClosed):
                await old.recv()
            assert (await Charger(new).call("Heartbeat", {}))[0] == 3
            assert h.connected("CS 1")
        assert h.stations() == ["CS 1"]

    rec = run(test, stations=["CS 1"])
    [finding] = rec.findings()
    assert "unknown charging station 'INTRUDER'" in finding.message
    assert [e["kind"] for e in rec.events("csms.replaced")] == ["csms.replaced"]
