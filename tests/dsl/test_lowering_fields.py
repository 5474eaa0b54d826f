"""Field objects lowered in one pass (dsl.lowering._plain) give what every check gives (checked_fields):
the same plan data and no error, or they are left to the checks, which report.

Checked on every field object of the library, the language reference and the golden mistakes, and on
hand-made objects holding each kind of value, each in the three places a field object stands: a payload
without a scope, a payload with one (`csms sends`), a pattern to match (`expect … {…}`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from dsl import ast
from dsl.compiler import rule_registry
from dsl.errors import ErrorSink
from dsl.lowering import Lowering, Scope
from dsl.parser import parse_partial, parse_statement
from dsl.steps import builtin_registry

REPO = Path(__file__).resolve().parents[2]


def _objects(node: object) -> Iterator[ast.Fields]:
    if isinstance(node, ast.Fields):
        yield node
    if isinstance(node, tuple | list):
        for item in node:
            yield from _objects(item)
    elif isinstance(node, msgspec.Struct) and not isinstance(node, ast.Word | ast.String | ast.Number):
        for name in node.__struct_fields__:
            yield from _objects(getattr(node, name))


def _library_objects() -> list[ast.Fields]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "specs").rglob("*.spec"))]
    texts += [p.read_bytes().decode("utf-8", "replace")  # (a golden mistake is not UTF-8)
              for p in sorted((REPO / "tests" / "dsl" / "golden").glob("*.spec"))]
    texts += re.findall(r"```spec\n(.*?)```", (REPO / "docs" / "language.md").read_text(encoding="utf-8"), re.DOTALL)
    found: list[ast.Fields] = []
    for text in texts:
        spec_file, _ = parse_partial(text, "x.spec", fast=False)
        found.extend(_objects(spec_file))
    return found


HAND_MADE = [
    '{a: "x", b: 1, c: -2.5, d: true, e: false, f: null, g: [1, "y", {h: null}], i: {j: {k: []}}}',
    '{a: present, b: absent, c: absent or "NoError", d: "A" or "B" or absent, e: not 0, f: not present}',
    '{a: not "x" or "y"}', '{a: "x" or not "y"}', '{a: not not 1}',
    '{a: remembered "tx"}', '{a: remembered "bench.csmsUrl"}', '{a: remembered "bench.nope"}',
    '{a: remembered "never"}', '{a: "x" or remembered "tx"}', '{a: [remembered "tx"]}',
    '{a: Accepted}', '{a: [Accepted]}', '{a: 1, a: 2}', '{a: {b: 1, b: 1}}', '{"quoted key": 1, b: present}',
    '{a: {x}}', '{a: "{x}"}', '{}', '{a: []}', '{a: [absent]}', '{a: [1 or 2]}',
]


def _hand_made() -> list[ast.Fields]:
    out = []
    for text in HAND_MADE:
        node = parse_statement(f"    expect charger sends Heartbeat {text}")
        assert node is not None, text
        out.extend(_objects(node))
    return out


@pytest.mark.parametrize("where", ["payload", "payload in scope", "pattern"])
def test_one_pass_agrees_with_every_check(where: str) -> None:
    objects = _library_objects() + _hand_made()
    assert len(objects) > 1000
    plain = 0
    for f in objects:
        results = []
        for method in ("fields", "checked_fields"):
            sink = ErrorSink()
            lowering = Lowering(builtin_registry(), rule_registry(), None, sink)  # type: ignore[arg-type]
            scope = None if where == "payload" else Scope(None, remembered={"tx", "bench.csmsUrl"})  # type: ignore[arg-type]
            value = getattr(lowering, method)(f, scope, send=where != "pattern")
            results.append((value, [e.message for e in sink.errors]))
        assert results[0] == results[1], f
        plain += not results[0][1]
    assert plain > 0.8 * len(objects)  # (most are plain: the one pass is what serves them)
