"""Property: whatever bytes a spec file holds, parsing and checking end in the language's own error type
(never a Lark, Python or Unicode error), and every error points at a real line and column of the file.

Valid specs are mutated token-wise (delete, duplicate, swap, replace), truncated, and salted with
random bytes and non-UTF-8 sequences. Derandomized, so CI sees the same ~300 cases every run.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from dsl import SpecErrors, builtin_registry, decode
from dsl.compiler import analyze
from dsl.parser import normalize, parse_partial

REPO = Path(__file__).resolve().parents[2]
SEEDS = [p.read_text(encoding="utf-8") for p in sorted((REPO / "specs").rglob("*.spec"))]
SEEDS.append('''\
spec "Remote reset is reliable"
  tags reset
  setup
    include setup "booted"
  scenario "{n} resets" for n in 20
    repeat 20 times
      csms sends Reset {type: "Immediate", evse: {id: 1}, list: [1, -2, "x"]}
      expect charger replies {status: "Accepted"}
      expect within 120 s: charger status evse 1 is Available or Occupied
    expect at least 95 % of trials pass
  scenario "table"
    examples
      | limit | purpose   |
      | 16 A  | TxProfile |
    csms sets {purpose} on evse 1: limit {limit}
    measure "session" until session ends
    expect no TransactionEvent for 2 min
    expect every TransactionEvent of the session: seqNo increases by 1
    expect charger sends MeterValues every 60 s ± 2 s during "session"
    expect charger replies error NotImplemented

setup "booted"
  charger booted  # trailing comment
''')

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\s+|[A-Za-z_][\w.\-]*|\d+(?:\.\d+)?|.', re.DOTALL)
NOISE = [b"\xff", b"\xc3", b"\xe9", b"\x00", b"\t", b"\r", b"\r\n", b"\n", b"  ", b"{", b"}", b'"', b"#",
         b"\xef\xbb\xbf", b"\xe2\x82", "±".encode(), "Ω".encode(), b"|", b":", b"%", b"\\"]


# A plain spec (headers, blocks and plain statements only): what the quick compiler (dsl.quick) serves.
PLAIN = (REPO / "tests" / "dsl" / "fixtures" / "plain.spec").read_text(encoding="utf-8")


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str] = SEEDS, noise: bool = True) -> bytes:
    """A seed with 1-4 token mutations; with `noise`, maybe truncated and salted with bytes too."""
    text = draw(st.sampled_from(seeds))
    tokens = TOKEN.findall(text)
    for _ in range(draw(st.integers(1, 4))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        j = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens[i] = tokens[j]
    data = "".join(tokens).encode("utf-8")
    if not noise:
        return data
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        salt = draw(st.one_of(st.sampled_from(NOISE), st.binary(min_size=1, max_size=4)))
        data = data[:at] + salt + data[at:]
    return data


def check_bytes(data: bytes) -> None:
    """What `chargespec check` does with one file, asserting every error is positioned in it."""
    file = "fuzz.spec"
    try:
        text = decode(data, file)
    except SpecErrors as e:
        # (positions as the parser's text counts them: a lone CR ends a line, a BOM is no column)
        assert_inside(e, normalize(data.decode("utf-8", "replace")).split("\n"))
        return
    spec_file, errors = parse_partial(text, file)
    # The per-line fast path must give exactly what parsing the file whole gives (AST and errors).
    assert (spec_file, errors) == parse_partial(text, file, fast=False)
    plans = None
    if spec_file is not None:
        plans, more = analyze(spec_file)
        errors = [*errors, *more]
    # The quick compiler serves only clean files, with exactly the full path's plans.
    served = dsl._quick(data, file, spec_file.sha256 if spec_file else "", builtin_registry())
    assert served is None or (not errors and served == plans)
    assert_inside(SpecErrors(errors), normalize(text).split("\n"))


def assert_inside(errors: SpecErrors, lines: list[str]) -> None:
    if len(lines) > 1 and lines[-1] == "":
        lines = lines[:-1]
    for e in errors:
        assert e.source.file == "fuzz.spec"  # the seeds include only from their own file
        assert 1 <= e.source.line <= max(1, len(lines)), e.headline()
        line = lines[e.source.line - 1] if lines else ""
        assert 1 <= e.source.column <= len(line.rstrip("\r")) + 1, e.headline()
        assert e.render().startswith(e.headline())


FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(mutated())
def test_mutated_specs_fail_only_with_spec_errors_inside_the_file(data: bytes) -> None:
    check_bytes(data)


@settings(FUZZ, max_examples=300)
@given(mutated(seeds=[PLAIN], noise=False))  # token mutations only: many variants stay plain and valid
def test_mutated_plain_specs_are_served_exactly_or_left_to_the_full_path(data: bytes) -> None:
    check_bytes(data)  # (which compares the quick compiler's plans with the full path's)


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_fail_only_with_spec_errors(data: bytes) -> None:
    check_bytes(data)


def test_the_seeds_are_valid() -> None:
    for text in SEEDS:
        spec_file, errors = parse_partial(text, "fuzz.spec")
        assert spec_file is not None and not errors and not analyze(spec_file)[1]
        assert spec_file == parse_partial(text, "fuzz.spec", fast=False)[0]


def test_the_fast_path_serves_valid_specs_and_repeated_lines() -> None:
    """Valid seeds take the per-line path (else the equality checks above prove nothing)."""
    from dsl import parser

    for text in SEEDS:
        norm = normalize(text)
        assert parser._fast_parse("fuzz.spec", norm.split("\n"), norm) is not None
    parser._LINE_TREES.clear()
    parse_partial(SEEDS[-1], "a.spec")
    parsed = dict(parser._LINE_TREES)
    parse_partial(SEEDS[-1], "b.spec")
    assert all(parser._LINE_TREES[k] is v for k, v in parsed.items())  # parsed once, reused
