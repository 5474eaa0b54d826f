"""The station's totals (``station.power``, ``station.energy``, ``station.current.L1`` ...) over its EVSEs'
analyzers, made from readings that belong together.

Each analyzer is polled on its own thread, so two analyzers' readings are never taken at the same instant: on
a loaded host at 120x they were 8 bench s apart. A total at bench time t (one analyzer's reading) needs every
other analyzer's value at t, and the reading it holds from before t is that value only if nothing changed
in between. So a total waits for each other analyzer's next reading: if it shows the same values (within
:data:`STEADY`), the held one is taken as the value at t (its power held, its energy brought forward to t at
that power); if the analyzer changed in between, its value at t is unknown and no total is made there. A
total across a change once paired 21.7 kW read before a reallocation with 10.9 kW read after it: a station
power of 32.6 kW that never existed, failing a charger that shared its power correctly.

    sums = StationSum([1, 2], max_age=36.0)
    sums.add(1, 10.0, reading)        # [] (waits for EVSE 2)
    sums.add(2, 10.4, reading)        # [] (EVSE 2's total at 10.4 waits for EVSE 1's next reading)
    sums.add(1, 11.0, reading)        # [(10.0, {...}), (10.4, {...})] when EVSE 1 held steady

Totals come out in time order, at most one poll late. A reading held from longer ago than `max_age` (the
max gap a sampled signal may have: runner/judge.py) makes no total either; each missing total shows as a
gap in the station's record, which the judge reports as such.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Analyzer signals a station total adds up (voltages and power factors are not additive).
ADDITIVE = ("power", "energy", "power.L1", "power.L2", "power.L3", "current.L1", "current.L2", "current.L3")

# How far two readings of one analyzer may differ and still count as one steady value (energy excepted: it
# grows): 1 % of the value, and at least 20 W or 0.1 A, so that the ordinary noise of a steady load keeps
# its totals while a change of the charger's allocation (several A) does not. A steady value taken for the
# one at t is off by at most that much.
STEADY = {"power": (0.01, 20.0), "current": (0.01, 0.1)}

Values = dict[str, float | None]


@dataclass(frozen=True)
class _Reading:
    t: float
    values: Values


def steady(a: Values, b: Values) -> bool:
    """Whether two readings of one analyzer show the same load (:data:`STEADY`)."""
    for name in ADDITIVE:
        if name == "energy":
            continue
        x, y = a.get(f"analyzer.{name}"), b.get(f"analyzer.{name}")
        if x is None or y is None:
            if x is not y:
                return False
            continue
        rel, floor = STEADY[name.split(".")[0]]
        if abs(x - y) > max(rel * max(abs(x), abs(y)), floor):
            return False
    return True


class StationSum:
    """Totals over the analyzers of `evses` (module docstring); :meth:`add` takes readings in any order
    across analyzers, in time order per analyzer."""

    def __init__(self, evses: Sequence[int], max_age: float) -> None:
        self.evses = tuple(evses)
        self.max_age = max_age
        self._readings: dict[int, list[_Reading]] = {n: [] for n in self.evses}
        self._candidates: list[tuple[float, int]] = []  # (t, evse): readings whose total is still to be made
        self._last_t = float("-inf")
        self.unsteady = 0  # totals not made because an analyzer changed between its readings

    def add(self, evse: int, t: float, signals: Values) -> list[tuple[float, Values]]:
        """Take one analyzer's reading (its ``analyzer.*`` signals); the totals now made, in time order."""
        readings = self._readings[evse]
        if readings and t <= readings[-1].t:
            return []  # not newer than this analyzer's last: nothing new
        readings.append(_Reading(t, signals))
        if t > self._last_t:
            bisect.insort(self._candidates, (t, evse))
        out: list[tuple[float, Values]] = []
        while self._candidates:
            ct, cn = self._candidates[0]
            total = self._total(ct, cn)
            if total == "wait" and t - ct <= self.max_age:
                break  # (an analyzer silent for longer than the max gap since: no total at ct, and no waiting)
            self._candidates.pop(0)
            if isinstance(total, dict) and ct > self._last_t:
                out.append((ct, total))
                self._last_t = ct
        self._prune(t)
        return out

    def _total(self, t: float, evse: int) -> Values | Literal["wait"] | None:
        """The total at `t`, None when it cannot be made, "wait" until another analyzer's next reading."""
        own = self._at(evse, t)
        assert own is not None
        held: dict[int, _Reading] = {evse: own}
        for n in self.evses:
            if n == evse:
                continue
            readings = self._readings[n]
            i = bisect.bisect_right([r.t for r in readings], t)
            before = readings[i - 1] if i > 0 else None
            if before is None:
                return "wait" if not readings else None  # its first reading came after t: no value at t
            if t - before.t > self.max_age:
                return None  # stale: not measured at t
            if before.t < t:
                if i == len(readings):
                    return "wait"  # its next reading says whether it held steady through t
                if not steady(before.values, readings[i].values):
                    self.unsteady += 1
                    return None
            held[n] = before
        return _add(held, t)

    def _at(self, evse: int, t: float) -> _Reading | None:
        return next((r for r in self._readings[evse] if r.t == t), None)

    def _prune(self, now: float) -> None:
        """Keep each analyzer's readings from the last one at or before the oldest total still to make (with none
        to make, `now`: the latest reading's time), less the max gap: a reading another thread hands in late
        may still need them."""
        oldest = (self._candidates[0][0] if self._candidates else now) - self.max_age
        for readings in self._readings.values():
            i = bisect.bisect_right([r.t for r in readings], oldest)
            del readings[:max(0, i - 1)]


def _add(held: dict[int, _Reading], t: float) -> Values:
    out: Values = {}
    for name in ADDITIVE:
        total: float | None = 0.0
        for r in held.values():
            v = r.values.get(f"analyzer.{name}")
            if v is None or total is None:
                total = None
                continue
            if name == "energy":
                v += (r.values.get("analyzer.power") or 0.0) * (t - r.t) / 3600.0
            total += v
        if total is not None or any(f"analyzer.{name}" in r.values for r in held.values()):
            out[f"station.{name}"] = total
    return out
