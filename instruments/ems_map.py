"""The chargespec EMS register map: how a local energy manager (EMS) tells a charger its site limit over
Modbus TCP, and how the charger knows the EMS is still alive. docs/ems.md is the reference for wiring.

Holding registers (function codes 3, 6 and 16), protocol addresses from 0, unit id 1, 16-bit, 32-bit values
high word first:

    addr  name            access       meaning
    0     MAP_ID          read-only    0x4353 ("CS"): this is the chargespec EMS map
    1     MAP_VERSION     read-only    1
    2     LIMIT_MODE      EMS writes   0 = no site limit, 1 = limit in W, 2 = limit in 0.1 A per phase
    3-4   LIMIT           EMS writes   the site limit (uint32), in the unit LIMIT_MODE names
    5     HEARTBEAT       EMS writes   a counter the EMS changes at least once per watchdog period
    6     WATCHDOG_S      EMS writes   seconds without a HEARTBEAT change before the charger falls back;
                                       0 = no watchdog
    7     FALLBACK_MODE   EMS writes   the limit after the watchdog expires: 0 = none, 1 = W, 2 = 0.1 A
    8-9   FALLBACK        EMS writes   the fallback limit (uint32)
    10    CHARGER_STATE   charger      0 = no EMS limit, 1 = EMS limit applied, 2 = fallback applied

The charger reads the map (a Modbus client, or the EMS's registers in process on the twin) and holds the
site at the limit; a write the map does not allow is answered with Modbus exception 2 (address) or 3
(value). This module is pure: encoding and decoding only, shared by the driver and the twin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

MAP_ID_VALUE = 0x4353
MAP_VERSION_VALUE = 1

MAP_ID, MAP_VERSION, LIMIT_MODE, LIMIT_HI, LIMIT_LO = 0, 1, 2, 3, 4
HEARTBEAT, WATCHDOG_S, FALLBACK_MODE, FALLBACK_HI, FALLBACK_LO, CHARGER_STATE = 5, 6, 7, 8, 9, 10
SIZE = 11
READ_ONLY = frozenset({MAP_ID, MAP_VERSION, CHARGER_STATE})  # for the EMS; the charger writes CHARGER_STATE

MODE_NONE, MODE_W, MODE_A = 0, 1, 2
STATE_NONE, STATE_LIMIT, STATE_FALLBACK = 0, 1, 2
STATE_NAMES = {STATE_NONE: "no EMS limit", STATE_LIMIT: "EMS limit applied", STATE_FALLBACK: "fallback applied"}

Unit = Literal["W", "A"]
MAX_U32 = 2**32 - 1
SCALE: dict[str, int] = {"W": 1, "A": 10}  # register counts per W, per A
STEP = {"W": "1 W", "A": "0.1 A"}

#: Each register's name by the addresses it spans (a 32-bit value spans two, high word first).
REGISTERS: dict[str, tuple[int, ...]] = {
    "MAP_ID": (MAP_ID,), "MAP_VERSION": (MAP_VERSION,), "LIMIT_MODE": (LIMIT_MODE,), "LIMIT": (LIMIT_HI, LIMIT_LO),
    "HEARTBEAT": (HEARTBEAT,), "WATCHDOG_S": (WATCHDOG_S,), "FALLBACK_MODE": (FALLBACK_MODE,),
    "FALLBACK": (FALLBACK_HI, FALLBACK_LO), "CHARGER_STATE": (CHARGER_STATE,),
}


def describe(address: int, count: int) -> str:
    """The registers a request spans, by address and name: "registers 2-4 (LIMIT_MODE, LIMIT)"."""
    span = range(address, address + count)
    names = [name for name, addrs in REGISTERS.items() if any(a in span for a in addrs)]
    if len(names) == len(REGISTERS):
        names = ["the whole map"]
    where = f"register {address}" if count == 1 else f"registers {address}-{span[-1]}"
    return f"{where} ({', '.join(names) or 'outside the map'})"


@dataclass(frozen=True)
class SiteLimit:
    """A limit as the map carries it: `value` W (total) or A (per phase)."""

    value: float
    unit: Unit

    def __str__(self) -> str:
        return f"{self.value:.12g} {self.unit}"


def encode_limit(limit: SiteLimit | None, register: str = "LIMIT") -> tuple[int, int, int]:
    """(mode, high word, low word) for a limit; None is mode 0. Raises ValueError, naming `register` (LIMIT
    or FALLBACK), for a limit the register cannot hold exactly: not a number, negative, beyond uint32, or
    finer than its resolution (1 W, 0.1 A). Never rounded: 16.06 A sent as 16.1 A would let the charger
    draw more than the spec allowed and be judged for it; 0.04 A sent as 0 A would stop it."""
    if limit is None:
        return MODE_NONE, 0, 0
    if limit.unit not in ("W", "A"):
        raise ValueError(f"an EMS limit is in W or A, not {limit.unit!r}")
    scale = SCALE[limit.unit]
    where = f"{register} (registers {REGISTERS[register][0]}-{REGISTERS[register][-1]}: uint32, {STEP[limit.unit]})"
    value = limit.value
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"an EMS limit of {value!r} {limit.unit} is not a number: {where} holds a finite one")
    if value < 0 or value * scale > MAX_U32:
        raise ValueError(f"an EMS limit of {limit} is outside the register's range: {where} holds 0 to "
                         f"{MAX_U32 / scale:.12g} {limit.unit}")
    exact = value * scale
    raw = round(exact)
    if not math.isclose(exact, raw, rel_tol=1e-9, abs_tol=1e-6):  # 15.9 * 10 is 159.00000000000003
        below, above = math.floor(exact) / scale, math.ceil(exact) / scale
        raise ValueError(f"an EMS limit of {limit} cannot be written exactly: {where} holds whole steps of "
                         f"{STEP[limit.unit]}; the nearest it holds are {below:g} {limit.unit} and "
                         f"{above:g} {limit.unit}")
    return (MODE_W if limit.unit == "W" else MODE_A), raw >> 16, raw & 0xFFFF


def decode_limit(mode: int, hi: int, lo: int) -> SiteLimit | None:
    """The limit three registers hold; None for mode 0. Raises ValueError for a mode the map does not know."""
    raw = (hi << 16) | lo
    if mode == MODE_NONE:
        return None
    if mode == MODE_W:
        return SiteLimit(float(raw), "W")
    if mode == MODE_A:
        return SiteLimit(raw / 10, "A")
    raise ValueError(f"limit mode {mode}: the map knows 0 (none), 1 (W) and 2 (0.1 A)")


@dataclass(frozen=True)
class EmsRegisters:
    """A decoded read of the whole map."""

    limit: SiteLimit | None
    heartbeat: int
    watchdog_s: int
    fallback: SiteLimit | None
    charger_state: int

    @classmethod
    def decode(cls, regs: list[int]) -> EmsRegisters:
        if len(regs) < SIZE:
            raise ValueError(f"the EMS map has {SIZE} registers, got {len(regs)}")
        if regs[MAP_ID] != MAP_ID_VALUE or regs[MAP_VERSION] != MAP_VERSION_VALUE:
            raise ValueError(f"registers 0-1 read {regs[MAP_ID]:#06x} {regs[MAP_VERSION]}, not the chargespec "
                             f"EMS map ({MAP_ID_VALUE:#06x} {MAP_VERSION_VALUE})")
        return cls(
            limit=decode_limit(regs[LIMIT_MODE], regs[LIMIT_HI], regs[LIMIT_LO]),
            heartbeat=regs[HEARTBEAT],
            watchdog_s=regs[WATCHDOG_S],
            fallback=decode_limit(regs[FALLBACK_MODE], regs[FALLBACK_HI], regs[FALLBACK_LO]),
            charger_state=regs[CHARGER_STATE],
        )


def initial_registers() -> list[int]:
    """The map as a fresh EMS holds it: no limit, no watchdog, no fallback."""
    regs = [0] * SIZE
    regs[MAP_ID], regs[MAP_VERSION] = MAP_ID_VALUE, MAP_VERSION_VALUE
    return regs


def check_write(address: int, values: list[int]) -> int | None:
    """The Modbus exception code for an EMS's write of `values` from `address` (None: allowed): 2 for an
    address outside the map or read-only, 3 for a limit mode the map does not know."""
    span = range(address, address + len(values))
    if address < 0 or span.stop > SIZE or any(a in READ_ONLY for a in span):
        return 2
    for a, v in zip(span, values, strict=True):
        if a in (LIMIT_MODE, FALLBACK_MODE) and v not in (MODE_NONE, MODE_W, MODE_A):
            return 3
    return None
