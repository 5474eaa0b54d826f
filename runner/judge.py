"""The expectation engine: judges each `expect` line on the recorded signals and frames.

Every verdict is reproducible from the evidence files: `within` and `for` are judged on the recorded
sample times, not on when Python looked. A failure raises :class:`ExpectationFailed` naming the spec line,
the signal, the bound, the observed value and the bench time; a bench that could not deliver the data
raises :class:`BenchError` (the scenario is broken, not failed).

Signals the bench samples (analyzer, EV emulator) must be sampled across every span a verdict rests on
(:func:`runner.signals.coverage`, :func:`sampling`): a silent instrument or a sampler that fell behind
breaks the expectation; it never lets a stale value pass (or fail) it.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from dsl.plan import (
    Comparison,
    Condition,
    ExpectAccuracy,
    ExpectFor,
    ExpectInterval,
    ExpectMessage,
    ExpectNoMessage,
    ExpectNow,
    ExpectReply,
    ExpectRule,
    ExpectSettle,
    ExpectTrials,
    ExpectWithin,
    MessageCount,
    Remember,
    Repeat,
    Signal,
    Source,
    show,
)
from dsl.signals import evse_key
from instruments.sampler import poll_interval_s
from runner import features, units
from runner.arrivals import heard_through, held_up, place, stalled
from runner.context import ScenarioRun
from runner.csms import expect as msg
from runner.csms.meter_evses import DueEvses, due_evses, evse_transactions, send_during_idle
from runner.csms.meter_values import readings_from_frame
from runner.csms.reading_time import AT_ARRIVAL
from runner.errors import BenchError, ExpectationFailed, NotSupportedByCharger
from runner.measurements import Draft, Limit, Reading, Timing, margin, quantity_limit, reading, unit_of, worst
from runner.recorder import MAX_FINDING_RAW, Frame, parse_frame
from runner.signals import (
    Coverage,
    as_claimed,
    coverage,
    covers,
    edge_bracket,
    first_fall,
    held_from,
    holds,
    is_cumulative,
    is_sampled,
    never_falls,
    over_window,
    settling,
)

POLL_REAL_S = 0.02


# ---- measurements: every judgement leaves a record ----------------------------------------------------


def measured(kind: str) -> Callable[[Callable[[ScenarioRun, Any, Draft], None]],
                                    Callable[[ScenarioRun, Any], None]]:
    """Make a judge that fills a :class:`~runner.measurements.Draft` into one that records it: the
    frozen :class:`~runner.measurements.Measurement` goes to :meth:`ScenarioRun.measured` however the
    judgement ends (passed; failed with what was observed; broken with what was known by then), before
    the verdict's exception leaves the judge."""

    def deco(fn: Callable[[ScenarioRun, Any, Draft], None]) -> Callable[[ScenarioRun, Any], None]:
        @functools.wraps(fn)
        def judge(run: ScenarioRun, e: Any) -> None:
            m = draft(run, e, kind)
            run.judging(m.finish("broken", UNFINISHED))  # on disk until the verdict replaces it
            try:
                fn(run, e, m)
            except ExpectationFailed as x:
                locate(run, e, x)
                x.add_note_line(clock_note(run))
                run.measured(m.finish("failed", x.detail))
                raise
            except BaseException as x:
                if isinstance(x, BenchError):
                    locate(run, e, x)
                    x.add_note_line(clock_note(run))
                run.measured(m.finish("broken", _fault(x)))
                raise
            run.measured(m.finish("passed", ""))

        return judge

    return deco


def clock_note(run: ScenarioRun, real_now: datetime | None = None) -> str:
    """When the message's t=0 was, with its zone: the scenario's times (t=… s) are bench seconds since the
    scenario started. On the twin the bench clock runs faster than real time and its wall time is its own,
    so that time is labelled bench time and the real wall-clock start is given beside it."""
    t0 = run.recorder.t_begin
    at = run.clock.wall(t0).strftime("%Y-%m-%d %H:%M:%S UTC")
    if getattr(getattr(run.session, "config", None), "kind", None) != "twin":
        return f"(t=0 is the scenario start: {at}, wall clock)"
    real = (real_now or datetime.now(UTC)) - timedelta(seconds=run.clock.real(run.clock.now() - t0))
    return (f"(t=0 is the scenario start: {at} bench time, on the twin's clock at {run.clock.speed:g}x real "
            f"time; wall clock {real:%Y-%m-%d %H:%M:%S} UTC)")


def stations_read(run: ScenarioRun, step: Any) -> list[Any]:
    """The stations a line's values come from, in order: each signal's (`analyzer power on station right`),
    else the station the line names (a statement's or a message line's `on station right`), else the
    scenario's own."""
    signals: list[Signal] = []

    def walk(node: Any) -> None:
        if isinstance(node, Signal):
            signals.append(node)
        elif isinstance(node, tuple | list):
            for item in node:
                walk(item)
        elif isinstance(node, msgspec.Struct) and not isinstance(node, Source):
            for name in node.__struct_fields__:
                walk(getattr(node, name))

    walk(step)
    found = [run.station_for(s.station) for s in signals] or [run.station_for(getattr(step, "station", None))]
    return list({id(st): st for st in found}.values())


def locate(run: ScenarioRun, step: Any, error: ExpectationFailed | BenchError) -> None:
    """On a bench of several stations, a verdict's message says which station (its id, and its alias when it
    has one) the line's values came from: `… on station right` alone leaves the reader to look the alias up,
    and a line naming no station is the scenario's station (the first, or in per-station mode the worker's),
    which the message would not say at all."""
    if getattr(run.session, "bench_stations", 1) < 2:  # (the bench file's count: per-station mode opens one)
        return
    try:
        stations = stations_read(run, step)
    except KeyError:  # a station the bench lacks: that error already names it and the bench's stations
        return
    named = [f"{st.id}" + (f" (alias {st.config.alias})" if st.config.alias else "") for st in stations]
    error.locate(f"on station{'s' if len(named) > 1 else ''} {' and '.join(named)}")


UNFINISHED = "did not finish: the run stopped while this was being judged; no verdict"


def _fault(x: BaseException, doing: str = " while judging") -> str:
    detail = getattr(x, "detail", None)
    if isinstance(detail, str):
        return detail
    if isinstance(x, KeyboardInterrupt):
        return f"interrupted ({x or 'KeyboardInterrupt'}){doing}: no verdict"
    return str(x) or type(x).__name__


def draft(run: ScenarioRun, e: Any, kind: str) -> Draft:
    """An empty record for expectation `e`: where it is (phase, trial) and when the scenario began."""
    phase, in_repeat = placement((run.plan.setup, run.plan.steps, run.plan.teardown), e)
    clock = getattr(run.session, "clock", None)
    return Draft(spec=e.source.file, line=e.source.line, criterion=e.text, kind=kind, t0=run.recorder.t_begin,
                 wall=getattr(clock, "wall", None), phase=phase, trial=len(run.trials) + 1 if in_repeat else None)


def _trial_start(run: ScenarioRun, step: Any) -> float | None:
    """When the current trial began (bench time), for a line inside a `repeat` body; None elsewhere. Such a
    line judges its own trial's messages: an earlier trial's would pass or fail every trial after it."""
    _, in_repeat = placement((run.plan.setup, run.plan.steps, run.plan.teardown), step)
    trials = run.recorder.events("trial") if in_repeat else []
    return float(trials[-1]["t"]) if trials else None


def placement(phases: tuple[Sequence[Any], Sequence[Any], Sequence[Any]], step: Any) -> tuple[str, bool]:
    """The phase (setup, steps, teardown) `step` belongs to, and whether it is inside a `repeat` body."""

    def find(steps: Sequence[Any], in_repeat: bool = False) -> bool | None:
        for s in steps:
            if s is step:
                return in_repeat
            body = getattr(s, "body", None)  # (a `when` block's lines are in a repeat only if the when is)
            found = find(body, in_repeat or isinstance(s, Repeat)) if body else None
            if found is not None:
                return found
        return None

    for name, steps in zip(("setup", "steps", "teardown"), phases, strict=True):
        found = find(steps)
        if found is not None:
            return name, found
    return "steps", False


def _passed(run: ScenarioRun, m: Draft, text: str) -> None:
    """A pass's figures in words: in the notes (measured figures) and as the record's message."""
    m.passed_text = text
    run.note(f"line {m.line}: {text}")


def signal_key(signal: Signal) -> str:
    """The recorder's series of `signal`: dsl/signals.py scopes another EVSE's key already."""
    return signal.key


def _observed(cond: Condition, value: Any) -> str:
    """An observed value beside the condition's bound, with the digits that tell it from the bound (a 16.0004 A
    that violates `<= 16 A` reads "16.0004 A", not "16 A")."""
    dim = cond.signal.dimension
    if isinstance(cond, Comparison) and isinstance(value, int | float):
        return units.show_against(value, cond.bound.value, dim)
    return units.show(value, dim)


def _bound_text(cond: Condition) -> str:
    if isinstance(cond, Comparison):
        shown = units.show(cond.bound.value, cond.bound.dimension)
        return f"{cond.op} {cond.bound.text}" + (f" ({shown})" if shown != cond.bound.text else "")
    return f"is {' or '.join(cond.states)}"


def _rel(run: ScenarioRun, t: float) -> str:
    return units.show_t(t - run.recorder.t_begin)


def anchor(run: ScenarioRun) -> float:
    """The moment "the previous action" stands for: when the most recent action statement of this scenario
    (a statement that does something: `csms sets …`, `ev draws …`, `wait …`; not an `expect` or a
    `measure`) began, or the scenario's start when none has run yet. `expect charger sends` looks at
    messages from here on, and a settle criterion's deadline counts from here."""
    return max(run.last_action_t, run.recorder.t_begin)


def _bound_event(run: ScenarioRun, kind: str, source: Source, cond: Condition, start: float, end: float,
                 **times: float) -> None:
    """An evidence event that says when a bound applies ([start, end], scenario-relative), for the plot."""
    if not isinstance(cond, Comparison):
        return
    t0 = run.recorder.t_begin
    run.recorder.event("bound", expectation=kind, line=source.line, signal=signal_key(cond.signal),
                       dimension=cond.signal.dimension, op=cond.op, bound=cond.bound.value, text=cond.bound.text,
                       t_start=start - t0, t_end=end - t0, **{k: v - t0 for k, v in times.items()})


def wait_until(run: ScenarioRun, done: Callable[[], Any], deadline: float, source: Source) -> Any:
    """Poll `done()` until it returns something truthy or bench time passes `deadline`. An instrument poll
    that may still hand in a reading stamped before the deadline is waited out first (the sampler's
    `polling_since`: the earliest time a reading of the poll under way may carry, its start or, for a pilot
    report read late, the report's own time): it ends with its readings or with the instrument's fault
    (broken)."""
    overdue: float | None = None
    while True:
        run.check_bench(source)
        result = done()
        if result:
            return result
        if run.clock.now() >= deadline:
            since = _in_flight_since(run)
            if since is None or since >= deadline:
                return done()
            overdue = overdue if overdue is not None else time.monotonic()
            if time.monotonic() - overdue > POLL_STUCK_REAL_S:
                raise BenchError(source, f"an instrument poll whose readings may be stamped from {_rel(run, since)} "
                                         f"has not ended after {POLL_STUCK_REAL_S:g} s of real time: its "
                                         "readings, which belong to the judged span, never came")
        run.recorder.wait(lambda: False, POLL_REAL_S)


# Real seconds a poll may stay in flight past a judge's deadline (a driver's timeout and resynchronisation end
# it well before: instruments time out in seconds); beyond that the sampler is taken as stuck.
POLL_STUCK_REAL_S = 30.0


def _in_flight_since(run: ScenarioRun) -> float | None:
    """The earliest bench time a reading of an instrument poll now under way on the run's stations may carry
    (the samplers' `polling_since`), or None."""
    times = [since for st in (run.station, *run.named.values()) for sampler in getattr(st, "samplers", ())
             if (since := sampler.polling_since) is not None]
    return min(times, default=None)


def _grace(run: ScenarioRun) -> float:
    """Bench seconds to wait past a window for samples in flight: one analyzer update, at least 1 s."""
    intervals = [poll_interval_s(a.update_interval_s, run.clock.speed) for a in run.station.analyzers.values()]
    return max(1.0, 2 * max(intervals or [1.0]))


# ---- coverage of sampled signals ------------------------------------------------------------------------

# The longest a sampled signal may go without a sample inside a judged span (docs/language.md, "Sampled
# signals"): the largest of
# - MAX_GAP_INTERVALS update intervals of the instrument that samples it: a healthy sampler records one
#   sample per interval and skips a slot when a query overruns (instruments/sampler.py); a real analyzer
#   can stall a few intervals on a range change. Five absorb that without hiding a silent instrument.
# - MAX_GAP_FLOOR_S bench seconds, for fast instruments (10-100 ms), whose polls are delayed by thread
#   scheduling as much as anyone's. 5 s is still well under any hold or settle budget a spec states.
# - MAX_GAP_REAL_S of real time at the clock's speed. The sampler's delays under CPU load are real
#   time; the twin's clock runs 30-60x faster, so a 100 ms stall is 3-6 bench seconds there. Healthy
#   twin runs of specs/smart-charging and specs/metering on a loaded 2-core machine (load 2) showed
#   gaps up to 3.8 bench seconds at 30x and 9.2 at 60x (127 and 153 ms of real time); 0.3 s is about
#   twice that (9 s at 30x, 18 s at 60x). At 1x (every physical bench) it is 0.3 s and never counts.
# Event-driven charger signals have no max gap. There is no bench-file knob: the rule follows the
# instrument's update_interval_s, which the bench file already states, and a knob to widen it would
# be a knob to let unmeasured spans pass.
MAX_GAP_INTERVALS = 5
MAX_GAP_FLOOR_S = 5.0
# A charger timestamp is taken before its message leaves; the message reaches the harness, which stamps its
# arrival, up to TRANSIT_REAL_S of real time later: network and the harness's own scheduling under load.
# A healthy twin at 60x on a loaded 2-core machine showed timestamps 2.345 bench s (39 ms real) behind their
# arrival; 0.1 s is about 2.5 times that (6 s at 60x, 3 s at 30x, 0.1 s at 1x). Only lateness is excused: a
# timestamp ahead of its arrival is the charger's clock.
TRANSIT_REAL_S = 0.1
# A charger samples its meter on its own schedule; the twin's loop runs on the machine's, and a stall of real
# time is bench seconds at 60x: a healthy twin at 60x on the loaded 2-core machine took one TxEndedInterval
# reading 6.7 bench s (112 ms real) late (TC_J_10_CS, 2026-12-01). The interval rule over sampled timestamps
# allows SAMPLING_REAL_S of real time more (9 s at 60x, 0.15 s at 1x, where it never counts); clock-aligned
# readings carry their instant on the clock, which no stall delays, and get none.
SAMPLING_REAL_S = 0.15
MAX_GAP_REAL_S = 0.3
DEFAULT_UPDATE_INTERVAL_S = 0.5  # lab.bench.InstrumentConfig's default, for a station without an analyzer


@dataclass(frozen=True)
class Sampling:
    """How a sampled signal is sampled on this station: the allowed gap and who samples it (for messages)."""

    max_gap: float
    instrument: str
    why: str = ""  # how max_gap was reached, when not plainly
    interval: float = DEFAULT_UPDATE_INTERVAL_S  # the instrument's update interval: the record's resolution


def sampling(run: ScenarioRun, signal: Signal) -> Sampling | None:
    """The coverage rule for `signal`; None for an event-driven (charger) signal. Analyzer signals are polled
    at the EVSE's analyzer's update interval; the EV emulator's pilot is read in the same poll
    (runner/bench_session.py), so ev signals share that interval."""
    if not is_sampled(signal):
        return None
    evse = signal.evse or 1
    station = run.station if signal.station is None else run.station_for(signal.station)
    analyzer = station.analyzers.get(evse)
    speed = run.clock.speed
    interval = poll_interval_s(float(analyzer.update_interval_s) if analyzer is not None
                               else DEFAULT_UPDATE_INTERVAL_S, speed)
    inst = analyzer if signal.source == "analyzer" else getattr(station, "evs", {}).get(evse)
    if signal.source == "station":  # a sum over every analyzer of the station (runner/signals.py StationSum)
        analyzers = list(station.analyzers.values())
        interval = max((poll_interval_s(float(a.update_interval_s), speed) for a in analyzers),
                       default=poll_interval_s(DEFAULT_UPDATE_INTERVAL_S, speed))
        who = (f"the sum of the station's {len(analyzers)} analyzer(s) "
               f"({', '.join(repr(a.name) for a in analyzers) or 'none'}), updated every {interval:g} s at most")
    elif inst is None:
        who = f"no {signal.source} instrument on EVSE {evse} (update interval taken as {interval:g} s)"
    elif inst is analyzer:
        configured = float(analyzer.update_interval_s)
        who = (f"{inst.kind} {inst.name!r} at {inst.address}, update interval {configured:g} s"
               + (f", polled every {interval:g} s at clock speed {speed:g}" if interval > configured else ""))
    else:
        who = (f"{inst.kind} {inst.name!r} at {inst.address}, read with the EVSE {evse} analyzer's poll every "
               f"{interval:g} s")
    by_speed = MAX_GAP_REAL_S * run.clock.speed
    max_gap = max(MAX_GAP_INTERVALS * interval, MAX_GAP_FLOOR_S, by_speed)
    why = (f": {MAX_GAP_REAL_S:g} s of real time at clock speed {run.clock.speed:g}"
           if max_gap == by_speed > max(MAX_GAP_INTERVALS * interval, MAX_GAP_FLOOR_S) else "")
    return Sampling(max_gap, who, why, interval)


def _max_age(s: Sampling | None) -> float | None:
    return s.max_gap if s is not None else None


def not_covered(run: ScenarioRun, signal: Signal, s: Sampling, cov: Coverage, source: Source,
                what: str, *, still_open: bool = False) -> BenchError:
    """The error for a judged span with a gap: the verdict on `what` would not have been measured.
    `still_open`: the gap had not ended when the judge stopped waiting (its end is "so far")."""
    assert cov.gap is not None
    a, b = cov.gap
    last = run.recorder.last(signal_key(signal))
    if last is None or last[0] <= a:  # nothing since: the instrument may be hung; let its own fault speak
        _await_poll(run, signal.evse or 1, source)
    gap = (f"has had no sample since {_rel(run, a)}: {b - a:.1f} s by {_rel(run, b)}" if still_open else
           f"went {b - a:.1f} s without a sample, from {_rel(run, a)} to {_rel(run, b)}")
    series = signal_key(signal) if cov.of is None else f"{signal_key(signal)}: its part {cov.of}"
    return BenchError(source, f"{signal.text} ({series}) {gap} (a sampled signal may go at most "
                              f"{s.max_gap:g} s{s.why}): {what} cannot be judged; {s.instrument}")


def _await_poll(run: ScenarioRun, evse: int, source: Source) -> None:
    """Give a poll in flight on this EVSE's instruments (the sampler reads the analyzer and the EV emulator
    in turn) the time to fail by its own timeout: :meth:`ScenarioRun.check_bench` then raises the
    instrument's fault, which says more than the gap it left."""
    insts = [i for i in (run.station.analyzers.get(evse), getattr(run.station, "evs", {}).get(evse)) if i is not None]
    if not insts:
        return
    deadline = time.monotonic() + max(_poll_timeout(i) for i in insts)
    while time.monotonic() < deadline:
        run.check_bench(source)
        run.recorder.wait(lambda: False, 0.05)


def _parts(run: ScenarioRun, signal: Signal) -> list[str]:
    """The analyzer series a station total is made of (runner/signals.py StationSum); none for other signals."""
    if signal.source != "station":
        return []
    station = run.station if signal.station is None else run.station_for(signal.station)
    prefix, _, name = signal_key(signal).partition("station.")
    return [prefix + evse_key(f"analyzer.{name}", n) for n in range(1, station.config.evses + 1)]


def _coverage(run: ScenarioRun, signal: Signal, s: Sampling, start: float, end: float) -> Coverage:
    """:func:`coverage` of a sampled signal's record over [start, end]. A station total holds each other
    analyzer's latest reading for up to the max gap, so its own record can run a max gap past the moment
    an analyzer fell silent: a total is measured only where each analyzer it adds was, so their gaps count."""
    cov = coverage(*run.recorder.series(signal_key(signal)), start, end, s.max_gap)
    for key in _parts(run, signal):
        part = coverage(*run.recorder.series(key), start, end, s.max_gap)
        if part.gap is not None and (cov.gap is None or part.gap[0] < cov.gap[0]):
            cov = Coverage(cov.samples, max(cov.largest_gap, part.largest_gap), part.gap, key)
    return cov


def _covered(run: ScenarioRun, signal: Signal, s: Sampling | None, start: float, end: float, source: Source,
             what: str) -> Coverage | None:
    """Raise :func:`not_covered` if the record of a sampled signal has a gap in [start, end]; the coverage
    (for the notes) otherwise, None for an event-driven signal."""
    if s is None:
        return None
    cov = _coverage(run, signal, s, start, end)
    if cov.gap is not None:
        raise not_covered(run, signal, s, cov, source, what)
    return cov


def _heard(run: ScenarioRun, signal: Signal, start: float, end: float, source: Source, what: str, *,
           at_end: bool = False) -> None:
    """A signal the charger reports (its status, its meter values) is known only while the harness hears it:
    silence from a charger that was not connected in [start, end] is no report that nothing changed. A pass
    needs the whole span connected; a "never" (`at_end`) the end of it (a charger back on line reports what
    changed, so never having reported compliance by then is its own)."""
    if signal.source != "charger":
        return
    gaps = run.harness.offline_within(run.station.id, start, end)
    if at_end:
        gaps = [g for g in gaps if g[1] >= end]
    if gaps:
        raise BenchError(source, f"{signal.text} is what the charger reports, and the charger was not connected "
                                 f"{_gap_words(run, gaps)}: {what} cannot be judged; judge a span in which it is "
                                 "connected")


def _complete_until(run: ScenarioRun, key: str, s: Sampling | None, grace: float) -> float:
    """The bench time up to which the record of `key` is taken as complete. A sampler records its samples
    in order, so up to its latest sample at least; beyond that, a sample stamped more than the grace (and,
    for a sampled signal, the max gap) ago would have been recorded by now. Event-driven: now less grace."""
    now = run.clock.now()
    if s is None:
        return now - grace
    last = run.recorder.last(key)
    complete = max(now - grace - s.max_gap, last[0] if last is not None else float("-inf"))
    since = _in_flight_since(run)  # a poll under way: its readings, stamped from then on, are still to come
    return complete if since is None else min(complete, since)


def _patience(s: Sampling | None) -> float:
    """How long past the span to wait for the record to be complete (see :func:`_complete_until`)."""
    return s.max_gap if s is not None else 0.0


def _recorded(run: ScenarioRun, key: str) -> bool:
    """Whether anything of `key` was recorded in this scenario: if not, :func:`no_samples` tells why."""
    return run.recorder.last(key) is not None


def _figures(cov: Coverage | None, n: int) -> str:
    return f"{n} samples" if cov is None else f"{cov.samples} samples, largest gap {cov.largest_gap:.1f} s"


def _poll_timeout(inst: Any) -> float:
    """Real seconds within which a hung query to `inst` fails: its timeout, once more per reconnect attempt
    (the driver reopens the line and asks again), and half a second for the sampler to report it."""
    opts = inst.options
    return float(opts.get("timeout_s", 2.0)) * (1 + int(opts.get("reconnect_attempts", 1))) + 0.5


def no_samples(run: ScenarioRun, signal: Signal, source: Source, when: str) -> BenchError:
    """The error for a signal nobody recorded. An analyzer poll may still be waiting out its timeout: give
    it that long to report, so the message names the instrument's own fault; else name the instrument."""
    station = run.station if signal.station is None else run.station_for(signal.station)
    inst = station.analyzers.get(signal.evse or 1) if signal.source == "analyzer" else None
    if inst is not None:
        deadline = time.monotonic() + _poll_timeout(inst)
        while time.monotonic() < deadline:
            run.check_bench(source)
            run.recorder.wait(lambda: False, 0.05)
        where = f"; {inst.kind} {inst.name!r} at {inst.address}, last command {inst.last_command!r}"
    elif signal.source == "station":
        evses = station.config.evses
        missing = [n for n in range(1, evses + 1) if n not in station.analyzers]
        where = (f"; a station total needs an analyzer on each of the station's {evses} EVSEs, and EVSE(s) "
                 f"{', '.join(map(str, missing))} have none in the bench file (roles analyzer, analyzer2, ...)"
                 if missing else f"; a station total needs a fresh reading of each of its {evses} analyzers")
    else:
        where = ""
    return BenchError(source, f"no samples of {signal.text} ({signal_key(signal)}) were recorded{when}{where}")


# ---- conditions on signals --------------------------------------------------------------------------


@measured("now")
def expect_now(run: ScenarioRun, e: ExpectNow, m: Draft) -> None:
    """The condition on the latest sample. For a sampled signal that sample must be no older than the max
    gap: the value now, not the last one an instrument gave before it went silent."""
    signal = e.condition.signal
    key = signal_key(signal)
    s = sampling(run, signal)
    m.on_signal(signal, key, e.condition)

    def current() -> tuple[float, Any] | None:
        last = run.recorder.last(key)
        if last is None or s is None or run.clock.now() - last[0] <= s.max_gap:
            return last
        return None

    last = current()
    if last is None:
        wait_until(run, current, run.clock.now() + _grace(run), e.source)
        last = run.recorder.last(key)
    if last is None:
        raise no_samples(run, signal, e.source, "")
    t, v = last
    now = run.clock.now()
    m.window, m.samples = m.span(now, now), 1
    m.saw(e.condition, t, v)
    if s is not None:
        _covered(run, signal, s, now, now, e.source, "its value now")
        if v is None:  # the instrument answered without a reading (NAN, overrange): nothing was measured
            raise BenchError(e.source, f"{signal.text} ({signal_key(signal)}) has no value now: its latest "
                                       f"reading, at {_rel(run, t)}, gave none; {s.instrument}")
    elif signal.source == "charger" and not run.harness.connected(run.station.id):
        raise BenchError(e.source, f"{signal.text} is what the charger reports, and the charger is not connected "
                                   f"now: its last report ({units.show(v, signal.dimension)} at {_rel(run, t)}) "
                                   "may no longer hold; judge it once it is connected")
    if not holds(e.condition, v):
        raise ExpectationFailed(e.source, f"{e.condition.signal.text} is {_observed(e.condition, v)}"
                                          f" at {_rel(run, t)}; expected {_bound_text(e.condition)}")
    _passed(run, m, f"{signal.text} is {units.show(v, signal.dimension)} at {_rel(run, t)} "
                    f"({_bound_text(e.condition)})")


def _judged_until(run: ScenarioRun, key: str, s: Sampling | None, grace: float, end: float) -> float:
    """How far into [.., end] a sampled signal may be judged now: only as far as its record is complete.
    A sampler stamps a reading when it asked and records it when the answer came, so a sample stamped
    before the window opened can still be in flight when the judge first looks; judging the value held
    at the start before it lands would credit (or blame) the reading before it. Charger signals are
    stamped on arrival: complete as they stand."""
    return end if s is None else min(end, _complete_until(run, key, s, grace))


def _first(run: ScenarioRun, key: str, start: float, end: float, verdict: bool,
           condition: Condition, max_age: float | None = None) -> tuple[float, Any] | None:
    """The first sample in [start, end] (led by the value held at start, unless older than `max_age`) on
    which the condition is `verdict`: True finds compliance, False a violation; a missing value is neither.
    An empty span (end before start: nothing complete yet) finds nothing."""
    if end < start:
        return None
    for t, v in held_from(*run.recorder.series(key), start, end, max_age):
        if holds(condition, v) is verdict:
            return t, v
    return None


@measured("within")
def expect_within(run: ScenarioRun, e: ExpectWithin, m: Draft) -> None:
    """Passes at the first sample that complies (a stale held value does not); fails only if the whole
    window was sampled and none did."""
    key = signal_key(e.condition.signal)
    s = sampling(run, e.condition.signal)
    t0 = run.clock.now()
    deadline = t0 + e.duration.value
    grace = _grace(run)
    m.on_signal(e.condition.signal, key, e.condition)
    m.window, m.timing = m.span(t0, deadline), Timing("time to comply", None, e.duration.value)

    def found() -> Any:
        hit = _first(run, key, t0, _judged_until(run, key, s, grace, deadline), True, e.condition, _max_age(s))
        return hit or ("done" if _complete_until(run, key, s, grace) >= deadline else None)

    result = wait_until(run, found, deadline + grace + _patience(s), e.source)
    hit = result if isinstance(result, tuple) else None
    _bound_event(run, "within", e.source, e.condition, t0, hit[0] if hit else deadline, t_deadline=deadline,
                 **({"t_complied": hit[0]} if hit else {}))
    if hit:
        m.saw(e.condition, *hit)
        m.timing = Timing("time to comply", round(hit[0] - t0, 6), e.duration.value)
        shown = units.show(hit[1], e.condition.signal.dimension)
        _passed(run, m, f"{e.condition} held after {hit[0] - t0:.1f} s (time to comply; allowed "
                        f"{e.duration.text}): {shown} at {_rel(run, hit[0])}")
        return
    whether = f"whether it complied within {e.duration.text} ({_rel(run, t0)} … {_rel(run, deadline)})"
    if _recorded(run, key):  # a gap (a stale value, then silence, too) is named before anything else
        _covered(run, e.condition.signal, s, t0, deadline, e.source, whether)
    _heard(run, e.condition.signal, t0, deadline, e.source, whether, at_end=True)
    inside = held_from(*run.recorder.series(key), t0, deadline, _max_age(s))
    if not inside:
        raise no_samples(run, e.condition.signal, e.source, f" in the {e.duration.text} window")
    t_last, v_last = inside[-1]
    m.saw(e.condition, t_last, v_last)
    m.samples = len(inside)
    _unseen_tail(run, e.source, e.condition, e.duration.text, key, s, (t_last, v_last), deadline)
    raise ExpectationFailed(
        e.source,
        f"{e.condition.signal.text} never {_bound_text(e.condition)} within {e.duration.text} "
        f"({_rel(run, t0)} … {_rel(run, deadline)}, {len(inside)} samples); "
        f"last observed {_observed(e.condition, v_last)} at {_rel(run, t_last)}")


# An unobserved stretch before a deadline longer than this many update intervals is more than the record's
# resolution: a sampler starved by a loaded host left it (two polls in 15 bench s at 60x).
UNSEEN_INTERVALS = 2


def _unseen_tail(run: ScenarioRun, source: Source, cond: Condition, within: str, key: str, s: Sampling | None,
                 last: tuple[float, Any], deadline: float) -> None:
    """Broken instead of failed when the record cannot tell: the last sample before the deadline came more than
    UNSEEN_INTERVALS update intervals before it, and the first after it complied, so the signal came to comply
    at some moment nobody observed, in time or not. Held values stand for that stretch only until a sample
    says otherwise."""
    t_last, v_last = last
    if s is None or deadline - t_last <= UNSEEN_INTERVALS * s.interval:
        return
    after = [(t, v) for t, v in zip(*run.recorder.series(key), strict=True) if deadline < t <= t_last + s.max_gap]
    if not after or holds(cond, after[0][1]) is not True:
        return
    t_next, v_next = after[0]
    raise BenchError(
        source,
        f"{cond.signal.text} {_bound_text(cond)} within {within}: undecided, and the "
        f"bench's fault: its sampler left {_rel(run, t_last)} … {_rel(run, t_next)} unobserved "
        f"({t_next - t_last:.1f} s, where it polls every {s.interval:g} s), and the signal, "
        f"{_observed(cond, v_last)} before that stretch, was "
        f"{_observed(cond, v_next)} after it: whether it complied by the deadline ({_rel(run, deadline)}) "
        "was not observed")


@measured("for")
def expect_for(run: ScenarioRun, e: ExpectFor, m: Draft) -> None:
    """Fails at the first sample that violates the condition; passes only if the hold was sampled
    throughout. A gap in the part of the record already complete (:func:`_complete_until`) ends the
    wait: the hold can no longer pass."""
    signal = e.condition.signal
    key = signal_key(signal)
    s = sampling(run, signal)
    t0 = run.clock.now()
    end = t0 + e.duration.value
    grace = _grace(run)
    m.on_signal(signal, key, e.condition)
    m.window = m.span(t0, end)

    def gap_so_far() -> Coverage | None:
        until = min(end, _complete_until(run, key, s, grace))
        if s is None or until <= t0:
            return None
        cov = _coverage(run, signal, s, t0, until)
        # With nothing recorded at all, wait: no_samples names the instrument's own fault.
        return cov if cov.gap is not None and cov.samples > 0 else None

    def finished() -> Any:
        return (_first(run, key, t0, _judged_until(run, key, s, grace, end), False, e.condition, _max_age(s))
                or gap_so_far()
                or ("done" if _complete_until(run, key, s, grace) >= end else None))

    result = wait_until(run, finished, end + grace + _patience(s), e.source)
    _bound_event(run, "for", e.source, e.condition, t0, end)
    what = f"the {e.duration.text} hold ({_rel(run, t0)} … {_rel(run, end)})"
    if isinstance(result, Coverage):
        assert s is not None and result.gap is not None
        still_open = result.gap[1] < end and result.gap[1] not in run.recorder.series(result.of or key)[0]
        raise not_covered(run, signal, s, result, e.source, what, still_open=still_open)
    if isinstance(result, tuple):
        t, v = result
        m.saw(e.condition, t, v)
        raise ExpectationFailed(
            e.source,
            f"{e.condition.signal.text} = {_observed(e.condition, v)} at {_rel(run, t)} "
            f"({t - t0:.1f} s into the {e.duration.text} hold) violates {_bound_text(e.condition)}")
    cov = _covered(run, signal, s, t0, end, e.source, what) if _recorded(run, key) else None
    _heard(run, signal, t0, end, e.source, what)
    points = held_from(*run.recorder.series(key), t0, end, _max_age(s))
    n = m.samples = len(points)
    if n == 0:
        raise no_samples(run, signal, e.source, f" during the {e.duration.text} hold")
    w = worst(e.condition, points)
    if w is not None:
        m.saw(e.condition, *w)
    nearest = f"; nearest the bound: {units.show(w[1], signal.dimension)} at {_rel(run, w[0])}" if w else ""
    _passed(run, m, f"{e.condition} held for {e.duration.text} ({_figures(cov, n)}){nearest}")


@measured("settle")
def expect_settle(run: ScenarioRun, e: ExpectSettle, m: Draft) -> None:
    """`expect within T, then for H: C`: a run of samples on which C holds for H without a break, starting
    no later than T after the previous action (:func:`anchor`). Passes as soon as such a run is recorded;
    fails as soon as none can be (at the deadline C does not hold, or the run that started in time broke)."""
    key = signal_key(e.condition.signal)
    dim = e.condition.signal.dimension
    t0 = anchor(run)
    deadline = t0 + e.within.value
    hold = e.hold.value
    grace = _grace(run)
    s = sampling(run, e.condition.signal)
    m.on_signal(e.condition.signal, key, e.condition)
    m.window, m.timing = m.span(t0, deadline + hold), Timing("time to settle", None, e.within.value)

    def decided() -> Any:
        ts, vs = run.recorder.series(key)
        r = settling(ts, vs, e.condition, t0, deadline, hold, _complete_until(run, key, s, grace), _max_age(s))
        return r if r.state != "pending" else None

    r = wait_until(run, decided, max(run.clock.now(), deadline + hold) + grace + _patience(s), e.source)
    # The span each verdict rests on: "never" on the whole settle window (a run could have started in a
    # gap); "broke" from the action to the breaking sample (likewise); "settled" on its hold.
    cov = None
    if r is not None and _recorded(run, key):
        if r.state == "never":
            whether = f"whether it settled within {e.within.text} ({_rel(run, t0)} … {_rel(run, deadline)})"
            _covered(run, e.condition.signal, s, t0, deadline, e.source, whether)
            _heard(run, e.condition.signal, t0, deadline, e.source, whether, at_end=True)
        elif r.state == "broke" and r.violation is not None:
            _covered(run, e.condition.signal, s, t0, r.violation[0], e.source,
                     f"whether it settled ({_rel(run, t0)} … {_rel(run, r.violation[0])})")
        elif r.state == "settled" and r.start is not None:
            what = f"the {e.hold.text} hold ({_rel(run, r.start)} … {_rel(run, r.start + hold)})"
            cov = _covered(run, e.condition.signal, s, r.start, r.start + hold, e.source, what)
            _heard(run, e.condition.signal, r.start, r.start + hold, e.source, what)
    if r is None or r.samples == 0 or (r.state == "never" and r.violation is None):
        raise no_samples(run, e.condition.signal, e.source, f" in the {e.within.text} settle window "
                                                            f"({_rel(run, t0)} … {_rel(run, deadline)})")
    m.samples = r.samples
    if r.violation is not None and r.state in ("never", "broke"):
        m.saw(e.condition, *r.violation)
    if r.state == "never":
        assert r.violation is not None
        t, v = r.violation
        _unseen_tail(run, e.source, e.condition, e.within.text, key, s, (t, v), deadline)
        _bound_event(run, "settle", e.source, e.condition, t0, deadline + hold, t_deadline=deadline)
        run.note(f"line {e.source.line}: {e.condition} did not settle within {e.within.text} of the previous action")
        raise ExpectationFailed(
            e.source,
            f"{e.condition.signal.text} never {_bound_text(e.condition)} within {e.within.text} of the previous "
            f"action ({_rel(run, t0)} … {_rel(run, deadline)}, {r.samples} samples): it did not settle, the "
            f"{e.hold.text} hold never began; last observed {_observed(e.condition, v)} at {_rel(run, t)} "
            f"(the last violation)")
    assert r.start is not None
    settle_s = r.start - t0
    m.timing = Timing("time to settle", round(settle_s, 6), e.within.value)
    m.hold = m.span(r.start, r.start + hold)
    _bound_event(run, "settle", e.source, e.condition, t0, r.start + hold, t_deadline=deadline,
                 t_settled=r.start, t_hold_end=r.start + hold)
    run.recorder.event("settled" if r.state == "settled" else "settle_broke", line=e.source.line,
                       time_to_settle_s=round(settle_s, 3), t_settled=r.start - run.recorder.t_begin)
    if r.state == "broke":
        assert r.violation is not None
        t, v = r.violation
        run.note(f"line {e.source.line}: {e.condition} settled {settle_s:.1f} s after the previous action "
                 f"(time to settle; allowed {e.within.text}), then broke {t - r.start:.1f} s into the "
                 f"{e.hold.text} hold")
        raise ExpectationFailed(
            e.source,
            f"{e.condition.signal.text} settled {_bound_text(e.condition)} {settle_s:.1f} s after the previous "
            f"action (at {_rel(run, r.start)}, allowed {e.within.text}), then broke: "
            f"{_observed(e.condition, v)} at {_rel(run, t)}, {t - r.start:.1f} s into the {e.hold.text} hold")
    in_hold = held_from(*run.recorder.series(key), r.start, r.start + hold, _max_age(s))
    m.samples = len(in_hold)
    w = worst(e.condition, in_hold)
    if w is not None:
        m.saw(e.condition, *w)
    nearest = f"; nearest the bound: {units.show(w[1], dim)} at {_rel(run, w[0])}" if w else ""
    _passed(run, m, f"{e.condition} settled {settle_s:.1f} s after the previous action (time to settle; allowed "
                    f"{e.within.text}) and held for {e.hold.text} ({_rel(run, r.start)} … "
                    f"{_rel(run, r.start + hold)}; {_figures(cov, r.samples)}){nearest}")


# ---- accuracy over windows ----------------------------------------------------------------------------


def _window_bounds(run: ScenarioRun, name: str | None, source: Source) -> tuple[float, float]:
    if name is None:
        return run.recorder.t_begin, run.clock.now()
    w = run.windows.get(name)
    if w is None:
        raise BenchError(source, f"measurement window {name!r} was never opened in this scenario")
    if w.end is not None:
        return w.start, w.end
    if w.until == "session ends":
        tx_end = _session_end(run, w.start)
        if tx_end is not None:
            return w.start, tx_end
    return w.start, run.clock.now()


def _session_end(run: ScenarioRun, after: float) -> float | None:
    ends = [tx.ended_t for tx in run.harness.transactions(run.station.id).values()
            if tx.ended_t is not None and tx.ended_t >= after]
    return min(ends) if ends else None


def _session_end_reading(run: ScenarioRun, signal: Signal, key: str, name: str | None, end: float) -> float:
    """Where a charger's register is read at the end of a window that closed with its session: at the reading
    the transaction's Ended event carried (Transaction.End), which the charger took when the session ended,
    not by interpolation at the event's arrival (`end`, the window's end for the reference: no energy
    flows once the session has ended). A reading is recorded when the charger took it, before its frame
    arrived (runner/csms/reading_time.py), so nothing of the register may follow the Ended event's arrival
    in time to be interpolated against. `end` itself when the window did not close with its session or
    the Ended event carried no reading of this signal (then its value at `end` is interpolated, as ever)."""
    w = run.windows.get(name) if name is not None else None
    if signal.source != "charger" or w is None or w.end is not None or w.until != "session ends":
        return end
    ended = next((f for f in run.recorder.frames(station=run.station.id, since=end) if f.t == end
                  and f.action == "TransactionEvent" and msg.charger_call(f) and f.payload.get("eventType") == "Ended"),
                 None)
    if ended is None:
        return end
    # (an Ended event names its EVSE only if it is the transaction's first: the book knows it)
    evse = next((tx.evse_id for tx in run.harness.transactions(run.station.id).values() if tx.ended_t == end), None)
    prefix, recorded = run.harness.key_prefix(run.station.id), run.recorder.resolve(key)
    if not any(prefix + r.key == recorded for r in readings_from_frame(ended, evse)):
        return end
    ts, vs = run.recorder.series(key)
    at = [t for t, v in zip(ts, vs, strict=True) if t <= end and isinstance(v, int | float)]
    return at[-1] if at else end


@measured("accuracy")
def expect_accuracy(run: ScenarioRun, e: ExpectAccuracy, m: Draft) -> None:
    mk, rk = signal_key(e.measured), signal_key(e.reference)
    dim = e.measured.dimension
    m.subject, m.key = e.measured.text, mk
    tol = e.tolerance
    m.limits = (Limit("within ±", tol.value * 100 if tol.dimension == "ratio" else tol.value,
                      "%" if tol.dimension == "ratio" else unit_of(tol.dimension), tol.text),)
    start, end = _window_bounds(run, e.window, e.source)
    m_start, m_end = _window_bounds(run, e.measured_window or e.window, e.source)
    closed = _session_end_reading(run, e.measured, mk, e.measured_window or e.window, m_end)
    to_end = (f"; {e.measured.text} to the reading its transaction's Ended event carried (at {_rel(run, closed)})"
              if closed != m_end else "")
    m_end = closed
    m.window = m.span(start, end)

    # Both series must reach past the window end so its boundary can be interpolated; a charger sends its
    # register only every TxUpdatedInterval, so allow a few of those.
    def both_cover() -> bool:
        return covers(*run.recorder.series(mk), m_end) and covers(*run.recorder.series(rk), end)

    wait_until(run, both_cover, run.clock.now() + 120.0, e.source)
    mv = over_window(mk, *run.recorder.series(mk), m_start, m_end)
    rv = over_window(rk, *run.recorder.series(rk), start, end)
    for sig, val in ((e.measured, mv), (e.reference, rv)):
        if val is None:
            raise BenchError(e.source, f"not enough samples of {sig.text} ({signal_key(sig)}) to span the window "
                                       f"{_rel(run, start)} … {_rel(run, end)}")
    assert mv is not None and rv is not None
    for sig, key, a, b in ((e.measured, mk, m_start, m_end), (e.reference, rk, start, end)):
        _counts_up(run, sig, key, a, b, e.source)
        _sampled_at_edges(run, sig, key, a, b, e.source)
    t0 = run.recorder.t_begin
    run.recorder.event("band", line=e.source.line, measured=mk, reference=rk, tolerance=tol.value,
                       relative=tol.dimension == "ratio", text=tol.text, t_start=start - t0, t_end=end - t0,
                       m_start=m_start - t0, m_end=m_end - t0)  # for the plot: the band the check judged
    over = f' over "{e.window}"' if e.window else ""
    m.figures = (reading(f"{e.measured.text}{over}", mv.value, dim),
                 reading(f"{e.reference.text}{over}", rv.value, dim))
    what = (f"{e.measured.text}{over} = {units.show(mv.value, dim)}, "
            f"{e.reference.text}{over} = {units.show(rv.value, dim)}")
    span = f"window {_rel(run, start)} … {_rel(run, end)}"
    if tol.dimension == "ratio":
        if rv.value == 0:
            raise BenchError(e.source, f"{what}: the reference is zero, a relative error is undefined ({span})")
        err = (mv.value - rv.value) / rv.value
        ok = abs(err) <= tol.value + 1e-12
        verdict = f"error {err * 100:+.2f} % (allowed ±{tol.value * 100:g} %)"
        m.observed = Reading("error", err * 100, "%", f"{err * 100:+.2f} %")
    else:
        err = mv.value - rv.value
        ok = abs(err) <= tol.value + 1e-12
        verdict = f"difference {units.show(err, dim)} (allowed ±{units.show(tol.value, dim)})"
        m.observed = reading("difference", err, dim)
    m.margin = margin("within ±", m.observed.value, m.limits[0].value, m.limits[0].unit)
    late = to_end + _edges_at_arrival(run, e.measured, mk, m_start, m_end)
    claimed = _as_claimed(run, e.measured, mk, m_start, m_end, mv.value)
    if claimed is not None:
        # Readings at an edge placed at their arrival (out of order) were taken earlier, when the charger's
        # timestamps say: the verdict must be the same there as at arrival, or it rests on the transit.
        alt = (claimed - rv.value) / rv.value if tol.dimension == "ratio" else claimed - rv.value
        if (abs(alt) <= tol.value + 1e-12) != ok:
            shown = f"{alt * 100:+.2f} %" if tol.dimension == "ratio" else units.show(alt, dim)
            raise BenchError(e.source, f"{what}: {verdict}, {span}{late}; undecided: placed where the charger's "
                                       f"timestamps put them, those readings give an error of {shown}, on the other "
                                       "side of the bound: the verdict rests on when the charger took them, which "
                                       "the bench cannot tell")
    if not ok:
        raise ExpectationFailed(e.source, f"{what}: {verdict}, {span}{late}")
    _passed(run, m, f"{what}: {verdict}, {span}{late}")


def _as_claimed(run: ScenarioRun, signal: Signal, key: str, start: float, end: float, nominal: float
                ) -> float | None:
    """A charger register's change over [start, end] with its readings placed at their frames' arrival (out of
    order) moved back to the times its timestamps claim (:func:`runner.signals.as_claimed`); None when no
    such reading moves it off `nominal` (the change as recorded)."""
    if signal.source != "charger" or not is_cumulative(key):
        return None
    recorded = run.recorder.resolve(key)
    claims = {ev["t"]: ev["claimed"][recorded] for ev in run.recorder.events(AT_ARRIVAL)
              if recorded in (ev.get("claimed") or {})}
    if not claims:
        return None
    ts, vs = run.recorder.series(key)
    moved = over_window(key, *as_claimed(ts, vs, claims), start, end)
    return moved.value if moved is not None and moved.value != nominal else None


def _edges_at_arrival(run: ScenarioRun, signal: Signal, key: str, start: float, end: float) -> str:
    """A note for the verdict when a charger reading a window's edge is interpolated from was placed at its
    frame's arrival, not at the time the charger took it (no usable timestamp, its clock not yet measured,
    out of order: runner/csms/reading_time.py): that edge is read late by the reading's transit. Empty when
    every such reading is placed at its own time."""
    if signal.source != "charger":
        return ""
    events = run.recorder.events(AT_ARRIVAL)
    recorded = run.recorder.resolve(key)   # as the harness recorded it (the events name that key)
    ts, vs = run.recorder.series(key)
    late: dict[str, dict[str, list[float]]] = {}     # why -> edge -> times of its readings placed at arrival
    for name, t in (("start", start), ("end", end)):
        for at in sorted(set(edge_bracket(ts, vs, t) or ())):
            why = next((ev["why"] for ev in events if ev["t"] == at and recorded in ev.get("keys", ())), None)
            if why is not None:
                late.setdefault(why, {}).setdefault(name, []).append(at)
    notes = [" and ".join(f"{name} ({', '.join(_rel(run, at) for at in times)})" for name, times in edges.items())
             + f" are placed at their frames' arrival ({why})" for why, edges in late.items()]
    if not notes:
        return ""
    return (f"; {signal.text}: its readings either side of the window's {'; '.join(notes)}, so "
            "the window is read late there by their transit")


def _sampled_at_edges(run: ScenarioRun, signal: Signal, key: str, start: float, end: float, source: Source) -> None:
    """A sampled signal's value at a window's edge is interpolated between the readings either side of it; those
    must be no further apart than the signal's max gap, or the change over the window was not measured there
    (broken, naming the edge and the readings). A charger's register is interpolated between its reports by
    design (docs/language.md, measurement windows)."""
    s = sampling(run, signal)
    if s is None:
        return
    ts, vs = run.recorder.series(key)
    for name, t in (("start", start), ("end", end)):
        bracket = edge_bracket(ts, vs, t)
        if bracket is not None and bracket[1] - bracket[0] > s.max_gap:
            a, b = bracket
            raise BenchError(source, f"{signal.text} ({key}) was not sampled at the window's {name} ({_rel(run, t)}): "
                                     f"its readings either side are {b - a:.1f} s apart ({_rel(run, a)} and "
                                     f"{_rel(run, b)}; a sampled signal may go at most {s.max_gap:g} s{s.why}), so "
                                     f"its change over the window would be interpolated across the gap; "
                                     f"{s.instrument}")


def _counts_up(run: ScenarioRun, signal: Signal, key: str, start: float, end: float, source: Source) -> None:
    """A register's change over a window is what flowed in it only if it never fell there. A fall in the
    charger's register is the charger's failure (a register only counts up); in an instrument's (an
    analyzer's integration reset, restarted or timed out) it is the bench's: the reference does not span
    the window (broken)."""
    if not never_falls(key):
        return
    fall = first_fall(*run.recorder.series(key), start, end)
    if fall is None:
        return
    dim = signal.dimension
    what = (f"{signal.text} ({key}) fell from {units.show(fall.before, dim)} at {_rel(run, fall.t_before)} to "
            f"{units.show(fall.after, dim)} at {_rel(run, fall.t)}, inside the window {_rel(run, start)} … "
            f"{_rel(run, end)}")
    if signal.source == "charger":
        raise ExpectationFailed(source, f"{what}: a register only counts up, so its change over the window is not "
                                        "the energy delivered")
    raise BenchError(source, f"{what}: the instrument's integration was reset or restarted (or power flowed "
                             "back), so its change over the window is not the energy delivered; the reference "
                             "must integrate throughout the window")


# ---- OCPP messages -----------------------------------------------------------------------------------


def _bind(run: ScenarioRun, fields: Any, source: Source) -> Any:
    """`fields` with each `remembered "name"` replaced by the value kept in this scenario."""
    try:
        return msg.bind(fields, run.remembered)
    except msg.Unbound as err:
        if str(err.args[0]).startswith("bench."):
            from runner.bench_values import unavailable
            raise BenchError(source, unavailable(err.args[0])) from None
        raise BenchError(source, f'nothing was remembered as "{err.args[0]}" in this scenario '
                                 f"(its remember line did not run)") from None


def _patterns(run: ScenarioRun, e: ExpectMessage) -> list[tuple[str, Any]]:
    return [(p.action, _bind(run, p.fields, e.source)) for p in e.patterns]


def _what(patterns: list[tuple[str, Any]]) -> str:
    """`StatusNotification {connectorStatus: "Occupied"} or NotifyEvent {…}`, as the spec writes it."""
    return " or ".join(action + (f" {show(fields)}" if fields else "") for action, fields in patterns)


def _nearest(run: ScenarioRun, frames: list[Frame], patterns: list[tuple[str, Any]], since: float) -> str:
    """What came instead: how many of the actions arrived, and the one nearest to the patterns."""
    actions = list(dict.fromkeys(a for a, _ in patterns))
    counts = {a: sum(1 for f in frames if msg.charger_call(f) and f.action == a
                     and f.t >= since) for a in actions}
    (first, fields), others = patterns[0], patterns[1:]
    near = msg.nearest_message(frames, first, fields, since, others=others)
    if near is None:
        return f"no {' or '.join(actions)} arrived"
    f, diff = near
    shown = "; ".join(f"{path}: expected {show(want)}, observed {_json(got)}" for path, want, got in diff)
    arrived = ", ".join(f"{n} {a}" for a, n in counts.items())
    return (f"{arrived} arrived but none matched; nearest, at {_rel(run, f.t)}, differs in {len(diff)} "
            f"field{'s' if len(diff) != 1 else ''} ({shown}): {f.raw[:300]}")


def expect_message(run: ScenarioRun, e: ExpectMessage) -> None:
    (_expect_count if e.count is not None or e.after is not None else _expect_message)(run, e)


@measured("message")
def _expect_message(run: ScenarioRun, e: ExpectMessage, m: Draft) -> None:
    """The charger sent a matching message at or after :func:`anchor` (reordering tolerated: any matching
    message since then counts, also one that came before this line was reached), waiting up to `within`
    from this line (no wait without `within`). With `A {…} or B {…}` a message matching either counts;
    with a count or `within D after M`, see :func:`_expect_count`."""
    since = anchor(run)
    budget = e.within.value if e.within is not None else 0.0
    deadline = run.clock.now() + budget
    m.window = m.span(since, deadline)
    m.subject = _what([(p.action, p.fields) for p in e.patterns])
    if e.within is not None:
        m.limits = (quantity_limit("within", e.within),)
        m.timing = Timing("time to arrive", None, round(deadline - since, 6))
    patterns = _patterns(run, e)
    m.subject = _what(patterns)

    def found() -> Any:
        hits = msg.find_any(run.recorder.frames(station=run.station.id), patterns, since)
        return hits[0] if hits else None

    frame = wait_until(run, found, deadline, e.source)
    if not frame:
        heard_through(run, deadline, e.source)  # (what came before the deadline, read late, may still count)
    placed = place(run, msg.find_any(run.recorder.frames(station=run.station.id), patterns, since), since, deadline)
    arrived = placed.verdict(lambda n: n >= 1)
    if arrived is None:
        raise stalled(run, placed.doubtful[0], e.source, f"expect charger sends {_what(patterns)}", since, deadline)
    frame = placed.certain[0] if arrived else None
    if frame:
        took = frame.t - since
        m.observed = Reading(frame.action or "", round(took, 6), "s",
                             f"{frame.action} after {took:.1f} s", m.rel(frame.t))
        m.samples = 1
        if e.within is not None:
            # `within` counts from this line, the arrival from the preceding action: what was allowed
            # since that action is the time to this line's deadline, and the margin the time left before it
            m.timing = Timing("time to arrive", round(took, 6), round(deadline - since, 6))
            m.margin = margin("at most", took, deadline - since, "s")
        _passed(run, m, f"{frame.action} arrived {took:.1f} s after the preceding action{_schema_words(run, [frame])}")
        return
    frames = run.recorder.frames(station=run.station.id, since=since)
    m.samples = 0
    detail = _nearest(run, frames, patterns, since)
    earlier = msg.find_any(run.recorder.frames(station=run.station.id), patterns)
    if earlier and earlier[0].t < since:
        detail += (f" (a matching {earlier[0].action} arrived at {_rel(run, earlier[0].t)}, before the preceding "
                   f"action began: it does not count)")
    window = f"within {e.within.text}" if e.within is not None else "by now"
    raise _not_sent(run, e.source, f"charger did not send {_what(patterns)} {window} (looking since the preceding "
                                   f"action at {_rel(run, since)}): {detail}", since, deadline)


@measured("count")
def _expect_count(run: ScenarioRun, e: ExpectMessage, m: Draft) -> None:
    """`charger sends exactly|at least|at most N …` and `… within D after M`: the messages matching the
    patterns are counted in a window: from the preceding action (:func:`anchor`) to the end of `within`
    (to now without), or, with `after`, from the first M since the preceding action for D. `at least`
    passes as soon as N arrived; `exactly` and `at most` fail as soon as one too many arrived, and pass
    only when the window is over."""
    since = anchor(run)
    deadline = run.clock.now() + (e.within.value if e.within is not None else 0.0)
    window = f"within {e.within.text}" if e.within is not None else "by now"
    patterns = _patterns(run, e)
    count = e.count or MessageCount("at least", 1)
    m.subject = _what(patterns)
    m.limits = (Limit(count.kind, count.n, "messages", str(count)),)
    m.window = m.span(since, deadline)

    def frames() -> list[Frame]:
        return run.recorder.frames(station=run.station.id)

    if e.after is not None:
        ref = [(e.after.message.action, _bind(run, e.after.message.fields, e.source))]

        def reference() -> Any:
            hits = msg.find_any(frames(), ref, since)
            return hits[0] if hits else None

        y = wait_until(run, reference, deadline, e.source)
        if not y:
            raise _not_sent(run, e.source, f"charger did not send {_what(ref)} {window} (looking since the preceding "
                                           f"action at {_rel(run, since)}), so {_what(patterns)} could not be timed "
                                           f"from it: {_nearest(run, frames(), ref, since)}", since, deadline)
        start, end = y.t, y.t + e.after.within.value
        m.window = m.span(start, end)
        span = (f"within {e.after.within.text} after {_what(ref)} (at {_rel(run, y.t)}; "
                f"{_rel(run, start)} … {_rel(run, end)})")
    else:
        start, end = since, deadline
        span = f"{window} (since the preceding action: {_rel(run, start)} … {_rel(run, end)})"

    def decided() -> Any:
        hits = msg.find_any(frames(), patterns, start, end)
        if count.kind == "at least" and len(hits) >= count.n:
            return ("met", hits)
        if count.kind != "at least" and len(hits) > count.n:
            return ("too many", hits)
        return ("over", hits) if run.clock.now() >= end else None

    verdict, hits = wait_until(run, decided, end, e.source) or ("over", [])
    what = _what(patterns)
    if verdict == "over":
        heard_through(run, end, e.source)
    placed = place(run, msg.find_any(frames(), patterns, start), start, end)
    allowed = placed.verdict(count.allows)
    if allowed is None:
        raise stalled(run, placed.doubtful[0], e.source, f"expect charger sends {count} {what}", start, end)
    if allowed and verdict == "too many":
        verdict = "over"  # (one too many by their stamps, not by when they may have arrived: see `place`)
    # `… within D after M` counts from M itself: where M also matches what is counted, it is among the
    # hits, and the verdict says so (`at least 1 A within D after A` would otherwise read as a second A).
    itself = (f" (counting the {_what(ref)} at {_rel(run, y.t)} that the window starts from)"
              if e.after is not None and any(h.t == y.t and h.raw == y.raw for h in hits) else "")
    m.observed = Reading(what, len(hits), "messages", str(len(hits)), m.rel(hits[0].t) if hits else None)
    m.margin, m.samples = margin(count.kind, len(hits), count.n, "messages"), len(hits)
    if count.allows(len(hits)) and verdict != "too many":
        if count.kind != "at least":  # "no more than N" rests on the ones that did not come
            _silence_heard(run, e.source, start, end, f"{len(hits)} {what} came ({count})", "the window")
        timing = f", the first {hits[0].t - start:.1f} s after the window began" if hits else ""
        _passed(run, m, f"{len(hits)} {what} {span}{timing}{itself}; expected {count}{_schema_words(run, hits)}")
        return
    seen = ", ".join(f"{f.action} at {_rel(run, f.t)}" for f in hits[:5]) + (" …" if len(hits) > 5 else "")
    if hits:
        detail = f"{len(hits)} arrived: {seen}{itself}{_schema_words(run, hits)}"
    else:
        detail = _nearest(run, [f for f in frames() if f.t <= end], patterns, start)
        later = msg.find_any(frames(), patterns, end)
        if later:
            detail += (f"; the first matching one came at {_rel(run, later[0].t)}, "
                       f"{later[0].t - start:.1f} s after the window began")
    text = f"charger sent {len(hits)} {what} {span}; expected {count}: {detail}"
    if len(hits) < count.n:
        raise _not_sent(run, e.source, text, start, end)
    raise ExpectationFailed(e.source, text)


def _json(value: Any) -> str:
    return value if value == msg.MISSING else json.dumps(value, default=str)


_SCHEMA_FINDING = "violates the OCPP 2.0.1 schema"


def _schema_words(run: ScenarioRun, frames: Sequence[Frame]) -> str:
    """'; the one at t=… violates the OCPP 2.0.1 schema (…)': a verdict that rests on messages the charger sent
    says when some of them broke the schema. They count (the charger did send them; strict mode fails the
    scenario on them anyway, having answered CALLERROR), but never silently. `frames`: bench-time frames."""
    flagged: dict[str, str] = {}
    for finding in run.recorder.findings():
        if finding.station == run.station.id and finding.raw and _SCHEMA_FINDING in finding.message:
            raw = finding.raw
            if len(raw) > MAX_FINDING_RAW:  # kept cut short in memory: its beginning names the frame
                raw = raw[:MAX_FINDING_RAW]
            flagged.setdefault(raw, finding.message)
    bad = [(f, flagged.get(f.raw if len(f.raw) <= MAX_FINDING_RAW else f.raw[:MAX_FINDING_RAW])) for f in frames]
    bad = [(f, why) for f, why in bad if why is not None]
    if not bad:
        return ""
    why = bad[0][1]
    detail = why.split(f"{_SCHEMA_FINDING}: ", 1)[-1][:200]
    if len(frames) == 1:
        return f"; it violates the OCPP 2.0.1 schema ({detail})"
    at = ", ".join(_rel(run, g.t) for g, _ in bad[:5]) + (" …" if len(bad) > 5 else "")
    return (f"; {len(bad)} of them ({at}) violate{'s' if len(bad) == 1 else ''} the OCPP 2.0.1 schema "
            f"(the first: {detail})")


@measured("remember")
def remember(run: ScenarioRun, e: Remember, m: Draft) -> None:
    """Keep a field of the first or last matching message of this scenario so far for `remembered "name"`.
    No such message, or one without the field, is the charger's failure: the spec relies on it."""
    pattern = [(e.message.action, _bind(run, e.message.fields, e.source))]
    trial = _trial_start(run, e)
    t0 = run.recorder.t_begin if trial is None else trial  # (in a `repeat` body: this trial's messages)
    frames = run.recorder.frames(station=run.station.id)
    hits = msg.find_any(frames, pattern, t0)
    path = ".".join(e.path)
    m.subject, m.window = f"{path} of the {e.which} {_what(pattern)}", m.span(t0, run.clock.now())
    if not hits:
        where = "scenario" if trial is None else f"trial (since {_rel(run, trial)})"
        raise ExpectationFailed(e.source, f"nothing to remember as \"{e.name}\": no {_what(pattern)} arrived in this "
                                          f"{where} (by {_rel(run, run.clock.now())}): "
                                          f"{_nearest(run, frames, pattern, t0)}")
    f = hits[0] if e.which == "first" else hits[-1]
    found, value = msg.field_at(f.payload, e.path)
    if not found:
        raise ExpectationFailed(e.source, f"the {e.which} {_what(pattern)} (at {_rel(run, f.t)}) has no {path} "
                                          f"to remember as \"{e.name}\": {f.raw[:300]}")
    run.remembered[e.name] = value
    m.observed = Reading(path, value if isinstance(value, str | int | float | bool) else _json(value), "",
                         _json(value), m.rel(f.t))
    # (`remember` does not wait: say so when what it kept came before the previous action, e.g. the last
    # transaction's id while a new one was still to come)
    before = anchor(run)
    earlier = f", before the previous action at {_rel(run, before)}" if f.t < before else ""
    _passed(run, m, f"remembered {path} = {_json(value)} of the {e.which} {e.message.action} "
                    f"(at {_rel(run, f.t)}{earlier}) as \"{e.name}\"{_schema_words(run, [f])}")


@measured("no message")
def expect_no_message(run: ScenarioRun, e: ExpectNoMessage, m: Draft) -> None:
    start = run.clock.now()
    end = start + e.duration.value
    m.subject, m.window = _what([(e.action, e.fields)]), m.span(start, end)
    m.limits = (Limit("==", 0, "messages", f"0 for {e.duration.text}"),)
    fields = _bind(run, e.fields, e.source)

    def bad() -> Any:
        return msg.forbidden(run.recorder.frames(station=run.station.id), e.action, fields, start, end)

    def finished() -> Any:
        return bad() or (run.clock.now() >= end)

    wait_until(run, finished, end, e.source)
    if not bad():
        heard_through(run, end, e.source)
    placed = place(run, msg.forbidden(run.recorder.frames(station=run.station.id), e.action, fields, start), start, end)
    silent = placed.verdict(lambda n: n == 0)
    if silent is None:
        raise stalled(run, placed.doubtful[0], e.source, f"expect no {e.action}", start, end)
    offenders = list(placed.certain)
    m.observed = Reading(e.action, len(offenders), "messages", str(len(offenders)),
                         m.rel(offenders[0].t) if offenders else None)
    m.samples = len(offenders)
    if offenders:
        f = offenders[0]
        raise ExpectationFailed(e.source, f"charger sent {e.action} at {_rel(run, f.t)}, during the "
                                          f"{e.duration.text} in which it must not: {f.raw[:300]}")
    _silence_heard(run, e.source, start, end, f"no {e.action} came", f"the {e.duration.text}")
    _passed(run, m, f"no {e.action} for {e.duration.text} ({_rel(run, start)} … {_rel(run, end)}), connected "
                    "throughout")


def _not_sent(run: ScenarioRun, source: Source, text: str, start: float, end: float) -> ExpectationFailed | BenchError:
    """The verdict on a message that did not come in [start, end] (`text` says so): the charger's failure, also
    when it was not connected for part of it (:func:`_unheard`), except when at the end the charger was not
    connected because the bench refuses its connection or has cut its supply: then it could not have sent it
    (broken, saying what the bench did)."""
    kept = _kept_offline(run)
    if kept:
        return BenchError(source, f"{text}{_unheard(run, start, end)}; and at the end {kept}, so it could not "
                                  "have sent it: not the charger's failure")
    return ExpectationFailed(source, text + _unheard(run, start, end))


def _kept_offline(run: ScenarioRun) -> str:
    """What the bench does now, at the spec's request, that keeps the charger (not connected now) away: it
    refuses the connection or has cut the supply; "" when the charger is connected or nothing keeps it away."""
    if run.harness.connected(run.station.id):
        return ""
    why = [run.harness.bench_refuses()]
    if getattr(run.station, "supply_off", False):
        why.append("the bench cut the charger's supply")
    return "; ".join(w for w in why if w)


def _unheard(run: ScenarioRun, start: float, end: float) -> str:
    """For a message that did not come: when the charger was not connected in [start, end], saying so (it is
    still the charger's failure: a message due is due, however the connection went)."""
    gaps = run.harness.offline_within(run.station.id, start, end)
    return f"; the charger was not connected {_spans(run, gaps)}" if gaps else ""


def _silence_heard(run: ScenarioRun, source: Source, start: float, end: float, came: str, of: str) -> None:
    """A verdict that rests on messages not coming needs the charger connected throughout [start, end]:
    silence from a charger the harness could not hear is no evidence that it sent nothing (broken)."""
    gaps = run.harness.offline_within(run.station.id, start, end)
    if gaps:
        raise BenchError(source, f"{came}, but the charger was not connected {_gap_words(run, gaps, of)}: its "
                                 "silence then is not evidence; judge a window in which it is connected")


@measured("reply")
def expect_reply(run: ScenarioRun, e: ExpectReply, m: Draft) -> None:
    out = run.last_outcome
    if out is None:
        raise BenchError(e.source, "no `csms sends` step precedes this expectation: there is no reply to judge")
    m.subject = f"response to {out.action}"
    got = f"CALLERROR {out.error_code}" if out.error_code else json.dumps(out.response, default=str)
    m.observed = Reading(f"response to {out.action}", got, "", got[:300])
    if e.error is not None:
        m.limits = (Limit("is", f"CALLERROR {e.error}", "", f"CALLERROR {e.error}"),)
        if out.error_code != e.error:
            got = f"CALLERROR {out.error_code}" if out.error_code else f"a result {out.response}"
            raise ExpectationFailed(e.source, f"expected CALLERROR {e.error} to {out.action}, got {got}")
        _passed(run, m, f"{out.action} answered with CALLERROR {e.error}")
        return
    m.limits = (Limit("matches", show(e.fields), "", show(e.fields)),)
    fields = _bind(run, e.fields, e.source)
    if out.error_code is not None:
        raise ExpectationFailed(e.source, f"charger answered {out.action} with CALLERROR {out.error_code} "
                                          f"({out.error_description!r}); expected {show(fields)}")
    if not msg.matches(out.response, fields):
        diff = "; ".join(f"{path}: expected {show(want)}, observed {_json(got)}"
                         for path, want, got in msg.differences(out.response, fields))
        raise ExpectationFailed(e.source, f"charger's {out.action} response {out.response} does not match "
                                          f"{show(fields)} ({diff})")
    _passed(run, m, f"charger's {out.action} response matches {show(fields)}")


def _problems(problems: list[Any]) -> str:
    """Rule violations for a person: each one's own message (action, field, expected, observed, time)."""
    shown = "; ".join(getattr(p, "message", None) or str(p) for p in problems[:5])
    return shown + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")


def _scenario_frames(run: ScenarioRun) -> list[Frame]:
    """This station's frames with times relative to the scenario start, so that rule messages state
    times as the evidence files and every other message do (each frame keeps its recorded wall time)."""
    t0 = run.recorder.t_begin
    return [replace(f, t=f.t - t0) for f in run.recorder.frames(station=run.station.id)]


# `every` for a TransactionEvent means its periodic sampling; state changes come in between by design.
_PERIODIC: dict[str, dict[str, Any]] = {"TransactionEvent": {"triggerReason": "MeterValuePeriodic"}}


@measured("interval")
def expect_interval(run: ScenarioRun, e: ExpectInterval, m: Draft) -> None:
    m.subject = _what([(e.action, e.fields)])
    m.limits = (Limit("every", e.every.value, "s", f"{e.every.text} ± {e.tolerance.text}"),)
    start, end = _window_bounds(run, e.window, e.source)
    m.window = m.span(start, end)
    t0 = run.recorder.t_begin
    # the spec's filter narrows (or overrides) the default
    fields = {**_PERIODIC.get(e.action, {}), **_bind(run, e.fields, e.source)}
    frames = _scenario_frames(run)
    # Which transactions were due to send them, and while (from every frame: a queued Ended still ends one)
    lifetimes = msg.transaction_lifetimes(frames, fields) if e.action == "TransactionEvent" else {}
    spans, offline = _connected_spans(run, start, end)
    if "offline" not in fields:
        # Arrival times say nothing of a schedule across a disconnection: the charger could not send, and
        # what it queued comes in a burst on reconnecting (flagged offline). The connected parts are judged,
        # and a queued message is never timed by its arrival, also when its outage ended before the window.
        frames = [f for f in frames if not (isinstance(f.payload, dict) and f.payload.get("offline") is True)]
    # MeterValues: every EVSE the charger has owes them, each except while its own transaction ran
    due = _due_evses(run, frames, fields) if e.action == "MeterValues" else None
    streams = [due.stream(n) for n in due.evses] if due is not None else []
    excused = due.excused() if due is not None else {}
    problems, timed, owed = [], [], False
    limit = e.every.value + e.tolerance.value
    for a, b in spans:
        problems += msg.intervals(frames, e.action, e.every.value, e.tolerance.value, a - t0, b - t0, fields=fields,
                                  lifetimes=lifetimes, due=streams, excused=excused)
        timed += [f for f in msg.interval_hits(frames, e.action, a - t0, b - t0, fields=fields)
                  if not msg.excused_at(f.t, excused.get(msg.stream_of(f) or "", ()))]
        owed = owed or (b - a > limit if not streams else
                        any(y - x > limit for s in streams
                            for x, y in msg.unexcused(a - t0, b - t0, excused.get(s, ()))))
    if not problems and not timed and not owed:
        # (no message, and none was due: a pass here would have measured nothing)
        connected = sum(b - a for a, b in spans)
        if any(b - a > limit for a, b in spans):  # long enough, but every EVSE was in a transaction
            ran = _excused_words(run, due, start, end)
            raise BenchError(e.source, f"no {e.action} was due in the window ({_rel(run, start)} … {_rel(run, end)}"
                                       f"{_offline_words(run, connected, offline)}): every EVSE held to it was in "
                                       f"a transaction throughout ({ran}), and meter values go in TransactionEvent "
                                       "then (OCPP 2.0.1 J01, TC_J_02_CS): nothing to judge; judge a window in "
                                       "which an EVSE is idle, or TransactionEvent")
        raise BenchError(e.source, f"the window ({end - start:.1f} s{_offline_words(run, connected, offline)}) is "
                                   f"not longer than one interval ({e.every.text} ± {e.tolerance.text}) and no "
                                   f"{e.action} came in it: nothing to judge; judge a longer window")
    # Every message is timed: one the harness read after a stall of its loop arrived when, it cannot tell.
    heard_through(run, end, e.source)
    held = held_up(run, [replace(f, t=f.t + t0) for f in msg.interval_hits(frames, e.action, start - t0, math.inf,
                                                                          fields=fields)], start, end)
    if held:
        raise stalled(run, held, e.source, f"expect charger sends {e.action} every {e.every.text} ± "
                                           f"{e.tolerance.text}", start, end,
                      so="when it arrived cannot be told to within the stall, so neither can its interval")
    _violations(m, problems)
    if problems:
        raise ExpectationFailed(e.source, _problems(problems))
    if offline:
        # The connected parts held; whether the schedule held across the gap nobody saw. (No pass: a charger
        # that went away by itself would pass; no failure: the bench may have dropped it.)
        raise BenchError(e.source, f"{e.action} came every {e.every.text} ± {e.tolerance.text} while the charger "
                                   f"was connected, but the window ({end - start:.1f} s"
                                   f"{_offline_words(run, sum(b - a for a, b in spans), offline)}) has a gap no "
                                   "message could cross: judge a window in which it stays connected")
    _passed(run, m, f"{e.action} every {e.every.text} ± {e.tolerance.text} ({_rel(run, start)} … {_rel(run, end)})"
                    f"{_judged_transactions(run, lifetimes, start, end)}{_judged_evses(run, due, start, end)}"
                    f"{_schema_words(run, [replace(f, t=f.t + t0) for f in timed])}")


def _due_evses(run: ScenarioRun, frames: list[Frame], fields: dict[str, Any]) -> DueEvses:
    """The EVSEs of this station that owe MeterValues (:mod:`runner.csms.meter_evses`), from what chargespec
    knows of them: the bench file, the charger's StatusNotifications since its boot, a device model read in
    this session, the scenario's messages; with the transactions each ran (scenario-relative times)."""
    t0 = run.recorder.t_begin
    config = getattr(run.station, "config", None)
    declared = getattr(config, "evses", None)
    stated = "evses" in getattr(config, "model_fields_set", {"evses"})
    reported = getattr(run.harness, "reported_evses", lambda _sid: [])(run.station.id)
    matrix = features.read_already(run)
    modelled = {v.evse for v in matrix.variables if v.component == "EVSE" and v.evse is not None} if matrix else set()
    book = getattr(run.harness, "transactions", lambda _sid: {})(run.station.id)
    tx_evse = {tid: tx.evse_id for tid, tx in book.items() if tx.evse_id is not None}
    booked = {tid: (tx.started_t - t0 if tx.started_t is not None else -math.inf,
                    tx.ended_t - t0 if tx.ended_t is not None else math.inf) for tid, tx in book.items()}
    idle = [v.actual for v in matrix.find("AlignedDataCtrlr", "SendDuringIdle")] if matrix else []
    return due_evses(frames, fields, declared=declared if isinstance(declared, int) else None,
                     declared_stated=stated, reported=reported, modelled=modelled,
                     transactions=evse_transactions(frames, tx_evse, booked),
                     idle_only=send_during_idle(frames, idle[0] if idle else None))


def _excused_words(run: ScenarioRun, due: DueEvses | None, start: float, end: float) -> str:
    """'EVSE 1 during transaction T1 (from t=… to t=…)', for each EVSE excused while a transaction ran in
    [start, end] (bench time)."""
    if due is None:
        return ""
    t0 = run.recorder.t_begin
    ran = {n: [(tid, span) for tid, span in txs if span[1] + t0 > start and span[0] + t0 < end]
           for n, txs in due.transactions.items()}

    def when(a: float, b: float) -> str:
        return (f"{'from ' + _rel(run, a + t0) if math.isfinite(a) else 'from before the scenario'} "
                f"{'to ' + _rel(run, b + t0) if math.isfinite(b) else 'on'}")

    return "; ".join(f"EVSE {n} during transaction{'s' if len(txs) > 1 else ''} "
                     + ", ".join(f"{tid} ({when(*span)})" for tid, span in txs) for n, txs in ran.items() if txs)


def _judged_evses(run: ScenarioRun, due: DueEvses | None, start: float, end: float) -> str:
    """'; per EVSE: 1, 2, 3 (where that list came from); EVSE 1 not held while …': the EVSEs a MeterValues
    interval check judged, and the transactions in which one was not held to it."""
    if due is None:
        return ""
    ran = _excused_words(run, due, start, end)
    held = f"; not held while a transaction ran (meter values go in TransactionEvent then): {ran}" if ran else ""
    return f"; per EVSE: {', '.join(map(str, due.evses))} ({due.said}){held}"


def _judged_transactions(run: ScenarioRun, lifetimes: dict[str, tuple[float, float]], start: float,
                         end: float) -> str:
    """'; for transaction T1, T2 (began t=…)': the transactions an interval check judged, and when one
    began or ended inside the window (it was held to its own part of it)."""
    t0 = run.recorder.t_begin
    named = []
    for stream, (began, ended) in lifetimes.items():
        if began + t0 >= end or ended + t0 <= start:
            continue
        edges = [f"began {_rel(run, began + t0)}" if began + t0 > start else "",
                 f"ended {_rel(run, ended + t0)}" if ended + t0 < end else ""]
        edge = ", ".join(x for x in edges if x)
        named.append(stream.removeprefix("transaction ") + (f" ({edge})" if edge else ""))
    return f"; for transaction{'s' if len(named) > 1 else ''} {', '.join(named)}" if named else ""


def _connected_spans(run: ScenarioRun, start: float, end: float
                    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """[start, end] split by the harness's connection record: the parts in which the charger was connected,
    and those in which it was not (bench time)."""
    offline = run.harness.offline_within(run.station.id, start, end)
    spans, t = [], start
    for a, b in offline:
        if a > t:
            spans.append((t, a))
        t = max(t, b)
    if end > t:
        spans.append((t, end))
    return spans, offline


def _offline_words(run: ScenarioRun, connected: float, offline: list[tuple[float, float]]) -> str:
    """', judged while the charger was connected: N s; not connected a … b, …', or '' when it was throughout."""
    if not offline:
        return ""
    return f", judged while the charger was connected: {connected:.1f} s; not connected {_spans(run, offline)}"


def _gap_words(run: ScenarioRun, gaps: list[tuple[float, float]], of: str | None = None) -> str:
    """'for N s [of WHAT] (a … b, …)': how long, and when, the charger was not connected."""
    return f"for {sum(b - a for a, b in gaps):.1f} s{f' of {of}' if of else ''} ({_spans(run, gaps)})"


def _spans(run: ScenarioRun, spans: list[tuple[float, float]]) -> str:
    return ", ".join(f"{_rel(run, a)} … {_rel(run, b)}" for a, b in spans[:3]) + (" …" if len(spans) > 3 else "")


@measured("rule")
def expect_rule(run: ScenarioRun, e: ExpectRule, m: Draft) -> None:
    m.subject = e.rule.replace("_", " ") + (f" of {e.action}" if e.action else "")
    m.limits = (Limit("==", 0, "violations", "0"),)
    trial = _trial_start(run, e)
    m.window = m.span(run.recorder.t_begin if trial is None else trial, run.clock.now())
    frames = _scenario_frames(run)
    if trial is not None:  # in a `repeat` body: this trial's messages (an earlier trial's are judged in it)
        frames = [f for f in frames if f.t >= trial - run.recorder.t_begin]
    if e.action is not None:  # `expect every <Action>: …` judges that action's frames only
        frames = [f for f in frames if f.action == e.action]
    if e.fields:  # `expect every <Action> {fields}: …` judges the messages containing those fields only
        fields = _bind(run, e.fields, e.source)
        frames = [f for f in frames if msg.charger_call(f) and msg.matches(f.payload, fields)]
    # (the charger's messages only: the harness's own requests and answers are in the trace too, and a rule
    # that judged none of the charger's has measured nothing, however many frames there were)
    sent = [f for f in frames if f.direction == "rx"] if e.rule == "schema_valid" else \
        [f for f in frames if msg.charger_call(f)]
    what = (e.action or "message") + (f" {show(e.fields)}" if e.fields else "")
    if not sent:  # a rule over no message judged nothing: that is no pass
        m.observed = Reading("messages", 0, "messages", "0")
        where = "scenario" if trial is None else f"trial (since {_rel(run, trial)})"
        raise ExpectationFailed(e.source, f"the charger sent no {what} in this {where}: the rule had nothing "
                                          "to judge")
    allowance = ""  # (what a rule allowed beyond its bound, said with its pass)
    if e.rule == "seqno_increments":
        judged = [f for f in sent if f.action == "TransactionEvent"
                  or (isinstance(f.payload, dict) and "seqNo" in f.payload)]
        problems = sorted([*msg.seqno_increments(judged), *msg.seqno_series(judged)], key=lambda v: v.t or 0.0)
        none = (f"none of the {len(sent)} {what}(s) the charger sent is a TransactionEvent or another message with "
                "a seqNo (NotifyReport, NotifyEvent, ...)")
    elif e.rule == "offline_flagged":
        t0 = run.recorder.t_begin
        outages = [(a - t0, b - t0) for a, b in run.harness.offline_periods(run.station.id)]
        # The charger learns of the dropped link a moment after the harness drops it: the close's transit and
        # its own scheduling, real time (a healthy twin at 60x on a loaded host flagged an event 2 bench s, 33 ms,
        # into the outage as live). The moment not judged is that transit at the clock's speed, at least the
        # bench's OUTAGE_GRACE_S.
        grace = max(msg.OUTAGE_GRACE_S, TRANSIT_REAL_S * run.clock.speed)
        # (all the scenario's messages measure the charger's clock offset, not only the selected ones)
        judged = [f for f, _, _ in msg.events_while_offline(sent, outages, grace_s=grace)]
        problems = msg.offline_flagged(sent, outages, grace_s=grace)
        allowance = (f" (the first {grace:g} s of each outage not judged: the charger learns of a dropped link "
                     f"a moment after it, up to {TRANSIT_REAL_S:g} s of real time at {run.clock.speed:g}x)")
        if not outages:  # no disconnection to replay events from: the scenario never made one
            raise BenchError(e.source, f"the charger was connected throughout this scenario, so no event was "
                                       f"replayed: the rule had nothing to judge ({len(sent)} {what}(s) came "
                                       "live); disconnect it in the scenario (`csms drops the connection`)")
        none = (f"none of the {len(sent)} {what}(s) the charger sent happened while it was not connected "
                f"({_spans(run, [(a + t0, b + t0) for a, b in outages])}; the first "
                f"{grace:g} s of each not judged)")
    elif e.rule == "timestamps_within":
        tol = e.params.get("tolerance")
        judged = msg.timestamped(sent)
        # clock=None: each frame's recorded wall time is the harness clock at its arrival
        transit = TRANSIT_REAL_S * run.clock.speed
        problems = msg.timestamps_within(sent, None, tol.value if tol is not None else 2.0, transit)
        allowance = (f" (a timestamp behind the harness clock is allowed {transit:g} s more for the message's "
                     f"transit: {TRANSIT_REAL_S:g} s of real time at {run.clock.speed:g}x)")
        none = (f"none of the {len(sent)} {what}(s) the charger sent carries a timestamp judged live "
                "(timestamp, generatedAt; a replayed one, offline: true, is exempt)")
    elif e.rule in ("meter_timestamps_aligned", "meter_timestamps_every"):
        aligned = e.rule == "meter_timestamps_aligned"
        interval, tol = e.params["interval"].value, e.params["tolerance"].value
        context = "Sample.Clock" if aligned else msg.DEFAULT_CONTEXT
        window, inside = e.params.get("window"), ""
        if isinstance(window, str):  # `during "w"`: the messages that arrived in it (not a setup's earlier interval)
            start, end = _window_bounds(run, window, e.source)
            t0 = run.recorder.t_begin
            sent = [f for f in sent if start - t0 <= f.t <= end - t0]
            inside = f" during {window!r} ({_rel(run, start)} … {_rel(run, end)})"
        samples = msg.meter_samples(sent, context)
        carrying = list({id(r.frame): r.frame for r in samples}.values())  # (the messages the readings are in)
        if aligned:
            problems, judged = msg.timestamps_aligned(samples, interval, tol), carrying
            allowance = f" ({len(samples)} {context} reading(s) on midnight + k × {interval:g} s within {tol:g} s)"
            none = (f"none of the {len(sent)} {what}(s) the charger sent{inside} carries a {context} meter value "
                    "(meterValue[].timestamp: the clock-aligned readings)")
        else:
            slack = SAMPLING_REAL_S * run.clock.speed
            problems, intervals = msg.timestamps_every(samples, interval, tol, slack)
            judged = carrying if intervals else []
            allowance = (f" ({intervals} interval(s) between {context} readings, {interval:g} s within {tol:g} s "
                         f"and {slack:g} s for the bench's scheduling: {SAMPLING_REAL_S:g} s of real time at "
                         f"{run.clock.speed:g}x)")
            none = (f"no two {context} meter values in one stream (transaction, EVSE) among the {len(sent)} "
                    f"{what}(s) the charger sent{inside} ({len(samples)} reading(s)): no interval between "
                    "timestamps to judge")
    elif e.rule == "schema_valid":
        bound = _bind(run, e.fields, e.source)
        judged = sent
        problems = [f.message for f in run.recorder.findings() if f.station in (None, run.station.id)
                    and _selected_finding(f.raw, e, bound)]
        none = ""
    else:
        raise BenchError(e.source, f"rule {e.rule!r} has no judge in this version of chargespec")
    _violations(m, problems)
    if problems:
        raise ExpectationFailed(e.source, _problems(problems))
    if not judged:
        m.observed = Reading("messages", 0, "messages", "0")
        raise ExpectationFailed(e.source, f"{none}: the rule had nothing to judge")
    _passed(run, m, f"{m.subject}: no violation in {len(judged)} message(s){allowance}")


def _violations(m: Draft, problems: Sequence[Any]) -> None:
    m.observed = Reading("violations", len(problems), "violations", str(len(problems)))
    m.margin = margin("at most", len(problems), 0, "violations")


def _selected_finding(raw: str | None, e: ExpectRule, fields: dict[str, Any]) -> bool:
    """Whether a schema finding is about a message the rule selects (its action and field filter); a
    finding on a frame that cannot be read as a message is kept, as it was before filters existed."""
    if e.action is None and not e.fields:
        return True
    if raw is None:
        return True
    mtype, _, action, payload, _ = parse_frame(raw)
    if action is None:
        return True
    return (e.action is None or action == e.action) and (mtype != 2 or msg.matches(payload, fields))


@measured("trials")
def expect_trials(run: ScenarioRun, e: ExpectTrials, m: Draft) -> None:
    m.subject, m.limits = "trials passed", (quantity_limit(">=", e.at_least),)
    if not run.trials:
        raise BenchError(e.source, "no `repeat` block ran before this criterion")
    passed = sum(run.trials)
    rate = passed / len(run.trials)
    m.observed, m.samples = reading("trials passed", rate, "ratio"), len(run.trials)
    m.margin = margin(">=", rate * 100, e.at_least.value * 100, "%")
    if rate + 1e-12 < e.at_least.value:
        raise ExpectationFailed(e.source, f"{passed} of {len(run.trials)} trials passed ({rate * 100:.1f} %); "
                                          f"at least {e.at_least.value * 100:g} % must")
    _passed(run, m, f"{passed} of {len(run.trials)} trials passed")


JUDGES: dict[type, Callable[[ScenarioRun, Any], None]] = {
    ExpectNow: expect_now, ExpectWithin: expect_within, ExpectSettle: expect_settle, ExpectFor: expect_for,
    ExpectAccuracy: expect_accuracy, ExpectMessage: expect_message, ExpectNoMessage: expect_no_message,
    ExpectReply: expect_reply, ExpectInterval: expect_interval, ExpectRule: expect_rule,
    ExpectTrials: expect_trials, Remember: remember,
}



# ---- records for verdicts no expectation gave ------------------------------------------------------------


def step_failed(run: ScenarioRun, step: Any, error: BaseException) -> None:
    """Record a statement that failed the scenario (the charger refused what it asked: failed) or could
    not be carried out (broken): the verdict's line is in the measurements even when no `expect` gave it."""
    m = draft(run, step, "step")
    m.subject, m.window = step.text, m.span(run.last_action_t or run.clock.now(), run.clock.now())
    run.measured(m.finish("failed" if isinstance(error, ExpectationFailed) else "broken", _fault(error)))


def unrecorded(run: ScenarioRun, failure: BaseException) -> None:
    """At the scenario's end: if its verdict rests on no record yet (a fault between steps, an interruption,
    a teardown failure), record it against the line the failure names, so that every failing scenario has
    its failing record. Failed and broken as runner.plugin's makereport tells them apart; a skip (an
    optional feature the charger lacks) is no verdict on a criterion and leaves no record."""
    import pytest

    if isinstance(failure, NotSupportedByCharger | pytest.skip.Exception | pytest.xfail.Exception):
        return
    verdict = "failed" if isinstance(failure, AssertionError | pytest.fail.Exception) else "broken"
    source = getattr(failure, "source", None)
    if source is None and run.measurements and run.measurements[-1].verdict == verdict:
        return  # a failure that names no line (an interruption) is the last record's
    source = source or run.plan.source
    if any(m.verdict == verdict and m.line == source.line for m in run.measurements):
        return
    m = Draft(spec=source.file, line=source.line, criterion=source.text.strip() or run.plan.name, kind="scenario",
              t0=run.recorder.t_begin, wall=getattr(getattr(run.session, "clock", None), "wall", None))
    m.subject = run.plan.name
    run.measured(m.finish(verdict, _fault(failure, "")))


def strict_protocol_record(run: ScenarioRun, errors: int, failure: ExpectationFailed | None) -> None:
    """Strict mode's implicit criterion (runner.execute.protocol_findings): no frame of the charger broke
    OCPP 2.0.1 in this scenario. Recorded against the scenario's line."""
    src = run.plan.source
    m = Draft(spec=src.file, line=src.line, criterion="every frame the charger sends is valid OCPP 2.0.1 "
              "(strict mode: csms.strict_schema)", kind="rule", t0=run.recorder.t_begin,
              wall=getattr(getattr(run.session, "clock", None), "wall", None))
    m.subject, m.window = "OCPP 2.0.1 protocol", m.span(run.recorder.t_begin, run.clock.now())
    m.limits = (Limit("==", 0, "violations", "0"),)
    m.observed = Reading("protocol errors", errors, "violations", str(errors))
    m.margin = margin("at most", errors, 0, "violations")
    run.measured(m.finish("failed", failure.detail) if failure is not None
                 else m.finish("passed", "no frame of the charger broke OCPP 2.0.1 in this scenario"))
