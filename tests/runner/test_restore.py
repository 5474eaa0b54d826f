"""runner.restore reads the originals of what a scenario changes, on a fake charger: one that limits how many
items a GetVariables may carry (DeviceDataCtrlr.ItemsPerMessage[GetVariables], refused whole with a CALLERROR,
B06.FR.16), one that refuses every GetVariables, and one that does not answer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from runner.csms.session import CallOutcome
from runner.restore import Changes, remember_variables

VALUES = {"TxUpdatedInterval": "10", "TxEndedInterval": "0", "EVConnectionTimeOut": "120"}


def _item(name: str) -> dict[str, Any]:
    return {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": name}}


class Charger:
    """Answers GetVariables of at most `items_per_message` items; more are refused whole."""

    def __init__(self, items_per_message: int, error: Exception | None = None) -> None:
        self.items_per_message = items_per_message
        self.error = error
        self.requests: list[int] = []

    def call(self, _sid: str, action: str, payload: dict[str, Any], timeout_s: float) -> CallOutcome:
        assert action == "GetVariables"
        items = payload["getVariableData"]
        self.requests.append(len(items))
        if self.error is not None:
            raise self.error
        if len(items) > self.items_per_message:
            return CallOutcome(action, payload, None, "OccurrenceConstraintViolation",
                               "more getVariableData than ItemsPerMessage", 0.0, 0.1)
        results = [{**i, "attributeStatus": "Accepted", "attributeValue": VALUES[i["variable"]["name"]]}
                   for i in items]
        return CallOutcome(action, payload, {"getVariableResult": results}, None, None, 0.0, 0.1)


def _run(charger: Charger) -> Any:
    return SimpleNamespace(harness=charger, station=SimpleNamespace(id="CS1"), changes=Changes(),
                           run=lambda out, **_: out)


def _originals(run: Any) -> dict[str, tuple[str | None, str]]:
    return {o.name: (o.value, o.why_unknown) for o in run.changes.variables.values()}


def test_a_request_refused_for_its_size_is_read_one_item_at_a_time() -> None:
    charger = Charger(items_per_message=1)
    run = _run(charger)
    remember_variables(run, [_item(name) for name in VALUES])
    assert charger.requests == [3, 1, 1, 1]
    assert _originals(run) == {f"SampledDataCtrlr.{name}": (value, "") for name, value in VALUES.items()}


def test_a_charger_within_its_limit_is_asked_once() -> None:
    charger = Charger(items_per_message=1000)
    run = _run(charger)
    remember_variables(run, [_item(name) for name in VALUES])
    assert charger.requests == [3]
    assert all(value is not None for value, _ in _originals(run).values())


def test_a_charger_that_refuses_every_request_leaves_the_originals_unknown_with_its_answer() -> None:
    charger = Charger(items_per_message=0)
    run = _run(charger)
    remember_variables(run, [_item("TxUpdatedInterval"), _item("TxEndedInterval")])
    assert charger.requests == [2, 1, 1]
    assert set(_originals(run).values()) == {(None, "GetVariables answered OccurrenceConstraintViolation")}


def test_an_unanswered_request_is_not_repeated_per_item() -> None:
    charger = Charger(items_per_message=1000, error=TimeoutError("no answer within 30 s"))
    run = _run(charger)
    remember_variables(run, [_item("TxUpdatedInterval"), _item("TxEndedInterval")])
    assert charger.requests == [2]
    assert set(_originals(run).values()) == {(None, "GetVariables failed: no answer within 30 s")}
