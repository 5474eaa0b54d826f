"""The quick compiler: plans of a plain spec file from statement templates, without parsing it whole.

Spec libraries repeat their statement lines verbatim (`charger booted`, the same accuracy expectation in
every scenario). So each distinct statement line is parsed, checked and lowered once per process into a
template plan step, and a file made only of plain structure is compiled by reading its block keywords
with a few exact patterns and placing each line's template at the line's position. A file with examples
(``for x in …``) or repeats is read whole without Lark instead (:mod:`dsl.quickfile`, the parser's own
tree) and checked and compiled by :func:`dsl.compiler.analyze`. It returns exactly the plans
:func:`dsl.compiler.analyze` gives for the whole-file parse, or None whenever the file holds anything
else: includes, named setups, example tables, escapes, tabs, unusual spacing, what :mod:`dsl.screen`
refuses (hostile characters, long lines, deep nesting), and every kind of error. None means "take the
full path", which is the one place errors are found and reported::

    plans = compile_text(text, "specs/x.spec", sha256_bytes(data), registry)  # None: use dsl.compiler

tests/dsl/test_quick.py holds it to that: on the spec library, the docs, the goldens and fuzzed files,
its result is None or equal to the full path's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from dsl import ast, plan
from dsl.compiler import analyze, rule_registry
from dsl.errors import ErrorSink
from dsl.examples import placeholders
from dsl.lazy import LazyScenarioPlan
from dsl.limits import MAX_LINE_CHARS, MAX_PLAN_STEPS
from dsl.lowering import Lowering, Scope  # (here, not in _lower: each line would pay for the imports)
from dsl.patterns import ENUM_KEY
from dsl.quickfile import WHEN_LINE, read_file
from dsl.quickline import read_statement
from dsl.rule_checks import rule_windows
from dsl.screen import has_hostile_characters
from dsl.statements import BENCH_VALUES, LANGUAGE_VERSIONS
from dsl.text import excerpt

if TYPE_CHECKING:
    from dsl.steps import StepRegistry

_SPEC = re.compile(r'spec "([^"\\\n]*)"')
_SCENARIO = re.compile(r'scenario "([^"\\\n{]*)"')
_SCENARIO_FOR = re.compile(r'scenario "[^"\\\n]*" for ')
_VERSION = re.compile(r"version ([0-9]+(?:\.[0-9]+)?)")
_REFS = re.compile(r'refs ("[^"\\\n]*"(?: *, *"[^"\\\n]*")*)')
_REF = re.compile(r'"([^"\\\n]*)"')
_TAGS = re.compile(r"tags ([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*"
                   r"(?: *, *[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*)*)")
_PLACEHOLDER_TEXT = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")  # (the grammar's PLACEHOLDER terminal)
# First words of block lines, never statements (dsl.parser's parse_statement answers None for them).
_BLOCK_WORDS = frozenset({"spec", "setup", "teardown", "scenario", "examples", "refs", "tags", "version",
                          "repeat", "when"})
_TEMPLATES_MAX = 50_000  # distinct (registry, line) pairs kept; a long-lived process starts over beyond it
# A string token, split out with its quotes (a line's other text then holds every bracket that is a token).
_STRING_SPLIT = re.compile(r'("(?:[^"\\\n]|\\.)*")')
# A string value whose text no reading or check of a line looks at: no quote, escape, bracket (nesting,
# placeholders), `#` (a comment's mark), `+` (the `+-` test) or control character.
# A number that is a field's value when it stands inside braces: after a key's colon, before `,`, `}` or `]`.
# (Up to 300 digits before its point: a longer one may be too large a number, which lowering reports.)
_VALUE_NUMBER = re.compile(r": ([0-9]{1,300}(?:\.[0-9]+)?)(?=[,}\]])")  # (a literal first: searched fast)
_STRING_KEY = re.compile(r'" *:')  # a string's closing quote before a colon: a key written as a string
_OPAQUE_STRING = re.compile(r'"[^"\\{}\[\]#+\x00-\x1f\x7f]*"')


class _Unusual(Exception):
    """The file holds something the quick compiler leaves to the full path."""


class _Whole(_Unusual):
    """A scenario with examples, a repeat or a when block: the file may still be read without Lark, whole."""


class _Template(msgspec.Struct, frozen=True):
    """One statement line lowered at line 1 of no file: its step, and the windows it opens and reads."""

    step: plan.Step | None  # None: an outline, checked through a line of the same shape (see _shape)
    opens: str | None
    uses: frozenset[str]
    remembers: str | None = None  # `remember … as "name"`
    recalls: frozenset[str] = frozenset()  # the names of its `remembered "name"` values
    # The step's text as (render, args), made when the step is placed (the step holds "" until then).
    text: tuple[Callable[..., str], tuple[Any, ...]] | None = None


_TEMPLATES: dict[tuple[str, str], _Template | None] = {}
# (registry, a line's shape) -> the checked outline of a line of that shape that lowered without an error.
_SHAPES: dict[tuple[str, str], _Template] = {}
_OUTLINED: dict[tuple[str, str], _Template] = {}  # (registry, line) -> the outline its shape gave it


def compile_text(text: str, file: str, sha256: str, registry: StepRegistry, *,
                 lazy: bool = False) -> tuple[plan.SpecPlan, ...] | None:
    """The file's plans, equal to the full path's, or None when the full path must decide.

    `text` is normalized spec text (:func:`dsl.text.normalize`); `sha256` the digest of the file's bytes.
    `lazy`: the file is read and checked whole now, but each scenario's steps are placed when first used
    (:class:`dsl.lazy.LazyScenarioPlan`; collection needs names and tags only).
    """
    if has_hostile_characters(text):  # (dsl.screen's errors, reported by the full path)
        return None
    later = _Later(text, file, sha256, registry) if lazy else None
    try:
        return tuple(_compile(text, file, sha256, registry, later))
    except _Whole:
        return _whole(text, file, sha256, registry)
    except _Unusual:
        return None


def _whole(text: str, file: str, sha256: str, registry: StepRegistry) -> tuple[plan.SpecPlan, ...] | None:
    """A file with examples or repeats, read whole without Lark (:mod:`dsl.quickfile`) and checked and
    compiled by the full path's own :func:`dsl.compiler.analyze`; None if it is unusual or has errors."""
    spec_file = read_file(text, file)
    if spec_file is None:
        return None
    plans, errors = analyze(replace(spec_file, sha256=sha256), registry)
    return None if errors else plans


class _Later:
    """The full plans of a file compiled lazily, placed on first use (its templates are cached by then)."""

    def __init__(self, text: str, path: str, sha256: str, registry: StepRegistry) -> None:
        self.text, self.path, self.sha256, self.registry = text, path, sha256, registry
        self._plans: tuple[plan.SpecPlan, ...] | None = None

    def plans(self) -> tuple[plan.SpecPlan, ...]:
        if self._plans is None:
            self._plans = compile_text(self.text, self.path, self.sha256, self.registry)
            if self._plans is None:  # only if the step registry changed since collection
                raise RuntimeError(f"{self.path}: the spec no longer compiles with the steps defined now; "
                                   "run pytest again")
        return self._plans


class _Nested(msgspec.Struct):
    """A `when` block among a block's statements: its line's checked header (a plan.When without its body) and
    its own statements, placed inside it."""

    number: int
    line: str
    header: plan.When
    steps: list[_Entry]


_Entry = tuple[int, str, _Template] | _Nested


class _Block(msgspec.Struct):
    kind: str  # setup | teardown | scenario
    number: int
    line: str
    title: str = ""
    steps: list[_Entry] | None = None


class _Spec(msgspec.Struct):
    number: int
    line: str
    title: str
    items: list[tuple[str, object]]


def _compile(text: str, file: str, sha256: str, registry: StepRegistry,
             later: _Later | None) -> Iterator[plan.SpecPlan]:
    # (once per file, not per line: a tab, form feed or escape anywhere, comments included, is unusual)
    if "\t" in text or "\f" in text or "\\" in text:
        raise _Unusual
    lines = text.split("\n")
    specs = list(_read(lines, registry.fingerprint(), registry, lazy=later is not None))
    if not specs or len({s.title for s in specs}) != len(specs):
        raise _Unusual
    if sum(map(_steps, specs)) > MAX_PLAN_STEPS:  # (the full path reports it)
        raise _Unusual
    starts = [s.number for s in specs]
    for i, spec in enumerate(specs):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else len(lines)
        yield _spec_plan(spec, file, sha256, excerpt(lines, spec.number, end), later, i)


def _read(lines: list[str], fingerprint: str, registry: StepRegistry, *, lazy: bool = False) -> Iterator[_Spec]:
    """The file's specs: headers read by pattern, statement lines replaced by their templates (`lazy`: or by
    the outline of their shape, when no step will be placed now)."""
    spec: _Spec | None = None
    block: _Block | None = None
    item_indent = 0
    # The statement levels open in the block, innermost last: (indentation, the list its lines go to); a `when`
    # line opens one, which its next line must enter (deeper: a block without a line is a syntax error).
    levels: list[tuple[int, list[_Entry]]] = []
    opened: _Nested | None = None
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_CHARS:  # (comments too; a statement nested too deep has no template)
            raise _Unusual
        body = line.lstrip(" ")
        if not body or body[0] == "#":
            continue
        if body[0].isspace() or body[-1] == " ":
            raise _Unusual
        indent = len(line) - len(body)
        if indent == 0:
            m = _SPEC.fullmatch(line)
            if m is None or opened is not None:
                raise _Unusual
            if spec is not None:
                yield spec
            spec, block, item_indent, levels = _Spec(number, line, m.group(1), []), None, 0, []
        elif spec is None:
            raise _Unusual
        elif indent == item_indent or not item_indent:
            if opened is not None:
                raise _Unusual
            item_indent, levels = indent, []
            block = _item(spec, number, line, body)
        elif indent > item_indent and block is not None:
            if not levels:
                assert block.steps is not None
                levels.append((indent, block.steps))
            elif opened is not None:
                if indent <= levels[-1][0]:
                    raise _Unusual
                levels.append((indent, opened.steps))
                opened = None
            else:
                while indent < levels[-1][0] and len(levels) > 1:
                    levels.pop()
                if indent != levels[-1][0]:
                    raise _Unusual
            if body.startswith("repeat "):
                raise _Whole
            if body.startswith("when "):
                header = _when_header(fingerprint, line, registry)
                if header is None:
                    raise _Unusual
                opened = _Nested(number, line, header, [])
                levels[-1][1].append(opened)
                continue
            template = _template(fingerprint, line, registry, lazy=lazy)
            if template is None:
                raise _Unusual
            levels[-1][1].append((number, line, template))
        else:
            raise _Unusual
    if spec is None or opened is not None:
        raise _Unusual
    yield spec


def _steps(spec: _Spec) -> int:
    """Steps the spec compiles to: each scenario with the setup and teardown (as dsl.compiler counts)."""
    blocks = [b for _, b in spec.items if isinstance(b, _Block)]
    shared = sum(_count(b.steps or ()) for b in blocks if b.kind != "scenario")
    return sum(shared + _count(b.steps or ()) for b in blocks if b.kind == "scenario")


def _count(entries: list[_Entry]) -> int:
    """Statements, those of `when` blocks included (dsl.compiler's count)."""
    return sum(1 + (_count(e.steps) if isinstance(e, _Nested) else 0) for e in entries)


def _item(spec: _Spec, number: int, line: str, body: str) -> _Block | None:
    """A spec header line or a block keyword; a block is returned to collect its statements."""
    if "#" in body:  # a comment after a keyword: left to the full path
        raise _Unusual
    m = _SCENARIO.fullmatch(body)  # (the commonest item first)
    if m:
        block = _Block("scenario", number, line, m.group(1), steps=[])
        spec.items.append(("scenario", block))
        return block
    kinds = [kind for kind, _ in spec.items]
    if body in ("setup", "teardown"):
        if body in kinds:
            raise _Unusual
        block = _Block(body, number, line, steps=[])
        spec.items.append((body, block))
        return block
    if _SCENARIO_FOR.match(body):
        raise _Whole
    for kind, pattern in (("refs", _REFS), ("tags", _TAGS), ("version", _VERSION)):
        m = pattern.fullmatch(body)
        if m:
            if kind in kinds:
                raise _Unusual
            if kind == "refs":
                value: object = tuple(_REF.findall(m.group(1)))
            elif kind == "tags":
                value = tuple(dict.fromkeys(t.strip() for t in m.group(1).split(",")))
            else:
                value = m.group(1)
                if value not in LANGUAGE_VERSIONS:
                    raise _Unusual
            spec.items.append((kind, value))
            return None
    raise _Unusual


def _spec_plan(spec: _Spec, file: str, sha256: str, excerpt: str, later: _Later | None,
               index: int) -> plan.SpecPlan:
    items = dict(spec.items)  # (each header kind appears at most once; scenarios are read below)
    refs: tuple[str, ...] = items.get("refs", ())  # type: ignore[assignment]
    tags: tuple[str, ...] = items.get("tags", ())  # type: ignore[assignment]
    version: str = items.get("version", LANGUAGE_VERSIONS[-1])  # type: ignore[assignment]
    blocks = [b for _, b in spec.items if isinstance(b, _Block)]
    if any(not b.steps for b in blocks):
        raise _Unusual  # an empty block is a syntax error
    setup, teardown = _one(blocks, "setup"), _one(blocks, "teardown")
    scenarios = [b for b in blocks if b.kind == "scenario"]
    if not scenarios or len({b.title for b in scenarios}) != len(scenarios):
        raise _Unusual
    for block in scenarios:
        _check_windows(setup, block, teardown)
    plans: list[plan.ScenarioPlan] = []
    if later is not None:
        plans.extend(LazyScenarioPlan.deferred((spec.title, b.title, refs, tags), later, (index, j))
                     for j, b in enumerate(scenarios))
    else:
        placed_setup, placed_teardown = _place(file, setup), _place(file, teardown)
        for block in scenarios:
            indent = len(block.line) - len(block.line.lstrip(" "))
            plans.append(plan.ScenarioPlan(
                spec_title=spec.title, name=block.title, params={}, setup=placed_setup,
                steps=_place(file, block), teardown=placed_teardown,
                source=plan.Source(file, block.number, indent + 1, block.line), refs=refs, tags=tags,
            ))
    return plan.SpecPlan(title=spec.title, file=file, version=version, refs=refs, tags=tags,
                         scenarios=tuple(plans), source=plan.Source(file, spec.number, 1, spec.line),
                         excerpt=excerpt, sha256=sha256)


def _one(blocks: list[_Block], kind: str) -> _Block | None:
    return next((b for b in blocks if b.kind == kind), None)


def _place(file: str, block: _Block | None) -> tuple[plan.Step, ...]:
    """The block's steps, each its line's template placed at the line."""
    if block is None or block.steps is None:
        return ()
    return _placed(file, block.steps)


def _placed(file: str, entries: list[_Entry]) -> tuple[plan.Step, ...]:
    out: list[plan.Step] = []
    for entry in entries:
        if isinstance(entry, _Nested):  # (a when line's node: where it stands, with its own lines inside)
            column = len(entry.line) - len(entry.line.lstrip(" ")) + 1
            out.append(replace(entry.header, body=_placed(file, entry.steps),
                               source=plan.Source(file, entry.number, column, entry.line)))
            continue
        number, line, template = entry
        step = template.step
        assert step is not None  # (an outline is never placed: the eager path reads every line itself)
        source = plan.Source(file, number, step.source.column, line)
        if template.text is None:
            out.append(replace(step, source=source))
        else:
            render, args = template.text
            out.append(replace(step, source=source, text=render(*args)))
    return tuple(out)


def _check_windows(*blocks: _Block | None) -> None:
    """One scenario instance reads only windows it opened before, and opens each once; it recalls only
    names remembered on an earlier line (as dsl.lowering's Scope sees them, setup to teardown)."""
    opened: set[str] = set()
    remembered: set[str] = set(BENCH_VALUES)  # the bench's values are there from the start
    for block in blocks:
        _check_scope((block.steps or ()) if block is not None else (), opened, remembered)


def _check_scope(entries: list[_Entry] | tuple[()], opened: set[str], remembered: set[str]) -> None:
    """As dsl.lowering's Scope: a `when` block sees what was opened and remembered before it, and what it opens
    or remembers is its own (a line after it naming such a name is the full path's error to report)."""
    for entry in entries:
        if isinstance(entry, _Nested):
            _check_scope(entry.steps, set(opened), set(remembered))
            continue
        t = entry[2]
        if not t.uses <= opened or t.opens in opened or not t.recalls <= remembered:
            raise _Unusual
        if t.opens is not None:
            opened.add(t.opens)
        if t.remembers is not None:
            remembered.add(t.remembers)


def _template(fingerprint: str, line: str, registry: StepRegistry, *, lazy: bool = False) -> _Template | None:
    """The line's template; `lazy` (nothing is placed now): the outline of a line of the same shape, when
    one lowered without an error (the line then does too, see :func:`_shape`)."""
    key = (fingerprint, line)
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    if not lazy:
        shape = None
    elif key in _OUTLINED:
        return _OUTLINED[key]
    else:
        shape = _shape(line)
    if shape is not None:
        outline = _SHAPES.get((fingerprint, shape))
        if outline is not None:
            if len(_OUTLINED) >= _TEMPLATES_MAX:  # (bounded as the templates are)
                _OUTLINED.clear()
            _OUTLINED[key] = outline  # (a line used again is not shaped again)
            return outline
    template = _lower(line, registry)
    if len(_TEMPLATES) >= _TEMPLATES_MAX:
        _TEMPLATES.clear()
        _SHAPES.clear()
        _OUTLINED.clear()
    _TEMPLATES[key] = template
    if shape is not None and template is not None:
        _SHAPES[(fingerprint, shape)] = replace(template, step=None, text=None)
    return template


def _shape(line: str) -> str | None:
    """The line with each opaque value of its field objects taken out: a string's text (``{name: ""}``) and
    a number after a key (``{evseId: 0}``); None when it has none.

    Two lines of one shape differ only in such values, which nothing between reading a line and its
    template looks at: each is one STRING or NUMBER token wherever it stands (a string with quotes only at
    its ends and no escape; a number between `: ` and `,`, `}` or `]`, of at most 300 digits before its
    point); the grammar takes any string or number there; the screens (nesting, comments, `+-`) see none
    of their characters; and lowering passes a field's value through to the pattern or payload unchecked
    (every check of :meth:`dsl.lowering.Lowering.fields` is on keys, structure, words and `remembered`
    names, which stay in the shape, and on a number too large for a float, which such a number is not;
    :mod:`dsl.patterns` checks the strings of fields that are enumerations, so every string from the first
    key naming such a field on (:data:`dsl.patterns.ENUM_KEY`, whatever the message) stays in the shape).
    So one lowers without an error exactly when the other does, opening, reading and remembering the
    same names. Keys (a string before `:`), everything outside braces (windows, names,
    durations, an action's arguments) and `remembered "name"` stay in the shape. tests/dsl/test_quick.py
    holds it to that on every such line of the library and the docs with its values changed.
    """
    return _shaped(line)


def _shaped(line: str, string: Callable[[], str] | None = None, number: Callable[[], str] | None = None
            ) -> str | None:
    """The line with each opaque value replaced (by `""` and `0`, or by what `string` and `number` give),
    or None if it has none."""
    if "{" not in line:
        return None
    parts = _STRING_SPLIT.split(line)  # text, string, text, …, text
    numbers = _VALUE_NUMBER.search(line) is not None  # (rarely: most lines are read for strings alone)
    keys = _STRING_KEY.search(line) is not None  # (a key written as a string: each string is looked at)
    recalls = "remembered" in line
    # Strings from the first field whose values are an enumeration on may be checked (dsl.patterns): kept.
    # (Not in a reply, `expect charger replies {…}`, the grammar's own statement: its fields are not checked.)
    enum = None if line.lstrip(" ").startswith("expect charger replies {") else ENUM_KEY.search(line)
    checked = enum.start() if enum is not None else len(line)
    out: list[str] = []
    depth = 0
    at_char = 0  # where parts[k] starts in the line
    opaque = False
    n = len(parts)
    for k in range(0, n, 2):
        text = parts[k]
        at_char += len(text)
        if numbers and _VALUE_NUMBER.search(text) is not None:
            at = 0
            for m in _VALUE_NUMBER.finditer(text):
                start = m.start(1)
                before = text[:start]
                if depth + before.count("{") + before.count("[") - before.count("}") - before.count("]") > 0:
                    out.append(text[at:start])
                    out.append(number() if number else "0")
                    at = m.end()
                    opaque = True
            out.append(text[at:])
        else:
            out.append(text)
        depth += text.count("{") + text.count("[") - text.count("}") - text.count("]")
        if k + 1 == n:
            break
        value = parts[k + 1]
        at_char += len(value)
        if (depth > 0 and at_char - len(value) < checked and _OPAQUE_STRING.fullmatch(value)
                and not (keys and parts[k + 2].lstrip(" ").startswith(":"))
                and not (recalls and text.rstrip(" ").endswith("remembered"))):
            out.append(string() if string else '""')
            opaque = True
        else:
            out.append(value)
    return "".join(out) if opaque else None


@functools.cache
def _rules() -> StepRegistry:
    return rule_registry()


_HEADERS: dict[tuple[str, str], plan.When | None] = {}


def _when_header(fingerprint: str, line: str, registry: StepRegistry) -> plan.When | None:
    """A `when` line checked alone (its node without a body: the block's lines are placed inside it), or None
    when the full path must read it (another spacing, a placeholder, any error: it reports them)."""
    key = (fingerprint, line)
    if key in _HEADERS:
        return _HEADERS[key]
    header = None
    body = line.lstrip(" ")
    m = WHEN_LINE.fullmatch(body)
    if m is not None and _PLACEHOLDER_TEXT.search(line) is None:
        source = plan.Source("", 1, len(line) - len(body) + 1, line)
        at = len(line) - len(body)

        def pos(group: int) -> dict[str, Any]:
            return {"source": plan.Source("", 1, at + m.start(group) + 1, line), "width": m.end(group) - m.start(group)}

        node = ast.When(source=source, width=len(body), variable=ast.Word(**pos(1), text=m.group(1)),
                        test=m.group(2), value=ast.String(**pos(3), value=m.group(3)[1:-1]), body=(),
                        absent=m.group(4) is not None)
        sink = ErrorSink()
        lowering = Lowering(registry, _rules(), None, sink)  # type: ignore[arg-type]
        step = lowering.stmt(node, Scope(None))  # type: ignore[arg-type]
        header = step if isinstance(step, plan.When) and not len(sink) else None
    if len(_HEADERS) >= _TEMPLATES_MAX:
        _HEADERS.clear()
    _HEADERS[key] = header
    return header


def _lower(line: str, registry: StepRegistry) -> _Template | None:
    """Parse, check and lower one statement line alone; None if it is unusual or has any error."""
    # The common forms without Lark (dsl.quickline: the same node); the rest, and every error, with it.
    node = read_statement(line)
    if node is None and line.lstrip(" ").split(" ", 1)[0] in _BLOCK_WORDS:
        return None  # (`repeat N times`: a block, which dsl.quickfile reads; Lark would say the same)
    if node is None:
        from dsl.parser import parse_statement

        node = parse_statement(line)
    if node is None or isinstance(node, ast.Include | ast.Repeat | ast.When | ast.ExpectTrials):
        return None
    # (a placeholder is a token, so a line without its text has none: the walk is skipped)
    if _PLACEHOLDER_TEXT.search(line) and any(True for _ in placeholders(node)):
        return None
    uses: set[str] = set()
    opens = None
    if isinstance(node, ast.Measure):
        opens = node.window.value
    elif isinstance(node, ast.ExpectAccuracy):
        uses = {w.value for w in (node.window, node.measured_window) if w is not None}
    elif isinstance(node, ast.ExpectInterval) and node.window is not None:
        uses = {node.window.value}
    elif isinstance(node, ast.ExpectRule):
        uses = rule_windows(node.rule)
    recalls = frozenset(_recalled(node)) if "remembered" in line else frozenset()
    sink = ErrorSink()
    # (a scope's file serves includes only; the names it recalls are checked per file by _check_windows)
    scope = Scope(None, set(uses), remembered=set(recalls))  # type: ignore[arg-type]
    # (no includes: a template is never one, and the resolver would import the Lark parser)
    lowering = Lowering(registry, _rules(), None, sink)  # type: ignore[arg-type]
    lowering.defer_text = True  # (made when placed: a lazy collection places no step)
    step = lowering.stmt(node, scope)
    if step is None or len(sink):
        return None
    remembers = node.name.value if isinstance(node, ast.Remember) else None
    return _Template(step, opens, frozenset(uses), remembers, recalls, lowering.deferred_text)


def _recalled(node: object, names: list[str] | None = None) -> list[str]:
    """The names of every `remembered "name"` value in a statement, in reading order (one walk, no
    generator per node: it runs on each line naming a remembered value)."""
    names = [] if names is None else names
    kind = type(node)
    if kind is ast.Remembered:
        names.append(node.name.value)  # type: ignore[attr-defined]
    elif kind is tuple:
        for item in node:  # type: ignore[attr-defined]
            _recalled(item, names)
    elif kind not in _LEAVES and isinstance(node, msgspec.Struct):
        for name in node.__struct_fields__:
            _recalled(getattr(node, name), names)
    return names


_LEAVES = frozenset({ast.Word, ast.String, ast.Number, ast.Placeholder, ast.Punct, plan.Source})
