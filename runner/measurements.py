"""Structured measurements: one record per judged expectation, passed, failed or broken (OpenHTF-style).

A :class:`Measurement` says what a verdict rests on, in figures a report can tabulate: the spec line and
the criterion as written; what was observed (value, unit, when); the limit(s) it was held against; the
signed margin (positive: inside the limit; negative: by how much it was missed), in the unit and as a
percentage of the limit; the time to comply or settle and the time allowed; the window judged (scenario
time and UTC wall time); and the verdict with its message.

The judge (:mod:`runner.judge`) fills a :class:`Draft` as it learns each figure and turns it into a
frozen record however the judgement ends, so a failed or broken expectation keeps what was known when it
ended. :func:`write` puts a scenario's records into its evidence folder (``measurements.json`` and the
same as a CSV table for Allure); the plugin collects them per run into ``verdicts.json``
(:mod:`runner.verdicts`).

Numbers are in the canonical unit of their dimension (A, V, W, Wh, s, Hz, Ω) except ratios, which are
given in % (a 2 % tolerance is 2.0 "%", not 0.02): a record is read by people and by report code alike.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from dsl.plan import Comparison, Condition, Quantity, Signal, StateIs
from runner import units

Verdict = Literal["passed", "failed", "broken"]
FILE = "measurements.json"
TABLE = "measurements.csv"

# The unit a record gives each dimension's numbers in (ratios are scaled to %, see RATIO_SCALE).
UNITS: dict[str, str] = {
    "current": "A", "voltage": "V", "power": "W", "energy": "Wh", "time": "s", "frequency": "Hz",
    "resistance": "Ω", "ratio": "%", "count": "", "state": "",
}
RATIO_SCALE = 100.0


def unit_of(dimension: str) -> str:
    return UNITS.get(dimension, "")


def in_unit(value: Any, dimension: str) -> Any:
    """A canonical value in the record's unit for its dimension (a ratio as %); non-numbers unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; the text says "NaN"
    return value * RATIO_SCALE if dimension == "ratio" else value


@dataclass(frozen=True)
class Reading:
    """A value with its unit: `value` in `unit` (numbers) or as reported (states, message fields)."""

    name: str  # what was read: "analyzer current L1", "error", "StatusNotification"
    value: float | int | str | bool | None
    unit: str
    text: str  # as a person reads it: "15.2 A", "+3.01 %", "Charging"
    at_s: float | None = None  # scenario time of the sample or message, when it has one


@dataclass(frozen=True)
class Limit:
    """A bound the criterion set: `op` and `value` in `unit`; `text` as the spec wrote it."""

    op: str  # < <= > >= == != | is | at least | at most | exactly | within ± | matches | absent
    value: float | int | str | bool | None
    unit: str
    text: str


@dataclass(frozen=True)
class Margin:
    """How far inside the limit the observed value was (negative: outside, by that much)."""

    value: float
    unit: str
    percent_of_limit: float | None  # margin / |limit| x 100; None where the limit is 0 or not a number


@dataclass(frozen=True)
class Timing:
    """The time the charger took, against the time allowed: to comply, to settle, or for a message."""

    what: Literal["time to comply", "time to settle", "time to arrive"]
    seconds: float | None  # None: it never did within the window
    allowed_s: float | None
    unit: str = "s"


@dataclass(frozen=True)
class Span:
    """A stretch of the scenario: seconds since its start and the same instants as UTC wall time (on a
    twin, the twin's clock: bench time, not the time of day the run took place)."""

    start_s: float
    end_s: float
    start_wall: str
    end_wall: str


@dataclass(frozen=True)
class Measurement:
    """One judged expectation. Its verdict: passed (the criterion was met, measured), failed (the charger
    missed it: `observed` and `limits` say by what), broken (the bench could not judge: `message` says why,
    the other fields hold what was known before it stopped)."""

    spec: str  # the spec file as collected
    line: int
    criterion: str  # the line as written
    # now | within | for | settle | accuracy | message | count | no message | reply | interval | rule | trials
    # | remember; "step" for a statement that failed or broke (not an expectation, but the verdict's line)
    kind: str
    subject: str  # the signal or message the criterion is about
    verdict: Verdict
    message: str  # the failure or bench fault; for a pass, the figures in words
    key: str | None = None  # the recorder's series for a signal
    observed: Reading | None = None
    limits: tuple[Limit, ...] = ()
    margin: Margin | None = None
    timing: Timing | None = None
    window: Span | None = None  # the span the criterion judged
    hold: Span | None = None  # a settle's hold, where it began
    figures: tuple[Reading, ...] = ()  # further values the verdict used (the two sides of an accuracy)
    samples: int | None = None  # how many samples or messages the verdict rests on
    phase: str = "steps"  # setup | steps | teardown
    trial: int | None = None  # within a `repeat` block: which trial

    def to_json(self) -> dict[str, Any]:
        return _clean(asdict(self))


def _clean(obj: Any) -> Any:
    """JSON-ready: tuples as lists, floats rounded to what the instruments resolve (9 significant digits)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return float(f"{obj:.9g}") if math.isfinite(obj) else None
    return obj


# ---- building a record ----------------------------------------------------------------------------


def margin(op: str, value: Any, bound: Any, unit: str) -> Margin | None:
    """Signed distance from the limit for an inequality, positive on the compliant side. Equalities and
    states have no margin (a value either is or is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not isinstance(bound, int | float):
        return None
    if op in ("<", "<=", "at most"):
        m = bound - value
    elif op in (">", ">=", "at least"):
        m = value - bound
    elif op == "within ±":  # |value| <= bound
        m = bound - abs(value)
    else:
        return None
    pct = m / abs(bound) * 100.0 if bound not in (0, 0.0) else None
    return Margin(float(m), unit, pct)


def limit_of(cond: Condition) -> Limit:
    if isinstance(cond, StateIs):
        return Limit("is", " or ".join(cond.states), "", " or ".join(cond.states))
    dim = cond.bound.dimension
    return Limit(cond.op, in_unit(cond.bound.value, dim), unit_of(dim), cond.bound.text)


def quantity_limit(op: str, q: Quantity) -> Limit:
    return Limit(op, in_unit(q.value, q.dimension), unit_of(q.dimension), q.text)


def reading(name: str, value: Any, dimension: str, at_s: float | None = None) -> Reading:
    return Reading(name, in_unit(value, dimension), unit_of(dimension), units.show(value, dimension), at_s)


def signal_reading(signal: Signal, value: Any, at_s: float | None = None) -> Reading:
    return reading(signal.text, value, signal.dimension, at_s)


def worst(cond: Condition, points: Iterable[tuple[float, Any]]) -> tuple[float, Any] | None:
    """The sample nearest to (or furthest past) the limit: the one a hold's margin is stated on. For a
    state condition, the first sample not in the states, else the first."""
    pts = [(t, v) for t, v in points if v is not None]
    if not pts:
        return None
    if isinstance(cond, Comparison):
        nums = [(t, v) for t, v in pts if isinstance(v, int | float) and not isinstance(v, bool)]
        if not nums:
            return pts[0]
        if cond.op in ("<", "<="):
            return max(nums, key=lambda p: p[1])
        if cond.op in (">", ">="):
            return min(nums, key=lambda p: p[1])
        if cond.op == "!=":
            return min(nums, key=lambda p: abs(p[1] - cond.bound.value))
        return max(nums, key=lambda p: abs(p[1] - cond.bound.value))
    return next(((t, v) for t, v in pts if str(v) not in cond.states), pts[0])


@dataclass
class Draft:
    """A measurement being taken. The judge sets each figure as soon as it knows it; :meth:`finish` makes
    the frozen record with the verdict, whatever was reached (a broken judgement keeps its limit and
    window). Times given to it are bench times; it states them relative to the scenario start `t0`."""

    spec: str
    line: int
    criterion: str
    kind: str
    t0: float
    wall: Any = None  # bench time -> UTC datetime (the clock's wall); None: no wall time
    subject: str = ""
    key: str | None = None
    observed: Reading | None = None
    limits: tuple[Limit, ...] = ()
    margin: Margin | None = None
    timing: Timing | None = None
    window: Span | None = None
    hold: Span | None = None
    figures: tuple[Reading, ...] = ()
    samples: int | None = None
    phase: str = "steps"
    trial: int | None = None
    passed_text: str = ""

    def rel(self, t: float | None) -> float | None:
        return None if t is None else round(t - self.t0, 6)  # (as the evidence files state times)

    def span(self, start: float, end: float) -> Span:
        return Span(round(start - self.t0, 6), round(end - self.t0, 6), self._wall(start), self._wall(end))

    def _wall(self, t: float) -> str:
        if self.wall is None:
            return ""
        from instruments.clock import iso_utc

        return iso_utc(self.wall(t))

    def on_signal(self, signal: Signal, key: str, cond: Condition | None = None) -> None:
        self.subject, self.key = signal.text, key
        if cond is not None:
            self.limits = (limit_of(cond),)

    def saw(self, cond: Condition, t: float, value: Any) -> None:
        """The observed sample of a condition's signal, and its margin against the condition's bound."""
        self.observed = signal_reading(cond.signal, value, self.rel(t))
        if isinstance(cond, Comparison):
            dim = cond.signal.dimension
            self.margin = margin(cond.op, in_unit(value, dim), in_unit(cond.bound.value, dim), unit_of(dim))

    def finish(self, verdict: Verdict, message: str) -> Measurement:
        return Measurement(
            spec=self.spec, line=self.line, criterion=self.criterion, kind=self.kind, subject=self.subject,
            verdict=verdict, message=message or self.passed_text, key=self.key, observed=self.observed,
            limits=self.limits, margin=self.margin, timing=self.timing, window=self.window, hold=self.hold,
            figures=self.figures, samples=self.samples, phase=self.phase, trial=self.trial)


# ---- writing -------------------------------------------------------------------------------------

TABLE_COLUMNS = ("line", "criterion", "subject", "observed", "limit", "margin", "margin % of limit", "timing",
                 "window", "verdict", "message")


def table_row(m: Measurement) -> list[str]:
    """One row of the table a person reads (Allure shows the CSV as a table)."""
    obs = m.observed.text + (f" at t={m.observed.at_s:.1f} s" if m.observed and m.observed.at_s is not None
                             else "") if m.observed else ""
    lim = "; ".join(f"{lim.op} {lim.text}".strip() for lim in m.limits)
    mar = _signed(m.margin.value, m.margin.unit) if m.margin else ""
    pct = f"{m.margin.percent_of_limit:+.1f} %" if m.margin and m.margin.percent_of_limit is not None else ""
    timing = ""
    if m.timing is not None:
        took = "never" if m.timing.seconds is None else f"{m.timing.seconds:.1f} s"
        allowed = f" (allowed {m.timing.allowed_s:g} s)" if m.timing.allowed_s is not None else ""
        timing = f"{m.timing.what} {took}{allowed}"
    window = f"t={m.window.start_s:.1f} … {m.window.end_s:.1f} s" if m.window else ""
    return [str(m.line), m.criterion, m.subject, obs, lim, mar, pct, timing, window, m.verdict, m.message]


def _signed(value: float, unit: str) -> str:
    """`+0.593 A`, `-29.003 A`, `+20.848 kW`, `+2 messages`: a margin as people read it, the sign always
    shown, in the limit's own unit (power and energy scaled to k as the messages show them)."""
    sign = "-" if value < 0 else "+"
    if unit in ("W", "Wh"):
        return sign + units.show(abs(value), "power" if unit == "W" else "energy")
    if unit in ("A", "V", "Hz", "Ω"):
        return f"{sign}{abs(value):.3f} {unit}"
    if unit in ("s", "%"):
        return f"{sign}{abs(value):.2f} {unit}"
    return f"{sign}{abs(value):g} {unit}".strip()


def describe(m: Measurement) -> str:
    """The record for a person, one figure a line (the table's columns, those that have a value)."""
    return "\n".join(f"{name}: {value}" for name, value in zip(TABLE_COLUMNS, table_row(m), strict=True) if value)


def table(measurements: Sequence[Measurement]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(TABLE_COLUMNS)
    for m in measurements:
        w.writerow(table_row(m))
    return buf.getvalue()


def as_json(measurements: Sequence[Measurement]) -> list[dict[str, Any]]:
    """The records as written: redacted (runner/redact.py), the spec path relative to the working
    directory when it lies under it (the evidence names the project's file, not this machine's path)."""
    return [masked({**m.to_json(), "spec": relative_path(m.spec)}) for m in measurements]


def relative_path(path: str) -> str:
    """A spec's path as a reader finds it: relative to the project root or the working directory
    (runner/errors.py), never this machine's absolute path."""
    from runner.errors import shown_file

    try:
        return shown_file(str(Path(path).resolve()))
    except OSError:
        return path


def masked(obj: Any) -> Any:
    """JSON-ready data with every string through the redaction rule."""
    from runner import redact

    if isinstance(obj, str):
        return redact.text(obj)
    if isinstance(obj, dict):
        return {k: masked(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [masked(v) for v in obj]
    return obj


def write(directory: Path, measurements: Sequence[Measurement]) -> None:
    """measurements.json and measurements.csv in a scenario's evidence folder, each replaced atomically
    (rewritten after every judgement: a killed run keeps every record made before it)."""
    from runner import redact

    directory.mkdir(parents=True, exist_ok=True)
    _replace(directory / FILE, json.dumps(as_json(measurements), indent=2, ensure_ascii=False) + "\n")
    _replace(directory / TABLE, redact.text(table(measurements)))


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load(path: Path) -> list[dict[str, Any]]:
    """A scenario's records as written (for report code and tests)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, list) else []
