"""docs/language.md stays true: every ```spec example in it parses and checks clean, and is in the
canonical layout. Whole files start with `spec "…"` or `setup "…"`; other blocks are statement
fragments, placed in a minimal spec and scenario (the convention the document states)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dsl
from dsl.fmt import format_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(info: str) -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m.group("body")) for m in FENCE.finditer(text)
            if m.group("info").strip() == info]


def as_file(body: str) -> str:
    """A whole file as it is; a fragment wrapped in `spec "example"` / `scenario "example"`."""
    code = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if code and code[0].startswith(("spec ", 'setup "')):
        return body
    return 'spec "example"\n  scenario "example"\n' + "".join(
        f"    {line}\n" if line.strip() else "\n" for line in body.splitlines())


SPEC_BLOCKS = blocks("spec")


def test_the_reference_has_examples_of_every_construct() -> None:
    joined = "\n".join(body for _, body in SPEC_BLOCKS)
    for construct in ("version", "refs", "tags", "setup", "teardown", "scenario", "for ", "examples",
                      "repeat", "include setup", "measure", "expect within", "expect for", ", then for", "over",
                      "charger sends", "every", "expect no", "replies error", "expect at least", "±", "#",
                      '" or "', "present", "absent", "not 0", "} or ", "exactly", "at least 2", " after ",
                      "remember ", "remembered", "[TransactionEvent]", "on evse 1 to", "when charger variable",
                      " holds ", " does not hold ", " is not "):
        assert construct in joined, f"no checked example shows {construct!r}"


@pytest.mark.parametrize(("line", "body"), SPEC_BLOCKS, ids=[f"line{n}" for n, _ in SPEC_BLOCKS])
def test_every_spec_example_checks_clean(line: int, body: str) -> None:
    name = f"docs/language.md:{line}"
    spec_file = dsl.parse(as_file(body), name)
    errors = dsl.check(spec_file)
    assert not errors, "\n".join(e.render() for e in errors)
    plans = dsl.compile(spec_file)
    assert plans or spec_file.setups


@pytest.mark.parametrize(("line", "body"), SPEC_BLOCKS, ids=[f"line{n}" for n, _ in SPEC_BLOCKS])
def test_every_spec_example_is_in_canonical_layout(line: int, body: str) -> None:
    text = as_file(body)
    assert format_text(text, "example.spec") == text
