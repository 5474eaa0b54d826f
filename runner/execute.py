"""Running a scenario: setup, steps, teardown, in order, against one station of an open bench.

Teardown runs whatever happened before it; afterwards the station is brought back to idle (transaction
stopped, EV unplugged, profiles cleared) so that the next scenario starts clean even after a failure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from dsl.plan import Action, Measure, Repeat, ScenarioPlan, Step
from runner import units
from runner.bench_session import BenchSession
from runner.context import ScenarioRun, Window
from runner.errors import BenchError, ExpectationFailed
from runner.judge import JUDGES
from runner.steps import run_action


def run_steps(run: ScenarioRun, steps: Iterable[Step]) -> None:
    for s in steps:
        run.recorder.event("step", line=s.source.line, text=s.text)
        with run.step_context(s):
            run_step(run, s)
        run.check_bench(s.source)


def run_step(run: ScenarioRun, s: Step) -> None:
    if isinstance(s, Action):
        run_action(run, s)
    elif isinstance(s, Measure):
        measure(run, s)
    elif isinstance(s, Repeat):
        repeat(run, s)
    else:
        judge = JUDGES.get(type(s))
        if judge is None:
            raise BenchError(s.source, f"{type(s).__name__} has no judge in this version of chargespec")
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
    is noted, not failed: the window is then judged on its periodic values."""
    before = len(run.recorder.series(REGISTER)[0])
    try:
        out = run.run(run.harness.trigger_message(run.station.id, "MeterValues", evse_id=evse, timeout_s=30),
                      bench_timeout=35, what="TriggerMessage MeterValues")
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
    for i in range(r.times):
        run.recorder.event("trial", index=i + 1, of=r.times)
        try:
            run_steps(run, r.body)
        except ExpectationFailed as e:
            run.trials.append(False)
            run.note(f"trial {i + 1} of {r.times} failed: {e}")
        else:
            run.trials.append(True)


def return_to_idle(run: ScenarioRun) -> None:
    """Best effort: stop an open transaction, unplug the EV, clear profiles, reconnect. Never raises."""
    harness = run.harness
    with contextlib.suppress(Exception):
        harness.accept_reconnects()
    with contextlib.suppress(Exception):  # answers a scenario configured (Pending boots, blocked tokens, errors)
        harness.responses(run.station.id).reset()
    for tx_id in [t.transaction_id for t in harness.transactions(run.station.id).values() if t.active]:
        with contextlib.suppress(Exception):
            run.run(harness.request_stop_transaction(run.station.id, tx_id, timeout_s=30), bench_timeout=35,
                    what="stopping the transaction left open")
    for ev in run.station.evs.values():
        with contextlib.suppress(Exception):
            ev.set_state("A")
            ev.set_cable(None)
    with contextlib.suppress(Exception):
        run.run(harness.clear_charging_profile(run.station.id, timeout_s=30), bench_timeout=35,
                what="clearing charging profiles")


def execute(session: BenchSession, plan: ScenarioPlan, run: ScenarioRun | None = None) -> ScenarioRun:
    station = session.station()
    run = run or ScenarioRun(plan, session, station)
    # Scenario-start state the record would otherwise lack: the last known connector statuses.
    assert session.harness is not None
    for evse in range(1, station.config.evses + 1):
        status = session.harness.status(station.id, evse)
        if status is not None:
            session.recorder.sample(f"charger.status.evse{evse}", status)
    session.start_sampling(station)
    failure: BaseException | None = None
    try:
        run_steps(run, plan.setup)
        run_steps(run, plan.steps)
    except BaseException as e:
        failure = e
    try:
        run_steps(run, plan.teardown)
    except Exception as e:
        if failure is None:
            failure = e
        else:
            run.note(f"teardown failed too: {e}")
    finally:
        session.stop_sampling(station)
        return_to_idle(run)
    if isinstance(failure, BenchError) or station.broken:
        station.needs_recovery = True
    if failure is None and station.broken:  # a sampler fault after the last check: the record has a gap
        failure = BenchError(plan.source, f"the bench failed while recording: {station.broken[0]}")
    if failure is not None:
        raise failure
    protocol_findings(run)
    return run


def protocol_findings(run: ScenarioRun) -> None:
    """In strict mode (the bench's csms.strict_schema) a frame the charger got wrong fails the scenario
    even when no line of the spec asked about it; in lenient mode findings are warnings in the evidence."""
    if not run.session.config.csms.strict_schema:
        return
    errors = [f for f in run.recorder.findings() if f.severity == "error" and f.station in (None, run.station.id)]
    if errors:
        shown = "; ".join(f"{units.show_t(f.t - run.recorder.t_begin)}: {f.message}" for f in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ExpectationFailed(run.plan.source, f"the charger broke the OCPP 2.0.1 protocol {len(errors)} time(s) "
                                                 f"(strict mode): {shown}{more}")
