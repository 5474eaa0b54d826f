"""The EMS register map's encoding (instruments/ems_map.py): what docs/ems.md promises, word for word."""

from __future__ import annotations

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
