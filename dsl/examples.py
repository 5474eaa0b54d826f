"""Scenario examples: one instance per example row, placeholders substituted on the AST.

``scenario "limit {limit}" for limit in 6 A, 10 A`` has two instances; in each, ``{limit}`` in
statements becomes the value's atoms (positioned at the placeholder, tagged with their origin so a
message can say which example broke) and in strings its text ("limit 6 A").
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from msgspec.structs import replace

from dsl import ast
from dsl.render import render_atoms

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

N = TypeVar("N")


@dataclass(frozen=True)
class Instance:
    """One example row: values as written (``{"limit": "6 A"}``) and as atoms for substitution."""

    params: Mapping[str, str]
    bindings: Mapping[str, ast.Atoms]
    row: ast.Row | None


def instances(scenario: ast.Scenario) -> list[Instance]:
    """The scenario's instances (one without params when it has no examples).

    Rows whose cell count does not match the header are skipped here; the checker reports them.
    """
    ex = scenario.examples
    if ex is None:
        return [Instance({}, {}, None)]
    names = [n.text for n in ex.names]
    out = []
    for row in ex.rows:
        if len(row.cells) != len(names):
            continue
        out.append(Instance(
            params={n: render_atoms(c) for n, c in zip(names, row.cells, strict=True)},
            bindings=dict(zip(names, row.cells, strict=True)),
            row=row,
        ))
    return out


def substitute(node: N, bindings: Mapping[str, ast.Atoms]) -> N:
    """A copy of `node` with every bound placeholder replaced (unbound ones are left in place)."""
    if not bindings:
        return node
    return _sub(node, bindings)


def _sub(node: Any, b: Mapping[str, ast.Atoms]) -> Any:
    if isinstance(node, tuple):
        out: list[Any] = []
        for item in node:
            if isinstance(item, ast.Placeholder) and item.name in b:
                out.extend(_splice(b[item.name], item))
            else:
                out.append(_sub(item, b))
        return tuple(out)
    if isinstance(node, ast.String):
        return replace(node, value=substitute_text(node.value, b))
    if isinstance(node, ast.Field) and isinstance(node.value, ast.Placeholder) and node.value.name in b:
        atoms = _splice(b[node.value.name], node.value)
        value = atoms[0] if len(atoms) == 1 else ast.String(
            source=node.value.source, width=node.value.width, value=render_atoms(b[node.value.name]),
            origin=atoms[0].origin if atoms else "")
        return replace(node, value=value)
    if isinstance(node, ast.Node):
        changes = {}
        for name in node.__struct_fields__:
            value = getattr(node, name)
            if isinstance(value, ast.Node | tuple):
                changes[name] = _sub(value, b)
        return replace(node, **changes) if changes else node
    return node


def _splice(value: ast.Atoms, at: ast.Placeholder) -> tuple[ast.Atom, ...]:
    origin = f"{at.name} = {render_atoms(value)}"
    return tuple(replace(a, source=at.source, width=at.width, origin=origin) for a in value)


def substitute_text(text: str, bindings: Mapping[str, ast.Atoms]) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        return render_atoms(bindings[name]) if name in bindings else m.group(0)

    return PLACEHOLDER.sub(repl, text)


def placeholders(node: Any) -> Iterator[tuple[str, ast.Node]]:
    """Every placeholder used under `node` (atoms and inside strings), with the node carrying it."""
    if isinstance(node, tuple):
        for item in node:
            yield from placeholders(item)
    elif isinstance(node, ast.Placeholder):
        yield node.name, node
    elif isinstance(node, ast.String):
        if "{" in node.value:
            for m in PLACEHOLDER.finditer(node.value):
                yield m.group(1), node
    elif isinstance(node, ast.Node):
        for name in _child_fields(type(node)):
            yield from placeholders(getattr(node, name))


def may_hold_placeholders(s: ast.Stmt) -> bool:
    """Whether a statement may hold a placeholder (walk it with :func:`placeholders` to know): one whose
    line holds none has none, nor got one from an example value (a value is put only where the line had
    one). A repeat's or a when's body is on other lines, and a node made without its line is walked."""
    text = s.source.text
    return not text or isinstance(s, ast.Repeat | ast.When) or PLACEHOLDER.search(text) is not None


def placeholders_in(stmts: tuple[ast.Stmt, ...]) -> Iterator[tuple[str, ast.Node]]:
    """:func:`placeholders` of the statements that may hold one."""
    for s in stmts:
        if may_hold_placeholders(s):
            yield from placeholders(s)


@functools.cache
def _child_fields(cls: type) -> tuple[str, ...]:
    # Checking runs this walk for every statement of every instance: skip fields that never hold nodes.
    # From the annotations as written: evaluating them (msgspec.structs.fields) needs the module to be in
    # sys.modules still, which pytester's in-process runs do not promise.
    written: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        written.update(inspect.get_annotations(klass))  # as strings (no eval_str)
    leaves = {"str", "int", "bool", "Source"}
    return tuple(f for f in cls.__struct_fields__ if str(written.get(f)) not in leaves)
