"""Which statements need which mode: one table and one function, used by `chargespec check` and by a run.

In proxy mode the backend sends every CSMS call and decides every answer, so the statements that make
chargespec the CSMS cannot run; on the harness, the proxy statements have no backend to wait for. Both
callers ask :func:`mode_errors` and so cannot disagree:

- `chargespec check --bench FILE` (or `--proxy-to URL`) reports each such line compiler style, with a caret
  and what to write instead (a usage error: nothing ran);
- a run checks each scenario before its first step touches the bench: broken, every such line listed (not
  just the first reached), via :func:`mode_problems`.

    mode_errors(plan, proxy=True)    # [SpecError: x.spec:12:5: `csms sends` needs chargespec to be the CSMS — …]
    mode_problems(plan, proxy=True)  # ["x.spec:12:5: `csms sends Reset {type: \"OnIdle\"}` needs chargespec …"]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dsl.errors import SpecError, sort_errors
from dsl.plan import Action, Repeat, When


@dataclass(frozen=True)
class ModeRule:
    """A statement that runs in one mode only: what it is called in messages, and what to write instead."""

    needs: Literal["harness", "proxy"]
    name: str  # the statement's words, e.g. "csms sends"
    hint: str  # the other mode's way (a suggestion, starting lower case)


_NEEDS_CSMS = "needs chargespec to be the CSMS"
_DEVICE_MODEL = ("the device model is read by chargespec's own GetBaseReport; in proxy mode `csms injects "
                 "GetVariables {…}` then `expect charger replies {…}` reads one variable, or run this on the harness")
_ANSWERS = "in proxy mode the target CSMS decides every answer: leave the line out, or run this on the harness"
_RUN_PROXY = "run with `--proxy-to URL` or a bench file with a [proxy] table (docs/proxy.md)"


# Statements whose implementation sends a CSMS call or configures the harness's answers, and the proxy
# statements (dsl/statements.py names them).
RULES: Mapping[str, ModeRule] = {
    "csms.sends": ModeRule("harness", "csms sends",
                           "in proxy mode use `csms injects …` (a call of chargespec's own, which the backend never "
                           "sees) or `wait for backend to send …`"),
    "csms.sets_profile": ModeRule("harness", "csms sets <purpose>",
                                  "in proxy mode the backend sets the limits: `wait for backend to send "
                                  "SetChargingProfile {…}` (or `csms injects SetChargingProfile {…}`)"),
    "csms.clears_profiles": ModeRule("harness", "csms clears charging profiles",
                                     "in proxy mode `wait for backend to send ClearChargingProfile` (or `csms "
                                     "injects ClearChargingProfile {…}`)"),
    "csms.sets_variable": ModeRule("harness", "csms sets variable",
                                   "in proxy mode use `csms injects SetVariables {…}` then `expect charger replies "
                                   "{…}`"),
    "csms.sets_variable_where_writable": ModeRule("harness", "csms sets variable … where writable",
                                                  "in proxy mode use `csms injects SetVariables {…}` then `expect "
                                                  "charger replies {…}`"),
    "csms.answers_boot": ModeRule("harness", "csms answers BootNotification", _ANSWERS),
    "csms.blocks_token": ModeRule("harness", "csms blocks token",
                                  "in proxy mode the target CSMS decides which tokens are accepted: present a token "
                                  "it blocks, or run this on the harness"),
    "csms.answers_error": ModeRule("harness", "csms answers … with error", _ANSWERS),
    "csms.answers_with": ModeRule("harness", "csms answers … with", _ANSWERS),
    "csms.answers_late": ModeRule("harness", "csms answers … after", _ANSWERS),
    "csms.does_not_answer": ModeRule("harness", "csms does not answer", _ANSWERS),
    "csms.reads_device_model": ModeRule("harness", "csms reads the device model", _DEVICE_MODEL),
    "charger.reports_required_variables": ModeRule("harness", "charger reports every required variable",
                                                   _DEVICE_MODEL),
    "charger.reports_characteristics": ModeRule("harness", "charger reports every variable with its "
                                                "characteristics", _DEVICE_MODEL),
    "charger.supports": ModeRule("harness", "charger supports <feature>", _DEVICE_MODEL),
    "charger.supports_variable": ModeRule("harness", "charger supports variable", _DEVICE_MODEL),
    "charger.supports_writable": ModeRule("harness", "charger supports variable … writable", _DEVICE_MODEL),
    "charger.supports_value": ModeRule("harness", "charger supports variable … with value", _DEVICE_MODEL),
    "charger.supports_settable": ModeRule("harness", "charger supports variable … settable to", _DEVICE_MODEL),
    "charger.supports_without_value": ModeRule("harness", "charger supports variable … without value",
                                               _DEVICE_MODEL),
    "session.starts": ModeRule("harness", "session starts",
                               "it sends RequestStartTransaction; in proxy mode start the session as a driver does: "
                               "`driver presents token \"…\"`"),
    "session.stops": ModeRule("harness", "session stops",
                              "it sends RequestStopTransaction; in proxy mode end the session as a driver does "
                              "(`ev unplugs`), or `wait for backend to send RequestStopTransaction`"),
    "expect.composite_schedule": ModeRule("harness", "expect charger composite schedule",
                                          "it judges against the profiles chargespec sent; in proxy mode `csms injects "
                                          "GetCompositeSchedule {…}` then `expect charger replies {…}`"),
    "proxy.injects": ModeRule("proxy", "csms injects",
                              f"on the harness chargespec is the CSMS: write `csms sends …`; or {_RUN_PROXY}"),
    "proxy.backend_sends": ModeRule("proxy", "wait for backend to send",
                                    "on the harness there is no backend (`csms sends …` sends the call); "
                                    + _RUN_PROXY),
    "proxy.backend_answers_within": ModeRule("proxy", "backend answers … within", _RUN_PROXY),
    "proxy.charger_answers_within": ModeRule("proxy", "charger answers … within",
                                             f"it bounds the charger's answers to relayed calls; {_RUN_PROXY}"),
}
HARNESS_ONLY: frozenset[str] = frozenset(step for step, rule in RULES.items() if rule.needs == "harness")
PROXY_ONLY: frozenset[str] = frozenset(step for step, rule in RULES.items() if rule.needs == "proxy")
# A `when` line reads its variable with a GetVariables of chargespec's own (runner/conditions.py).
WHEN_RULE = ModeRule("harness", "when charger variable",
                     "it reads the value with chargespec's own GetVariables; in proxy mode `csms injects "
                     "GetVariables {…}` then `expect charger replies {…}` reads it (and judges one value), or run "
                     "this on the harness")


def _actions(steps: Iterable[Any]) -> Iterator[Action | When]:
    for step in steps:
        if isinstance(step, Action):
            yield step
        elif isinstance(step, When):
            yield step
            yield from _actions(step.body)
        elif isinstance(step, Repeat):
            yield from _actions(step.body)


def _rule(step: Action | When) -> ModeRule | None:
    return WHEN_RULE if isinstance(step, When) else RULES.get(step.step)


def _wrong(plan: Any, proxy: bool) -> list[tuple[Action | When, ModeRule]]:
    """The judgement itself: each statement of one scenario plan (setup, steps, teardown) that cannot run in
    this mode, with its rule."""
    wrong = "harness" if proxy else "proxy"
    found = ((a, _rule(a)) for a in _actions([*plan.setup, *plan.steps, *plan.teardown]))
    return [(a, rule) for a, rule in found if rule is not None and rule.needs == wrong]


def _written(action: Action | When) -> str:
    """The statement as the spec wrote it (the line's rest), not as an example's values made it."""
    return (action.source.text[action.source.column - 1:] if action.source.text else action.text).strip()


def _needs(rule: ModeRule) -> str:
    return _NEEDS_CSMS if rule.needs == "harness" else "needs proxy mode"


def mode_errors(plan: Any, *, proxy: bool) -> list[SpecError]:
    """:func:`_wrong` as spec errors (`chargespec check`), in file order: the caret spans the statement."""
    return sort_errors(SpecError(a.source, f"`{rule.name}` {_needs(rule)}", rule.hint,
                                 width=max(1, len(_written(a)))) for a, rule in _wrong(plan, proxy))


def spec_mode_errors(specs: Iterable[Any], *, proxy: bool) -> list[SpecError]:
    """:func:`mode_errors` over every scenario of compiled specs, each line once (a shared setup, an outline's
    examples and an included file would otherwise repeat it)."""
    return sort_errors(e for spec in specs for plan in spec.scenarios for e in mode_errors(plan, proxy=proxy))


def mode_problems(plan: Any, *, proxy: bool) -> list[str]:
    """:func:`_wrong` as one line each, for the broken verdict of a run, which shows no source line: the
    statement is quoted whole, with this instance's example values (`x.spec:12:5: `csms sends Reset {…}` needs …
    — hint`)."""
    return [f"{a.source}: `{a.text.strip()}` {_needs(rule)} — {rule.hint}" for a, rule in _wrong(plan, proxy)]


def check_mode(paths: Iterable[str | Path], *, proxy: bool, include_root: str | Path | None = None,
               skip: Collection[str] = ()) -> list[SpecError]:
    """`chargespec check` in a known mode: :func:`spec_mode_errors` of every ``*.spec`` file under `paths`
    (files or directories, each the spec root of its files, as :func:`dsl.check_paths` takes them). Files
    in `skip` (those with errors of their own, already reported) are left out, as is any file that does not
    compile."""
    import dsl
    from dsl.confine import SpecRoots
    from dsl.errors import SpecErrors
    from dsl.includes import Includes

    errors: list[SpecError] = []
    for p in paths:
        given = Path(p)
        files = sorted(given.rglob("*.spec")) if given.is_dir() else [given]
        for file in files:
            if str(file) in skip:
                continue
            roots = SpecRoots.of(given, include_root) if given.is_dir() else SpecRoots.around(file, include_root)
            try:
                specs = dsl.load(file, includes=Includes(roots))
            except SpecErrors:
                continue
            errors += spec_mode_errors(specs, proxy=proxy)
    return sort_errors(errors)
