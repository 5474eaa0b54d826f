"""Error wording that names what is there: invisible characters by their Unicode name, setups by their own
name (tests/dsl/golden/ holds the rendered form of the common mistakes)."""

from __future__ import annotations

import pytest

import dsl


def _headlines(text: str) -> list[str]:
    spec_file, errors = dsl.parser.parse_partial(text, "x.spec")
    if spec_file is not None:
        errors = [*errors, *dsl.check(spec_file)]
    return [e.headline() for e in errors]


@pytest.mark.parametrize(("char", "message", "hint"), [
    ("\u2028", "unexpected character U+2028 LINE SEPARATOR",
     "a Unicode line separator: end the line with a plain newline"),
    ("\u200b", "unexpected character U+200B ZERO WIDTH SPACE", "an invisible character: delete it"),
    ("\u00a0", "unexpected character U+00A0 NO-BREAK SPACE",
     "a space that is not a plain one (copied from a document?): write a plain space"),
    ("\u2212", 'unexpected character "\u2212"', 'a dash that is not a minus: write "-"'),
    ("\u201d", 'unexpected character "\u201d"',
     'a typographic quote (copied from a document?): write strings in straight double quotes "…"'),
])
def test_a_character_the_language_does_not_read_is_named(char: str, message: str, hint: str) -> None:
    # (U+2028 was shown as "\x2028": a \x20 escape and the digits 28)
    (headline,) = _headlines(f'spec "s"\n  scenario "x"\n    ev draws 16{char}A\n')
    assert headline == f"x.spec:3:16: {message} — {hint}"


def test_an_include_cycle_names_setups_whose_names_hold_a_colon() -> None:
    text = ('spec "s"\n  setup\n    include setup "step: one"\n  scenario "x"\n    wait 1 s\n\n'
            'setup "step: one"\n  include setup "step: two"\n\nsetup "step: two"\n  include setup "step: one"\n')
    assert _headlines(text) == [
        'x.spec:11:3: include cycle: "step: one" -> "step: two" -> "step: one" — a shared setup cannot include '
        "itself, directly or through another: drop one include"]
