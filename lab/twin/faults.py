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


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Knobs whose value has a physical floor; the message says why it was refused.
_NON_NEGATIVE = {"limit_delay_s"}
_POSITIVE = {"meter_gain"}


def _type_name(t: Any) -> str:
    return {float: "number", bool: "true/false", str: "text"}[t]


def _field_types() -> dict[str, type]:
    hints = {"float": float, "bool": bool, "str": str}
    return {f.name: hints[f.type] if isinstance(f.type, str) else f.type for f in fields(Faults)}


def valid_knobs() -> str:
    """One line per knob: name, type and healthy default, for error messages and `--help`."""
    healthy = Faults()
    return "\n".join(
        f"  {name} ({_type_name(t)}, healthy {getattr(healthy, name)!r})" for name, t in _field_types().items()
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
        if name in _POSITIVE and value <= 0:
            raise FaultError(f"fault {name}={raw!r}: must be greater than 0 (1 is healthy)")
        if name in _NON_NEGATIVE and value < 0:
            raise FaultError(f"fault {name}={raw!r}: must be 0 or more (bench seconds)")
        return value
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise FaultError(f"fault {name}={raw!r}: expected text")
    return str(raw)


def parse_faults(mapping: Mapping[str, Any] | None = None) -> Faults:
    """Build :class:`Faults` from knob names to values (strings or typed); unknown knobs are an error."""
    types = _field_types()
    values: dict[str, Any] = {}
    for name, raw in (mapping or {}).items():
        key = str(name).strip()
        if key not in types:
            raise FaultError(f"unknown twin fault {key!r}; valid faults are:\n{valid_knobs()}")
        try:
            values[key] = _coerce(key, types[key], raw)
        except FaultError as e:
            raise FaultError(f"{e}; valid faults are:\n{valid_knobs()}") from None
    return Faults(**values)


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
