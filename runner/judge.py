"""The expectation engine: judges each `expect` line on the recorded signals and frames.

Every verdict is reproducible from the evidence files: `within` and `for` are judged on the recorded
sample times, not on when Python looked. A failure raises :class:`ExpectationFailed` naming the spec line,
the signal, the bound, the observed value and the bench time; a bench that could not deliver the data
raises :class:`BenchError` (the scenario is broken, not failed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

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
    Signal,
    Source,
    show,
)
from runner import units
from runner.context import ScenarioRun
from runner.csms import expect as msg
from runner.errors import BenchError, ExpectationFailed
from runner.recorder import Frame, parse_frame
from runner.signals import covers, held_from, holds, over_window, settling

POLL_REAL_S = 0.02


def signal_key(signal: Signal) -> str:
    if signal.evse in (None, 1) or signal.source != "analyzer":
        return signal.key
    return signal.key.replace("analyzer.", f"analyzer.evse{signal.evse}.", 1)


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
                       op=cond.op, bound=cond.bound.value, text=cond.bound.text, t_start=start - t0,
                       t_end=end - t0, **{k: v - t0 for k, v in times.items()})


def wait_until(run: ScenarioRun, done: Callable[[], Any], deadline: float, source: Source) -> Any:
    """Poll `done()` until it returns something truthy or bench time passes `deadline`."""
    while True:
        run.check_bench(source)
        result = done()
        if result:
            return result
        if run.clock.now() >= deadline:
            return done()
        run.recorder.wait(lambda: False, POLL_REAL_S)


def _grace(run: ScenarioRun) -> float:
    """Bench seconds to wait past a window for samples in flight: one analyzer update, at least 1 s."""
    intervals = [a.update_interval_s for a in run.station.analyzers.values()] or [1.0]
    return max(1.0, 2 * max(intervals))


def no_samples(run: ScenarioRun, signal: Signal, source: Source, when: str) -> BenchError:
    """The error for a signal nobody recorded. An analyzer poll may still be waiting out its timeout: give
    it that long to report, so the message names the instrument's own fault; else name the instrument."""
    inst = run.station.analyzers.get(signal.evse or 1) if signal.source == "analyzer" else None
    if inst is not None:
        deadline = time.monotonic() + float(inst.options.get("timeout_s", 2.0)) + 0.5
        while time.monotonic() < deadline:
            run.check_bench(source)
            run.recorder.wait(lambda: False, 0.05)
        where = f"; {inst.kind} {inst.name!r} at {inst.address}, last command {inst.last_command!r}"
    else:
        where = ""
    return BenchError(source, f"no samples of {signal.text} ({signal_key(signal)}) were recorded{when}{where}")


# ---- conditions on signals --------------------------------------------------------------------------


def expect_now(run: ScenarioRun, e: ExpectNow) -> None:
    key = signal_key(e.condition.signal)
    last = run.recorder.last(key)
    if last is None:
        wait_until(run, lambda: run.recorder.last(key), run.clock.now() + _grace(run), e.source)
        last = run.recorder.last(key)
    if last is None:
        raise no_samples(run, e.condition.signal, e.source, "")
    t, v = last
    if not holds(e.condition, v):
        raise ExpectationFailed(e.source, f"{e.condition.signal.text} is {units.show(v, e.condition.signal.dimension)}"
                                          f" at {_rel(run, t)}; expected {_bound_text(e.condition)}")


def _first(run: ScenarioRun, key: str, start: float, end: float, verdict: bool,
           condition: Condition) -> tuple[float, Any] | None:
    """The first sample in [start, end] (led by the value held at start) on which the condition is
    `verdict`: True finds compliance, False a violation; a missing value is neither."""
    for t, v in held_from(*run.recorder.series(key), start, end):
        if holds(condition, v) is verdict:
            return t, v
    return None


def expect_within(run: ScenarioRun, e: ExpectWithin) -> None:
    key = signal_key(e.condition.signal)
    t0 = run.clock.now()
    deadline = t0 + e.duration.value
    hit = wait_until(run, lambda: _first(run, key, t0, deadline, True, e.condition), deadline + _grace(run),
                     e.source)
    _bound_event(run, "within", e.source, e.condition, t0, hit[0] if hit else deadline, t_deadline=deadline,
                 **({"t_complied": hit[0]} if hit else {}))
    if hit:
        run.note(f"line {e.source.line}: {e.condition} held after {hit[0] - t0:.1f} s "
                 f"(time to comply; allowed {e.duration.text})")
        return
    inside = held_from(*run.recorder.series(key), t0, deadline)
    if not inside:
        raise no_samples(run, e.condition.signal, e.source, f" in the {e.duration.text} window")
    t_last, v_last = inside[-1]
    raise ExpectationFailed(
        e.source,
        f"{e.condition.signal.text} never {_bound_text(e.condition)} within {e.duration.text} "
        f"({_rel(run, t0)} … {_rel(run, deadline)}, {len(inside)} samples); "
        f"last observed {units.show(v_last, e.condition.signal.dimension)} at {_rel(run, t_last)}")


def expect_for(run: ScenarioRun, e: ExpectFor) -> None:
    key = signal_key(e.condition.signal)
    t0 = run.clock.now()
    end = t0 + e.duration.value

    def finished() -> Any:
        return (_first(run, key, t0, end, False, e.condition)
                or ("done" if run.clock.now() >= end + _grace(run) else None))

    result = wait_until(run, finished, end + _grace(run), e.source)
    _bound_event(run, "for", e.source, e.condition, t0, end)
    if isinstance(result, tuple):
        t, v = result
        raise ExpectationFailed(
            e.source,
            f"{e.condition.signal.text} = {units.show(v, e.condition.signal.dimension)} at {_rel(run, t)} "
            f"({t - t0:.1f} s into the {e.duration.text} hold) violates {_bound_text(e.condition)}")
    n = len(held_from(*run.recorder.series(key), t0, end))
    if n == 0:
        raise no_samples(run, e.condition.signal, e.source, f" during the {e.duration.text} hold")
    run.note(f"line {e.source.line}: {e.condition} held for {e.duration.text} ({n} samples)")


def expect_settle(run: ScenarioRun, e: ExpectSettle) -> None:
    """`expect within T, then for H: C`: a run of samples on which C holds for H without a break, starting
    no later than T after the previous action (:func:`anchor`). Passes as soon as such a run is recorded;
    fails as soon as none can be (at the deadline C does not hold, or the run that started in time broke)."""
    key = signal_key(e.condition.signal)
    dim = e.condition.signal.dimension
    t0 = anchor(run)
    deadline = t0 + e.within.value
    hold = e.hold.value
    grace = _grace(run)

    def decided() -> Any:
        ts, vs = run.recorder.series(key)
        r = settling(ts, vs, e.condition, t0, deadline, hold, run.clock.now() - grace)
        return r if r.state != "pending" else None

    r = wait_until(run, decided, max(run.clock.now(), deadline + hold) + grace, e.source)
    if r is None or r.samples == 0 or (r.state == "never" and r.violation is None):
        raise no_samples(run, e.condition.signal, e.source, f" in the {e.within.text} settle window "
                                                            f"({_rel(run, t0)} … {_rel(run, deadline)})")
    if r.state == "never":
        assert r.violation is not None
        t, v = r.violation
        _bound_event(run, "settle", e.source, e.condition, t0, deadline + hold, t_deadline=deadline)
        run.note(f"line {e.source.line}: {e.condition} did not settle within {e.within.text} of the previous action")
        raise ExpectationFailed(
            e.source,
            f"{e.condition.signal.text} never {_bound_text(e.condition)} within {e.within.text} of the previous "
            f"action ({_rel(run, t0)} … {_rel(run, deadline)}, {r.samples} samples): it did not settle, the "
            f"{e.hold.text} hold never began; last observed {units.show(v, dim)} at {_rel(run, t)} "
            f"(the last violation)")
    assert r.start is not None
    settle_s = r.start - t0
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
            f"{units.show(v, dim)} at {_rel(run, t)}, {t - r.start:.1f} s into the {e.hold.text} hold")
    run.note(f"line {e.source.line}: {e.condition} settled {settle_s:.1f} s after the previous action "
             f"(time to settle; allowed {e.within.text}) and held for {e.hold.text} "
             f"({_rel(run, r.start)} … {_rel(run, r.start + hold)})")


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


def expect_accuracy(run: ScenarioRun, e: ExpectAccuracy) -> None:
    start, end = _window_bounds(run, e.window, e.source)
    m_start, m_end = _window_bounds(run, e.measured_window or e.window, e.source)
    mk, rk = signal_key(e.measured), signal_key(e.reference)

    # Both series must reach past the window end so its boundary can be interpolated; a charger sends its
    # register only every TxUpdatedInterval, so allow a few of those.
    def both_cover() -> bool:
        return covers(*run.recorder.series(mk), m_end) and covers(*run.recorder.series(rk), end)

    wait_until(run, both_cover, run.clock.now() + 120.0, e.source)
    m = over_window(mk, *run.recorder.series(mk), m_start, m_end)
    r = over_window(rk, *run.recorder.series(rk), start, end)
    for sig, val in ((e.measured, m), (e.reference, r)):
        if val is None:
            raise BenchError(e.source, f"not enough samples of {sig.text} ({signal_key(sig)}) to span the window "
                                       f"{_rel(run, start)} … {_rel(run, end)}")
    assert m is not None and r is not None
    dim = e.measured.dimension
    over = f' over "{e.window}"' if e.window else ""
    what = (f"{e.measured.text}{over} = {units.show(m.value, dim)}, "
            f"{e.reference.text}{over} = {units.show(r.value, dim)}")
    span = f"window {_rel(run, start)} … {_rel(run, end)}"
    if e.tolerance.dimension == "ratio":
        if r.value == 0:
            raise BenchError(e.source, f"{what}: the reference is zero, a relative error is undefined ({span})")
        err = (m.value - r.value) / r.value
        ok = abs(err) <= e.tolerance.value + 1e-12
        verdict = f"error {err * 100:+.2f} % (allowed ±{e.tolerance.value * 100:g} %)"
    else:
        err = m.value - r.value
        ok = abs(err) <= e.tolerance.value + 1e-12
        verdict = f"difference {units.show(err, dim)} (allowed ±{units.show(e.tolerance.value, dim)})"
    if not ok:
        raise ExpectationFailed(e.source, f"{what}: {verdict}, {span}")
    run.note(f"line {e.source.line}: {what}: {verdict}, {span}")


# ---- OCPP messages -----------------------------------------------------------------------------------


def _bind(run: ScenarioRun, fields: Any, source: Source) -> Any:
    """`fields` with each `remembered "name"` replaced by the value kept in this scenario."""
    try:
        return msg.bind(fields, run.remembered)
    except msg.Unbound as err:
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
    counts = {a: sum(1 for f in frames if f.direction == "rx" and f.action == a and f.message_type == 2
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
    """The charger sent a matching message at or after :func:`anchor` (reordering tolerated: any matching
    message since then counts, also one that came before this line was reached), waiting up to `within`
    from this line (no wait without `within`). With `A {…} or B {…}` a message matching either counts;
    with a count or `within D after M`, see :func:`_expect_count`."""
    if e.count is not None or e.after is not None:
        _expect_count(run, e)
        return
    since = anchor(run)
    budget = e.within.value if e.within is not None else 0.0
    deadline = run.clock.now() + budget
    patterns = _patterns(run, e)

    def found() -> Any:
        hits = msg.find_any(run.recorder.frames(station=run.station.id), patterns, since)
        return hits[0] if hits else None

    frame = wait_until(run, found, deadline, e.source)
    if frame:
        run.note(f"line {e.source.line}: {frame.action} arrived {frame.t - since:.1f} s after the preceding action")
        return
    frames = run.recorder.frames(station=run.station.id, since=since)
    detail = _nearest(run, frames, patterns, since)
    earlier = msg.find_any(run.recorder.frames(station=run.station.id), patterns)
    if earlier and earlier[0].t < since:
        detail += (f" (a matching {earlier[0].action} arrived at {_rel(run, earlier[0].t)}, before the preceding "
                   f"action began: it does not count)")
    window = f"within {e.within.text}" if e.within is not None else "by now"
    raise ExpectationFailed(e.source, f"charger did not send {_what(patterns)} {window} "
                                      f"(looking since the preceding action at {_rel(run, since)}): {detail}")


def _expect_count(run: ScenarioRun, e: ExpectMessage) -> None:
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

    def frames() -> list[Frame]:
        return run.recorder.frames(station=run.station.id)

    if e.after is not None:
        ref = [(e.after.message.action, _bind(run, e.after.message.fields, e.source))]

        def reference() -> Any:
            hits = msg.find_any(frames(), ref, since)
            return hits[0] if hits else None

        y = wait_until(run, reference, deadline, e.source)
        if not y:
            raise ExpectationFailed(e.source, f"charger did not send {_what(ref)} {window} (looking since the "
                                              f"preceding action at {_rel(run, since)}), so {_what(patterns)} "
                                              f"could not be timed from it: {_nearest(run, frames(), ref, since)}")
        start, end = y.t, y.t + e.after.within.value
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
    if count.allows(len(hits)) and verdict != "too many":
        timing = f", the first {hits[0].t - start:.1f} s after the window began" if hits else ""
        run.note(f"line {e.source.line}: {len(hits)} {what} {span}{timing}; expected {count}")
        return
    seen = ", ".join(f"{f.action} at {_rel(run, f.t)}" for f in hits[:5]) + (" …" if len(hits) > 5 else "")
    if hits:
        detail = f"{len(hits)} arrived: {seen}"
    else:
        detail = _nearest(run, [f for f in frames() if f.t <= end], patterns, start)
        later = msg.find_any(frames(), patterns, end)
        if later:
            detail += (f"; the first matching one came at {_rel(run, later[0].t)}, "
                       f"{later[0].t - start:.1f} s after the window began")
    raise ExpectationFailed(e.source, f"charger sent {len(hits)} {what} {span}; expected {count}: {detail}")


def _json(value: Any) -> str:
    return value if value == msg.MISSING else json.dumps(value, default=str)


def remember(run: ScenarioRun, e: Remember) -> None:
    """Keep a field of the first or last matching message of this scenario so far for `remembered "name"`.
    No such message, or one without the field, is the charger's failure: the spec relies on it."""
    pattern = [(e.message.action, _bind(run, e.message.fields, e.source))]
    t0 = run.recorder.t_begin
    frames = run.recorder.frames(station=run.station.id)
    hits = msg.find_any(frames, pattern, t0)
    path = ".".join(e.path)
    if not hits:
        raise ExpectationFailed(e.source, f"nothing to remember as \"{e.name}\": no {_what(pattern)} arrived in this "
                                          f"scenario (by {_rel(run, run.clock.now())}): "
                                          f"{_nearest(run, frames, pattern, t0)}")
    f = hits[0] if e.which == "first" else hits[-1]
    found, value = msg.field_at(f.payload, e.path)
    if not found:
        raise ExpectationFailed(e.source, f"the {e.which} {_what(pattern)} (at {_rel(run, f.t)}) has no {path} "
                                          f"to remember as \"{e.name}\": {f.raw[:300]}")
    run.remembered[e.name] = value
    run.note(f"line {e.source.line}: remembered {path} = {_json(value)} of the {e.which} {e.message.action} "
             f"(at {_rel(run, f.t)}) as \"{e.name}\"")


def expect_no_message(run: ScenarioRun, e: ExpectNoMessage) -> None:
    start = run.clock.now()
    end = start + e.duration.value
    fields = _bind(run, e.fields, e.source)

    def bad() -> Any:
        return msg.forbidden(run.recorder.frames(station=run.station.id), e.action, fields, start, end)

    def finished() -> Any:
        return bad() or (run.clock.now() >= end)

    wait_until(run, finished, end, e.source)
    offenders = bad()
    if offenders:
        f = offenders[0]
        raise ExpectationFailed(e.source, f"charger sent {e.action} at {_rel(run, f.t)}, during the "
                                          f"{e.duration.text} in which it must not: {f.raw[:300]}")


def expect_reply(run: ScenarioRun, e: ExpectReply) -> None:
    out = run.last_outcome
    if out is None:
        raise BenchError(e.source, "no `csms sends` step precedes this expectation: there is no reply to judge")
    if e.error is not None:
        if out.error_code != e.error:
            got = f"CALLERROR {out.error_code}" if out.error_code else f"a result {out.response}"
            raise ExpectationFailed(e.source, f"expected CALLERROR {e.error} to {out.action}, got {got}")
        return
    fields = _bind(run, e.fields, e.source)
    if out.error_code is not None:
        raise ExpectationFailed(e.source, f"charger answered {out.action} with CALLERROR {out.error_code} "
                                          f"({out.error_description!r}); expected {show(fields)}")
    if not msg.matches(out.response, fields):
        diff = "; ".join(f"{path}: expected {show(want)}, observed {_json(got)}"
                         for path, want, got in msg.differences(out.response, fields))
        raise ExpectationFailed(e.source, f"charger's {out.action} response {out.response} does not match "
                                          f"{show(fields)} ({diff})")


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


def expect_interval(run: ScenarioRun, e: ExpectInterval) -> None:
    start, end = _window_bounds(run, e.window, e.source)
    t0 = run.recorder.t_begin
    # the spec's filter narrows (or overrides) the default
    fields = {**_PERIODIC.get(e.action, {}), **_bind(run, e.fields, e.source)}
    problems = msg.intervals(_scenario_frames(run), e.action, e.every.value, e.tolerance.value,
                             start - t0, end - t0, fields=fields)
    if problems:
        raise ExpectationFailed(e.source, _problems(problems))


def expect_rule(run: ScenarioRun, e: ExpectRule) -> None:
    frames = _scenario_frames(run)
    if e.action is not None:  # `expect every <Action>: …` judges that action's frames only
        frames = [f for f in frames if f.action == e.action]
    if e.fields:  # `expect every <Action> {fields}: …` judges the messages containing those fields only
        fields = _bind(run, e.fields, e.source)
        frames = [f for f in frames if f.message_type == 2 and msg.matches(f.payload, fields)]
    if e.rule == "seqno_increments":
        problems = msg.seqno_increments(frames)
    elif e.rule == "offline_flagged":
        t0 = run.recorder.t_begin
        problems = msg.offline_flagged(frames, [(a - t0, b - t0) for a, b in
                                                run.harness.offline_periods(run.station.id)])
    elif e.rule == "timestamps_within":
        tol = e.params.get("tolerance")
        # clock=None: each frame's recorded wall time is the harness clock at its arrival
        problems = msg.timestamps_within(frames, None, tol.value if tol is not None else 2.0)
    elif e.rule == "schema_valid":
        bound = _bind(run, e.fields, e.source)
        problems = [f.message for f in run.recorder.findings() if f.station in (None, run.station.id)
                    and _selected_finding(f.raw, e, bound)]
    else:
        raise BenchError(e.source, f"rule {e.rule!r} has no judge in this version of chargespec")
    if problems:
        raise ExpectationFailed(e.source, _problems(problems))


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


def expect_trials(run: ScenarioRun, e: ExpectTrials) -> None:
    if not run.trials:
        raise BenchError(e.source, "no `repeat` block ran before this criterion")
    passed = sum(run.trials)
    rate = passed / len(run.trials)
    if rate + 1e-12 < e.at_least.value:
        raise ExpectationFailed(e.source, f"{passed} of {len(run.trials)} trials passed ({rate * 100:.1f} %); "
                                          f"at least {e.at_least.value * 100:g} % must")
    run.note(f"line {e.source.line}: {passed} of {len(run.trials)} trials passed")


JUDGES: dict[type, Callable[[ScenarioRun, Any], None]] = {
    ExpectNow: expect_now, ExpectWithin: expect_within, ExpectSettle: expect_settle, ExpectFor: expect_for,
    ExpectAccuracy: expect_accuracy, ExpectMessage: expect_message, ExpectNoMessage: expect_no_message,
    ExpectReply: expect_reply, ExpectInterval: expect_interval, ExpectRule: expect_rule,
    ExpectTrials: expect_trials, Remember: remember,
}

