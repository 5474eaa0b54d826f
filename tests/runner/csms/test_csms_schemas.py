"""Schema validation (jsonschema-rs) agrees with the reference implementation (jsonschema, which `ocpp`
itself uses) on every OCPP 2.0.1 schema, for valid and mutated payloads: same verdict, same problems."""

from __future__ import annotations

import copy
import random
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft6Validator, FormatChecker

from runner.csms.schemas import is_datetime, schema_of, validate

STAMP = "2025-01-01T00:00:00.000Z"
SCHEMAS = sorted(f.name.removesuffix(".json") for f in resources.files("ocpp.v201").joinpath("schemas").iterdir()
                 if f.name.endswith(".json"))


def _split(name: str) -> tuple[str, str]:
    kind = "request" if name.endswith("Request") else "response"
    return name.removesuffix("Request").removesuffix("Response"), kind


def make_valid(schema: dict[str, Any], root: dict[str, Any], rnd: random.Random) -> Any:
    """A payload valid for `schema`, with a random choice of optional fields and list lengths."""
    if "$ref" in schema:
        return make_valid(root["definitions"][schema["$ref"].rsplit("/", 1)[-1]], root, rnd)
    if "enum" in schema:
        return rnd.choice(schema["enum"])
    t = schema.get("type")
    if t == "object":
        props = schema.get("properties", {})
        keys = [k for k in props if k in schema.get("required", ()) or rnd.random() < 0.5]
        return {k: make_valid(props[k], root, rnd) for k in keys}
    if t == "array":
        lo = schema.get("minItems", 0)
        n = min(lo + rnd.randint(0, 2), schema.get("maxItems", 10))
        return [make_valid(schema["items"], root, rnd) for _ in range(n)]
    if t == "string":
        return STAMP if schema.get("format") == "date-time" else "x" * min(3, schema.get("maxLength", 3))
    if t == "integer":
        return max(schema.get("minimum", 1), 1)
    if t == "number":
        return 1.5
    if t == "boolean":
        return rnd.random() < 0.5
    if t is None:                      # DataTransfer data: any JSON value
        return rnd.choice([None, 1, "text", {"a": [1, 2]}])
    raise AssertionError(f"unexpected schema node {schema}")


def _containers(value: Any, out: list[Any]) -> list[Any]:
    if isinstance(value, dict | list):
        out.append(value)
        for child in (value.values() if isinstance(value, dict) else value):
            _containers(child, out)
    return out


ODD_VALUES: list[Any] = [None, True, 0, 1.0, 2.5, -7, "", "y" * 600, "2025-02-30T00:00:00Z", "Accepted",
                         STAMP, [], {}, [1], {"k": 1}]


def mutate(payload: Any, rnd: random.Random) -> Any:
    out = copy.deepcopy(payload)
    target = rnd.choice(_containers(out, []))
    if isinstance(target, dict):
        choice = rnd.random()
        if target and choice < 0.35:
            del target[rnd.choice(list(target))]
        elif target and choice < 0.85:
            target[rnd.choice(list(target))] = rnd.choice(ODD_VALUES)
        else:
            target["unexpectedField"] = 1
    elif target:
        if rnd.random() < 0.5:
            target[rnd.randrange(len(target))] = rnd.choice(ODD_VALUES)
        else:
            target.clear()
    else:
        target.append(rnd.choice(ODD_VALUES))
    return out


def _reference(action: str, kind: str) -> Draft6Validator:
    formats = FormatChecker(formats=())
    formats.checks("date-time")(lambda v: not isinstance(v, str) or is_datetime(v))
    return Draft6Validator(schema_of(action, kind), format_checker=formats)  # type: ignore[arg-type]


def _problems(reference: Draft6Validator, payload: Any) -> set[tuple[str, str]]:
    return {(".".join(map(str, e.absolute_path)) or "(root)", str(e.validator)) for e in reference.iter_errors(payload)}


@pytest.mark.parametrize("name", SCHEMAS)
def test_validation_agrees_with_the_reference_jsonschema(name: str) -> None:
    action, kind = _split(name)
    reference = _reference(action, kind)
    rnd = random.Random(name)
    for _ in range(40):
        valid = make_valid(reference.schema, reference.schema, rnd)
        assert reference.is_valid(valid), (name, valid)
        assert validate(action, kind, valid) == [], (name, valid)  # type: ignore[arg-type]
        for _ in range(5):
            odd = mutate(valid, rnd)
            found = {(p.path, p.keyword) for p in validate(action, kind, odd)}  # type: ignore[arg-type]
            assert found == _problems(reference, odd), (name, odd)


def test_problems_name_the_field_what_was_expected_and_the_ocpp_error_code() -> None:
    [problem] = validate("Heartbeat", "response", {"currentTime": "2025-02-30T00:00:00Z"})
    assert problem.keyword == "format" and problem.code == "PropertyConstraintViolation"
    assert problem.message == "currentTime: '2025-02-30T00:00:00Z' is not a 'date-time'"
    assert validate("Heartbeat", "response", {"currentTime": STAMP}) == []
    bad = {"reason": "Reboot", "chargingStation": {"model": "M" * 30, "vendorName": 7}}
    assert [(p.message, p.code) for p in validate("BootNotification", "request", bad)] == [
        ("chargingStation.model: 30 characters, at most 20 allowed", "PropertyConstraintViolation"),
        ("chargingStation.vendorName: 7 is not of type 'string'", "TypeConstraintViolation"),
        ("reason: 'Reboot' is not one of ['ApplicationReset', 'FirmwareUpdate', 'LocalReset', 'PowerUp', "
         "'RemoteReset', 'ScheduledReset', 'Triggered', 'Unknown', 'Watchdog']", "PropertyConstraintViolation"),
    ]
    [missing] = validate("BootNotification", "request", {"reason": "PowerUp"})
    assert (missing.message, missing.code) == ("(root): 'chargingStation' is a required property",
                                               "OccurrenceConstraintViolation")


def test_a_huge_bad_value_is_not_quoted_whole() -> None:
    [problem] = validate("Heartbeat", "response", {"currentTime": "y" * 100_000})
    assert len(problem.message) <= 200 and problem.message.endswith("...")


def test_dates_are_rfc3339_with_a_zone_and_a_real_day() -> None:
    assert [is_datetime(v) for v in (STAMP, "2025-01-01T00:00:00+02:00", "2025-01-01T00:00:00",
                                     "2025-02-30T00:00:00Z", "2025-01-01 00:00:00Z", 5)] == [
        True, True, False, False, False, False]
