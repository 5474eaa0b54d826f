"""Units a spec may write, their dimensions and the canonical unit every value is converted to.

Spelling is exact and case-sensitive as in SI (``kWh``, not ``kwh``). Conversion factors are a static
table (:data:`FACTORS`) so that checking a spec never pays for building pint's registry (~0.3 s per
process); :func:`pint_factor` derives each factor with pint and a test keeps the two equal::

    >>> lookup("kWh").factor, lookup("kWh").dimension
    (1000.0, 'energy')
    >>> lookup("%").factor
    0.01

Canonical units (:data:`CANONICAL`): current A, voltage V, power W, energy Wh, time s, frequency Hz,
resistance ohm; ratios are fractions (2 % -> 0.02); "count" is a plain number (power factor, repeats).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from dsl.suggest import closest

# dimension -> (canonical spelling, pint expression of the canonical unit)
CANONICAL: dict[str, tuple[str, str]] = {
    "current": ("A", "ampere"),
    "voltage": ("V", "volt"),
    "power": ("W", "watt"),
    "energy": ("Wh", "watt_hour"),
    "time": ("s", "second"),
    "frequency": ("Hz", "hertz"),
    "resistance": ("ohm", "ohm"),
    "ratio": ("", "dimensionless"),
    "count": ("", "dimensionless"),
    # pint cannot tell VA and var from W: these dimensions are kept apart by this table, not by pint.
    "reactive_power": ("var", "watt"),
    "apparent_power": ("VA", "watt"),
    "reactive_energy": ("varh", "watt_hour"),
    "apparent_energy": ("VAh", "watt_hour"),
}

# spelling -> (dimension, pint expression)
SPELLINGS: dict[str, tuple[str, str]] = {
    "A": ("current", "ampere"),
    "mA": ("current", "milliampere"),
    "kA": ("current", "kiloampere"),
    "V": ("voltage", "volt"),
    "mV": ("voltage", "millivolt"),
    "kV": ("voltage", "kilovolt"),
    "W": ("power", "watt"),
    "kW": ("power", "kilowatt"),
    "MW": ("power", "megawatt"),
    "Wh": ("energy", "watt_hour"),
    "kWh": ("energy", "kilowatt_hour"),
    "MWh": ("energy", "megawatt_hour"),
    "s": ("time", "second"),
    "ms": ("time", "millisecond"),
    "min": ("time", "minute"),
    "h": ("time", "hour"),
    "Hz": ("frequency", "hertz"),
    "kHz": ("frequency", "kilohertz"),
    "ohm": ("resistance", "ohm"),
    "Ω": ("resistance", "ohm"),
    "kohm": ("resistance", "kiloohm"),
    "kΩ": ("resistance", "kiloohm"),
    "%": ("ratio", "percent"),
    "var": ("reactive_power", "watt"),
    "kvar": ("reactive_power", "kilowatt"),
    "VA": ("apparent_power", "watt"),
    "kVA": ("apparent_power", "kilowatt"),
    "varh": ("reactive_energy", "watt_hour"),
    "kvarh": ("reactive_energy", "kilowatt_hour"),
    "VAh": ("apparent_energy", "watt_hour"),
    "kVAh": ("apparent_energy", "kilowatt_hour"),
}

# spelling -> factor to the canonical unit of its dimension. Must equal pint_factor(spelling) (tested).
FACTORS: dict[str, float] = {
    "A": 1.0, "mA": 1e-3, "kA": 1e3, "V": 1.0, "mV": 1e-3, "kV": 1e3, "W": 1.0, "kW": 1e3, "MW": 1e6,
    "Wh": 1.0, "kWh": 1e3, "MWh": 1e6, "s": 1.0, "ms": 1e-3, "min": 60.0, "h": 3600.0, "Hz": 1.0,
    "kHz": 1e3, "ohm": 1.0, "Ω": 1.0, "kohm": 1e3, "kΩ": 1e3, "%": 0.01, "var": 1.0, "kvar": 1e3,
    "VA": 1.0, "kVA": 1e3, "varh": 1.0, "kvarh": 1e3, "VAh": 1.0, "kVAh": 1e3,
}

# Words people write for units, mapped to the spelling they meant (used for "did you mean").
_COMMON_MISTAKES: dict[str, str] = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s", "mins": "min", "minute": "min",
    "minutes": "min", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "amp": "A", "amps": "A",
    "ampere": "A", "amperes": "A", "volt": "V", "volts": "V", "watt": "W", "watts": "W",
    "percent": "%", "pct": "%", "hertz": "Hz", "ohms": "ohm",
}

_ARTICLE = {"energy": "an", "apparent_power": "an", "apparent_energy": "an"}


@dataclass(frozen=True)
class Unit:
    spelling: str
    dimension: str
    factor: float  # value in this unit x factor = value in the canonical unit


class UnknownUnit(KeyError):
    """`spelling` is not a unit the language knows; `suggestion` is the nearest known spelling."""

    def __init__(self, spelling: str) -> None:
        super().__init__(spelling)
        self.spelling = spelling
        self.suggestion: str | None = suggest(spelling)


@functools.cache
def _registry() -> Any:
    import pint  # imported lazily: building the registry is the slow part, and many runs never need it

    return pint.UnitRegistry()


@functools.cache
def lookup(spelling: str) -> Unit:
    """The unit written as `spelling`; raises :class:`UnknownUnit`."""
    entry = SPELLINGS.get(spelling)
    if entry is None:
        raise UnknownUnit(spelling)
    return Unit(spelling, entry[0], FACTORS[spelling])


def pint_factor(spelling: str) -> float:
    """The factor of `spelling` as pint computes it (the authority :data:`FACTORS` is tested against)."""
    dimension, expr = SPELLINGS[spelling]
    canonical = CANONICAL[dimension][1]
    return float(_registry().Quantity(1.0, expr).to(canonical).magnitude)


def is_unit(spelling: str) -> bool:
    return spelling in SPELLINGS


def suggest(spelling: str) -> str | None:
    """The spelling a person most likely meant, or None."""
    if spelling in _COMMON_MISTAKES:
        return _COMMON_MISTAKES[spelling]
    if spelling.casefold() in _COMMON_MISTAKES:
        return _COMMON_MISTAKES[spelling.casefold()]
    return closest(spelling, SPELLINGS, cutoff=0.5)


def canonical_unit(dimension: str) -> str:
    return CANONICAL[dimension][0]


def describe(dimension: str) -> str:
    """For messages: ``a current (A)``, ``an energy (Wh)``, ``a percentage``, ``a plain number``."""
    if dimension == "ratio":
        return "a percentage"
    if dimension == "count":
        return "a plain number"
    if dimension == "state":
        return "a state"
    unit = CANONICAL.get(dimension, ("", ""))[0]
    name = dimension.replace("_", " ")
    article = _ARTICLE.get(dimension, "a")
    return f"{article} {name} ({unit})" if unit else f"{article} {name}"


def noun(dimension: str) -> str:
    """For messages: ``a current``, ``an energy``, ``a percentage``."""
    if dimension in ("ratio", "count", "state"):
        return describe(dimension)
    return f"{_ARTICLE.get(dimension, 'a')} {dimension.replace('_', ' ')}"


def example_unit(dimension: str) -> str:
    """A unit to show in a hint for `dimension` (``A`` for current, ``%`` for ratio)."""
    return "%" if dimension == "ratio" else CANONICAL.get(dimension, ("", ""))[0]
