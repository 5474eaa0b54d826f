"""Checked AST -> plans: one SpecPlan per spec, one ScenarioPlan per scenario x example row.

:func:`analyze` does the checking and the compiling in one pass and returns both the plans and every
error; ``check`` keeps the errors, ``compile`` refuses to return plans when there are any.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dsl import ast, plan
from dsl.checker import check_structure
from dsl.errors import ErrorSink, SpecError, sort_errors
from dsl.examples import instances, may_hold_placeholders, substitute, substitute_text
from dsl.limits import MAX_PLAN_STEPS
from dsl.lowering import Lowering, Scope
from dsl.statements import LANGUAGE_VERSIONS, RULES
from dsl.steps import StepRegistry, builtin_registry
from dsl.text import excerpt

if TYPE_CHECKING:  # (the include resolver imports the Lark parser: dsl.quick needs rule_registry only)
    from dsl.includes import Includes


def rule_registry() -> StepRegistry:
    """The rules of ``expect every <Action>: <rule>`` as a step registry (name = ExpectRule.rule)."""
    registry = StepRegistry()
    for name, pattern in RULES.items():
        registry.define(pattern, name=name)
    return registry


def analyze(spec_file: ast.SpecFile, registry: StepRegistry | None = None,
            includes: Includes | None = None) -> tuple[tuple[plan.SpecPlan, ...], list[SpecError]]:
    """Every plan the file compiles to and every error in it (plans are meaningless if there are errors)."""
    from dsl.includes import Includes

    sink = ErrorSink()
    includes = includes or Includes()
    includes.add(spec_file)
    check_structure(spec_file, sink)
    lowering = Lowering(registry or builtin_registry(), rule_registry(), includes, sink)
    compiled = [0]  # steps the file's scenario instances compile to so far (limits.MAX_PLAN_STEPS)
    plans = tuple(_spec(spec, spec_file, lowering, compiled) for spec in spec_file.specs)
    return plans, sort_errors(sink.errors)


def _statements(stmts: tuple[ast.Stmt, ...]) -> int:
    """Statements in a block, those of repeat and when blocks included (an include counts one: it has its own
    bound)."""
    return sum(1 + (_statements(s.body) if isinstance(s, ast.Repeat | ast.When) else 0) for s in stmts)


def _spec(spec: ast.Spec, spec_file: ast.SpecFile, lowering: Lowering, compiled: list[int]) -> plan.SpecPlan:
    refs = tuple(r.value for r in spec.refs)
    tags = tuple(dict.fromkeys(t.text for t in spec.tags))
    version = spec.versions[0].number.text if spec.versions else LANGUAGE_VERSIONS[-1]
    setup_block = spec.blocks("setup")
    teardown_block = spec.blocks("teardown")
    scenarios: list[plan.ScenarioPlan] = []
    names: dict[str, ast.Scenario] = {}
    shared = sum(_statements(b[0].body) for b in (setup_block, teardown_block) if b)
    for scenario in spec.scenarios:
        # Instances x statements is what compiling costs (a 30 KB file of 1,000 examples x 1,000 lines
        # made a million steps): bounded before anything is compiled.
        examples = instances(scenario)
        size = len(examples) * (shared + _statements(scenario.body))
        compiled[0] += size
        if compiled[0] > MAX_PLAN_STEPS:
            if compiled[0] - size <= MAX_PLAN_STEPS:  # (reported where it is crossed; the rest is skipped)
                lowering.sink.at(scenario.title, f"the file compiles to more than {MAX_PLAN_STEPS:,} steps "
                                 f"(this scenario: {len(examples):,} instances of {size // len(examples):,})",
                                 "split it into several files or scenarios")
            continue
        for instance in examples:
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
            # (a statement whose line holds no placeholder is the same in every instance: not copied)
            body = tuple(substitute(s, instance.bindings) if may_hold_placeholders(s) else s for s in scenario.body)
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

