"""Reading signal series: conditions, interpolation at window edges, deltas vs means."""

from __future__ import annotations

import pytest

from dsl.plan import Comparison, Quantity, Signal, StateIs
from runner.signals import holds, interpolate, is_cumulative, over_window

CUR = Signal("analyzer", "analyzer.current.L1", "current", "analyzer current L1")


def test_comparison_holds_on_canonical_values() -> None:
    cond = Comparison(CUR, "<=", Quantity(6.6, "current", "6 A + 0.6 A"))
    assert holds(cond, 6.6) is True
    assert holds(cond, 6.61) is False
    assert holds(cond, None) is None  # a missing sample is not a pass


def test_state_condition() -> None:
    st = StateIs(Signal("charger", "charger.status.evse1", "state", "charger status evse 1"), ("Available",))
    assert holds(st, "Available") and not holds(st, "Occupied")


def test_interpolation_inside_and_outside() -> None:
    ts, vs = [0.0, 10.0, 20.0], [0.0, 100.0, 300.0]
    assert interpolate(ts, vs, 5.0) == pytest.approx(50.0)
    assert interpolate(ts, vs, 15.0) == pytest.approx(200.0)
    assert interpolate(ts, vs, 25.0) is None
    assert interpolate(ts, [0.0, None, 300.0], 10.0) == pytest.approx(150.0)  # gaps are skipped


def test_energy_is_compared_as_change_over_window_power_as_mean() -> None:
    assert is_cumulative("analyzer.energy") and is_cumulative("charger.Energy.Active.Import.Register")
    assert not is_cumulative("analyzer.power")
    ts = [0.0, 10.0, 20.0, 30.0]
    e = over_window("analyzer.energy", ts, [0.0, 10.0, 20.0, 30.0], 5.0, 25.0)
    assert e is not None and e.value == pytest.approx(20.0)
    p = over_window("analyzer.power", ts, [1.0, 2.0, 3.0, 4.0], 5.0, 25.0)
    assert p is not None and p.value == pytest.approx(2.5) and p.samples == 2
    assert over_window("analyzer.energy", ts, [0.0, 1.0, 2.0, 3.0], 5.0, 35.0) is None


def test_held_value_leads_the_window() -> None:
    from runner.signals import held_from

    ts, vs = [1.0, 5.0, 9.0], ["Available", "Occupied", "Available"]
    assert held_from(ts, vs, 6.0, 20.0) == [(6.0, "Occupied"), (9.0, "Available")]
    assert held_from(ts, vs, 0.0, 4.0) == [(1.0, "Available")]  # nothing held before the first sample
    assert held_from(ts, vs, 5.0, 5.0) == [(5.0, "Occupied")]
