"""What the harness answers to each charger-initiated call: configured per station by the spec.

Defaults make a healthy charger's life easy (boot Accepted every 300 s, every token Accepted). A spec
changes them between steps, from the test thread, while the bench loop reads them:

    r = harness.responses("CS1")
    r.boot("Pending", interval=10)
    r.block_tokens("DEADBEEF")
    r.inject_error("MeterValues", "InternalError", times=1)   # next MeterValues gets a CALLERROR
    answer = r.decide("Authorize", {"idToken": {"idToken": "DEADBEEF", "type": "ISO14443"}}, now_iso)
    answer.payload    # {"idTokenInfo": {"status": "Blocked"}}
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any, Literal

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
    """Either a CALLRESULT payload or a CALLERROR (code + description)."""
    payload: dict[str, Any] | None = None
    error_code: str | None = None
    error_description: str = ""


@dataclass(frozen=True)
class InjectedError:
    code: str
    description: str
    remaining: int | None  # None: until cleared


class Responses:
    """One station's configured answers. Thread-safe: set from the test thread, read on the bench loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._boot_status: BootStatus = "Accepted"
            self._boot_interval = 300
            self._accepted: set[str] = set()
            self._blocked: set[str] = set()
            self._errors: dict[str, InjectedError] = {}
            self._fixed: dict[str, dict[str, Any]] = {}

    # ---- configuring --------------------------------------------------------------------------

    def boot(self, status: BootStatus = "Accepted", interval: int = 300) -> None:
        if status not in ("Accepted", "Pending", "Rejected"):
            raise ValueError(f"BootNotification status must be Accepted, Pending or Rejected, not {status!r}")
        if interval < 0:
            raise ValueError(f"BootNotification interval must be >= 0 s, not {interval}")
        with self._lock:
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

    def decide(self, action: str, payload: dict[str, Any], now_iso: str) -> Answer:
        """The answer to one charger-initiated call. Consumes one injected error if there is one."""
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
