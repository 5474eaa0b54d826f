"""File-level checks that need no bench: headers, examples, example variables, duplicate names.

Statement-level checks (names, units, dimensions) happen while lowering each scenario instance
(:mod:`dsl.lowering`); :func:`dsl.compiler.analyze` runs both and returns every error of a file.
"""

from __future__ import annotations

from dsl import ast
from dsl.errors import ErrorSink
from dsl.examples import placeholders, placeholders_in
from dsl.quantities import report_unit
from dsl.render import render_atoms
from dsl.statements import LANGUAGE_VERSIONS
from dsl.suggest import closest


def check_structure(spec_file: ast.SpecFile, sink: ErrorSink) -> None:
    titles: dict[str, ast.Spec] = {}
    for spec in spec_file.specs:
        if spec.title.value in titles:
            sink.at(spec.title, f'a spec titled "{spec.title.value}" already exists in this file '
                    f"(line {titles[spec.title.value].line})", "give each spec its own title")
        titles.setdefault(spec.title.value, spec)
        check_spec(spec, sink)
    names: dict[str, ast.NamedSetup] = {}
    for setup in spec_file.setups:
        if setup.name.value in names:
            sink.at(setup.name, f'setup "{setup.name.value}" is already defined on line '
                    f"{names[setup.name.value].line}", "give each shared setup its own name")
        names.setdefault(setup.name.value, setup)
        _no_placeholders(setup.body, sink, "a shared setup")


def check_spec(spec: ast.Spec, sink: ErrorSink) -> None:
    for kind, items in (("version", spec.versions), ("setup", spec.blocks("setup")),
                        ("teardown", spec.blocks("teardown"))):
        for extra in items[1:]:
            sink.at(extra, f"a spec has at most one {kind} (first on line {items[0].line})",
                    "keep one version line" if kind == "version" else f"put all its statements in one {kind} block")
    for kind in (ast.Refs, ast.Tags):
        lines = [i for i in spec.items if isinstance(i, kind)]
        for extra in lines[1:]:
            word = kind.__name__.lower()
            sink.at(extra, f"a spec has one {word} line (first on line {lines[0].line})",
                    "list them all on one line, separated by commas")
    for version in spec.versions[:1]:
        if version.number.text not in LANGUAGE_VERSIONS:
            sink.at(version.number, f"unknown language version {version.number.text}",
                    "this chargespec understands version " + ", ".join(LANGUAGE_VERSIONS))
    if not spec.scenarios:
        sink.at(spec.title, f'spec "{spec.title.value}" has no scenario', 'add one: scenario "<name>"')
    for block in (*spec.blocks("setup"), *spec.blocks("teardown")):
        _no_placeholders(block.body, sink, f"the {block.kind}")
    seen: dict[str, ast.Scenario] = {}
    for scenario in spec.scenarios:
        if scenario.title.value in seen:
            sink.at(scenario.title, f'duplicate scenario name "{scenario.title.value}" '
                    f"(first on line {seen[scenario.title.value].line})", "give each scenario its own name")
        seen.setdefault(scenario.title.value, scenario)
        check_examples(scenario, sink)


def check_examples(scenario: ast.Scenario, sink: ErrorSink) -> None:
    ex = scenario.examples
    names = [n.text for n in ex.names] if ex else []
    if ex is not None:
        if ex.form == "table":
            _check_table(ex, sink)
        elif not ex.rows:
            sink.at(ex, "no example values", "list them: for load in 6 A, 16 A")
        for row in ex.rows:
            for cell in row.cells:
                if len(cell) == 2 and isinstance(cell[0], ast.Number):
                    report_unit(cell[1], sink)
    for name, node in (*placeholders(scenario.title), *placeholders_in(scenario.body)):
        if name not in names:
            near = closest(name, names)
            hint = f"did you mean {{{near}}}?" if near else (
                "example variables: " + ", ".join("{" + n + "}" for n in names) if names
                else 'define it: scenario "…" for ' + name + " in …")
            sink.at(node, f"undefined example variable {{{name}}}", hint)


def _check_table(ex: ast.Examples, sink: ErrorSink) -> None:
    seen: set[str] = set()
    for n in ex.names:
        if not n.text:
            sink.at(n, "each column of the examples header must be one word (the variable name)")
        elif n.text in seen:
            sink.at(n, f"example variable {n.text} appears twice in the header")
        seen.add(n.text)
    if not ex.rows:
        sink.at(ex, "the examples table has a header but no rows", "add one row per example")
    for row in ex.rows:
        if len(row.cells) != len(ex.names):
            values = f"{len(row.cells)} value" + ("" if len(row.cells) == 1 else "s")
            sink.at(row, f"this row has {values} but the header names {len(ex.names)}",
                    "give every row one value per column")
            continue
        for cell, name in zip(row.cells, ex.names, strict=True):
            if not cell:
                sink.at(row, f"empty value for {name.text}")
            elif any(isinstance(a, ast.String) for a in cell) and len(cell) > 1:
                sink.at(cell[0], f'one value per cell: "{render_atoms(cell)}"')


def _no_placeholders(body: tuple[ast.Stmt, ...], sink: ErrorSink, where: str) -> None:
    for name, node in placeholders_in(body):
        sink.at(node, f"{{{name}}} in {where}: example variables belong to scenarios",
                "move the statement into the scenario")
