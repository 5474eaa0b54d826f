"""Running a scenario: setup, steps, teardown, in order, against one station of an open bench.

Teardown runs whatever happened before it, every line of it even when one fails; each failure is in the
result. Afterwards the station is brought back to idle (transaction stopped, EV unplugged, profiles
cleared, every variable and availability the scenario changed set back to its original), and the
evidence says what was done, so that the next scenario starts clean even after a failure. What it could not
put back is the station's state (runner/leftovers.py): tried again before the next scenario on that station,
which is broken, naming it, if it stays.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from dsl.plan import Action, Measure, Repeat, ScenarioPlan, Step, When
from dsl.stations import named_stations, required_evses, required_stations
from instruments.errors import InstrumentUnsupported
from runner import conditions, restore, units
from runner.bench_session import BenchSession, Station, recording_failed
from runner.context import ScenarioRun, Window
from runner.errors import BenchError, EvseNotOnBench, ExpectationFailed, StationNotOnBench
from runner.judge import JUDGES, locate, step_failed, strict_protocol_record, unrecorded
from runner.leftovers import Left, Leftover, not_restored_message, scenario_label
from runner.recorder import finding_station
from runner.restore import Changes
from runner.steps import run_action


def run_steps(run: ScenarioRun, steps: Iterable[Step]) -> None:
    for s in steps:
        run.recorder.event("step", line=s.source.line, text=s.text)
        with run.step_context(s):
            run_step(run, s)
        run.check_bench(s.source)


def run_step(run: ScenarioRun, s: Step) -> None:
    if isinstance(s, Action | Measure):
        try:
            if isinstance(s, Action):
                with run.on_station(s.station):
                    run_action(run, s)
            else:
                measure(run, s)
        except (ExpectationFailed, BenchError) as e:
            locate(run, s, e)  # on a bench of several: which station's
            step_failed(run, s, e)  # the verdict's line goes into the measurements too
            raise
    elif isinstance(s, Repeat):
        repeat(run, s)
    elif isinstance(s, When):
        decision = conditions.decide(run, s)  # (recorded either way, on the when line: runner/conditions.py)
        if decision.applies:
            try:
                run_steps(run, s.body)
            except (ExpectationFailed, BenchError) as e:
                conditions.explain(s, decision, e)
                raise
    else:
        judge = JUDGES.get(type(s))
        if judge is None:
            raise BenchError(s.source, f"{type(s).__name__} has no judge in this version of chargespec")
        with run.on_station(getattr(s, "station", None)):  # `… on station B`: B's messages are judged
            judge(run, s)


def measure(run: ScenarioRun, m: Measure) -> None:
    if m.window in run.windows:
        raise BenchError(m.source, f"measurement window {m.window!r} is already open in this scenario")
    fresh_register_reading(run)
    w = run.windows[m.window] = Window(m.window, run.clock.now(), until=m.until, source=m.source)
    run.recorder.event("window_open", window=m.window, t_start=w.start - run.recorder.t_begin)
    if m.duration is not None and m.until is None:
        run.clock.sleep(m.duration.value)
        w.end = run.clock.now()
        run.recorder.event("window_close", window=m.window, t_end=w.end - run.recorder.t_begin)
        fresh_register_reading(run)


REGISTER = "charger.Energy.Active.Import.Register"


def fresh_register_reading(run: ScenarioRun, evse: int = 1) -> None:
    """Ask the charger for its meter now (TriggerMessage MeterValues), so a window edge is bracketed by
    close register readings rather than interpolated across a TxUpdatedInterval. A charger that declines
    is noted, not failed: the window is then judged on its periodic values. The bench file can switch it
    off (`csms.trigger_meter_values_at_window_edges = false`), e.g. where the extra MeterValues would
    disturb what a spec counts; docs/language.md, "Measurement windows"."""
    if run.session.config.proxy is not None:  # chargespec is not the CSMS: an injected call, if asked for
        from runner.proxy.metering import edge_trigger
        call = edge_trigger(run, evse)
        if call is None:
            return
    elif not run.session.config.csms.trigger_meter_values_at_window_edges:
        if not any("window edges are interpolated" in n for n in run.notes):
            run.note("no TriggerMessage at window edges (csms.trigger_meter_values_at_window_edges = false): "
                     "window edges are interpolated between periodic meter values")
        return
    else:
        call = run.harness.trigger_message(run.station.id, "MeterValues", evse_id=evse, timeout_s=30)
    before = len(run.recorder.series(REGISTER)[0])
    try:
        out = run.run(call, bench_timeout=35, what="TriggerMessage MeterValues")
    except Exception as e:
        run.note(f"could not trigger a meter reading at a window edge: {e}")
        return
    if out.error_code or (out.response or {}).get("status") != "Accepted":
        run.note(f"charger declined TriggerMessage MeterValues ({out.error_code or out.response}); "
                 "window edges are interpolated between periodic meter values")
        return
    deadline = run.clock.now() + 10.0
    while len(run.recorder.series(REGISTER)[0]) <= before and run.clock.now() < deadline:
        run.recorder.wait(lambda: False, 0.02)


def repeat(run: ScenarioRun, r: Repeat) -> None:
    run.trials = []
    own = trial_windows(r.body)
    for i in range(r.times):
        for name in own:  # each trial measures its own window: the previous trial's is done with
            run.windows.pop(name, None)
        run.recorder.event("trial", index=i + 1, of=r.times)
        try:
            run_steps(run, r.body)
        except ExpectationFailed as e:
            run.trials.append(False)
            run.note(f"trial {i + 1} of {r.times} failed: {e}")
        else:
            run.trials.append(True)


def trial_windows(body: Iterable[Step]) -> frozenset[str]:
    """The windows a `repeat` body opens, nested repeats' and when blocks' included: each trial's own (the
    checker lets no line after the block name them; docs/language.md, "repeat and trials")."""
    names: set[str] = set()
    for s in body:
        if isinstance(s, Measure):
            names.add(s.window)
        elif isinstance(s, Repeat | When):
            names |= trial_windows(s.body)
    return frozenset(names)


# Bench seconds the return to idle waits for a charger that is offline or rebooting before it restores
# what the scenario changed (a reboot is ~10 s on the twin; physical chargers take a minute or two).
RECONNECT_BUDGET_S = 120.0
# Bench seconds it waits for a transaction whose stop the charger did not answer to end on its own (the EV has
# unplugged) before it is left open (runner/leftovers.py).
TX_END_BUDGET_S = 30.0


def return_to_idle(run: ScenarioRun, *, retry: Left | None = None, prefix: str = "return to idle") -> None:
    """Best effort, never raises: reconnects allowed, the harness's configured answers reset, open
    transactions stopped, EVs unplugged, profiles cleared, changed variables and availability restored.
    What was restored (or could not be) is noted in the evidence; what could not be is kept on the station
    (`leftovers`, runner/leftovers.py) for the next scenario on it. `retry`: what an earlier scenario left,
    tried again (run.changes are then its originals still to be set back)."""
    harness, sid, station = run.harness, run.station.id, run.station
    left: list[Leftover] = []
    left_changes = Changes()
    offline = False
    with contextlib.suppress(Exception):
        harness.accept_reconnects()
    if station.supply_off:  # the scenario cut the charger's supply: it comes back (and boots) first
        try:
            station.set_power(True)
        except Exception as e:
            left.append(Leftover("the charger's supply still cut", f"switching it on failed: {e}"))
    with contextlib.suppress(Exception):  # answers a scenario configured (Pending boots, blocked tokens, errors)
        harness.responses(sid).reset()
    active = [t.transaction_id for t in harness.transactions(sid).values() if t.active]
    wait = active or not run.changes.empty() or (retry is not None and retry.offline)
    if wait and not (harness.connected(sid) and run.session.boot_state(sid).settled):
        # The scenario left the charger offline or rebooting: what it changed is undone once it is back.
        up = _wait_for(run, lambda: harness.connected(sid) and run.session.boot_state(sid).settled,
                       RECONNECT_BUDGET_S)
        if not up:
            offline = True
            left.append(Leftover("the charger offline or rebooting",
                                 f"not back online within {RECONNECT_BUDGET_S:.0f} s"))
            run.note(f"{prefix}: the charger was not back online within {RECONNECT_BUDGET_S:.0f} s; "
                     "what the scenario changed may not be restored")
    unanswered: dict[str, str] = {}
    for tx_id in active:
        try:
            out = run.run(harness.request_stop_transaction(sid, tx_id, timeout_s=30), bench_timeout=35,
                          what="stopping the transaction left open")
            if out.error_code:
                unanswered[tx_id] = f"RequestStopTransaction answered {out.error_code}"
        except Exception as e:
            if run.session.config.proxy is None:  # (in proxy mode chargespec sends none: docs/proxy.md)
                unanswered[tx_id] = f"RequestStopTransaction failed: {e}"
    for evse, ev in station.evs.items():
        try:
            ev.set_state("A")
        except Exception as e:
            left.append(Leftover(f"the EV on EVSE {evse} still plugged in", f"the EV emulator: {e}"))
        try:
            ev.set_cable(None)
        except InstrumentUnsupported:
            pass  # an emulator whose cable is fixed in hardware (abcd-ev): no scenario changed it
        except Exception as e:
            left.append(Leftover(f"the EV on EVSE {evse} still with a cable (PP) in", f"the EV emulator: {e}"))
    for evse in sorted(station.parked):  # EVs a scenario parked drive out of their bays
        try:
            station.ev(evse).set_parked(False)
            station.parked.discard(evse)
        except Exception as e:
            left.append(Leftover(f"the EV on EVSE {evse} still parked in its bay", f"the EV emulator: {e}"))

    try:
        out = run.run(harness.clear_charging_profile(sid, timeout_s=30), bench_timeout=35,
                      what="clearing charging profiles")
        status = out.error_code or (out.response or {}).get("status")
        if run.changes.profiles:
            run.note(f"{prefix}: charging profiles cleared ({status})")
            if out.error_code:  # (Unknown: there was none to clear)
                left_changes.profiles = True
                left.append(Leftover("charging profiles not cleared", f"ClearChargingProfile answered {status}"))
    except Exception as e:
        if run.changes.profiles:
            left_changes.profiles = True
            left.append(Leftover("charging profiles not cleared", f"ClearChargingProfile failed: {e}"))
    failed: list[tuple[str, str]] = []
    for line in restore.restore(run, left_changes, failed):
        run.note(f"{prefix}: {line}")
    left += [Leftover(what, why) for what, why in failed]
    if station.ems_touched and station.ems_manager is not None:
        try:  # a fresh EMS: no site limit, no fallback, its heartbeat running
            station.ems_manager.reset()
            station.ems_touched = False
            run.note(f"{prefix}: the EMS is back to no site limit, no fallback, heartbeat running")
        except Exception as e:  # best effort, as the rest of the return to idle
            station.needs_recovery = True
            left.append(Leftover("the EMS not reset", str(e)))
            run.note(f"{prefix}: the EMS could not be reset: {e}")
    def still_open() -> list[str]:
        book = harness.transactions(sid)
        return [t for t in unanswered if (tx := book.get(t)) is not None and tx.active]

    if still_open():  # the EV unplugged: a charger ends the transaction on its own, a moment later
        _wait_for(run, lambda: not still_open(), TX_END_BUDGET_S)
    # (A stop the charger answered, Rejected included, is no leftover: Rejected says it has no such transaction,
    # as after a reboot that lost it; the harness's book is what is stale.)
    left += [Leftover(f"transaction {t} still open", unanswered[t]) for t in still_open()]
    _keep_leftovers(run, retry, tuple(left), left_changes, offline)


def _keep_leftovers(run: ScenarioRun, retry: Left | None, items: tuple[Leftover, ...], changes: Changes,
                    offline: bool) -> None:
    """Keep on the station what this return to idle could not put back (None when nothing), by the scenario
    that left it: this one's, or the retried one's."""
    if not items:
        run.station.leftovers = None
        return
    plan = run.plan
    by = retry.scenario if retry is not None else scenario_label(plan.name, plan.source.file, plan.source.line)
    run.station.leftovers = Left(by, items, changes, offline)
    if retry is None:
        run.note(f"return to idle: station {run.station.id!r} is left changed: {run.station.leftovers.words()}; "
                 "the next scenario on it tries again, and is not run if it stays")


def retry_leftovers(run: ScenarioRun, stations: list[Station]) -> BenchError | None:
    """Before a scenario: what the scenarios before it left on its stations, tried again (its traffic kept in
    the scenario's evidence folder, under return-to-idle-retry/, and out of its judged record). The broken
    verdict naming what stays, or None when every station is back."""
    todo = [st for st in stations if st.leftovers is not None]
    if not todo:
        return None
    recorder = run.recorder
    directory = recorder.directory
    recorder.begin(directory / "return-to-idle-retry" if directory is not None else None)
    try:
        for st in todo:
            left = st.leftovers
            assert left is not None
            if st.needs_recovery:  # the EV emulator the retry works may be the instrument that failed
                run.session.recover(st)
            home, home_changes = run.station, run.changes
            run.station, run.changes = st, left.changes
            try:
                run.note(f"before the scenario: station {st.id!r} was left changed by scenario {left.scenario}: "
                         f"{left.words()}; the return to idle is tried again")
                return_to_idle(run, retry=left, prefix="before the scenario, return to idle again")
            finally:
                run.station, run.changes = home, home_changes
            if st.leftovers is None:
                run.note(f"before the scenario: station {st.id!r} is back to idle")
    finally:
        recorder.begin(directory)  # the scenario's own record (and t=0) starts after the retry
    still = [(st.id, st.leftovers) for st in todo if st.leftovers is not None]
    return BenchError(run.plan.source, "; and ".join(not_restored_message(sid, left) for sid, left in still)) \
        if still else None


def _wait_for(run: ScenarioRun, done: Callable[[], bool], budget_s: float) -> bool:
    deadline = run.clock.now() + budget_s
    while not done():
        if run.clock.now() >= deadline:
            return False
        run.recorder.wait(lambda: False, 0.02)
    return True


def run_teardown(run: ScenarioRun, steps: Iterable[Step]) -> list[Exception]:
    """Every teardown line runs, whatever the one before did; each failure is noted and returned."""
    failures: list[Exception] = []
    for s in steps:
        try:
            run_steps(run, [s])
        except Exception as e:
            failures.append(e)
            run.note(f"teardown line {s.source.line} failed: {e}")
    return failures


def _line(e: Exception) -> str:
    source = getattr(e, "source", None)
    return f"line {source.line}: {getattr(e, 'detail', e)}" if source is not None else str(e)


def _with_teardown(failure: BaseException | None, teardown: list[Exception]) -> BaseException | None:
    """The scenario's outcome with every teardown failure in it. The scenario's own failure keeps its
    verdict; teardown failures alone fail the scenario if any is a charger failure, else break it."""
    if not teardown:
        return failure
    summary = f"teardown failed {len(teardown)} time(s): " + "; ".join(_line(e) for e in teardown)
    if failure is None:
        first = next((e for e in teardown if isinstance(e, ExpectationFailed)), teardown[0])
        kind = ExpectationFailed if isinstance(first, ExpectationFailed) else BenchError
        combined: BaseException = kind(getattr(first, "source", None), summary)
        combined.__cause__ = first
        return combined
    if isinstance(failure, ExpectationFailed | BenchError):
        combined = type(failure)(failure.source, f"{failure.detail}\n  and {summary}")
        if failure.footnote:  # (when the scenario's t=0 was)
            combined.add_note_line(failure.footnote)
        combined.__cause__ = failure.__cause__
        return combined.with_traceback(failure.__traceback__)
    failure.add_note(summary)
    return failure


def name_stations(session: BenchSession, run: ScenarioRun) -> list[Station]:
    """Resolve the stations the scenario's lines name (a BenchError naming the bench's stations when one is
    not on this bench: before anything runs), and tell the recorder where their samples are; the scenario's
    stations, its own first."""
    plan = run.plan
    steps = (*plan.setup, *plan.steps, *plan.teardown)
    for name in sorted(required_stations(steps)):
        if session.config.find_station(name) is None:
            raise StationNotOnBench(f"station {name!r}", f"bench {session.config.name!r} has "
                                                          f"{session.config.station_names()}")
    for name, source in named_stations(steps):
        run.named[name] = session.named_station(name, source or plan.source)
    for name, evse in sorted(required_evses(steps), key=lambda r: (r[0] or "", r[1])):
        station = run.station_for(name)
        if station.config.evses < evse:
            raise EvseNotOnBench(f"EVSE {evse} on station {station.id!r}",
                                 f"bench {session.config.name!r} has evses = {station.config.evses} for it")
    session.recorder.alias_stations({name: session.key_prefix(st.id) for name, st in run.named.items()})
    stations = [run.station]
    stations += [st for st in run.named.values() if all(st is not s for s in stations)]
    return stations


def execute(session: BenchSession, plan: ScenarioPlan, run: ScenarioRun | None = None) -> ScenarioRun:
    station = session.station()
    run = run or ScenarioRun(plan, session, station)
    from runner.proxy.statements import mode_problems
    problems = mode_problems(plan, proxy=session.config.proxy is not None)
    if problems:  # before the bench is touched: every line that cannot run in this mode (proxy or harness)
        failure = BenchError(plan.source, "; ".join(problems))
        unrecorded(run, failure)
        raise failure
    stations = name_stations(session, run)
    left = retry_leftovers(run, stations)
    if left is not None:  # a station still as an earlier scenario left it: this one would be judged on that
        unrecorded(run, left)
        raise left
    # Scenario-start state the record would otherwise lack: the last known connector statuses.
    assert session.harness is not None
    for st in stations:
        for evse in range(1, st.config.evses + 1):
            status = session.harness.status(st.id, evse)
            if status is not None:
                session.recorder.sample(f"{session.key_prefix(st.id)}charger.status.evse{evse}", status)
    for st in stations:
        session.start_sampling(st)
    failure: BaseException | None = None
    try:
        run_steps(run, plan.setup)
        run_steps(run, plan.steps)
    except BaseException as e:
        failure = e
    try:
        failure = _with_teardown(failure, run_teardown(run, plan.teardown))
    finally:
        for st in stations:
            session.stop_sampling(st)
        for st in stations[1:]:  # each named station back to idle too, with what was changed on it
            with run.on_station(next(n for n, s in run.named.items() if s is st)):
                return_to_idle(run)
        return_to_idle(run)
    for st in stations:
        if isinstance(failure, BenchError) or st.broken:
            st.needs_recovery = True
    broken = next((st.broken[0] for st in stations if st.broken), None)
    if failure is None and broken is not None:  # a sampler fault after the last check: the record has a gap
        failure = recording_failed(plan.source, broken, run.recorder.t_begin)
    if session.config.proxy is not None:  # proxy mode: the backend's errors (never the charger's), response times
        from runner.proxy.evidence import after_scenario
        with contextlib.suppress(Exception):
            after_scenario(run)
    failure = _own_faults_first(run, failure)  # a frame chargespec could not handle: broken, never passed or failed
    if failure is not None:
        unrecorded(run, failure)  # the verdict's own record, if no judgement made it
        raise failure
    protocol_findings(run)
    return run


def _own_faults_first(run: ScenarioRun, failure: BaseException | None) -> BaseException | None:
    """The scenario's outcome once chargespec's own faults on the traffic are counted: they break a scenario
    that passed and one that failed alike, since what the charger seemed not to do (a transaction the harness
    never booked, an answer lost with a connection the harness closed) may be the gap they left."""
    own = own_faults(run)
    if own is None:
        return failure
    _unjudge_failures(run)
    if failure is not None and not isinstance(failure, ExpectationFailed):
        return failure
    if isinstance(failure, ExpectationFailed):
        line = f"line {failure.source.line}: " if failure.source is not None else ""
        own = BenchError(None, f"{own.detail}; what looked like the charger's failure is not judged: "
                               f"{line}{failure.detail}")
        own.__cause__ = failure
    return own


def _unjudge_failures(run: ScenarioRun) -> None:
    """The scenario's failed records become broken ("not judged"): with chargespec's own fault on the traffic
    none of them is evidence against the charger, and the record must not say otherwise (measurements.json and
    the verdicts' measurements are read per line)."""
    from dataclasses import replace

    from runner import measurements

    changed = False
    for i, m in enumerate(run.measurements):
        if m.verdict == "failed":
            run.measurements[i] = replace(m, verdict="broken", message="not judged: chargespec failed on the "
                                          f"charger's traffic in this scenario (it read: {m.message})")
            changed = True
    if changed and run.recorder.directory is not None:
        measurements.write(run.recorder.directory, run.measurements)


def own_faults(run: ScenarioRun) -> BenchError | None:
    """The scenario's verdict when chargespec itself failed on the charger's traffic (the CSMS harness or the
    proxy's relay, filed under "<id> (chargespec)"): broken, since what the bench derived from the traffic has
    a gap (None when it did not fail). The stations its lines name count as its own: on a bench of several, a
    fault on another station's traffic that a line judged breaks the scenario as one on the first's."""
    mine = {finding_station(sid, "chargespec") for sid in (run.station.id, *(st.id for st in run.named.values()))}
    faults = [f for f in run.recorder.findings() if f.station in mine and f.severity == "error"]
    if not faults:
        return None
    return BenchError(None, f"chargespec failed on the charger's traffic {len(faults)} time(s) (its own fault, not "
                            "the charger's; the scenario is not judged): " + "; ".join(f.message for f in faults[:3]))


def protocol_findings(run: ScenarioRun) -> None:
    """In strict mode (the bench's csms.strict_schema) a frame the charger got wrong fails the scenario
    even when no line of the spec asked about it; in lenient mode findings are warnings in the evidence."""
    if not run.session.config.csms.strict_schema:
        return
    mine = {None, run.station.id, *(st.id for st in run.named.values())}  # (the stations its lines name too)
    errors = [f for f in run.recorder.findings() if f.severity == "error" and f.station in mine]
    failure = None
    if errors:
        shown = "; ".join(f"{units.show_t(f.t - run.recorder.t_begin)}: {f.message}" for f in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        failure = ExpectationFailed(run.plan.source, f"the charger broke the OCPP 2.0.1 protocol {len(errors)} "
                                                     f"time(s) (strict mode): {shown}{more}")
    strict_protocol_record(run, len(errors), failure)
    if failure is not None:
        raise failure
