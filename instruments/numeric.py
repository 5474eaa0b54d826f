"""Numbers as analyzers send them: missing data and overrange become None, never zero.

    parse_values("230.1E+00,NAN,9.9E+37")   # -> [230.1, None, None]

Yokogawa, Hioki and ZES answer ``NAN`` when an item has no data yet, ``INF`` or ``9.9E+37`` (the IEEE-488.2
"not a number" convention) when it is over range, and some firmwares send display texts such as ``-OL-``.
Anything else that is not a number in SCPI's decimal forms (NR1/NR2/NR3: ``16``, ``230.1``, ``+2.3E+02``) is
a protocol error, so garbage never slips through as a value — not even what Python's ``float`` would take
(``2_30`` is 230 to it, ``١٦`` is 16).
"""

from __future__ import annotations

import math
import re

# 9.9E+37 is the SCPI/IEEE-488.2 marker for overrange or no data; 9.91E+37 for NaN. Any magnitude this
# large cannot be a measurement.
_OVERRANGE = 9.0e37
_MISSING_WORDS = frozenset({"NAN", "+NAN", "-NAN", "INF", "+INF", "-INF", "INFINITY", "+INFINITY", "-INFINITY",
                            "-OL-", "-OF-"})
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:E[+-]?\d+)?", re.ASCII | re.IGNORECASE)


class NotANumber(ValueError):
    """A token that is neither a number nor one of the instrument's 'no data' markers."""


def parse_value(token: str) -> float | None:
    text = token.strip()
    if text.upper() in _MISSING_WORDS:
        return None
    if _DECIMAL.fullmatch(text) is None:
        raise NotANumber(f"{text!r} is not a number")
    value = float(text)
    if not math.isfinite(value) or abs(value) >= _OVERRANGE:
        return None
    return value


def parse_values(answer: str, sep: str = ",") -> list[float | None]:
    """Split an ASCII numeric answer and parse each item; raises NotANumber naming the bad item."""
    tokens = answer.strip().split(sep)
    out: list[float | None] = []
    for i, tok in enumerate(tokens, start=1):
        try:
            out.append(parse_value(tok))
        except NotANumber as e:
            raise NotANumber(f"item {i}: {e}") from None
    return out
