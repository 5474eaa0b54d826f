"""Station sums over a station's analyzers (runner/signals.py StationSum): what a total adds, when it is
not made (a missing or stale analyzer), energy brought forward between polls, time order."""

from __future__ import annotations

import pytest

from runner.signals import StationSum


def reading(power: float, energy: float, l1: float) -> dict[str, float | None]:
    return {"analyzer.power": power, "analyzer.energy": energy, "analyzer.current.L1": l1,
            "analyzer.voltage.L1": 230.0, "analyzer.pf.L1": 0.99}


def test_a_total_waits_for_every_analyzer() -> None:
    s = StationSum([1, 2], max_age=5.0)
    assert s.add(1, 10.0, reading(11000.0, 100.0, 16.0)) is None
    total = s.add(2, 10.2, reading(11000.0, 200.0, 16.0))
    assert total is not None
    assert total["station.power"] == 22000.0
    assert total["station.current.L1"] == 32.0
    assert "station.voltage.L1" not in total and "station.pf.L1" not in total  # not additive


def test_energy_of_the_other_analyzer_is_brought_forward_at_its_power() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(3600.0, 100.0, 16.0))
    total = s.add(2, 12.0, reading(0.0, 50.0, 0.0))
    # EVSE 1: 100 Wh at t=10 s, 3600 W for 2 s more = +2 Wh
    assert total is not None and total["station.energy"] == pytest.approx(152.0)


def test_a_stale_analyzer_makes_no_total() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(1000.0, 1.0, 4.0))
    assert s.add(2, 16.0, reading(1000.0, 1.0, 4.0)) is None  # EVSE 1's reading is 6 s old
    assert s.add(1, 17.0, reading(1000.0, 1.0, 4.0)) is not None


def test_totals_keep_time_order() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(1.0, 1.0, 1.0))
    assert s.add(2, 11.0, reading(1.0, 1.0, 1.0)) is not None
    assert s.add(1, 10.5, reading(1.0, 1.0, 1.0)) is None  # reported late by its thread: older than the last


def test_a_value_an_analyzer_did_not_give_leaves_the_total_unmeasured() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(1000.0, 1.0, 4.0))
    total = s.add(2, 10.1, {**reading(1000.0, 1.0, 4.0), "analyzer.power": None})
    assert total is not None and total["station.power"] is None and total["station.current.L1"] == 8.0
