"""Block B on the twin (lab/twin/blocks/b_provisioning.py): a GetVariablesRequest beyond the limits the twin
reports (DeviceDataCtrlr.ItemsPerMessage / BytesPerMessage [GetVariables]) is refused whole with the CALLERROR
B06.FR.16 / B06.FR.17 name; up to them it is answered item by item."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from ocpp.exceptions import FormatViolationError, OccurrenceConstraintViolationError
from ocpp.v201 import call

# The conftest's TwinEnv (conftest modules are not importable under pytest's importlib mode).
TwinEnv = Any


def _limits(env: TwinEnv) -> tuple[int, int]:
    got = env.csms.call(env.station_id, call.GetVariables(get_variable_data=[
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": name, "instance": "GetVariables"}}
        for name in ("ItemsPerMessage", "BytesPerMessage")]))
    assert [r["attribute_status"] for r in got.get_variable_result] == ["Accepted", "Accepted"]
    items, size = (int(r["attribute_value"]) for r in got.get_variable_result)
    return items, size


def _items(n: int, name_chars: int = 1) -> list[dict[str, Any]]:
    return [{"component": {"name": "C" * name_chars}, "variable": {"name": "V" * name_chars}} for _ in range(n)]


def _frame_bytes(data: list[dict[str, Any]]) -> int:
    """The CALL frame's size as the harness sends it (message id aside: a uuid, 36 characters)."""
    return len(json.dumps([2, "x" * 36, "GetVariables", {"getVariableData": data}], separators=(",", ":")))


@pytest.fixture
def env(twin_factory: Callable[..., TwinEnv]) -> TwinEnv:
    env = twin_factory()
    env.csms.wait_for(lambda: env.csms.find("BootNotification"), 5, "BootNotification")
    return env


def test_more_items_than_items_per_message_is_occurrence_constraint_violation(env: TwinEnv) -> None:
    most, largest = _limits(env)
    assert _frame_bytes(_items(most + 1)) < largest  # (the item count alone is over its limit)
    answered = env.csms.call(env.station_id, call.GetVariables(get_variable_data=_items(most)), timeout=30)
    assert len(answered.get_variable_result) == most
    assert {r["attribute_status"] for r in answered.get_variable_result} == {"UnknownComponent"}
    with pytest.raises(OccurrenceConstraintViolationError) as err:
        env.csms.call(env.station_id, call.GetVariables(get_variable_data=_items(most + 1)), timeout=30)
    assert err.value.description == (f"GetVariables: {most + 1} getVariableData, more than "
                                     f"DeviceDataCtrlr.ItemsPerMessage[GetVariables] = {most} (B06.FR.16)")
    assert _limits(env) == (most, largest)  # the connection goes on


def test_a_message_longer_than_bytes_per_message_is_format_violation(env: TwinEnv) -> None:
    most, largest = _limits(env)
    per_item = _frame_bytes(_items(2, 50)) - _frame_bytes(_items(1, 50))
    n = largest // per_item + 2
    assert n <= most and _frame_bytes(_items(n, 50)) > largest  # (the size alone is over its limit)
    fits = n // 2
    assert _frame_bytes(_items(fits, 50)) <= largest
    answered = env.csms.call(env.station_id, call.GetVariables(get_variable_data=_items(fits, 50)), timeout=30)
    assert len(answered.get_variable_result) == fits
    with pytest.raises(FormatViolationError) as err:
        env.csms.call(env.station_id, call.GetVariables(get_variable_data=_items(n, 50)), timeout=30)
    assert err.value.description.startswith("GetVariables: a ")
    assert err.value.description.endswith(f"-byte message, longer than DeviceDataCtrlr.BytesPerMessage[GetVariables] "
                                          f"= {largest} (B06.FR.17)")
