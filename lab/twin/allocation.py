"""How the twin's firmware shares a station maximum between its EVSEs (pure functions, no I/O).

A station of up to 4 EVSEs has one supply. A station-wide cap (ChargingStationMaxProfile, and the
external constraints set on EVSE 0) limits all of them together; each EVSE also has its own cap (the
station's rated current per EVSE, its TxProfile or TxDefaultProfile, its cable). The allocation:

1. **Who shares.** An EVSE *wants current* when its EV is connected and authorized and asks for energy
   (pilot state C or D). Only those share the cap; an idle EVSE takes nothing from it.
2. **Equal shares, in the cap's unit.** Under a cap in A (per phase) every charging EV draws on L1, so
   the current is shared equally: I_i = cap / n. Under a cap in W the power is shared equally, each EV's
   share converted to current on the phases it actually draws (numberPhases honoured: a 1-phase EV on a
   3-phase station gets three times the current of a 3-phase EV for the same power; V is the nominal
   voltage). An EVSE whose own cap is below its share keeps its own cap and the rest is shared again among
   the others (max-min fairness, "water filling"). Under several caps each EVSE gets the least of what
   each cap alone would give it, so every cap holds.
3. **Never below 6 A.** IEC 61851-1 offers no less than 6 A on the pilot. When a share falls below that,
   the EVSE that began wanting current last is paused (no PWM, contactor open, 0 A) and the others share
   again; first come, first served. A paused EVSE resumes when a share of at least 6 A is free again.
4. **An EVSE about to start** (offering, its EV not yet asking: state B) is offered what it would get if
   it joined now, so the pilot it sees already respects the cap.

Fault knobs bend it: ``station_max_ignored`` leaves the ChargingStationMaxProfile out (the caller drops
it); ``unfair_allocation`` gives EVSEs in number order all they can take and the rest what is left, so
a later EVSE starves below 6 A (:func:`allocate` with ``unfair=True``).

    caps = [Cap(22000.0, "W")]
    allocate([Claim(1, 32.0, 3, True, 0.0), Claim(2, 32.0, 3, True, 5.0)], caps, 230.0)
    # {1: 15.9, 2: 15.9}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MIN_SHARE_A = 6.0  # IEC 61851-1: the lowest current a PWM pilot may offer


@dataclass(frozen=True)
class Cap:
    """A station-wide cap: `value` A per phase, or W over the station."""

    value: float
    unit: Literal["A", "W"]


@dataclass(frozen=True)
class Claim:
    """One EVSE's part in the allocation."""

    evse: int
    own_a: float  # the EVSE's own cap, A per phase (rating, its profiles)
    phases: int  # phases its EV draws on (1..3)
    wants: bool  # an authorized EV asks for current (state C or D)
    since: float  # bench time it began wanting current (earlier: served first)


def _cost(claim: Claim, cap: Cap, voltage_v: float) -> float:
    """Units of the cap one ampere on this EVSE uses."""
    return 1.0 if cap.unit == "A" else voltage_v * max(1, claim.phases)


def _water_fill(claims: Sequence[Claim], cap: Cap, voltage_v: float) -> dict[int, float]:
    """Equal shares of one cap, an EVSE capped below its share leaving the rest to the others."""
    out: dict[int, float] = {}
    left = list(claims)
    budget = max(0.0, cap.value)
    while left:
        share = budget / len(left)
        capped = [c for c in left if c.own_a * _cost(c, cap, voltage_v) <= share]
        if not capped:
            for c in left:
                out[c.evse] = share / _cost(c, cap, voltage_v)
            break
        for c in capped:
            out[c.evse] = c.own_a
            budget -= c.own_a * _cost(c, cap, voltage_v)
            left.remove(c)
    return out


def _shares(claims: Sequence[Claim], caps: Sequence[Cap], voltage_v: float) -> dict[int, float]:
    out = {c.evse: c.own_a for c in claims}
    for cap in caps:
        for evse, amps in _water_fill(claims, cap, voltage_v).items():
            out[evse] = min(out[evse], amps)
    return out


def _first_come(claims: Sequence[Claim], caps: Sequence[Cap], voltage_v: float) -> dict[int, float]:
    """The unfair_allocation fault: EVSEs in number order take all they can; the last get the rest."""
    budgets = [max(0.0, cap.value) for cap in caps]
    out: dict[int, float] = {}
    for c in sorted(claims, key=lambda c: c.evse):
        amps = c.own_a
        for k, cap in enumerate(caps):
            amps = min(amps, budgets[k] / _cost(c, cap, voltage_v))
        for k, cap in enumerate(caps):
            budgets[k] -= amps * _cost(c, cap, voltage_v)
        out[c.evse] = max(0.0, amps)
    return out


def allocate(claims: Sequence[Claim], caps: Sequence[Cap], voltage_v: float, *,
             unfair: bool = False) -> dict[int, float]:
    """A per phase for every wanting EVSE of `claims` (0.0: paused); see the module docstring."""
    wanting = sorted((c for c in claims if c.wants), key=lambda c: (c.since, c.evse))
    out = {c.evse: 0.0 for c in wanting}
    if unfair:
        given = _first_come(wanting, caps, voltage_v)
        return {evse: (amps if amps >= MIN_SHARE_A else 0.0) for evse, amps in given.items()}
    # An EVSE whose own cap is under 6 A cannot charge whatever the others do: it takes no share.
    active = [c for c in wanting if c.own_a >= MIN_SHARE_A]
    while active:
        shares = _shares(active, caps, voltage_v)
        if all(shares[c.evse] >= MIN_SHARE_A for c in active):
            out.update(shares)
            break
        active.pop()  # the last to begin wanting current pauses
    return out


def offer_for(claim: Claim, others: Sequence[Claim], caps: Sequence[Cap], voltage_v: float, *,
              unfair: bool = False, now: float = 0.0) -> float:
    """What `claim`'s EVSE gets: its allocation if it wants current, else what it would get by joining now."""
    me = claim if claim.wants else Claim(claim.evse, claim.own_a, claim.phases, True, now)
    rest = [c for c in others if c.evse != claim.evse]
    return allocate([*rest, me], caps, voltage_v, unfair=unfair)[claim.evse]
