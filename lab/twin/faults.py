"""Fault knobs: the ways the virtual charger misbehaves, each one a real-world failure a spec guards against.

Every knob has a healthy default; a twin built with ``Faults()`` is a well-behaved charger. Knobs come
from the bench file (``[twin.faults]``) and the command line (``--fault NAME=VALUE``), as strings or as
typed TOML values:

    faults = parse_faults({"meter_gain": "1.03", "ignore_profiles": True})
    faults.meter_gain        # 1.03

docs/twin.md describes what each knob does to the charger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


class FaultError(ValueError):
    """A fault knob that does not exist, or a value it cannot take. The message lists the valid knobs."""


@dataclass(frozen=True)
class Faults:
    meter_gain: float = 1.0  # charger energy/power register = true x gain (1.03 -> +3 %)
    meter_offset_wh: float = 0.0  # phantom Wh the register gains at each transaction start
    meter_multiplier_bug: bool = False  # energy sent in Wh but labelled kWh (the classic unit mix-up)
    limit_delay_s: float = 0.0  # bench seconds before a new limit reaches the pilot
    ignore_profiles: bool = False  # accept charging profiles, never apply them to the pilot
    stack_level_bug: bool = False  # lowest stackLevel wins instead of the highest
    offline_drop: bool = False  # transaction events raised while offline are lost, not replayed
    offline_unflagged: bool = False  # replayed events lack offline=true
    seqno_gap: bool = False  # seqNo skips one value after the first Updated event
    clock_skew_s: float = 0.0  # charger timestamps are off by this many seconds
    schema_violation: bool = False  # meter values sent as strings (violates the 2.0.1 schema)
    reboot_loses_tx: bool = False  # a reset ends the transaction without a TransactionEvent Ended
    status_stuck: bool = False  # connector status stays Available when an EV plugs in
    firmware_version: str = ""  # firmware reported at boot instead of the bench's ('' = the bench's)
    no_retry_after_callerror: bool = False  # a TransactionEvent answered with a CALLERROR is dropped, not retried
    energy_to_blocked_token: bool = False  # idTokenInfo Blocked/Invalid in a TransactionEvent reply is ignored
    no_security_event: bool = False  # no SecurityEventNotification (StartupOfTheDevice / ResetOrReboot) at boot
    offline_queue_limit: int = 0  # transaction events kept while offline (0: no limit); the rest are lost
    readonly_writable: bool = False  # SetVariables accepts and stores ReadOnly variables (e.g. MessageTimeout)
    station_max_ignored: bool = False  # ChargingStationMaxProfile accepted, never applied: EVSEs take their own caps
    unfair_allocation: bool = False  # EVSEs take the station cap in number order; a later one starves below 6 A
    external_constraint_ignored: bool = False  # the EMS's site limit is reported (NotifyChargingLimit), not applied
    no_fallback_on_ems_loss: bool = False  # EMS watchdog expired: no limit at all instead of the fallback
    no_notify_charging_limit: bool = False  # the EMS's limit is applied but never reported to the CSMS
    schedule_boundary_late_s: float = 0.0  # each schedule period change reaches the pilot this many s late


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Range:
    """The values a numeric knob can take, with why (the message of a value outside them says it)."""

    low: float
    high: float
    low_open: bool = False  # the low end itself is excluded
    why: str = ""

    def check(self, value: float) -> str | None:
        """None when `value` is inside, else the reason it is not."""
        if value < self.low or (self.low_open and value == self.low) or value > self.high:
            low = f"greater than {_num(self.low)}" if self.low_open else f"at least {_num(self.low)}"
            return f"must be {low} and at most {_num(self.high)}" + (f" ({self.why})" if self.why else "")
        return None

    def __str__(self) -> str:
        return f"{'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}]"


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


# Every numeric knob has a range: a value outside is refused before a run starts, not found as odd physics.
RANGES: dict[str, Range] = {
    "meter_gain": Range(0.0, 10.0, low_open=True, why="a ratio; 1 is healthy"),
    "meter_offset_wh": Range(-1e6, 1e6, why="Wh per transaction start"),
    "limit_delay_s": Range(0.0, 86400.0, why="bench seconds, up to a day"),
    "schedule_boundary_late_s": Range(0.0, 86400.0, why="bench seconds, up to a day"),
    "clock_skew_s": Range(-31_536_000.0, 31_536_000.0, why="seconds, up to a year either way"),
    "offline_queue_limit": Range(0, 100_000, why="transaction events; 0 means no limit"),
}
# Text knobs' longest value (firmwareVersion is string[0..50] in OCPP 2.0.1 BootNotification).
MAX_TEXT = {"firmware_version": 50}


def _type_name(t: Any) -> str:
    return {float: "number", int: "whole number", bool: "true/false", str: "text"}[t]


def _field_types() -> dict[str, type]:
    hints = {"float": float, "int": int, "bool": bool, "str": str}
    return {f.name: hints[f.type] if isinstance(f.type, str) else f.type for f in fields(Faults)}


def valid_knobs() -> str:
    """One line per knob: name, type and healthy default, for error messages and `--help`."""
    healthy = Faults()
    return "\n".join(
        f"  {name} ({_type_name(t)}{' in ' + str(RANGES[name]) if name in RANGES else ''}, "
        f"healthy {getattr(healthy, name)!r})" for name, t in _field_types().items()
    )


def _coerce(name: str, t: type, raw: Any) -> Any:
    if t is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise FaultError(f"fault {name}={raw!r}: expected true or false")
    if t is float:
        if isinstance(raw, bool):
            raise FaultError(f"fault {name}={raw!r}: expected a number")
        try:
            value = float(raw.strip()) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError):
            raise FaultError(f"fault {name}={raw!r}: expected a number, e.g. {name}=1.5") from None
        if not math.isfinite(value):
            raise FaultError(f"fault {name}={raw!r}: must be a finite number")
        problem = RANGES[name].check(value) if name in RANGES else None
        if problem:
            raise FaultError(f"fault {name}={raw!r}: {problem}")
        return value
    if t is int:
        if isinstance(raw, bool) or (isinstance(raw, float) and raw != int(raw)):
            raise FaultError(f"fault {name}={raw!r}: expected a whole number")
        try:
            whole = int(raw.strip()) if isinstance(raw, str) else int(raw)
        except (TypeError, ValueError):
            raise FaultError(f"fault {name}={raw!r}: expected a whole number, e.g. {name}=5") from None
        problem = RANGES[name].check(whole) if name in RANGES else None
        if problem:
            raise FaultError(f"fault {name}={raw!r}: {problem}")
        return whole
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise FaultError(f"fault {name}={raw!r}: expected text")
    text = str(raw)
    if len(text) > MAX_TEXT.get(name, len(text)):
        raise FaultError(f"fault {name}={raw!r}: at most {MAX_TEXT[name]} characters")
    return text


def fault_problems(mapping: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Every knob of `mapping` that does not exist or cannot take its value: (knob, reason), in order.

    The bench-file check reports each against its key (``twin.faults.<knob>``); :func:`parse_faults`
    raises the first.
    """
    types = _field_types()
    out: list[tuple[str, str]] = []
    for name, raw in (mapping or {}).items():
        key = str(name).strip()
        if key not in types:
            out.append((key, f"unknown twin fault {key!r}"))
            continue
        try:
            _coerce(key, types[key], raw)
        except FaultError as e:
            out.append((key, str(e)))
    return out


def parse_faults(mapping: Mapping[str, Any] | None = None) -> Faults:
    """Build :class:`Faults` from knob names to values (strings or typed); unknown knobs are an error."""
    problems = fault_problems(mapping)
    if problems:
        raise FaultError(f"{problems[0][1]}; valid faults are:\n{valid_knobs()}")
    types = _field_types()
    return Faults(**{str(k).strip(): _coerce(str(k).strip(), types[str(k).strip()], v)
                     for k, v in (mapping or {}).items()})


def parse_fault_args(args: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["meter_gain=1.03", ...]`` (the ``--fault`` options) to a mapping for :func:`parse_faults`."""
    out: dict[str, str] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep or not name.strip():
            raise FaultError(
                f"--fault {arg!r}: expected NAME=VALUE, e.g. --fault meter_gain=1.03; "
                f"valid faults are:\n{valid_knobs()}"
            )
        out[name.strip()] = value.strip()
    return out
