"""runner/conditions.py: a `when` line's test, its record, and every way GetVariables can fail to give a value
(none of which may skip the block silently), against a stand-in harness."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import dsl
from dsl.plan import ExpectMessage, Repeat, When
from runner import conditions
from runner.csms.errors import CsmsConnectionLost, CsmsNotConnected, CsmsTimeout
from runner.csms.session import CallOutcome
from runner.errors import BenchError, ExpectationFailed
from runner.judge import placement
from tests.runner.test_judge import make_run

SPEC = '''spec "when"
  scenario "one"
    wait 1 s
    when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":
      expect within 30 s: charger sends Authorize
      wait 1 s
    repeat 2 times
      when charger variable TxCtrlr.TxStartPoint holds "Authorized":
        expect within 30 s: charger sends TransactionEvent
'''


@pytest.mark.parametrize(("test", "actual", "wanted", "expected"), [
    ("is", "true", "true", True),
    ("is", "TRUE", "true", True),  # booleans without case, as `with value` compares
    ("is", "false", "true", False),
    ("is not", "false", "true", True),
    ("is not", "True", "true", False),
    ("is", "EVConnected,Authorized", "EVConnected, Authorized", True),
    ("is", "Authorized,EVConnected", "EVConnected,Authorized", False),  # a whole list: in order
    ("holds", "PowerPathClosed,Authorized", "Authorized", True),
    ("holds", "Authorized,PowerPathClosed", "PowerPathClosed, Authorized", True),  # members in any order
    ("holds", "PowerPathClosed", "Authorized", False),
    ("holds", "Authorized", "authorized", False),  # enumeration members compared exactly
    ("does not hold", "PowerPathClosed", "Authorized", True),
    ("does not hold", "EVConnected,Authorized", "Authorized", False),
])
def test_the_tests(test: str, actual: str, wanted: str, expected: bool) -> None:
    assert conditions.applies(test, actual, wanted) is expected


def _plan() -> Any:
    (spec,) = dsl.compile(dsl.parse(SPEC, "specs/when.spec"))
    return spec.scenarios[0]


class Harness:
    """GetVariables answered with `result` (a getVariableResult item), a CALLERROR, or an exception."""

    def __init__(self, result: dict[str, Any] | None = None, *, error: str | None = None,
                 raises: Exception | None = None) -> None:
        self.result, self.error, self.raises = result, error, raises
        self.asked: list[Any] = []

    async def get_variables(self, sid: str, items: list[Any], timeout_s: float) -> CallOutcome:
        self.asked.append(items)
        if self.raises is not None:
            raise self.raises
        response = None if self.error else {"getVariableResult": [self.result]}
        return CallOutcome("GetVariables", {}, response, self.error, None, 0.0, 0.5)


def _run(harness: Harness) -> Any:
    run = make_run()
    run.session.harness = harness
    run.session.run = lambda coro, bench_timeout, what: asyncio.run(coro)
    run.plan = _plan()
    return run


def _when(run: Any) -> When:
    return next(s for s in run.plan.steps if isinstance(s, When))


def _value(value: str | None, status: str = "Accepted") -> dict[str, Any]:
    item: dict[str, Any] = {"attributeStatus": status, "component": {"name": "AuthCtrlr"},
                            "variable": {"name": "AuthorizeRemoteStart"}}
    return item if value is None else {**item, "attributeValue": value}


def test_a_value_that_fails_the_test_makes_the_lines_not_applicable_and_says_so() -> None:
    harness = Harness(_value("false"))
    run = _run(harness)
    w = _when(run)
    assert conditions.decide(run, w).applies is False
    assert harness.asked == [[{"component": {"name": "AuthCtrlr"}, "variable": {"name": "AuthorizeRemoteStart"}}]]
    (m,) = run.measurements
    assert (m.line, m.kind, m.verdict, m.subject) == (4, "condition", "passed", "AuthCtrlr.AuthorizeRemoteStart")
    assert m.observed is not None and m.observed.value == "false" and m.limits[0].op == "is"
    assert m.message.startswith('AuthCtrlr.AuthorizeRemoteStart is "false" (read by GetVariables at t=')
    assert m.message.endswith('), not "true": lines 5-6 not applicable')
    assert [e["line"] for e in run.recorder.events("not_applicable")] == [5, 6]
    assert any("lines 5-6 not applicable" in n for n in run.notes)


def test_a_value_that_passes_the_test_makes_the_lines_apply() -> None:
    run = _run(Harness(_value("true")))
    assert conditions.decide(run, _when(run)).applies is True
    (m,) = run.measurements
    assert m.verdict == "passed" and m.message.endswith("): lines 5-6 apply")
    assert run.recorder.events("not_applicable") == []


@pytest.mark.parametrize(("harness", "kind", "words"), [
    (Harness(_value(None, "UnknownVariable")), ExpectationFailed,
     "the charger does not know AuthCtrlr.AuthorizeRemoteStart (GetVariables answered UnknownVariable), a variable "
     "OCPP 2.0.1 requires it to report (TC_B_53_CS); whether lines 5-6 apply is unknown"),
    (Harness(_value(None)), ExpectationFailed, "answered Accepted without an attributeValue"),
    (Harness(error="NotImplemented"), ExpectationFailed, "with CALLERROR NotImplemented (OCPP 2.0.1 B06"),
    (Harness(raises=CsmsTimeout("no answer in 30 s")), ExpectationFailed,
     "the charger did not answer GetVariables for AuthCtrlr.AuthorizeRemoteStart"),
    (Harness(raises=CsmsNotConnected("not connected")), BenchError, "the charger was not connected to the harness"),
    (Harness(raises=CsmsConnectionLost("closed")), BenchError, "the charger was not connected to the harness"),
    (Harness(_value(None, "Rejected")), BenchError,
     "the charger gives no value of AuthCtrlr.AuthorizeRemoteStart (GetVariables answered Rejected): whether "
     "lines 5-6 apply is unknown, so the scenario is not judged"),
], ids=["required-unknown", "accepted-no-value", "callerror", "timeout", "not-connected", "lost", "rejected"])
def test_no_value_is_never_a_silent_skip(harness: Harness, kind: type, words: str) -> None:
    run = _run(harness)
    with pytest.raises(kind) as raised:
        conditions.decide(run, _when(run))
    assert words in raised.value.detail and raised.value.source.line == 4
    (m,) = run.measurements
    assert m.line == 4 and m.kind == "condition"
    assert m.verdict == ("failed" if kind is ExpectationFailed else "broken") and words in m.message
    assert run.recorder.events("not_applicable") == []


def test_an_optional_variable_the_charger_lacks_is_broken_not_failed() -> None:
    run = _run(Harness({"attributeStatus": "UnknownVariable", "component": {"name": "AuthCtrlr"},
                        "variable": {"name": "NoSuchVariable"}}))
    w = _when(run)
    optional = When(variable="AuthCtrlr.NoSuchVariable", test=w.test, value=w.value, body=w.body, source=w.source,
                    text=w.text)
    run.plan = type(run.plan)(**{**vars(run.plan), "steps": (optional,)})
    with pytest.raises(BenchError, match=r"charger supports variable AuthCtrlr\.NoSuchVariable"):
        conditions.decide(run, optional)


def test_a_when_block_is_no_repeat_trial_but_one_inside_a_repeat_is() -> None:
    plan = _plan()
    first = next(s for s in plan.steps if isinstance(s, When))
    repeat = next(s for s in plan.steps if isinstance(s, Repeat))
    inner = repeat.body[0]
    assert isinstance(inner, When) and isinstance(inner.body[0], ExpectMessage)
    phases = (plan.setup, plan.steps, plan.teardown)
    assert placement(phases, first.body[0]) == ("steps", False)  # (was: any block's body counted as a trial)
    assert placement(phases, inner.body[0]) == ("steps", True)
    assert conditions.body_lines(inner) == "line 9"


def test_or_absent_applies_the_lines_to_a_charger_without_the_variable_and_says_so() -> None:
    run = _run(Harness({"attributeStatus": "UnknownVariable", "component": {"name": "AuthCtrlr"},
                        "variable": {"name": "AuthorizeRemoteStart"}}))
    w = _when(run)
    absent = When(variable=w.variable, test=w.test, value=w.value, body=w.body, source=w.source, text=w.text,
                  or_absent=True)
    assert conditions.decide(run, absent).applies is True
    (m,) = run.measurements
    assert m.verdict == "passed" and m.observed is not None and m.observed.text == "UnknownVariable"
    assert m.message.startswith("AuthCtrlr.AuthorizeRemoteStart is not in the charger's device model (GetVariables "
                                "answered UnknownVariable at t=")
    assert m.message.endswith("the line says `or absent`): lines 5-6 apply")


def test_or_absent_does_not_excuse_a_value_the_charger_will_not_give() -> None:
    run = _run(Harness(_value(None, "Rejected")))
    w = _when(run)
    absent = When(variable=w.variable, test=w.test, value=w.value, body=w.body, source=w.source, text=w.text,
                  or_absent=True)
    with pytest.raises(BenchError, match="GetVariables answered Rejected"):
        conditions.decide(run, absent)
