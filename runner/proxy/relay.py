"""One relayed connection: the charger's websocket and the target CSMS's, frames passed on unchanged.

Each text frame is recorded exactly as it arrived (the charger's as `rx`, the backend's as `tx`, as the
harness records its own traffic; ocpp.jsonl names their senders `charger` and `backend`), judged, then
written to the other side unchanged and in order: one reader per direction, each sending what it read
before reading the next. Websockets delivers a text frame as the UTF-8 it decoded, and encoding it again
gives the same bytes, so the far end receives what the near end sent, byte for byte (a fragmented message
arrives as one frame). The relay never answers for either side; the one exception is an injected call
(`inject`): chargespec's own CALL to the charger (sender `chargespec (injected)`), whose answer is consumed
here and never reaches the backend (both marked `"injected": true` in ocpp.jsonl), even when it comes late.

Judging is attributed to the side that sent the frame: malformed frames, reused message ids, actions sent
in the wrong direction, schema violations of requests and of responses (a response is checked against the
action of the call it answers), and answers to no outstanding call. Strict mode makes these errors, lenient
mode warnings; either way the frame is relayed as it was.

A close on one side is relayed to the other with its code and reason; a connection lost without a closing
handshake (1006) is relayed as a lost connection (the other side's TCP connection is cut). A frame recorded
but not passed on (the other side was gone) is named by a `proxy.undelivered` event: the frame was sent,
never exchanged, and the side it was for is not judged on it (timing.py, steps.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from instruments.clock import Clock
from runner.csms import framing
from runner.csms.actions import ALL_ACTIONS, CHARGER_TO_CSMS, CSMS_TO_CHARGER
from runner.csms.errors import CsmsConnectionLost, CsmsTimeout
from runner.csms.schemas import UnknownSchema, validate
from runner.csms.session import CallOutcome
from runner.recorder import Frame, Recorder, finding_station

Side = Literal["charger", "backend"]
SEEN_IDS = 1000          # message ids remembered per side to catch a reused one (as session.py)
MAX_OUTSTANDING = 1024   # calls awaiting their answer per side; a side that never answers loses the oldest
IN_FLIGHT_S = 30.0       # bench seconds a backend call counts as awaiting the charger's answer (for `inject`)
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
        self.outstanding: dict[str, tuple[str, float]] = {}   # message id -> (action, bench t)

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
        self.closed_by: Side | None = None
        self._close: tuple[int | None, str] = (None, "")

    @property
    def severity(self) -> str:
        return "error" if self.strict else "warning"

    # ---- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Relay until either side closes; then close the other alike. Never raises for traffic."""
        up = asyncio.ensure_future(self._pump("charger"))
        down = asyncio.ensure_future(self._pump("backend"))
        try:
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            first = up if up in done else down
            gone: Side = "charger" if first is up else "backend"
            if not first.cancelled() and first.exception() is None:
                gone = first.result()   # a frame that could not reach the other side: that side is gone
            self.closed_by = gone
            await self._relay_close(self.closed_by)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(up, down, return_exceptions=True), 5)
        finally:
            for task in (up, down):
                task.cancel()
            self._fail_injected()

    def _ws(self, side: Side) -> ServerConnection | ClientConnection:
        return self.charger if side == "charger" else self.backend

    async def _relay_close(self, side: Side) -> None:
        """`side` closed (or was lost): close the other side with the same code and reason."""
        gone, other = self._ws(side), self._ws("backend" if side == "charger" else "charger")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(gone.wait_closed(), 2)
        code, reason = self._code_of(gone)
        self._close = (code, reason)
        self.recorder.event("proxy.closed", station=self.station, by=side, code=code, reason=reason)
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

    def abort(self) -> None:
        """Cut the charger's connection (a network loss between charger and backend): both sides lose it."""
        self.charger.transport.abort()

    def _fail_injected(self) -> None:
        for uid, (action, fut) in list(self._injected.items()):
            if not fut.done():
                fut.set_exception(CsmsConnectionLost(
                    f"{self.station}: connection closed before the charger answered the injected {action} "
                    f"(message id {uid})"))
        self._injected.clear()

    # ---- relaying -----------------------------------------------------------------------------

    async def _pump(self, side: Side) -> Side:
        """Read `side`'s frames until it closes; record, judge and pass each on before reading the next.
        Returns the side that is gone: `side` when it closed, the other when a frame could not reach it."""
        other: Side = "backend" if side == "charger" else "charger"
        source, target = self._ws(side), self._ws(other)
        direction = "rx" if side == "charger" else "tx"
        while True:
            frame: Frame | None = None
            try:
                data = await source.recv()
            except ConnectionClosed:
                return side
            if isinstance(data, bytes):
                self._note(side, "error", f"the {side} sent a binary websocket frame ({len(data)} bytes); OCPP-J uses "
                           "text frames only; relayed unchanged", data[:200].hex())
            else:
                msg = framing.read_frame(data)
                injected = (side == "charger" and msg.kind in ("result", "error")
                            and (msg.unique_id or "") in self._injected_ids)
                frame = self._record(direction, data, injected=injected)
                try:
                    self._judge(side, frame, msg)
                except Exception as e:   # chargespec's fault, not the sender's: relay on, and say so
                    self._fault(f"judging the {side}'s frame at t={frame.t:.3f} s", e, data)
                if injected:
                    continue   # the answer to an injected call: consumed here
            try:
                await target.send(data)
            except ConnectionClosed:   # the other side is gone: it never got this frame
                if frame is not None:
                    self.recorder.event("proxy.undelivered", station=self.station, direction=direction,
                                        unique_id=frame.unique_id, frame_t=frame.t, to=other)
                return other

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
        elif msg.kind in ("result", "error"):
            uid = msg.unique_id or ""
            if side == "charger" and uid in self._injected:
                action, fut = self._injected[uid]
                if not fut.done():
                    fut.set_result((frame, msg))
                self._check_response(side, action, frame, msg)
                return
            if side == "charger" and uid in self._injected_ids:   # the backend never sent this call
                self._note(side, "warning", f"the charger answered an injected call (message id {uid!r}) at "
                           f"t={frame.t:.3f} s after chargespec stopped waiting; consumed, not relayed", raw)
                return
            call = other.outstanding.pop(uid, None)
            if call is None:
                kind = "CALLRESULT" if msg.kind == "result" else "CALLERROR"
                self._note(side, "warning", f"the {side} sent a {kind} for message id {uid!r} at t={frame.t:.3f} s "
                           "that answers no outstanding call of the other side", raw)
            else:
                self._check_response(side, call[0], frame, msg)
        else:
            self._note(side, "error", f"the {side} sent a malformed frame at t={frame.t:.3f} s: {msg.problem}; "
                       "relayed unchanged", raw)

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

        OCPP-J allows one outstanding CALL per direction: the injection waits (up to half its budget) until
        the backend has no call awaiting the charger's answer (for at most IN_FLIGHT_S), so that it does not
        make the charger refuse the backend's call."""
        async with self._inject_lock:
            backend = self._sides["backend"]
            deadline = asyncio.get_running_loop().time() + timeout_real_s / 2
            def in_flight() -> bool:   # a call unanswered for longer than a message timeout is given up on
                return any(self.clock.now() - t < IN_FLIGHT_S for _, t in list(backend.outstanding.values()))
            while in_flight() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.005)
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
                    raise CsmsConnectionLost(f"{self.station}: connection closed before the injected {action} "
                                             "could be sent") from None
                try:
                    answer, msg = await asyncio.wait_for(asyncio.shield(fut), timeout_real_s)
                except TimeoutError:
                    raise CsmsTimeout(f"{self.station}: no answer to the injected {action} (message id {uid}) "
                                      f"within {self.clock.bench(timeout_real_s):.1f} s bench time") from None
            finally:
                self._injected.pop(uid, None)
        if msg.kind == "error":
            details = msg.payload if isinstance(msg.payload, dict) else None
            return CallOutcome(action, payload, None, msg.error_code, msg.description, t_sent, answer.t, details, uid)
        return CallOutcome(action, payload, msg.payload, None, None, t_sent, answer.t, None, uid)
