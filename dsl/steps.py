"""The step registry: statement patterns with typed parameters, matched against spec statements.

A pattern is literal words and punctuation, typed placeholders ``{name:type}`` and optional parts in
``[...]``. A lab adds a statement for a new instrument in Python, without touching the grammar::

    registry = builtin_registry()           # the process-wide registry every load/check uses
    registry.define("load bank draws {power:power} on {phase:word}", name="loadbank.draws")

(``runner.steps.step`` does this and binds the implementation in one decorator.) Use
``builtin_registry().copy()`` for a private registry that leaves the shared one alone.

Parameter types: the quantity kinds (:data:`QUANTITY_TYPES`; ``quantity`` takes any dimension and
``current|power`` takes either), ``int``, ``string``, ``word``, ``fields`` (an OCPP ``{...}`` object),
``action`` (an OCPP action), ``call`` (an action a charger sends), ``code`` (an OCPP-J CALLERROR code),
``purpose`` (a ChargingProfilePurpose), ``state`` (a connector status), ``pattern`` (a ``{...}`` object to
match a message against: ``present``, ``absent``, ``not V``, ``V or W`` allowed), ``ordinal`` (``2nd``:
a number and its English suffix), ``count`` (``once`` or ``N times``), ``phases`` (``1 phase``, ``3 phases``),
``tokentype`` (an IdTokenEnumType), ``endpoint`` (a CSMS endpoint of the harness: ``csms``, ``csms2``),
``recurrency`` (``daily`` or ``weekly``), ``rate`` (a charging rate unit, ``A`` or ``W``), ``feature`` (a
standardized device-model component, optionally ``.Variable[instance]``),
``variable`` (``Component.Variable[instance]``, the component a standardized one) and ``capability`` (a name
of :data:`dsl.vocab.CAPABILITIES`).
Matching is structural (which atoms go to which parameter); the checker then converts each parameter
and reports unit, dimension and name errors at the atom that carries them.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from dsl import ast
else:
    # dsl.ast is bound on the first match (see _bind_ast), not at import: a plan-cache hit needs only
    # the registry's fingerprint, not the syntax tree.
    ast = None

QUANTITY_TYPES: frozenset[str] = frozenset(
    {"current", "voltage", "power", "energy", "time", "frequency", "resistance", "ratio", "quantity"}
)
SINGLE_TYPES: frozenset[str] = frozenset({"int", "string", "word", "fields", "action", "purpose", "state",
                                         "call", "code", "pattern", "feature", "variable", "capability",
                                         "tokentype", "recurrency", "rate", "endpoint"})
# Types a parameter of more than one atom has: `2nd` is a number and a word, `3 times` too, `1 phase`.
MULTI_TYPES: frozenset[str] = frozenset({"ordinal", "count", "phases"})
PARAM_TYPES: frozenset[str] = QUANTITY_TYPES | SINGLE_TYPES | MULTI_TYPES
ORDINAL_SUFFIXES: tuple[str, ...] = ("st", "nd", "rd", "th")


class Param(msgspec.Struct, frozen=True):
    name: str
    type: str  # one type, or quantity kinds joined by "|" ("current|power")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.type.split("|"))

    @property
    def is_quantity(self) -> bool:
        known = _IS_QUANTITY.get(self.type)
        if known is None:  # (asked for every parameter of every match: answered once per type)
            known = _IS_QUANTITY[self.type] = all(k in QUANTITY_TYPES for k in self.kinds)
        return known


_IS_QUANTITY: dict[str, bool] = {}


class _Lit(msgspec.Struct, frozen=True):
    text: str


class _Opt(msgspec.Struct, frozen=True):
    parts: tuple[_Part, ...]


_Part = _Lit | Param | _Opt


class StepDef(msgspec.Struct, frozen=True):
    """A statement signature: `name` is what the runner binds an implementation to."""

    name: str
    pattern: str
    params: tuple[Param, ...]
    parts: tuple[_Part, ...] = ()  # the pattern, parsed (follows from it)

    @property
    def actor(self) -> str:
        """The first literal word (``ev`` in ``ev requests {current:current}``)."""
        first = self.parts[0]
        return first.text if isinstance(first, _Lit) else ""

    def display(self) -> str:
        """The pattern as a person reads it: ``ev plugs in [on evse <evse>]``."""
        return re.sub(r"\{(\w+):[^}]*\}", r"<\1>", self.pattern)

    def literal_words(self) -> list[str]:
        return [p.text for p in _flatten(self.parts) if isinstance(p, _Lit)]

    def misquoted(self, atoms: ast.Atoms) -> tuple[ast.Atom, str, str] | None:
        """For a statement that matched nothing: a value quoted the wrong way after one of this pattern's
        words, as (the atom, what is wrong, how to write it). A string written bare (``token 04A2B3C4``)
        or a word quoted (``of type "KeyCode"``); None when there is none."""
        if ast is None:
            _bind_ast()
        flat = list(_flatten(self.parts))
        for word, param in itertools.pairwise(flat):
            if not isinstance(word, _Lit) or not isinstance(param, Param):
                continue
            for j in range(len(atoms) - 1):
                if _atom_literal(atoms[j]) != word.text:
                    continue
                a = atoms[j + 1]
                if param.type == "string" and isinstance(a, ast.Word | ast.Number):
                    text, k = a.text, j + 2  # `04A2B3C4` lexes as 04, A2B3C4: take what touches
                    while k < len(atoms) and isinstance(atoms[k], ast.Word | ast.Number) and (
                            atoms[k].line == a.line and atoms[k].column == atoms[k - 1].column + atoms[k - 1].width):
                        text, k = text + atoms[k].text, k + 1  # type: ignore[union-attr]
                    end = atoms[k - 1]
                    wide = msgspec.structs.replace(a, width=end.column + end.width - a.column)
                    return wide, f"<{param.name}> is a quoted string", f'write {word.text} "{text}"'
                if _SINGLE_KIND.get(param.type) == (ast.Word,) and isinstance(a, ast.String):
                    return a, f"<{param.name}> is a word, not a quoted string", f"write {word.text} {a.value}"
        return None

    def match(self, atoms: ast.Atoms) -> dict[str, ast.Atoms] | None:
        """The atoms bound to each parameter, or None when the statement has another shape."""
        if ast is None:
            _bind_ast()
        for binding in _match(self.parts, 0, atoms, 0, {}):
            return binding
        return None


class StepRegistry:
    """Statement definitions by name; matching picks the first definition whose shape fits."""

    def __init__(self, defs: Iterable[StepDef] = ()) -> None:
        self._defs: dict[str, StepDef] = {}
        self._fingerprint: str | None = None
        self._shape_cache: list[tuple[StepDef, tuple[str, ...]]] | None = None
        self._by_first: dict[str | None, tuple[tuple[StepDef, frozenset[str]], ...]] | None = None
        # A statement's atoms as matching reads them (see _signature) -> the definition and where each
        # parameter's atoms start and end, or None: lines differing in strings and field objects match alike.
        self._matched: dict[tuple[Any, ...], tuple[StepDef, dict[str, tuple[int, int]]] | None] = {}
        for d in defs:
            self._add(d)

    def define(self, pattern: str, name: str) -> StepDef:
        """Add a statement; a duplicate name or an identical pattern raises ValueError.

        Defining exactly the same name and pattern again returns the existing definition, so a lab
        module imported twice (pytest's importlib mode, a re-run) does not fail.
        """
        same = self._defs.get(name)
        if same is not None and same.pattern == " ".join(pattern.split()):
            return same
        parts = _parse_pattern(pattern)
        params = tuple(p for p in _flatten(parts) if isinstance(p, Param))
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ValueError(f"step pattern {pattern!r} uses a parameter name twice")
        if not parts or not isinstance(parts[0], _Lit) or not re.match(r"^[A-Za-z]", parts[0].text):
            raise ValueError(f"step pattern {pattern!r} must start with a literal word (its actor)")
        step = StepDef(name=name, pattern=" ".join(pattern.split()), params=params, parts=parts)
        self._add(step)
        return step

    def _add(self, step: StepDef) -> None:
        if step.name in self._defs:
            existing = self._defs[step.name].pattern
            raise ValueError(f"step {step.name!r} is already defined (pattern {existing!r})")
        for other in self._defs.values():
            if other.pattern == step.pattern:
                raise ValueError(f"step pattern {step.pattern!r} is already defined as {other.name!r}")
        self._defs[step.name] = step
        self._fingerprint = None
        self._shape_cache = None
        self._by_first = None
        self._matched = {}

    def fingerprint(self) -> str:
        """A hash of every definition (name and pattern): compiled plans depend on it (parse cache key)."""
        if self._fingerprint is None:
            text = "\n".join(f"{d.name}\t{d.pattern}" for d in self._defs.values())
            self._fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self._fingerprint

    def copy(self) -> StepRegistry:
        return StepRegistry(self._defs.values())

    def __iter__(self) -> Iterator[StepDef]:
        return iter(self._defs.values())

    def __len__(self) -> int:
        return len(self._defs)

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    def __getitem__(self, name: str) -> StepDef:
        return self._defs[name]

    @property
    def actors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.actor for d in self._defs.values()))

    def match(self, atoms: ast.Atoms) -> tuple[StepDef, dict[str, ast.Atoms]] | None:
        if ast is None:
            _bind_ast()
        key = _signature(atoms)
        if key in self._matched:
            found = self._matched[key]
            if found is None:
                return None
            step, spans = found
            return step, {name: atoms[start:end] for name, (start, end) in spans.items()}
        result = self._match(atoms)
        if len(self._matched) >= 10_000:  # (a long-lived process starts over)
            self._matched = {}
        if result is None:
            self._matched[key] = None
        else:
            at = {id(a): i for i, a in enumerate(atoms)}
            self._matched[key] = (result[0], {name: (at[id(bound[0])], at[id(bound[0])] + len(bound)) if bound
                                              else (0, 0) for name, bound in result[1].items()})
        return result

    def _match(self, atoms: ast.Atoms) -> tuple[StepDef, dict[str, ast.Atoms]] | None:
        # Only the definitions whose first word is the statement's first word can match (every pattern
        # starts with a literal word): tried in definition order, as all of them would be.
        if self._by_first is None:
            self._by_first = _index_by_first(self._defs.values())
        first = _atom_literal(atoms[0]) if atoms else None
        said = {a.text for a in atoms if isinstance(a, _LITERAL_ATOMS)}  # (as _atom_literal reads them)
        for step, needs in self._by_first.get(first, self._by_first[None]):
            # A definition matches only a statement holding each of its literals outside optional parts:
            # a set test spares the backtracking match of most definitions sharing the first word.
            if not needs <= said:
                continue
            binding = step.match(atoms)
            if binding is not None:
                return step, binding
        return None

    def nearest(self, atoms: ast.Atoms) -> StepDef | None:
        """The definition most like a statement that matched none (for "did you mean")."""
        import difflib  # (errors only)

        if ast is None:
            _bind_ast()
        said = " ".join(_shape(atoms))
        best: tuple[float, StepDef] | None = None
        # The statement as the second sequence: SequenceMatcher indexes that one, once for all the shapes
        # (indexing each shape instead cost ~6 ms a statement, a minute for a file of unknown lines).
        matcher = difflib.SequenceMatcher(None, "", said)
        for step, shapes in self._shapes():
            for shape in shapes:
                matcher.set_seq1(shape)
                # The cheap upper bounds first: a statement with many optional parts has hundreds of shapes.
                if best is not None and (matcher.real_quick_ratio() <= best[0] or matcher.quick_ratio() <= best[0]):
                    continue
                score = matcher.ratio()
                if best is None or score > best[0]:
                    best = (score, step)
        return best[1] if best and best[0] >= 0.5 else None

    def _shapes(self) -> list[tuple[StepDef, tuple[str, ...]]]:
        """Every definition with the shapes of its expansions (computed once per set of definitions)."""
        if self._shape_cache is None:
            self._shape_cache = [(d, tuple(dict.fromkeys(" ".join(_pattern_shape(v)) for v in _variants(d.parts))))
                                 for d in self._defs.values()]
        return self._shape_cache


def _index_by_first(defs: Iterable[StepDef]) -> dict[str | None, tuple[tuple[StepDef, frozenset[str]], ...]]:
    """First word -> the definitions that may match a statement starting with it, in definition order
    (those starting with that literal, and any not starting with a literal); None -> the latter only.
    Each with the literals it requires (those outside its optional parts)."""
    defs = list(defs)
    firsts = {d.parts[0].text for d in defs if d.parts and isinstance(d.parts[0], _Lit)}
    needs = {d.name: frozenset(p.text for p in d.parts if isinstance(p, _Lit)) for d in defs}
    index: dict[str | None, tuple[tuple[StepDef, frozenset[str]], ...]] = {}
    for word in (*firsts, None):
        index[word] = tuple((d, needs[d.name]) for d in defs if not (d.parts and isinstance(d.parts[0], _Lit))
                            or d.parts[0].text == word)
    return index


_SHARED: StepRegistry | None = None


def builtin_registry() -> StepRegistry:
    """The process-wide registry: the built-in statements of :mod:`dsl.statements` plus every statement
    a lab defined on it (``runner.steps.step``). Parsing, checking and loading use it by default."""
    global _SHARED
    if _SHARED is None:
        from dsl.statements import BUILTIN_STEPS

        registry = StepRegistry()
        for name, pattern in BUILTIN_STEPS.items():
            registry.define(pattern, name=name)
        _SHARED = registry
    return _SHARED


# ---- patterns ----------------------------------------------------------------------------------------

_PATTERN_TOKEN = re.compile(r"\{[^}]*\}|\[|\]|[:,]|[^\s\[\]{}:,]+")


def _parse_pattern(pattern: str) -> tuple[_Part, ...]:
    tokens = _PATTERN_TOKEN.findall(pattern)
    parts, rest = _parse_parts(tokens, pattern)
    if rest:
        raise ValueError(f"step pattern {pattern!r} has an unmatched ']'")
    return parts


def _parse_parts(tokens: list[str], pattern: str) -> tuple[tuple[_Part, ...], list[str]]:
    parts: list[_Part] = []
    while tokens:
        tok = tokens.pop(0)
        if tok == "]":
            return tuple(parts), [tok, *tokens]
        if tok == "[":
            inner, tokens = _parse_parts(tokens, pattern)
            if not tokens or tokens[0] != "]":
                raise ValueError(f"step pattern {pattern!r} has an unclosed '['")
            tokens = tokens[1:]
            if not inner:
                raise ValueError(f"step pattern {pattern!r} has an empty optional part")
            parts.append(_Opt(inner))
        elif tok.startswith("{"):
            m = re.fullmatch(r"\{([A-Za-z_]\w*):([a-z|]+)\}", tok)
            if not m:
                raise ValueError(f"step pattern {pattern!r}: write parameters as {{name:type}}, not {tok}")
            name, type_ = m.groups()
            kinds = type_.split("|")
            unknown = [k for k in kinds if k not in PARAM_TYPES]
            if unknown:
                raise ValueError(f"step pattern {pattern!r}: unknown parameter type {unknown[0]!r} "
                                 f"(known: {', '.join(sorted(PARAM_TYPES))})")
            if len(kinds) > 1 and not all(k in QUANTITY_TYPES for k in kinds):
                raise ValueError(f"step pattern {pattern!r}: only quantity types combine with '|'")
            parts.append(Param(name, type_))
        else:
            parts.append(_Lit(tok))
    return tuple(parts), []


def _flatten(parts: Iterable[_Part]) -> Iterator[_Lit | Param]:
    for p in parts:
        if isinstance(p, _Opt):
            yield from _flatten(p.parts)
        else:
            yield p


def _variants(parts: tuple[_Part, ...]) -> Iterator[tuple[_Lit | Param, ...]]:
    """Every expansion of the optional parts (with and without each)."""
    if not parts:
        yield ()
        return
    head, rest = parts[0], parts[1:]
    for tail in _variants(rest):
        if isinstance(head, _Opt):
            for inner in _variants(head.parts):
                yield (*inner, *tail)
            yield tail
        else:
            yield (head, *tail)


def _shape(atoms: ast.Atoms) -> list[str]:
    out = []
    for a in atoms:
        if isinstance(a, ast.Word | ast.Punct):
            out.append(a.text)
        elif isinstance(a, ast.Number):
            out.append("#")
        else:
            out.append("$")
    return out


def _pattern_shape(parts: Iterable[_Lit | Param]) -> list[str]:
    return [p.text if isinstance(p, _Lit) else ("#" if p.is_quantity or p.type == "int" else "$")
            for p in parts]


# ---- matching ----------------------------------------------------------------------------------------


def _match(parts: tuple[_Part, ...], i: int, atoms: ast.Atoms, j: int,
           bound: dict[str, ast.Atoms]) -> Iterator[dict[str, ast.Atoms]]:
    if i == len(parts):
        if j == len(atoms):
            yield dict(bound)
        return
    part = parts[i]
    if isinstance(part, _Lit):
        if j < len(atoms) and _atom_literal(atoms[j]) == part.text:
            yield from _match(parts, i + 1, atoms, j + 1, bound)
        return
    if isinstance(part, _Opt):
        yield from _match(part.parts + parts[i + 1:], 0, atoms, j, bound)
        yield from _match(parts, i + 1, atoms, j, bound)
        return
    for end in _param_ends(part, atoms, j):
        yield from _match(parts, i + 1, atoms, end, {**bound, part.name: atoms[j:end]})


def _signature(atoms: ast.Atoms) -> tuple[Any, ...]:
    """All that matching reads of a statement's atoms: each one's kind, and the text of a word, number or
    punctuation (literals, units, `once`, suffixes, `+`); a string's text and a field object's content
    never decide a match, nor where a parameter ends."""
    word = ast.Word
    return tuple(a.text if type(a) is word else (type(a), a.text) if type(a) in _LITERAL_ATOMS else type(a)
                 for a in atoms)


def _atom_literal(atom: ast.Atom) -> str | None:
    if isinstance(atom, _LITERAL_ATOMS):
        return atom.text
    return None


_SINGLE_KIND: dict[str, tuple[type, ...]] = {}
_LITERAL_ATOMS: tuple[type, ...] = ()  # (ast.Word, ast.Punct, ast.Number), bound with ast


def _bind_ast() -> None:
    global ast, _LITERAL_ATOMS
    from dsl import ast as module

    _LITERAL_ATOMS = (module.Word, module.Punct, module.Number)
    _SINGLE_KIND.update({
        "int": (module.Number,),
        "string": (module.String,),
        "word": (module.Word,),
        "action": (module.Word,),
        "purpose": (module.Word,),
        "state": (module.Word,),
        "call": (module.Word,),
        "code": (module.Word,),
        "feature": (module.Word,),
        "variable": (module.Word,),
        "capability": (module.Word,),
        "tokentype": (module.Word,),
        "endpoint": (module.Word,),
        "recurrency": (module.Word,),
        "rate": (module.Word,),
        "fields": (module.Fields,),
        "pattern": (module.Fields,),
    })
    ast = module


def _param_ends(param: Param, atoms: ast.Atoms, j: int) -> Iterator[int]:
    """Where a parameter starting at atoms[j] may end, longest first."""
    if j >= len(atoms):
        return
    if param.type in MULTI_TYPES:
        yield from _multi_ends(param.type, atoms, j)
        return
    if not param.is_quantity:
        kinds = _SINGLE_KIND[param.type] + (ast.Placeholder,)
        if isinstance(atoms[j], kinds):
            yield j + 1
        return
    yield from reversed(list(_expr_ends(atoms, j)))


def _multi_ends(type_: str, atoms: ast.Atoms, j: int) -> Iterator[int]:
    """`ordinal`: a number (or placeholder) and a word (`2nd`; the checker judges the suffix).
    `count`: `once`, or a number (or placeholder) and `times`. `phases`: a number and `phase` or `phases`
    (the checker judges that they agree)."""
    a = atoms[j]
    after = atoms[j + 1] if j + 1 < len(atoms) else None
    words = {"count": ("times",), "phases": ("phase", "phases")}.get(type_, ORDINAL_SUFFIXES)
    if type_ == "count" and isinstance(a, ast.Word) and a.text == "once":
        yield j + 1
    elif isinstance(a, ast.Number | ast.Placeholder) and isinstance(after, ast.Word) and after.text in words:
        yield j + 2


def _expr_ends(atoms: ast.Atoms, j: int) -> Iterator[int]:
    """Ends of `term ((+|-) term)*` where term is `number [unit]` or a placeholder."""
    while True:
        if j >= len(atoms):
            return
        a = atoms[j]
        if isinstance(a, ast.Placeholder):
            j += 1
            yield j
        elif isinstance(a, ast.Number):
            j += 1
            yield j
            if j < len(atoms) and _is_unit_atom(atoms[j]):
                j += 1
                yield j
        else:
            return
        if j < len(atoms) and isinstance(atoms[j], ast.Punct) and atoms[j].text in "+-":
            j += 1
        else:
            return


def _is_unit_atom(atom: ast.Atom) -> bool:
    return isinstance(atom, ast.Word) or (isinstance(atom, ast.Punct) and atom.text == "%")
