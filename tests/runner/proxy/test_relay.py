"""The relay: frames unchanged and in order both ways, judged and attributed to their sender, closes relayed.

A raw websockets client plays the charger (so the test controls every byte it sends and sees every byte it
gets); the target is the independent `ocpp` backend of conftest.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import ssl
import time
from pathlib import Path

import pytest
import trustme
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from instruments.clock import Clock
from lab.bench import CsmsConfig, ProxyConfig
from runner.proxy import ProxyHarness
from runner.recorder import Recorder
from tests.runner.proxy.conftest import TargetCsms

# Odd but valid JSON: spacing, key order, escapes, non-ASCII: a relay that re-serialised would change them.
BOOT = ('[2, "b-1","BootNotification",  {"reason":"PowerUp","chargingStation":{"model":"Z\\u00fcrich \u26a1",'
        '"vendorName":"V"}}]')
HEARTBEAT = '[2,"h-1","Heartbeat",{ }]'


async def _proxy(target: TargetCsms, csms: CsmsConfig | None = None,
                 proxy: ProxyConfig | None = None) -> tuple[ProxyHarness, Recorder]:
    clock = Clock(1.0)
    recorder = Recorder(clock)
    harness = ProxyHarness(recorder, clock, csms or CsmsConfig(), proxy=proxy or ProxyConfig(to=target.url))
    await harness.start()
    return harness, recorder


def test_frames_pass_unchanged_and_in_order_both_ways() -> None:
    async def main() -> tuple[list[str], list[str], TargetCsms, Recorder]:
        target = TargetCsms()
        await target.start()
        harness, recorder = await _proxy(target)
        got: list[str] = []
        async with connect(f"{harness.url}/CS%201", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            sent = [BOOT, HEARTBEAT]
            for raw in sent:
                await ws.send(raw)
                got.append(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[arg-type]
            odd = '[2,"csms-1","GetVariables",{"getVariableData":[{"component":{"name":"X"},"variable":{"name":"Y"}}]}]'
            await target.send_raw("CS%201", odd)
            got.append(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[arg-type]
            answer = '[3,"csms-1",{"getVariableResult":[{"attributeStatus":"Rejected","component":{"name":"X"},' \
                     '"variable":{"name":"Y"}}]}]'
            await ws.send(answer)
            sent.append(answer)
            await asyncio.sleep(0.2)
        await harness.stop()
        await target.stop()
        return sent, got, target, recorder

    sent, got, target, recorder = asyncio.run(main())
    assert target.received == sent                     # what the charger sent, byte for byte, in order
    assert got == target.sent                          # what the backend sent, byte for byte, in order
    frames = recorder.frames()
    assert [f.raw for f in frames if f.direction == "rx"] == sent
    assert [f.raw for f in frames if f.direction == "tx"] == target.sent
    assert target.paths == ["/ocpp/CS%201"]            # the charger's identity, as it was in its URL
    assert [f.action for f in frames if f.direction == "tx"][:2] == ["BootNotification", "Heartbeat"]
    assert not [f for f in recorder.findings() if f.severity == "error"]


def test_schema_violations_are_attributed_to_their_sender() -> None:
    async def main() -> Recorder:
        target = TargetCsms()
        await target.start()
        harness, recorder = await _proxy(target)
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            await ws.send('[2,"s-1","StatusNotification",{"evseId":1}]')     # the charger's: fields missing
            await asyncio.wait_for(ws.recv(), 5)
            await target.send_raw("CS1", '[2,"r-1","Reset",{"type":"Sometimes"}]')  # the backend's: bad enum
            relayed = await asyncio.wait_for(ws.recv(), 5)
            assert relayed == '[2,"r-1","Reset",{"type":"Sometimes"}]'  # relayed unchanged all the same
        await harness.stop()
        await target.stop()
        return recorder

    findings = [f.message for f in asyncio.run(main()).findings() if f.severity == "error"]
    assert any("the charger's StatusNotification request" in m and "schema" in m for m in findings), findings
    assert any("the backend's Reset request" in m and "'Sometimes'" in m for m in findings), findings


def test_backend_close_is_relayed_with_its_code() -> None:
    async def main() -> tuple[int | None, list[dict]]:
        target = TargetCsms()
        await target.start()
        harness, recorder = await _proxy(target)
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            await ws.send(HEARTBEAT)
            await asyncio.wait_for(ws.recv(), 5)
            await target.backends["CS1"]._connection.close(4001, "going away for a test")
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            code = ws.close_code
        await asyncio.sleep(0.1)
        await harness.stop()
        await target.stop()
        return code, recorder.events("proxy.closed")

    code, closed = asyncio.run(main())
    assert code == 4001
    assert closed and closed[0]["by"] == "backend" and closed[0]["code"] == 4001


def test_unreachable_backend_answers_502_and_refusals_are_relayed() -> None:
    async def main() -> tuple[str, str, list]:
        target = TargetCsms()
        await target.start()
        await target.go_down()
        harness, _ = await _proxy(target)
        down = ""
        try:
            async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
                pass
        except Exception as e:
            down = str(e)
        await harness.stop()
        return down, "", harness.attempts()

    down, _, attempts = asyncio.run(main())
    assert "502" in down
    assert attempts and not attempts[0].accepted and "cannot be reached" in attempts[0].reason


def test_basic_auth_forwards_the_chargers_header_or_the_configured_password() -> None:
    async def main(proxy_password: str | None) -> list[str | None]:
        target = TargetCsms()
        await target.start()
        csms = CsmsConfig(security_profile=1, password="charger-password-0123")
        harness, _ = await _proxy(target, csms, ProxyConfig(to=target.url, password=proxy_password))
        auth = "Basic " + base64.b64encode(b"CS1:charger-password-0123").decode()
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                           additional_headers=[("Authorization", auth)]) as ws:
            await ws.send(HEARTBEAT)
            await asyncio.wait_for(ws.recv(), 5)
        await harness.stop()
        await target.stop()
        return [auth, *target.auth]

    sent, seen = asyncio.run(main(None))
    assert seen == sent
    _, seen = asyncio.run(main("bench-upstream-pass-01"))
    assert seen == "Basic " + base64.b64encode(b"CS1:bench-upstream-pass-01").decode()


def test_tls_upstream_with_the_benchs_client_certificate_security_profile_3(tmp_path: Path) -> None:
    """Profile 3 upstream: the backend verifies the bench's client certificate; the relay verifies the
    backend's against `cafile`. Without the client certificate the backend refuses the handshake (502)."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    bench_client = ca.issue_cert("chargespec-bench-CS1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    bench_client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    bench_client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.configure_cert(tls)
    ca.configure_trust(tls)
    tls.verify_mode = ssl.CERT_REQUIRED

    async def main(with_certificate: bool) -> tuple[list[str], str]:
        target = TargetCsms(tls=tls)
        await target.start()
        files = {"client_certfile": str(tmp_path / "client.pem"), "client_keyfile": str(tmp_path / "client.key")}
        proxy = ProxyConfig(to=target.url, cafile=str(tmp_path / "ca.pem"), **(files if with_certificate else {}))
        harness, _ = await _proxy(target, proxy=proxy)
        refused = ""
        try:
            async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send(HEARTBEAT)
                await asyncio.wait_for(ws.recv(), 5)
        except Exception as e:
            refused = str(e)
        await harness.stop()
        await target.stop()
        return target.received, refused

    received, refused = asyncio.run(main(True))
    assert received == [HEARTBEAT] and not refused
    received, refused = asyncio.run(main(False))
    assert received == [] and "502" in refused


def test_the_trace_names_the_backend_and_marks_injected_calls_and_their_answers(tmp_path: Path) -> None:
    """ocpp.jsonl in proxy mode: the backend's frames are the backend's (not `csms`), chargespec's own calls are
    `chargespec (injected)`, and they and the charger's answers to them (even a late one, which is consumed,
    never relayed) are marked injected."""
    from runner.csms.errors import CsmsTimeout

    async def main() -> TargetCsms:
        target = TargetCsms()
        await target.start()
        harness, recorder = await _proxy(target)
        recorder.begin(tmp_path)
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            await ws.send(HEARTBEAT)
            await asyncio.wait_for(ws.recv(), 5)
            await target.send_raw("CS1", '[2,"r-1","Reset",{"type":"OnIdle"}]')
            await asyncio.wait_for(ws.recv(), 5)
            await ws.send('[3,"r-1",{"status":"Accepted"}]')
            trigger = {"requestedMessage": "Heartbeat"}
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", trigger, timeout_s=5))
            uid = json.loads(await asyncio.wait_for(ws.recv(), 5))[1]
            await ws.send(f'[3,"{uid}",{{"status":"Accepted"}}]')
            assert (await task).response == {"status": "Accepted"}
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", trigger, timeout_s=0.3))
            late = json.loads(await asyncio.wait_for(ws.recv(), 5))[1]
            with contextlib.suppress(CsmsTimeout):
                await task
            await ws.send(f'[3,"{late}",{{"status":"Accepted"}}]')
            await asyncio.sleep(0.2)
        await harness.stop()
        await target.stop()
        recorder.end()
        return target

    target = asyncio.run(main())
    lines = [json.loads(line) for line in (tmp_path / "ocpp.jsonl").read_text().splitlines()]
    assert [(r["sender"], r.get("injected", False)) for r in lines] == [
        ("charger", False), ("backend", False),                              # Heartbeat and its answer
        ("backend", False), ("charger", False),                              # the backend's Reset, answered
        ("chargespec (injected)", True), ("charger", True),                  # an injected call and its answer
        ("chargespec (injected)", True), ("charger", True),                  # one answered late: still marked
    ]
    assert not [raw for raw in target.received if "chargespec-" in raw]     # neither answer reached the backend
    assert [r["direction"] for r in lines] == ["rx", "tx", "tx", "rx", "tx", "rx", "tx", "rx"]


def test_an_injected_call_whose_deadline_the_stalled_bench_loop_reached_late_is_the_benchs_fault() -> None:
    """The bench loop blocked across an injected call's deadline (the charger's answer unread meanwhile): a
    CsmsBenchFault naming the stall (broken), not the charger's CsmsTimeout."""
    from runner.csms.errors import CsmsBenchFault

    async def main() -> str:
        target = TargetCsms()
        await target.start()
        harness, _ = await _proxy(target)
        try:
            async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send(HEARTBEAT)
                await asyncio.wait_for(ws.recv(), 5)
                task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage",
                                                            {"requestedMessage": "Heartbeat"}, timeout_s=1))
                await asyncio.wait_for(ws.recv(), 5)  # the call reached the charger; the loop stalls before it answers
                asyncio.get_running_loop().call_soon(time.sleep, 3.5)  # across the 2 s (real) floor's deadline
                with pytest.raises(CsmsBenchFault) as stalled:
                    await task
                return str(stalled.value)
        finally:
            await harness.stop()
            await target.stop()

    message = asyncio.run(main())
    assert re.fullmatch(r"CS1: waiting for the answer to the injected TriggerMessage \(message id \S+\): the bench's "
                        r"event loop was stalled, and reached the deadline \(2\.0 s real\) \d+\.\d s late, so what "
                        r"the charger sent meanwhile may not have been read yet; the bench's fault, not the charger's "
                        r"silence", message), message


def test_the_harness_still_names_itself_csms(tmp_path: Path) -> None:
    recorder = Recorder(Clock(1.0))
    recorder.begin(tmp_path)
    recorder.frame(station="CS1", direction="tx", raw='[2,"1","Reset",{"type":"OnIdle"}]')
    recorder.end()
    [line] = (tmp_path / "ocpp.jsonl").read_text().splitlines()
    assert json.loads(line)["sender"] == "csms" and "injected" not in json.loads(line)


def test_an_injected_calls_message_id_is_one_ocpp_j_allows() -> None:
    """MessageId is string[36] (OCPP-J §4.1.4): a charger that enforces it answers a longer id with a CALLERROR,
    which `expect charger replies` would hold against the charger although chargespec sent the bad frame."""
    from runner.csms import framing

    async def main() -> str:
        target = TargetCsms()
        await target.start()
        harness, _ = await _proxy(target)
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", {"requestedMessage": "Heartbeat"},
                                                        timeout_s=5))
            uid = json.loads(await asyncio.wait_for(ws.recv(), 5))[1]
            await ws.send(f'[3,"{uid}",{{"status":"Accepted"}}]')
            await task
        await harness.stop()
        await target.stop()
        return uid

    uid = asyncio.run(main())
    assert uid.startswith("chargespec-") and len(uid) <= framing.MAX_ID_LENGTH, uid


def test_a_fault_in_chargespecs_own_judging_never_stops_the_relay_nor_reads_as_the_chargers_close() -> None:
    """Whatever chargespec fails to make of a frame (here: deriving the harness's state from it raises), the
    frame and every later one still pass both ways, the connection stays up, and the fault is chargespec's:
    filed under "<id> (chargespec)", never under the charger's identity nor recorded as a close by it."""
    async def main() -> tuple[list[str], list[str], Recorder, ProxyHarness]:
        target = TargetCsms()
        await target.start()
        harness, recorder = await _proxy(target)
        derive = harness._on_frame

        def faulty(st: object, frame: object) -> None:
            if getattr(frame, "action", None) == "Heartbeat" and getattr(frame, "direction", "") == "rx":
                raise TypeError("unhashable type: 'list'")
            derive(st, frame)  # type: ignore[arg-type]
        harness._on_frame = faulty  # type: ignore[method-assign]
        got: list[str] = []
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            for raw in (HEARTBEAT, BOOT):
                await ws.send(raw)
                got.append(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[arg-type]
            closed = list(recorder.events("proxy.closed"))
        await harness.stop()
        await target.stop()
        assert not closed, closed
        return got, target.sent, recorder, harness

    got, sent, recorder, _ = asyncio.run(main())
    assert got == sent and len(got) == 2                  # both answered, both relayed
    faults = [f for f in recorder.findings() if "TypeError" in f.message]
    assert faults and all(f.station == "CS1 (chargespec)" and f.severity == "error" for f in faults), faults
    assert not [f for f in recorder.findings() if f.station == "CS1"]
    # The bench's record of the traffic has a gap: the scenario is broken (runner/execute.py), never passed.
    from types import SimpleNamespace

    from runner.errors import BenchError
    from runner.execute import own_faults
    verdict = own_faults(SimpleNamespace(recorder=recorder, station=SimpleNamespace(id="CS1"), named={}))  # type: ignore[arg-type]
    assert isinstance(verdict, BenchError) and "TypeError" in str(verdict)


class _Gone:
    """A websocket for RelaySession: reads `frames`, then waits until closed; `sends=False`: its peer is gone
    (sending raises ConnectionClosed)."""

    def __init__(self, frames: list[str] = (), *, sends: bool = True) -> None:  # type: ignore[assignment]
        from types import SimpleNamespace
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        for raw in frames:
            self.queue.put_nowait(raw)
        self.sends = sends
        self.sent: list[str] = []
        self.protocol = SimpleNamespace(close_rcvd=None)
        self.transport = SimpleNamespace(abort=lambda: self.queue.put_nowait(None))

    async def recv(self) -> str:
        raw = await self.queue.get()
        if raw is None:
            raise ConnectionClosed(None, None)
        return raw

    async def send(self, raw: str) -> None:
        if not self.sends:   # (its reader learns it too, after the relay tried to send)
            self.queue.put_nowait(None)
            raise ConnectionClosed(None, None)
        self.sent.append(raw)

    async def wait_closed(self) -> None:
        pass

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.queue.put_nowait(None)


def test_a_frame_the_other_side_never_got_is_named_undelivered_and_the_gone_side_closed_it() -> None:
    """The charger's connection is gone when the backend's Reset arrives: the relay records the Reset (the
    backend sent it) but names it undelivered, and the close is the charger side's, not the backend's. The
    charger is then never timed on it nor judged for not answering it (test_timing.py)."""
    from runner.proxy.relay import RelaySession
    from runner.proxy.timing import Pending, pending_calls, relayed

    async def main() -> tuple[Recorder, RelaySession]:
        recorder = Recorder(Clock(1.0))
        charger, backend = _Gone(sends=False), _Gone(['[2,"r-1","Reset",{"type":"OnIdle"}]'])
        relay = RelaySession("CS1", charger, backend, recorder=recorder, clock=recorder.clock,  # type: ignore[arg-type]
                             strict=True, on_frame=lambda fr: None)
        await asyncio.wait_for(relay.run(), 5)
        return recorder, relay

    recorder, relay = asyncio.run(main())
    [lost] = recorder.events("proxy.undelivered")
    assert (lost["direction"], lost["unique_id"], lost["to"]) == ("tx", "r-1", "charger")
    assert relay.closed_by == "charger" and recorder.events("proxy.closed")[0]["by"] == "charger"
    assert pending_calls(recorder.frames(), (), relayed(recorder, "CS1")) == {}
    assert pending_calls(recorder.frames()) == {("charger", "Reset"): [Pending(recorder.frames()[0].t)]}


def test_a_backend_that_does_not_pick_ocpp201_is_the_backends_finding_not_the_chargers() -> None:
    """The charger offers ocpp2.0.1; the backend accepts without choosing it (websockets servers do when no
    offer matches theirs). The charger then gets no subprotocol and its connection is closed (1002), but the
    finding is the backend's: the charger did everything right."""
    from websockets.asyncio.server import serve

    async def main() -> tuple[Recorder, int | None]:
        async def backend(ws: object) -> None:
            await asyncio.sleep(1)
        server = await serve(backend, "127.0.0.1", 0, select_subprotocol=lambda conn, offered: None)
        port = server.sockets[0].getsockname()[1]
        clock = Clock(1.0)
        recorder = Recorder(clock)
        harness = ProxyHarness(recorder, clock, CsmsConfig(), proxy=ProxyConfig(to=f"ws://127.0.0.1:{port}/ocpp"))
        await harness.start()
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            code = ws.close_code
        await harness.stop()
        server.close()
        return recorder, code

    recorder, code = asyncio.run(main())
    assert code == 1002
    assert not [f for f in recorder.findings() if f.station == "CS1"], recorder.findings()
    assert [f for f in recorder.findings() if f.station == "CS1 (backend)" and "ocpp2.0.1" in f.message]


def test_every_frame_a_side_sends_after_the_other_is_gone_is_recorded_and_named_undelivered() -> None:
    """The backend is gone (a send to it fails) while the charger still sends two frames before its own side is
    closed: both are in the trace as the charger sent them, each with its `proxy.undelivered` event, none
    silently dropped from the record."""
    from runner.proxy.relay import RelaySession

    async def main() -> Recorder:
        recorder = Recorder(Clock(1.0))
        charger = _Gone(['[2,"h-1","Heartbeat",{}]', '[2,"s-1","StatusNotification",{}]'])
        relay = RelaySession("CS1", charger, _Gone(sends=False), recorder=recorder,  # type: ignore[arg-type]
                             clock=recorder.clock, strict=True, on_frame=lambda fr: None)
        await asyncio.wait_for(relay.run(), 5)
        return recorder

    recorder = asyncio.run(main())
    assert [f.unique_id for f in recorder.frames()] == ["h-1", "s-1"]
    assert [(e["unique_id"], e["to"]) for e in recorder.events("proxy.undelivered")] == [("h-1", "backend"),
                                                                                        ("s-1", "backend")]
    assert recorder.events("proxy.closed")[0]["by"] == "backend"


def test_frames_under_load_pass_in_order_both_ways() -> None:
    """300 calls the charger sends without waiting, each answered by the backend, and 50 backend calls sent
    meanwhile: each side receives the other's frames in the order sent, byte for byte."""
    async def main() -> tuple[list[str], list[str], TargetCsms]:
        target = TargetCsms()
        await target.start()
        harness, _ = await _proxy(target)
        sent = [f'[2,"h-{i}","Heartbeat",{{}}]' for i in range(300)]
        got: list[str] = []
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            await ws.send(HEARTBEAT)
            got.append(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[arg-type]

            async def backend_calls() -> None:
                for i in range(50):
                    await target.send_raw("CS1", f'[2,"g-{i}","GetBaseReport",{{"requestId":{i},'
                                                 '"reportBase":"FullInventory"}]')
            calls = asyncio.ensure_future(backend_calls())
            for raw in sent:
                await ws.send(raw)
            while len(got) < 1 + 300 + 50:
                got.append(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[arg-type]
            await calls
        await harness.stop()
        await target.stop()
        return [HEARTBEAT, *sent], got, target

    sent, got, target = asyncio.run(main())
    assert target.received == sent
    assert got == target.sent


def test_malformed_frames_from_either_side_are_findings_of_their_sender_and_relayed_verbatim() -> None:
    """Unreadable JSON, a message type OCPP-J does not know, a lone surrogate escape: each is a finding against
    the side that sent it, relayed byte for byte, and the relay goes on."""
    bad_charger = ['[2,"x-1","Heartbeat",{', '[7,"x-2",{}]', '[2,"x-3","DataTransfer",{"vendorId":"\\ud800"}]']
    bad_backend = ['[3,"nope"', '{"not":"an array"}']

    async def main() -> tuple[list[str], TargetCsms, Recorder]:
        target = TargetCsms()
        await target.start()
        harness, recorder = await _proxy(target)
        got: list[str] = []
        async with connect(f"{harness.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            await ws.send(HEARTBEAT)
            await asyncio.wait_for(ws.recv(), 5)
            for raw in bad_backend:
                await target.send_raw("CS1", raw)
                got.append(await asyncio.wait_for(ws.recv(), 5))  # type: ignore[arg-type]
            for raw in bad_charger:
                await ws.send(raw)
            await asyncio.sleep(0.3)
            await ws.send('[2,"h-2","Heartbeat",{}]')                  # still relaying both ways
            while True:
                answer = await asyncio.wait_for(ws.recv(), 5)
                if '"h-2"' in answer:
                    break
        await harness.stop()
        await target.stop()
        return got, target, recorder

    got, target, recorder = asyncio.run(main())
    assert got == bad_backend
    assert [raw for raw in target.received if raw in bad_charger] == bad_charger
    findings = recorder.findings()
    assert len([f for f in findings if f.station == "CS1 (backend)" and "malformed frame" in f.message]) == 2
    assert len([f for f in findings if f.station == "CS1" and "malformed frame" in f.message]) == 2
    assert not [f for f in findings if f.station == "CS1 (chargespec)"], findings
