"""Canonical text of AST nodes: one spacing, ASCII operators, quoted strings.

Used for the `text` of plan nodes (what a report shows) and by the formatter::

    >>> render_atoms(expr.atoms)
    '{limit} + 0.6 A'
"""

from __future__ import annotations

import json

from dsl import ast

_NO_SPACE_BEFORE = {":", ","}


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TEXT_ATOMS = (ast.Word, ast.Number, ast.Punct)  # (a tuple made once: `A | B` in a call is built at each call)
_ORDINAL_BEFORE = (ast.Number, ast.Placeholder)


def atom(a: ast.Atom | ast.FieldValue) -> str:
    kind = type(a)
    if kind is ast.String:  # (the commonest first, by exact type; anything else as below)
        return quote(a.value)  # type: ignore[union-attr]
    if kind is ast.Word:
        return a.text  # type: ignore[union-attr]
    if isinstance(a, _TEXT_ATOMS):
        return a.text
    if isinstance(a, ast.String):
        return quote(a.value)
    if isinstance(a, ast.Placeholder):
        return "{" + a.name + "}"
    if isinstance(a, ast.Fields):
        return "{" + ", ".join(f"{_key(f.key)}: {atom(f.value)}" for f in a.items) + "}"
    if isinstance(a, ast.FieldList):
        return "[" + ", ".join(atom(v) for v in a.items) + "]"
    if isinstance(a, ast.Alternatives):
        return " or ".join(atom(v) for v in a.items)
    if isinstance(a, ast.Negated):
        return "not " + atom(a.value)
    if isinstance(a, ast.Remembered):
        return "remembered " + quote(a.name.value)
    raise TypeError(f"not an atom: {a!r}")


def _key(key: str) -> str:
    return key if key.replace("_", "a").isalnum() and not key[:1].isdigit() else quote(key)


_ORDINAL = ("st", "nd", "rd", "th")


def render_atoms(atoms: ast.Atoms) -> str:
    out = ""
    prev: ast.Atom | None = None
    for a in atoms:
        text = atom(a)
        glued = (isinstance(a, ast.Punct) and a.text in _NO_SPACE_BEFORE) or (  # `2nd`: number and suffix
            isinstance(a, ast.Word) and a.text in _ORDINAL and isinstance(prev, _ORDINAL_BEFORE))
        if out and not glued:
            out += " "
        prev = a
        out += text
    return out


def signal(s: ast.SignalRef) -> str:
    return render_atoms(s.atoms)


def condition(c: ast.Condition) -> str:
    if isinstance(c, ast.Compare):
        return f"{signal(c.signal)} {c.op} {render_atoms(c.bound.atoms)}"
    return f"{signal(c.signal)} is " + " or ".join(w.text for w in c.states)


def _fields(f: ast.Fields | None) -> str:
    return f" {atom(f)}" if f is not None else ""


def message(m: ast.MessageRef) -> str:
    return f"{m.action.text}{_fields(m.fields)}"


def sends(s: ast.ExpectMessage) -> str:
    """`charger sends [COUNT] A {…} [or B {…}]… [within D after C {…}]`."""
    count = f"{s.count.kind} {s.count.number.text} " if s.count is not None else ""
    alternatives = "".join(f" or {message(m)}" for m in s.others)
    after = (f" within {render_atoms(s.after.within.atoms)} after {message(s.after.message)}"
             if s.after is not None else "")
    return f"charger sends {count}{s.action.text}{_fields(s.fields)}{alternatives}{after}{_place(s.place)}"


def _place(atoms: ast.Atoms) -> str:
    """The words after a message line's message (`on station right`), with their leading space."""
    return " " + render_atoms(atoms) if atoms else ""


def _window(w: ast.String | None, word: str = "over") -> str:
    return f" {word} {quote(w.value)}" if w is not None else ""


def stmt(s: ast.Stmt) -> str:
    """One statement on one line (a repeat or when block renders its header only)."""
    if isinstance(s, ast.ActionStmt):
        return render_atoms(s.atoms)
    if isinstance(s, ast.Include):
        return f"include setup {quote(s.name.value)}" + (f" from {quote(s.path.value)}" if s.path else "")
    if isinstance(s, ast.Measure):
        tail = ""
        if s.duration is not None:
            tail = f" for {render_atoms(s.duration.atoms)}"
        elif s.until:
            tail = " until " + " ".join(w.text for w in s.until)
        return f"measure {quote(s.window.value)}{tail}"
    if isinstance(s, ast.Repeat):
        return f"repeat {s.times.text} times"
    if isinstance(s, ast.When):
        return f"when charger variable {s.variable.text} {s.test} {quote(s.value.value)}{' or absent' * s.absent}:"
    if isinstance(s, ast.ExpectCondition):
        if s.mode == "now" or s.duration is None:
            return f"expect {condition(s.condition)}"
        if s.mode == "settle" and s.hold is not None:
            return (f"expect within {render_atoms(s.duration.atoms)}, then for {render_atoms(s.hold.atoms)}: "
                    f"{condition(s.condition)}")
        return f"expect {s.mode} {render_atoms(s.duration.atoms)}: {condition(s.condition)}"
    if isinstance(s, ast.ExpectAccuracy):
        return (f"expect {signal(s.measured)}{_window(s.measured_window)} within "
                f"{render_atoms(s.tolerance.atoms)} of {signal(s.reference)}{_window(s.window)}")
    if isinstance(s, ast.ExpectMessage):
        head = f"expect within {render_atoms(s.within.atoms)}: " if s.within is not None else "expect "
        return f"{head}{sends(s)}"
    if isinstance(s, ast.ExpectInterval):
        return (f"expect charger sends {s.action.text}{_fields(s.fields)} every {render_atoms(s.every.atoms)}"
                f" ± {render_atoms(s.tolerance.atoms)}{_window(s.window, 'during')}{_place(s.place)}")
    if isinstance(s, ast.ExpectReply):
        if s.error is not None:
            return f"expect charger replies error {s.error.text}"
        return f"expect charger replies{_fields(s.fields)}"
    if isinstance(s, ast.ExpectNoMessage):
        return (f"expect no {s.action.text}{_fields(s.fields)} for {render_atoms(s.duration.atoms)}"
                f"{_place(s.place)}")
    if isinstance(s, ast.ExpectRule):
        scope = " of " + " ".join(w.text for w in s.scope) if s.scope else ""
        return f"expect every {s.action.text}{_fields(s.fields)}{scope}: {render_atoms(s.rule)}"
    if isinstance(s, ast.ExpectTrials):
        return f"expect at least {render_atoms(s.at_least.atoms)} of trials pass"
    if isinstance(s, ast.Remember):
        return (f"remember {s.path.text} of the {s.which.text} {message(s.message)} as {quote(s.name.value)}"
                f"{_place(s.place)}")
    raise TypeError(f"not a statement: {s!r}")


def field_value(v: ast.FieldValue) -> object:
    """A field object as JSON-like Python data (dict, list, str, int, float, bool, None)."""
    if isinstance(v, ast.Fields):
        return {f.key: field_value(f.value) for f in v.items}
    if isinstance(v, ast.FieldList):
        return [field_value(i) for i in v.items]
    if isinstance(v, ast.String):
        return v.value
    if isinstance(v, ast.Number):
        return int(v.text) if v.text.lstrip("-").isdigit() else float(v.text)
    if isinstance(v, ast.Word):
        return json.loads(v.text) if v.text in ("true", "false", "null") else v.text
    return "{" + v.name + "}"
