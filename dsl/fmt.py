"""`chargespec fmt`: rewrite spec files in one canonical layout, keeping every comment.

The layout (docs/language.md, "Canonical layout"): 2 spaces per block level; one space between words,
none before ``:`` and ``,``; a space between a number and its unit (``16 A``, ``2 %``); ASCII operators
(``<=`` for ``≤``) but ``±``; strings in double quotes; examples tables with aligned columns; trailing
comments two spaces after the code; one blank line before each top-level item and each setup, teardown
and scenario block; elsewhere a run of blank lines is kept as one, never right after a block header::

    new = format_text(path.read_text(), str(path))     # raises SpecErrors if the file has errors
    changed = format_paths([Path("specs")], check=True)

The formatter re-parses what it wrote and refuses to return it unless it means the same (same syntax
tree, same comments), so formatting can never change what a spec tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsl import ast
from dsl.compiler import analyze
from dsl.confine import Refused, read_spec_bytes
from dsl.errors import SpecError, SpecErrors
from dsl.parser import decode, normalize, parse_partial
from dsl.plan import Source
from dsl.render import quote, render_atoms
from dsl.render import stmt as render_stmt

INDENT = "  "
COMMENT_GAP = "  "


@dataclass(frozen=True)
class _Line:
    """One output line: code (with its source line and ancestors' original indents) or a comment."""

    line: int
    depth: int
    text: str
    kind: str  # top | block | header | stmt | comment
    opens: bool = False  # the next line is one level deeper (a block header)
    indents: tuple[int, ...] = ()  # original indentation at depth 0..depth (code lines only)


def format_text(text: str, file: str) -> str:
    """The canonical text of a spec file; raises SpecErrors (syntax and check errors) without formatting."""
    spec_file, errors = parse_partial(text, file)
    if spec_file is not None and not errors:
        errors = analyze(spec_file)[1]
    if errors or spec_file is None:
        raise SpecErrors(errors)
    out = _layout(spec_file)
    _verify(spec_file, out, file)
    return out


def format_paths(paths: Iterable[Path], check: bool) -> list[Path]:
    """The ``*.spec`` files under `paths` whose layout is not canonical; rewritten unless `check`.

    All or nothing: if any file has errors, SpecErrors (every error of every file) is raised and no file
    is written.
    """
    results: list[tuple[Path, str, str]] = []
    errors: list[SpecError] = []
    for path in _spec_files(paths):
        try:
            original = decode(read_spec_bytes(path), str(path))  # (a regular .spec file, 1 MiB at most)
            results.append((path, original, format_text(original, str(path))))
        except SpecErrors as e:
            errors.extend(e.errors)
        except Refused as e:
            errors.append(SpecError(Source(str(path), 1, 1), f"cannot read spec file: {e.message}", e.hint))
        except OSError as e:
            errors.append(SpecError(Source(str(path), 1, 1), f"cannot read spec file: {e.strerror or e}"))
    if errors:
        raise SpecErrors(errors)
    changed = [path for path, original, new in results if new != original]
    if not check:
        for path, original, new in results:
            if new != original:
                path.write_bytes(new.encode("utf-8"))
    return changed


def _spec_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        files.extend(sorted(p.rglob("*.spec")) if p.is_dir() else [p])
    return files


# ---- code lines ---------------------------------------------------------------------------------------


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.source = lines
        self.out: list[_Line] = []

    def add(self, node: ast.Node | int, depth: int, text: str, kind: str, parents: tuple[int, ...],
            opens: bool = False) -> tuple[int, ...]:
        line = node if isinstance(node, int) else node.line
        raw = self.source[line - 1]
        indents = (*parents, len(raw) - len(raw.lstrip(" ")))
        self.out.append(_Line(line, depth, text, kind, opens, indents))
        return indents

    def body(self, stmts: tuple[ast.Stmt, ...], depth: int, parents: tuple[int, ...]) -> None:
        for s in stmts:
            if isinstance(s, ast.Repeat | ast.When):
                mine = self.add(s, depth, render_stmt(s), "stmt", parents, opens=True)
                self.body(s.body, depth + 1, mine)
            else:
                self.add(s, depth, render_stmt(s), "stmt", parents)

    def spec(self, spec: ast.Spec) -> None:
        mine = self.add(spec, 0, f"spec {quote(spec.title.value)}", "top", (), opens=True)
        for item in spec.items:
            if isinstance(item, ast.Version):
                self.add(item, 1, f"version {item.number.text}", "header", mine)
            elif isinstance(item, ast.Refs):
                self.add(item, 1, "refs " + ", ".join(quote(r.value) for r in item.refs), "header", mine)
            elif isinstance(item, ast.Tags):
                self.add(item, 1, "tags " + ", ".join(t.text for t in item.tags), "header", mine)
            elif isinstance(item, ast.Block):
                block = self.add(item, 1, item.kind, "block", mine, opens=True)
                self.body(item.body, 2, block)
            else:
                self.scenario(item, mine)

    def scenario(self, sc: ast.Scenario, parents: tuple[int, ...]) -> None:
        head = f"scenario {quote(sc.title.value)}"
        ex = sc.examples
        if ex is not None and ex.form == "list":
            head += f" for {ex.names[0].text} in " + ", ".join(render_atoms(r.cells[0]) for r in ex.rows)
        mine = self.add(sc, 1, head, "block", parents, opens=True)
        if ex is not None and ex.form == "table":
            table = self.add(ex, 2, "examples", "stmt", mine, opens=True)
            rows = [[n.text for n in ex.names], *([render_atoms(c) for c in r.cells] for r in ex.rows)]
            widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
            lines = [ex.names[0].line, *(r.line for r in ex.rows)]
            for line, cells in zip(lines, rows, strict=True):
                text = "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
                self.add(line, 3, text, "stmt", table)
        self.body(sc.body, 2, mine)

    def named_setup(self, setup: ast.NamedSetup) -> None:
        mine = self.add(setup, 0, f"setup {quote(setup.name.value)}", "top", (), opens=True)
        self.body(setup.body, 1, mine)


# ---- layout -------------------------------------------------------------------------------------------


def _layout(spec_file: ast.SpecFile) -> str:
    builder = _Lines(spec_file.lines)
    for item in spec_file.order:
        if isinstance(item, ast.Spec):
            builder.spec(item)
        else:
            builder.named_setup(item)
    code = builder.out
    trailing = {c.line: c.text for c in spec_file.comments if not c.own_line}
    entries = sorted([*code, *_own_line_comments(spec_file, code)], key=lambda e: e.line)
    blank = _blanks(entries)
    out: list[str] = []
    for entry, gap in zip(entries, blank, strict=True):
        if gap:
            out.append("")
        text = entry.text
        if entry.kind != "comment" and entry.line in trailing:
            text += COMMENT_GAP + trailing.pop(entry.line)
        out.append(INDENT * entry.depth + text)
    if trailing:  # every code line is an entry, so this is a formatter bug, caught before writing
        raise ValueError(f"comments on lines {sorted(trailing)} belong to no statement")
    return "\n".join(out) + "\n"


def _own_line_comments(spec_file: ast.SpecFile, code: list[_Line]) -> list[_Line]:
    """Comments on lines of their own, each at the block depth its indentation is nearest to."""
    out: list[_Line] = []
    for comment in spec_file.comments:
        if not comment.own_line:
            continue
        before = [c for c in code if c.line < comment.line]
        after = [c for c in code if c.line > comment.line]
        prev = before[-1] if before else None
        nxt = after[0] if after else None
        # Between `prev` and `nxt` a comment may sit at any depth from nxt's up to prev's (or inside
        # prev's block when prev opens one); pick the one whose original indentation is closest.
        widths: dict[int, int] = {}
        if prev is not None:
            widths.update(enumerate(prev.indents))
        if nxt is not None:
            widths = {d: w for d, w in widths.items() if d >= nxt.depth}
            widths[nxt.depth] = nxt.indents[-1]
        width = comment.column - 1
        depth = min(widths, key=lambda d: (abs(widths[d] - width), -d)) if widths else 0
        out.append(_Line(comment.line, depth, comment.text, "comment"))
    return out


def _blanks(entries: list[_Line]) -> list[bool]:
    """Whether a blank line goes before each entry (rules in the module docstring)."""
    n = len(entries)
    author = [i > 0 and entries[i].line - entries[i - 1].line > 1 for i in range(n)]
    blank = [author[i] and not entries[i - 1].opens for i in range(n)]
    for k, entry in enumerate(entries):
        if entry.kind not in ("top", "block"):
            continue
        start = k  # the comments that lead into a block stay with it
        while (start > 0 and entries[start - 1].kind == "comment" and entries[start - 1].depth == entry.depth
               and not author[start]):
            start -= 1
        if start > 0 and not entries[start - 1].opens:
            blank[start] = True
    if n:
        blank[0] = False
    return blank


# ---- verification -------------------------------------------------------------------------------------


def _verify(before: ast.SpecFile, text: str, file: str) -> None:
    """Refuse output whose syntax tree or comments differ from the input's (a formatter bug)."""
    after, errors = parse_partial(text, file)
    same = (after is not None and not errors and _shape(after) == _shape(before)
            and [c.text for c in after.comments] == [c.text for c in before.comments])
    if not same:
        raise SpecErrors([SpecError(
            Source(file, 1, 1, normalize(before.text).split("\n")[0]),
            "internal formatter error: the formatted text would not mean the same; the file was left as is",
            "please report this spec to the chargespec maintainers",
        )])


_POSITION_FIELDS = frozenset({"source", "width", "origin"})
_FILE_FIELDS = frozenset({"text", "comments", "sha256", "order"})


def _shape(node: Any) -> Any:
    """A node without positions, for comparing what two texts mean."""
    if isinstance(node, tuple):
        return tuple(_shape(n) for n in node)
    if isinstance(node, ast.Node):
        skip = _POSITION_FIELDS | (_FILE_FIELDS if isinstance(node, ast.SpecFile) else frozenset())
        return (type(node).__name__, *(
            (f, _shape(getattr(node, f))) for f in node.__struct_fields__ if f not in skip))
    return node
