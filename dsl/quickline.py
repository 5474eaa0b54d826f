"""One statement line read without Lark: the common forms, to exactly the node the grammar's parse builds.

Collecting the OCTT pack cold is mostly parsing statement lines that occur once each (long field
objects: ``expect charger sends NotifyReport {reportData: [{component: {name: "AuthCtrlr"}, ...}]}``),
and Lark's lexer, LALR loop and tree builder cost ~0.2 ms per such line, plus ~45 ms to import Lark and
load its tables. This module reads the forms that make up the libraries — actions, ``expect [within T:]
charger sends ...``, ``expect charger replies ...``, ``remember ... as "x"`` — with one regular
expression and a small recursive descent, and builds the :mod:`dsl.ast` node :func:`dsl.parser.
parse_statement` gives (same nodes, positions and widths). Anything else (conditions, measurements,
comments, placeholders, an unexpected token) is None: the caller parses the line with Lark, which is also
where every syntax error is found and worded::

    node = read_statement("    csms sends Reset {type: \"OnIdle\"}")   # ast.ActionStmt, or None

It follows dsl/chargespec.lark's statement rules, keywords as its contextual lexer reads them (a word is a
keyword only where the grammar accepts that keyword). It is trusted only for the grammar it was written
against: when chargespec.lark changes (:data:`GRAMMAR_SHA256`), it answers None for every line until
someone checks it against the new grammar and updates the digest (tests/dsl/test_quickline.py compares
it with the Lark path on every statement in specs/, the docs and the tests, and on fuzzed lines).
"""

from __future__ import annotations

import functools
import hashlib
import re
from importlib import resources

import msgspec

from dsl import ast
from dsl.plan import Source
from dsl.screen import line_too_big

# sha256 of dsl/chargespec.lark this reader follows (see the module docstring).
GRAMMAR_SHA256 = "b15c619c9b50307bdc8996de68c2077aa4c1c51493c82dbdf0c6c5beb4d30602"

_WORD = r"[A-Za-z_\u00b5\u03a9][A-Za-z0-9_\u00b5\u03a9]*(?:[.\-][A-Za-z_\u00b5\u03a9][A-Za-z0-9_\u00b5\u03a9]*)*"
# The tokens, by kind. A word first (most tokens are words), read whole (atomic) and never followed by `[`: a
# word before `[` is either a VARIABLE (a later alternative) or not a line read here (E, every other failing).
_TOKEN_KINDS = (
    ("W", rf"(?>{_WORD})(?!\[)"),
    ("S", r'"(?:[^"\\\n]|\\.)*"'),
    ("N", r"[0-9]+(?:\.[0-9]+)?"),
    ("V", r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\[[A-Za-z0-9_.\-]+\]"),
    ("P", r"\{[A-Za-z_][A-Za-z0-9_]*\}"),
    ("X", r"[{}\[\]:,%+\-\u00b1]"),
    ("O", r"<=|>=|==|!=|\u2264|\u2265|\u2260|<|>"),
)
# One token and its kind (the group that matched), for a token's text alone: only the word's lookahead looks
# past a token, and it fails at no token's end that was read as a token, so alone it reads as it did in place.
_TOKEN = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _TOKEN_KINDS))
# A line split: (spaces before, a token, or else the character that is not one: not a line read here).
_SPLIT = re.compile("( *)(?:(" + "|".join(pattern for _, pattern in _TOKEN_KINDS) + ")|([^ ]))")
_KIND = {"S": "STRING", "V": "VARIABLE", "W": "WORD", "N": "NUMBER", "P": "PLACEHOLDER", "O": "OP"}
_CANONICAL_OP = {"\u2264": "<=", "\u2265": ">=", "\u2260": "!="}
_PUNCT = {":": "COLON", ",": "COMMA", "+": "PLUS", "-": "MINUS", "%": "PERCENT", "\u00b1": "PLUSMINUS"}
# Tokens an action's (or a rule's, or a registry expectation's) atoms may be, besides a field object.
_ATOM_KINDS = frozenset({"WORD", "VARIABLE", "NUMBER", "STRING", "PLACEHOLDER", "COLON", "COMMA", "PLUS", "MINUS",
                         "PERCENT", "PLUSMINUS"})
_ESCAPE = re.compile(r"\\(.)")
# First words that start a statement other than an action (the grammar's keywords at a statement's start).
_STATEMENT_KEYWORDS = frozenset({"expect", "measure", "include", "repeat", "when", "remember"})
# Keywords after a quantity's number or unit: LALR shares the states inside every expression, so the
# contextual lexer reads these as keywords there whatever the statement (a unit is never one of them).
_AFTER_EXPR = frozenset({"of", "after", "during"})
# Every keyword of the grammar.
_KEYWORDS = frozenset({
    "spec", "version", "refs", "tags", "setup", "teardown", "scenario", "for", "in", "examples", "include",
    "from", "measure", "until", "repeat", "times", "remember", "of", "the", "as", "expect", "within", "then",
    "every", "during", "charger", "sends", "replies", "error", "no", "at", "least", "most", "trials", "pass",
    "or", "exactly", "after", "over", "is", "not", "remembered", "when", "variable", "holds", "does", "hold",
    "absent"})
# The keywords that may follow a field object somewhere in the grammar. The state after a field object's
# closing brace is shared by every statement with one, so there the contextual lexer reads these as
# keywords even in an action (where they are then an error): such an action is left to Lark. (Measured
# against Lark for every keyword of _KEYWORDS: tests/dsl/test_quickline.py.)
_AFTER_FIELDS = frozenset({"as", "every", "for", "of", "or", "within"})
# Keywords after a signal's words (its states are shared too): they end the signal.
_AFTER_SIGNAL = frozenset({"is", "over", "within"})


class _No(Exception):
    """Not a form read here, or not a valid line: the Lark path decides."""


@functools.cache
def enabled() -> bool:
    """The grammar is the one this reader follows."""
    grammar = resources.files("dsl").joinpath("chargespec.lark").read_bytes()
    return hashlib.sha256(grammar).hexdigest() == GRAMMAR_SHA256


def read_statement(line: str, file: str = "", number: int = 1) -> ast.Stmt | None:
    """The node of one statement line (indentation included) as line 1 of no file (or as line `number`
    of `file`), or None."""
    body = line.lstrip(" ")
    if not body or "#" in body or "+-" in body or not enabled() or line_too_big(body):
        return None  # (an over-long or over-deep line is refused by the whole-file parse: never read here)
    try:
        return _Reader(line, len(line) - len(body), body, file, number).statement()
    except _No:
        return None


class _Tok(msgspec.Struct, gc=False):
    """A token: 0-based start, end exclusive. (A Struct: made in C, ~15,000 of them in a cold collection.)"""

    kind: str
    value: str
    start: int
    end: int


_KIND_OF: dict[str, str] = {}  # a token's text -> its kind (token texts repeat: `expect`, `:`, `{`, `Accepted`)


def _kind(text: str) -> str:
    first = text[0]
    if first == '"':  # (the commonest new token: a string, most of them met once; only S starts so)
        return "STRING"
    if first in "0123456789":  # (only N starts with a digit)
        return "NUMBER"
    m = _TOKEN.fullmatch(text)
    assert m is not None and m.lastgroup is not None  # (the text was read as a token)
    kind = _KIND.get(m.lastgroup) or _PUNCT.get(text) or text  # braces and brackets: themselves
    if len(_KIND_OF) < 100_000:
        _KIND_OF[text] = kind
    return kind


def _tokens(body: str) -> list[_Tok]:
    out: list[_Tok] = []
    append = out.append
    kind_of = _KIND_OF.get
    end = 0
    # (only spaces are ever skipped: any other character is a token or not a line read here; findall's
    # tuples, positions counted along, cost less than a match object per token)
    for spaces, text, other in _SPLIT.findall(body):
        if other:
            raise _No
        start = end + len(spaces)
        end = start + len(text)
        append(_Tok(kind_of(text) or _kind(text), text, start, end))
    return out


def _width(start: int, end: int) -> int:
    return end - start if end > start else 1


class _Reader:
    def __init__(self, line: str, indent: int, body: str, file: str = "", number: int = 1) -> None:
        self.line, self.indent, self.body, self.file, self.number = line, indent, body, file, number
        self.toks = _tokens(body)
        self.i = 0

    # -- tokens --

    def peek(self, k: int = 0) -> _Tok | None:
        try:
            return self.toks[self.i + k]
        except IndexError:  # (the end of the line: once a line, cheaper than a bounds check each time)
            return None

    def next(self, kind: str | None = None) -> _Tok:
        try:
            tok = self.toks[self.i]
        except IndexError:
            raise _No from None
        if kind is not None and tok.kind != kind:
            raise _No
        self.i += 1
        return tok

    def keyword(self, word: str) -> _Tok:
        """A keyword where the grammar accepts it: the exact word (a longer word is left to Lark)."""
        tok = self.next("WORD")
        if tok.value != word:
            raise _No
        return tok

    def at_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "WORD" and tok.value == word

    def end(self) -> None:
        if self.peek() is not None:
            raise _No

    # -- positions (as dsl.parser's builder gives them for a line parsed alone; a node is made with
    # `source=self.source(start), width=_width(start, end)`: a dict to unpack would cost twice the time,
    # ~11,000 nodes in a cold collection of specs/) --

    def source(self, start: int) -> Source:
        return Source(self.file, self.number, self.indent + start + 1, self.line)

    def whole(self) -> dict[str, object]:
        """A statement's own position: its first token to the end of the line (the newline is its last)."""
        return {"source": self.source(0), "width": max(1, len(self.body))}

    # -- statements --

    def statement(self) -> ast.Stmt:
        first = self.peek()
        if first is None or first.kind != "WORD":
            raise _No
        if first.value not in _STATEMENT_KEYWORDS:
            return self.action()
        if first.value == "remember":
            return self.remember()
        if first.value == "expect":
            return self.expect()
        if first.value == "measure":
            return self.measure()
        raise _No

    def measure(self) -> ast.Measure:
        self.keyword("measure")
        window = self.string(self.next("STRING"))
        duration, until = None, ()
        if self.at_word("for"):
            self.next()
            duration = self.expr()
        elif self.at_word("until"):
            self.next()
            until = tuple(self.word(self.next("WORD")) for _ in range(len(self.toks) - self.i))
            if not until:
                raise _No
        self.end()
        return ast.Measure(**self.whole(), window=window, duration=duration, until=until)  # type: ignore[arg-type]

    def action(self) -> ast.ActionStmt:
        first = self.atom(self.next("WORD"))
        return ast.ActionStmt(**self.whole(), atoms=(first, *self.atoms()))  # type: ignore[arg-type]

    def atoms(self) -> list[ast.Atom]:
        """`_atom*` to the end of the line (an action's, a rule's, a registry expectation's)."""
        toks, n = self.toks, len(self.toks)
        atoms: list[ast.Atom] = []
        while self.i < n:
            tok = toks[self.i]
            kind = tok.kind
            if kind == "{":
                atoms.append(self.fields())
                if self.i < n:
                    after = toks[self.i]
                    if after.kind == "WORD" and after.value in _AFTER_FIELDS:
                        raise _No
            elif kind in _ATOM_KINDS:
                self.i += 1
                atoms.append(self.atom(tok))
            else:
                raise _No
        return atoms

    def remember(self) -> ast.Remember:
        self.keyword("remember")
        path = self.word(self.next("WORD"))
        self.keyword("of")
        self.keyword("the")
        which = self.word(self.next("WORD"))
        message = self.message()
        self.keyword("as")
        name = self.string(self.next("STRING"))
        place = self.place()
        self.end()
        return ast.Remember(**self.whole(), path=path, which=which, message=message, name=name,  # type: ignore[arg-type]
                            place=place)

    def expect(self) -> ast.Stmt:
        self.keyword("expect")
        mode, within = "now", None
        hold = None
        if self.at_word("within") or self.at_word("for"):
            mode = self.next().value
            within = self.expr()
            tok = self.peek()
            if mode == "within" and tok is not None and tok.kind == "COMMA":  # the settle form
                self.next()
                self.keyword("then")
                self.keyword("for")
                mode, hold = "settle", self.expr()
            self.next("COLON")
        elif self.at_word("no"):
            return self.no_message()
        elif self.at_word("every"):
            return self.rule()
        elif self.at_word("at"):
            return self.trials()
        if self.at_word("charger") and mode in ("now", "within"):
            nxt = self.peek(1)
            if nxt is not None and nxt.kind == "WORD" and nxt.value == "sends":
                self.next()
                node: ast.Stmt = self.sends(within, interval=mode == "now")
                self.end()
                return node
            if nxt is not None and nxt.kind == "WORD" and nxt.value == "replies" and within is None:
                self.next()
                node = self.replies()
                self.end()
                return node
            if nxt is not None and nxt.kind == "WORD" and nxt.value == "composite" and mode == "now":
                return self.expect_step()
        if mode == "now":
            first = self.peek()
            signal = self.signal()
            if self.at_word("over") or self.at_word("within"):
                return self.accuracy(signal)
            self.i -= len(signal.atoms)
            assert self.peek() is first
        condition = self.condition()
        self.end()
        return ast.ExpectCondition(**self.whole(), mode=mode, duration=within, condition=condition,  # type: ignore[arg-type]
                                   hold=hold)

    def expect_step(self) -> ast.ActionStmt:
        """`expect charger composite _atom*`: an expectation of the step registry, read as an action whose
        first words are `expect charger composite` (as dsl.parser's builder makes it)."""
        words = [self.word(self.toks[0]), self.word(self.next("WORD")), self.word(self.next("WORD"))]
        return ast.ActionStmt(**self.whole(), atoms=(*words, *self.atoms()))  # type: ignore[arg-type]

    def rule(self) -> ast.ExpectRule:
        """`expect every WORD fields? ("of" WORD+)? : _atom+`."""
        self.keyword("every")
        action = self.word(self.next("WORD"))
        tok = self.peek()
        fields = self.fields() if tok is not None and tok.kind == "{" else None
        scope: list[ast.Word] = []
        if self.at_word("of"):
            self.next()
            while self.peek() is not None and self.peek().kind == "WORD":  # type: ignore[union-attr]
                scope.append(self.word(self.next()))
            if not scope:
                raise _No
        self.next("COLON")
        rule = self.atoms()
        if not rule:
            raise _No
        return ast.ExpectRule(**self.whole(), action=action, scope=tuple(scope), rule=tuple(rule),  # type: ignore[arg-type]
                              fields=fields)

    def trials(self) -> ast.ExpectTrials:
        """`expect at least expr of trials pass`."""
        self.keyword("at")
        self.keyword("least")
        at_least = self.expr()
        for word in ("of", "trials", "pass"):
            self.keyword(word)
        self.end()
        return ast.ExpectTrials(**self.whole(), at_least=at_least)  # type: ignore[arg-type]

    def accuracy(self, measured: ast.SignalRef) -> ast.ExpectAccuracy:
        """`expect signal window? within expr of signal window?` (the measured signal read already)."""
        measured_window = self.window()
        self.keyword("within")
        tolerance = self.expr()
        self.keyword("of")
        reference = self.signal()
        window = self.window()
        self.end()
        return ast.ExpectAccuracy(**self.whole(), measured=measured, measured_window=measured_window,  # type: ignore[arg-type]
                                  tolerance=tolerance, reference=reference, window=window)

    def window(self) -> ast.String | None:
        if not self.at_word("over"):
            return None
        self.next()
        return self.string(self.next("STRING"))

    def signal(self) -> ast.SignalRef:
        """`(WORD | CHARGER) (WORD | NUMBER | PLACEHOLDER)*`, ended by a keyword that may follow a signal."""
        first = self.next("WORD")
        if first.value in ("within", "for", "no", "every", "at"):
            raise _No
        atoms = [self.word(first)]
        while True:
            tok = self.peek()
            if tok is None or tok.kind not in ("WORD", "NUMBER", "PLACEHOLDER") or tok.value in _AFTER_SIGNAL:
                break
            atoms.append(self.atom(self.next()))
        return ast.SignalRef(
                source=self.source(first.start),
                width=_width(first.start, self.toks[self.i - 1].end), atoms=tuple(atoms))

    def no_message(self) -> ast.ExpectNoMessage:
        self.keyword("no")
        action = self.word(self.next("WORD"))
        tok = self.peek()
        fields = self.fields() if tok is not None and tok.kind == "{" else None
        self.keyword("for")
        duration = self.expr()
        place = self.place()
        self.end()
        return ast.ExpectNoMessage(**self.whole(), action=action, fields=fields, duration=duration,  # type: ignore[arg-type]
                                   place=place)

    def condition(self) -> ast.Condition:
        """`signal OP expr` or `signal "is" WORD ("or" WORD)*`; anything else (accuracy) is left to Lark."""
        first = self.peek()
        signal = self.signal()  # (None left: _No)
        assert first is not None
        tok = self.next()
        if tok.kind == "OP":
            bound = self.expr()
            return ast.Compare(
                    source=self.source(first.start),
                    width=_width(first.start, self.toks[self.i - 1].end), signal=signal,
                               op=_CANONICAL_OP.get(tok.value, tok.value), bound=bound)
        if tok.kind == "WORD" and tok.value == "is":
            states = [self.word(self.next("WORD"))]
            while self.at_word("or"):
                self.next()
                states.append(self.word(self.next("WORD")))
            return ast.StateIs(
                    source=self.source(first.start),
                    width=_width(first.start, self.toks[self.i - 1].end), signal=signal,
                               states=tuple(states))
        raise _No

    def replies(self) -> ast.ExpectReply:
        self.keyword("replies")
        tok = self.peek()
        if tok is not None and tok.kind == "{":
            return ast.ExpectReply(**self.whole(), fields=self.fields(), error=None)  # type: ignore[arg-type]
        self.keyword("error")
        error = self.word(self.next("WORD"))
        return ast.ExpectReply(**self.whole(), fields=None, error=error)  # type: ignore[arg-type]

    def sends(self, within: ast.Expr | None, *, interval: bool = False) -> ast.ExpectMessage | ast.ExpectInterval:
        self.keyword("sends")
        count = None
        if self.at_word("exactly") or self.at_word("at"):
            first = self.next()
            words = [first.value]
            if first.value == "at":
                kind = self.next("WORD")
                if kind.value not in ("least", "most"):
                    raise _No
                words.append(kind.value)
            number = self.next("NUMBER")
            count = ast.MessageCount(
                    source=self.source(first.start), width=_width(first.start, number.end), kind=" ".join(words),
                                     number=ast.Number(
                                             source=self.source(number.start),
                                             width=_width(number.start, number.end), text=number.value))
        messages = [self.message()]
        if self.at_word("every"):  # `expect charger sends A {…} every T ± T [during "w"]`
            if not interval or count is not None:
                raise _No
            return self.interval(messages[0])
        while self.at_word("or"):
            self.next()
            messages.append(self.message())
        after = twice = None
        if self.at_word("within"):
            start = self.next().start
            expr = self.expr()
            if self.at_word("after"):
                self.next()
                message = self.message()
                after = ast.After(
                        source=self.source(start),
                        width=_width(start, self.toks[self.i - 1].end), within=expr, message=message)
            elif within is not None:
                twice = expr
            else:
                within = expr
        first, *others = messages
        place = self.place()
        return ast.ExpectMessage(**self.whole(), within=within, action=first.action, fields=first.fields,  # type: ignore[arg-type]
                                 others=tuple(others), count=count, after=after, within_twice=twice, place=place)

    def place(self) -> ast.Atoms:
        """A message line's trailing `on station NAME` (a word or a string), or () at the line's end; any
        other words there (a near miss, a syntax error) are left to Lark and dsl/stations.py."""
        if self.peek() is None:
            return ()
        toks = self.toks[self.i:]
        if (len(toks) != 3 or toks[0].value != "on" or toks[1].value != "station"
                or toks[2].kind not in ("WORD", "STRING")):
            raise _No
        return tuple(self.atom(self.next()) for _ in range(3))

    def interval(self, message: ast.MessageRef) -> ast.ExpectInterval:
        self.keyword("every")
        every = self.expr()
        self.next("PLUSMINUS")
        tolerance = self.expr()
        window = None
        if self.at_word("during"):
            self.next()
            window = self.string(self.next("STRING"))
        place = self.place()
        return ast.ExpectInterval(**self.whole(), action=message.action, fields=message.fields, every=every,  # type: ignore[arg-type]
                                  tolerance=tolerance, window=window, place=place)

    # -- parts --

    def message(self) -> ast.MessageRef:
        action = self.next("WORD")
        fields = None
        tok = self.peek()
        if tok is not None and tok.kind == "{":
            fields = self.fields()
        end = self.toks[self.i - 1].end
        return ast.MessageRef(
                source=self.source(action.start),
                width=_width(action.start, end), action=self.word(action), fields=fields)

    def expr(self) -> ast.Expr:
        """`_term ((PLUS | MINUS) _term)*`, a term a NUMBER with an optional unit (a word that is not a
        keyword there, or %)."""
        atoms: list[ast.Atom] = []
        start = self.peek().start if self.peek() is not None else 0  # type: ignore[union-attr]
        while True:
            term = self.next()
            if term.kind not in ("NUMBER", "PLACEHOLDER"):
                raise _No
            atoms.append(self.atom(term))
            tok = self.peek()
            if term.kind == "NUMBER" and tok is not None and (
                    tok.kind == "PERCENT" or (tok.kind == "WORD" and tok.value not in _AFTER_EXPR)):
                atoms.append(self.atom(self.next()))
                tok = self.peek()
            if tok is None or tok.kind not in ("PLUS", "MINUS"):
                break
            atoms.append(self.atom(self.next()))
        return ast.Expr(source=self.source(start), width=_width(start, self.toks[self.i - 1].end), atoms=tuple(atoms))

    # -- field objects: most of a long line's tokens, so read with the token list and position in locals (a
    # method call per token, peek and next and source, cost as much as the rest of the reading) --

    def fields(self) -> ast.Fields:
        toks, i = self.toks, self.i
        file, number, base, line = self.file, self.number, self.indent + 1, self.line
        try:
            open_ = toks[i]
            if open_.kind != "{":
                raise _No
            i += 1
            items: list[ast.Field] = []
            if toks[i].kind != "}":
                while True:
                    key = toks[i]
                    if key.kind == "WORD":
                        name = key.value
                    elif key.kind == "STRING":
                        name = _ESCAPE.sub(r"\1", key.value[1:-1])
                    else:
                        raise _No
                    if toks[i + 1].kind != "COLON":
                        raise _No
                    self.i = i + 2
                    value = self.fvalue()
                    i = self.i
                    items.append(ast.Field(source=Source(file, number, base + key.start, line),
                                           width=_width(key.start, toks[i - 1].end), key=name, value=value))
                    if toks[i].kind == "COMMA":
                        i += 1
                        continue
                    break
            close = toks[i]
        except IndexError:  # (the line ended inside the object)
            raise _No from None
        if close.kind != "}":
            raise _No
        self.i = i + 1
        return ast.Fields(source=Source(file, number, base + open_.start, line), width=_width(open_.start, close.end),
                          items=tuple(items))

    def field_list(self) -> ast.FieldList:
        toks, i = self.toks, self.i
        try:
            open_ = toks[i]
            if open_.kind != "[":
                raise _No
            i += 1
            items: list[ast.FieldValue] = []
            if toks[i].kind != "]":
                while True:
                    self.i = i
                    items.append(self.fvalue())
                    i = self.i
                    if toks[i].kind == "COMMA":
                        i += 1
                        continue
                    break
            close = toks[i]
        except IndexError:
            raise _No from None
        if close.kind != "]":
            raise _No
        self.i = i + 1
        return ast.FieldList(source=self.source(open_.start), width=_width(open_.start, close.end), items=tuple(items))

    def fvalue(self) -> ast.FieldValue:
        """`_fone ("or" _fone)*`: one value, or alternatives."""
        toks = self.toks
        first = self.fone()
        i = self.i
        after = toks[i] if i < len(toks) else None
        if after is None or after.value != "or" or after.kind != "WORD":
            return first
        items = [first]
        while after is not None and after.value == "or" and after.kind == "WORD":
            self.i = i + 1
            items.append(self.fone())
            i = self.i
            after = toks[i] if i < len(toks) else None
        start = first.source.column - self.indent - 1
        return ast.Alternatives(
                source=self.source(start), width=_width(start, toks[i - 1].end), items=tuple(items))

    def fone(self) -> ast.FieldValue:
        toks, i = self.toks, self.i
        if i >= len(toks):
            raise _No
        tok = toks[i]
        kind = tok.kind
        if kind == "STRING":  # (the commonest value: read here, as self.string reads it)
            self.i = i + 1
            value = tok.value[1:-1]
            if "\\" in value:
                value = _ESCAPE.sub(r"\1", value)
            return ast.String(source=Source(self.file, self.number, self.indent + tok.start + 1, self.line),
                              width=_width(tok.start, tok.end), value=value)
        if kind == "{":
            return self.fields()
        if kind == "[":
            return self.field_list()
        self.i = i + 1
        if kind == "NUMBER":
            return ast.Number(source=self.source(tok.start), width=_width(tok.start, tok.end), text=tok.value)
        if kind == "PLACEHOLDER":
            return ast.Placeholder(
                    source=self.source(tok.start), width=_width(tok.start, tok.end), name=tok.value[1:-1])
        if kind == "MINUS":
            number = self.next("NUMBER")
            return ast.Number(
                    source=self.source(tok.start), width=_width(tok.start, number.end), text="-" + number.value)
        if kind == "WORD":
            if tok.value == "not":
                value = self.fone()
                return ast.Negated(
                        source=self.source(tok.start), width=_width(tok.start, self.toks[self.i - 1].end), value=value)
            if tok.value == "remembered":
                name = self.next("STRING")
                return ast.Remembered(
                        source=self.source(tok.start), width=_width(tok.start, name.end), name=self.string(name))
            if tok.value == "or":  # (a word here; left to Lark rather than reasoned about)
                raise _No
            return self.word(tok)
        raise _No

    def atom(self, tok: _Tok) -> ast.Atom:
        kind = tok.kind
        if kind == "WORD" or kind == "VARIABLE":  # (most atoms: made here, as self.word makes them)
            return ast.Word(source=Source(self.file, self.number, self.indent + tok.start + 1, self.line),
                            width=_width(tok.start, tok.end), text=tok.value)
        if kind == "NUMBER":
            return ast.Number(source=self.source(tok.start), width=_width(tok.start, tok.end), text=tok.value)
        if kind == "STRING":
            return self.string(tok)
        if kind == "PLACEHOLDER":
            return ast.Placeholder(
                    source=self.source(tok.start), width=_width(tok.start, tok.end), name=tok.value[1:-1])
        if kind in ("COLON", "COMMA", "PLUS", "MINUS", "PERCENT", "PLUSMINUS"):
            return ast.Punct(source=self.source(tok.start), width=_width(tok.start, tok.end), text=tok.value)
        raise _No

    def word(self, tok: _Tok) -> ast.Word:
        if tok.kind not in ("WORD", "VARIABLE"):
            raise _No
        return ast.Word(source=self.source(tok.start), width=_width(tok.start, tok.end), text=tok.value)

    def string(self, tok: _Tok) -> ast.String:
        value = tok.value[1:-1]
        if "\\" in value:
            value = _ESCAPE.sub(r"\1", value)
        return ast.String(source=self.source(tok.start), width=_width(tok.start, tok.end), value=value)
