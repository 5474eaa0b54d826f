"""The EMS register map's encoding (instruments/ems_map.py): what docs/ems.md promises, word for word."""

from __future__ import annotations

import math

import pytest

from instruments import ems_map as m
from instruments.ems_map import EmsRegisters, SiteLimit


@pytest.mark.parametrize(("limit", "words"), [
    (None, (m.MODE_NONE, 0, 0)),
    (SiteLimit(11000, "W"), (m.MODE_W, 0, 11000)),
    (SiteLimit(150_000, "W"), (m.MODE_W, 2, 150_000 - 2 * 65536)),
    (SiteLimit(15.9, "A"), (m.MODE_A, 0, 159)),
    (SiteLimit(6, "A"), (m.MODE_A, 0, 60)),
])
def test_limits_encode_and_decode_both_ways(limit: SiteLimit | None, words: tuple[int, int, int]) -> None:
    assert m.encode_limit(limit) == words
    assert m.decode_limit(*words) == limit


def test_values_the_map_cannot_hold_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the register's range"):
        m.encode_limit(SiteLimit(2**32, "W"))
    with pytest.raises(ValueError, match="in W or A"):
        m.encode_limit(SiteLimit(1, "kW"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"limit mode 3: the map knows 0 \(none\), 1 \(W\) and 2 \(0\.1 A\)"):
        m.decode_limit(3, 0, 1)


def test_writes_the_map_allows() -> None:
    assert m.check_write(m.LIMIT_MODE, [m.MODE_A]) is None
    assert m.check_write(m.LIMIT_HI, [0, 1, 2, 3, m.MODE_W, 0, 6]) is None  # LIMIT..FALLBACK in one go
    assert m.check_write(m.MAP_ID, [1]) == 2
    assert m.check_write(m.FALLBACK_LO, [1, 2]) == 2  # runs into CHARGER_STATE
    assert m.check_write(m.SIZE, [0]) == 2
    assert m.check_write(m.FALLBACK_MODE, [7]) == 3


def test_a_fresh_map_decodes_to_nothing_set() -> None:
    got = EmsRegisters.decode(m.initial_registers())
    assert got == EmsRegisters(limit=None, heartbeat=0, watchdog_s=0, fallback=None, charger_state=m.STATE_NONE)
    with pytest.raises(ValueError, match="11 registers, got 10"):
        EmsRegisters.decode(m.initial_registers()[:10])


@pytest.mark.parametrize(("limit", "register", "message"), [
    (SiteLimit(0.04, "A"), "LIMIT", r"an EMS limit of 0\.04 A cannot be written exactly: LIMIT \(registers 3-4: "
                                    r"uint32, 0\.1 A\) holds whole steps of 0\.1 A; the nearest it holds are 0 A and "
                                    r"0\.1 A"),
    (SiteLimit(16.06, "A"), "FALLBACK", r"an EMS limit of 16\.06 A cannot be written exactly: FALLBACK \(registers "
                                        r"8-9: uint32, 0\.1 A\) .* the nearest it holds are 16 A and 16\.1 A"),
    (SiteLimit(7400.5, "W"), "LIMIT", r"7400\.5 W cannot be written exactly: .* 1 W\) holds whole steps of 1 W; the "
                                      r"nearest it holds are 7400 W and 7401 W"),
    (SiteLimit(math.inf, "W"), "LIMIT", r"an EMS limit of inf W is not a number: LIMIT \(registers 3-4: uint32, 1 W\) "
                                        r"holds a finite one"),
    (SiteLimit(math.nan, "A"), "FALLBACK", r"an EMS limit of nan A is not a number: FALLBACK"),
    (SiteLimit(-6, "A"), "LIMIT", r"an EMS limit of -6 A is outside the register's range: LIMIT \(registers 3-4: "
                                  r"uint32, 0\.1 A\) holds 0 to 429496729\.5 A"),
    (SiteLimit(2**32, "W"), "LIMIT", r"an EMS limit of 4294967296 W is outside the register's range: .* holds 0 to "
                                     r"4294967295 W"),
])
def test_a_limit_the_register_cannot_hold_exactly_is_refused_naming_it(
        limit: SiteLimit, register: str, message: str) -> None:
    # Never rounded: 16.06 A as 16.1 A lets the charger draw more than the spec allows and be judged for it.
    with pytest.raises(ValueError, match=message):
        m.encode_limit(limit, register)


def test_limits_on_the_registers_resolution_are_exact_despite_binary_fractions() -> None:
    assert m.encode_limit(SiteLimit(0.1 + 0.2, "A")) == (m.MODE_A, 0, 3)  # 0.30000000000000004 A
    assert m.encode_limit(SiteLimit(3.68 * 1000, "W")) == (m.MODE_W, 0, 3680)
    assert m.encode_limit(SiteLimit(0, "A")) == (m.MODE_A, 0, 0)  # a limit of nothing is a limit
    assert m.encode_limit(SiteLimit(429496729.5, "A")) == (m.MODE_A, 0xFFFF, 0xFFFF)


def test_the_registers_a_request_spans_are_named() -> None:
    assert m.describe(0, m.SIZE) == "registers 0-10 (the whole map)"
    assert m.describe(m.HEARTBEAT, 1) == "register 5 (HEARTBEAT)"
    assert m.describe(m.LIMIT_LO, 1) == "register 4 (LIMIT)"
    assert m.describe(m.SIZE, 2) == "registers 11-12 (outside the map)"
