"""Screening spec text before it is parsed: what must never reach the parser, the reports or the terminal.

- **Bidirectional control characters** (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) anywhere,
  strings and comments included: they make a line display differently from what it is, e.g. a scenario
  title that reads one way in a report and is another ("Trojan Source", CVE-2021-42574). Other control
  characters (C0 but tab, newline and form feed; DEL; C1) are refused alike: in a title they would
  reach the console and the report as terminal escapes.
- **Lines longer than** :data:`~dsl.limits.MAX_LINE_CHARS`, and **field objects nested deeper than**
  :data:`~dsl.limits.MAX_NESTING`: the parse tree and everything that walks it recurse per level, and
  per-line work grows with the line.

Each finding is a SpecError at its line and column. :func:`screen` is what the parser runs first; the
quick compiler (:mod:`dsl.quick`) and the per-line parse use the cheap yes/no tests, so neither path can
let such a file through::

    screened = screen("specs/x.spec", lines)
    screened.errors, screened.blank      # every finding; the lines the parser must not read
"""

from __future__ import annotations

import re
import unicodedata

import msgspec

from dsl.errors import SpecError
from dsl.limits import MAX_LINE_CHARS, MAX_NESTING
from dsl.plan import Source

MAX_CHARACTER_ERRORS = 50  # lines reported for hostile characters (the file is refused after one)

BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_HOSTILE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
                      "\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# In a line: strings (skipped whole), placeholders (a "{" that is not a field object), brackets, and the
# first unpaired quote or comment sign (the rest of the line is a string or a comment to the lexer).
_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\{[A-Za-z_][A-Za-z0-9_]*\}|[{}\[\]"#]')


class Screened(msgspec.Struct, frozen=True):
    """What :func:`screen` found: every error, and the line numbers the parser must blank out."""

    errors: tuple[SpecError, ...] = ()
    blank: frozenset[int] = frozenset()


# The ASCII characters a spec may hold: printable ones, tab, newline, form feed and carriage return.
_ASCII_ALLOWED = bytes(c for c in range(128) if _HOSTILE.match(chr(c)) is None)


def has_hostile_characters(text: str) -> bool:
    if text.isascii():  # (most files: their bytes filtered in C, ~6x faster than the search)
        return bool(text.encode("ascii").translate(None, _ASCII_ALLOWED))
    return _HOSTILE.search(text) is not None


def line_too_big(line: str) -> bool:
    """A line over the length limit or nesting too deep (the cheap test: most lines have few brackets)."""
    if len(line) > MAX_LINE_CHARS:
        return True
    if line.count("{") + line.count("[") <= MAX_NESTING:
        return False
    return _nesting(line)[0] > MAX_NESTING


def screen(file: str, lines: list[str]) -> Screened:
    """Every hostile character (the first of each line), over-long line and over-deep field object."""
    errors: list[SpecError] = []
    blank: set[int] = set()
    text = "\n".join(lines)
    if has_hostile_characters(text):
        errors.extend(_characters(file, lines))
    for number, line in enumerate(lines, start=1):
        if not line_too_big(line):
            continue
        blank.add(number)
        if len(line) > MAX_LINE_CHARS:
            errors.append(SpecError(
                Source(file, number, MAX_LINE_CHARS + 1, line),
                f"line is {len(line):,} characters long (the limit is {MAX_LINE_CHARS:,})",
                "split it up: no statement needs that much", 1))
            continue
        deepest, column = _nesting(line)
        errors.append(SpecError(
            Source(file, number, column, line),
            f"field objects nested {deepest} deep (the limit is {MAX_NESTING})",
            "flatten it: OCPP messages nest a few levels", 1))
    return Screened(tuple(errors), frozenset(blank))


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``; control characters have no Unicode name, only a number."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _characters(file: str, lines: list[str]) -> list[SpecError]:
    errors: list[SpecError] = []
    for number, line in enumerate(lines, start=1):
        m = _HOSTILE.search(line)
        if m is None:
            continue
        char = m.group()
        if char in BIDI:
            message = f"bidirectional control character {describe(char)}"
            hint = ('it makes the line display differently from what it is ("Trojan Source", '
                    "CVE-2021-42574): delete it")
        else:
            message = f"control character {describe(char)}"
            hint = "delete it: a spec holds printable text, spaces and newlines only"
        errors.append(SpecError(Source(file, number, m.start() + 1, line), message, hint, 1))
        if len(errors) >= MAX_CHARACTER_ERRORS:
            break
    return errors


def _nesting(line: str) -> tuple[int, int]:
    """The deepest nesting of ``{``/``[`` on the line, and the column of the first bracket past the limit."""
    depth = deepest = 0
    column = 0
    for m in _BRACKETS.finditer(line):
        token = m.group()
        if token in ("{", "["):
            depth += 1
            if depth > deepest:
                deepest = depth
            if depth > MAX_NESTING and not column:
                column = m.start() + 1
        elif token in ("}", "]"):
            depth = max(0, depth - 1)
        elif token in ('"', "#"):  # an unterminated string or a comment: the rest is not brackets
            break
    return deepest, column or 1
