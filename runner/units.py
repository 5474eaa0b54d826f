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


def show(value: Any, dimension: str, digits: int | None = None) -> str:
    """`show(3680.0, "power")` -> "3.680 kW"; `show(0.0213, "ratio")` -> "2.13 %". `digits`: decimals to
    show instead of the usual (3 in the unit, 2 for a percentage, 1 for seconds), none dropped."""
    if value is None:
        return "(no value)"
    if not isinstance(value, int | float):
        return str(value)
    if math.isnan(value):
        return "NaN"
    scale, unit = _scale(value, dimension)
    if dimension == "ratio":
        return f"{value * 100:.{2 if digits is None else digits}f} %"
    if unit == "s":
        return f"{value:.{1 if digits is None else digits}f} s"
    if unit:
        text = f"{value / scale:.{3 if digits is None else digits}f} {unit}"
        return text.replace(".000 ", " ") if digits is None else text
    return f"{value:g}"


def show_against(value: Any, bound: float, dimension: str) -> str:
    """`value` as :func:`show` gives it, with as many more decimals as it takes not to read as `bound` when
    it is not `bound`: 16.0004 A that violates `<= 16 A` reads "16.0004 A", not "16 A"."""
    text = show(value, dimension)
    if not isinstance(value, int | float) or math.isnan(value) or value == bound:
        return text
    scale, _ = _scale(value, dimension)
    if dimension == "ratio":
        scale, usual = 0.01, 2
    else:
        usual = 1 if dimension == "time" else 3
    digits = usual
    while round(value / scale, digits) == round(bound / scale, digits) and digits < 12:
        digits += 1
    return text if digits == usual else show(value, dimension, digits)


def _scale(value: float, dimension: str) -> tuple[float, str]:
    """The scale and unit a value of `dimension` is shown in (1 and "" for a dimension without units)."""
    scales = _SCALES.get(dimension, ())
    for scale, unit in scales:
        if abs(value) >= scale or scale == scales[-1][0]:
            return scale, unit
    return 1.0, ""


def show_t(t: float) -> str:
    """A bench time stamp, relative to the scenario start."""
    return f"t={t:.1f} s"
