"""The worked example of docs/language.md, "Adding a statement": a lab's load bank statement defined
with runner.steps.step is known to the checker, compiles to typed Actions and gets "did you mean".

The example's Python and spec are taken from the document itself, so the document cannot drift.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dsl
import dsl.steps
import runner.steps
from dsl.plan import Action, Quantity

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def example(info: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    (body,) = re.findall(rf"^```{re.escape(info)}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    return body


@pytest.fixture
def lab_steps(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Run the documented lab module against a private registry and implementation table."""
    monkeypatch.setattr(dsl.steps, "_SHARED", dsl.builtin_registry().copy())
    monkeypatch.setattr(runner.steps, "IMPLEMENTATIONS", dict(runner.steps.IMPLEMENTATIONS))
    namespace: dict[str, object] = {"__name__": "lab.steps.loadbank"}
    exec(compile(example("python lab-step"), "docs/language.md", "exec"), namespace)
    return namespace


def test_documented_statement_checks_and_compiles_to_typed_actions(lab_steps: dict[str, object]) -> None:
    spec_file = dsl.parse(example("spec lab-step"), "docs/language.md")
    assert dsl.check(spec_file) == []
    (spec,) = dsl.compile(spec_file)
    assert [s.name for s in spec.scenarios] == ["site load 3 kW", "site load 7.5 kW"]
    draws, ramps, _ = spec.scenarios[1].steps
    assert isinstance(draws, Action) and isinstance(ramps, Action)
    assert (draws.step, dict(draws.args)) == ("loadbank.draws",
                                              {"power": Quantity(7500.0, "power", "7.5 kW"), "phase": "L2"})
    assert (ramps.step, dict(ramps.args)) == ("loadbank.ramps", {
        "power": Quantity(11000.0, "power", "11 kW"), "duration": Quantity(30.0, "time", "30 s")})
    assert runner.steps.IMPLEMENTATIONS["loadbank.draws"] is lab_steps["loadbank_draws"]
    assert "loadbank.draws" not in runner.steps.unimplemented()


def _errors(body: str) -> list[dsl.SpecError]:
    return dsl.check(dsl.parse(f'spec "S"\n  scenario "x"\n    {body}\n', "lab.spec"))


def test_misspelt_variant_gets_did_you_mean(lab_steps: dict[str, object]) -> None:
    (e,) = _errors("load bank draw 3 kW")
    assert e.headline() == ('lab.spec:3:5: unknown statement "load bank draw 3 kW" — '
                            'did you mean "load bank draws <power> [on phase <phase>]"?')


def test_wrong_unit_is_a_dimension_error(lab_steps: dict[str, object]) -> None:
    (e,) = _errors("load bank draws 16 A")
    assert e.message == "dimension mismatch: <power> is a power (W), but 16 A is a current (A)"


def test_without_the_lab_module_the_statement_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dsl.steps, "_SHARED", None)  # a fresh built-in registry
    (e,) = _errors("load bank draws 3 kW")
    assert e.message == 'unknown actor "load"'
