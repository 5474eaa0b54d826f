"""Station sums over a station's analyzers (runner/station_sum.py): what a total adds, that it is made only
from readings that belong to its time (a missing, stale or changing analyzer makes none), energy brought
forward between polls, time order."""

from __future__ import annotations

import pytest

from runner.station_sum import StationSum


def reading(power: float, energy: float, l1: float) -> dict[str, float | None]:
    return {"analyzer.power": power, "analyzer.energy": energy, "analyzer.current.L1": l1,
            "analyzer.voltage.L1": 230.0, "analyzer.pf.L1": 0.99}


def test_a_total_waits_for_every_analyzer_to_confirm_its_value() -> None:
    s = StationSum([1, 2], max_age=5.0)
    assert s.add(1, 10.0, reading(11000.0, 100.0, 16.0)) == []  # EVSE 2 has not reported yet
    # EVSE 2 at 10.2: EVSE 1's value at 10.2 is known once its next reading shows it held steady
    assert s.add(2, 10.2, reading(11000.0, 200.0, 16.0)) == []
    made = s.add(1, 11.0, reading(11000.0, 103.0, 16.0))
    assert [t for t, _ in made] == [10.2]  # the total at 10.0 had no EVSE 2 reading at or before it
    total = made[0][1]
    assert total["station.power"] == 22000.0
    assert total["station.current.L1"] == 32.0
    assert "station.voltage.L1" not in total and "station.pf.L1" not in total  # not additive


def test_a_single_analyzer_station_totals_at_once() -> None:
    s = StationSum([1], max_age=5.0)
    assert s.add(1, 10.0, reading(7000.0, 5.0, 10.0)) == [(10.0, pytest.approx({
        "station.power": 7000.0, "station.energy": 5.0, "station.current.L1": 10.0}))]


def test_no_total_across_a_change_of_the_held_analyzer() -> None:
    """The depot case: EVSE 1 read at 21.7 kW before the charger halved both EVSEs' shares, EVSE 2 read at its
    new 10.9 kW after; the pair is no station power (32.6 kW never flowed). Once both are read after the
    change, totals resume."""
    s = StationSum([1, 2], max_age=36.0)
    s.add(2, 46.4, reading(0.0, 0.0, 0.0))
    s.add(1, 57.5, reading(21728.0, 72.9, 31.8))
    assert s.add(2, 65.4, reading(10866.0, 40.0, 15.9)) == []  # EVSE 2 changed between 46.4 and 65.4: no total at 57.5
    made = s.add(1, 66.8, reading(10871.0, 101.0, 15.9))  # EVSE 1 changed between 57.5 and 66.8: none at 65.4
    assert made == []
    assert s.unsteady == 2
    made = s.add(2, 73.2, reading(10870.0, 59.0, 15.9))  # EVSE 2 steady through 66.8
    assert [t for t, _ in made] == [66.8]
    assert made[0][1]["station.power"] == pytest.approx(21737.0)


def test_ordinary_noise_is_a_steady_load() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(11000.0, 1.0, 16.0))
    s.add(2, 10.5, reading(11000.0, 1.0, 16.0))
    made = s.add(1, 11.0, reading(11060.0, 4.0, 16.08))  # +0.5 %: noise, not a change
    assert [t for t, _ in made] == [10.5]
    assert [t for t, _ in s.add(2, 11.5, reading(11000.0, 5.0, 16.0))] == [11.0]  # EVSE 2 steady through 11.0
    # EVSE 1 went up by 1.5 A between 11.0 and 12.0: its value at 11.5 is unknown, so EVSE 2's total there is
    # not made; EVSE 1's at 12.0 is, once EVSE 2 reads the same again
    assert s.add(1, 12.0, reading(12000.0, 7.0, 17.5)) == []
    assert [t for t, _ in s.add(2, 12.5, reading(11000.0, 10.0, 16.0))] == [12.0]
    assert s.unsteady == 1


def test_energy_of_the_other_analyzer_is_brought_forward_at_its_power() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(3600.0, 100.0, 16.0))
    s.add(2, 12.0, reading(0.0, 50.0, 0.0))
    made = s.add(1, 13.0, reading(3600.0, 103.0, 16.0))
    # EVSE 1: 100 Wh at t=10 s, 3600 W for 2 s more = +2 Wh
    assert made[0][0] == 12.0 and made[0][1]["station.energy"] == pytest.approx(152.0)


def test_a_stale_analyzer_makes_no_total() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(1000.0, 1.0, 4.0))
    s.add(2, 16.0, reading(1000.0, 1.0, 4.0))  # EVSE 1's reading is 6 s old at 16.0
    assert [t for t, _ in s.add(1, 17.0, reading(1000.0, 1.0, 4.0))] == []
    assert [t for t, _ in s.add(2, 18.0, reading(1000.0, 1.0, 4.0))] == [17.0]


def test_totals_keep_time_order() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(1.0, 1.0, 1.0))
    s.add(2, 11.0, reading(1.0, 1.0, 1.0))
    assert [t for t, _ in s.add(1, 12.0, reading(1.0, 1.0, 1.0))] == [11.0]
    assert s.add(1, 11.5, reading(1.0, 1.0, 1.0)) == []  # reported late by its thread: older than its last
    assert [t for t, _ in s.add(2, 13.0, reading(1.0, 1.0, 1.0))] == [12.0]


def test_a_value_an_analyzer_did_not_give_leaves_the_total_unmeasured() -> None:
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, {**reading(1000.0, 1.0, 4.0), "analyzer.power": None})
    s.add(2, 10.1, reading(1000.0, 1.0, 4.0))
    made = s.add(1, 10.2, {**reading(1000.0, 1.0, 4.0), "analyzer.power": None})
    assert [t for t, _ in made] == [10.1]
    assert made[0][1]["station.power"] is None and made[0][1]["station.current.L1"] == 8.0


def test_an_analyzer_gone_silent_does_not_hold_up_the_others_totals_for_ever() -> None:
    """EVSE 2's reading at 10.5 waits for EVSE 1's next one, which never comes (its sampler stopped); once the
    readings have gone on for longer than the max gap, it is given up: no total there, and nothing kept for it."""
    s = StationSum([1, 2], max_age=5.0)
    s.add(1, 10.0, reading(1.0, 1.0, 1.0))
    s.add(2, 10.5, reading(1.0, 1.0, 1.0))
    for t in (11.5, 12.5, 14.5, 16.0, 17.0, 20.0):
        assert s.add(2, t, reading(1.0, 1.0, 1.0)) == []
    assert s._candidates == []
    assert [r.t for r in s._readings[2]] == [14.5, 16.0, 17.0, 20.0]  # the max gap's worth, and the one before it
