"""Field objects that match charger messages, checked against the fields OCPP 2.0.1 gives the message.

A pattern naming a field the message has nowhere (``{conectorStatus: "Occupied"}``), or a value outside
the field's enumeration (``{connectorStatus: "Ocupied"}``), matches no conformant message: the
expectation would fail the charger for the spec's typo, and ``expect no …`` or ``expect every … {…}: rule``
would pass having judged nothing. Each is an error at the key or value::

    check_pattern("StatusNotification", fields, sink)   # False after reporting

The field a ``remember`` line reads is checked alike (:func:`check_path`: at run time a missing one is
the charger's failure). Only what the schema closes is checked (:mod:`dsl.messages`): keys of closed
objects and string values of enumerations. A value of another type, ``present``/``absent``,
``remembered "x"`` and open objects (``customData``, ``DataTransfer.data``) are left to the charger's
message; so is a scalar read as an object (``evse.id.x``: the table does not tell scalars from open objects).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from dsl import ast
from dsl.errors import ErrorSink
from dsl.messages import REQUESTS
from dsl.suggest import did_you_mean


def check_pattern(action: str, fields: ast.Fields, sink: ErrorSink) -> bool:
    """Report each field no `action` request has and each value its enumeration lacks; True when none."""
    entry = REQUESTS.get(action)
    return True if entry is None else _object(action, fields, entry, "", sink)


def check_path(action: str, path: ast.Word, sink: ErrorSink) -> bool:
    """`remember transactionInfo.transactionId of …`: a path of fields the `action` request can have, through
    objects only (a list has no field to read); True when it is one, else reported at the path."""
    entry: Any = REQUESTS.get(action)
    walked: list[str] = []
    for key in path.text.split("."):
        if entry is None:  # (an open object, customData: any field)
            return True
        dotted = ".".join([*walked, key])
        if isinstance(entry, list | frozenset):
            what = "a list" if isinstance(entry, list) else "a value"
            sink.at(path, f'{action} {".".join(walked)} is {what}, not an object: it has no field "{key}"',
                    "remember reads a field of nested objects")
            return False
        if key not in entry:
            sink.at(path, f'{action} has no field "{dotted}"',
                    did_you_mean(key, entry) or "its fields there: " + ", ".join(entry))
            return False
        walked.append(key)
        entry = entry[key]
    return True


def _object(action: str, fields: ast.Fields, entry: dict[str, Any], path: str, sink: ErrorSink) -> bool:
    ok = True
    for item in fields.items:
        dotted = f"{path}.{item.key}" if path else item.key
        if item.key not in entry:
            sink.at(_key(item), f'{action} has no field "{dotted}"',
                    did_you_mean(item.key, entry) or "its fields there: " + ", ".join(entry))
            ok = False
        elif not _value(action, item.value, entry[item.key], dotted, sink):
            ok = False
    return ok


def _key(item: ast.Field) -> ast.Field:
    """The field with its width that of its key (quoted or not), for the caret."""
    quoted = item.source.text[item.source.column - 1:item.source.column] == '"'
    return msgspec.structs.replace(item, width=len(item.key) + (2 if quoted else 0))


def _value(action: str, value: ast.FieldValue, entry: Any, path: str, sink: ErrorSink) -> bool:
    if entry is None:
        return True
    kind = type(value)
    if kind is ast.Alternatives:
        return all([_value(action, v, entry, path, sink) for v in value.items])  # type: ignore[union-attr]
    if kind is ast.Negated:
        return _value(action, value.value, entry, path, sink)  # type: ignore[union-attr]
    if isinstance(entry, frozenset):
        if kind is ast.String and value.value not in entry:  # type: ignore[union-attr]
            said = value.value  # type: ignore[union-attr]
            sink.at(value, f'"{said}" is not a value of {action} {path}',
                    did_you_mean(said, sorted(entry)) or "its values: " + ", ".join(sorted(entry)))
            return False
        return True
    if isinstance(entry, list):
        if kind is ast.FieldList:
            return all([_value(action, v, entry[0], path, sink) for v in value.items])  # type: ignore[union-attr]
        return True
    if kind is ast.Fields:
        return _object(action, value, entry, path, sink)  # type: ignore[arg-type]
    return True


def _enum_keys(entry: Any, keys: set[str]) -> set[str]:
    if isinstance(entry, dict):
        for key, sub in entry.items():
            if isinstance(sub, frozenset) or (isinstance(sub, list) and isinstance(sub[0], frozenset)):
                keys.add(key)
            _enum_keys(sub, keys)
    elif isinstance(entry, list):
        _enum_keys(entry[0], keys)
    return keys


# Where a line first names a field whose values are an enumeration (as a word or a quoted key): a string
# value after it may be checked (dsl.quick keeps such strings in a line's shape).
ENUM_KEY = re.compile(r'\b(?:' + "|".join(sorted(_enum_keys(REQUESTS, set()), key=lambda k: (-len(k), k)))
                      + r')"? *:')
