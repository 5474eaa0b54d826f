"""A fast yes/no pre-check for the OCPP 2.0.1 schemas; jsonschema stays the authority on problems.

jsonschema spends ~140 µs on one TransactionEvent, most of it in generic machinery; at a few thousand
frames per second that is the harness's largest cost. The OCPP schemas use a small keyword set, so each
is compiled once into nested closures that answer "valid?" in a few µs. Only a "no" goes on to
jsonschema, which then names every problem. A schema using any keyword outside the set compiles to None
and is always checked by jsonschema, so the pre-check can only ever be faster, never more lenient.

    check = compile_schema(schema, is_datetime)   # None: unsupported keyword, use jsonschema
    check({"currentTime": "2025-01-01T00:00:00Z"})  # True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never change a verdict (annotations), and the ones this module implements.
_ANNOTATIONS = frozenset({"description", "javaType", "comment", "$schema", "$id", "id", "default", "title",
                          "definitions", "additionalItems"})
_SUPPORTED = frozenset({"type", "properties", "required", "additionalProperties", "maxLength", "minLength",
                        "enum", "items", "minItems", "maxItems", "format", "minimum", "maximum", "$ref"})


class _Unsupported(Exception):
    pass


def _is_integer(v: Any) -> bool:
    # Draft 6: a float with no fractional part is an integer; a bool is never a number.
    return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def compile_schema(schema: dict[str, Any], is_datetime: Callable[[Any], bool]) -> Check | None:
    """A validity check equivalent to Draft 6 for the keywords OCPP uses; None if the schema uses others."""
    definitions = schema.get("definitions", {})
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        prefix = "#/definitions/"
        if not target.startswith(prefix) or target[len(prefix):] not in definitions:
            raise _Unsupported(target)
        name = target[len(prefix):]
        if name not in compiled:
            compiled[name] = lambda v: True        # placeholder breaks recursion while compiling
            real = node(definitions[name])
            compiled[name] = real
        return lambda v: compiled[name](v)

    def node(s: dict[str, Any]) -> Check:
        if not isinstance(s, dict):
            raise _Unsupported(s)
        if "$ref" in s:
            return ref(s["$ref"])                  # Draft 6: siblings of $ref are ignored
        unknown = set(s) - _SUPPORTED - _ANNOTATIONS
        if unknown:
            raise _Unsupported(unknown)
        checks: list[Check] = []
        if "type" in s:
            if not isinstance(s["type"], str) or s["type"] not in _TYPES:
                raise _Unsupported(s["type"])
            checks.append(_TYPES[s["type"]])
        if "enum" in s:
            options = s["enum"]
            if not all(isinstance(o, str) for o in options):
                raise _Unsupported(options)
            allowed = frozenset(options)
            checks.append(lambda v: isinstance(v, str) and v in allowed)
        if "maxLength" in s or "minLength" in s:
            hi, lo = s.get("maxLength", float("inf")), s.get("minLength", 0)
            checks.append(lambda v: not isinstance(v, str) or lo <= len(v) <= hi)
        if "format" in s:
            if s["format"] != "date-time":
                raise _Unsupported(s["format"])
            checks.append(is_datetime)
        if "minimum" in s or "maximum" in s:
            mn, mx = s.get("minimum", float("-inf")), s.get("maximum", float("inf"))
            checks.append(lambda v: not _TYPES["number"](v) or mn <= v <= mx)
        if "properties" in s or "required" in s or "additionalProperties" in s:
            checks.append(_object(s, node))
        if "items" in s or "minItems" in s or "maxItems" in s:
            checks.append(_array(s, node))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    try:
        return node(schema)
    except _Unsupported:
        return None


def _object(s: dict[str, Any], node: Callable[[dict[str, Any]], Check]) -> Check:
    props = {k: node(v) for k, v in s.get("properties", {}).items()}
    required = tuple(s.get("required", ()))
    extra = s.get("additionalProperties", True)
    if extra not in (True, False):
        raise _Unsupported(extra)
    closed = extra is False

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True                            # "type" judges non-objects
        for k in required:
            if k not in v:
                return False
        for k, value in v.items():
            c = props.get(k)
            if c is None:
                if closed:
                    return False
            elif not c(value):
                return False
        return True
    return check


def _array(s: dict[str, Any], node: Callable[[dict[str, Any]], Check]) -> Check:
    items = s.get("items")
    if items is not None and not isinstance(items, dict):
        raise _Unsupported(items)                  # tuple-form items would make additionalItems matter
    each = node(items) if items is not None else None
    lo, hi = s.get("minItems", 0), s.get("maxItems", float("inf"))

    def check(v: Any) -> bool:
        if not isinstance(v, list):
            return True
        if not lo <= len(v) <= hi:
            return False
        return each is None or all(each(x) for x in v)
    return check
