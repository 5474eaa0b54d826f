"""StepRegistry.match tries only the definitions that start with the statement's first word: the same
answer as trying every definition in order (the index is a speed-up for collection, nothing else)."""

from __future__ import annotations

from pathlib import Path

from dsl import ast
from dsl.quickline import read_statement
from dsl.steps import StepRegistry, builtin_registry

REPO = Path(__file__).resolve().parents[2]


def linear(registry: StepRegistry, atoms: ast.Atoms) -> object:
    for step in registry:
        binding = step.match(atoms)
        if binding is not None:
            return step, binding
    return None


def test_the_index_answers_as_every_definition_in_order() -> None:
    registry = builtin_registry()
    lines = {line for p in (REPO / "specs").rglob("*.spec") for line in p.read_text(encoding="utf-8").split("\n")}
    actions = [n for n in map(read_statement, sorted(lines)) if isinstance(n, ast.ActionStmt)]
    assert len(actions) > 100
    for node in actions:
        for atoms in (node.atoms, node.atoms[1:], node.atoms[:2], ()):  # (and shapes that match nothing)
            assert registry.match(atoms) == linear(registry, atoms)


def test_a_definition_added_later_is_found() -> None:
    registry = builtin_registry().copy()
    line = read_statement("    lab relay closes")
    assert isinstance(line, ast.ActionStmt) and registry.match(line.atoms) is None
    registry.define("lab relay closes", name="lab.relay_closes")
    found = registry.match(line.atoms)
    assert found is not None and found[0].name == "lab.relay_closes"
