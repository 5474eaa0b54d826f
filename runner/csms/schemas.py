"""Validate OCPP 2.0.1 payloads against the JSON schemas shipped in the `ocpp` package.

Each problem carries the OCPP-J error code a model peer would answer with (Part 4, table 8), so the
harness can both record a finding and, in strict mode, refuse the call:

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

from jsonschema import Draft6Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from runner.csms.fastcheck import Check, compile_schema

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

_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the "type" keyword reports non-strings
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))  # raises on 2024-02-30 and the like
    return True


@dataclass(frozen=True)
class SchemaProblem:
    path: str        # dotted JSON path inside the payload, "(root)" for the payload itself
    message: str     # jsonschema's own wording, prefixed by the path
    keyword: str     # the schema keyword that failed: required, type, maxLength, ...
    code: str        # the OCPP-J error code for a CALLERROR


class UnknownSchema(LookupError):
    pass


@cache
def _validator(action: str, kind: Kind) -> Draft6Validator:
    name = f"{action}{'Request' if kind == 'request' else 'Response'}.json"
    try:
        text = resources.files("ocpp.v201").joinpath("schemas", name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnknownSchema(f"the ocpp package has no OCPP 2.0.1 schema {name}") from None
    return Draft6Validator(json.loads(text), format_checker=_formats)


def has_schema(action: str) -> bool:
    try:
        _validator(action, "request")
    except UnknownSchema:
        return False
    return True


def _path(err: ValidationError) -> str:
    parts = [str(p) for p in err.absolute_path]
    return ".".join(parts) if parts else "(root)"


def _describe(err: ValidationError) -> str:
    # jsonschema quotes the whole offending value; an oversize field would drown the message.
    if err.validator in ("maxLength", "minLength") and isinstance(err.instance, str):
        bound = "at most" if err.validator == "maxLength" else "at least"
        return f"{len(err.instance)} characters, {bound} {err.validator_value} allowed"
    return err.message if len(err.message) <= 160 else err.message[:157] + "..."


def _datetime_ok(value: Any) -> bool:
    try:
        return _is_datetime(value)
    except ValueError:
        return False


@cache
def _fast(action: str, kind: Kind) -> Check | None:
    return compile_schema(_validator(action, kind).schema, _datetime_ok)


def validate(action: str, kind: Kind, payload: Any) -> list[SchemaProblem]:
    """All schema problems of `payload` as the `kind` of `action`; [] when valid. Raises UnknownSchema."""
    validator = _validator(action, kind)
    fast = _fast(action, kind)
    if fast is not None and fast(payload):
        return []   # the pre-check only says yes when jsonschema would (see fastcheck.py)
    problems = []
    for err in sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path))):
        keyword = str(err.validator)
        path = _path(err)
        problems.append(SchemaProblem(path, f"{path}: {_describe(err)}", keyword,
                                      _CODES.get(keyword, "FormatViolation")))
    return problems
