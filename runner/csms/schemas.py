"""Validate OCPP 2.0.1 payloads against the JSON schemas shipped in the `ocpp` package.

Validation is jsonschema-rs (Draft 6, compiled once per schema; ~1-6 µs per message, fast enough to
check every frame both ways at thousands of frames per second; bench/bench_csms.py --validators
compares it with jsonschema, fastjsonschema and the hand-written pre-check it replaced). Each problem
carries the OCPP-J error code a model peer would answer with (Part 4, table 8), so the harness can both
record a finding and, in strict mode, refuse the call:

    problems = validate("BootNotification", "request", {"reason": "PowerUp"})
    problems[0].code      # "OccurrenceConstraintViolation"
    problems[0].message   # "(root): 'chargingStation' is a required property"
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema_rs

Kind = Literal["request", "response"]

# Which OCPP-J error code a schema keyword maps to. Occurrence = how many; type = JSON type;
# property = the value itself; anything structural = format.
_CODES = {
    "required": "OccurrenceConstraintViolation",
    "minItems": "OccurrenceConstraintViolation",
    "maxItems": "OccurrenceConstraintViolation",
    "type": "TypeConstraintViolation",
    "enum": "PropertyConstraintViolation",
    "maxLength": "PropertyConstraintViolation",
    "minLength": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "exclusiveMinimum": "PropertyConstraintViolation",
    "exclusiveMaximum": "PropertyConstraintViolation",
    "multipleOf": "PropertyConstraintViolation",
    "pattern": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
}

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
MAX_MESSAGE = 160  # characters of one problem's description; a quoted oversize value would drown it


def is_datetime(value: object) -> bool:
    """RFC 3339 with a zone (OCPP's dateTime), and a real calendar date (2024-02-30 is not)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SchemaProblem:
    path: str        # dotted JSON path inside the payload, "(root)" for the payload itself
    message: str     # "<path>: <what is wrong, and what was expected>"
    keyword: str     # the schema keyword that failed: required, type, maxLength, ...
    code: str        # the OCPP-J error code for a CALLERROR


class UnknownSchema(LookupError):
    pass


def schema_of(action: str, kind: Kind) -> dict[str, Any]:
    name = f"{action}{'Request' if kind == 'request' else 'Response'}.json"
    try:
        text = resources.files("ocpp.v201").joinpath("schemas", name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnknownSchema(f"the ocpp package has no OCPP 2.0.1 schema {name}") from None
    return dict(json.loads(text))


@cache
def _validator(action: str, kind: Kind) -> Any:
    return jsonschema_rs.Draft6Validator(schema_of(action, kind), validate_formats=True,
                                         formats={"date-time": is_datetime})


def has_schema(action: str) -> bool:
    try:
        _validator(action, "request")
    except UnknownSchema:
        return False
    return True


def _path(err: Any) -> str:
    parts = [str(p) for p in err.instance_path]
    return ".".join(parts) if parts else "(root)"


def _describe(keyword: str, err: Any) -> str:
    """What is wrong and what was expected, in jsonschema's familiar wording where it has one."""
    value = err.instance
    kind = err.kind
    if keyword in ("maxLength", "minLength") and isinstance(value, str):
        bound = "at most" if keyword == "maxLength" else "at least"
        return f"{len(value)} characters, {bound} {kind.limit} allowed"
    if keyword == "required":
        text = f"{kind.property!r} is a required property"
    elif keyword == "enum":
        text = f"{value!r} is not one of {list(kind.options)!r}"
    elif keyword == "type":
        types = list(kind.types)
        text = f"{value!r} is not of type {(types[0] if len(types) == 1 else types)!r}"
    elif keyword == "format":
        text = f"{value!r} is not a {kind.format!r}"
    else:
        text = str(err.message)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def validate(action: str, kind: Kind, payload: Any) -> list[SchemaProblem]:
    """All schema problems of `payload` as the `kind` of `action`; [] when valid. Raises UnknownSchema."""
    validator = _validator(action, kind)
    if validator.is_valid(payload):
        return []
    problems = []
    for err in validator.iter_errors(payload):
        keyword = str(err.schema_path[-1]) if err.schema_path else ""
        path = _path(err)
        problems.append(SchemaProblem(path, f"{path}: {_describe(keyword, err)}", keyword,
                                      _CODES.get(keyword, "FormatViolation")))
    return sorted(problems, key=lambda p: p.path)
