"""Values no bench can use are errors at the value, on every path (eager, lazy, whole-file).

A number of 309 digits is infinity as a float: `wait` would crash the bench clock (time.sleep), a limit would
be sent as JSON `Infinity`, a bound would make an expectation hold trivially. A time written as a
difference that comes out negative (`5 s - 10 s`) is a time limit already past: `charger reconnects within
…` would fail the charger for the spec's own arithmetic.
"""

from __future__ import annotations

import pytest

import dsl
from dsl import quick
from dsl.steps import builtin_registry
from dsl.text import normalize

BIG = "9" * 400


def _errors(body: str) -> list[dsl.SpecError]:
    text = 'spec "S"\n  scenario "x"\n' + "".join(f"    {line}\n" for line in body.strip("\n").split("\n"))
    spec_file, errors = dsl.parser.parse_partial(text, "specs/x.spec")
    assert spec_file is not None and not errors
    return dsl.check(spec_file)


@pytest.mark.parametrize("line", [
    f"wait {BIG} s",
    f"expect within {BIG} s: analyzer power > 1 kW",
    f"expect analyzer power < {BIG} kW",
    f"csms sets TxProfile on evse 1: limit {BIG} A",
    f"ev draws 1 A + {BIG} A",
])
def test_a_quantity_too_large_for_a_float_is_an_error(line: str) -> None:
    (e,) = _errors(line)
    assert e.message.startswith("too large a quantity: ") and BIG in e.message
    assert e.hint == "write a value the bench can set or measure"
    assert e.source.line == 3


def test_the_too_large_quantity_error_points_at_the_expression() -> None:
    (e,) = _errors(f"wait {BIG} s")
    assert (e.source.line, e.source.column, e.width) == (3, 10, len(BIG) + 2)
    assert e.headline().startswith("specs/x.spec:3:10: too large a quantity: 9999")  # (the middle elided)


@pytest.mark.parametrize(("line", "expression", "value"), [
    ("wait 5 s - 10 s", "5 s - 10 s", "-5 s"),
    ("charger reconnects within 0 s - 1 min", "0 s - 1 min", "-60 s"),
    ('csms answers Authorize with {idTokenInfo: {status: "Accepted"}} after 1 s - 200 %', "1 s - 200 %", "-1 s"),
])
def test_a_negative_time_is_an_error(line: str, expression: str, value: str) -> None:
    (e,) = _errors(line)
    assert e.message.endswith(f"is a duration and cannot be negative: {expression} is {value}")
    assert e.hint == "write the time as one positive value"
    assert (e.source.line, e.source.column, e.width) == (3, line.index(expression) + 5, len(expression))


def test_zero_and_negative_bounds_stay_allowed() -> None:
    assert _errors("wait 0 s\nexpect analyzer power > 0 kW - 1 kW") == []  # (export is negative power)


@pytest.mark.parametrize("number", [f"{BIG}.5", f"-{BIG}.5"])
def test_a_field_number_too_large_for_a_float_is_an_error_eagerly_and_lazily(
        number: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for cache in ("_TEMPLATES", "_SHAPES", "_OUTLINED"):
        monkeypatch.setattr(quick, cache, {})
    line = f'    csms sends Reset {{type: "Immediate", evseId: {number}}}'
    text = normalize(f'spec "S"\n  scenario "x"\n{line}\n')
    (e,) = _errors(line.strip())
    assert e.message == f"too large a number: {number}"
    assert (e.source.line, e.source.column) == (3, line.index(number) + 1)
    # The same shape with a small number is checked first: a lazy collection must not take it for this one.
    small = normalize(f'spec "S"\n  scenario "x"\n{line.replace(number, "1.5")}\n')
    assert quick.compile_text(small, "a.spec", "d", builtin_registry(), lazy=True) is not None
    for lazy in (True, False):  # (lazily first: checked by its shape, if it had the small one's)
        assert quick.compile_text(text, "b.spec", "d", builtin_registry(), lazy=lazy) is None


def test_a_long_whole_number_in_a_field_stays_a_number() -> None:
    # (an integer is exact in JSON and Python, however long: the charger judges it)
    assert _errors(f'csms sends Reset {{type: "Immediate", evseId: {BIG}}}') == []
