"""Field patterns in message matching: present, absent, not V, V or W, remembered values, lists."""

from __future__ import annotations

import pytest

from dsl.plan import Absent, AnyOf, Not, Present, Remembered
from runner.csms.expect import MISSING, Unbound, bind, differences, field_at, matches

STATUS = {"connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}


@pytest.mark.parametrize(("pattern", "ok"), [
    ({"connectorStatus": AnyOf(("Available", "Occupied")), "evseId": 1}, True),
    ({"connectorStatus": AnyOf(("Available", "Faulted"))}, False),
    ({"evseId": Present()}, True),
    ({"timestamp": Present()}, False),
    ({"timestamp": Absent()}, True),
    ({"evseId": Absent()}, False),
    ({"errorCode": AnyOf((Absent(), "NoError"))}, True),          # absent or "NoError": left out
    ({"connectorId": AnyOf((Absent(), 2))}, False),               # there, and not 2
    ({"evseId": Not(0)}, True),
    ({"evseId": Not(1)}, False),
    ({"seqNo": Not(0)}, False),                                   # not 0 needs the field
    ({"timestamp": Not(Present())}, True),                        # not present is absent
    ({"evse": AnyOf((Absent(), {"id": 1}))}, True),
])
def test_patterns_match_as_documented(pattern: dict, ok: bool) -> None:
    assert matches(STATUS, pattern) is ok
    assert (differences(STATUS, pattern) == []) is ok  # the diff agrees with the verdict


def test_a_nested_alternative_object_matches_when_there_and_when_left_out() -> None:
    pattern = {"evse": AnyOf((Absent(), {"id": 1}))}
    assert matches({"evse": {"id": 1, "connectorId": 1}}, pattern)
    assert not matches({"evse": {"id": 2}}, pattern)


def test_a_list_in_a_pattern_matches_a_list_containing_an_element_that_matches() -> None:
    event = {"eventData": [{"component": {"name": "EVSE"}, "actualValue": "x"},
                           {"component": {"name": "Connector"}, "variable": {"name": "AvailabilityState"},
                            "actualValue": "Occupied"}]}
    wanted = {"eventData": [{"component": {"name": "Connector"}, "actualValue": "Occupied"}]}
    assert matches(event, wanted)
    assert not matches(event, {"eventData": [{"component": {"name": "Connector"}, "actualValue": "Available"}]})


def test_differences_name_the_field_the_pattern_and_the_observed_value() -> None:
    assert differences(STATUS, {"evseId": Not(1), "seqNo": Present()}) == [
        ("evseId", Not(1), 1), ("seqNo", Present(), MISSING)]


def test_remembered_values_are_bound_before_matching() -> None:
    pattern = {"transactionInfo": {"transactionId": Remembered("tx")}}
    bound = bind(pattern, {"tx": "T1"})
    assert matches({"transactionInfo": {"transactionId": "T1"}}, bound)
    assert not matches({"transactionInfo": {"transactionId": "T2"}}, bound)
    with pytest.raises(Unbound):
        bind(pattern, {})
    with pytest.raises(TypeError):  # never silently matched unbound
        matches({"transactionInfo": {"transactionId": "T1"}}, pattern)


def test_field_at_reads_a_path_and_tells_missing_from_a_value() -> None:
    payload = {"transactionInfo": {"transactionId": "T1", "x": None}}
    assert field_at(payload, ("transactionInfo", "transactionId")) == (True, "T1")
    assert field_at(payload, ("transactionInfo", "x")) == (True, None)
    assert field_at(payload, ("transactionInfo", "y")) == (False, None)
