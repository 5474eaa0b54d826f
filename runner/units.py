"""Showing values to people: canonical values (A, V, W, Wh, s, Hz, fractions) in readable units."""

from __future__ import annotations

import math
from typing import Any

_SCALES: dict[str, tuple[tuple[float, str], ...]] = {
    "power": ((1000.0, "kW"), (1.0, "W")),
    "energy": ((1000.0, "kWh"), (1.0, "Wh")),
    "voltage": ((1000.0, "kV"), (1.0, "V")),
    "current": ((1.0, "A"), (0.001, "mA")),
    "frequency": ((1.0, "Hz"),),
    "resistance": ((1.0, "Ω"),),
    "time": ((1.0, "s"),),
}


def show(value: Any, dimension: str) -> str:
    """`show(3680.0, "power")` -> "3.680 kW"; `show(0.0213, "ratio")` -> "2.13 %"."""
    if value is None:
        return "(no value)"
    if not isinstance(value, int | float):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if dimension == "ratio":
        return f"{value * 100:.2f} %"
    for scale, unit in _SCALES.get(dimension, ()):
        if abs(value) >= scale or scale == _SCALES[dimension][-1][0]:
            return f"{value / scale:.3f} {unit}".replace(".000 ", " ") if unit != "s" else f"{value:.1f} s"
    return f"{value:g}"


def show_t(t: float) -> str:
    """A bench time stamp, relative to the scenario start."""
    return f"t={t:.1f} s"
