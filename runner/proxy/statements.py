"""Which statements need which mode, checked before a scenario touches the bench.

In proxy mode the backend sends every CSMS call and decides every answer, so the statements that make
chargespec the CSMS cannot run; on the harness, the proxy statements have no backend to wait for. A scenario
using one is broken before its first step runs, with every such line listed (not just the first reached).

    problems = mode_problems(plan, proxy=True)   # ["spec.spec:12:5: `csms sends Reset …` needs …", ...]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dsl.plan import Action, Repeat

# Statements whose implementation sends a CSMS call or configures the harness's answers.
HARNESS_ONLY: frozenset[str] = frozenset({
    "csms.sends", "csms.sets_profile", "csms.clears_profiles", "csms.sets_variable",
    "csms.sets_variable_where_writable", "csms.answers_boot", "csms.blocks_token", "csms.answers_error",
    "csms.answers_with", "csms.answers_late", "csms.does_not_answer", "csms.reads_device_model",
    "charger.reports_required_variables", "charger.reports_characteristics", "charger.supports",
    "charger.supports_variable", "charger.supports_writable", "charger.supports_value",
    "charger.supports_settable", "session.starts", "session.stops", "expect.composite_schedule",
})
PROXY_ONLY: frozenset[str] = frozenset({"proxy.injects", "proxy.backend_sends", "proxy.backend_answers_within",
                                        "proxy.charger_answers_within"})


def _actions(steps: Iterable[Any]) -> Iterator[Action]:
    for step in steps:
        if isinstance(step, Action):
            yield step
        elif isinstance(step, Repeat):
            yield from _actions(step.body)


def mode_problems(plan: Any, *, proxy: bool) -> list[str]:
    """Each statement of the scenario (setup, steps, teardown) that cannot run in this mode, with its line."""
    wrong = HARNESS_ONLY if proxy else PROXY_ONLY
    why = ("needs chargespec to be the CSMS; in proxy mode the target CSMS decides (docs/proxy.md: "
           "`csms injects` sends a call of chargespec's own, `driver presents token` starts a session)"
           if proxy else "needs proxy mode (`chargespec run --proxy-to URL` or the bench file's [proxy] table)")
    return [f"{a.source}: `{a.text.strip()}` {why}"
            for a in _actions([*plan.setup, *plan.steps, *plan.teardown]) if a.step in wrong]
