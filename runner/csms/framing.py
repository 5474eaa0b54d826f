"""OCPP-J framing: read one text frame into a typed message, or say exactly why it is not one.

The harness, not the `ocpp` library, decides what a broken frame deserves (Part 4 §4.2.3, table 8):
unreadable JSON -> FormatViolation; JSON that is not an RPC array or whose message id cannot be read ->
RpcFrameworkError (id "-1" when unreadable); an unknown message type number -> MessageTypeNotSupported.

    msg = read_frame('[2,"42","Heartbeat",{}]')      # Message(kind="call", unique_id="42", ...)
    bad = read_frame('{"oops"')                       # Message(kind="invalid", error_code="FormatViolation")
    call_error("-1", bad.error_code, bad.problem)     # '[4,"-1","FormatViolation","...",{}]'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from runner.recorder import Frame

CALL, CALLRESULT, CALLERROR = 2, 3, 4
MAX_ID_LENGTH = 36          # MessageId is string[36]
MAX_DESCRIPTION = 255       # ErrorDescription is string[255]

Kind = Literal["call", "result", "error", "invalid"]


@dataclass(frozen=True)
class Message:
    kind: Kind
    unique_id: str | None = None       # None when it could not be read
    action: str | None = None          # calls only
    payload: Any = None                # call/result payload; for errors the details object
    error_code: str | None = None      # errors: the code received; invalid: the code to answer with
    description: str = ""              # errors: the description received
    problem: str = ""                  # invalid: what is wrong, for people
    message_type: int | None = None

    @property
    def reply_id(self) -> str:
        """The id a CALLERROR about this frame must carry."""
        return self.unique_id if self.unique_id is not None else "-1"


def _invalid(code: str, problem: str, uid: str | None = None, mtype: int | None = None) -> Message:
    return Message("invalid", unique_id=uid, error_code=code, problem=problem, message_type=mtype)


def read_frame(raw: str) -> Message:
    """Classify one received text frame. Never raises."""
    try:
        msg = json.loads(raw)
    except (ValueError, TypeError) as e:
        return _invalid("FormatViolation", f"not valid JSON ({e})")
    except RecursionError:
        return _invalid("FormatViolation", "JSON nested too deep to read")
    if not isinstance(msg, list) or not msg:
        return _invalid("RpcFrameworkError", f"not an OCPP-J message array but a JSON {type(msg).__name__}")
    mtype = msg[0]
    if not isinstance(mtype, int) or isinstance(mtype, bool):
        return _invalid("RpcFrameworkError", f"message type {mtype!r} is not an integer")
    uid = msg[1] if len(msg) > 1 and isinstance(msg[1], str) else None
    if mtype not in (CALL, CALLRESULT, CALLERROR):
        return _invalid("MessageTypeNotSupported", f"message type {mtype} is not CALL (2), CALLRESULT (3) "
                        "or CALLERROR (4)", uid, mtype)
    if uid is None:
        return _invalid("RpcFrameworkError", "the message id (element 2) is missing or not a string",
                        None, mtype)
    if mtype == CALL:
        if len(msg) != 4:
            return _invalid("RpcFrameworkError", f"a CALL has 4 elements, not {len(msg)}", uid, mtype)
        if not isinstance(msg[2], str):
            return _invalid("RpcFrameworkError", f"the action {msg[2]!r} is not a string", uid, mtype)
        if not isinstance(msg[3], dict):
            return _invalid("FormatViolation", f"the payload of {msg[2]} is a JSON {type(msg[3]).__name__}, "
                            "not an object", uid, mtype)
        return Message("call", uid, msg[2], msg[3], message_type=mtype)
    if mtype == CALLRESULT:
        if len(msg) != 3 or not isinstance(msg[2], dict):
            return _invalid("RpcFrameworkError", "a CALLRESULT is [3, id, {payload}]", uid, mtype)
        return Message("result", uid, payload=msg[2], message_type=mtype)
    if len(msg) != 5 or not isinstance(msg[2], str) or not isinstance(msg[3], str):
        return _invalid("RpcFrameworkError", "a CALLERROR is [4, id, code, description, {details}]",
                        uid, mtype)
    return Message("error", uid, payload=msg[4], error_code=msg[2], description=msg[3], message_type=mtype)


def charger_call(frame: Frame) -> bool:
    """Whether a recorded frame is a CALL the charger sent, as OCPP-J reads one: a message id that is a string
    and a payload that is an object. `[2, 7, "Heartbeat", {}]` is none: the harness refused it
    (RpcFrameworkError, id "-1"), so no expectation, rule or signal may take it for a message that came."""
    return (frame.direction == "rx" and frame.message_type == CALL and isinstance(frame.unique_id, str)
            and isinstance(frame.payload, dict))


def _dump(msg: list[Any]) -> str:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False)


def call(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return _dump([CALL, unique_id, action, payload])


def call_result(unique_id: str, payload: dict[str, Any]) -> str:
    return _dump([CALLRESULT, unique_id, payload])


def call_error(unique_id: str, code: str, description: str, details: dict[str, Any] | None = None) -> str:
    return _dump([CALLERROR, unique_id, code, description[:MAX_DESCRIPTION], details or {}])
