"""The language's one error type: every mistake in a spec, with where it is and what to do.

`SpecError` is one finding (a value); `SpecErrors` is the exception carrying all findings of a run.
Rendered for people, compiler style::

    specs/x.spec:12:52: unknown unit "kwh" — did you mean "kWh"?
      expect charger energy over "steady" within 2 kwh of analyzer energy
                                                   ^^^
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from dsl.limits import ERROR_CONTEXT, MAX_ERRORS
from dsl.plan import Source


class SpecError(msgspec.Struct, frozen=True):
    """One mistake: `source` points at it (1-based line/column), `width` characters are underlined."""

    source: Source
    message: str
    hint: str | None = None
    width: int = 1

    def headline(self) -> str:
        hint = f" — {_printable(self.hint)}" if self.hint else ""
        return f"{_printable(str(self.source))}: {_printable(self.message)}{hint}"  # (a file name too)

    def __str__(self) -> str:
        return self.headline()

    def render(self) -> str:
        """The headline, then the source line and a caret (``^^^`` over the span when known).

        A long line is shown as the :data:`~dsl.limits.ERROR_CONTEXT` characters each side of the caret,
        "…" marking what is left out; characters that are not printable are shown as "?".
        """
        text = self.source.text.rstrip()
        if not text.strip():
            return self.headline()
        stripped = text.lstrip()
        lead = len(text) - len(stripped)
        offset = max(0, min(self.source.column - 1 - lead, len(stripped)))
        width = max(1, min(self.width, len(stripped) - offset)) if offset < len(stripped) else 1
        start, end = 0, len(stripped)
        if len(stripped) > 3 * ERROR_CONTEXT:  # (the library's longest line is ~220 characters)
            width = min(width, ERROR_CONTEXT)
            start, end = max(0, offset - ERROR_CONTEXT), min(len(stripped), offset + width + ERROR_CONTEXT)
        before, after = ("…" if start > 0 else ""), ("…" if end < len(stripped) else "")
        shown = before + "".join(c if c.isprintable() or c == "\t" else "?" for c in stripped[start:end]) + after
        offset += len(before) - start
        pad = "".join("\t" if c == "\t" else " " for c in shown[:offset])
        return f"{self.headline()}\n  {shown}\n  {pad}{'^' * width}"


_MESSAGE_MAX = 240  # characters of a message or hint before its middle is elided


def _printable(message: str) -> str:
    """A message safe to print: its middle elided when long, unprintable characters as escapes (never raw).

    Messages quote what the spec wrote, and a hostile spec can write a 100,000-character statement or a
    terminal escape; the spec's own characters must not reach the console or the report as such.
    """
    if len(message) > _MESSAGE_MAX:
        message = message[: _MESSAGE_MAX - 60] + " … " + message[-57:]
    if not message.isprintable():
        message = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in message)
    return message


class SpecErrors(Exception):
    """Raised by the language with every error found (never a bare Lark or Python error)."""

    def __init__(self, errors: Iterable[SpecError]) -> None:
        self.errors: tuple[SpecError, ...] = tuple(errors)
        super().__init__(self.render())

    def __iter__(self) -> Iterator[SpecError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)


class Refused(Exception):
    """A file the language will not read (:mod:`dsl.confine`), why (`message`) and what to do (`hint`).

    Defined here, with the other error types, so that it is one class for as long as ``dsl`` is
    imported (pytester's in-process runs drop and re-import ``dsl`` submodules first imported in them).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def sort_errors(errors: Iterable[SpecError]) -> list[SpecError]:
    """File order, duplicates dropped (the same mistake seen once per scenario example)."""
    seen: dict[tuple[str, int, int, str], SpecError] = {}
    for e in errors:
        seen.setdefault((e.source.file, e.source.line, e.source.column, e.message), e)
    return sorted(seen.values(), key=lambda e: (e.source.file, e.source.line, e.source.column))


class ErrorSink:
    """Collects errors while checking; messages about substituted example values say which example.

    After :data:`~dsl.limits.MAX_ERRORS` it is `full`: one more error says the checking stopped there,
    and the checker stops (a hostile file of 20,000 unknown statements took a minute of suggestions).
    """

    def __init__(self) -> None:
        self.errors: list[SpecError] = []
        self._counted = 0

    @property
    def full(self) -> bool:
        return self._counted >= MAX_ERRORS

    def at(self, node: Any, message: str, hint: str | None = None) -> None:
        if self.full:
            return
        origin = _origin(node)
        if origin:
            message = f"{message} (example {origin})"
        self.errors.append(SpecError(node.source, message, hint, getattr(node, "width", 1)))
        self._counted += 1
        if self.full:
            self.errors.append(SpecError(node.source, f"more than {MAX_ERRORS} errors: checking stopped here",
                                         "fix these first"))

    def extend(self, errors: Iterable[SpecError]) -> None:
        self.errors.extend(errors)

    def __len__(self) -> int:
        return len(self.errors)


def _origin(node: Any) -> str:
    if getattr(node, "origin", ""):
        return str(node.origin)
    for atom in getattr(node, "atoms", ()):
        if getattr(atom, "origin", ""):
            return str(atom.origin)
    return ""
