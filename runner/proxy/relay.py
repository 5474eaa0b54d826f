"""One relayed connection: the charger's websocket and the target CSMS's, frames passed on unchanged.

Each text frame is recorded exactly as it arrived (the charger's as `rx`, the backend's as `tx`, as the
harness records its own traffic; ocpp.jsonl names their senders `charger` and `backend`), judged, then
written to the other side unchanged and in order: one reader per direction, each sending what it read before
reading the next, except behind a held call (below), when the frames that follow are recorded as they arrive
(their times are their own) and queued in order. Websockets delivers a text frame as the UTF-8 it decoded,
and encoding it again gives the same bytes, so the far end receives what the near end sent, byte for byte
(a fragmented message arrives as one frame). The relay never answers for either side; the one exception is
an injected call (`inject`): chargespec's own CALL to the charger (sender `chargespec (injected)`), whose
answer is consumed here and never reaches the backend (both marked `"injected": true` in ocpp.jsonl), even
when it comes late.

OCPP-J §4.1.1: a CSMS has at most one CALL outstanding per connection, and to the charger the backend's calls
and chargespec's injected ones come from one CSMS. So a backend CALL that arrives while an injected call is
outstanding is held until that call is answered or given up on, then passed on; the frames behind it wait
with it (the order is kept). Each held frame has a `proxy.held` event (its arrival, when it was passed on,
the delay chargespec added); the charger's response time to a held call runs from when it got it
(timing.py). The other way round, an injected call waits until no backend call awaits the charger's answer.

Judging is attributed to the side that sent the frame: malformed frames, reused message ids, actions sent
in the wrong direction, schema violations of requests and of responses (a response is checked against the
action of the call it answers), and answers to no outstanding call. Strict mode makes these errors, lenient
mode warnings; either way the frame is relayed as it was.

A close on one side is relayed to the other with its code and reason, after every frame that side sent
before it; a connection lost without a closing handshake (1006) is relayed as a lost connection (the other
side's TCP connection is cut). `proxy.closed` names who closed: the charger, the backend, or the bench (a
network fault the spec asked for, `csms drops the connection`). A frame recorded but not passed on (the other
side was gone, including frames a side sent after the other had closed) is named by a `proxy.undelivered`
event: the frame was sent, never exchanged, and the side it was for is not judged on it (timing.py,
steps.py). An injected call left without an answer by a close that was the backend's or the bench's is
broken (BenchError), never the charger's failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from instruments.clock import Clock
from runner.csms import framing
from runner.csms.actions import ALL_ACTIONS, CHARGER_TO_CSMS, CSMS_TO_CHARGER
from runner.csms.errors import CsmsConnectionLost, CsmsError, CsmsTimeout
from runner.csms.schemas import UnknownSchema, validate
from runner.csms.session import CallOutcome
from runner.csms.waiting import within
from runner.errors import BenchError
from runner.recorder import Frame, Recorder, finding_station

Side = Literal["charger", "backend"]
Closer = Literal["charger", "backend", "bench"]
SEEN_IDS = 1000          # message ids remembered per side to catch a reused one (as session.py)
MAX_OUTSTANDING = 1024   # calls awaiting their answer per side; a side that never answers loses the oldest
IN_FLIGHT_S = 30.0       # bench seconds a backend call counts as awaiting the charger's answer (for `inject`)
QUEUE_FRAMES = 256       # frames queued behind a held call, per direction; a full queue stops reading that side
TICK_S = 0.05            # real seconds between re-checks of a wait that time alone can end (IN_FLIGHT_S)
INJECTED_SENDER = "chargespec (injected)"   # the sender ocpp.jsonl names for chargespec's own calls
INJECTED_PREFIX = "chargespec-"             # the message ids of chargespec's own calls start so
# Close codes that cannot be sent in a close frame (RFC 6455 §7.4.1): relayed as a cut connection.
_UNSENDABLE = {1005, 1006, 1015}


def injected_id() -> str:
    """A message id for chargespec's own call: `chargespec-` and 100 random bits, 36 characters (MessageId is
    string[36]: a longer id would make a charger that enforces it refuse the call, and be judged for it)."""
    return f"{INJECTED_PREFIX}{uuid.uuid4().hex[:framing.MAX_ID_LENGTH - len(INJECTED_PREFIX)]}"


class _Side:
    """What the relay knows of one side's calls: ids seen, calls awaiting the other side's answer."""

    def __init__(self, name: Side) -> None:
        self.name = name
        self.seen: set[str] = set()
        self.seen_order: deque[str] = deque()
        self.outstanding: dict[str, tuple[str, float]] = {}   # message id -> (action, bench t passed on)

    def remember(self, uid: str) -> bool:
        """Remember a call id; False when it was seen recently (a reused id)."""
        if uid in self.seen:
            return False
        self.seen.add(uid)
        self.seen_order.append(uid)
        if len(self.seen_order) > SEEN_IDS:
            self.seen.discard(self.seen_order.popleft())
        return True

    def expect_answer(self, uid: str, action: str, t: float) -> None:
        self.outstanding[uid] = (action, t)
        if len(self.outstanding) > MAX_OUTSTANDING:
            self.outstanding.pop(next(iter(self.outstanding)))


@dataclass(frozen=True)
class _Read:
    """One frame read from a side, queued to be passed on to the other."""
    data: str | bytes
    frame: Frame | None        # None: not recorded (a binary frame, or recording it failed)
    call_to_charger: bool      # a backend CALL: it waits while an injected call is outstanding


class RelaySession:
    """Relays one charger connection to the target CSMS; quacks like the harness's StationSession
    (`run`, `abort`, `close_code`, `close_reason`, `request`) so the harness keeps its bookkeeping."""

    def __init__(self, station: str, charger: ServerConnection, backend: ClientConnection, *,
                 recorder: Recorder, clock: Clock, strict: bool, on_frame: Callable[[Frame], None]) -> None:
        self.station = station
        self.charger = charger
        self.backend = backend
        self.recorder = recorder
        self.clock = clock
        self.strict = strict
        self._on_frame = on_frame
        self._sides = {"charger": _Side("charger"), "backend": _Side("backend")}
        self._injected: dict[str, tuple[str, asyncio.Future[tuple[Frame, framing.Message]]]] = {}
        self._injected_ids: set[str] = set()   # every call injected here: a late answer is consumed too
        self._inject_lock = asyncio.Lock()   # OCPP-J: one outstanding CALL per direction, injected ones too
        self._changed = asyncio.Event()      # replaced on each change a waiter may be waiting for (`_wake`)
        self._gone: asyncio.Future[Side] | None = None
        self._gone_t: float | None = None
        self.cut_by_bench = False            # set by the harness's `drop` before it cuts the charger's side
        self.fault: str | None = None        # (a relay never closes on a fault of its own: it relays on, and says so)
        self.closed_by: Closer | None = None
        self._close: tuple[int | None, str] = (None, "")

    @property
    def severity(self) -> str:
        return "error" if self.strict else "warning"

    # ---- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Relay until either side closes; then close the other alike. Never raises for traffic."""
        self._gone = asyncio.get_running_loop().create_future()
        pipes = [asyncio.ensure_future(self._pipe("charger")), asyncio.ensure_future(self._pipe("backend"))]
        try:
            gone = await self._gone
            self.closed_by = "bench" if gone == "charger" and self.cut_by_bench else gone
            self._fail_injected()
            await self._relay_close(gone)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pipes, return_exceptions=True), 5)
        finally:
            for task in pipes:
                task.cancel()
            self._fail_injected()

    def _ws(self, side: Side) -> ServerConnection | ClientConnection:
        return self.charger if side == "charger" else self.backend

    def _report_gone(self, side: Side) -> None:
        """The first side found gone (closed, or a frame could not reach it) is the one whose close is relayed."""
        if self._gone is not None and not self._gone.done():
            self._gone_t = self.clock.now()
            self._gone.set_result(side)
        self._wake()

    async def _relay_close(self, side: Side) -> None:
        """`side` closed (or was lost): close the other side with the same code and reason."""
        gone, other = self._ws(side), self._ws("backend" if side == "charger" else "charger")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(gone.wait_closed(), 2)
        code, reason = self._code_of(gone)
        self._close = (code, reason)
        self.recorder.event("proxy.closed", station=self.station, by=self.closed_by, code=code, reason=reason,
                            t=self._gone_t)
        if code is None or code in _UNSENDABLE:
            other.transport.abort()   # lost, not closed: the other side loses its connection too
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(other.close(code, reason), 5)

    @staticmethod
    def _code_of(ws: ServerConnection | ClientConnection) -> tuple[int | None, str]:
        """The close code the far end sent (None when it sent none: the connection was lost)."""
        rcvd = ws.protocol.close_rcvd
        return (int(rcvd.code), rcvd.reason) if rcvd is not None else (None, "")

    @property
    def close_code(self) -> int | None:
        return self._close[0] if self._close[0] is not None else 1006

    @property
    def close_reason(self) -> str:
        return self._close[1]

    def abort(self, *, by_bench: bool = False) -> None:
        """Cut the charger's connection (a network loss between charger and backend): both sides lose it.
        `by_bench`: the spec's network fault (`csms drops the connection`), as the harness's `drop` says."""
        self.cut_by_bench = self.cut_by_bench or by_bench
        self.charger.transport.abort()

    def _closed_error(self, what: str) -> CsmsError | BenchError:
        """The connection closed before `what`: the charger's failure only when the charger closed it."""
        by = self.closed_by or ("bench" if self.cut_by_bench else "charger")
        if by == "charger":
            return CsmsConnectionLost(f"{self.station}: the charger's connection closed {what}")
        who = "the backend closed the connection" if by == "backend" else "the bench cut the charger's connection"
        why = "" if by == "backend" else " (a network fault the spec asked for)"
        return BenchError(None, f"{self.station}: {who} {what}{why}: the charger's silence is no evidence "
                                "(proxy mode; not the charger's failure)")

    def _fail_injected(self) -> None:
        for uid, (action, fut) in list(self._injected.items()):
            if not fut.done():
                fut.set_exception(self._closed_error(f"before the charger answered the injected {action} "
                                                     f"(message id {uid})"))
        self._injected.clear()
        self._wake()

    # ---- waiting ------------------------------------------------------------------------------

    def _wake(self) -> None:
        """Something a waiter may wait for changed (an answer, a given-up call, a close): let it re-check."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _until(self, clear: Callable[[], bool], real_deadline: float = math.inf) -> bool:
        """Wait until `clear()` (re-checked on each change, and every TICK_S for what time alone ends);
        False when the loop's clock passed `real_deadline` first."""
        loop = asyncio.get_running_loop()
        while not clear():
            left = real_deadline - loop.time()
            if left <= 0:
                return False
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, TICK_S))
        return True

    def _backend_calls_in_flight(self) -> list[tuple[str, str, float]]:
        """The backend's calls awaiting the charger's answer, as (message id, action, bench t passed on or
        read); one unanswered for longer than IN_FLIGHT_S is taken to have timed out (OCPP-J §4.1.1)."""
        now = self.clock.now()
        return [(uid, action, t) for uid, (action, t) in list(self._sides["backend"].outstanding.items())
                if now - t < IN_FLIGHT_S]

    # ---- relaying -----------------------------------------------------------------------------

    async def _pipe(self, side: Side) -> None:
        """Record, judge and pass on `side`'s frames in the order they came, until `side` closes (its close
        follows the last frame it sent) or the other side is gone (what `side` sends after that is recorded,
        never passed on: `proxy.undelivered`). Each frame is sent before the next is read, except behind a
        held call: then the frames that follow are read and recorded as they arrive (their times are their
        own) and queued, in order, for `_drain`; a full queue stops reading this side."""
        other: Side = "backend" if side == "charger" else "charger"
        source, target = self._ws(side), self._ws(other)
        backlog: deque[_Read] = deque()   # frames behind a held call, passed on in order by `drain`
        drain: asyncio.Task[bool] | None = None
        delivering = True
        try:
            while True:
                try:
                    data = await source.recv()
                except ConnectionClosed:
                    if drain is not None:
                        await drain   # what `side` sent before it closed goes first
                    self._report_gone(side)
                    return
                item = self._take(side, data)
                if item is None:
                    continue
                if drain is not None and drain.done():
                    delivering = delivering and drain.result()
                    drain = None
                if not delivering:
                    self._undelivered(item, other)
                    continue
                if drain is not None or (item.call_to_charger and self._injected):
                    backlog.append(item)
                    if drain is None:
                        drain = asyncio.ensure_future(self._drain(backlog, target, other))
                    elif len(backlog) >= QUEUE_FRAMES:
                        await asyncio.wait({drain})
                    continue
                delivering = await self._send(item, target, other)
        finally:
            if drain is not None:
                drain.cancel()
            self._report_gone(side)

    async def _send(self, item: _Read, target: ServerConnection | ClientConnection, to: Side) -> bool:
        """Pass one frame on; False when `to` is gone (it never got the frame)."""
        try:
            await target.send(item.data)
        except ConnectionClosed:
            self._undelivered(item, to)
            self._report_gone(to)
            return False
        if item.call_to_charger and item.frame is not None:
            self._passed_on(item.frame)
        return True

    async def _drain(self, backlog: deque[_Read], target: ServerConnection | ClientConnection, to: Side) -> bool:
        """Pass on the frames queued behind a held call, holding each backend CALL while an injected call is
        outstanding; each frame that waited has a `proxy.held` event. False when `to` is gone."""
        held_until, held_id = -math.inf, None
        while backlog:
            item = backlog[0]
            if item.call_to_charger and self._injected:
                await self._hold(item)
                held_until, held_id = self.clock.now(), item.frame.unique_id if item.frame else None
            elif item.frame is not None and item.frame.t < held_until:
                self._held_event(item.frame, self.clock.now(), behind=f"the held frame {held_id!r}")
            sent = await self._send(item, target, to)
            backlog.popleft()
            if not sent:
                for rest in backlog:
                    self._undelivered(rest, to)
                backlog.clear()
                return False
        return True

    async def _hold(self, item: _Read) -> None:
        """OCPP-J §4.1.1: the charger has chargespec's injected call outstanding; the backend's CALL waits
        until it is answered or given up on (each injected call has its budget), and the delay is recorded."""
        waiting_for = sorted(self._injected)
        await self._until(lambda: not self._injected)
        if item.frame is not None:
            self._held_event(item.frame, self.clock.now(), behind="the injected call(s) " + ", ".join(waiting_for))

    def _held_event(self, frame: Frame, passed_on_t: float, *, behind: str) -> None:
        self.recorder.event("proxy.held", station=self.station, direction=frame.direction, unique_id=frame.unique_id,
                            action=frame.action, frame_t=frame.t, passed_on_t=passed_on_t,
                            held_s=round(passed_on_t - frame.t, 6), behind=behind)

    def _passed_on(self, frame: Frame) -> None:
        """A backend call reached the charger: it awaits the charger's answer from now (for `inject`)."""
        outstanding = self._sides["backend"].outstanding
        uid = frame.unique_id or ""
        if uid in outstanding:
            outstanding[uid] = (outstanding[uid][0], self.clock.now())

    def _undelivered(self, item: _Read, to: Side) -> None:
        if item.frame is not None:
            self.recorder.event("proxy.undelivered", station=self.station, direction=item.frame.direction,
                                unique_id=item.frame.unique_id, frame_t=item.frame.t, to=to)

    def _take(self, side: Side, data: str | bytes) -> _Read | None:
        """Record and judge one frame; what to pass on (None: an answer to an injected call, consumed)."""
        if isinstance(data, bytes):
            self._note(side, "error", f"the {side} sent a binary websocket frame ({len(data)} bytes); OCPP-J uses "
                       "text frames only; relayed unchanged", data[:200].hex())
            return _Read(data, None, False)
        msg = framing.read_frame(data)
        consumed = side == "charger" and self._answers_injected(msg)
        try:
            frame = self._record("rx" if side == "charger" else "tx", data, injected=consumed)
        except Exception as e:   # the record has a gap (chargespec's fault): the frame is relayed all the same
            self._fault(f"recording the {side}'s frame", e, data)
            return None if consumed else _Read(data, None, False)
        try:
            self._judge(side, frame, msg)
        except Exception as e:   # chargespec's fault, not the sender's: relay on, and say so
            self._fault(f"judging the {side}'s frame at t={frame.t:.3f} s", e, data)
        if consumed:
            return None
        return _Read(data, frame, side == "backend" and msg.kind == "call")

    def _answers_injected(self, msg: framing.Message) -> bool:
        """Whether a frame of the charger's answers a call chargespec injected (outstanding, or given up on
        and not the id of a backend call the charger has since got): consumed, never relayed."""
        if msg.kind == "call" or msg.message_type not in (framing.CALLRESULT, framing.CALLERROR):
            return False
        uid = msg.unique_id or ""
        if uid in self._injected:
            return True
        return uid in self._injected_ids and uid not in self._sides["backend"].outstanding

    def _record(self, direction: str, raw: str, *, sender: str | None = None, injected: bool = False) -> Frame:
        frame = self.recorder.frame(station=self.station, direction=direction, raw=raw,  # type: ignore[arg-type]
                                    sender=sender, injected=injected)
        try:
            self._on_frame(frame)
        except Exception as e:   # the harness's state from this frame is missing: chargespec's fault
            self._fault(f"deriving the bench's state from the frame at t={frame.t:.3f} s", e, raw)
        return frame

    def _fault(self, what: str, error: Exception, raw: str) -> None:
        """A fault of chargespec's own while relaying: filed under "<id> (chargespec)", never the charger's
        or the backend's; the frame is relayed all the same (runner/proxy/evidence.py makes the scenario
        broken: what was derived from the traffic has a gap)."""
        self._note("chargespec", "error", f"chargespec fault {what}: {type(error).__name__}: {error}; the frame "
                   "was relayed unchanged", raw)

    def _note(self, side: str, severity: str, text: str, raw: str | None = None) -> None:
        """A finding against `side`. The charger's carry its identity as station, so they count as the
        harness's own do (strict mode fails the scenario on them); the backend's carry "<id> (backend)":
        in the evidence and the run's notes, never a charger failure (see `finding_station`)."""
        self.recorder.finding(severity, f"{self.station}: {text}", station=finding_station(self.station, side),  # type: ignore[arg-type]
                              raw=raw)

    def _judge(self, side: Side, frame: Frame, msg: framing.Message) -> None:
        """Record what is wrong with one frame, naming its sender; settle the injected call it answers."""
        raw = frame.raw
        me, other = self._sides[side], self._sides["backend" if side == "charger" else "charger"]
        if msg.kind == "call":
            self._judge_call(side, me, frame, msg)
            return
        uid = msg.unique_id or ""
        if msg.kind == "invalid":
            consumed = side == "charger" and self._answers_injected(msg)
            self._note(side, "error", f"the {side} sent a malformed frame at t={frame.t:.3f} s: {msg.problem}; "
                       + ("consumed (it answers chargespec's injected call)" if consumed else "relayed unchanged"), raw)
            if msg.message_type in (framing.CALLRESULT, framing.CALLERROR) and msg.unique_id is not None:
                self._settle_malformed(side, other, uid, msg)
            return
        if side == "charger" and uid in self._injected:
            action, fut = self._injected[uid]
            if not fut.done():
                fut.set_result((frame, msg))
            self._check_response(side, action, frame, msg)
            return
        call = other.outstanding.pop(uid, None)
        if call is not None:
            self._wake()   # an injected call may be waiting for this answer
            self._check_response(side, call[0], frame, msg)
        elif side == "charger" and uid in self._injected_ids:   # the backend never sent this call
            self._note(side, "warning", f"the charger answered an injected call (message id {uid!r}) at "
                       f"t={frame.t:.3f} s after chargespec stopped waiting; consumed, not relayed", raw)
        else:
            kind = "CALLRESULT" if msg.kind == "result" else "CALLERROR"
            self._note(side, "warning", f"the {side} sent a {kind} for message id {uid!r} at t={frame.t:.3f} s "
                       "that answers no outstanding call of the other side", raw)

    def _settle_malformed(self, side: Side, other: _Side, uid: str, msg: framing.Message) -> None:
        """A malformed answer whose message id can be read still answers that call (the sender did answer,
        wrongly): an injected call fails with what was wrong, a relayed one stops awaiting an answer."""
        if side == "charger" and uid in self._injected:
            action, fut = self._injected[uid]
            if not fut.done():
                fut.set_exception(CsmsError(f"{self.station}: the charger answered the injected {action} (message "
                                            f"id {uid}) with a malformed frame: {msg.problem}"))
            return
        if other.outstanding.pop(uid, None) is not None:
            self._wake()

    def _judge_call(self, side: Side, me: _Side, frame: Frame, msg: framing.Message) -> None:
        uid, action = msg.unique_id or "-1", msg.action or ""
        where = f"the {side}'s {action} request (message id {uid!r}) at t={frame.t:.3f} s"
        if len(uid) > framing.MAX_ID_LENGTH:
            self._note(side, self.severity, f"{where}: message id is {len(uid)} characters, OCPP-J allows "
                       f"{framing.MAX_ID_LENGTH}", frame.raw)
        if not me.remember(uid):
            self._note(side, self.severity, f"{where}: message id reused; OCPP-J requires a new id for every CALL "
                       "on a connection", frame.raw)
        me.expect_answer(uid, action, frame.t)
        if action not in ALL_ACTIONS:
            self._note(side, "error", f"{where}: {action!r} is not an OCPP 2.0.1 action", frame.raw)
            return
        allowed = CHARGER_TO_CSMS if side == "charger" else CSMS_TO_CHARGER
        if action not in allowed:
            self._note(side, "error", f"{where}: {action} is not sent by a "
                       f"{'charging station' if side == 'charger' else 'CSMS'}", frame.raw)
            return
        problems = validate(action, "request", msg.payload)
        if problems:
            self._note(side, self.severity, f"{where} violates the OCPP 2.0.1 schema: "
                       + "; ".join(p.message for p in problems) + "; relayed unchanged", frame.raw)

    def _check_response(self, side: Side, action: str, frame: Frame, msg: framing.Message) -> None:
        if msg.kind != "result":
            return
        try:
            problems = validate(action, "response", msg.payload)
        except UnknownSchema:
            return
        if problems:
            self._note(side, self.severity, f"the {side}'s {action} response (message id {msg.unique_id!r}) at "
                       f"t={frame.t:.3f} s violates the OCPP 2.0.1 schema: "
                       + "; ".join(p.message for p in problems) + "; relayed unchanged", frame.raw)

    # ---- injected calls -----------------------------------------------------------------------

    async def request(self, action: str, payload: dict[str, Any], timeout_real_s: float, *,
                      validate_request: bool = True) -> CallOutcome:
        """Inject a CSMS-initiated CALL from chargespec itself; its answer is consumed, not relayed.

        OCPP-J §4.1.1 allows one outstanding CALL per direction, and to the charger the backend and chargespec
        are one CSMS: the injection waits (up to half its budget) until no backend call awaits the charger's
        answer (one unanswered for IN_FLIGHT_S has timed out); still one then, it is not sent (broken: the
        charger would be right to refuse it). Backend calls that come meanwhile are held (`_pipe`)."""
        async with self._inject_lock:
            deadline = asyncio.get_running_loop().time() + timeout_real_s / 2
            if not await self._until(lambda: not self._backend_calls_in_flight() or self.closed_by is not None,
                                     deadline):
                uid, waiting, t = self._backend_calls_in_flight()[0]
                raise BenchError(None, f"{self.station}: the injected {action} was not sent: the backend's {waiting} "
                                       f"(message id {uid}) had awaited the charger's answer for "
                                       f"{self.clock.now() - t:.1f} s, and OCPP-J §4.1.1 allows the charger one "
                                       "outstanding CSMS call (nothing of the charger's to judge)")
            if self.closed_by is not None:
                raise self._closed_error(f"before the injected {action} could be sent")
            # No await from the check above to the registration: a backend call read meanwhile waits for it.
            uid = injected_id()
            while uid in self._sides["backend"].seen:   # never an id the charger has seen from the backend
                uid = injected_id()
            fut: asyncio.Future[tuple[Frame, framing.Message]] = asyncio.get_running_loop().create_future()
            self._injected[uid] = (action, fut)
            self._injected_ids.add(uid)
            raw = framing.call(uid, action, payload)
            t_sent = self.clock.now()
            try:
                frame = self._record("tx", raw, sender=INJECTED_SENDER, injected=True)
                self.recorder.event("proxy.injected", station=self.station, unique_id=uid, action=action)
                if validate_request:
                    problems = validate(action, "request", payload)
                    if problems:
                        self._note("chargespec", self.severity, f"the injected {action} request violates the "
                                   "OCPP 2.0.1 schema: " + "; ".join(p.message for p in problems), frame.raw)
                try:
                    await self.charger.send(raw)
                except ConnectionClosed:
                    raise self._closed_error(f"before the injected {action} could be sent") from None
                try:  # (a deadline the stalled bench loop reached late: CsmsBenchFault, runner/csms/waiting.py)
                    answer, msg = await within(asyncio.shield(fut), timeout_real_s, f"{self.station}: waiting for "
                                               f"the answer to the injected {action} (message id {uid})")
                except TimeoutError:
                    raise CsmsTimeout(f"{self.station}: no answer to the injected {action} (message id {uid}) "
                                      f"within {self.clock.bench(timeout_real_s):.1f} s bench time") from None
            finally:
                self._injected.pop(uid, None)
                self._wake()   # a backend call held behind this one goes on now
        if msg.kind == "error":
            details = msg.payload if isinstance(msg.payload, dict) else None
            return CallOutcome(action, payload, None, msg.error_code, msg.description, t_sent, answer.t, details, uid)
        return CallOutcome(action, payload, msg.payload, None, None, t_sent, answer.t, None, uid)
