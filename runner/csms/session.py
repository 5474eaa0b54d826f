"""One charger's websocket connection: every frame recorded, judged, then answered.

Each received text frame is recorded exactly as it arrived, then read by `framing`: broken frames,
unknown actions, schema violations (strict mode) and duplicate ids are answered and recorded here; a
well-formed charger call is answered with what `Responses` decides for it (receiving and recording are
kept apart from deciding the answer, for a future relaying proxy). CALLRESULT/CALLERROR frames resolve
the harness's own outstanding call, so the charger's answer is seen exactly as sent. Every sent frame
is recorded before it is written. The `ocpp` library is not in this path: it would parse each frame a
second time and convert every payload to snake_case and back, for answers the harness decides anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, PayloadTooBig

from instruments.clock import Clock, iso_utc
from runner.csms import framing
from runner.csms.actions import ALL_ACTIONS, CHARGER_TO_CSMS
from runner.csms.errors import CsmsBenchFault, CsmsConnectionLost, CsmsError, CsmsTimeout
from runner.csms.responses import Answer, Responses
from runner.csms.schemas import UnknownSchema, validate
from runner.csms.waiting import within
from runner.recorder import Frame, Recorder, finding_station

# Message ids remembered per connection to catch a reused one: a charger reusing an id reuses a recent one
# (a counter that wrapped, a retry); remembering every id of a week-long connection would grow without end.
SEEN_IDS = 1000
MESSAGE_TOO_BIG = 1009


@dataclass(frozen=True)
class CallOutcome:
    """What became of one CSMS-initiated call. A CALLERROR is an outcome, not an exception."""
    action: str
    request: dict[str, Any]
    response: dict[str, Any] | None
    error_code: str | None
    error_description: str | None
    t_sent: float
    t_answered: float | None
    error_details: dict[str, Any] | None = None
    unique_id: str = ""

    @property
    def ok(self) -> bool:
        return self.response is not None and self.error_code is None


class StationSession:
    def __init__(self, station: str, ws: ServerConnection, *, recorder: Recorder, clock: Clock,
                 responses: Responses, strict: bool, on_frame: Callable[[Frame], None]) -> None:
        self.station = station
        self.ws = ws
        self.recorder = recorder
        self.clock = clock
        self.responses = responses
        self.strict = strict
        self._on_frame = on_frame
        self._pending: dict[str, tuple[str, asyncio.Future[tuple[Frame, framing.Message]]]] = {}
        self._unchecked: set[str] = set()        # ids of outstanding calls sent with validate=False
        self._seen_ids: set[str] = set()         # the last SEEN_IDS call ids, oldest first in _seen_order
        self._seen_order: deque[str] = deque()
        self._csms_call_lock = asyncio.Lock()    # OCPP-J: one outstanding CALL per direction
        # What became of the harness's recent calls (message id -> "Reset, answered at t=…"), to name a
        # second or late answer; bounded like _seen_ids.
        self._settled: dict[str, str] = {}
        self._late: set[asyncio.Task[None]] = set()  # answers a rule delays (see _answer)
        # Charger CALLs whose answer a rule delays or withholds: message id -> (action, bench t, rule)
        self._withheld: dict[str, tuple[str, float, str | None]] = {}
        # When the charger did not close the connection itself: the bench cut it (`csms drops the connection`), or
        # the harness closed it on a fault of its own (the fault's text). A call left unanswered is then the bench's.
        self.cut_by_bench = False
        self.fault: str | None = None

    @property
    def severity(self) -> str:
        return "error" if self.strict else "warning"

    # ---- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes. Never raises for anything the charger sends."""
        try:
            await self._receive()
        except ConnectionClosed as e:
            self._note_oversize(e)
        except Exception as e:  # a harness fault must be recorded, not kill the bench loop
            self.fault = f"{type(e).__name__}: {e}"
            self._note("error", f"CSMS harness fault while serving the connection: {type(e).__name__}: {e}; "
                       "connection closed (code 1011)", side="chargespec")
            with contextlib.suppress(Exception):
                await self.ws.close(1011, "CSMS harness fault")
        finally:
            self._fail_pending()
            for task in list(self._late):
                task.cancel()

    @property
    def close_code(self) -> int | None:
        """The code the connection closed with: the one the harness sent when it closed first (1009 for an
        oversize frame), else the charger's; websockets reports 1006 when the charger never answered."""
        sent = self.ws.protocol.close_sent
        if sent is not None and self.ws.protocol.close_rcvd is None:
            return int(sent.code)
        return self.ws.close_code

    @property
    def close_reason(self) -> str:
        sent = self.ws.protocol.close_sent
        if sent is not None and self.ws.protocol.close_rcvd is None:
            return sent.reason
        return self.ws.close_reason or ""

    def _note_oversize(self, closed: ConnectionClosed) -> None:
        """websockets refuses a frame over max_size and closes with 1009; say which charger and how big."""
        cause = closed.__cause__ or self.ws.protocol.parser_exc
        too_big = cause if isinstance(cause, PayloadTooBig) else None
        sent = closed.sent
        if too_big is None and (sent is None or sent.code != MESSAGE_TOO_BIG):
            return
        # A compressed frame (permessage-deflate) is refused while inflating: its full size is unknown.
        size = getattr(too_big, "size", None)
        size_text = f" of {size} bytes," if size is not None else ""
        protocol = self.ws.protocol   # websockets 15+ names the limit max_message_size, 14 max_size
        limit = getattr(protocol, "max_message_size", None) or getattr(protocol, "max_size", None)
        self._note("error", f"sent a frame{size_text} over the harness's limit of {limit} bytes (bench file "
                   f"[csms] max_frame_bytes); connection closed with 1009 (message too big)")

    def _note(self, severity: str, text: str, raw: str | None = None, *, side: str = "charger") -> None:
        """A finding about the charger's traffic; `side="chargespec"`: a fault of the harness's own (filed apart:
        the scenario is broken, never the charger's failure; runner/execute.py own_faults)."""
        self.recorder.finding(severity, f"{self.station}: {text}", station=finding_station(self.station, side),  # type: ignore[arg-type]
                              raw=raw)

    def _settle(self, uid: str, fate: str) -> None:
        self._settled[uid] = fate
        if len(self._settled) > SEEN_IDS:
            del self._settled[next(iter(self._settled))]

    def _fail_pending(self) -> None:
        code = self.ws.close_code
        for uid, (action, fut) in list(self._pending.items()):
            if not fut.done():
                fut.set_exception(self._closed_error(f"connection closed (code {code}) before the charger answered "
                                                     f"{action} (message id {uid})"))
        self._pending.clear()

    def _closed_error(self, what: str) -> CsmsError:
        """The connection closed before a call was answered (`what`): the charger's failure only when the
        bench neither cut it nor closed it on a fault of the harness's own."""
        if self.fault is not None:
            return CsmsBenchFault(f"{self.station}: {what}: the CSMS harness closed it after a fault of its own "
                                  f"({self.fault}); not the charger's failure")
        if self.cut_by_bench:
            return CsmsBenchFault(f"{self.station}: {what}: the bench cut it (`csms drops the connection`); not "
                                  "the charger's failure")
        return CsmsConnectionLost(f"{self.station}: {what}")

    def abort(self, *, by_bench: bool = False) -> None:
        """Cut the TCP connection without a closing handshake, as a network loss would. `by_bench`: a network
        fault the spec asked for (a charger that reconnects over its old connection is not one)."""
        self.cut_by_bench = self.cut_by_bench or by_bench
        self.ws.transport.abort()

    # ---- receiving ----------------------------------------------------------------------------

    def _record(self, direction: str, raw: str) -> Frame:
        frame = self.recorder.frame(station=self.station, direction=direction, raw=raw)  # type: ignore[arg-type]
        self._on_frame(frame)
        return frame

    async def _receive(self) -> None:
        """Read, record and act on frames until the connection closes (ConnectionClosed)."""
        while True:
            data = await self.ws.recv()
            if isinstance(data, bytes):
                self._note("error", f"received a binary websocket frame ({len(data)} bytes); OCPP-J uses "
                           "text frames only; ignored", data[:200].hex())
                continue
            frame = self._record("rx", data)
            msg = framing.read_frame(data)
            if msg.kind == "call":
                self._note_overlap(frame, msg)
                if await self._admit_call(frame, msg):
                    await self._answer(msg.unique_id or "-1", msg.action or "", msg.payload, frame.t)
            elif msg.kind in ("result", "error"):
                self._deliver_answer(frame, msg)
            else:
                await self._reject_invalid(frame, msg)

    async def _reject_invalid(self, frame: Frame, msg: framing.Message) -> None:
        answered = msg.message_type not in (framing.CALLRESULT, framing.CALLERROR)
        self._note("error", f"malformed frame from the charger at t={frame.t:.3f} s: {msg.problem}; "
                   + (f"answered CALLERROR {msg.error_code}" if answered else "ignored (it is not a call)"),
                   frame.raw)
        if answered:
            await self.send_raw(framing.call_error(msg.reply_id, msg.error_code or "RpcFrameworkError",
                                                   msg.problem))

    def _note_overlap(self, frame: Frame, msg: framing.Message) -> None:
        """OCPP-J §4.1.1: a charger sends a CALL only when each earlier one is answered or timed out. The
        harness cannot know the charger's timeout, so a CALL that comes while an answer a rule delays or
        withholds is still due is evidence (info), noted once per withheld call."""
        for uid, (action, t, rule) in list(self._withheld.items()):
            self._note("info", f"{msg.action} request (message id {msg.unique_id!r}) at t={frame.t:.3f} s came while "
                       f"its {action} (message id {uid!r}, t={t:.3f} s) had no answer for {frame.t - t:.3f} s "
                       f"({rule}); OCPP-J §4.1.1 allows a new CALL only once the earlier one timed out on the "
                       "charger", frame.raw)
        self._withheld.clear()

    async def _admit_call(self, frame: Frame, msg: framing.Message) -> bool:
        """Record what is wrong with a charger CALL; answer it here (False) or let the library route it."""
        uid, action = msg.unique_id or "-1", msg.action or ""
        where = f"{action} request (message id {uid!r}) at t={frame.t:.3f} s"
        if len(uid) > framing.MAX_ID_LENGTH:
            self._note(self.severity, f"{where}: message id is {len(uid)} characters, OCPP-J allows "
                       f"{framing.MAX_ID_LENGTH}", frame.raw)
        if uid in self._seen_ids:
            self._note(self.severity, f"{where}: message id reused; OCPP-J requires a new id for every CALL "
                       "on a connection", frame.raw)
        else:
            self._seen_ids.add(uid)
            self._seen_order.append(uid)
            if len(self._seen_order) > SEEN_IDS:
                self._seen_ids.discard(self._seen_order.popleft())
        if action not in ALL_ACTIONS:
            self._note("error", f"{where}: {action!r} is not an OCPP 2.0.1 action; answered NotImplemented",
                       frame.raw)
            await self.send_raw(framing.call_error(uid, "NotImplemented", f"unknown action {action!r}"))
            return False
        if action not in CHARGER_TO_CSMS:
            self._note("error", f"{where}: {action} is sent by a CSMS, not by a charging station; answered "
                       "NotSupported", frame.raw)
            await self.send_raw(framing.call_error(uid, "NotSupported",
                                                   f"{action} is not a charger-initiated action"))
            return False
        problems = validate(action, "request", msg.payload)
        if problems:
            reaction = (f"answered CALLERROR {problems[0].code}" if self.strict
                        else "answered anyway (lenient)")
            self._note(self.severity, f"{where} violates the OCPP 2.0.1 schema: "
                       + "; ".join(p.message for p in problems) + f"; {reaction}", frame.raw)
            if self.strict:
                await self.send_raw(framing.call_error(uid, problems[0].code, problems[0].message))
                return False
        return True

    def _deliver_answer(self, frame: Frame, msg: framing.Message) -> None:
        """Settle the outstanding call this answer names: the first answer settles it (OCPP-J §4.1.4), so
        a second one with the same id is a finding even when it is read before the caller resumes."""
        uid = msg.unique_id or ""
        pending = self._pending.pop(uid, None)
        if pending is None:
            kind = "CALLRESULT" if msg.kind == "result" else "CALLERROR"
            fate = self._settled.get(uid)
            why = (f"the call ({fate}) was settled already" if fate is not None
                   else "late, after a timeout, or never sent")
            self._note("warning", f"{kind} for message id {uid!r} at t={frame.t:.3f} s answers no "
                       f"outstanding call ({why}); not counted as its answer", frame.raw)
            return
        action, fut = pending
        self._settle(uid, f"{action}, answered at t={frame.t:.3f} s")
        if msg.kind == "result" and uid not in self._unchecked:
            problems = validate(action, "response", msg.payload)
            if problems:
                self._note(self.severity, f"{action} response (message id {uid!r}) at t={frame.t:.3f} s "
                           "violates the OCPP 2.0.1 schema: " + "; ".join(p.message for p in problems),
                           frame.raw)
        if not fut.done():
            fut.set_result((frame, msg))

    async def _answer(self, uid: str, action: str, payload: dict[str, Any], t: float) -> None:
        """Answer one admitted charger CALL as `Responses` decides (one at a time, in arrival order)."""
        try:
            answer = self.responses.decide(action, payload, iso_utc(self.clock.wall()), arrived_t=t)
        except Exception as e:  # a fault in the configured answers is the harness's, not the charger's
            self._note("error", f"CSMS harness fault deciding the answer to {action} (message id {uid!r}): "
                       f"{type(e).__name__}: {e}; answered CALLERROR InternalError", side="chargespec")
            await self.send_raw(framing.call_error(uid, "InternalError", "CSMS harness fault"))
            return
        if answer.rule is not None:
            self._record_rule(uid, action, answer)
        if answer.silent or answer.delay_s > 0:
            self._withheld[uid] = (action, t, answer.rule)
        if answer.silent:
            self._note("info", f"{action} (message id {uid!r}) not answered, as the spec configured: "
                       f"{answer.rule}")
            return
        if answer.delay_s > 0:
            # Late, by the call's own message id; the receive loop goes on meanwhile (the charger may send
            # other calls, or give up and retry, before the answer comes).
            task = asyncio.get_running_loop().create_task(
                self._answer_late(uid, action, answer, self.responses.generation))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            return
        await self._send_answer(uid, answer)

    async def _send_answer(self, uid: str, answer: Answer) -> None:
        self._withheld.pop(uid, None)
        if answer.error_code is not None:
            await self.send_raw(framing.call_error(uid, answer.error_code, answer.error_description))
        else:
            await self.send_raw(framing.call_result(uid, answer.payload or {}))

    async def _answer_late(self, uid: str, action: str, answer: Answer, generation: int) -> None:
        try:
            await self.clock.asleep(answer.delay_s)
            if self.responses.generation != generation:  # the scenario that asked for it has ended
                self._note("info", f"the late answer to {action} (message id {uid!r}) was dropped: the answers "
                           f"were reset (return to idle) before it was due ({answer.rule})")
                return
            await self._send_answer(uid, answer)
        except (ConnectionClosed, asyncio.CancelledError):
            self._note("info", f"the late answer to {action} (message id {uid!r}) was not sent: the connection "
                       f"closed first ({answer.rule})")

    def _record_rule(self, uid: str, action: str, answer: Answer) -> None:
        """Evidence of which configured rule decided this call's answer (the default answers go unrecorded)."""
        outcome = ("no answer" if answer.silent else f"CALLERROR {answer.error_code}" if answer.error_code
                   else "CALLRESULT")
        self.recorder.event("csms_answer_rule", station=self.station, unique_id=uid, action=action,
                            rule=answer.rule, answer=outcome, delay_s=answer.delay_s)

    # ---- sending ------------------------------------------------------------------------------

    async def send_raw(self, raw: str) -> None:
        """Record, check and send one text frame. Raises ConnectionClosed if the charger is gone."""
        frame = self._record("tx", raw)
        self._check_outgoing(frame)
        await self.ws.send(raw)

    def _check_outgoing(self, frame: Frame) -> None:
        if frame.message_type == framing.CALL:
            kind = "request"
        elif frame.message_type == framing.CALLRESULT:
            kind = "response"
        else:
            return
        uid, action = frame.unique_id or "", frame.action
        if action is None:
            return
        try:
            problems = validate(action, kind, frame.payload)  # type: ignore[arg-type]
        except UnknownSchema:
            problems = []
            self._note("info" if uid in self._unchecked else self.severity,
                       f"the harness sent {action!r}, which has no OCPP 2.0.1 schema", frame.raw)
        if problems:
            self._note("info" if uid in self._unchecked else self.severity,
                       f"{action} {kind} sent by the harness (message id {uid!r}) violates the OCPP 2.0.1 "
                       "schema: " + "; ".join(p.message for p in problems), frame.raw)

    async def request(self, action: str, payload: dict[str, Any], timeout_real_s: float, *,
                      validate_request: bool = True) -> CallOutcome:
        """Send a CSMS-initiated CALL and wait for its CALLRESULT or CALLERROR."""
        async with self._csms_call_lock:
            uid = str(uuid.uuid4())
            fut: asyncio.Future[tuple[Frame, framing.Message]] = asyncio.get_running_loop().create_future()
            self._pending[uid] = (action, fut)
            if not validate_request:
                self._unchecked.add(uid)
            t_sent = self.clock.now()
            try:
                try:
                    await self.send_raw(framing.call(uid, action, payload))
                except ConnectionClosed as e:
                    code = e.rcvd.code if e.rcvd else None
                    raise self._closed_error(f"connection closed (code {code}) before {action} could be "
                                             "sent") from None
                try:
                    frame, msg = await within(asyncio.shield(fut), timeout_real_s,
                                              f"{self.station}: waiting for the answer to {action} (message id {uid})")
                except TimeoutError:  # (a deadline the stalled loop reached late: CsmsBenchFault, from `within`)
                    raise CsmsTimeout(
                        f"{self.station}: no answer to {action} (message id {uid}) within "
                        f"{self.clock.bench(timeout_real_s):.1f} s bench time; the charger may be busy, "
                        "offline or ignoring the call") from None
            finally:
                if self._pending.pop(uid, None) is not None:
                    self._settle(uid, f"{action}, given up at t={self.clock.now():.3f} s")
                self._unchecked.discard(uid)   # a late answer is reported as answering no call anyway
            if msg.kind == "error":
                details = msg.payload if isinstance(msg.payload, dict) else None
                return CallOutcome(action, payload, None, msg.error_code, msg.description, t_sent, frame.t,
                                   details, uid)
            return CallOutcome(action, payload, msg.payload, None, None, t_sent, frame.t, None, uid)
