"""Reading what a SCPI instrument says went wrong: its error queue, or its event status register.

Instruments never put an error in a reply; they queue it (IEEE 488.2, SCPI). A driver names the query
that pops one entry of the queue, ``<code>,"<text>"`` with 0 for "no error" (Yokogawa WT:
``:STATus:ERRor?``; SCPI instruments: ``:SYSTem:ERRor?``), or ``*ESR?`` for an instrument without a
queue, whose error bits then stand in for the text:

    parse_entry('-113,"Undefined header"')         # -> (-113, "Undefined header")
    parse_entry(':STATUS:ERROR 0,"No error"')       # -> (0, "No error")     (a header is skipped)
    esr_errors(36)                                  # -> ((32, "command error (CME)"), (4, "query error (QYE)"))

Query errors (codes 400..499, SCPI -400..-499; bit QYE of ``*ESR?``) are what an instrument reports when
an answer was not read (-410 "Query INTERRUPTED") — the expected trace of a timeout, not a refusal.
"""

from __future__ import annotations

import re

ESR_QUERY = "*ESR?"
#: Entries read from a queue before giving up: a queue that never says "no error" is not a queue.
MAX_ENTRIES = 32

_ENTRY = re.compile(r'([+-]?\d+)\s*,\s*"?(.*?)"?\s*$')
# Event status register bits that mean an error (IEEE 488.2 11.5.1), most severe first.
_ESR_BITS = ((32, "command error (CME)"), (16, "execution error (EXE)"), (8, "device-dependent error (DDE)"),
             (4, "query error (QYE)"))


def parse_entry(answer: str) -> tuple[int, str] | None:
    """(code, text) of one error-queue answer, or None if it is not one."""
    text = answer.strip()
    # With headers on, the answer reads ":STATUS:ERROR 0,\"No error\""; the entry is after the header.
    if text.startswith(":") and " " in text:
        text = text.split(" ", 1)[1]
    m = _ENTRY.match(text)
    return (int(m.group(1)), m.group(2)) if m else None


def parse_esr(answer: str) -> int | None:
    """The event status register's value, or None if the answer is not a number 0..255."""
    word = answer.strip().split()[-1] if answer.strip() else ""
    try:
        value = int(word)
    except ValueError:
        return None
    return value if 0 <= value <= 255 else None


def esr_errors(esr: int) -> tuple[tuple[int, str], ...]:
    """The error bits set in an event status register value, as (bit value, name)."""
    return tuple((bit, name) for bit, name in _ESR_BITS if esr & bit)


def is_query_error(code: int, *, esr: bool = False) -> bool:
    """An unread or interrupted answer (the trace of a timeout), not a command the instrument refused."""
    return code == 4 if esr else 400 <= abs(code) <= 499
