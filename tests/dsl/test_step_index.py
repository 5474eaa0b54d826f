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


def test_lines_differing_in_strings_and_field_objects_share_a_match_and_bind_their_own_atoms() -> None:
    registry = builtin_registry().copy()
    first, second = (read_statement(f"    driver presents token {token} on evse 1") for token in ('"A1"', '"B2"'))
    sends = [read_statement(f"    csms sends Reset {fields}") for fields in ('{type: "OnIdle"}', '{type: "Immediate"}')]
    for node in (first, second, *sends):
        assert isinstance(node, ast.ActionStmt)
        found = registry.match(node.atoms)
        assert found is not None and found == linear(registry, node.atoms)
        assert node.atoms[3] in {atoms[0] for atoms in found[1].values()}  # (its own token, its own fields)
    assert len(registry._matched) == 2  # (one match for each pair)
    # the evse number is a literal of the signature: another one is matched again, not taken as the same
    assert registry.match(read_statement("    driver presents token \"A1\" on evse 2").atoms) is not None  # type: ignore[union-attr]
    assert len(registry._matched) == 3
