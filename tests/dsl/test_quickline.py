"""dsl.quickline reads a statement line to exactly the node Lark's parse builds, or leaves it to Lark.

Compared with dsl.parser.parse_statement (the Lark path) on every statement line of the spec library,
the language reference, the goldens and the fixtures, on lines made to sit on the keyword edges of the
contextual lexer, and on hypothesis mutations of the library's lines.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import quickline
from dsl.parser import _is_statement, parse_statement

REPO = Path(__file__).resolve().parents[2]


def _statement_lines() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "specs").rglob("*.spec"))]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted((REPO / "tests" / "dsl").rglob("*.spec"))]
    for doc in sorted((REPO / "docs").glob("*.md")):
        texts += re.findall(r"```spec\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)
    lines = {line for text in texts for line in text.split("\n") if _is_statement(line.lstrip(" "))}
    return sorted(lines)


LINES = _statement_lines()


def agrees(line: str) -> bool:
    """The reader's node is None or the Lark path's; True when it served the line."""
    fast = quickline.read_statement(line)
    if fast is not None:
        assert fast == parse_statement(line), line
    return fast is not None


def test_the_reader_follows_this_grammar() -> None:
    # Changing dsl/chargespec.lark turns the reader off (every line goes to Lark) until someone checks
    # dsl/quickline.py against the new rules and keywords and updates GRAMMAR_SHA256.
    grammar = (REPO / "dsl" / "chargespec.lark").read_bytes()
    assert hashlib.sha256(grammar).hexdigest() == quickline.GRAMMAR_SHA256, (
        "dsl/chargespec.lark changed: check dsl/quickline.py against it, then update GRAMMAR_SHA256")
    assert quickline.enabled()


def test_every_statement_line_of_the_library_docs_and_tests_agrees() -> None:
    served = sum(agrees(line) for line in LINES)
    assert len(LINES) > 500
    # The library's lines are mostly the forms the reader knows (what makes cold collection cheap).
    pack = {line for line in LINES if line in "".join(p.read_text(encoding="utf-8")
                                                       for p in (REPO / "specs" / "octt").rglob("*.spec"))}
    pack_served = sum(quickline.read_statement(line) is not None for line in pack)
    assert pack_served >= 0.9 * len(pack), (pack_served, len(pack))
    assert served > 0.4 * len(LINES)


@pytest.mark.parametrize("line", [
    # keywords read as the contextual lexer reads them: a longer word is left to Lark, and so is a
    # keyword the grammar does not accept there
    '    csms sends X {a: 1 order}',
    '    expect charger sends StatusNotification orelse',
    '    expect charger sends A within 5 s aftermath B',
    '    expect charger sends A within 5 s after B {c: 1}',
    '    expect charger sends A within 5 afterwards',
    '    expect charger replies errors',
    '    expect charger replies error NotSupported',
    '    expect within 5 after: analyzer current L1 > 1 A',
    '    expect within 5 s: charger replies {status: "Accepted"}',
    '    expect within 5 s: charger status evse 1 is Available or Occupied',
    '    expect within 5 s: charger sends A or B {c: 1} or C',
    '    expect charger status evse 1 is or',
    '    expect charger energy over "w" within 1 % of analyzer energy over "w"',
    '    expect for 10 s: ev offered current <= 10 A',
    '    expect for 10 s: charger sends A',
    '    expect ev pwm duty ≤ 17 %',
    '    expect no StatusNotification {evseId: 1} for 30 s',
    '    expect no StatusNotification for 30 s of',
    '    remember x of the first as {a: 1} as "y"',
    '    remember x of the firstly A as "y"',
    '    remember x ofthe first A as "y"',
    '    remember transactionInfo.transactionId of the last TransactionEvent {eventType: "Started"} as "tx"',
    '    measure "w" for 10 min',
    '    measure "w" until session ends',
    '    measure "w" until',
    '    measure "w" formerly',
    '    csms sends X {a: not}',
    '    csms sends X {a: or}',
    '    csms sends X {a: not not 1}',
    '    csms sends X {a: not 1 or 2}',
    '    csms sends X {a: - 5, b: -5, "c d": [1, [2], {}], e: remembered "x"}',
    '    csms sets variable OCPPCommCtrlr.MessageAttempts[TransactionEvent] to "3"',
    '    csms sends X {a: B.C[d]}',
    '    csms sends X {a: 1}, 2, -3 %: +',
    '    ev draws 16A',
    '    ev draws 1.5.3 A',
    '    ev draws 16 A # a comment',
    '    ev draws {load}',
    '    ev draws 16 A +- 1 A',
    '    expect charger sends exactly 0 A',
    '    expect charger sends at least 2 A {b: absent}',
    '    expect charger sends at leastwise 2 A',
    '    expect charger sends exactly A',
    '    expect within 15 s, then for 30 s: ev offered current <= 10 A',
    '    expect every TransactionEvent of the session: seqNo increases by 1',
    '    expect at least 95 % of trials pass',
    '    expectation holds',
    '    charger sends X',
    # the forms read since the first version: settle, accuracy, interval, rule, trials, registry expectations
    '    expect within 15 s, then for 30 s: ev offered current <= {limit} + 0.6 A',
    '    expect within 15 s, then 30 s: ev offered current <= 10 A',
    '    expect within 15 s, then for 30 s: charger sends A',
    '    expect for 15 s, then for 30 s: ev offered current <= 10 A',
    '    expect charger energy within 2 % of analyzer energy over "w"',
    '    expect charger energy over "w" within 2 % of analyzer energy is 1',
    '    expect charger energy over "w" within 2 % of analyzer energy within 1 s',
    '    expect charger energy over w within 2 % of analyzer energy',
    '    expect {x} energy within 2 % of analyzer energy',
    '    expect analyzer current L{n} >= {load} - 1 A',
    '    expect charger sends MeterValues {evseId: 1} every 60 s ± 5 s during "idle"',
    '    expect charger sends TransactionEvent every 10 s ± 2 s',
    '    expect charger sends TransactionEvent every 10 s +- 2 s',
    '    expect charger sends TransactionEvent every 10 s ± 2 s during idle',
    '    expect charger sends A or B every 10 s ± 2 s',
    '    expect charger sends exactly 1 A every 10 s ± 2 s',
    '    expect within 5 s: charger sends A every 10 s ± 2 s',
    '    expect every message: matches the schema',
    '    expect every message: timestamp within 2 s of bench time',
    '    expect every TransactionEvent {eventType: "Updated"} of the session: offline is true when replayed',
    '    expect every TransactionEvent {a: 1}: {b: 2} within',
    '    expect every TransactionEvent {a: 1} of: seqNo increases by 1',
    '    expect every TransactionEvent:',
    '    expect every TransactionEvent of the session seqNo',
    '    expect at least 95 % of trials pass',
    '    expect at least {p} of trials pass',
    '    expect at most 95 % of trials pass',
    '    expect at least 95 % of trials passed',
    '    expect charger composite schedule on evse 1 for 10 min in W',
    '    expect charger composite schedule {a: 1} for 10 min',
    '    expect charger composite',
    '    expect within 5 s: charger composite schedule on evse 1',
    '    csms answers the 1st TransactionEvent {offline: true} after 10 s',
    '    csms answers the 1st TransactionEvent {offline: true} within 10 s',
    '    csms sends X {a: {b}} ± 1',
    '    csms sends X {a: 1} of',
    '    ev draws {load}',
    '    ev draws {load} on evse {evse}',
])
def test_lines_on_the_edges_agree(line: str) -> None:
    agrees(line)


_PIECES = [" ", "or", "not", "remembered", "within", "after", "of", "is", "over", "as", "the", "for", "{", "}",
           "[", "]", ":", ",", "-", "%", '"', '"x"', "1", "2.5", "A", "s", "charger", "sends", "replies",
           "error", "exactly", "at", "least", "no", "every", "until", "<=", ">", "≥", "#", "\t", "µ", "±", "A.B[c]",
           "{x}", ".", "\\", '"\\""']


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LINES), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 3),
                                                  st.sampled_from(_PIECES)), min_size=1, max_size=3))
def test_mutated_lines_agree(line: str, edits: list[tuple[int, int, str]]) -> None:
    for at, cut, piece in edits:
        at = at % (len(line) + 1)
        line = line[:at] + piece + line[at + cut:]
    agrees(line)


def test_the_spec_library_compiles_without_importing_lark() -> None:
    # (importing Lark and loading its tables is ~40 ms of a cold collection: only a file the quick paths
    # leave, or a line the reader leaves, may cost it; specs/ has none, examples and repeats included.
    # Nor, without a plan cache, the cache's code and pickle; nor difflib, which only a misspelling needs.)
    import os
    import subprocess
    import sys

    unwanted = ("lark", "dsl.parser", "dsl.cache", "pickle", "difflib")
    code = ("import sys, glob, dsl\n"
            "for p in sorted(glob.glob('specs/**/*.spec', recursive=True)): dsl.load(p, lazy=True)\n"
            f"print(sorted(m for m in sys.modules if m in {unwanted!r}))\n")
    env = {k: v for k, v in os.environ.items() if k != "CHARGESPEC_PLAN_CACHE"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env=env)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("keyword", sorted(quickline._KEYWORDS))
def test_the_keywords_after_a_field_object_are_measured(keyword: str) -> None:
    # (after a field object's "}" the contextual lexer reads these as keywords, whatever the statement:
    # an action with one there is a syntax error for Lark, so the reader leaves it)
    from dsl import ast

    node = parse_statement(f"    csms sends X {{a: 1}} {keyword} 10 s")
    read_as_word = isinstance(node, ast.ActionStmt) and any(
        isinstance(a, ast.Word) and a.text == keyword for a in node.atoms)
    assert read_as_word == (keyword not in quickline._AFTER_FIELDS)
    agrees(f"    csms sends X {{a: 1}} {keyword} 10 s")
