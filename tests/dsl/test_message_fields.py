"""Field objects that match charger messages name fields and enumerated values the message can have.

A typo there matches nothing: `expect no StatusNotification {connectorStatus: "Faultd"} for 5 min` passed
having judged nothing, `expect … sends …` failed the charger for the spec's typo. dsl/messages.py holds each
request's fields (from the ocpp package's JSON schemas; `dsl` does not import `ocpp`), compared here with
the schemas. Regenerate it: CHARGESPEC_UPDATE_MESSAGES=1 .venv/bin/pytest tests/dsl/test_message_fields.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import ocpp
import pytest

import dsl
from dsl import quick
from dsl.messages import REQUESTS
from dsl.steps import builtin_registry
from dsl.text import normalize

SCHEMAS = Path(ocpp.__file__).parent / "v201" / "schemas"
MODULE = Path(dsl.__file__).parent / "messages.py"


def _tree(node: dict[str, Any], definitions: dict[str, Any], enums: dict[str, tuple[str, ...]],
          objects: dict[str, Any]) -> Any:
    """A schema node as dsl.messages describes it: an enumeration as ("enum", its definition's name), a closed
    object type the schema names as ("object", its name), its fields kept once in `objects` (in the order they
    must be written: the types a type uses before it)."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if "enum" in definitions[name]:
            enums[name] = tuple(sorted(definitions[name]["enum"]))
            return ("enum", name)
        tree = _tree(definitions[name], definitions, enums, objects)
        if not isinstance(tree, dict):  # (CustomDataType: open, any value)
            return tree
        assert objects.setdefault(name, tree) == tree, name  # one name, one type in every schema
        return ("object", name)
    assert "enum" not in node  # (2.0.1 names every enumeration)
    if node.get("type") == "object":
        if node.get("additionalProperties") is not False:
            return None  # (CustomDataType: open)
        return {k: _tree(v, definitions, enums, objects) for k, v in sorted(node.get("properties", {}).items())}
    if node.get("type") == "array":
        return ["list", _tree(node["items"], definitions, enums, objects)]
    return None


def _schemas() -> tuple[dict[str, Any], dict[str, tuple[str, ...]], dict[str, Any]]:
    requests: dict[str, Any] = {}
    enums: dict[str, tuple[str, ...]] = {}
    objects: dict[str, Any] = {}
    for path in sorted(SCHEMAS.glob("*Request.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        seen: dict[str, tuple[str, ...]] = {}
        requests[path.name.removesuffix("Request.json")] = _tree(schema, schema.get("definitions", {}), seen, objects)
        for name, values in seen.items():
            assert enums.setdefault(name, values) == values, name  # one name, one enumeration everywhere
    return requests, enums, objects


def _resolved(tree: Any, enums: dict[str, tuple[str, ...]], objects: dict[str, Any]) -> Any:
    """A generated tree as dsl.messages holds it (enumerations as frozensets, arrays as one-item lists, named
    object types as their fields)."""
    if isinstance(tree, tuple):
        return frozenset(enums[tree[1]]) if tree[0] == "enum" else _resolved(objects[tree[1]], enums, objects)
    if isinstance(tree, list):
        return [_resolved(tree[1], enums, objects)]
    if isinstance(tree, dict):
        return {k: _resolved(v, enums, objects) for k, v in tree.items()}
    return tree


def _name(kind: str, name: str) -> str:
    """`_ChargingRateUnit` for ChargingRateUnitEnumType, `_ChargingProfileType` for ChargingProfileType (an object
    type keeps its suffix: IdTokenEnumType and IdTokenType are both in 2.0.1)."""
    return "_" + (name.removesuffix("EnumType") if kind == "enum" else name)


def _render(tree: Any, indent: int) -> str:
    if tree is None:
        return "None"
    if isinstance(tree, tuple):
        return _name(*tree)
    if isinstance(tree, list):
        return "[" + _render(tree[1], indent) + "]"
    if not tree:
        return "{}"
    pad = " " * (indent + 4)
    fields = "".join(f"{pad}{json.dumps(k)}: {_render(v, indent + 4)},\n" for k, v in tree.items())
    return "{\n" + fields + " " * indent + "}"


def _module(requests: dict[str, Any], enums: dict[str, tuple[str, ...]], objects: dict[str, Any]) -> str:
    doc = MODULE.read_text(encoding="utf-8").split('"""')[1]  # (the docstring is kept as written)
    out = [f'"""{doc}"""', "", "from __future__ import annotations", "", "from typing import Any", ""]
    for name, values in sorted(enums.items()):
        line, lines = f"{_name('enum', name)} = frozenset({{", []
        for item in (json.dumps(v) + "," for v in values):
            if len(line) + len(item) + 1 > 116:
                lines.append(line.rstrip())
                line = "    "
            line += item + " "
        out += [*lines, line.rstrip().rstrip(",") + "})"]
    names = [_name("enum", n) for n in enums] + [_name("object", n) for n in objects]
    assert len(set(names)) == len(names), "an enumeration and an object type would share a name"
    out.append("")
    # (each object type once, after the types it uses: `objects` is in that order)
    out += [f"{_name('object', name)}: dict[str, Any] = {_render(tree, 0)}" for name, tree in objects.items()]
    out += ["", "REQUESTS: dict[str, dict[str, Any]] = {"]
    out += [f"    {json.dumps(action)}: {_render(tree, 4)}," for action, tree in requests.items()]
    return "\n".join([*out, "}"]) + "\n"


def test_the_message_fields_are_the_ocpp_schemas() -> None:
    requests, enums, objects = _schemas()
    if os.environ.get("CHARGESPEC_UPDATE_MESSAGES") == "1":
        MODULE.write_text(_module(requests, enums, objects), encoding="utf-8")
    assert {a: _resolved(t, enums, objects) for a, t in requests.items()} == REQUESTS
    assert len(REQUESTS) == 64
    assert MODULE.read_text(encoding="utf-8") == _module(requests, enums, objects)  # (as generated: reviewable diffs)


def _errors(line: str) -> list[str]:
    text = f'spec "S"\n  scenario "x"\n    measure "w" for 1 min\n    {line}\n'
    spec_file, errors = dsl.parser.parse_partial(text, "x.spec")
    assert spec_file is not None and not errors, errors
    return [e.render() for e in dsl.check(spec_file)]


@pytest.mark.parametrize(("line", "message", "underlined"), [
    ('expect no StatusNotification {connectorStatus: "Faultd"} for 5 min',
     '"Faultd" is not a value of StatusNotification connectorStatus — did you mean "Faulted"?', '"Faultd"'),
    ('expect within 30 s: charger sends StatusNotification {conectorStatus: "Occupied", evseId: 1}',
     'StatusNotification has no field "conectorStatus" — did you mean "connectorStatus"?', "conectorStatus"),
    ('expect charger sends StatusNotification {evseId: 1} or TransactionEvent {evse: {idd: 1}}',
     'TransactionEvent has no field "evse.idd" — did you mean "id"?', "idd"),
    ('expect charger sends MeterValues within 5 s after TransactionEvent {eventType: "Start"}',
     '"Start" is not a value of TransactionEvent eventType — did you mean "Started"?', '"Start"'),
    ('expect charger sends TransactionEvent {triggerReason: "Authorized" or "EVDetectd"}',
     '"EVDetectd" is not a value of TransactionEvent triggerReason — did you mean "EVDetected"?', '"EVDetectd"'),
    ('remember transactionInfo.transactionId of the last TransactionEvent {"eventTyp": "Started"} as "tx"',
     'TransactionEvent has no field "eventTyp" — did you mean "eventType"?', '"eventTyp"'),
    ('expect every TransactionEvent {triggerReason: not "Autorized"}: seqNo increases by 1',
     '"Autorized" is not a value of TransactionEvent triggerReason — did you mean "Authorized"?', '"Autorized"'),
    ('expect charger sends MeterValues {meterValue: [{sampledValue: [{measurand: "Power.Active.Imprt"}]}]} '
     'every 60 s ± 2 s during "w"',
     '"Power.Active.Imprt" is not a value of MeterValues meterValue.sampledValue.measurand — '
     'did you mean "Power.Active.Import"?', '"Power.Active.Imprt"'),
    ('csms answers Authorize {idToken: {type: "ISO1443"}} with {idTokenInfo: {status: "Accepted"}}',
     '"ISO1443" is not a value of Authorize idToken.type — did you mean "ISO14443"?', '"ISO1443"'),
])
def test_a_pattern_names_fields_and_values_its_message_can_have(line: str, message: str, underlined: str) -> None:
    (rendered,) = _errors(line)
    headline, _, caret = rendered.split("\n")
    column = line.index(underlined) + 5
    assert headline == f"x.spec:4:{column}: {message}"
    assert caret == "  " + " " * (column - 5) + "^" * len(underlined)


@pytest.mark.parametrize(("line", "message"), [
    ('remember transactionInfo.transactionID of the last TransactionEvent as "tx"',
     'TransactionEvent has no field "transactionInfo.transactionID" — did you mean "transactionId"?'),
    ('remember meterValue.timestamp of the last MeterValues as "t"',
     'MeterValues meterValue is a list, not an object: it has no field "timestamp" — remember reads a field of '
     "nested objects"),
])
def test_the_field_a_remember_line_reads_is_one_its_message_can_have(line: str, message: str) -> None:
    # (at run time a missing field is the charger's failure: "has no … to remember")
    (rendered,) = _errors(line)
    headline, _, caret = rendered.split("\n")
    path = line.split(" ")[1]
    assert headline == f"x.spec:4:14: {message}"
    assert caret == "  " + " " * 9 + "^" * len(path)


@pytest.mark.parametrize("line", [
    'remember transactionInfo.transactionId of the last TransactionEvent as "tx"',
    'remember customData.anything of the last TransactionEvent as "c"',
    'expect charger sends StatusNotification {connectorStatus: "Available" or "Occupied", evseId: not 2, '
    "connectorId: present, customData: absent}",
    'expect charger sends DataTransfer {vendorId: "x", data: {anything: [1, "y"]}, customData: {vendorId: "v", z: 1}}',
    'expect charger sends TransactionEvent {evse: absent or {id: 1}, idToken: {type: present}, eventType: 1}',
    'csms sends Reset {type: "Bogus"}',  # (a payload to send: a negative test may send what the schema refuses)
    'expect charger replies {status: "Whatever"}',  # (the reply of the last call: which action is not on the line)
])
def test_what_a_message_can_hold_and_what_is_not_a_pattern_pass(line: str) -> None:
    assert _errors(line) == []


def test_a_lazy_collection_does_not_take_a_misspelt_value_for_a_checked_line_of_its_shape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for cache in ("_TEMPLATES", "_SHAPES", "_OUTLINED"):
        monkeypatch.setattr(quick, cache, {})
    text = 'spec "S"\n  scenario "x"\n    expect no StatusNotification {connectorStatus: "%s"} for 5 min\n'
    assert quick.compile_text(normalize(text % "Faulted"), "a.spec", "d", builtin_registry(), lazy=True) is not None
    for lazy in (True, False):
        assert quick.compile_text(normalize(text % "Faultd"), "b.spec", "d", builtin_registry(), lazy=lazy) is None
