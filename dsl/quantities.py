"""Evaluate quantity expressions to canonical values, catching unit and dimension mistakes.

``16 A + 0.6 A`` adds like dimensions; ``7.4 kW - 2 %`` adjusts relatively (7.4 kW x 0.98); a bare
number is a plain count. Every value is converted to the canonical unit of its dimension::

    >>> evaluate(expr.atoms, expr, sink)            # "7.4 kW - 2 %"
    Quantity(value=7252.0, dimension='power', text='7.4 kW - 2 %')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from dsl import ast, units
from dsl.errors import ErrorSink
from dsl.plan import Quantity
from dsl.render import render_atoms


@dataclass(frozen=True)
class _Term:
    sign: int
    value: Decimal  # canonical; decimal so that 95 % is 0.95, not 0.9500000000000001
    dimension: str
    number: ast.Number
    unit: ast.Atom | None

    @property
    def text(self) -> str:
        return render_atoms((self.number, self.unit) if self.unit else (self.number,))


def evaluate(atoms: ast.Atoms, node: ast.Node, sink: ErrorSink) -> Quantity | None:
    """The expression's value, or None after reporting why it has none."""
    # A value depends on the atoms' kinds and texts alone: each expression that has one (`30 s`, the same
    # in many lines) is evaluated once; one without is evaluated each time, for its errors.
    key = tuple((type(a), getattr(a, "text", None)) for a in atoms)
    known = _EVALUATED.get(key)
    if known is not None:
        return known
    errors = len(sink)
    value = _evaluate(atoms, node, sink)
    if value is not None and len(sink) == errors:
        if len(_EVALUATED) >= 10_000:
            _EVALUATED.clear()
        _EVALUATED[key] = value
    return value


_EVALUATED: dict[tuple[tuple[type, str | None], ...], Quantity] = {}


def _evaluate(atoms: ast.Atoms, node: ast.Node, sink: ErrorSink) -> Quantity | None:
    terms = _terms(atoms, node, sink)
    if terms is None:
        return None
    first = terms[0]
    value, dimension = first.sign * first.value, first.dimension
    ok = True
    for term in terms[1:]:
        if term.dimension == dimension:
            value += term.sign * term.value
        elif term.dimension == "ratio":
            value *= 1 + term.sign * term.value
        elif term.dimension == "count":
            sink.at(term.number, f"{term.number.text} needs a unit: it is added to {first.text}",
                    f'write "{term.number.text} {_unit_text(first)}"')
            ok = False
        elif dimension == "count":
            sink.at(first.number, f"{first.number.text} needs a unit: {term.text} is added to it",
                    f'write "{first.number.text} {_unit_text(term)}"')
            ok = False
        elif dimension == "ratio":
            sink.at(node, f"cannot add {term.text} ({units.noun(term.dimension)}) to a percentage",
                    f"put the quantity first: {term.text} + {first.text}")
            ok = False
        else:
            sink.at(node, f"dimension mismatch: cannot add {term.text} ({units.noun(term.dimension)}) "
                    f"to {first.text} ({units.noun(dimension)})")
            ok = False
    if not ok:
        return None
    text = render_atoms(atoms)
    if not math.isfinite(float(value)):  # (a number of 309 digits is infinity as a float: no bench value)
        sink.at(node, f"too large a quantity: {text}", "write a value the bench can set or measure")
        return None
    return Quantity(value=float(value), dimension=dimension, text=text)


def _unit_text(term: _Term) -> str:
    return render_atoms((term.unit,)) if term.unit else ""


def _terms(atoms: ast.Atoms, node: ast.Node, sink: ErrorSink) -> list[_Term] | None:
    terms: list[_Term] = []
    sign = 1
    i = 0
    ok = True
    while i < len(atoms):
        a = atoms[i]
        if isinstance(a, ast.Placeholder):
            return None  # an undefined example variable, reported where placeholders are checked
        if not isinstance(a, ast.Number):
            sink.at(a, f"expected a number, found {render_atoms((a,))}")
            return None
        unit: ast.Atom | None = None
        if i + 1 < len(atoms) and (isinstance(atoms[i + 1], ast.Word) or _is_punct(atoms[i + 1], "%")):
            unit = atoms[i + 1]
        i += 2 if unit else 1
        spelling = render_atoms((unit,)) if unit else None
        if spelling is None:
            terms.append(_Term(sign, Decimal(a.text), "count", a, None))
        else:
            try:
                u = units.lookup(spelling)
            except units.UnknownUnit:
                if not unit.origin:  # an example value's unit is reported once, in the examples
                    report_unit(unit, sink)
                ok = False
            else:
                terms.append(_Term(sign, Decimal(a.text) * Decimal(repr(u.factor)), u.dimension, a, unit))
        if i < len(atoms):
            op = atoms[i]
            if not (_is_punct(op, "+") or _is_punct(op, "-")):
                sink.at(op, f"expected + or - between quantities, found {render_atoms((op,))}")
                return None
            sign = 1 if _is_punct(op, "+") else -1
            i += 1
            if i == len(atoms):
                sink.at(op, f"a quantity must follow {render_atoms((op,))}")
                return None
    if not ok or not terms:
        if not atoms:
            sink.at(node, "expected a quantity")
        return None
    return terms


def report_unit(unit: ast.Atom, sink: ErrorSink) -> None:
    """Report `unit` if it is not a unit the language knows."""
    spelling = render_atoms((unit,))
    if units.is_unit(spelling):
        return
    suggestion = units.suggest(spelling)
    sink.at(unit, f'unknown unit "{spelling}"',
            f'did you mean "{suggestion}"?' if suggestion else _known_units_hint())


def _is_punct(a: ast.Atom, text: str) -> bool:
    return isinstance(a, ast.Punct) and a.text == text


def _known_units_hint() -> str:
    return "known units: " + ", ".join(units.SPELLINGS)


def check_dimension(q: Quantity, allowed: tuple[str, ...], node: ast.Node, sink: ErrorSink,
                    what: str | None = None) -> bool:
    """Report (and return False) unless `q` has one of the `allowed` dimensions."""
    if q.dimension in allowed:
        return True
    expected = " or ".join(units.describe(d) for d in allowed)
    if q.dimension == "count":
        example = units.example_unit(allowed[0])
        sink.at(node, f"{q.text} needs a unit: expected {expected}",
                f'write "{q.text} {example}"' if example else None)
        return False
    subject = f"{what} is {expected}" if what else f"expected {expected}"
    sink.at(node, f"dimension mismatch: {subject}, but {q.text} is {units.describe(q.dimension)}")
    return False
