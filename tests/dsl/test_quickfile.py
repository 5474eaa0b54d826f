"""dsl.quickfile reads a whole file (examples, repeats) to exactly the tree dsl.parser builds, or leaves it.

Compared with the Lark parse (without its per-line fast path) on every file of the spec library, the
language reference's examples, hand-made edge files and hypothesis mutations of the library's files with
examples and repeats. Plans and errors then come from dsl.compiler.analyze, as on the full path
(tests/dsl/test_quick.py compares the plans of every library file).
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import quick
from dsl.parser import parse_partial
from dsl.quickfile import read_file
from dsl.steps import builtin_registry
from dsl.text import normalize

REPO = Path(__file__).resolve().parents[2]
LIBRARY = sorted((REPO / "specs").rglob("*.spec"))
# The library's files the template path leaves (examples or repeats): the ones this reader is for.
WHOLE = [p for p in LIBRARY
         if re.search(r"^ +(scenario .* for \w+ in |repeat |when )", p.read_text(encoding="utf-8"), re.M)]


def agrees(text: str, file: str = "x.spec") -> bool:
    """The reader's tree is None or Lark's (comments aside; the reader keeps none); True when it served."""
    text = normalize(text)
    fast = read_file(text, file)
    if fast is None:
        return False
    tree, errors = parse_partial(text, file, fast=False)
    assert tree is not None and not errors, text
    assert fast == msgspec.structs.replace(tree, comments=()), text
    return True


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_every_library_file_is_read_to_the_parsers_tree(path: Path) -> None:
    assert agrees(path.read_text(encoding="utf-8"), str(path))


def test_the_library_has_files_with_examples_and_repeats_and_all_take_a_quick_path() -> None:
    assert len(WHOLE) >= 3  # (energy-register-accuracy, reset, txprofile-current-limit; TC_B_11_CS no longer)
    for path in WHOLE:
        text = normalize(path.read_text(encoding="utf-8"))
        assert quick.compile_text(text, str(path), "digest", builtin_registry()) is not None, path


def test_reference_examples_agree() -> None:
    doc = (REPO / "docs" / "language.md").read_text(encoding="utf-8")
    served = [agrees(b) for b in re.findall(r"```spec\n(.*?)```", doc, re.DOTALL)]
    assert any(served)


BASE = '''spec "s"
  version 1
  refs "A", "B"
  tags x, y-z

  setup
    charger booted

  scenario "limit {limit}" for limit in 6 A, 10 A, "x", w, 5 %
    csms sets TxProfile on evse 1: limit {limit}
    repeat 2 times
      expect within 15 s, then for 60 s: analyzer current L1 <= {limit} + 0.6 A
    expect at least 95 % of trials pass

  teardown
    session stops
'''


@pytest.mark.parametrize("text", [
    BASE,
    BASE.replace("    repeat 2 times\n", "    repeat 2 times\n      repeat 3 times\n  "),
    BASE.replace("for limit in 6 A, 10 A", "for limit in 6 A 10 A"),          # a syntax error
    BASE.replace("for limit in 6 A, 10 A", "for limit in"),
    BASE.replace("for limit in 6 A, 10 A", "for limit in 6 A,"),
    BASE.replace("for limit in", "for limit on"),
    BASE.replace("    repeat 2 times\n", "    repeat 2 times\n    ev unplugs\n"),  # an empty repeat
    BASE.replace("      expect within", "        expect within"),
    BASE.replace("    csms sets", "   csms sets"),                            # a stray dedent
    BASE.replace("  teardown\n", "  teardown\n  examples\n"),
    BASE.replace("    charger booted", "    include setup \"x\""),
    BASE.replace("    charger booted", "    charger booted # a comment"),
    BASE.replace("  version 1", "  version 1 # one"),
    BASE.replace('spec "s"', 'setup "named"\n  charger booted\nspec "s"'),
    BASE.replace('"limit {limit}"', '"limit {limit} \\" q"'),
    BASE.replace("  setup\n    charger booted\n", "  setup\n"),
    BASE + "\n  scenario \"t\"\n    | a |\n",
])
def test_edge_files_agree(text: str) -> None:
    agrees(text)


WHEN = BASE.replace("    repeat 2 times\n", '    when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":\n')


@pytest.mark.parametrize(("text", "served"), [
    (WHEN, True),
    (WHEN.replace(" is ", " is not "), True),
    (WHEN.replace('"true":', '"true" or absent:'), True),
    (WHEN.replace('"true":', '"true" or  absent:'), False),
    (WHEN.replace('AuthorizeRemoteStart is "true"', 'TxStartPoint holds "EVConnected,Authorized"'), True),
    (WHEN.replace('AuthorizeRemoteStart is "true"', 'TxStartPoint does not hold "Authorized"'), True),
    (WHEN.replace("AuthCtrlr.AuthorizeRemoteStart", "OCPPCommCtrlr.MessageAttempts[TransactionEvent]"), True),
    (WHEN.replace('"true":\n', '"true":\n      when charger variable TxCtrlr.TxStartPoint holds "x":\n  '), True),
    (BASE.replace("      expect within", '      when charger variable AuthCtrlr.Enabled is "{limit}":\n'
                  "        expect within"), True),                              # in a repeat, with a placeholder
    (WHEN.replace('"true":', '"true"'), False),                                 # no colon: a syntax error
    (WHEN.replace(" is ", "  is "), False),                                     # unusual spacing
    (WHEN.replace(" is ", " equals "), False),
    (WHEN.replace("AuthCtrlr.AuthorizeRemoteStart", "AuthCtrlr"), False),       # one word: the parser decides
    (WHEN.replace("AuthCtrlr.AuthorizeRemoteStart", "Auth-Ctrlr.X"), False),
    (WHEN.replace('"true":\n', '"true":\n    ev unplugs\n'), False),            # an empty block
    (WHEN.replace("charger variable", "charger  variable"), False),
])
def test_when_blocks_are_read_to_the_parsers_tree(text: str, served: bool) -> None:
    assert agrees(text) is served


_PIECES = [" ", "  ", "\n", "\n  ", "\n    ", "repeat 2 times", "for x in 1, 2", ",", "{x}", '"', "#", "\t",
           "scenario", "setup", "examples", "| a |", "times", "in", "1 A", "%",
           'when charger variable TxCtrlr.TxStartPoint holds "A":', " is not", ":"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([p.read_text(encoding="utf-8") for p in WHOLE] + [BASE, WHEN]),
       st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 3), st.sampled_from(_PIECES)),
                min_size=1, max_size=3))
def test_mutated_files_agree(text: str, edits: list[tuple[int, int, str]]) -> None:
    for at, cut, piece in edits:
        at = at % (len(text) + 1)
        text = text[:at] + piece + text[at + cut:]
    agrees(text)


@pytest.mark.parametrize("text", [
    BASE.replace("6 A, 10 A", "6 A, 6 A"),                                   # two instances, one name
    BASE.replace("limit {limit}\n", "limit {limt}\n"),                       # an unbound placeholder
    BASE.replace("    csms sets", "    csms setz"),                          # unknown statement
    BASE.replace("repeat 2 times", "repeat 0 times"),
    BASE.replace("<= {limit} + 0.6 A", "<= {limit} + 0.6 kW"),               # a dimension mismatch
])
def test_files_with_errors_are_never_served_and_stay_errors(text: str, tmp_path: Path) -> None:
    import dsl

    text = normalize(text)
    assert read_file(text, "x.spec") is not None  # (the tree is read: the errors are the checker's)
    assert quick.compile_text(text, "x.spec", "digest", builtin_registry()) is None
    path = tmp_path / "x.spec"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(dsl.SpecErrors) as raised:
        dsl.load(path)
    tree, _ = parse_partial(text, str(path), fast=False)
    assert list(raised.value.errors) == dsl.check(tree)
