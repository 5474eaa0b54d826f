"""The typed syntax tree of a spec file. Frozen; every node knows its file, line and column.

Nodes are frozen ``msgspec.Struct`` records, like the plan's values (see :mod:`dsl.plan` for why).

Statement bodies and quantity expressions are kept as flat atom sequences (words, numbers, strings,
placeholders, punctuation, field objects): the step registry matches statements against patterns, and
example values are spliced in for placeholders before anything is checked. ``{limit} + 0.6 A`` is
``(Placeholder("limit"), Punct("+"), Number("0.6"), Word("A"))``.
"""

from __future__ import annotations

import msgspec

from dsl.plan import Source


class Node(msgspec.Struct, frozen=True, kw_only=True):
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


class Atom(Node, frozen=True, kw_only=True):
    # Set on atoms spliced in for a placeholder: "limit = 6 A", for messages about that example.
    origin: str = ""


class Word(Atom, frozen=True, kw_only=True):
    text: str


class Number(Atom, frozen=True, kw_only=True):
    text: str

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def is_integer(self) -> bool:
        return self.text.isdigit()


class String(Atom, frozen=True, kw_only=True):
    value: str  # without quotes, escapes resolved


class Placeholder(Atom, frozen=True, kw_only=True):
    name: str


class Punct(Atom, frozen=True, kw_only=True):
    text: str  # one of : , + - % ±


class Field(Node, frozen=True, kw_only=True):
    key: str
    value: FieldValue


class Fields(Atom, frozen=True, kw_only=True):
    """An OCPP payload subset: ``{eventType: "Updated", offline: true}``."""

    items: tuple[Field, ...]


class FieldList(Atom, frozen=True, kw_only=True):
    items: tuple[FieldValue, ...]


class Alternatives(Atom, frozen=True, kw_only=True):
    """A value to match written as choices: ``"Available" or "Occupied"``, ``absent or "NoError"``."""

    items: tuple[FieldValue, ...]


class Negated(Atom, frozen=True, kw_only=True):
    """``not 0``: the field is there and does not match the value."""

    value: FieldValue


class Remembered(Atom, frozen=True, kw_only=True):
    """``remembered "tx"``: the value a `remember … as "tx"` line kept."""

    name: String


FieldValue = String | Number | Word | Placeholder | Fields | FieldList | Alternatives | Negated | Remembered
Atoms = tuple[Atom, ...]


# ---- expressions and conditions ----------------------------------------------------------------------


class Expr(Node, frozen=True, kw_only=True):
    """A quantity expression: ``16 A``, ``7.4 kW - 2 %``, ``{limit} + 0.6 A``."""

    atoms: Atoms


class SignalRef(Node, frozen=True, kw_only=True):
    """A signal as written: ``analyzer current L1``, ``charger status evse 1``."""

    atoms: Atoms


class Compare(Node, frozen=True, kw_only=True):
    signal: SignalRef
    op: str  # < <= > >= == !=
    bound: Expr


class StateIs(Node, frozen=True, kw_only=True):
    signal: SignalRef
    states: tuple[Word, ...]


Condition = Compare | StateIs


# ---- statements --------------------------------------------------------------------------------------


class ActionStmt(Node, frozen=True, kw_only=True):
    """A statement resolved through the step registry: ``ev requests 32 A``."""

    atoms: Atoms


class Include(Node, frozen=True, kw_only=True):
    """``include setup "plugged in" from "common/setup.spec"`` (no `from`: the same file)."""

    name: String
    path: String | None


class Measure(Node, frozen=True, kw_only=True):
    window: String
    duration: Expr | None
    until: tuple[Word, ...]


class Repeat(Node, frozen=True, kw_only=True):
    times: Number
    body: tuple[Stmt, ...]


class When(Node, frozen=True, kw_only=True):
    """``when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":`` and its block: lines that apply only
    when the charger's value (GetVariables, when the line is reached) passes `test` against `value`."""

    variable: Word  # `Component.Variable` or `Component.Variable[instance]`, as written
    test: str  # is | is not | holds | does not hold
    value: String
    body: tuple[Stmt, ...]
    absent: bool = False  # `… or absent`: the block applies too when the charger does not have the variable


class ExpectCondition(Node, frozen=True, kw_only=True):
    """``expect C`` (mode "now"), ``expect within T: C``, ``expect for T: C``, and the settle form
    ``expect within T, then for H: C`` (mode "settle": `duration` is T, `hold` is H)."""

    mode: str  # now | within | for | settle
    duration: Expr | None
    condition: Condition
    hold: Expr | None = None


class ExpectAccuracy(Node, frozen=True, kw_only=True):
    measured: SignalRef
    measured_window: String | None
    tolerance: Expr
    reference: SignalRef
    window: String | None


class MessageRef(Node, frozen=True, kw_only=True):
    """A message to look for: ``TransactionEvent {eventType: "Started"}``."""

    action: Word
    fields: Fields | None


class MessageCount(Node, frozen=True, kw_only=True):
    """``exactly 1``, ``at least 2``, ``at most 3``."""

    kind: str  # exactly | at least | at most
    number: Number


class After(Node, frozen=True, kw_only=True):
    """``within 10 s after StatusNotification {…}``: the time from another message."""

    within: Expr
    message: MessageRef


class ExpectMessage(Node, frozen=True, kw_only=True):
    """``expect [within T:] charger sends [COUNT] A {…} [or B {…}]… [within D after C {…}]``: `action` and
    `fields` are the first message; `others` the alternatives after "or"."""

    within: Expr | None
    action: Word
    fields: Fields | None
    others: tuple[MessageRef, ...] = ()
    count: MessageCount | None = None
    after: After | None = None
    within_twice: Expr | None = None  # a trailing `within T` besides `expect within T:` (an error)
    place: Atoms = ()  # the words after the message: `on station right` (dsl/stations.py)


class ExpectInterval(Node, frozen=True, kw_only=True):
    action: Word
    fields: Fields | None
    every: Expr
    tolerance: Expr
    window: String | None
    place: Atoms = ()  # `… every 60 s ± 5 s on station right`


class ExpectReply(Node, frozen=True, kw_only=True):
    fields: Fields | None
    error: Word | None


class ExpectNoMessage(Node, frozen=True, kw_only=True):
    action: Word
    fields: Fields | None
    duration: Expr
    place: Atoms = ()  # `… for 10 s on station right`


class ExpectRule(Node, frozen=True, kw_only=True):
    """``expect every TransactionEvent of the session: seqNo increases by 1``."""

    action: Word  # "message" means every message
    scope: tuple[Word, ...]
    rule: Atoms
    fields: Fields | None = None  # `expect every TransactionEvent {eventType: "Updated"}: …` judges those only


class ExpectTrials(Node, frozen=True, kw_only=True):
    at_least: Expr


class Remember(Node, frozen=True, kw_only=True):
    """``remember transactionInfo.transactionId of the last TransactionEvent {…} as "tx"``."""

    path: Word
    which: Word  # first | last
    message: MessageRef
    name: String
    place: Atoms = ()  # `… as "tx" on station right`


Expect = (
    ExpectCondition | ExpectAccuracy | ExpectMessage | ExpectInterval | ExpectReply | ExpectNoMessage
    | ExpectRule | ExpectTrials
)
Stmt = ActionStmt | Include | Measure | Repeat | When | Remember | Expect


# ---- blocks ------------------------------------------------------------------------------------------


class Examples(Node, frozen=True, kw_only=True):
    """Example values: from ``for load in 6 A, 16 A`` (form "list") or an ``examples`` table."""

    form: str  # list | table
    names: tuple[Word, ...]
    rows: tuple[Row, ...]


class Row(Node, frozen=True, kw_only=True):
    cells: tuple[Atoms, ...]


class Scenario(Node, frozen=True, kw_only=True):
    title: String
    examples: Examples | None
    body: tuple[Stmt, ...]


class Block(Node, frozen=True, kw_only=True):
    kind: str  # setup | teardown
    body: tuple[Stmt, ...]


class Version(Node, frozen=True, kw_only=True):
    number: Number


class Refs(Node, frozen=True, kw_only=True):
    refs: tuple[String, ...]


class Tags(Node, frozen=True, kw_only=True):
    tags: tuple[Word, ...]


SpecItem = Version | Refs | Tags | Block | Scenario


class Spec(Node, frozen=True, kw_only=True):
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


class NamedSetup(Node, frozen=True, kw_only=True):
    """A top-level ``setup "name"`` block that specs include by name."""

    name: String
    body: tuple[Stmt, ...]


class Comment(Node, frozen=True, kw_only=True):
    text: str  # from '#' to the end of the line
    own_line: bool  # a line of its own (else it trails a statement)


class SpecFile(Node, frozen=True, kw_only=True):
    text: str  # the normalised source (\n line ends, no BOM)
    specs: tuple[Spec, ...]
    setups: tuple[NamedSetup, ...]
    comments: tuple[Comment, ...] = ()
    sha256: str = ""
    order: tuple[Spec | NamedSetup, ...] = ()  # top-level items in file order

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")
