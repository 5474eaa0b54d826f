"""`when charger variable C.V is|is not|holds|does not hold "v":` blocks in the language: the plan they compile to,
what the block may see and what it keeps to itself, the canonical layout, examples, the quick paths (which must
give the full path's plans) and proxy mode (the runner's half: tests/runner/test_conditions*.py; the mistakes'
wording: tests/dsl/golden/when-*.spec)."""

from __future__ import annotations

import dataclasses

import pytest

import dsl
from dsl import plan, quick
from dsl.fmt import format_text
from dsl.steps import builtin_registry
from runner.proxy.statements import mode_errors
from tests.dsl.test_quick import assert_agrees, full

SPEC = '''spec "S"
  scenario "x"
    csms sends RequestStartTransaction {idToken: {idToken: "04A2B3C4", type: "ISO14443"}, evseId: 1, remoteStartId: 1}
    when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":
      expect within 30 s: charger sends Authorize
      remember idToken.idToken of the last Authorize as "token"
      expect within 30 s: charger sends TransactionEvent {idToken: {idToken: remembered "token"}}
      repeat 2 times
        when charger variable TxCtrlr.TxStartPoint does not hold "EVConnected,Authorized":
          measure "w" for 10 s
          expect charger energy over "w" within 2 % of analyzer energy over "w"
    when charger variable OCPPCommCtrlr.MessageAttempts[TransactionEvent] is not "3":
      wait 1 s
    when charger variable AuthCtrlr.Enabled is not "false" or absent:
      wait 1 s
'''


def _steps(text: str) -> tuple[plan.Step, ...]:
    (spec,) = dsl.compile(dsl.parse(text, "x.spec"))
    return spec.scenarios[0].steps


def _errors(text: str) -> list[str]:
    return [e.message for e in dsl.check(dsl.parse(text, "x.spec"))]


def test_a_when_block_compiles_to_its_test_and_its_lines() -> None:
    assert _errors(SPEC) == []
    _, first, last, absent = _steps(SPEC)
    assert isinstance(first, plan.When) and isinstance(last, plan.When)
    assert (first.variable, first.test, first.value) == ("AuthCtrlr.AuthorizeRemoteStart", "is", "true")
    assert first.text == 'when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":'
    assert [s.source.line for s in first.body] == [5, 6, 7, 8]
    repeat = first.body[3]
    assert isinstance(repeat, plan.Repeat)
    inner = repeat.body[0]
    assert isinstance(inner, plan.When) and (inner.test, inner.value) == ("does not hold", "EVConnected,Authorized")
    assert (last.variable, last.test) == ("OCPPCommCtrlr.MessageAttempts[TransactionEvent]", "is not")
    assert not first.or_absent and absent.or_absent
    assert absent.text == 'when charger variable AuthCtrlr.Enabled is not "false" or absent:'


def test_what_a_block_opens_or_remembers_is_its_own() -> None:
    after = SPEC + '''    expect charger energy over "w" within 2 % of analyzer energy over "w"
    csms sends RequestStopTransaction {transactionId: remembered "token"}
'''
    assert _errors(after) == [
        'measurement window "w" is opened inside the when block on line 9: it is measured only when that block '
        "applies"] * 2 + ['"token" is remembered inside the when block on line 4: it is kept only when that block '
                          "applies"]
    # what was opened before the block, the block sees
    assert _errors('spec "S"\n  scenario "x"\n    measure "w" for 1 s\n    when charger variable A.B is "c":\n'
                   '      expect charger energy over "w" within 2 % of analyzer energy over "w"\n') == [
        '"A" is not a standardized OCPP 2.0.1 component']


def test_a_block_is_checked_whatever_the_charger_will_say() -> None:
    assert _errors('spec "S"\n  scenario "x"\n    when charger variable AuthCtrlr.Enabled is "true":\n'
                   "      ev draws 16 kW\n") == [
        "dimension mismatch: <current> is a current (A), but 16 kW is a power (W)"]


def test_the_canonical_layout() -> None:
    messy = SPEC.replace('is "true":', 'is  "true" :').replace("does not hold", "does  not hold").replace(
        "or absent", "or  absent")
    assert format_text(messy, "x.spec") == SPEC


def test_example_values_reach_the_value() -> None:
    text = '''spec "S"
  scenario "start at {point}" for point in Authorized, PowerPathClosed
    when charger variable TxCtrlr.TxStartPoint holds "{point}":
      wait 1 s
'''
    (spec,) = dsl.compile(dsl.parse(text, "x.spec"))
    assert [s.steps[0].value for s in spec.scenarios] == ["Authorized", "PowerPathClosed"]


def test_the_quick_paths_give_the_full_paths_plans() -> None:
    served = assert_agrees(SPEC)
    assert served is not None  # (read whole without Lark, dsl.quickfile)
    assert served == full(SPEC, "quick.spec")
    loaded = dataclasses.replace(dsl.compile(dsl.parse(SPEC, "quick.spec"))[0], sha256="digest")
    assert (loaded,) == served


def test_proxy_mode_names_the_when_line() -> None:
    (spec,) = dsl.compile(dsl.parse(SPEC, "x.spec"))
    errors = mode_errors(spec.scenarios[0], proxy=True)
    whens = [e for e in errors if e.message.startswith("`when charger variable`")]
    assert [e.source.line for e in whens] == [4, 9, 12, 14]
    assert "GetVariables" in (whens[0].hint or "")
    assert mode_errors(spec.scenarios[0], proxy=False) == []


def _templates_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-line template path must serve: the whole-file reader would be the fallback."""
    def whole(*_: object) -> None:
        raise AssertionError("left to the whole-file path")

    monkeypatch.setattr(quick, "_whole", whole)


def test_the_template_path_serves_when_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # (the OCTT pack's forty specs with `when` lines are collected as the rest: each line lowered once a process)
    _templates_only(monkeypatch)
    flat = SPEC.replace("      repeat 2 times\n        when", "      when")
    for line in ('measure "w"', "expect charger energy"):
        flat = flat.replace("          " + line, "        " + line)
    served = assert_agrees(flat)
    assert served is not None
    body = served[0].scenarios[0].steps[1]
    assert isinstance(body, plan.When) and body.source.line == 4 and body.source.column == 5
    inner = body.body[3]
    assert isinstance(inner, plan.When) and [s.source.line for s in inner.body] == [9, 10]


@pytest.mark.parametrize(("text", "valid"), [
    (SPEC.replace('absent:\n      wait 1 s\n', 'absent:\n'), False),                                  # an empty block
    (SPEC.replace('3":\n      wait 1 s\n', '3":\n'), False),                                          # another
    (SPEC + '    expect charger energy over "w" within 2 % of analyzer energy over "w"\n', False),  # window after it
    (SPEC.replace('is "true":', 'is  "true":'), True),                                                # spacing
    (SPEC.replace('"EVConnected,Authorized"', '"{x}"'), False),                                      # a placeholder
    (SPEC.replace("AuthCtrlr.AuthorizeRemoteStart", "AuthCtrl.AuthorizeRemoteStart"), False),        # a misspelling
    (SPEC.replace("      expect within 30 s: charger sends Authorize\n",
                  "        expect within 30 s: charger sends Authorize\n"), False),                  # a stray dedent
    (SPEC.replace("    when charger variable AuthCtrlr.Enabled", "   when charger variable AuthCtrlr.Enabled"), False),
])
def test_what_the_quick_paths_leave_is_the_full_paths(text: str, valid: bool) -> None:
    assert quick.compile_text(text, "quick.spec", "digest", builtin_registry()) is None
    assert (full(text, "quick.spec") is not None) is valid


def test_a_window_opened_in_a_block_may_be_opened_again_after_it_on_either_path() -> None:
    text = SPEC + ('    measure "w" for 10 s\n'
                   '    expect charger energy over "w" within 2 % of analyzer energy over "w"\n')
    assert _errors(text) == []
    assert assert_agrees(text) is not None
