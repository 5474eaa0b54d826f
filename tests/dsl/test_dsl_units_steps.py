"""Units, quantity arithmetic, the step registry, the OCPP vocabulary and the import rule of `dsl`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ocpp
import pytest

import dsl
from dsl import ast, units
from dsl.errors import ErrorSink
from dsl.parser import parse
from dsl.quantities import evaluate
from dsl.steps import StepRegistry
from dsl.vocab import MEASURANDS, OCPP_ACTIONS, PROFILE_PURPOSES

DSL_DIR = Path(dsl.__file__).parent


def _expr(text: str) -> ast.Expr:
    spec = parse(f'spec "s"\n  scenario "x"\n    expect analyzer power <= {text}\n', "q.spec")
    stmt = spec.specs[0].scenarios[0].body[0]
    assert isinstance(stmt, ast.ExpectCondition) and isinstance(stmt.condition, ast.Compare)
    return stmt.condition.bound


@pytest.mark.parametrize(("text", "value", "dimension"), [
    ("16 A + 0.6 A", 16.6, "current"),
    ("7.4 kW - 2 %", 7252.0, "power"),
    ("500 mA", 0.5, "current"),
    ("1.5 kWh", 1500.0, "energy"),
    ("2 min + 30 s", 150.0, "time"),
    ("1 h", 3600.0, "time"),
    ("0.4 kV", 400.0, "voltage"),
    ("1 kHz", 1000.0, "frequency"),
    ("1.5 kΩ", 1500.0, "resistance"),
    ("95 %", 0.95, "ratio"),
    ("0.95", 0.95, "count"),
])
def test_quantities_are_canonical(text: str, value: float, dimension: str) -> None:
    sink = ErrorSink()
    e = _expr(text)
    q = evaluate(e.atoms, e, sink)
    assert sink.errors == []
    assert q is not None and q.value == pytest.approx(value) and q.dimension == dimension
    assert q.text == text


@pytest.mark.parametrize(("text", "message"), [
    ("16 A + 2 kW", "dimension mismatch: cannot add 2 kW (a power) to 16 A (a current)"),
    ("16 A + 0.6", "0.6 needs a unit: it is added to 16 A"),
    ("2 % + 1 A", "cannot add 1 A (a current) to a percentage"),
    ("3 KW", 'unknown unit "KW"'),
])
def test_quantity_mistakes(text: str, message: str) -> None:
    for _ in range(2):  # (a value is evaluated once per process; a mistake is reported every time)
        sink = ErrorSink()
        e = _expr(text)
        assert evaluate(e.atoms, e, sink) is None
        assert [err.message for err in sink.errors] == [message]


def test_an_expression_evaluated_again_gives_the_same_value_and_a_unit_makes_another() -> None:
    first, again, other = _expr("16 A + 0.6 A"), _expr("16 A + 0.6 A"), _expr("16 A + 0.6 mA")
    values = [evaluate(e.atoms, e, ErrorSink()) for e in (first, again, other)]
    assert values[0] == values[1] and values[0] is not None and values[0].value == pytest.approx(16.6)
    assert values[2] is not None and values[2].value == pytest.approx(16.0006) and values[2].text == "16 A + 0.6 mA"


def test_unit_spelling_is_case_sensitive_with_suggestions() -> None:
    assert units.lookup("kWh").factor == 1000.0
    with pytest.raises(units.UnknownUnit) as info:
        units.lookup("kwh")
    assert info.value.suggestion == "kWh"
    assert units.suggest("secs") == "s" and units.suggest("Amps") == "A"


def test_pint_factors_match_the_canonical_table() -> None:
    expected = {"mA": 1e-3, "kV": 1e3, "MW": 1e6, "MWh": 1e6, "ms": 1e-3, "min": 60.0, "kohm": 1e3, "%": 0.01}
    for spelling, factor in expected.items():
        assert units.lookup(spelling).factor == pytest.approx(factor)
    for spelling in units.SPELLINGS:
        assert units.lookup(spelling).dimension in units.CANONICAL


def test_static_factor_table_agrees_with_pint() -> None:
    # The table spares every run pint's start-up; pint stays the authority for the numbers.
    assert set(units.FACTORS) == set(units.SPELLINGS)
    for spelling in units.SPELLINGS:
        assert units.FACTORS[spelling] == pytest.approx(units.pint_factor(spelling), rel=1e-12), spelling


def test_registry_rejects_duplicates_and_bad_patterns() -> None:
    registry = StepRegistry()
    registry.define("relay opens [after {delay:time}]", name="relay.opens")
    with pytest.raises(ValueError, match="already defined"):
        registry.define("relay closes", name="relay.opens")
    with pytest.raises(ValueError, match=r"already defined as 'relay\.opens'"):
        registry.define("relay   opens [after {delay:time}]", name="relay.other")
    with pytest.raises(ValueError, match="unknown parameter type 'volts'"):
        registry.define("relay sets {v:volts}", name="relay.sets")
    with pytest.raises(ValueError, match="unclosed"):
        registry.define("relay [opens", name="relay.x")


def test_registry_matches_optional_parts_and_types() -> None:
    registry = dsl.builtin_registry()
    text = ('spec "s"\n  scenario "x"\n    ev plugs in\n    ev plugs in on evse 2\n'
            '    csms sends Heartbeat\n    csms sets variable TxCtrlr.EVConnectionTimeOut to "30"\n')
    (spec,) = dsl.compile(parse(text, "x.spec"), registry)
    assert [(a.step, dict(a.args)) for a in spec.scenarios[0].steps] == [
        ("ev.plugs_in", {}),
        ("ev.plugs_in", {"evse": 2}),
        ("csms.sends", {"action": "Heartbeat"}),
        ("csms.sets_variable", {"variable": "TxCtrlr.EVConnectionTimeOut", "value": "30"}),
    ]
    assert {d.name for d in registry} >= {"charger.booted", "csms.drops_and_refuses", "wait"}


def test_ocpp_vocabulary_matches_the_ocpp_package() -> None:
    schemas = Path(ocpp.__file__).parent / "v201" / "schemas"
    actions = {re.sub(r"(Request|Response)\.json$", "", p.name) for p in schemas.glob("*.json")}
    assert actions == OCPP_ACTIONS and len(OCPP_ACTIONS) == 64
    meter = json.loads((schemas / "MeterValuesRequest.json").read_text(encoding="utf-8"))
    assert set(MEASURANDS) == set(meter["definitions"]["MeasurandEnumType"]["enum"])
    profile = json.loads((schemas / "SetChargingProfileRequest.json").read_text(encoding="utf-8"))
    assert set(PROFILE_PURPOSES) == set(profile["definitions"]["ChargingProfilePurposeEnumType"]["enum"])


def test_dsl_imports_nothing_outside_itself() -> None:
    forbidden = re.compile(r"^\s*(from|import)\s+(pytest|ocpp|websockets|allure|runner|instruments|lab)\b",
                           re.MULTILINE)
    for path in DSL_DIR.glob("*.py"):
        assert not forbidden.search(path.read_text(encoding="utf-8")), path.name
