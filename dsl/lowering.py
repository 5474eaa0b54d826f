"""Statements of one scenario instance -> plan steps, reporting every name, unit and dimension error.

Statements resolve through the step registry; expectations resolve their signals, quantities and OCPP
names here. Errors go to an :class:`~dsl.errors.ErrorSink`; a step with an error is left out of the
plan (the compiler refuses a spec with errors anyway).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from dsl import ast, plan, units
from dsl.errors import ErrorSink
from dsl.examples import may_hold_placeholders, placeholders
from dsl.limits import (
    MAX_EVSE,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDED_STATEMENTS,
    MAX_REPEAT_TIMES,
    evse_in_range,
    evse_out_of_range,
    shown_number,
)
from dsl.patterns import check_path, check_pattern
from dsl.quantities import check_dimension, evaluate
from dsl.render import atom as render_atom
from dsl.render import field_value, render_atoms
from dsl.render import stmt as render_stmt
from dsl.rule_checks import check_rule
from dsl.signals import resolve
from dsl.statements import ANY_MESSAGE, BENCH_VALUES, RULE_SCOPES, WINDOW_EVENTS
from dsl.stations import message_station, split_station, word_text
from dsl.steps import QUANTITY_TYPES, Param, StepRegistry
from dsl.suggest import did_you_mean
from dsl.vocab import (
    CALL_ERROR_CODES,
    CAPABILITIES,
    CHARGER_CALLS,
    CONNECTOR_STATES,
    CSMS_ENDPOINTS,
    ID_TOKEN_TYPES,
    OCPP_ACTIONS,
    PROFILE_PURPOSES,
    STANDARD_COMPONENTS,
)

if TYPE_CHECKING:  # (includes import the Lark parser: a plain file's statements never need it)
    from dsl.includes import Includes

PHYSICAL = tuple(d for d in units.CANONICAL if d != "count")


@dataclass
class Scope:
    """What a block can see: the measurement windows opened so far, the includes being expanded."""

    file: ast.SpecFile
    windows: set[str] = field(default_factory=set)
    including: tuple[str, ...] = ()
    # Names `remember … as "name"` has kept so far; the bench's values (`bench.csmsUrl`, …) from the start.
    remembered: set[str] = field(default_factory=lambda: set(BENCH_VALUES))
    # Windows opened in a `repeat` body that has ended, by name: the line of that repeat. Each trial had its
    # own window of that name, so after the block the name means no one window (docs/language.md).
    trial_windows: dict[str, int] = field(default_factory=dict)
    # Windows and remembered names a `when` block that has ended opened or kept, by name: the line of that
    # `when`. They exist only when its condition held, so a line after the block may not rely on them.
    conditional_windows: dict[str, int] = field(default_factory=dict)
    conditional_remembered: dict[str, int] = field(default_factory=dict)

    def child(self, file: ast.SpecFile, key: str) -> Scope:
        return Scope(file, self.windows, (*self.including, key), self.remembered, self.trial_windows,
                     self.conditional_windows, self.conditional_remembered)

    def trial(self) -> Scope:
        """The scope of a `repeat` body: it sees the windows opened before it; those it opens are its own."""
        return Scope(self.file, set(self.windows), self.including, self.remembered, self.trial_windows,
                     self.conditional_windows, self.conditional_remembered)

    def branch(self) -> Scope:
        """The scope of a `when` body: it sees what was opened and remembered before it; what it adds is its own."""
        return Scope(self.file, set(self.windows), self.including, set(self.remembered), self.trial_windows,
                     self.conditional_windows, self.conditional_remembered)


class Lowering:
    def __init__(self, registry: StepRegistry, rules: StepRegistry, includes: Includes,
                 sink: ErrorSink) -> None:
        self.registry, self.rules, self.includes, self.sink = registry, rules, includes, sink
        self.included = 0  # statements expanded from includes so far (limits.MAX_INCLUDED_STATEMENTS)
        # A step's text (what a report shows) cannot be wrong, only slow to make: dsl.quick's statement
        # templates take it as (render, args), made when the step is placed, not when the line is checked.
        self.defer_text = False
        self.deferred_text: tuple[Callable[..., str], tuple[Any, ...]] | None = None

    def _text(self, render: Callable[..., str], *args: Any) -> str:
        if self.defer_text:
            self.deferred_text = (render, args)
            return ""
        return render(*args)

    # ---- blocks ----

    def block(self, stmts: tuple[ast.Stmt, ...], scope: Scope) -> tuple[plan.Step, ...]:
        steps: list[plan.Step] = []
        previous: ast.Stmt | None = None
        for s in stmts:
            if self.sink.full:  # (the file is refused: what more it holds is not worth the search)
                break
            if may_hold_placeholders(s) and any(True for _ in placeholders(s)):
                previous = s
                continue  # an undefined example variable: reported once, on the template
            if isinstance(s, ast.Include):
                steps.extend(self.include(s, scope))
            elif isinstance(s, ast.ExpectTrials) and not isinstance(previous, ast.Repeat):
                self.sink.at(s, "`expect at least … of trials pass` must follow a repeat block",
                             "put it right after the repeat block, at the repeat's indentation")
            else:
                step = self.stmt(s, scope)
                if step is not None:
                    steps.append(step)
            previous = s
        return tuple(steps)

    def include(self, inc: ast.Include, scope: Scope) -> tuple[plan.Step, ...]:
        if len(scope.including) >= MAX_INCLUDE_DEPTH:  # (each level recurses here)
            self.sink.at(inc, f"shared setups include each other more than {MAX_INCLUDE_DEPTH} deep",
                         "include the setups one after another rather than each from the last")
            return ()
        setup = self.includes.resolve(inc, scope.file, self.sink)
        if setup is None:
            return ()
        self.included += len(setup.body)  # (bounds the work of a setup including another twice, many deep)
        if self.included > MAX_INCLUDED_STATEMENTS:
            if self.included - len(setup.body) <= MAX_INCLUDED_STATEMENTS:  # (reported where it is crossed)
                self.sink.at(inc, f"includes expand to more than {MAX_INCLUDED_STATEMENTS:,} statements "
                             "in this file",
                             "each include is expanded where it stands: include shared setups fewer times")
            return ()
        key = f"{setup.file}\0{setup.name.value}"  # (NUL: in no path and no name, which may hold ":")
        if key in scope.including:
            chain = " -> ".join(f'"{k.split(chr(0), 1)[1]}"' for k in (*scope.including, key))
            self.sink.at(inc, f"include cycle: {chain}",
                         "a shared setup cannot include itself, directly or through another: drop one include")
            return ()
        owner = scope.file if setup.file == scope.file.file else self._file_of(setup, scope)
        for name, node in placeholders(setup.body):
            self.sink.at(node, f"{{{name}}} in a shared setup: example variables belong to scenarios")
        return self.block(setup.body, scope.child(owner, key))

    def _file_of(self, setup: ast.NamedSetup, scope: Scope) -> ast.SpecFile:
        # Includes inside an included file resolve relative to that file.
        loaded = self.includes.loaded(setup.file)
        return loaded if loaded is not None else scope.file

    # ---- statements ----

    def stmt(self, s: ast.Stmt, scope: Scope) -> plan.Step | None:
        method = getattr(self, "stmt_" + type(s).__name__)
        result: plan.Step | None = method(s, scope)
        return result

    def stmt_ActionStmt(self, s: ast.ActionStmt, scope: Scope) -> plan.Step | None:
        named = split_station(s.atoms, self.sink, quoted=True)
        if named is None:
            return None
        if named[1] is not None:
            s = msgspec.structs.replace(s, atoms=named[0])
        found = self.registry.match(s.atoms)
        if found is None:
            self._unknown_statement(s)
            return None
        step, binding = found
        args = self.args(step.params, binding, s, scope)
        if args is None:
            return None
        if step.name == "csms.sets_profile" and not self._profile_consistent(args, binding):
            return None
        if not self._patterns_fit(step.params, args, binding):
            return None
        text = self._text(action_text, s.atoms, named[1])
        return plan.Action(step=step.name, args=args, source=s.source, text=text, station=named[1])

    def _profile_consistent(self, args: Mapping[str, Any], binding: Mapping[str, ast.Atoms]) -> bool:
        """A charging schedule has one rate unit, and its periods start at whole seconds
        (ChargingScheduleType.chargingRateUnit, ChargingSchedulePeriodType.startPeriod)."""
        def at(k: str) -> ast.Expr:
            atoms = binding[k]
            return ast.Expr(source=atoms[0].source, width=_span(atoms), atoms=atoms)

        limits = [k for k in ("limit", "limit2", "limit3", "limit4") if k in args]
        first = args["limit"].dimension
        for k in limits[1:]:
            if args[k].dimension != first:
                self.sink.at(at(k), f"{args[k].text} is a {args[k].dimension} and {args['limit'].text} a "
                             f"{first}: one charging profile has one rate unit (A or W)",
                             "write every period of the profile in A, or every one in W")
                return False
        for k in ("for1", "for2", "for3", "start"):
            q = args.get(k)
            if q is None:
                continue
            if q.value < (0 if k == "start" else 1) or abs(q.value - round(q.value)) > 1e-9:
                what = "a start" if k == "start" else "a period"
                self.sink.at(at(k), f"{what} of a charging profile is a whole number of seconds"
                             f"{'' if k == 'start' else ' from 1 s'}, not {q.text}",
                             "OCPP counts schedule periods in whole seconds (startPeriod)")
                return False
        return True

    def _patterns_fit(self, params: tuple[Param, ...], args: Mapping[str, Any],
                      binding: Mapping[str, ast.Atoms]) -> bool:
        """A statement's `{…}` pattern matches the message its action parameter names (`csms answers
        Authorize {idToken: …}`): each field and enumerated value is one that message can have."""
        patterns = [p.name for p in params if p.type == "pattern" and p.name in args]
        actions = [args[p.name] for p in params if p.type in ("action", "call") and p.name in args]
        if not patterns or len(actions) != 1:
            return True
        return all([check_pattern(actions[0], binding[name][0], self.sink) for name in patterns
                    if isinstance(binding[name][0], ast.Fields)])

    def _unknown_statement(self, s: ast.ActionStmt) -> None:
        head = s.atoms[0]
        word = render_atoms((head,))
        actors = self.registry.actors
        if word not in actors:
            # (a misspelt statement keyword reads as an unknown actor: name the keyword it was meant to be)
            hint = did_you_mean(word, (*actors, "remember", "measure", "repeat", "include", "expect")) or (
                "statements start with " + ", ".join(actors))
            self.sink.at(head, f'unknown actor "{word}"', hint)
            return
        if self._negated_requirement(s):
            return
        nearest = self.registry.nearest(s.atoms)
        quoting = nearest.misquoted(s.atoms) if nearest else None
        if quoting is not None:
            atom, wrong, fix = quoting
            self.sink.at(atom, wrong, f'{fix}, as in "{nearest.display()}"' if nearest else fix)
            return
        hint = f'did you mean "{nearest.display()}"?' if nearest else None
        self.sink.at(s, f'unknown statement "{render_atoms(s.atoms)}"', hint)

    def _negated_requirement(self, s: ast.ActionStmt) -> bool:
        """`charger supports variable X with value not "V"`, `… not settable to "V"`, `charger lacks variable X
        …`: a prerequisite in the negative, written as it reads in English. The nearest statement would be the
        positive one (and "write value "not"" its advice): name the negative form instead. True if reported."""
        words = [render_atoms((a,)) for a in s.atoms]
        if words[:1] != ["charger"] or len(words) < 4 or words[2] != "variable":
            return False
        negation = next((i for i, w in enumerate(words[3:], 3) if w in ("not", "without")), None)
        if words[1] == "lacks":
            at: ast.Node = s.atoms[1]
            wrong = "`charger lacks` takes a capability, not a variable"
        elif words[1] == "supports" and negation is not None and words[negation:negation + 2] != ["without", "value"]:
            at = s.atoms[negation]
            wrong = f'a variable\'s value is excluded with "without value", not "{words[negation]}"'
        else:
            return False
        string = next((a for a in s.atoms[4:] if isinstance(a, ast.String)), None)
        value = render_atoms((string,)) if string is not None else '"V"'
        hint = f"write `charger supports variable {words[3]} without value {value}` (its Actual value is not {value})"
        self.sink.at(at, wrong, hint + (", or `charger lacks capability NAME` for a capability"
                                        if words[1] == "lacks" else ""))
        return True

    def args(self, params: tuple[Param, ...], binding: Mapping[str, ast.Atoms],
             at: ast.Node, scope: Scope | None = None) -> dict[str, Any] | None:
        args: dict[str, Any] = {}
        ok = True
        for p in params:
            if p.name not in binding:
                continue  # an optional part left out
            value = self.arg(p, binding[p.name], at, scope)
            if value is None:
                ok = False
            else:
                args[p.name] = value
        return args if ok else None

    def arg(self, p: Param, atoms: ast.Atoms, at: ast.Node, scope: Scope | None = None) -> Any:
        if p.is_quantity:
            node = ast.Expr(source=atoms[0].source, width=_span(atoms), atoms=atoms)
            q = evaluate(atoms, node, self.sink)
            if q is None:
                return None
            allowed = PHYSICAL if "quantity" in p.kinds else tuple(k for k in p.kinds if k in QUANTITY_TYPES)
            if not check_dimension(q, allowed, node, self.sink, what=f"<{p.name}>"):
                return None
            if q.dimension == "time" and q.value < 0:  # (`wait 5 s - 10 s`: a time limit already past)
                self.sink.at(node, f"<{p.name}> is a duration and cannot be negative: {q.text} is {q.value:g} s",
                             "write the time as one positive value")
                return None
            return q
        if p.type == "ordinal":
            return self.arg_ordinal(atoms, p)
        if p.type == "count":
            return self.arg_count(atoms, p)
        if p.type == "phases":
            return self.arg_phases(atoms, p)
        (a,) = atoms
        if p.type == "int":
            assert isinstance(a, ast.Number)
            if not a.is_integer:
                self.sink.at(a, f"<{p.name}> must be a whole number, not {a.text}")
                return None
            if p.name == "evse" and not evse_in_range(a.text):
                self.sink.at(a, evse_out_of_range(a.text), f"number the EVSEs from 1 to at most {MAX_EVSE}")
                return None
            return int(a.text)
        if p.type == "string":
            assert isinstance(a, ast.String)
            return a.value
        if p.type == "fields":
            assert isinstance(a, ast.Fields)
            return self.fields(a, scope, send=True)
        if p.type == "pattern":
            assert isinstance(a, ast.Fields)
            return self.fields(a, scope)
        assert isinstance(a, ast.Word)
        if p.type == "action":
            return self.action(a)
        if p.type == "purpose":
            return self.closed(a, PROFILE_PURPOSES, "charging profile purpose")
        if p.type == "state":
            return self.closed(a, CONNECTOR_STATES, "connector status")
        if p.type == "call":
            if a.text in OCPP_ACTIONS and a.text not in CHARGER_CALLS:
                self.sink.at(a, f"{a.text} is sent by the CSMS, not by the charger: the CSMS has no {a.text} "
                             "to answer", "name an action the charger sends (Authorize, TransactionEvent, …); "
                             "to send one, write `csms sends " + a.text + " {…}`")
                return None
            return self.closed(a, CHARGER_CALLS, "OCPP action")
        if p.type == "code":
            return self.closed(a, CALL_ERROR_CODES, "CALLERROR code")
        if p.type == "tokentype":
            return self.closed(a, ID_TOKEN_TYPES, "idToken type (IdTokenEnumType)")
        if p.type == "endpoint":
            return self.closed(a, CSMS_ENDPOINTS, "CSMS endpoint")
        if p.type == "feature":
            return self.feature(a)
        if p.type == "variable":
            if "." not in a.text:
                self.sink.at(a, f'"{a.text}" names a component, not a variable: write Component.Variable '
                             "or Component.Variable[instance]",
                             f"to require the component itself, write `charger supports {a.text}`")
                return None
            return self.feature(a)
        if p.type == "capability":
            if a.text not in CAPABILITIES:
                self.sink.at(a, f'unknown capability "{a.text}"', did_you_mean(a.text, sorted(CAPABILITIES))
                             or "capabilities: " + ", ".join(CAPABILITIES))
                return None
            return a.text
        if p.type == "recurrency":
            return self.closed(a, ("daily", "weekly"), "recurrence (daily or weekly)")
        if p.type == "rate":
            return self.closed(a, ("A", "W"), "charging rate unit")
        return a.text

    def feature(self, word: ast.Word) -> str | None:
        """`Component` or `Component.Variable[instance]`, the component a standardized one (a misspelt
        name would skip the scenario on every charger: "not in the device model")."""
        component, dot, variable = word.text.partition(".")
        if component not in STANDARD_COMPONENTS:
            self.sink.at(word, f'"{component}" is not a standardized OCPP 2.0.1 component',
                         did_you_mean(component, sorted(STANDARD_COMPONENTS))
                         or "name a controller such as SmartChargingCtrlr or LocalAuthListCtrlr")
            return None
        if dot and not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(\[[A-Za-z0-9_.-]+\])?", variable):
            self.sink.at(word, f'"{word.text}": write Component.Variable or Component.Variable[instance]')
            return None
        return word.text

    def arg_ordinal(self, atoms: ast.Atoms, p: Param) -> int | None:
        """`2nd`: a whole number from 1 with its English suffix (1st, 2nd, 3rd, 4th, 11th, 21st …)."""
        number, suffix = atoms
        assert isinstance(number, ast.Number) and isinstance(suffix, ast.Word)
        if not number.is_integer or int(number.text) < 1:
            self.sink.at(number, f"<{p.name}> must be a whole number from 1 (1st, 2nd, …), not {number.text}")
            return None
        n = int(number.text)
        right = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        if suffix.text != right:
            self.sink.at(suffix, f"{n}{suffix.text} is not an ordinal", f"write {n}{right}")
            return None
        return n

    def arg_phases(self, atoms: ast.Atoms, p: Param) -> int | None:
        """`1 phase`, `2 phases`, `3 phases`: the phases a charging schedule period may use (numberPhases)."""
        number, word = atoms
        assert isinstance(number, ast.Number) and isinstance(word, ast.Word)
        if not number.is_integer or int(number.text) not in (1, 2, 3):
            self.sink.at(number, f"<{p.name}> is 1, 2 or 3 phases, not {number.text}",
                         "an AC supply has at most three phases (numberPhases)")
            return None
        n = int(number.text)
        right = "phase" if n == 1 else "phases"
        if word.text != right:
            self.sink.at(word, f"write {n} {right}, not {n} {word.text}")
            return None
        return n

    def arg_count(self, atoms: ast.Atoms, p: Param) -> int | None:
        """`once` (1) or `N times` (a whole number from 1)."""
        if len(atoms) == 1:
            return 1
        number = atoms[0]
        assert isinstance(number, ast.Number)
        if not number.is_integer or int(number.text) < 1:
            self.sink.at(number, f"<{p.name}> must be a whole number of times (1 or more), not {number.text}",
                         "write `once`, `2 times`, …; leave it out for every time until the return to idle")
            return None
        return int(number.text)

    def action(self, word: ast.Word) -> str | None:
        return self.closed(word, OCPP_ACTIONS, "OCPP action")

    def closed(self, word: ast.Word, choices: Any, what: str) -> str | None:
        if word.text in choices:
            return word.text
        self.sink.at(word, f'unknown {what} "{word.text}"', did_you_mean(word.text, sorted(choices)))
        return None

    def fields(self, f: ast.Fields, scope: Scope | None = None, *, send: bool = False) -> dict[str, Any] | None:
        """A field object as plan data. To match (`send` false, with the `scope`), `present`, `absent`,
        `not V`, `V or W` and `remembered "name"` are allowed; a payload to send holds values and
        `remembered "name"` (with the `scope`; none without)."""
        try:  # (most objects: values, and the patterns allowed where matching, which no check concerns)
            return _plain(f, scope is not None and not send)
        except _NotPlain:
            return self.checked_fields(f, scope, send=send)

    def checked_fields(self, f: ast.Fields, scope: Scope | None = None, *, send: bool = False
                       ) -> dict[str, Any] | None:
        """:meth:`fields` with every check made (what it does for an object that is not plain)."""
        ok = True
        matching = scope is not None and not send
        nodes = _walk_fields(f)
        for node in nodes:
            if type(node) in _PLAIN_VALUES:  # (most values: none of the checks below concerns them)
                if type(node) is ast.Number and not node.text.lstrip("-").isdigit() and float(node.text) in _INFINITE:
                    self.sink.at(node, f"too large a number: {node.text}",
                                 "a message holds JSON numbers, which are at most about 1.8e308")
                    ok = False
                continue
            if isinstance(node, ast.Word) and node.text not in ("true", "false", "null"):
                if matching and node.text in ("present", "absent"):
                    continue
                if node.text in ("present", "absent"):
                    self.sink.at(node, f"{node.text} matches a field of a message the charger sends; a message "
                                 "to send holds values", "write the value to send")
                else:
                    self.sink.at(node, f"field value {node.text} must be quoted", f'write "{node.text}"')
                ok = False
            elif (isinstance(node, _ALTERNATIVES_OR_NEGATED) and not matching) or (
                    isinstance(node, ast.Remembered) and scope is None):
                self.sink.at(node, f"{render_atom(node)} matches a field of a message the charger sends; "
                             "a message to send holds values", "write the value to send")
                ok = False
            elif (isinstance(node, ast.Remembered) and scope is not None and node.name.value.startswith("bench.")
                  and node.name.value not in BENCH_VALUES):
                self.sink.at(node, f'"{node.name.value}" is not a value of the bench',
                             did_you_mean(node.name.value, BENCH_VALUES) or
                             "bench values: " + ", ".join(BENCH_VALUES))
                ok = False
            elif (isinstance(node, ast.Remembered) and scope is not None and node.name.value not in scope.remembered
                  and node.name.value in scope.conditional_remembered):
                self.sink.at(node, f'"{node.name.value}" is remembered inside the when block on line '
                             f"{scope.conditional_remembered[node.name.value]}: it is kept only when that block "
                             "applies", "use it inside the block, or remember it before the block")
                ok = False
            elif isinstance(node, ast.Remembered) and scope is not None and node.name.value not in scope.remembered:
                self.sink.at(node, f'nothing is remembered as "{node.name.value}" before this line',
                             did_you_mean(node.name.value, scope.remembered) or
                             f'remember it first: remember <field> of the last <Action> as "{node.name.value}"')
                ok = False
            elif isinstance(node, ast.Alternatives) and any(isinstance(i, ast.Negated) for i in node.items):
                self.sink.at(node, f"{render_atom(node)} is ambiguous: `not` applies to one value only",
                             "list the values that are allowed (\"A\" or \"B\"), or write a single `not V`")
                ok = False
            elif isinstance(node, ast.Negated) and isinstance(node.value, _ALTERNATIVES_OR_NEGATED):
                self.sink.at(node, f"{render_atom(node)} is ambiguous",
                             "match one value with not: `not 0`; list the allowed values instead of negating several")
                ok = False
        for obj in nodes:
            if not isinstance(obj, ast.Fields):
                continue
            keys = [i.key for i in obj.items]
            if len(set(keys)) == len(keys):
                continue
            dup = next((item for item in obj.items if keys.count(item.key) > 1), None)
            if dup is not None:
                self.sink.at(dup, f'field "{dup.key}" appears twice', "write each field once")
                ok = False
        if not ok:
            return None
        value = _pattern(f) if scope is not None else field_value(f)  # (a payload to send: values, remembered)
        return value if isinstance(value, dict) else None

    def stmt_Measure(self, s: ast.Measure, scope: Scope) -> plan.Step | None:
        name = s.window.value
        if name in scope.windows:
            self.sink.at(s.window, f'measurement window "{name}" is already measured in this scenario',
                         "give each window its own name")
        elif name in scope.trial_windows:
            self.sink.at(s.window, f'measurement window "{name}" is already measured in this scenario (each '
                         f"trial of the repeat block on line {scope.trial_windows[name]} measured its own)",
                         "give each window its own name")
        scope.windows.add(name)
        duration = self.duration(s.duration) if s.duration else None
        until = " ".join(w.text for w in s.until) if s.until else None
        if until is not None and until not in WINDOW_EVENTS:
            self.sink.at(s.until[0], f'unknown event "{until}"',
                         did_you_mean(until, WINDOW_EVENTS) or "one of: " + ", ".join(WINDOW_EVENTS))
            return None
        if s.duration is not None and duration is None:
            return None
        return plan.Measure(window=name, duration=duration, until=until, source=s.source,
                            text=self._text(render_stmt, s))

    def stmt_Repeat(self, s: ast.Repeat, scope: Scope) -> plan.Step | None:
        if not s.times.is_integer or int(s.times.text) < 1:
            self.sink.at(s.times, f"repeat needs a whole number of times (1 or more), not {s.times.text}")
            return None
        too_many = len(s.times.text.lstrip("0")) > len(str(MAX_REPEAT_TIMES)) or int(s.times.text) > MAX_REPEAT_TIMES
        if too_many:
            self.sink.at(s.times, f"repeat runs at most {MAX_REPEAT_TIMES:,} trials, not {shown_number(s.times.text)}",
                         "each trial runs on the bench: repeat fewer times, or split the trials over scenarios")
        trial = scope.trial()
        body = self.block(s.body, trial)  # (checked all the same: its errors and windows are known)
        for name in trial.windows - scope.windows:  # (each trial's own: none of them after the block)
            scope.trial_windows.setdefault(name, s.line)
        if too_many:
            return None
        return plan.Repeat(times=int(s.times.text), body=body, source=s.source, text=self._text(render_stmt, s))

    def stmt_When(self, s: ast.When, scope: Scope) -> plan.Step | None:
        """`when charger variable C.V[i] is "v":` and its block (docs/language.md, "Lines that depend on the
        charger's configuration"). The block is checked whatever the charger will say; what it opens or
        remembers is its own (it may not run)."""
        variable = None
        if "." not in s.variable.text:
            self.sink.at(s.variable, f'"{s.variable.text}" names a component, not a variable: write '
                         "Component.Variable or Component.Variable[instance]",
                         "a `when` line reads one variable of the charger's device model")
        else:
            variable = self.feature(s.variable)
        members = [m.strip() for m in s.value.value.split(",")]
        if s.test in ("holds", "does not hold") and not all(members):
            self.sink.at(s.value, f'"{s.value.value}" is no list of members: `{s.test}` takes one member or '
                         'several, comma-separated ("PowerPathClosed" or "EVConnected,Authorized")',
                         "compare the whole value with `is` (an empty value: is \"\")")
            variable = None
        branch = scope.branch()
        body = self.block(s.body, branch)  # (checked all the same: its errors are known on every charger)
        for name in branch.windows - scope.windows:
            scope.conditional_windows.setdefault(name, s.line)
        for name in branch.remembered - scope.remembered:
            scope.conditional_remembered.setdefault(name, s.line)
        if variable is None:
            return None
        return plan.When(variable=variable, test=s.test, value=s.value.value,  # type: ignore[arg-type]
                         body=body, source=s.source, text=self._text(render_stmt, s), or_absent=s.absent)

    # ---- expectations ----

    def stmt_ExpectCondition(self, s: ast.ExpectCondition, scope: Scope) -> plan.Step | None:
        condition = self.condition(s.condition)
        duration = self.duration(s.duration) if s.duration is not None else None
        hold = self.duration(s.hold) if s.hold is not None else None
        if condition is None or (s.duration is not None and duration is None) or (s.hold is not None and hold is None):
            return None
        text = self._text(render_stmt, s)
        if s.mode == "settle" and duration is not None and hold is not None:
            return plan.ExpectSettle(within=duration, hold=hold, condition=condition, source=s.source, text=text)
        if s.mode == "within" and duration is not None:
            return plan.ExpectWithin(duration=duration, condition=condition, source=s.source, text=text)
        if s.mode == "for" and duration is not None:
            return plan.ExpectFor(duration=duration, condition=condition, source=s.source, text=text)
        return plan.ExpectNow(condition=condition, source=s.source, text=text)

    def condition(self, c: ast.Condition) -> plan.Condition | None:
        signal = resolve(c.signal, self.sink)
        if isinstance(c, ast.StateIs):
            states = [self.closed(w, CONNECTOR_STATES, "connector status") for w in c.states]
            if signal is None or None in states:
                return None
            if signal.dimension != "state":
                self.sink.at(c.signal, f"{signal.text} is {units.describe(signal.dimension)}, not a state",
                             "compare it instead, e.g. with >= or <=")
                return None
            return plan.StateIs(signal=signal, states=tuple(s for s in states if s is not None))
        bound = evaluate(c.bound.atoms, c.bound, self.sink)
        if signal is None or bound is None:
            return None
        if signal.dimension == "state":
            self.sink.at(c.signal, f"{signal.text} is a state, not a quantity",
                         f'write "{signal.text} is Available" (or another connector status)')
            return None
        if not check_dimension(bound, (signal.dimension,), c.bound, self.sink, what=signal.text):
            return None
        return plan.Comparison(signal=signal, op=c.op, bound=bound)  # type: ignore[arg-type]

    def stmt_ExpectAccuracy(self, s: ast.ExpectAccuracy, scope: Scope) -> plan.Step | None:
        measured = resolve(s.measured, self.sink)
        reference = resolve(s.reference, self.sink)
        tolerance = evaluate(s.tolerance.atoms, s.tolerance, self.sink)
        windows_ok = all([self.window(w, scope) for w in (s.measured_window, s.window) if w is not None])
        if measured is None or reference is None or tolerance is None or not windows_ok:
            return None
        for sig, ref in ((measured, s.measured), (reference, s.reference)):
            if sig.dimension == "state":
                self.sink.at(ref, f"{sig.text} is a state: accuracy compares quantities")
                return None
        if measured.dimension != reference.dimension:
            self.sink.at(s.reference, f"dimension mismatch: {measured.text} is "
                         f"{units.describe(measured.dimension)}, but {reference.text} is "
                         f"{units.describe(reference.dimension)}")
            return None
        if not check_dimension(tolerance, ("ratio", measured.dimension), s.tolerance, self.sink,
                               what="the tolerance"):
            return None
        window = s.window or s.measured_window
        measured_window = s.measured_window or s.window
        return plan.ExpectAccuracy(
            measured=measured, reference=reference, tolerance=tolerance,
            window=window.value if window else None,
            measured_window=measured_window.value if measured_window else None,
            source=s.source, text=self._text(render_stmt, s),
        )

    def message(self, action: ast.Word, fields: ast.Fields | None, scope: Scope) -> plan.MessagePattern | None:
        name = self.action(action)
        values = self.pattern(name, fields, scope)
        return plan.MessagePattern(name, values) if name is not None and values is not None else None

    def pattern(self, action: str | None, fields: ast.Fields | None, scope: Scope) -> dict[str, Any] | None:
        """A field object to match a charger's `action` message against; its fields and enumerated values
        must be ones the message can have (dsl.patterns), else it would match nothing."""
        if fields is None:
            return {}
        values = self.fields(fields, scope)
        if action is not None and not check_pattern(action, fields, self.sink):
            return None
        return values

    def stmt_ExpectMessage(self, s: ast.ExpectMessage, scope: Scope) -> plan.Step | None:
        if s.within_twice is not None:
            self.sink.at(s.within_twice, "two time limits for one expectation",
                         "keep one: `expect within T: charger sends …`, or `… within D after <Action>` for the "
                         "time from another message")
            return None
        plain = not (s.others or s.count or s.after or s.within)  # (`every` would make it a periodic check)
        expected = f'{chr(34) + "every" + chr(34) + ", " if plain else ""}"or", "within", the end of the line'
        placed, station = message_station(s.action, s.place, self.sink, expected=expected)
        first = self.message(s.action, s.fields, scope)
        others = [self.message(m.action, m.fields, scope) for m in s.others]
        within = self.duration(s.within) if s.within is not None else None
        count = self.count(s.count) if s.count is not None else None
        after = None
        if s.after is not None:
            after_within = self.duration(s.after.within)
            after_message = self.message(s.after.message.action, s.after.message.fields, scope)
            if after_within is not None and after_message is not None:
                after = plan.After(after_within, after_message)
        if (not placed or first is None or None in others or (s.within is not None and within is None)
                or (s.count is not None and count is None) or (s.after is not None and after is None)):
            return None
        return plan.ExpectMessage(action=first.action, fields=first.fields, within=within, source=s.source,
                                  text=self._text(render_stmt, s), others=tuple(o for o in others if o is not None),
                                  count=count, after=after, station=station)

    def count(self, c: ast.MessageCount) -> plan.MessageCount | None:
        least = 1 if c.kind == "at least" else 0
        if not c.number.is_integer or int(c.number.text) < least:
            self.sink.at(c.number, f"{c.kind} needs a whole number of messages ({least} or more), not {c.number.text}",
                         "`expect no Action for T` says that none comes" if c.kind == "at least" else None)
            return None
        return plan.MessageCount(c.kind, int(c.number.text))  # type: ignore[arg-type]

    def stmt_Remember(self, s: ast.Remember, scope: Scope) -> plan.Step | None:
        placed, station = message_station(s.message.action, s.place, self.sink)
        message = self.message(s.message.action, s.message.fields, scope)
        if s.which.text not in ("first", "last"):
            self.sink.at(s.which, f'"the {s.which.text}": remember reads the first or the last matching message',
                         did_you_mean(s.which.text, ("first", "last")))
            return None
        if s.name.value in BENCH_VALUES:
            self.sink.at(s.name, f'"{s.name.value}" is a value of the bench; a remember line keeps another name',
                         f'write another name, e.g. "{s.name.value.removeprefix("bench.")}"')
            return None
        scope.remembered.add(s.name.value)
        # (a field the message cannot have would fail the charger at run time: "no such field to remember")
        read = message is not None and check_path(message.action, s.path, self.sink)
        if message is None or not placed or not read:
            return None
        return plan.Remember(path=tuple(s.path.text.split(".")), which=s.which.text,  # type: ignore[arg-type]
                             message=message, name=s.name.value, source=s.source, text=self._text(render_stmt, s),
                             station=station)

    def stmt_ExpectInterval(self, s: ast.ExpectInterval, scope: Scope) -> plan.Step | None:
        action = self.action(s.action)
        fields = self.pattern(action, s.fields, scope)
        every = self.duration(s.every)
        tolerance = self.duration(s.tolerance)
        window_ok = s.window is None or self.window(s.window, scope)
        placed, station = message_station(s.action, s.place, self.sink)
        if action is None or fields is None or every is None or tolerance is None or not window_ok or not placed:
            return None
        return plan.ExpectInterval(action=action, every=every, tolerance=tolerance,
                                   window=s.window.value if s.window else None, source=s.source,
                                   text=self._text(render_stmt, s), fields=fields, station=station)

    def stmt_ExpectReply(self, s: ast.ExpectReply, scope: Scope) -> plan.Step | None:
        error = None
        if s.error is not None:
            error = self.closed(s.error, CALL_ERROR_CODES, "CALLERROR code")
            if error is None:
                return None
        fields = self.fields(s.fields, scope) if s.fields is not None else {}
        if fields is None:
            return None
        return plan.ExpectReply(fields=fields, error=error, source=s.source, text=self._text(render_stmt, s))

    def stmt_ExpectNoMessage(self, s: ast.ExpectNoMessage, scope: Scope) -> plan.Step | None:
        action = self.action(s.action)
        fields = self.pattern(action, s.fields, scope)
        duration = self.duration(s.duration)
        placed, station = message_station(s.action, s.place, self.sink)
        if action is None or fields is None or duration is None or not placed:
            return None
        return plan.ExpectNoMessage(action=action, fields=fields, duration=duration, source=s.source,
                                    text=self._text(render_stmt, s), station=station)

    def stmt_ExpectRule(self, s: ast.ExpectRule, scope: Scope) -> plan.Step | None:
        action = None if s.action.text == ANY_MESSAGE else self.action(s.action)
        if action is None and s.action.text != ANY_MESSAGE:
            return None
        fields = self.pattern(action, s.fields, scope)
        if fields is None:
            return None
        params: dict[str, Any] = {}
        if s.scope:
            said = " ".join(w.text for w in s.scope)
            if said not in RULE_SCOPES:
                self.sink.at(s.scope[0], f'unknown scope "of {said}"',
                             did_you_mean(said, RULE_SCOPES) or "one of: " + ", ".join(RULE_SCOPES))
                return None
            params["scope"] = RULE_SCOPES[said]
        if len(s.rule) >= 2 and [word_text(a) for a in s.rule[:2]] == ["on", "station"]:
            self.sink.at(s.rule[0], "the rule comes before the station it is judged on",
                         "write `expect every Action: RULE on station NAME`; rules: "
                         + "; ".join(r.display() for r in self.rules))
            return None
        named = split_station(s.rule, self.sink, quoted=True)  # `…: RULE on station B`, as an action ends
        if named is None:
            return None
        rule_atoms = named[0]  # (the step's text stays the line as written, the station included)
        found = self.rules.match(rule_atoms)
        if found is None:
            nearest = self.rules.nearest(rule_atoms)
            node = ast.Expr(source=rule_atoms[0].source, width=_span(rule_atoms), atoms=rule_atoms)
            self.sink.at(node, f'unknown rule "{render_atoms(rule_atoms)}"',
                         f'did you mean "{nearest.display()}"?' if nearest else
                         "rules: " + "; ".join(r.display() for r in self.rules))
            return None
        rule, binding = found
        args = self.args(rule.params, binding, s)
        if args is None:
            return None
        params.update(args)
        nodes = {p.name: ast.Expr(source=binding[p.name][0].source, width=_span(binding[p.name]),
                                  atoms=binding[p.name]) for p in rule.params if p.name in binding}
        if not check_rule(rule.name, action, s.action, params, nodes, self.sink):
            return None
        window = binding.get("window")
        if window and isinstance(window[0], ast.String) and not self.window(window[0], scope):
            return None
        return plan.ExpectRule(rule=rule.name, action=action, params=params, source=s.source,
                               text=self._text(render_stmt, s), fields=fields, station=named[1])

    def stmt_ExpectTrials(self, s: ast.ExpectTrials, scope: Scope) -> plan.Step | None:
        q = evaluate(s.at_least.atoms, s.at_least, self.sink)
        if q is None or not check_dimension(q, ("ratio",), s.at_least, self.sink, what="the pass rate"):
            return None
        if not 0 < q.value <= 1:
            self.sink.at(s.at_least, f"the pass rate must be above 0 % and at most 100 %, not {q.text}")
            return None
        return plan.ExpectTrials(at_least=q, source=s.source, text=self._text(render_stmt, s))

    # ---- parts ----

    def duration(self, e: ast.Expr) -> plan.Quantity | None:
        q = evaluate(e.atoms, e, self.sink)
        if q is None or not check_dimension(q, ("time",), e, self.sink, what="a duration"):
            return None
        if q.value <= 0:
            self.sink.at(e, f"a duration must be positive, not {q.text}")
            return None
        return q

    def window(self, w: ast.String, scope: Scope) -> bool:
        if w.value in scope.windows:
            return True
        if w.value in scope.conditional_windows:
            self.sink.at(w, f'measurement window "{w.value}" is opened inside the when block on line '
                         f"{scope.conditional_windows[w.value]}: it is measured only when that block applies",
                         "judge it inside the block, or open it before the block")
            return False
        if w.value in scope.trial_windows:
            self.sink.at(w, f'measurement window "{w.value}" is opened inside the repeat block on line '
                         f"{scope.trial_windows[w.value]}: each trial measures its own, so after the block "
                         "it names no one window",
                         "judge it inside the repeat block, after its measure line (each trial then judges its own)")
            return False
        self.sink.at(w, f'undefined measurement window "{w.value}"',
                     did_you_mean(w.value, scope.windows) or f'open it first: measure "{w.value}" for …')
        return False


def _span(atoms: ast.Atoms) -> int:
    first, last = atoms[0], atoms[-1]
    if first.source.line != last.source.line:
        return first.width
    return max(1, last.source.column + last.width - first.source.column)


def action_text(atoms: ast.Atoms, station: str | None) -> str:
    """An action's text: its atoms (the station's words taken out), and the station it names."""
    return render_atoms(atoms) + (f" on station {station}" if station is not None else "")


# (tuples, not `A | B`: a union written in the call is built again at each call, and these run per value)
_ALTERNATIVES_OR_NEGATED = (ast.Alternatives, ast.Negated)
_LIST_OR_ALTERNATIVES = (ast.FieldList, ast.Alternatives)
# Field values no check of Lowering.fields concerns (exact types: a cheap set test on every value).
_PLAIN_VALUES = frozenset({ast.String, ast.Number, ast.Fields, ast.FieldList})


class _NotPlain(Exception):
    """A field object holding something Lowering.fields checks: read the slow way, which reports it."""


def _plain(v: ast.FieldValue, matching: bool) -> Any:
    """A field value as plan data in one pass, when none of Lowering.fields' checks concerns it: the value
    :func:`_pattern` (where matching) or :func:`dsl.render.field_value` gives; else _NotPlain (a word other
    than true, false, null, present and absent, `remembered`, `not` over several values, a duplicate key,
    alternatives or negation in a payload, a placeholder)."""
    kind = type(v)
    if kind is ast.String:
        return v.value  # type: ignore[union-attr]
    if kind is ast.Fields:
        out: dict[str, Any] = {}
        for item in v.items:  # type: ignore[union-attr]
            if item.key in out:
                raise _NotPlain
            out[item.key] = _plain(item.value, matching)
        return out
    if kind is ast.Number:
        text = v.text  # type: ignore[union-attr]
        if text.lstrip("-").isdigit():
            return int(text)
        number = float(text)
        if number in _INFINITE:  # (checked_fields reports it)
            raise _NotPlain
        return number
    if kind is ast.FieldList:
        return [_plain(i, matching) for i in v.items]  # type: ignore[union-attr]
    if kind is ast.Word:
        text = v.text  # type: ignore[union-attr]
        if text in _JSON_WORDS:
            return _JSON_WORDS[text]
        if matching and text == "present":
            return plan.Present()
        if matching and text == "absent":
            return plan.Absent()
    elif matching and kind is ast.Alternatives:
        options: list[Any] = []
        for item in v.items:  # type: ignore[union-attr]
            if type(item) is ast.Negated:
                raise _NotPlain
            value = _plain(item, matching)
            options.extend(value.options if isinstance(value, plan.AnyOf) else [value])
        return plan.AnyOf(tuple(options))
    elif matching and kind is ast.Negated and not isinstance(v.value, _ALTERNATIVES_OR_NEGATED):  # type: ignore[union-attr]
        return plan.Not(_plain(v.value, matching))  # type: ignore[union-attr]
    raise _NotPlain


_JSON_WORDS = {"true": True, "false": False, "null": None}
_INFINITE = (float("inf"), float("-inf"))  # a field's number of 309 digits before its point: no JSON number


def _walk_fields(node: ast.FieldValue) -> list[ast.FieldValue]:
    """Every value in a field object, the object first, in reading order (a stack, not recursion:
    this runs on every field object of every statement line at collection)."""
    out: list[ast.FieldValue] = []
    stack: list[ast.FieldValue] = [node]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, ast.Fields):
            stack.extend([item.value for item in reversed(node.items)])
        elif isinstance(node, _LIST_OR_ALTERNATIVES):
            stack.extend(reversed(node.items))
        elif isinstance(node, ast.Negated):
            stack.append(node.value)
    return out


def _pattern(v: ast.FieldValue) -> Any:
    """A field value to match as plan data: values as :func:`dsl.render.field_value`, patterns as
    :data:`dsl.plan.Pattern` (alternatives flattened)."""
    kind = type(v)
    if kind is ast.String:  # (the commonest value first, by exact type; anything else as below)
        return v.value
    if kind is ast.Fields:
        return {f.key: _pattern(f.value) for f in v.items}
    if isinstance(v, ast.Fields):
        return {f.key: _pattern(f.value) for f in v.items}
    if isinstance(v, ast.FieldList):
        return [_pattern(i) for i in v.items]
    if isinstance(v, ast.Alternatives):
        options: list[Any] = []
        for item in v.items:
            value = _pattern(item)
            options.extend(value.options if isinstance(value, plan.AnyOf) else [value])
        return plan.AnyOf(tuple(options))
    if isinstance(v, ast.Negated):
        return plan.Not(_pattern(v.value))
    if isinstance(v, ast.Remembered):
        return plan.Remembered(v.name.value)
    if isinstance(v, ast.Word) and v.text == "present":
        return plan.Present()
    if isinstance(v, ast.Word) and v.text == "absent":
        return plan.Absent()
    return field_value(v)
