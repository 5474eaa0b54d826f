"""Checked AST -> plans: one SpecPlan per spec, one ScenarioPlan per scenario x example row.

:func:`analyze` does the checking and the compiling in one pass and returns both the plans and every
error; ``check`` keeps the errors, ``compile`` refuses to return plans when there are any.
"""

from __future__ import annotations

from dsl import ast, plan
from dsl.checker import check_structure
from dsl.errors import ErrorSink, SpecError, sort_errors
from dsl.examples import instances, substitute, substitute_text
from dsl.includes import Includes
from dsl.lowering import Lowering, Scope
from dsl.statements import LANGUAGE_VERSIONS, RULES
from dsl.steps import StepRegistry, builtin_registry
from dsl.text import excerpt


def rule_registry() -> StepRegistry:
    """The rules of ``expect every <Action>: <rule>`` as a step registry (name = ExpectRule.rule)."""
    registry = StepRegistry()
    for name, pattern in RULES.items():
        registry.define(pattern, name=name)
    return registry


def analyze(spec_file: ast.SpecFile, registry: StepRegistry | None = None,
            includes: Includes | None = None) -> tuple[tuple[plan.SpecPlan, ...], list[SpecError]]:
    """Every plan the file compiles to and every error in it (plans are meaningless if there are errors)."""
    sink = ErrorSink()
    includes = includes or Includes()
    includes.add(spec_file)
    check_structure(spec_file, sink)
    lowering = Lowering(registry or builtin_registry(), rule_registry(), includes, sink)
    plans = tuple(_spec(spec, spec_file, lowering) for spec in spec_file.specs)
    return plans, sort_errors(sink.errors)


def _spec(spec: ast.Spec, spec_file: ast.SpecFile, lowering: Lowering) -> plan.SpecPlan:
    refs = tuple(r.value for r in spec.refs)
    tags = tuple(dict.fromkeys(t.text for t in spec.tags))
    version = spec.versions[0].number.text if spec.versions else LANGUAGE_VERSIONS[-1]
    setup_block = spec.blocks("setup")
    teardown_block = spec.blocks("teardown")
    scenarios: list[plan.ScenarioPlan] = []
    names: dict[str, ast.Scenario] = {}
    for scenario in spec.scenarios:
        for instance in instances(scenario):
            title = substitute_text(scenario.title.value, instance.bindings)
            if title in names and names[title] is scenario and scenario.examples is not None:
                lowering.sink.at(scenario.title, f'two examples give the scenario the same name "{title}"',
                                 "mention each example variable in the title, e.g. {" +
                                 scenario.examples.names[0].text + "}" if scenario.examples.names else None)
            elif title in names and names[title].title.value != scenario.title.value:
                # (identical titles are reported once by the checker)
                lowering.sink.at(scenario.title, f'duplicate scenario name "{title}" '
                                 f"(also on line {names[title].line})", "give each scenario its own name")
            names.setdefault(title, scenario)
            # Setup and teardown are lowered per instance: windows they open are the instance's own.
            scope = Scope(spec_file)
            setup = lowering.block(setup_block[0].body, scope) if setup_block else ()
            body = substitute(scenario.body, instance.bindings)
            steps = lowering.block(body, scope)
            teardown = lowering.block(teardown_block[0].body, scope) if teardown_block else ()
            scenarios.append(plan.ScenarioPlan(
                spec_title=spec.title.value, name=title, params=dict(instance.params),
                setup=setup, steps=steps, teardown=teardown, source=scenario.source, refs=refs, tags=tags,
            ))
    return plan.SpecPlan(
        title=spec.title.value, file=spec_file.file, version=version, refs=refs, tags=tags,
        scenarios=tuple(scenarios), source=spec.source, excerpt=_excerpt(spec, spec_file),
        sha256=spec_file.sha256,
    )


def _excerpt(spec: ast.Spec, spec_file: ast.SpecFile) -> str:
    starts = sorted(item.line for item in spec_file.order)
    after = [s for s in starts if s > spec.line]
    return excerpt(spec_file.lines, spec.line, after[0] - 1 if after else len(spec_file.lines))

