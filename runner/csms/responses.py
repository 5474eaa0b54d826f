"""What the harness answers to each charger-initiated call: configured per station by the spec.

Defaults make a healthy charger's life easy (boot Accepted every 300 s, every token Accepted). A spec
changes them between steps, from the test thread, while the bench loop reads them:

    r = harness.responses("CS1")
    r.boot("Pending", interval=10)
    r.block_tokens("DEADBEEF")
    r.inject_error("MeterValues", "InternalError", times=1)   # next MeterValues gets a CALLERROR
    answer = r.decide("Authorize", {"idToken": {"idToken": "DEADBEEF", "type": "ISO14443"}}, now_iso)
    answer.payload    # {"idTokenInfo": {"status": "Blocked"}}

Answer rules (`csms answers the 2nd TransactionEvent {eventType: "Ended"} with error InternalError once`)
scope an answer to the Nth call of an action and/or to calls matching a message pattern, for a count or
until `reset()`. A rule answers with a CALLERROR, with a payload merged into the default answer, late
(after a bench delay; the session still answers by the call's message id) or not at all:

    r.add_rule(AnswerRule("Authorize", text="csms does not answer Authorize once", silent=True, count=1))

Each matching call counts for every rule it matches (a rule's `nth` counts the calls it matched since it
was set); of the rules that apply to a call, the newest answers it, and `Answer.rule` names it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from runner.csms.expect import matches

BootStatus = Literal["Accepted", "Pending", "Rejected"]

ERROR_CODES = frozenset({
    "FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented",
    "NotSupported", "OccurrenceConstraintViolation", "PropertyConstraintViolation", "ProtocolError",
    "RpcFrameworkError", "SecurityError", "TypeConstraintViolation",
})

# A minimal schema-valid answer for each charger-initiated action the harness has no opinion on.
# Statuses that would commit the CSMS to a follow-up (certificates, 15118) answer the safe "no".
_MINIMAL: dict[str, dict[str, Any]] = {
    **{action: {} for action in (
        "ClearedChargingLimit", "FirmwareStatusNotification", "LogStatusNotification", "MeterValues",
        "NotifyChargingLimit", "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEvent",
        "NotifyMonitoringReport", "NotifyReport", "PublishFirmwareStatusNotification",
        "ReportChargingProfiles", "ReservationStatusUpdate", "SecurityEventNotification",
        "StatusNotification")},
    "DataTransfer": {"status": "UnknownVendorId"},
    "Get15118EVCertificate": {"status": "Failed", "exiResponse": ""},
    "GetCertificateStatus": {"status": "Failed"},
    "NotifyEVChargingNeeds": {"status": "Accepted"},
    "NotifyEVChargingSchedule": {"status": "Accepted"},
    "SignCertificate": {"status": "Rejected"},
}


@dataclass(frozen=True)
class Answer:
    """Either a CALLRESULT payload or a CALLERROR (code + description); `silent`: no answer at all;
    `delay_s`: sent this many bench seconds late; `rule`: the answer rule that decided it (its spec text)."""
    payload: dict[str, Any] | None = None
    error_code: str | None = None
    error_description: str = ""
    silent: bool = False
    delay_s: float = 0.0
    rule: str | None = None


@dataclass(frozen=True)
class AnswerRule:
    """How to answer some calls of one action. `match`: a message pattern (runner.csms.expect.matches) the
    call's payload must match; `nth`: only from the nth call (of those matched) since the rule was set;
    `count`: for that many calls, None until reset. The answer: `silent` (none), else `error_code`, else
    the default answer with `payload` merged into it; `delay_s` bench seconds late."""
    action: str
    text: str = ""
    match: Mapping[str, Any] | None = None
    nth: int | None = None
    count: int | None = None
    error_code: str | None = None
    error_description: str = ""
    payload: Mapping[str, Any] | None = None
    silent: bool = False
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.error_code is not None and self.error_code not in ERROR_CODES:
            raise ValueError(f"unknown OCPP-J error code {self.error_code!r}; use one of {sorted(ERROR_CODES)}")
        for name in ("nth", "count"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None), not {value}")
        if self.delay_s < 0:
            raise ValueError(f"an answer cannot come {self.delay_s} s early")
        if self.silent and (self.error_code or self.payload or self.delay_s):
            raise ValueError("a call that is not answered has no error, payload or delay")


@dataclass
class _RuleState:
    rule: AnswerRule
    seen: int = 0                      # calls matched since the rule was set
    used: int = 0                      # calls it answered
    order: int = 0                     # when it was set (newest wins)

    @property
    def spent(self) -> bool:
        return self.rule.count is not None and self.used >= self.rule.count


def _merged(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it, objects merged key by key (the answer a rule's payload makes)."""
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = _merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


@dataclass(frozen=True)
class InjectedError:
    code: str
    description: str
    remaining: int | None  # None: until cleared


class Responses:
    """One station's configured answers. Thread-safe: set from the test thread, read on the bench loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0  # counts resets: a late answer due after one belongs to a finished scenario
        self.reset()

    def reset(self) -> None:
        """Back to the defaults (the return to idle): every rule and error gone, late answers still due
        dropped (see `generation`)."""
        with self._lock:
            self.generation += 1
            self._boot_status: BootStatus = "Accepted"
            self._boot_interval = 300
            # (bench time of the last change, the answer before it): a boot that arrived before a change is
            # answered as configured when it arrived (see `boot`)
            self._boot_before: tuple[float, BootStatus, int] | None = None
            self._accepted: set[str] = set()
            self._blocked: set[str] = set()
            self._errors: dict[str, InjectedError] = {}
            self._fixed: dict[str, dict[str, Any]] = {}
            self._rules: list[_RuleState] = []
            self._order = 0

    # ---- configuring --------------------------------------------------------------------------

    def boot(self, status: BootStatus = "Accepted", interval: int = 300, since_t: float | None = None) -> None:
        """How BootNotifications are answered from bench time `since_t` on (from now, when not given). A boot
        that arrived before `since_t` and is answered after it (it was in flight while the spec changed the
        answer) gets the answer in force when it arrived: the judge does not count a message that came before
        the statement (`expect … charger sends BootNotification` looks since it), so the harness must not
        accept the charger on that message either, or the charger, accepted, would send no boot to count."""
        if status not in ("Accepted", "Pending", "Rejected"):
            raise ValueError(f"BootNotification status must be Accepted, Pending or Rejected, not {status!r}")
        if interval < 0:
            raise ValueError(f"BootNotification interval must be >= 0 s, not {interval}")
        with self._lock:
            if since_t is not None:
                self._boot_before = (since_t, self._boot_status, self._boot_interval)
            self._boot_status, self._boot_interval = status, int(interval)

    def accept_tokens(self, *tokens: str) -> None:
        """Only these tokens (and others added later) are Accepted; unknown ones become Invalid."""
        with self._lock:
            self._accepted.update(tokens)
            self._blocked.difference_update(tokens)

    def block_tokens(self, *tokens: str) -> None:
        with self._lock:
            self._blocked.update(tokens)
            self._accepted.difference_update(tokens)

    def inject_error(self, action: str, code: str = "InternalError", description: str = "",
                     times: int | None = 1) -> None:
        """Answer the next `times` calls of `action` (None: all, until cleared) with a CALLERROR."""
        if code not in ERROR_CODES:
            raise ValueError(f"unknown OCPP-J error code {code!r}; use one of {sorted(ERROR_CODES)}")
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 (or None for always), not {times}")
        with self._lock:
            text = description or f"injected by the test harness ({code})"
            self._errors[action] = InjectedError(code, text, times)

    def clear_errors(self, action: str | None = None) -> None:
        with self._lock:
            if action is None:
                self._errors.clear()
            else:
                self._errors.pop(action, None)

    def fixed(self, action: str, payload: dict[str, Any] | None) -> None:
        """Always answer `action` with this payload (None: back to the default answer)."""
        with self._lock:
            if payload is None:
                self._fixed.pop(action, None)
            else:
                self._fixed[action] = copy.deepcopy(payload)

    def add_rule(self, rule: AnswerRule) -> None:
        """Answer the calls the rule selects as it says (newer rules take precedence), until reset()."""
        with self._lock:
            self._order += 1
            self._rules.append(_RuleState(rule, order=self._order))

    def rules(self) -> list[AnswerRule]:
        """The rules still in force (a rule answering a count of calls ends when it has)."""
        with self._lock:
            return [r.rule for r in self._rules if not r.spent]

    @property
    def boot_status(self) -> BootStatus:
        return self._boot_status

    @property
    def boot_interval(self) -> int:
        return self._boot_interval

    # ---- deciding -----------------------------------------------------------------------------

    def token_status(self, token: str | None) -> str:
        with self._lock:
            if token in self._blocked:
                return "Blocked"
            if self._accepted and token not in self._accepted:
                return "Invalid"
            return "Accepted"

    def decide(self, action: str, payload: dict[str, Any], now_iso: str, arrived_t: float | None = None) -> Answer:
        """The answer to one charger-initiated call (that arrived at bench time `arrived_t`, if known).
        Consumes one use of the answer rule (or injected error) that decides it, if one does."""
        rule = self._apply_rules(action, payload)
        if rule is not None:
            if rule.silent:
                return Answer(silent=True, rule=rule.text)
            if rule.error_code is not None:
                text = rule.error_description or f"answered by the spec: {rule.text or rule.error_code}"
                return Answer(error_code=rule.error_code, error_description=text, delay_s=rule.delay_s,
                              rule=rule.text)
            base = self._default(action, payload, now_iso, arrived_t)
            if base.error_code is None and rule.payload:
                base = Answer(_merged(base.payload or {}, rule.payload))
            return Answer(base.payload, base.error_code, base.error_description, delay_s=rule.delay_s,
                          rule=rule.text)
        return self._default(action, payload, now_iso, arrived_t)

    def _apply_rules(self, action: str, payload: dict[str, Any]) -> AnswerRule | None:
        """Count the call for every rule it matches; the newest rule that applies to it, used once."""
        with self._lock:
            chosen: _RuleState | None = None
            for state in self._rules:
                rule = state.rule
                if rule.action != action or state.spent:
                    continue
                if rule.match is not None and not matches(payload, rule.match):
                    continue
                state.seen += 1
                if state.seen >= (rule.nth or 1) and (chosen is None or state.order > chosen.order):
                    chosen = state
            if chosen is None:
                return None
            chosen.used += 1
            return chosen.rule

    def _default(self, action: str, payload: dict[str, Any], now_iso: str, arrived_t: float | None = None) -> Answer:
        with self._lock:
            err = self._errors.get(action)
            if err is not None:
                if err.remaining is not None:
                    if err.remaining <= 1:
                        del self._errors[action]
                    else:
                        self._errors[action] = InjectedError(err.code, err.description, err.remaining - 1)
                return Answer(error_code=err.code, error_description=err.description)
            fixed = self._fixed.get(action)
            if fixed is not None:
                return Answer(copy.deepcopy(fixed))
            boot = (self._boot_status, self._boot_interval)
            if self._boot_before is not None and arrived_t is not None and arrived_t < self._boot_before[0]:
                boot = self._boot_before[1:]
        if action == "BootNotification":
            return Answer({"currentTime": now_iso, "interval": boot[1], "status": boot[0]})
        if action == "Heartbeat":
            return Answer({"currentTime": now_iso})
        if action in ("Authorize", "TransactionEvent"):
            id_token = payload.get("idToken")
            if isinstance(id_token, dict):
                return Answer({"idTokenInfo": {"status": self.token_status(id_token.get("idToken"))}})
            if action == "Authorize":  # idTokenInfo is required; a request without a token earns Invalid
                return Answer({"idTokenInfo": {"status": "Invalid"}})
            return Answer({})
        if action in _MINIMAL:
            return Answer(copy.deepcopy(_MINIMAL[action]))
        return Answer(error_code="NotSupported",
                      error_description=f"{action} is not a charger-initiated OCPP 2.0.1 action")
