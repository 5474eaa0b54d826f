"""The fast schema pre-check agrees with jsonschema on every OCPP 2.0.1 schema, valid and mutated payloads."""

from __future__ import annotations

import copy
import random
from importlib import resources
from typing import Any

import pytest

from runner.csms.fastcheck import compile_schema
from runner.csms.schemas import _datetime_ok, _fast, _validator, validate

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


@pytest.mark.parametrize("name", SCHEMAS)
def test_fast_check_agrees_with_jsonschema(name: str) -> None:
    action, kind = _split(name)
    validator = _validator(action, kind)
    fast = _fast(action, kind)
    assert fast is not None, f"{name} uses a keyword the fast check does not know"
    rnd = random.Random(name)
    for _ in range(40):
        valid = make_valid(validator.schema, validator.schema, rnd)
        assert validator.is_valid(valid), (name, valid)
        assert fast(valid), (name, valid)
        for _ in range(5):
            odd = mutate(valid, rnd)
            assert fast(odd) == validator.is_valid(odd), (name, odd)


def test_validate_still_names_problems_found_by_jsonschema() -> None:
    [problem] = validate("Heartbeat", "response", {"currentTime": "yesterday"})
    assert problem.keyword == "format" and problem.code == "PropertyConstraintViolation"
    assert validate("Heartbeat", "response", {"currentTime": STAMP}) == []


def test_unknown_keywords_fall_back_to_jsonschema() -> None:
    assert compile_schema({"type": "string", "pattern": "^a"}, _datetime_ok) is None
    assert compile_schema({"type": "object", "additionalProperties": {"type": "string"}}, _datetime_ok) is None
    assert compile_schema({"$ref": "#/definitions/Missing", "definitions": {}}, _datetime_ok) is None
    check = compile_schema({"type": "integer", "minimum": 0}, _datetime_ok)
    assert check is not None
    assert [check(v) for v in (0, 3.0, 2.5, True, -1, "1")] == [True, True, False, False, False, False]
