"""OCPP-J §4.1.1 across the relay: to the charger, the backend and chargespec's injected calls come from one
CSMS, which has at most one CALL outstanding. A backend call that comes while an injected one is outstanding
is held (and the delay recorded), an injection waits for the backend's outstanding call, and a close that was
the backend's or the bench's is never read as the charger's failure.

A raw websockets client plays the charger (the test decides when it answers); the target is the independent
`ocpp` backend of conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from instruments.clock import Clock
from lab.bench import CsmsConfig, ProxyConfig
from runner.csms.errors import CsmsError
from runner.errors import BenchError
from runner.proxy import ProxyHarness
from runner.proxy.timing import relayed, response_times
from runner.recorder import Recorder
from tests.runner.proxy.conftest import TargetCsms

HEARTBEAT = '[2,"h-1","Heartbeat",{}]'
RESET = '[2,"r-1","Reset",{"type":"OnIdle"}]'
TRIGGER = {"requestedMessage": "Heartbeat"}


async def _nothing_within(ws: ClientConnection, seconds: float) -> bool:
    """True when the charger gets no frame for `seconds` (cancelling recv loses nothing)."""
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


class _Bench:
    """A proxy harness relaying to a fresh target, and the charger's connection to it."""

    def __init__(self) -> None:
        self.target = TargetCsms()
        self.clock = Clock(1.0)
        self.recorder = Recorder(self.clock)
        self.harness: ProxyHarness | None = None

    async def __aenter__(self) -> tuple[ProxyHarness, ClientConnection, TargetCsms, Recorder]:
        await self.target.start()
        self.harness = ProxyHarness(self.recorder, self.clock, CsmsConfig(), proxy=ProxyConfig(to=self.target.url))
        await self.harness.start()
        self._ws = connect(f"{self.harness.url}/CS1", subprotocols=["ocpp2.0.1"])  # type: ignore[list-item]
        ws = await self._ws.__aenter__()
        await ws.send(HEARTBEAT)   # the backend's side of the connection is up once this is answered
        await asyncio.wait_for(ws.recv(), 5)
        return self.harness, ws, self.target, self.recorder

    async def __aexit__(self, *exc: Any) -> None:
        with contextlib.suppress(Exception):
            await self._ws.__aexit__(None, None, None)
        assert self.harness is not None
        await self.harness.stop()
        await self.target.stop()


def test_a_backend_call_waits_while_an_injected_call_is_outstanding_and_the_delay_is_recorded() -> None:
    """The charger has chargespec's TriggerMessage outstanding when the backend sends Reset: the Reset reaches
    the charger only once the TriggerMessage is answered, `proxy.held` records the delay, and the charger's
    response time to Reset runs from when it got it (the hold is chargespec's, not the charger's)."""
    async def main() -> tuple[bool, list[str], Recorder, TargetCsms]:
        async with _Bench() as (harness, ws, target, recorder):
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=5))
            uid = json.loads(await asyncio.wait_for(ws.recv(), 5))[1]
            await target.send_raw("CS1", RESET)
            quiet = await _nothing_within(ws, 0.4)     # two CSMS calls outstanding at once: OCPP-J forbids
            await ws.send(f'[3,"{uid}",{{"status":"Accepted"}}]')
            await task
            got = [await asyncio.wait_for(ws.recv(), 5)]
            await ws.send('[3,"r-1",{"status":"Accepted"}]')
            await asyncio.sleep(0.2)
        return quiet, got, recorder, target

    quiet, got, recorder, target = asyncio.run(main())
    assert quiet, "the backend's Reset reached the charger while the injected TriggerMessage was outstanding"
    assert got == [RESET]                                               # then passed on, unchanged
    assert '[3,"r-1",{"status":"Accepted"}]' in target.received         # and its answer reached the backend
    [held] = recorder.events("proxy.held")
    assert (held["direction"], held["unique_id"], held["action"]) == ("tx", "r-1", "Reset")
    assert held["held_s"] >= 0.4 and "chargespec-" in held["behind"]
    injected = {e["unique_id"] for e in recorder.events("proxy.injected")}
    reset = response_times(recorder.frames(), injected, relayed(recorder, "CS1"))[("charger", "Reset")]
    assert reset.count == 1 and reset.max < 0.3, reset                  # from when the charger got it


def test_an_injected_call_waits_until_the_backends_outstanding_call_is_answered() -> None:
    async def main() -> tuple[bool, str, Any]:
        async with _Bench() as (harness, ws, target, _):
            await target.send_raw("CS1", RESET)
            assert await asyncio.wait_for(ws.recv(), 5) == RESET
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=6))
            quiet = await _nothing_within(ws, 0.4)
            await ws.send('[3,"r-1",{"status":"Accepted"}]')
            call = json.loads(await asyncio.wait_for(ws.recv(), 5))
            await ws.send(f'[3,"{call[1]}",{{"status":"Accepted"}}]')
            outcome = await task
        return quiet, call[2], outcome

    quiet, action, outcome = asyncio.run(main())
    assert quiet, "the injected call reached the charger while the backend's Reset was outstanding"
    assert action == "TriggerMessage" and outcome.response == {"status": "Accepted"}


def test_an_injection_the_backends_unanswered_call_kept_out_is_broken_never_sent() -> None:
    """The charger never answers the backend's Reset: the injected call is not sent (the charger would be right
    to refuse a second CSMS call), and the statement is broken (nothing of the charger's was judged)."""
    async def main() -> tuple[BaseException | None, bool]:
        async with _Bench() as (harness, ws, target, _):
            await target.send_raw("CS1", RESET)
            await asyncio.wait_for(ws.recv(), 5)
            error: BaseException | None = None
            try:
                await harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=1)
            except BaseException as e:
                error = e
            quiet = await _nothing_within(ws, 0.1)
        return error, quiet

    error, quiet = asyncio.run(main())
    assert isinstance(error, BenchError), error
    assert "the injected TriggerMessage was not sent: the backend's Reset (message id r-1)" in str(error)
    assert quiet


@pytest.mark.parametrize("closer", ["backend", "bench"])
def test_an_injected_call_cut_short_by_the_backends_or_the_benchs_close_is_broken_not_failed(closer: str) -> None:
    """The charger got the injected call; before it answers, the backend closes the connection (or the spec's
    network fault cuts it): its silence is no evidence, so the statement is broken, and `proxy.closed` names
    who closed. A close the charger made is still the charger's (CsmsError: failed)."""
    async def main() -> tuple[BaseException | None, list[dict]]:
        async with _Bench() as (harness, ws, target, recorder):
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=5))
            await asyncio.wait_for(ws.recv(), 5)
            if closer == "backend":
                await target.backends["CS1"]._connection.close(1001, "maintenance")
            else:
                await harness.drop("CS1")
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                await asyncio.wait_for(ws.recv(), 5)
            error: BaseException | None = None
            try:
                await asyncio.wait_for(task, 5)
            except BaseException as e:
                error = e
        return error, recorder.events("proxy.closed")

    error, closed = asyncio.run(main())
    assert isinstance(error, BenchError) and not isinstance(error, CsmsError), error
    expected = ("the backend closed the connection" if closer == "backend"
                else "the bench cut the charger's connection")
    assert f"{expected} before the charger answered the injected TriggerMessage" in str(error)
    assert "not the charger's failure" in str(error)
    assert closed and closed[0]["by"] == closer


def test_a_close_the_charger_made_with_an_injected_call_outstanding_is_still_the_chargers() -> None:
    async def main() -> BaseException | None:
        async with _Bench() as (harness, ws, _, _):
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=5))
            await asyncio.wait_for(ws.recv(), 5)
            await ws.close(1000, "bye")
            try:
                await asyncio.wait_for(task, 5)
            except BaseException as e:
                return e
        return None

    error = asyncio.run(main())
    assert isinstance(error, CsmsError) and "the charger's connection closed before" in str(error), error


def test_a_malformed_answer_to_an_injected_call_is_consumed_and_named_not_timed_out() -> None:
    """The charger answers the injected call with a frame that is no OCPP-J answer: it is still its answer (not
    "no answer within 30 s"), consumed (the backend never sent that call), and a finding against the charger."""
    async def main() -> tuple[BaseException | None, Recorder, TargetCsms]:
        async with _Bench() as (harness, ws, target, recorder):
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=5))
            uid = json.loads(await asyncio.wait_for(ws.recv(), 5))[1]
            await ws.send(f'[3,"{uid}","Accepted"]')
            error: BaseException | None = None
            try:
                await asyncio.wait_for(task, 3)
            except BaseException as e:
                error = e
            await asyncio.sleep(0.1)
        return error, recorder, target

    error, recorder, target = asyncio.run(main())
    assert isinstance(error, CsmsError) and "answered the injected TriggerMessage" in str(error), error
    assert "with a malformed frame: a CALLRESULT is [3, id, {payload}]" in str(error)
    assert not [raw for raw in target.received if "chargespec-" in raw]
    assert [f for f in recorder.findings() if f.station == "CS1" and "malformed" in f.message
            and "consumed" in f.message]


def test_frames_behind_a_held_call_keep_their_order_and_their_arrival_time() -> None:
    """While the backend's Reset is held, the charger sends a Heartbeat and the backend answers it at once:
    that answer is queued behind the Reset (the charger gets the backend's frames in the order sent), its delay
    is recorded too, and the backend's response time is its own (the answer's arrival), not the hold's."""
    async def main() -> tuple[list[str], Recorder]:
        async with _Bench() as (harness, ws, target, recorder):
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=5))
            uid = json.loads(await asyncio.wait_for(ws.recv(), 5))[1]
            await target.send_raw("CS1", RESET)
            await asyncio.sleep(0.1)
            await ws.send('[2,"h-2","Heartbeat",{}]')
            await asyncio.sleep(0.4)
            await ws.send(f'[3,"{uid}",{{"status":"Accepted"}}]')
            await task
            got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(2)]
            await asyncio.sleep(0.1)
        return got, recorder

    got, recorder = asyncio.run(main())
    assert got[0] == RESET and json.loads(got[1])[:2] == [3, "h-2"]
    held = {e["unique_id"]: e for e in recorder.events("proxy.held")}
    assert held["h-2"]["behind"] == "the held frame 'r-1'" and held["h-2"]["held_s"] >= 0.3
    injected = {e["unique_id"] for e in recorder.events("proxy.injected")}
    heartbeat = response_times(recorder.frames(), injected, relayed(recorder, "CS1"))[("backend", "Heartbeat")]
    assert heartbeat.count == 2 and heartbeat.max < 0.3, heartbeat


def test_injecting_while_the_backend_keeps_the_charger_offline_is_broken_not_failed() -> None:
    """The backend closed the connection (and then refuses reconnects, relayed to the charger as 502): a
    `csms injects` then finds no charger connected, which is the backend's doing, not the charger's."""
    async def main() -> BaseException | None:
        async with _Bench() as (harness, ws, target, _):
            await target.go_down()
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                await asyncio.wait_for(ws.recv(), 5)
            await asyncio.sleep(0.1)
            try:
                await harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=1)
            except BaseException as e:
                return e
        return None

    error = asyncio.run(main())
    assert isinstance(error, BenchError) and not isinstance(error, CsmsError), error
    assert "cannot inject TriggerMessage: 'CS1' is not connected: the backend closed its last connection" in str(error)


def test_the_chargers_answer_to_a_backend_call_reusing_an_injected_id_reaches_the_backend() -> None:
    """The backend happens to send a call with the message id of a call chargespec injected earlier (answered):
    the charger's answer to it is the backend's, relayed, never swallowed as a late answer to the injected one."""
    async def main() -> TargetCsms:
        async with _Bench() as (harness, ws, target, _):
            task = asyncio.ensure_future(harness.inject("CS1", "TriggerMessage", TRIGGER, timeout_s=5))
            uid = json.loads(await asyncio.wait_for(ws.recv(), 5))[1]
            await ws.send(f'[3,"{uid}",{{"status":"Accepted"}}]')
            await task
            await target.send_raw("CS1", f'[2,"{uid}","Reset",{{"type":"OnIdle"}}]')
            await asyncio.wait_for(ws.recv(), 5)
            await ws.send(f'[3,"{uid}",{{"status":"Rejected"}}]')
            await asyncio.sleep(0.2)
        return target

    target = asyncio.run(main())
    assert [raw for raw in target.received if '"Rejected"' in raw], target.received
