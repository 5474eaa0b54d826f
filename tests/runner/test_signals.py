"""Reading signal series: conditions, interpolation at window edges, deltas vs means."""

from __future__ import annotations

import pytest

from dsl.plan import Comparison, Quantity, Signal, StateIs
from runner.signals import Settling, holds, interpolate, is_cumulative, over_window, settling

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


# ---- settling: a run of samples that holds for the hold, starting by the deadline ------------------

LIMIT = Comparison(CUR, "<=", Quantity(6.6, "current", "6.6 A"))


def _settle(points: list[tuple[float, float | None]], complete_until: float, *, deadline: float = 15.0,
            hold: float = 60.0) -> Settling:
    ts = [t for t, _ in points]
    vs = [v for _, v in points]
    return settling(ts, vs, LIMIT, 0.0, deadline, hold, complete_until)


def test_a_lucky_first_sample_does_not_settle() -> None:
    # Below the limit before the EV ramps, above during the ramp, below once the limit acts at 8 s.
    ramp = [(0.0, 0.0), (2.0, 31.0), (4.0, 31.5), (8.0, 6.2), *[(8.0 + i, 6.1) for i in range(1, 70)]]
    r = _settle(ramp, 100.0)
    assert (r.state, r.start) == ("settled", 8.0)
    assert _settle(ramp, 60.0).state == "pending"  # the hold is not over yet


def test_never_settled_names_the_last_violation_before_the_deadline() -> None:
    late = [(0.0, 31.0), (5.0, 31.2), (14.0, 30.9), (20.0, 6.0), (90.0, 6.0)]
    r = _settle(late, 100.0)
    assert r.state == "never" and r.violation == (14.0, 30.9)
    assert _settle(late, 14.5).state == "pending"  # before the deadline it could still settle


def test_settled_then_broke_names_the_first_violation_after_the_deadline() -> None:
    broke = [(0.0, 31.0), (3.0, 6.0), (10.0, 6.1), (40.0, 7.5), (41.0, 8.0), (100.0, 6.0)]
    r = _settle(broke, 120.0)
    assert (r.state, r.start, r.violation) == ("broke", 3.0, (40.0, 7.5))


def test_a_break_before_the_deadline_restarts_the_stretch() -> None:
    bounce = [(0.0, 31.0), (3.0, 6.0), (5.0, 9.0), (12.0, 6.0), (80.0, 6.0)]
    r = _settle(bounce, 80.0)
    assert (r.state, r.start) == ("settled", 12.0)


def test_a_sample_without_value_neither_starts_nor_breaks_a_stretch() -> None:
    assert _settle([(0.0, 31.0), (3.0, None), (20.0, 6.0)], 100.0).state == "never"
    r = _settle([(0.0, 31.0), (3.0, 6.0), (30.0, None), (70.0, 6.0)], 70.0)
    assert (r.state, r.start) == ("settled", 3.0)


def test_the_value_held_at_the_action_counts_from_the_action() -> None:
    # The last sample before t0 stands for the value at t0: already compliant and staying so settles at 0 s.
    r = settling([-5.0, 30.0, 61.0], [6.0, 6.0, 6.0], LIMIT, 0.0, 15.0, 60.0, 70.0)
    assert (r.state, r.start) == ("settled", 0.0)
