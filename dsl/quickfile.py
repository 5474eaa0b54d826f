"""A whole spec file read without Lark, to exactly the syntax tree dsl.parser builds: for the files the
template path (:mod:`dsl.quick`) leaves because a scenario has examples (``for x in …``) or a statement
is a ``repeat`` or ``when`` block.

Such a file cannot be compiled from per-line templates (each example instance substitutes its values
into the lines; a repeat nests statements), but it can still be read without the Lark parser: its block
structure is indentation and a few header patterns, and every statement line is one :mod:`dsl.quickline`
reads. The tree is then checked and compiled by :func:`dsl.compiler.analyze`, the full path's own
checking, so the plans and every error are the full path's. Anything else (named setups, includes,
example tables, comments after a line, tabs, unusual spacing, a line the line reader leaves, a block
structure Lark would refuse) is None: the caller parses the file whole::

    spec_file = read_file(text, "specs/x.spec")   # ast.SpecFile without comments, or None

tests/dsl/test_quickfile.py compares the tree with dsl.parser's on every file of specs/ it serves, the
reference's examples and mutated files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import msgspec

from dsl import ast
from dsl.limits import MAX_BLOCK_DEPTH, MAX_LINE_CHARS
from dsl.plan import Source
from dsl.quickline import _No, _tokens, read_statement
from dsl.screen import has_hostile_characters
from dsl.text import sha256_text

_SPEC = re.compile(r'spec ("(?:[^"\\\n])*")')
# (ASCII words only: a name or tag the grammar also allows, with µ or Ω or dots, is left to the parser)
_SCENARIO = re.compile(r'scenario ("(?:[^"\\\n])*")(?: (for) ([A-Za-z_][A-Za-z0-9_]*) in (.*))?')
_VERSION = re.compile(r"version ([0-9]+(?:\.[0-9]+)?)")
_REFS = re.compile(r'refs ("[^"\\\n]*"(?: *, *"[^"\\\n]*")*)')
_TAGS = re.compile(r"tags ([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*"
                   r"(?: *, *[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*)*)")
_REPEAT = re.compile(r"repeat ([0-9]+(?:\.[0-9]+)?) times")
# A `when` line (dsl.quick reads it too). The name: one WORD or VARIABLE token, ASCII, dotted, an optional [instance]
# (any other to the parser).
WHEN_LINE = re.compile(r'when charger variable ([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+'
                       r'(?:\[[A-Za-z0-9_.\-]+\])?) (is not|is|holds|does not hold) ("[^"\\\n]*")( or absent)?:')
_ITEM = re.compile(r'"[^"\\\n]*"|[^ ,]+')
# First words of lines that are block keywords, never statements (dsl.parser's _STRUCTURAL, and include).
_STRUCTURAL = frozenset({"spec", "setup", "teardown", "scenario", "examples", "refs", "tags", "version",
                         "repeat", "include", "when"})


class _Row(msgspec.Struct, frozen=True):
    number: int
    indent: int
    line: str

    @property
    def body(self) -> str:
        return self.line[self.indent:]


def read_file(text: str, file: str) -> ast.SpecFile | None:
    """The file's tree as dsl.parser builds it (comments left out), or None when the parser must decide.

    `text` is normalized spec text (:func:`dsl.text.normalize`).
    """
    if has_hostile_characters(text):
        return None
    try:
        return _File(text, file).build()
    except _No:
        return None


class _File:
    def __init__(self, text: str, file: str) -> None:
        self.text, self.file = text, file
        self.lines = text.split("\n")
        self.rows: list[_Row] = []
        for number, line in enumerate(self.lines, start=1):
            if len(line) > MAX_LINE_CHARS:
                raise _No
            body = line.lstrip(" ")
            if not body or body[0] == "#":
                continue
            if "\t" in line or "\f" in line or "\\" in line or "#" in body or body.endswith(" "):
                raise _No
            self.rows.append(_Row(number, len(line) - len(body), line))

    def build(self) -> ast.SpecFile:
        specs = []
        for k, end in self.children(0, len(self.rows), -1, 0):
            row = self.rows[k]
            m = _SPEC.fullmatch(row.line)
            if m is None or row.indent != 0 or end == k + 1:
                raise _No
            items = tuple(self.item(j, e) for j, e in self.children(k + 1, end, 0, 1))
            specs.append(ast.Spec(**self.multi(row), title=self.string(row, m.start(1), m.end(1)), items=items))
        if not specs:
            raise _No
        return ast.SpecFile(source=Source(self.file, 1, 1, self.lines[0]), text=self.text, specs=tuple(specs),
                            setups=(), comments=(), sha256=sha256_text(self.text), order=tuple(specs))

    # -- structure --

    def children(self, start: int, end: int, parent: int, depth: int) -> Iterator[tuple[int, int]]:
        """The rows start..end-1 (all indented deeper than `parent`) as child rows at one indentation,
        each with the end of its own deeper rows."""
        if depth > MAX_BLOCK_DEPTH:
            raise _No
        if start >= end:
            return
        indent = self.rows[start].indent
        if indent <= parent:
            raise _No
        k = start
        while k < end:
            if self.rows[k].indent != indent:
                raise _No  # (deeper than its block's lines with no block to open, or a stray dedent)
            j = k + 1
            while j < end and self.rows[j].indent > indent:
                j += 1
            yield k, j
            k = j

    def item(self, k: int, end: int) -> ast.SpecItem:
        row = self.rows[k]
        body = row.body
        if body in ("setup", "teardown"):
            return ast.Block(**self.multi(row), kind=body, body=self.body(k + 1, end, row.indent))
        m = _SCENARIO.fullmatch(body)
        if m:
            title = self.string(row, row.indent + m.start(1), row.indent + m.end(1))
            examples = self.for_clause(row, row.indent + m.start(2), row.indent + m.start(4)) if m.group(2) else None
            return ast.Scenario(**self.multi(row), title=title, examples=examples,
                                body=self.body(k + 1, end, row.indent))
        if end != k + 1:
            raise _No
        at = row.indent
        m = _VERSION.fullmatch(body)
        if m:
            number = ast.Number(**self.span(row, at + m.start(1), at + m.end(1)), text=m.group(1))
            return ast.Version(**self.span(row, at, len(row.line)), number=number)
        m = _REFS.fullmatch(body)
        if m:
            refs = tuple(self.string(row, at + i.start(), at + i.end()) for i in _ITEM.finditer(body, m.start(1)))
            return ast.Refs(**self.span(row, at, len(row.line)), refs=refs)
        m = _TAGS.fullmatch(body)
        if m:
            tags = tuple(ast.Word(**self.span(row, at + i.start(), at + i.end()), text=i.group())
                         for i in _ITEM.finditer(body, m.start(1)))
            return ast.Tags(**self.span(row, at, len(row.line)), tags=tags)
        raise _No

    def for_clause(self, row: _Row, start: int, values: int) -> ast.Examples:
        """`for NAME in value ("," value)*`, a value `NUMBER unit?`, a STRING or a WORD."""
        name_at = start + len("for ")
        name = row.line[name_at:row.line.index(" ", name_at)]
        toks = _tokens(row.line[values:])
        rows: list[ast.Row] = []
        i = 0
        while True:
            if i >= len(toks):
                raise _No
            first = toks[i]
            atoms: list[ast.Atom] = [self.atom(row, values, first)]
            i += 1
            if first.kind == "NUMBER" and i < len(toks) and toks[i].kind in ("WORD", "PERCENT"):
                atoms.append(self.atom(row, values, toks[i]))
                i += 1
            elif first.kind not in ("NUMBER", "STRING", "WORD"):
                raise _No
            rows.append(ast.Row(**self.span(row, values + first.start, values + toks[i - 1].end),
                                cells=(tuple(atoms),)))
            if i == len(toks):
                break
            if toks[i].kind != "COMMA":
                raise _No
            i += 1
        word = ast.Word(**self.span(row, name_at, name_at + len(name)), text=name)
        return ast.Examples(**self.span(row, start, values + toks[-1].end), form="list", names=(word,),
                            rows=tuple(rows))

    def body(self, start: int, end: int, parent: int, depth: int = 2) -> tuple[ast.Stmt, ...]:
        if start >= end:
            raise _No  # an empty block
        out: list[ast.Stmt] = []
        for k, e in self.children(start, end, parent, depth):
            row = self.rows[k]
            m = _REPEAT.fullmatch(row.body)
            if m:
                at = row.indent
                times = ast.Number(**self.span(row, at + m.start(1), at + m.end(1)), text=m.group(1))
                out.append(ast.Repeat(**self.multi(row), times=times, body=self.body(k + 1, e, row.indent, depth + 1)))
                continue
            m = WHEN_LINE.fullmatch(row.body)
            if m:
                at = row.indent
                variable = ast.Word(**self.span(row, at + m.start(1), at + m.end(1)), text=m.group(1))
                out.append(ast.When(**self.multi(row), variable=variable, test=m.group(2),
                                    value=self.string(row, at + m.start(3), at + m.end(3)),
                                    body=self.body(k + 1, e, row.indent, depth + 1), absent=m.group(4) is not None))
                continue
            first = row.body.split(" ", 1)[0]
            if e != k + 1 or first in _STRUCTURAL:
                raise _No
            node = read_statement(row.line, self.file, row.number)
            if node is None:
                raise _No
            out.append(node)
        return tuple(out)

    # -- positions (as dsl.parser's builder gives them) --

    def span(self, row: _Row, start: int, end: int) -> dict[str, object]:
        return {"source": Source(self.file, row.number, start + 1, row.line), "width": max(1, end - start)}

    def multi(self, row: _Row) -> dict[str, object]:
        """A node spanning lines (a block): its first line from its keyword on."""
        return self.span(row, row.indent, len(row.line))

    def string(self, row: _Row, start: int, end: int) -> ast.String:
        value = row.line[start + 1:end - 1]
        return ast.String(**self.span(row, start, end), value=value)

    def atom(self, row: _Row, offset: int, tok: object) -> ast.Atom:
        kind, value = tok.kind, tok.value  # type: ignore[attr-defined]
        pos = self.span(row, offset + tok.start, offset + tok.end)  # type: ignore[attr-defined]
        if kind == "WORD":
            return ast.Word(**pos, text=value)
        if kind == "NUMBER":
            return ast.Number(**pos, text=value)
        if kind == "STRING":
            return ast.String(**pos, value=value[1:-1])
        if kind == "PERCENT":
            return ast.Punct(**pos, text=value)
        raise _No

