"""Failure messages in words for people: what Allure shows as a scenario's or a step's status message.

Allure's pytest adapter writes a failure as Python prints an exception, `runner.errors.ExpectationFailed:
/home/lab/chargespec/specs/x.spec:17:5: …`, with the step's Python traceback under it. A contract manager
reads neither a class name nor the lab PC's folder layout. :func:`message` says instead what the verdict
means (a charger failure needs no prefix: the status says "failed"; a bench fault is named as one; an error
of the harness itself says so), and :func:`without_roots` shows files relative to the project. For the
verdicts' own errors the Python traceback is dropped (:func:`keeps_trace`): the message names the spec line,
signal, bound, value and time; an unexpected error keeps it, relative, for whoever fixes the harness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

# What an exception's class means to a reader; "" for those whose status (failed, skipped) says it all.
_MEANING: dict[str, str] = {
    "ExpectationFailed": "",
    "AssertionError": "",
    "Failed": "",
    "Skipped": "",
    "ScenarioInterrupted": "",
    "NotSupportedByCharger": "",
    "BenchError": "bench fault, not a charger failure: ",
}
_VERDICT_ERRORS = frozenset({"ExpectationFailed", "BenchError", "ScenarioInterrupted", "Failed", "Skipped"})
UNEXPECTED = "unexpected error in the bench or runner: "
# The class name Python puts first when it prints an exception: dotted module path, then the class.
_CLASS = re.compile(r"^(?:XFAIL[^\n]*\n\n)?(?P<cls>(?:[A-Za-z_]\w*\.)*(?P<name>[A-Za-z_]\w*))(?::[ \t]?|$)")


def _class_of(text: str) -> str | None:
    m = _CLASS.match(text)
    return m.group("name") if m else None


def message(text: str | None, roots: Iterable[Path] = ()) -> str | None:
    """An Allure status message (`module.Class: words`) as words for people."""
    if not text:
        return text
    m = _CLASS.match(text)
    if m is not None and (m.group("name") in _MEANING or _looks_like_class(m.group("cls"))):
        lead = _MEANING.get(m.group("name"), UNEXPECTED)
        text = text[:m.start("cls")] + lead + text[m.end():]
    return without_roots(text.rstrip("\n"), roots)


def _looks_like_class(dotted: str) -> bool:
    # Python prints `module.Class` or a builtin `SomeError`; a sentence's first word followed by a colon is
    # neither dotted nor an exception-like name.
    return "." in dotted or dotted.endswith(("Error", "Exception", "Exit", "Interrupt", "Timeout", "Warning"))


def keeps_trace(text: str | None) -> bool:
    """Whether a failure's Python traceback helps its reader: not for the verdicts' own errors."""
    return _class_of(text or "") not in _VERDICT_ERRORS


def without_roots(text: str, roots: Iterable[Path]) -> str:
    """`text` with each absolute root folder (the project, the working directory) cut from the paths in it."""
    for root in sorted({str(Path(r)) for r in roots}, key=len, reverse=True):
        if root not in ("/", ""):
            text = text.replace(root + "/", "")
    return text
