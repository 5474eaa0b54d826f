"""The station allocation (lab/twin/allocation.py): equal shares, water filling, the 6 A floor, phases."""

from __future__ import annotations

import pytest

from lab.twin.allocation import MIN_SHARE_A, Cap, Claim, allocate, offer_for

V = 230.0


def claim(evse: int, own: float = 32.0, phases: int = 3, wants: bool = True, since: float | None = None) -> Claim:
    return Claim(evse, own, phases, wants, float(evse) if since is None else since)


def test_depot_two_evs_share_22_kw_equally() -> None:
    got = allocate([claim(1), claim(2)], [Cap(22000.0, "W")], V)
    assert got[1] == got[2] == pytest.approx(22000.0 / (3 * V) / 2)
    assert sum(a * 3 * V for a in got.values()) == pytest.approx(22000.0)


def test_an_idle_evse_takes_nothing_from_the_cap() -> None:
    got = allocate([claim(1), claim(2), claim(3, wants=False)], [Cap(22000.0, "W")], V)
    assert set(got) == {1, 2}
    assert got[1] == pytest.approx(15.94, abs=0.01)


def test_amps_cap_is_shared_as_current() -> None:
    assert allocate([claim(1), claim(2)], [Cap(40.0, "A")], V) == {1: 20.0, 2: 20.0}


def test_an_evse_under_its_share_leaves_the_rest_to_the_others() -> None:
    got = allocate([claim(1, own=10.0), claim(2), claim(3)], [Cap(60.0, "A")], V)
    assert got == {1: 10.0, 2: 25.0, 3: 25.0}


def test_a_one_phase_ev_gets_the_same_power_on_one_phase() -> None:
    got = allocate([claim(1, phases=1), claim(2, phases=3)], [Cap(13800.0, "W")], V)
    assert got[1] * 1 * V == pytest.approx(got[2] * 3 * V)
    assert got[1] == pytest.approx(3 * got[2])
    assert got[1] == 30.0 and got[2] == 10.0


def test_shares_below_6_a_pause_the_last_to_arrive() -> None:
    # 4 EVs under 20 A: 5 A each is not allowed; the latest pauses, then 6.67 A each for three.
    got = allocate([claim(1, since=0), claim(2, since=30), claim(3, since=10), claim(4, since=20)],
                   [Cap(20.0, "A")], V)
    assert got[2] == 0.0
    assert all(got[n] == pytest.approx(20.0 / 3) for n in (1, 3, 4))
    assert all(a >= MIN_SHARE_A or a == 0.0 for a in got.values())


def test_an_evse_whose_own_cap_is_under_6_a_does_not_take_a_share() -> None:
    got = allocate([claim(1, own=5.0), claim(2)], [Cap(20.0, "A")], V)
    assert got == {1: 0.0, 2: 20.0}


def test_several_caps_each_hold() -> None:
    got = allocate([claim(1, phases=1), claim(2)], [Cap(40.0, "A"), Cap(11000.0, "W")], V)
    assert sum(got.values()) <= 40.0
    assert got[1] * V + got[2] * 3 * V <= 11000.0 + 1e-6


def test_unfair_allocation_starves_the_later_evse() -> None:
    got = allocate([claim(1), claim(2)], [Cap(22000.0, "W")], V, unfair=True)
    assert got[1] == pytest.approx(22000.0 / (3 * V))
    assert got[2] == 0.0


def test_an_evse_about_to_start_is_offered_its_share_if_it_joined() -> None:
    others = [claim(1)]
    assert offer_for(claim(2, wants=False), others, [Cap(22000.0, "W")], V, now=50.0) == pytest.approx(15.94, abs=0.01)
    assert offer_for(claim(1), others, [], V) == 32.0
