"""Spec text -> typed AST (:mod:`dsl.ast`), or :class:`~dsl.errors.SpecErrors` naming every syntax error.

Uses the Lark grammar in ``chargespec.lark`` (LALR, contextual lexer) with an indentation postlexer.
After a syntax error the offending statement line is blanked out and parsing resumes, so one run
reports the syntax errors of every statement, not just the first::

    spec_file = parse(text, "specs/metering/accuracy.spec")
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from importlib import resources
from typing import Any

import lark
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from dsl import ast
from dsl.errors import SpecError, SpecErrors, sort_errors
from dsl.limits import MAX_BLOCK_DEPTH
from dsl.plan import Source
from dsl.screen import describe, line_too_big, screen
from dsl.text import decode, normalize, sha256_bytes, sha256_text

__all__ = ["decode", "error_at", "normalize", "parse", "parse_partial", "parse_statement", "sha256_bytes",
           "sha256_text"]

MAX_SYNTAX_ERRORS = 50
# Each syntax error costs a parse of the whole file (~1.2 s per MiB): a big file reports fewer of them.
_PARSE_BUDGET_CHARS = 2 << 20

# Names of terminals as a person would say them, for "expected ..." hints.
_TERMINAL_NAMES = {
    "WORD": "a word",
    "NUMBER": "a number",
    "STRING": 'a "quoted string"',
    "PLACEHOLDER": "a {placeholder}",
    "OP": "a comparison (<, <=, >, >=, ==, !=)",
    "PLUSMINUS": '"±"',
    "_NL": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the block",
    "$END": "the end of the file",
}


class _IndentError(Exception):
    def __init__(self, line: int, column: int, message: str, hint: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message, self.hint = line, column, message, hint


class _Indenter(PostLex):
    """Turns the indentation after each newline into _INDENT/_DEDENT tokens placed on the new line."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        levels = [0]
        first = True
        for tok in stream:
            if first and tok.type != "_NL" and (tok.column or 1) != 1:
                raise _IndentError(tok.line or 1, 1, "the first line of a file must not be indented",
                                   "start `spec` and top-level `setup` at column 1")
            first = False
            yield tok
            if tok.type != "_NL" or "\n" not in tok.value:
                continue
            indent = tok.value.rsplit("\n", 1)[1]
            line = (tok.end_line or tok.line or 1)
            if "\t" in indent:
                raise _IndentError(line, 1, "tab in indentation", "indent with spaces only")
            width = len(indent)
            pos = dict(start_pos=tok.end_pos, line=line, column=width + 1, end_line=line,
                       end_column=width + 1, end_pos=tok.end_pos)
            if width > levels[-1]:
                levels.append(width)
                if len(levels) > MAX_BLOCK_DEPTH + 1:  # (levels[0] is the top level, not a block)
                    raise _IndentError(line, width + 1, f"blocks nested more than {MAX_BLOCK_DEPTH} deep",
                                       "flatten it: a spec needs a few levels")
                yield Token("_INDENT", indent, **pos)
                continue
            while width < levels[-1]:
                levels.pop()
                yield Token("_DEDENT", indent, **pos)
            if width != levels[-1]:
                raise _IndentError(
                    line, width + 1, f"indentation of {width} spaces matches no enclosing block",
                    f"indent by {levels[-1]} spaces to continue the block, or match an outer block",
                )


_LARK_OPTIONS: dict[str, Any] = dict(parser="lalr", lexer="contextual", propagate_positions=True,
                                     maybe_placeholders=False)


@functools.cache
def _lark(start: str = "start") -> Lark:
    """The parser (`start`: a whole file; ``stmt_line``: one statement line, see :func:`_fast_parse`).

    Its analysed LALR tables are kept in the temp directory, keyed by the grammar, the options and the
    Lark and Python versions: loading them takes ~5 ms, building them ~55 ms.
    """
    grammar = resources.files("dsl").joinpath("chargespec.lark").read_text(encoding="utf-8")
    options = {**_LARK_OPTIONS, "start": start}
    key = hashlib.sha256("\0".join([grammar, repr(sorted(options.items())), lark.__version__,
                                    sys.version]).encode()).hexdigest()[:32]
    path = os.path.join(tempfile.gettempdir(), f"chargespec-lark-{key}.pickle")
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_uid != os.getuid():  # a pickle: trust only our own
                raise PermissionError(path)
            loaded = Lark.load(f)
        if isinstance(loaded.options.postlex, _Indenter):  # (the postlexer travels in the pickle)
            return loaded
    except Exception:  # missing, truncated or from another Lark: build it (and store it) again
        pass
    parser = Lark(grammar, postlex=_Indenter(), **options)
    with contextlib.suppress(OSError):  # an unwritable temp directory only costs the build next time
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                parser.save(f)
            os.replace(tmp, path)  # atomic: parallel workers never read half a file
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return parser


def parse(text: str, file: str) -> ast.SpecFile:
    """Parse a whole spec file; raises SpecErrors listing every syntax error found."""
    spec_file, errors = parse_partial(text, file)
    if errors or spec_file is None:
        raise SpecErrors(errors)
    return spec_file


def parse_partial(text: str, file: str, *, fast: bool = True) -> tuple[ast.SpecFile | None, list[SpecError]]:
    """Parse with error recovery: the AST of every line that parsed, and the syntax errors.

    `fast=False` skips the per-line fast path (the result is the same; tests compare the two).
    """
    text = normalize(text)
    lines = text.split("\n")
    # Hostile characters, over-long lines and over-deep nesting are errors before Lark sees anything;
    # such lines are blanked (they would blow the builder's recursion or cost per character).
    screened = screen(file, lines)
    spec_file = _fast_parse(file, lines, text) if fast and not screened.blank else None
    if spec_file is not None:
        return spec_file, list(screened.errors)
    work = list(lines)
    skipped: set[int] = set()
    errors: list[SpecError] = list(screened.errors)
    for line in sorted(screened.blank):
        if not _can_skip(lines, line, None):
            return None, errors
        work[line - 1], skipped = _filler(lines[line - 1]), skipped | {line}
    if errors:
        spec_file, more = _parse_rest(file, text, lines, work, skipped)
        return spec_file, sort_errors([*errors, *more])
    return _parse_rest(file, text, lines, work, skipped)


def _parse_rest(file: str, text: str, lines: list[str], work: list[str],
                skipped: set[int]) -> tuple[ast.SpecFile | None, list[SpecError]]:
    """Parse `work` (lines already blanked as `skipped`), blanking each further broken statement."""
    errors: list[SpecError] = []
    max_errors = max(1, min(MAX_SYNTAX_ERRORS, _PARSE_BUDGET_CHARS // max(1, len(text))))
    while True:
        try:
            tree = _lark().parse("\n".join(work))
        except (LarkError, _IndentError) as exc:
            error = _syntax_error(exc, file, lines)
            line = error.source.line
            if line in skipped:  # the filler of a line already reported: not a mistake of the spec's
                return None, errors
            errors.append(error)
            if (len(errors) >= max_errors or isinstance(exc, _IndentError)
                    or not _can_skip(lines, line, exc)):
                return None, errors
            work[line - 1] = _filler(lines[line - 1])
            skipped.add(line)
            continue
        break
    try:
        spec_file = _Builder(file, lines, skipped).build(tree, text)
    except (ValueError, IndexError) as exc:  # defensive: a builder bug must still name the file
        errors.append(SpecError(Source(file, 1, 1, lines[0]), f"internal parser error: {exc}",
                                "please report this spec to the chargespec maintainers"))
        return None, errors
    return spec_file, errors


# ---- the fast path: statement lines parsed once per process ----------------------------------------
#
# Spec libraries repeat statement lines verbatim (`charger booted`, the same expectation in every
# scenario), and Lark's lexer and LALR parser cost ~0.1 ms per line. So a file is parsed as a skeleton:
# block headers, refs/tags/version, example rows and `repeat` lines stay as written, and every other
# non-blank line (a statement) becomes the one-word statement `_`. Each distinct statement text is
# parsed once with the same grammar from the ``stmt_line`` start symbol (memoised), and the builder
# reads that tree in place of the `_`, shifted to the line and indentation where it stands.
#
# This is the same parse: a statement is one line ending in _NL, `_` is accepted exactly where any
# statement is, and after a statement's first token the LALR states (hence the contextual lexer's
# choices) are the same from either start symbol. A line whose first word is a block keyword is kept
# in the skeleton, so a keyword is never read as a statement. Anything unusual (a syntax error in the
# skeleton or in a line, tabs or form feeds in indentation) returns None, and the file is parsed
# whole, the one way errors are reported.

_STRUCTURAL = frozenset({"spec", "setup", "teardown", "scenario", "examples", "refs", "tags", "version",
                         "repeat", "when"})
_FIRST_WORD = re.compile(r"[A-Za-z_]*")
_LINE_TREES: dict[str, Tree | None] = {}
_LINE_TREES_MAX = 50_000  # distinct statement texts kept; a long-lived process starts over beyond it


def _fast_parse(file: str, lines: list[str], text: str) -> ast.SpecFile | None:
    skeleton: list[str] = []
    spliced: dict[int, tuple[Tree, int]] = {}
    for number, line in enumerate(lines, start=1):
        body = line.lstrip(" ")
        if not _is_statement(body):
            skeleton.append(line)
            continue
        if body[0].isspace():
            return None
        tree = _statement_tree(body)
        if tree is None:
            return None
        indent = len(line) - len(body)
        skeleton.append(line[:indent] + "_")
        spliced[number] = (tree, indent)
    try:
        tree = _lark().parse("\n".join(skeleton))
        return _Builder(file, lines, set(), spliced).build(tree, text)
    except (LarkError, _IndentError, ValueError, IndexError, KeyError):
        return None


def _is_statement(body: str) -> bool:
    """A line (without its indentation) that is a statement: not blank, a comment, a table row or a block
    keyword's line."""
    return bool(body) and body[0] not in "#|" and _FIRST_WORD.match(body).group() not in _STRUCTURAL  # type: ignore[union-attr]


def _statement_tree(body: str) -> Tree | None:
    """The tree of one statement line (without its indentation), or None if it does not parse alone."""
    if body in _LINE_TREES:
        return _LINE_TREES[body]
    if line_too_big(body):  # (the whole-file parse reports it; never built, never kept)
        return None
    try:
        tree: Tree | None = _lark("stmt_line").parse(body + "\n").children[0]
    except (LarkError, _IndentError):
        tree = None
    if len(_LINE_TREES) >= _LINE_TREES_MAX:
        _LINE_TREES.clear()
    _LINE_TREES[body] = tree
    return tree


def parse_statement(line: str) -> ast.Stmt | None:
    """One statement line (indentation included) as line 1 of no file, or None when it is not a statement
    that parses on its own (a block keyword, a syntax error, a tab).

    The node is exactly what the whole-file parse builds for that line, but for the file and line number
    (:mod:`dsl.quick` places it).
    """
    body = line.lstrip(" ")
    if not _is_statement(body) or body[0].isspace():
        return None
    tree = _statement_tree(body)
    if tree is None:
        return None
    builder = _Builder("", [line], set())
    builder.line0, builder.indent = 1, len(line) - len(body)
    try:
        node: ast.Stmt = getattr(builder, "stmt_" + tree.data)(tree)
    except (ValueError, IndexError, KeyError):
        return None
    return node


def _can_skip(lines: list[str], line: int, exc: Exception | None) -> bool:
    """A statement line can be blanked; a block header (deeper-indented lines follow) cannot."""
    if isinstance(exc, UnexpectedToken) and exc.token.type in ("_INDENT", "_DEDENT", "$END"):
        return False
    if not 1 <= line <= len(lines) or not lines[line - 1].strip():
        return False
    indent = _indent(lines[line - 1])
    for following in lines[line:]:
        if following.strip() and not following.lstrip().startswith("#"):
            return _indent(following) <= indent
    return True


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _filler(line: str) -> str:
    """A line that parses wherever the broken one stood; the builder drops it again."""
    indent = line[: _indent(line)]
    first = line.strip().split(" ", 1)[0]
    return indent + ("tags _" if first in ("refs", "tags", "version") else "_")


def _syntax_error(exc: Exception, file: str, lines: list[str]) -> SpecError:
    if isinstance(exc, _IndentError):
        return error_at(file, lines, exc.line, exc.column, exc.message, exc.hint)
    unclosed = _unclosed(exc, file, lines)
    if unclosed is not None:
        return unclosed
    if isinstance(exc, UnexpectedCharacters):
        char = lines[exc.line - 1][exc.column - 1] if _inside(lines, exc.line, exc.column) else "?"
        # (an invisible one by its name: "\\x2028" read as a space and the digits 28)
        shown = f'"{char}"' if char.isprintable() and not char.isspace() else describe(char)
        return error_at(file, lines, exc.line, exc.column, f"unexpected character {shown}",
                        _lookalike(char) or _expected(_accepted(exc) or getattr(exc, "allowed", None) or set()))
    if isinstance(exc, UnexpectedToken):
        when = _when_error(exc, file, lines)
        if when is not None:
            return when
        tok = exc.token
        width = 1 if tok.type in _TOKEN_NAMES else len(tok.value)
        before = lines[tok.line - 1][:(tok.column or 1) - 1].split() if tok.line and tok.line <= len(lines) else []
        if tok.type == "STRING" and before[-2:] in (["on", "station"], ["of", "station"]):
            # `analyzer power on station "TWIN-B"`: a signal holds no quoted string (dsl/stations.py).
            return error_at(file, lines, tok.line, tok.column or 1,
                            "a station in a signal is named by a word, not a quoted string",
                            f"write station {tok.value[1:-1]} (an id that is no word: its alias from the bench file)",
                            width)
        return error_at(file, lines, tok.line or len(lines), tok.column or 1, f"unexpected {_describe(tok)}",
                        _expected(_accepted(exc) or exc.expected), width)
    if isinstance(exc, UnexpectedEOF | UnexpectedInput):
        return error_at(file, lines, len(lines), 1, "unexpected end of file",
                   _expected(getattr(exc, "expected", None) or set()))
    return error_at(file, lines, 1, 1, f"cannot parse: {exc}", None)


_WHEN_TESTS = 'is "v", is not "v", holds "v" (members of a list: TxStartPoint holds "Authorized") or does not hold "v"'
_WHEN_LIKE = {"contains": "holds", "has": "holds", "includes": "holds", "equals": "is", "=": "is", "==": "is",
              "!=": "is not", "lacks": "does not hold", "excludes": "does not hold"}


def _when_error(exc: UnexpectedToken, file: str, lines: list[str]) -> SpecError | None:
    """The common mistakes of a `when` line, worded for it: a test it does not know, the missing colon, a block
    with no line in it (Lark's own words would name tokens, not the fix)."""
    tok = exc.token
    line = tok.line or len(lines)
    if not 1 <= line <= len(lines):
        return None
    accepted = _accepted(exc) or set(exc.expected)
    text = lines[line - 1]
    if text.lstrip(" ").startswith("when ") and tok.type != "_INDENT":
        if "HOLDS" in accepted:
            like = _WHEN_LIKE.get(str(tok.value))
            return error_at(file, lines, line, tok.column or 1, f'unexpected "{tok.value}": a when line tests the '
                            f"value with {_WHEN_TESTS}", f"write {like} \"…\"" if like else None,
                            max(1, len(str(tok.value))))
        if "STRING" in accepted and tok.type in ("WORD", "NUMBER"):
            return error_at(file, lines, line, tok.column or 1, f"unquoted value {tok.value}: a when line compares "
                            "the charger's value with a quoted string", f'write "{tok.value}"',
                            max(1, len(str(tok.value))))
        if "COLON" in accepted and tok.type == "_NL":
            return error_at(file, lines, line, tok.column or 1, 'a when line ends with ":"',
                            "its block follows, indented under it: the lines that apply only when the value passes "
                            "the test")
    if "_INDENT" in accepted and tok.type != "_INDENT":
        above = next((k for k in range(line - 1, 0, -1) if lines[k - 1].strip()
                      and not lines[k - 1].lstrip().startswith("#")), None)
        if above is not None and lines[above - 1].lstrip(" ").startswith("when "):
            head = lines[above - 1]
            return error_at(file, lines, above, len(head) - len(head.lstrip(" ")) + 1, "this when block is empty",
                            "indent the lines that apply only when the value passes the test under the when line",
                            len(head.strip()))
    return None


# Characters a word processor or a web page puts where the language has a plain one.
_QUOTES = frozenset("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2018\u2019\u201a\u201b\u2032\u2033")
_DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


def _lookalike(char: str) -> str | None:
    """What to write instead of a character that looks like (or hides) one the language reads."""
    if char in _QUOTES:
        return 'a typographic quote (copied from a document?): write strings in straight double quotes "…"'
    if char in _DASHES:
        return 'a dash that is not a minus: write "-"'
    category = unicodedata.category(char)
    if category == "Zs":
        return "a space that is not a plain one (copied from a document?): write a plain space"
    if category in ("Zl", "Zp"):
        return "a Unicode line separator: end the line with a plain newline"
    if category == "Cf":
        return "an invisible character: delete it"
    return None


_STRING_OR_OTHER = re.compile(r'"(?:[^"\\\n]|\\.)*"|"|[{}]|#.*')


def _unclosed(exc: Exception, file: str, lines: list[str]) -> SpecError | None:
    """A string or a field object left open on its line: name the opening character, not what follows."""
    line = getattr(exc, "line", None)
    if not isinstance(exc, UnexpectedCharacters | UnexpectedToken) or not line or not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    opened: list[int] = []
    for m in _STRING_OR_OTHER.finditer(text):
        token = m.group()
        if token == '"':
            return error_at(file, lines, line, m.start() + 1, "unterminated string",
                            'close it with " on the same line (a string cannot span lines)',
                            len(text) - m.start())
        if token == "{":
            opened.append(m.start())
        elif token == "}" and opened:
            opened.pop()
        elif token.startswith("#"):
            break
    at_end = isinstance(exc, UnexpectedToken) and exc.token.type == "_NL"
    if opened and at_end:
        return error_at(file, lines, line, opened[-1] + 1, 'this "{" is never closed',
                        'close it with "}" on the same line (a field object is one line)')
    return None


def _accepted(exc: UnexpectedInput) -> set[str]:
    """What the parser really accepts at the error (LALR's merged lookaheads over-promise)."""
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is None:
        return set()
    try:
        return set(interactive.accepts())
    except LarkError:
        return set()


def _inside(lines: list[str], line: int, column: int) -> bool:
    return 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1])


def error_at(file: str, lines: list[str], line: int, column: int, message: str, hint: str | None,
        width: int = 1) -> SpecError:
    """An error clamped to a real position: line within the file, column within the line (or just past)."""
    # The final newline does not make a line of its own.
    last = len(lines) - 1 if len(lines) > 1 and lines[-1] == "" else max(1, len(lines))
    line = min(max(1, line), last)
    text = lines[line - 1] if lines else ""
    column = min(max(1, column), len(text) + 1)
    return SpecError(Source(file, line, column, text), message, hint, max(1, width))


_TOKEN_NAMES = {"_NL": "end of line", "_INDENT": "indentation", "_DEDENT": "end of block",
                "$END": "end of file"}


def _describe(tok: Token) -> str:
    return _TOKEN_NAMES.get(tok.type) or f'"{tok.value}"'


def _expected(names: set[str] | frozenset[str]) -> str | None:
    shown: list[str] = []
    terminals = {t.name: t for t in _lark().terminals}
    for name in sorted(names):
        if name in _TERMINAL_NAMES:
            shown.append(_TERMINAL_NAMES[name])
        elif name in terminals and terminals[name].pattern.type == "str":
            shown.append(f'"{terminals[name].pattern.value}"')
        else:
            shown.append(name.lower())
    shown = sorted(set(shown), key=lambda s: (not s.startswith('"'), s))
    if not shown:
        return None
    if len(shown) > 8:
        shown = [*shown[:8], "…"]
    return "expected " + (shown[0] if len(shown) == 1 else "one of " + ", ".join(shown))


# ---- tree -> AST -------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(.)")
_PUNCT = {"COLON", "COMMA", "PLUS", "MINUS", "PERCENT", "PLUSMINUS"}
# The keywords `!expect_step` keeps (Lark names anonymous ones by their text): statement words there.
_STEP_KEYWORDS = {"EXPECT", "COMPOSITE"}


class _Builder:
    def __init__(self, file: str, lines: list[str], skipped: set[int],
                 spliced: dict[int, tuple[Tree, int]] | None = None) -> None:
        self.file, self.lines, self.skipped = file, lines, skipped
        self.spliced = spliced or {}
        # While building a statement parsed alone (line 1, no indentation): where it really stands.
        self.line0, self.indent = 0, 0

    # -- positions --

    def at(self, line: int, column: int) -> tuple[int, int]:
        """A position in the tree being read -> its position in the file."""
        if self.line0:
            return line + self.line0 - 1, column + self.indent if line == 1 else column
        return line, column

    def src(self, line: int | None, column: int | None) -> Source:
        line, column = self.at(line or 1, column or 1)
        text = self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
        return Source(self.file, line, column, text)

    def tok_pos(self, tok: Token) -> dict[str, Any]:
        return {"source": self.src(tok.line, tok.column), "width": max(1, len(tok.value))}

    def tree_pos(self, tree: Tree) -> dict[str, Any]:
        meta = tree.meta
        if getattr(meta, "empty", True):
            return {"source": self.src(1, 1), "width": 1}
        line, column = self.at(meta.line, meta.column)
        end_line, end_column = self.at(meta.end_line, meta.end_column)
        same_line = end_line == line
        line_end = len(self.lines[line - 1]) + 1
        width = (end_column if same_line else line_end) - column
        return {"source": Source(self.file, line, column, self.lines[line - 1]), "width": max(1, width)}

    def dropped(self, node: Tree | Token) -> bool:
        line = node.line if isinstance(node, Token) else getattr(node.meta, "line", None)
        return line in self.skipped

    # -- file --

    def build(self, tree: Tree, text: str) -> ast.SpecFile:
        order: list[ast.Spec | ast.NamedSetup] = []
        for child in tree.children:
            if isinstance(child, Tree) and not self.dropped(child):
                order.append(self.spec(child) if child.data == "spec" else self.named_setup(child))
        return ast.SpecFile(
            source=self.src(1, 1), text=text,
            specs=tuple(s for s in order if isinstance(s, ast.Spec)),
            setups=tuple(s for s in order if isinstance(s, ast.NamedSetup)),
            comments=tuple(_comments(self.file, self.lines)),
            sha256=sha256_text(text), order=tuple(order),
        )

    def spec(self, tree: Tree) -> ast.Spec:
        title = self.string(_tokens(tree, "STRING")[0])
        items: list[ast.SpecItem] = []
        for child in tree.children:
            if isinstance(child, Tree) and not self.dropped(child):
                items.append(getattr(self, "item_" + child.data)(child))
        return ast.Spec(**self.tree_pos(tree), title=title, items=tuple(items))

    def named_setup(self, tree: Tree) -> ast.NamedSetup:
        name = self.string(_tokens(tree, "STRING")[0])
        return ast.NamedSetup(**self.tree_pos(tree), name=name, body=self.body(_subtree(tree, "body")))

    def item_version(self, tree: Tree) -> ast.Version:
        return ast.Version(**self.tree_pos(tree), number=self.atom(_tokens(tree, "NUMBER")[0]))

    def item_refs(self, tree: Tree) -> ast.Refs:
        return ast.Refs(**self.tree_pos(tree), refs=tuple(self.string(t) for t in _tokens(tree, "STRING")))

    def item_tags(self, tree: Tree) -> ast.Tags:
        return ast.Tags(**self.tree_pos(tree), tags=tuple(self.word(t) for t in _tokens(tree, "WORD")))

    def item_setup(self, tree: Tree) -> ast.Block:
        return ast.Block(**self.tree_pos(tree), kind="setup", body=self.body(_subtree(tree, "body")))

    def item_teardown(self, tree: Tree) -> ast.Block:
        return ast.Block(**self.tree_pos(tree), kind="teardown", body=self.body(_subtree(tree, "body")))

    def item_scenario(self, tree: Tree) -> ast.Scenario:
        title = self.string(_tokens(tree, "STRING")[0])
        examples: ast.Examples | None = None
        body: list[ast.Stmt] = []
        for child in tree.children:
            if not isinstance(child, Tree) or self.dropped(child):
                continue
            if child.data == "for_clause":
                examples = self.for_clause(child)
            elif child.data == "examples":
                examples = self.examples(child)
            else:
                body.append(self.stmt(child))
        return ast.Scenario(**self.tree_pos(tree), title=title, examples=examples, body=tuple(body))

    def for_clause(self, tree: Tree) -> ast.Examples:
        name = self.word(tree.children[0])
        rows = []
        for value in _subtrees(tree, "value"):
            atoms = tuple(self.atom(t) for t in value.children)
            rows.append(ast.Row(**self.tree_pos(value), cells=(atoms,)))
        return ast.Examples(**self.tree_pos(tree), form="list", names=(name,), rows=tuple(rows))

    def examples(self, tree: Tree) -> ast.Examples:
        rows = [r for r in _subtrees(tree, "row") if not self.dropped(r)]
        built = [ast.Row(**self.tree_pos(r), cells=tuple(
            tuple(self.atom(t) for t in cell.children) for cell in _subtrees(r, "cell"))) for r in rows]
        names: tuple[ast.Word, ...] = ()
        if built:
            header = built[0]
            names = tuple(
                ast.Word(source=c[0].source, width=c[0].width, text=_atom_text(c[0])) if c else
                ast.Word(source=header.source, width=1, text="")
                for c in header.cells
            )
            # Header cells must be single words; the checker reports anything else via the raw row.
            names = tuple(n if len(c) == 1 and isinstance(c[0], ast.Word) else
                          ast.Word(source=n.source, width=n.width, text="")
                          for n, c in zip(names, header.cells, strict=True))
        return ast.Examples(**self.tree_pos(tree), form="table", names=names, rows=tuple(built[1:]))

    def body(self, tree: Tree) -> tuple[ast.Stmt, ...]:
        return tuple(self.stmt(c) for c in tree.children if isinstance(c, Tree) and not self.dropped(c))

    # -- statements --

    def stmt(self, tree: Tree) -> ast.Stmt:
        if self.spliced and tree.data == "action" and not self.line0:
            line = getattr(tree.meta, "line", 0)
            if line in self.spliced:  # the skeleton's `_`: read the line's own tree in its place
                alone, self.indent = self.spliced[line]
                self.line0 = line
                try:
                    return getattr(self, "stmt_" + alone.data)(alone)
                finally:
                    self.line0 = self.indent = 0
        return getattr(self, "stmt_" + tree.data)(tree)

    def stmt_action(self, tree: Tree) -> ast.ActionStmt:
        return ast.ActionStmt(**self.tree_pos(tree), atoms=self.atoms(tree.children))

    def stmt_expect_step(self, tree: Tree) -> ast.ActionStmt:
        """An expectation the step registry defines (`expect charger composite schedule …`): its words,
        `expect` and `charger` included, are matched like any statement's."""
        children = [c for c in tree.children if not (isinstance(c, Token) and c.type == "_NL")]
        return ast.ActionStmt(**self.tree_pos(tree), atoms=self.atoms(children))

    def stmt_include(self, tree: Tree) -> ast.Include:
        strings = [self.string(t) for t in _tokens(tree, "STRING")]
        path = strings[1] if len(strings) > 1 else None
        return ast.Include(**self.tree_pos(tree), name=strings[0], path=path)

    def stmt_measure(self, tree: Tree) -> ast.Measure:
        window = self.string(_tokens(tree, "STRING")[0])
        duration = until = None
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "measure_for":
                duration = self.expr(_subtree(child, "expr"))
            elif isinstance(child, Tree) and child.data == "measure_until":
                until = tuple(self.word(t) for t in child.children)
        return ast.Measure(**self.tree_pos(tree), window=window, duration=duration, until=until or ())

    def stmt_repeat(self, tree: Tree) -> ast.Repeat:
        times = self.atom(_tokens(tree, "NUMBER")[0])
        assert isinstance(times, ast.Number)
        return ast.Repeat(**self.tree_pos(tree), times=times, body=self.body(_subtree(tree, "body")))

    def stmt_when(self, tree: Tree) -> ast.When:
        name = next(t for t in tree.children if isinstance(t, Token) and t.type in ("VARIABLE", "WORD"))
        test = _subtree(tree, "when_test")
        words = [str(t) for t in test.children]
        return ast.When(**self.tree_pos(tree), variable=self.word(name), test=" ".join(words),
                        value=self.string(_tokens(tree, "STRING")[0]), body=self.body(_subtree(tree, "body")),
                        absent=bool(_subtrees(tree, "when_absent")))

    def stmt_expect_now(self, tree: Tree) -> ast.ExpectCondition:
        return ast.ExpectCondition(**self.tree_pos(tree), mode="now", duration=None,
                                   condition=self.condition(tree.children[0]))

    def stmt_expect_within(self, tree: Tree) -> ast.ExpectCondition | ast.ExpectMessage:
        duration = self.expr(_subtree(tree, "expr"))
        body = next(c for c in tree.children if isinstance(c, Tree) and c.data != "expr")
        if body.data == "sends":
            return self.sends(tree, body, duration)
        return ast.ExpectCondition(**self.tree_pos(tree), mode="within", duration=duration,
                                   condition=self.condition(body))

    def stmt_expect_settle(self, tree: Tree) -> ast.ExpectCondition:
        within, hold = (self.expr(e) for e in _subtrees(tree, "expr"))
        body = next(c for c in tree.children if isinstance(c, Tree) and c.data != "expr")
        return ast.ExpectCondition(**self.tree_pos(tree), mode="settle", duration=within, hold=hold,
                                   condition=self.condition(body))

    def stmt_expect_for(self, tree: Tree) -> ast.ExpectCondition:
        duration = self.expr(_subtree(tree, "expr"))
        body = next(c for c in tree.children if isinstance(c, Tree) and c.data != "expr")
        return ast.ExpectCondition(**self.tree_pos(tree), mode="for", duration=duration,
                                   condition=self.condition(body))

    def stmt_expect_accuracy(self, tree: Tree) -> ast.ExpectAccuracy:
        # children: signal [window] expr signal [window]
        parts = [c for c in tree.children if isinstance(c, Tree)]
        measured = self.signal(parts.pop(0))
        measured_window = self.window(parts.pop(0)) if parts[0].data == "window" else None
        tolerance = self.expr(parts.pop(0))
        reference = self.signal(parts.pop(0))
        window = self.window(parts.pop(0)) if parts else None
        return ast.ExpectAccuracy(**self.tree_pos(tree), measured=measured, measured_window=measured_window,
                                  tolerance=tolerance, reference=reference, window=window)

    def stmt_expect_message(self, tree: Tree) -> ast.ExpectMessage:
        return self.sends(tree, _subtree(tree, "sends"), None)

    def stmt_expect_interval(self, tree: Tree) -> ast.ExpectInterval:
        message = self.message(_subtree(tree, "message"))
        action, fields = message.action, message.fields
        every, tolerance = (self.expr(e) for e in _subtrees(tree, "expr"))
        strings = _tokens(tree, "STRING")
        return ast.ExpectInterval(**self.tree_pos(tree), action=action, fields=fields, every=every,
                                  tolerance=tolerance, window=self.string(strings[0]) if strings else None,
                                  place=self.place(tree))

    def stmt_expect_reply(self, tree: Tree) -> ast.ExpectReply:
        fields = _subtrees(tree, "fields")
        words = _tokens(tree, "WORD")
        return ast.ExpectReply(**self.tree_pos(tree), fields=self.fields(fields[0]) if fields else None,
                               error=self.word(words[0]) if words else None)

    def stmt_expect_no_message(self, tree: Tree) -> ast.ExpectNoMessage:
        fields = _subtrees(tree, "fields")
        return ast.ExpectNoMessage(**self.tree_pos(tree), action=self.word(_tokens(tree, "WORD")[0]),
                                   fields=self.fields(fields[0]) if fields else None,
                                   duration=self.expr(_subtree(tree, "expr")), place=self.place(tree))

    def stmt_expect_rule(self, tree: Tree) -> ast.ExpectRule:
        action = self.word(tree.children[0])
        scope_trees = _subtrees(tree, "scope")
        scope = tuple(self.word(t) for t in scope_trees[0].children) if scope_trees else ()
        colon = next(i for i, c in enumerate(tree.children) if isinstance(c, Token) and c.type == "COLON")
        # (a field object after the colon belongs to the rule's atoms, not to the filter)
        fields = [c for c in tree.children[:colon] if isinstance(c, Tree) and c.data == "fields"]
        return ast.ExpectRule(**self.tree_pos(tree), action=action, scope=scope,
                              rule=self.atoms(tree.children[colon + 1:]),
                              fields=self.fields(fields[0]) if fields else None)

    def stmt_expect_trials(self, tree: Tree) -> ast.ExpectTrials:
        return ast.ExpectTrials(**self.tree_pos(tree), at_least=self.expr(_subtree(tree, "expr")))

    def stmt_remember(self, tree: Tree) -> ast.Remember:
        path, which = _tokens(tree, "WORD")
        return ast.Remember(**self.tree_pos(tree), path=self.word(path), which=self.word(which),
                            message=self.message(_subtree(tree, "message")),
                            name=self.string(_tokens(tree, "STRING")[0]), place=self.place(tree))

    # -- parts --

    def sends(self, stmt: Tree, tree: Tree, within: ast.Expr | None) -> ast.ExpectMessage:
        first, *others = (self.message(m) for m in _subtrees(tree, "message"))
        count = after = twice = None
        for c in _subtrees(tree, "count"):
            words = [t.value for t in c.children if isinstance(t, Token) and t.type != "NUMBER"]
            count = ast.MessageCount(**self.tree_pos(c), kind=" ".join(words),
                                     number=ast.Number(**self.tok_pos(_tokens(c, "NUMBER")[0]),
                                                       text=_tokens(c, "NUMBER")[0].value))
        for a in _subtrees(tree, "after"):
            if not _subtrees(a, "message"):  # `… within T` at the end: the expectation's own time limit
                twice = self.expr(_subtree(a, "expr")) if within is not None else None
                within = within or self.expr(_subtree(a, "expr"))
                continue
            after = ast.After(**self.tree_pos(a), within=self.expr(_subtree(a, "expr")),
                              message=self.message(_subtree(a, "message")))
        return ast.ExpectMessage(**self.tree_pos(stmt), within=within, action=first.action, fields=first.fields,
                                 others=tuple(others), count=count, after=after, within_twice=twice,
                                 place=self.place(tree))

    def place(self, tree: Tree) -> ast.Atoms:
        """The words after a message line's message (`on station right`), as atoms; () without."""
        places = _subtrees(tree, "place")
        return self.atoms(places[0].children) if places else ()

    def message(self, tree: Tree) -> ast.MessageRef:
        fields = _subtrees(tree, "fields")
        return ast.MessageRef(**self.tree_pos(tree), action=self.word(_tokens(tree, "WORD")[0]),
                              fields=self.fields(fields[0]) if fields else None)  # type: ignore[arg-type]

    def window(self, tree: Tree) -> ast.String:
        return self.string(_tokens(tree, "STRING")[0])

    def condition(self, tree: Tree) -> ast.Condition:
        signal = self.signal(_subtree(tree, "signal"))
        if tree.data == "compare":
            op = _tokens(tree, "OP")[0]
            return ast.Compare(**self.tree_pos(tree), signal=signal, op=_canonical_op(op.value),
                               bound=self.expr(_subtree(tree, "expr")))
        return ast.StateIs(**self.tree_pos(tree), signal=signal,
                           states=tuple(self.word(t) for t in _tokens(tree, "WORD")))

    def signal(self, tree: Tree) -> ast.SignalRef:
        return ast.SignalRef(**self.tree_pos(tree), atoms=self.atoms(tree.children))

    def expr(self, tree: Tree) -> ast.Expr:
        return ast.Expr(**self.tree_pos(tree), atoms=self.atoms(tree.children))

    def atoms(self, children: list[Any]) -> ast.Atoms:
        return tuple(self.atom(c) for c in children)

    def atom(self, node: Token | Tree) -> ast.Atom:
        if isinstance(node, Tree):
            return self.fields(node)
        kind = node.type
        pos = self.tok_pos(node)
        if kind in ("WORD", "CHARGER", "VARIABLE") or kind in _STEP_KEYWORDS:
            return ast.Word(**pos, text=node.value)
        if kind == "NUMBER":
            return ast.Number(**pos, text=node.value)
        if kind == "STRING":
            return self.string(node)
        if kind == "PLACEHOLDER":
            return ast.Placeholder(**pos, name=node.value[1:-1])
        if kind in _PUNCT:
            return ast.Punct(**pos, text="±" if kind == "PLUSMINUS" else node.value)
        raise ValueError(f"unexpected token {kind} at line {node.line}")

    def word(self, tok: Token) -> ast.Word:
        return ast.Word(**self.tok_pos(tok), text=tok.value)

    def string(self, tok: Token) -> ast.String:
        return ast.String(**self.tok_pos(tok), value=_ESCAPE.sub(r"\1", tok.value[1:-1]))

    def fields(self, tree: Tree) -> ast.Fields | ast.FieldList:
        if tree.data == "field_list":
            return ast.FieldList(**self.tree_pos(tree), items=tuple(self.fvalue(c) for c in tree.children
                                                                  if not _is_punct(c)))
        items = []
        for f in _subtrees(tree, "field"):
            key_tok, value = f.children[0], next(c for c in f.children[1:] if not _is_punct(c, "COLON"))
            key = key_tok.value if key_tok.type == "WORD" else _ESCAPE.sub(r"\1", key_tok.value[1:-1])
            items.append(ast.Field(**self.tree_pos(f), key=key, value=self.fvalue(value)))
        return ast.Fields(**self.tree_pos(tree), items=tuple(items))

    def fvalue(self, node: Token | Tree) -> ast.FieldValue:
        if isinstance(node, Tree):
            if node.data == "negative":
                number = _tokens(node, "NUMBER")[0]
                return ast.Number(**self.tree_pos(node), text="-" + number.value)
            if node.data == "alternatives":
                return ast.Alternatives(**self.tree_pos(node), items=tuple(self.fvalue(c) for c in node.children))
            if node.data == "negated":
                return ast.Negated(**self.tree_pos(node), value=self.fvalue(node.children[0]))
            if node.data == "remembered":
                return ast.Remembered(**self.tree_pos(node), name=self.string(_tokens(node, "STRING")[0]))
            return self.fields(node)
        atom = self.atom(node)
        assert isinstance(atom, ast.String | ast.Number | ast.Word | ast.Placeholder)
        return atom


def _is_punct(node: Any, kind: str | None = None) -> bool:
    return isinstance(node, Token) and node.type in _PUNCT and (kind is None or node.type == kind)


def _tokens(tree: Tree, kind: str) -> list[Token]:
    return [c for c in tree.children if isinstance(c, Token) and c.type == kind]


def _subtrees(tree: Tree, data: str) -> list[Tree]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data == data]


def _subtree(tree: Tree, data: str) -> Tree:
    return _subtrees(tree, data)[0]


def _canonical_op(op: str) -> str:
    return {"≤": "<=", "≥": ">=", "≠": "!="}.get(op, op)


def _atom_text(atom: ast.Atom) -> str:
    if isinstance(atom, ast.Word | ast.Number | ast.Punct):
        return atom.text
    if isinstance(atom, ast.String):
        return atom.value
    if isinstance(atom, ast.Placeholder):
        return "{" + atom.name + "}"
    return ""


_COMMENT = re.compile(r'^((?:[^"#]|"(?:[^"\\\n]|\\.)*")*)(#.*)$')


def _comments(file: str, lines: list[str]) -> Iterator[ast.Comment]:
    """Comments with their positions (for `fmt`): '#' outside strings to the end of the line."""
    for number, line in enumerate(lines, start=1):
        if "#" not in line:
            continue
        m = _COMMENT.match(line)
        if m:
            column = len(m.group(1)) + 1
            yield ast.Comment(source=Source(file, number, column, line), width=len(m.group(2)),
                              text=m.group(2).rstrip(), own_line=not m.group(1).strip())
