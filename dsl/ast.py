"""The typed syntax tree of a spec file. Frozen; every node knows its file, line and column.

Statement bodies and quantity expressions are kept as flat atom sequences (words, numbers, strings,
placeholders, punctuation, field objects): the step registry matches statements against patterns, and
example values are spliced in for placeholders before anything is checked. ``{limit} + 0.6 A`` is
``(Placeholder("limit"), Punct("+"), Number("0.6"), Word("A"))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl.plan import Source


@dataclass(frozen=True, kw_only=True)
class Node:
    source: Source
    width: int = 1  # characters of the first line that belong to the node (for ^^^ under it)

    @property
    def line(self) -> int:
        return self.source.line

    @property
    def column(self) -> int:
        return self.source.column

    @property
    def file(self) -> str:
        return self.source.file


# ---- atoms -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Atom(Node):
    # Set on atoms spliced in for a placeholder: "limit = 6 A", for messages about that example.
    origin: str = ""


@dataclass(frozen=True, kw_only=True)
class Word(Atom):
    text: str


@dataclass(frozen=True, kw_only=True)
class Number(Atom):
    text: str

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def is_integer(self) -> bool:
        return self.text.isdigit()


@dataclass(frozen=True, kw_only=True)
class String(Atom):
    value: str  # without quotes, escapes resolved


@dataclass(frozen=True, kw_only=True)
class Placeholder(Atom):
    name: str


@dataclass(frozen=True, kw_only=True)
class Punct(Atom):
    text: str  # one of : , + - % ±


@dataclass(frozen=True, kw_only=True)
class Field(Node):
    key: str
    value: FieldValue


@dataclass(frozen=True, kw_only=True)
class Fields(Atom):
    """An OCPP payload subset: ``{eventType: "Updated", offline: true}``."""

    items: tuple[Field, ...]


@dataclass(frozen=True, kw_only=True)
class FieldList(Atom):
    items: tuple[FieldValue, ...]


FieldValue = String | Number | Word | Placeholder | Fields | FieldList
Atoms = tuple[Atom, ...]


# ---- expressions and conditions ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Expr(Node):
    """A quantity expression: ``16 A``, ``7.4 kW - 2 %``, ``{limit} + 0.6 A``."""

    atoms: Atoms


@dataclass(frozen=True, kw_only=True)
class SignalRef(Node):
    """A signal as written: ``analyzer current L1``, ``charger status evse 1``."""

    atoms: Atoms


@dataclass(frozen=True, kw_only=True)
class Compare(Node):
    signal: SignalRef
    op: str  # < <= > >= == !=
    bound: Expr


@dataclass(frozen=True, kw_only=True)
class StateIs(Node):
    signal: SignalRef
    states: tuple[Word, ...]


Condition = Compare | StateIs


# ---- statements --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ActionStmt(Node):
    """A statement resolved through the step registry: ``ev requests 32 A``."""

    atoms: Atoms


@dataclass(frozen=True, kw_only=True)
class Include(Node):
    """``include setup "plugged in" from "common/setup.spec"`` (no `from`: the same file)."""

    name: String
    path: String | None


@dataclass(frozen=True, kw_only=True)
class Measure(Node):
    window: String
    duration: Expr | None
    until: tuple[Word, ...]


@dataclass(frozen=True, kw_only=True)
class Repeat(Node):
    times: Number
    body: tuple[Stmt, ...]


@dataclass(frozen=True, kw_only=True)
class ExpectCondition(Node):
    """``expect C`` (mode "now"), ``expect within T: C``, ``expect for T: C``."""

    mode: str  # now | within | for
    duration: Expr | None
    condition: Condition


@dataclass(frozen=True, kw_only=True)
class ExpectAccuracy(Node):
    measured: SignalRef
    measured_window: String | None
    tolerance: Expr
    reference: SignalRef
    window: String | None


@dataclass(frozen=True, kw_only=True)
class ExpectMessage(Node):
    within: Expr | None
    action: Word
    fields: Fields | None


@dataclass(frozen=True, kw_only=True)
class ExpectInterval(Node):
    action: Word
    fields: Fields | None
    every: Expr
    tolerance: Expr
    window: String | None


@dataclass(frozen=True, kw_only=True)
class ExpectReply(Node):
    fields: Fields | None
    error: Word | None


@dataclass(frozen=True, kw_only=True)
class ExpectNoMessage(Node):
    action: Word
    fields: Fields | None
    duration: Expr


@dataclass(frozen=True, kw_only=True)
class ExpectRule(Node):
    """``expect every TransactionEvent of the session: seqNo increases by 1``."""

    action: Word  # "message" means every message
    scope: tuple[Word, ...]
    rule: Atoms


@dataclass(frozen=True, kw_only=True)
class ExpectTrials(Node):
    at_least: Expr


Expect = (
    ExpectCondition | ExpectAccuracy | ExpectMessage | ExpectInterval | ExpectReply | ExpectNoMessage
    | ExpectRule | ExpectTrials
)
Stmt = ActionStmt | Include | Measure | Repeat | Expect


# ---- blocks ------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Examples(Node):
    """Example values: from ``for load in 6 A, 16 A`` (form "list") or an ``examples`` table."""

    form: str  # list | table
    names: tuple[Word, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True, kw_only=True)
class Row(Node):
    cells: tuple[Atoms, ...]


@dataclass(frozen=True, kw_only=True)
class Scenario(Node):
    title: String
    examples: Examples | None
    body: tuple[Stmt, ...]


@dataclass(frozen=True, kw_only=True)
class Block(Node):
    kind: str  # setup | teardown
    body: tuple[Stmt, ...]


@dataclass(frozen=True, kw_only=True)
class Version(Node):
    number: Number


@dataclass(frozen=True, kw_only=True)
class Refs(Node):
    refs: tuple[String, ...]


@dataclass(frozen=True, kw_only=True)
class Tags(Node):
    tags: tuple[Word, ...]


SpecItem = Version | Refs | Tags | Block | Scenario


@dataclass(frozen=True, kw_only=True)
class Spec(Node):
    title: String
    items: tuple[SpecItem, ...]

    @property
    def versions(self) -> tuple[Version, ...]:
        return tuple(i for i in self.items if isinstance(i, Version))

    @property
    def refs(self) -> tuple[String, ...]:
        return tuple(r for i in self.items if isinstance(i, Refs) for r in i.refs)

    @property
    def tags(self) -> tuple[Word, ...]:
        return tuple(t for i in self.items if isinstance(i, Tags) for t in i.tags)

    def blocks(self, kind: str) -> tuple[Block, ...]:
        return tuple(i for i in self.items if isinstance(i, Block) and i.kind == kind)

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        return tuple(i for i in self.items if isinstance(i, Scenario))


@dataclass(frozen=True, kw_only=True)
class NamedSetup(Node):
    """A top-level ``setup "name"`` block that specs include by name."""

    name: String
    body: tuple[Stmt, ...]


@dataclass(frozen=True, kw_only=True)
class Comment(Node):
    text: str  # from '#' to the end of the line
    own_line: bool  # a line of its own (else it trails a statement)


@dataclass(frozen=True, kw_only=True)
class SpecFile(Node):
    text: str  # the normalised source (\n line ends, no BOM)
    specs: tuple[Spec, ...]
    setups: tuple[NamedSetup, ...]
    comments: tuple[Comment, ...] = ()
    sha256: str = ""
    order: tuple[Spec | NamedSetup, ...] = field(default=())  # top-level items in file order

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")
