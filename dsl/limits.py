"""The language's limits on a spec file, in one place (docs/language.md, "Limits", publishes them).

A spec file is input from outside the lab as often as from inside it (a vendor's test procedure, a
spec found in a ticket). These bounds make any file, however odd, end in errors within a second or so,
never in a crash, a hang or an effect on the machine. Each is far above what a real spec needs: the
library's largest file is a few KB, its longest line ~220 characters, its deepest field object 4 levels.
"""

from __future__ import annotations

MAX_SPEC_BYTES = 1 << 20
"""Size cap of a spec file, read or included (1 MiB): no file is read past it."""

MAX_LINE_CHARS = 4096
"""Characters on one line: bounds the work each statement can cause (a field object is one line)."""

MAX_NESTING = 32
"""Depth of field objects and lists, ``{a: {b: [..]}}`` counting every ``{`` and ``[``."""

MAX_BLOCK_DEPTH = 32
"""Depth of indented blocks (spec > scenario > repeat > repeat ...)."""

MAX_INCLUDE_DEPTH = 16
"""Depth of shared setups including shared setups (each include expands where it stands)."""

MAX_INCLUDED_STATEMENTS = 10_000
"""Statements all includes of one file expand to, every scenario instance counted: a setup including
another twice, 30 deep, would otherwise expand to 2^30 statements."""

MAX_PLAN_STEPS = 20_000
"""Steps one file compiles to: every scenario instance (example) counts its setup, body and teardown."""

MAX_ERRORS = 200
"""Errors the checker finds in one file before it stops (each may cost a "did you mean" search)."""

ERROR_CONTEXT = 80
"""Characters of a long source line shown each side of the caret in a rendered error."""

MAX_REPEAT_TIMES = 10_000
"""Trials of one `repeat N times`: a repeat runs its block N times on the bench, at least seconds each, so
10,000 is days of bench time; a larger N (`repeat 10^400 times`) would never end."""

MAX_EVSE = 999
"""The largest EVSE number a line may name (`on evse N`, `charger status evse N`): stations have a handful,
a depot a few dozen; OCPP numbers them from 1. A number past it is a typo, and could not be held by a bench."""


def evse_in_range(digits: str) -> bool:
    """Whether a whole number written in ASCII digits is at most MAX_EVSE (not read when it is long)."""
    return len(digits.lstrip("0")) <= len(str(MAX_EVSE)) and int(digits) <= MAX_EVSE


def evse_out_of_range(digits: str) -> str:
    return f"EVSE {shown_number(digits)} is past the largest EVSE number a spec may name ({MAX_EVSE})"


def shown_number(digits: str) -> str:
    """A whole number for a message: a long one as its ends and its length (`10000…0000, 401 digits`)."""
    return digits if len(digits) <= 12 else f"{digits[:5]}…{digits[-4:]} ({len(digits)} digits)"
