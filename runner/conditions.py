"""`when charger variable C.V[i] is "v":` on a bench: the charger's value, the branch taken, and the record.

Many OCTT cases say "if the charger's configured value is X, the tool expects Y" (an AuthorizeRequest before a
remote start only when AuthCtrlr.AuthorizeRemoteStart is true; the TransactionEvent at the Authorized state
only when TxCtrlr.TxStartPoint holds Authorized). A `when` line decides it from the charger itself, at that
point of the scenario: one GetVariables, the same comparison as the prerequisite `charger supports variable
… with value` (runner/feature_matrix.same_value), and a record on the `when` line (kind "condition") that says
what was read, when, and which lines therefore apply or not:

    AuthCtrlr.AuthorizeRemoteStart is "false" (read by GetVariables at t=12.3 s), not "true": lines 20-21 not
    applicable

`… or absent` (Part 6's "unless X is implemented with …") makes the lines apply too when the charger answers
UnknownComponent or UnknownVariable, and the record says so. Any other value the charger does not give never
skips the lines silently: the scenario fails where OCPP requires the charger to give it (a CALLERROR or no
answer to GetVariables, B06; an Accepted result without a value; a variable the catalogue requires of every
charger reported unknown, TC_B_53_CS), and is broken where the bench cannot tell (the charger not connected, an
optional variable it does not have or will not read: a case for chargers that have it states `charger supports
variable …` first, which skips the others).

The read is no "previous action" (expectations in the block still count from the statement before the
`when`) and no reply for `expect charger replies` (that judges the last call a statement made).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dsl.plan import Repeat, When
from runner.context import ScenarioRun
from runner.csms.commands import variable_ref
from runner.csms.errors import CsmsConnectionLost, CsmsError, CsmsNotConnected
from runner.errors import BenchError, ExpectationFailed
from runner.feature_matrix import CORE, required_variables, same_value
from runner.judge import UNFINISHED, _fault, clock_note, draft
from runner.measurements import Limit, Reading

READ_TIMEOUT_S = 30.0  # bench seconds the charger gets to answer the GetVariables (as any CSMS call's budget)


@dataclass(frozen=True)
class Decision:
    """Which way a `when` line went, and why, in the words of its record."""

    applies: bool
    said: str  # `AuthCtrlr.AuthorizeRemoteStart is "true" (read by GetVariables at t=3.1 s): line 21 applies`


def explain(w: When, decision: Decision, failure: ExpectationFailed | BenchError) -> None:
    """A line of the block failed or broke: its message also says why the line applied (under the message, after
    the judge's own note), so that the verdict text reads on its own."""
    if failure.args:
        failure.args = (f"{failure.args[0]}\n  (it applied: line {w.source.line}: {decision.said})",)


def applies(test: str, actual: str, wanted: str) -> bool:
    """Whether a value passes a `when` test. `is`: as `charger supports variable … with value` compares
    (booleans without case, lists member by member in order); `holds`: every comma-separated member of
    `wanted` is a member of the value's list (a MemberList such as TxStartPoint "PowerPathClosed,Authorized"
    holds "Authorized"; members compared exactly, as OCPP's enumerations are written)."""
    if test in ("is", "is not"):
        return same_value(actual, wanted) == (test == "is")
    members = {m.strip() for m in actual.split(",") if m.strip()}
    held = all(m.strip() in members for m in wanted.split(",") if m.strip())
    return held == (test == "holds")


def body_lines(w: When) -> str:
    """The lines of the block as a person finds them: `lines 20-21`, `line 20` (lines included from another
    file are counted, not numbered)."""
    own: list[int] = []
    other = 0
    for s in _steps(w.body):
        if s.source.file == w.source.file:
            own.append(s.source.line)
        else:
            other += 1
    parts = []
    if own:
        lo, hi = min(own), max(own)
        parts.append(f"line {lo}" if lo == hi else f"lines {lo}-{hi}")
    if other:
        parts.append(f"{other} included line{'s' if other > 1 else ''}")
    return " and ".join(parts) or "its lines"


def _apply(w: When) -> str:
    lines = body_lines(w)
    return "applies" if lines.startswith("line ") and " and " not in lines else "apply"


def _steps(steps: Iterable[Any]) -> Iterable[Any]:
    for s in steps:
        yield s
        if isinstance(s, Repeat | When):
            yield from _steps(s.body)


def decide(run: ScenarioRun, w: When) -> Decision:
    """Read the variable, record the decision on the `when` line and return whether the block applies (and why).
    Raises ExpectationFailed (the charger did not give a value OCPP requires it to give) or BenchError (the
    bench cannot tell), each recorded, never a silent skip."""
    m = draft(run, w, "condition")
    m.subject = w.variable
    m.limits = (Limit(w.test, w.value, "", f'"{w.value}"'),)
    run.judging(m.finish("broken", UNFINISHED))  # on disk until the decision replaces it
    start = run.clock.now()
    try:
        value, at, status = _read(run, w)
    except (ExpectationFailed, BenchError) as x:
        if x.source is None:
            x = type(x)(w.source, x.detail)
        x.add_note_line(clock_note(run))
        m.window = m.span(start, run.clock.now())
        run.measured(m.finish("failed" if isinstance(x, ExpectationFailed) else "broken", x.detail))
        raise x from None
    except BaseException as x:
        run.measured(m.finish("broken", _fault(x)))
        raise
    t = at - run.recorder.t_begin
    m.window, m.samples = m.span(start, run.clock.now()), 1
    if value is None:  # (`or absent`, and the charger does not have the variable)
        yes = True
        m.observed = Reading(w.variable, None, "", status, round(t, 6))
        said = (f"{w.variable} is not in the charger's device model (GetVariables answered {status} at t={t:.1f} s; "
                f"the line says `or absent`): {body_lines(w)} {_apply(w)}")
    else:
        yes = applies(w.test, value, w.value)
        m.observed = Reading(w.variable, value, "", f'"{value}"', round(t, 6))
        read = f'{w.variable} is "{value}" (read by GetVariables at t={t:.1f} s)'
        if w.test in ("is", "is not"):  # (the value read says it: `is "false"`, against `is "true"`)
            why = "" if yes or w.test == "is not" else f', not "{w.value}"'
        else:
            why = f', which {"holds" if (w.test == "holds") == yes else "does not hold"} "{w.value}"'
        said = f"{read}{why}: {body_lines(w)} {_apply(w) if yes else 'not applicable'}"
    run.recorder.event("condition", line=w.source.line, variable=w.variable, test=w.test, value=w.value,
                       read=value, t_read=t, applies=yes)
    run.note(f"line {w.source.line}: {said}")
    run.measured(m.finish("passed", said))
    if not yes:
        for s in _steps(w.body):
            run.recorder.event("not_applicable", line=s.source.line, text=s.text, when_line=w.source.line)
    return Decision(yes, said)


def _read(run: ScenarioRun, w: When) -> tuple[str | None, float, str]:
    """The variable's Actual value, when it was read (bench time) and the attributeStatus, or the verdict on why
    there is none. None: the charger does not have the variable, and the line says `or absent`."""
    sid = run.station.id
    unknown = f"whether {body_lines(w)} {_apply(w)} is unknown"
    try:
        out = run.run(run.harness.get_variables(sid, [variable_ref(w.variable, None)], timeout_s=READ_TIMEOUT_S),
                      bench_timeout=READ_TIMEOUT_S + 5, what=f"GetVariables {w.variable} to charger {sid!r}")
    except (CsmsNotConnected, CsmsConnectionLost) as e:
        raise BenchError(None, f"{w.variable} could not be read: the charger was not connected to the harness "
                               f"({e}); {unknown}") from None
    except CsmsError as e:  # no answer within the budget from a connected charger
        raise ExpectationFailed(None, f"the charger did not answer GetVariables for {w.variable} (OCPP 2.0.1 B06, "
                                      f"required of every charger): {e}; {unknown}") from None
    if out.error_code:
        raise ExpectationFailed(None, f"the charger answered GetVariables for {w.variable} with CALLERROR "
                                      f"{out.error_code} (OCPP 2.0.1 B06, required of every charger); {unknown}")
    results = (out.response or {}).get("getVariableResult") or []
    result = results[0] if results and isinstance(results[0], dict) else {}
    status, value = result.get("attributeStatus"), result.get("attributeValue")
    at = out.t_answered if out.t_answered is not None else run.clock.now()
    if status == "Accepted" and isinstance(value, str):
        return value, at, status
    if status in ("UnknownComponent", "UnknownVariable") and w.or_absent:
        return None, at, status
    if status == "Accepted":
        raise ExpectationFailed(None, f"GetVariables for {w.variable} answered Accepted without an attributeValue "
                                      f"(OCPP 2.0.1 GetVariableResultType: it is empty only when the status is not "
                                      f"Accepted): {result or out.response}; {unknown}")
    if status in ("UnknownComponent", "UnknownVariable") and _required(w.variable, status):
        raise ExpectationFailed(None, f"the charger does not know {w.variable} (GetVariables answered {status}), a "
                                      "variable OCPP 2.0.1 requires it to report (TC_B_53_CS); " + unknown)
    raise BenchError(None, f"the charger gives no value of {w.variable} (GetVariables answered "
                           f"{status or result or out.response}): {unknown}, so the scenario is not judged; a case "
                           f"for chargers that have the variable states `charger supports variable {w.variable}` "
                           "first (a charger without it is then skipped)")


def _required(variable: str, status: str) -> bool:
    """A variable the catalogue requires of this charger: of every charger (Core), or of its controller, which
    the charger has when it knows the component (UnknownVariable, not UnknownComponent)."""
    component, _, rest = variable.partition(".")
    name, _, inst = rest.partition("[")
    instance = inst.rstrip("]") or None
    return any(r.component == component and r.variable == name and r.instance == instance
               and (r.group == CORE or status == "UnknownVariable") for r in required_variables())
