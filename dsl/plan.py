"""The compiled plan: what the runner executes. Typed, frozen, every node with its source position.

The compiler turns a checked spec into one :class:`SpecPlan` per ``spec`` block, holding one
:class:`ScenarioPlan` per scenario instance (scenario x example row, placeholders substituted). The runner
turns each ScenarioPlan into one pytest item and executes ``setup + steps + teardown`` in order.

Values are canonical: quantities carry a float in the canonical unit of their dimension (see
:mod:`dsl.units`: A, V, W, Wh, s, Hz, ohm; percentages as fractions) and the text the spec wrote.

Steps and values are frozen ``msgspec.Struct`` records (typed, compared and hashed by value, pickled like
dataclasses): defining one costs ~15 µs instead of a dataclass's ~500 µs and making one ~0.1 µs instead of
~1.5 µs, which is what keeps collecting a large spec library near pytest's own speed
(bench/bench_collect.py). The two plan classes stay dataclasses: :mod:`dsl.lazy` fills their fields late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec


class Source(msgspec.Struct, frozen=True):
    """Where a node came from. Lines and columns are 1-based; `text` is the whole source line."""

    file: str
    line: int
    column: int
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Quantity(msgspec.Struct, frozen=True):
    """A physical quantity: `value` in the canonical unit of `dimension`; `text` as written."""

    value: float
    dimension: str  # current | voltage | power | energy | time | frequency | resistance | ratio | count
    text: str

    def __str__(self) -> str:
        return self.text


class Signal(msgspec.Struct, frozen=True):
    """A recorded signal a condition reads, e.g. `analyzer current L1`.

    `key` is the recorder's series name: ``analyzer.current.L1``, ``analyzer.power``, ``analyzer.energy``,
    ``charger.Current.Import.L1``, ``charger.Energy.Active.Import.Register``, ``charger.status.evse1``,
    ``ev.pwm_duty``, ``ev.offered_current``; another EVSE's is scoped (``analyzer.evse2.power``,
    ``charger.evse2.Power.Active.Import``), with `evse` set; `evse` is None where the spec named none (the
    station's first EVSE). ``station.power``, ``station.energy``: sums over the station's analyzers.
    """

    source: Literal["analyzer", "charger", "ev", "station"]
    key: str
    dimension: str  # as Quantity.dimension, or "state" for status signals
    text: str
    evse: int | None = None
    # The station a spec named (`... on station B`; dsl/stations.py), as written: id or alias. The key is
    # then ``@B.analyzer.power``; the runner maps ``@B.`` to where that station's samples are recorded.
    station: str | None = None


Op = Literal["<", "<=", ">", ">=", "==", "!="]


class Comparison(msgspec.Struct, frozen=True):
    signal: Signal
    op: Op
    bound: Quantity

    def __str__(self) -> str:
        return f"{self.signal.text} {self.op} {self.bound.text}"


class StateIs(msgspec.Struct, frozen=True):
    """`charger status evse 1 is Available`: a state signal equals one of `states`."""

    signal: Signal
    states: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.signal.text} is {' or '.join(self.states)}"


Condition = Comparison | StateIs


# ---- patterns in field objects ----------------------------------------------------------------------
#
# A field object to match (`expect charger sends A {…}`) holds JSON-like data (a value matches itself) and
# these patterns. A field object to send (`csms sends A {…}`) holds data only. runner.csms.expect.matches
# is the one function that gives them meaning.


class Present(msgspec.Struct, frozen=True):
    """`present`: the field is there, with any value."""

    def __str__(self) -> str:
        return "present"


class Absent(msgspec.Struct, frozen=True):
    """`absent`: the field is not there."""

    def __str__(self) -> str:
        return "absent"


class Not(msgspec.Struct, frozen=True):
    """`not V`: the field is there and does not match V (`not present` is absent)."""

    value: Any

    def __str__(self) -> str:
        return "not " + show(self.value)


class AnyOf(msgspec.Struct, frozen=True):
    """`V or W …`: the field matches one of the options (`absent` among them: it may be left out)."""

    options: tuple[Any, ...]

    def __str__(self) -> str:
        return " or ".join(show(o) for o in self.options)


class Remembered(msgspec.Struct, frozen=True):
    """`remembered "tx"`: the value an earlier `remember … as "tx"` line kept in this scenario."""

    name: str

    def __str__(self) -> str:
        return f'remembered "{self.name}"'


Pattern = Present | Absent | Not | AnyOf | Remembered
PATTERNS = (Present, Absent, Not, AnyOf, Remembered)


def show(value: Any) -> str:
    """A value or pattern as a spec writes it: `{connectorStatus: "Available" or "Occupied", evseId: 1}`."""
    if isinstance(value, PATTERNS):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value) if isinstance(value, float) else str(value)


def plain_variants(value: Any) -> list[Any]:
    """Plain data that together hold every value a pattern names: variant i takes the i-th option of each
    `V or W` (or its last), `not V` as V, and leaves `present`, `absent` and `remembered` out. For whoever
    reads the values a spec writes (runner.redact learns the secrets among them)."""
    def width(v: Any) -> int:
        if isinstance(v, AnyOf):
            return max([len(v.options), *map(width, v.options)])
        if isinstance(v, Not):
            return width(v.value)
        if isinstance(v, Mapping):
            return max([1, *map(width, v.values())])
        return max([1, *map(width, v)]) if isinstance(v, list | tuple) else 1

    def pick(v: Any, i: int) -> Any:
        if isinstance(v, AnyOf):
            return pick(v.options[min(i, len(v.options) - 1)], i)
        if isinstance(v, Not):
            return pick(v.value, i)
        if isinstance(v, Present | Absent | Remembered):
            return None
        if isinstance(v, Mapping):
            return {k: pick(x, i) for k, x in v.items()}
        return [pick(x, i) for x in v] if isinstance(v, list | tuple) else v

    return [pick(value, i) for i in range(width(value))]


def field_objects(step: Any) -> list[Mapping[str, Any]]:
    """Every field object a plan step matches messages against (its own, its alternatives', the
    reference message's of `within D after`, a remember line's)."""
    out = [step.fields] if isinstance(getattr(step, "fields", None), Mapping) else []
    out += [p.fields for p in getattr(step, "others", ())]
    after, message = getattr(step, "after", None), getattr(step, "message", None)
    out += [after.message.fields] if isinstance(after, After) else []
    out += [message.fields] if isinstance(message, MessagePattern) else []
    return out


class MessagePattern(msgspec.Struct, frozen=True):
    """A message to look for: `action` whose payload matches `fields`."""

    action: str
    fields: Mapping[str, Any]

    def __str__(self) -> str:
        return self.action + (" " + show(self.fields) if self.fields else "")


class MessageCount(msgspec.Struct, frozen=True):
    """`exactly N`, `at least N`, `at most N` matching messages."""

    kind: Literal["exactly", "at least", "at most"]
    n: int

    def __str__(self) -> str:
        return f"{self.kind} {self.n}"

    def allows(self, n: int) -> bool:
        return n == self.n if self.kind == "exactly" else n >= self.n if self.kind == "at least" else n <= self.n


class After(msgspec.Struct, frozen=True):
    """`within D after M`: the messages count from the first `message` since the previous action, for D."""

    within: Quantity
    message: MessagePattern


# ---- steps -----------------------------------------------------------------------------------------


class Action(msgspec.Struct, frozen=True):
    """A statement resolved to a registered step definition, e.g. ``ev requests 32 A``.

    `step` is the definition's name; `args` its typed parameters (Quantity, str, int, Mapping for OCPP
    field objects).
    """

    step: str
    args: Mapping[str, Any]
    source: Source
    text: str
    station: str | None = None  # `... on station B` (dsl/stations.py): id or alias; None: the scenario's station


class Measure(msgspec.Struct, frozen=True):
    """Open the named measurement window; it closes after `duration`, or when `until` happens.

    `until` is an event name (``session ends``); with neither, the window stays open to the scenario end.
    Runs the duration out (blocking) when `duration` is given and `until` is None.
    """

    window: str
    duration: Quantity | None
    until: str | None
    source: Source
    text: str


class ExpectNow(msgspec.Struct, frozen=True):
    condition: Condition
    source: Source
    text: str


class ExpectWithin(msgspec.Struct, frozen=True):
    """The first time `condition` holds, within `duration`; the time-to-comply is recorded."""

    duration: Quantity
    condition: Condition
    source: Source
    text: str


class ExpectSettle(msgspec.Struct, frozen=True):
    """`expect within T, then for H: C`: `condition` holds without a break for `hold`, on a run of samples
    that begins no later than `within` after the previous action statement began (the runner's anchor,
    see runner.judge.anchor). The time to settle (the run's start after the anchor) is recorded."""

    within: Quantity
    hold: Quantity
    condition: Condition
    source: Source
    text: str


class ExpectFor(msgspec.Struct, frozen=True):
    """`condition` holds at every sample for `duration`; fails at the first violation."""

    duration: Quantity
    condition: Condition
    source: Source
    text: str


class ExpectAccuracy(msgspec.Struct, frozen=True):
    """`measured within tolerance of reference [over window]`.

    `tolerance` is a ratio (``2 %`` -> 0.02, relative to the reference) or a quantity of the signals'
    dimension (absolute). With a window, both signals are compared as their change over the window
    (energy registers) ... for non-cumulative signals, as their mean over it.
    """

    measured: Signal
    reference: Signal
    tolerance: Quantity
    window: str | None
    measured_window: str | None
    source: Source
    text: str


class ExpectMessage(msgspec.Struct, frozen=True):
    """The charger sends `action` whose payload contains `fields` (nested subset), within `within`; or one
    of `others` (`A {…} or B {…}`). With `count`, the number of matching messages is judged; with `after`,
    the messages count from another message on, for a time."""

    action: str
    fields: Mapping[str, Any]
    within: Quantity | None
    source: Source
    text: str
    others: tuple[MessagePattern, ...] = ()
    count: MessageCount | None = None
    after: After | None = None
    station: str | None = None  # `… on station B`: B's messages are judged (id or alias); None: the scenario's

    @property
    def patterns(self) -> tuple[MessagePattern, ...]:
        return (MessagePattern(self.action, self.fields), *self.others)


class ExpectNoMessage(msgspec.Struct, frozen=True):
    """The charger sends no `action` (optionally matching `fields`) for `duration`."""

    action: str
    fields: Mapping[str, Any]
    duration: Quantity
    source: Source
    text: str
    station: str | None = None  # `… on station B`: B's messages are judged (id or alias); None: the scenario's


class ExpectReply(msgspec.Struct, frozen=True):
    """The charger's reply to the harness's last call contains `fields`; `error` expects a CALLERROR code."""

    fields: Mapping[str, Any]
    error: str | None
    source: Source
    text: str


class ExpectInterval(msgspec.Struct, frozen=True):
    """The charger sends `action` (those whose payload contains `fields`) every `every` +- `tolerance`
    during `window` (or the whole scenario), counted per EVSE (per transaction for TransactionEvent)."""

    action: str
    every: Quantity
    tolerance: Quantity
    window: str | None
    source: Source
    text: str
    fields: Mapping[str, Any] = msgspec.field(default_factory=dict)
    station: str | None = None  # `… on station B`: B's messages are judged (id or alias); None: the scenario's


class ExpectRule(msgspec.Struct, frozen=True):
    """A rule over the whole trace, e.g. rule="seqno_increments" over `action` events of the session."""

    rule: str  # seqno_increments | offline_flagged | timestamps_within | schema_valid
    action: str | None
    params: Mapping[str, Any]
    source: Source
    text: str
    fields: Mapping[str, Any] = msgspec.field(default_factory=dict)  # only messages containing these
    station: str | None = None  # `…: RULE on station B`: over B's messages (id or alias); None: the scenario's


class Remember(msgspec.Struct, frozen=True):
    """Keep the field at `path` of the `which` (first | last) message matching `message` in this scenario
    so far, as `name`, for `remembered "name"` in later field objects."""

    path: tuple[str, ...]
    which: Literal["first", "last"]
    message: MessagePattern
    name: str
    source: Source
    text: str
    station: str | None = None  # `… on station B`: read from B's messages (id or alias); None: the scenario's


class Repeat(msgspec.Struct, frozen=True):
    times: int
    body: tuple[Step, ...]
    source: Source
    text: str


class When(msgspec.Struct, frozen=True):
    """`when charger variable C.V[i] is "v":` and its block: `body` runs only when the charger's value of
    `variable`, read by GetVariables when the line is reached, passes `test` (is | is not | holds | does not
    hold) against `value`. The runner records which way it went and why (runner/conditions.py)."""

    variable: str  # `Component.Variable` or `Component.Variable[instance]`
    test: Literal["is", "is not", "holds", "does not hold"]
    value: str
    body: tuple[Step, ...]
    source: Source
    text: str
    or_absent: bool = False  # `… or absent`: `body` runs too when the charger does not have the variable


class ExpectTrials(msgspec.Struct, frozen=True):
    """`expect at least P % of trials pass`, judged over the preceding `repeat` block."""

    at_least: Quantity  # ratio
    source: Source
    text: str


Expectation = (
    ExpectNow | ExpectWithin | ExpectSettle | ExpectFor | ExpectAccuracy | ExpectMessage | ExpectNoMessage | ExpectReply
    | ExpectInterval | ExpectRule | ExpectTrials | Remember
)
Step = Action | Measure | Repeat | When | Expectation


# ---- plans -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioPlan:
    """One runnable scenario instance: a pytest item.

    `name` is the readable instance id (``limit 6 A``); `params` the example values as written.
    """

    spec_title: str
    name: str
    params: Mapping[str, str]
    setup: tuple[Step, ...]
    steps: tuple[Step, ...]
    teardown: tuple[Step, ...]
    source: Source
    refs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpecPlan:
    title: str
    file: str
    version: str
    refs: tuple[str, ...]
    tags: tuple[str, ...]
    scenarios: tuple[ScenarioPlan, ...]
    source: Source
    excerpt: str = ""  # the spec's text, for evidence
    sha256: str = field(default="")
