"""The step library: Python implementations of the language's statements.

The dsl knows each statement's *signature* (`dsl.statements`); here each is bound to what it does on a
bench. A lab adds a statement for its own instrument with :func:`step`, without touching the grammar:

    from runner.steps import step

    @step("load bank sets {power:power}", name="loadbank.sets")
    def loadbank_sets(run, power):
        run.station.session.extra["loadbank"].set_power(power.value)

Step functions receive the :class:`~runner.context.ScenarioRun` and the statement's typed parameters as
keyword arguments (quantities as :class:`dsl.plan.Quantity`, values in canonical units).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from dsl.plan import Action, Quantity
from dsl.steps import builtin_registry
from instruments.errors import InstrumentError
from runner import features, restore
from runner.context import ScenarioRun
from runner.csms.commands import variable_ref
from runner.csms.errors import CsmsBenchFault, CsmsError
from runner.csms.expect import Unbound, bind
from runner.csms.responses import AnswerRule
from runner.errors import BenchError, ExpectationFailed
from runner.feature_matrix import same_value

StepFn = Callable[..., None]
IMPLEMENTATIONS: dict[str, StepFn] = {}

# OCPP 2.0.1 sets no time-to-apply; these are the bench-time budgets the steps themselves wait.
BOOT_TIMEOUT_S = 120.0
STATUS_TIMEOUT_S = 30.0
PLUG_REPORT_WAIT_S = 10.0  # pacing only: how long `ev plugs in` lets an online charger report Occupied
CALL_TIMEOUT_S = 30.0
TX_TIMEOUT_S = 60.0  # (at least REPLY_WAIT_FLOOR_S of real time: see _tx_budget)
REPLAY_CAP_S = 600.0  # `session stops` waits for a replayed backlog before Ended, up to this in all
CABLE_OHMS = 220.0  # a 32 A cable (IEC 61851-1 PP resistor)


def implements(name: str) -> Callable[[StepFn], StepFn]:
    def deco(fn: StepFn) -> StepFn:
        if name in IMPLEMENTATIONS and IMPLEMENTATIONS[name] is not fn:
            raise ValueError(f"statement {name!r} already has an implementation: {IMPLEMENTATIONS[name].__qualname__}")
        IMPLEMENTATIONS[name] = fn
        return fn

    return deco


def step(pattern: str, *, name: str | None = None) -> Callable[[StepFn], StepFn]:
    """Define a new statement (its signature in the language) and its implementation in one place."""

    def deco(fn: StepFn) -> StepFn:
        step_name = name or f"{fn.__module__}.{fn.__name__}"
        builtin_registry().define(pattern, name=step_name)
        return implements(step_name)(fn)

    return deco


def run_action(run: ScenarioRun, action: Action) -> None:
    fn = IMPLEMENTATIONS.get(action.step)
    if fn is None:
        raise BenchError(action.source, f"statement {action.step!r} has no implementation in the step library")
    if not action.step.startswith("expect."):  # a statement that judges is no "previous action" (judge.anchor)
        run.last_action_t = run.clock.now()
    run.action = action
    try:
        fn(run, **dict(action.args))
    except InstrumentError as e:
        raise BenchError(action.source, str(e)) from e
    except CsmsBenchFault as e:  # the harness, its loop or a network fault the spec asked for: nothing judged
        raise BenchError(action.source, f"the bench, not the charger, kept this exchange from happening: {e}") from e
    except CsmsError as e:
        if run.station.supply_off:  # the bench cut its supply: not connected, gone mid-call, silent, all alike
            raise BenchError(action.source, f"{e}; the bench cut the charger's supply in this scenario and has "
                                            "not restored it, so its absence is no evidence") from e
        # The harness is up and the charger is the one not answering or not connected: a charger failure.
        raise ExpectationFailed(action.source, f"the charger did not respond as OCPP requires: {e}") from e
    except (ExpectationFailed, BenchError) as e:
        if e.source is None:
            raise type(e)(action.source, e.detail) from e
        raise


def _csms(run: ScenarioRun, what: str, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one harness exchange on the bench loop, within the call budget."""
    return run.run(coro, bench_timeout=CALL_TIMEOUT_S + 5, what=f"{what} to charger {run.station.id!r}")


def _call(run: ScenarioRun, action: str, payload: Mapping[str, Any]) -> Any:
    return _csms(run, action, run.harness.call(run.station.id, action, dict(payload), timeout_s=CALL_TIMEOUT_S))


def _tx_budget(run: ScenarioRun) -> float:
    """The bench seconds `session starts|stops` waits for the charger's Started or Ended: TX_TIMEOUT_S, and at
    least REPLY_WAIT_FLOOR_S of real time, as the harness waits for an answer. Not a spec's bound but the steps'
    own patience: at twin speeds 60 s is half a real second, which a charger delivering its queued events in
    order (one CALL at a time, each answered across a loaded host) can pass with nothing late in its logic."""
    from runner.csms.harness import floored

    return floored(run.clock, TX_TIMEOUT_S)


def _wait(run: ScenarioRun, done: Callable[[], Any], budget_s: float) -> Any:
    deadline = run.clock.now() + budget_s
    return _wait_until(run, done, lambda: deadline)


def _wait_until(run: ScenarioRun, done: Callable[[], Any], deadline: Callable[[], float]) -> Any:
    """Poll `done` until it is truthy or bench time passes `deadline()` (re-read each time: it may move)."""
    while True:
        run.check_bench()
        got = done()
        if got or run.clock.now() >= deadline():
            return got
        run.recorder.wait(lambda: False, 0.02)


def _status(run: ScenarioRun, evse: int) -> str | None:
    return run.harness.status(run.station.id, evse)


def _status_evidence(run: ScenarioRun, evse: int) -> str:
    """The EVSE's last reported status with the message that reported it (StatusNotification or NotifyEvent)
    and when, for a step's message: `'Occupied' by NotifyEvent (message id 7, ..., received at t=3.2 s)`."""
    reported = run.harness.connector_status(run.station.id, evse)
    if reported is None:
        return "none reported since the charger's boot"
    return reported.evidence(run.recorder.t_begin)


def _transactions(run: ScenarioRun) -> dict[str, Any]:
    return run.harness.transactions(run.station.id)


def _active(run: ScenarioRun, evse: int | None = None) -> Any:
    """The active transaction (TransactionState) on `evse` (any EVSE when None), or None."""
    tx_id = run.harness.active_transaction(run.station.id, evse)
    return _transactions(run).get(tx_id) if tx_id else None


# ---- charger ---------------------------------------------------------------------------------------------


@implements("charger.booted")
def charger_booted(run: ScenarioRun) -> None:
    """The charger is up: connected, its last boot answered Accepted, and no reboot announced since (a
    Reset or a firmware installation that an earlier scenario started is waited for, not mistaken for a
    finished boot); then every EVSE reports Available."""
    sid = run.station.id
    started = run.clock.now()
    up = _wait(run, lambda: run.harness.connected(sid) and run.session.boot_state(sid).settled, BOOT_TIMEOUT_S)
    if not up:
        kept = _bench_kept_from_booting(run)
        raise (BenchError if kept else ExpectationFailed)(
            None, f"charger {sid!r} has not booted {BOOT_TIMEOUT_S:.0f} s after this step began: "
                  f"{_boot_story(run, started)}" + (f"; {kept}: not the charger's failure" if kept else ""))
    evses = range(1, run.station.config.evses + 1)
    ok = _wait(run, lambda: all(_status(run, e) == "Available" for e in evses), STATUS_TIMEOUT_S)
    if not ok:
        seen = "; ".join(f"evse {e}: {_status_evidence(run, e)}" for e in evses)
        raise ExpectationFailed(None, f"charger booted but its EVSEs are not all Available within "
                                      f"{STATUS_TIMEOUT_S:.0f} s (a connector's status counts from a "
                                      f"StatusNotification or a NotifyEvent Connector.AvailabilityState): {seen}")


def _bench_kept_from_booting(run: ScenarioRun) -> str:
    """What the bench does, at the spec's request, that keeps the charger from booting (the harness answers
    its boots Pending or Rejected, or refuses its connection), else ""."""
    sid = run.station.id
    status = run.harness.responses(sid).boot_status
    why = [f"the harness answers its boots {status}, as the spec asked"] if status != "Accepted" else []
    refusing = run.harness.bench_refuses() if not run.harness.connected(sid) else ""
    if run.station.supply_off:
        why.append("the bench cut the charger's supply and has not restored it")
    return "; ".join([*why, refusing] if refusing else why)


def _boot_story(run: ScenarioRun, since: float) -> str:
    """What the harness saw of the charger's boots, for a `charger booted` that timed out."""
    b, sid, t0 = run.session.boot_state(run.station.id), run.station.id, run.recorder.t_begin

    def at(t: float | None) -> str:
        return "never" if t is None else f"t={t - t0:.1f} s"

    parts = [f"connected: {'yes' if run.harness.connected(sid) else 'no'}",
             f"last BootNotification {at(b.requested_t)}", f"last answered Accepted {at(b.accepted_t)}"]
    if b.reboot_t is not None and (b.accepted_t is None or b.reboot_t > b.accepted_t):
        parts.append(f"reboot announced at {at(b.reboot_t)} ({b.reboot_why}), no accepted boot since")
    if b.requested_t is not None and (b.accepted_t is None or b.requested_t > b.accepted_t):
        parts.append(f"the harness answers boots {run.harness.responses(sid).boot_status}")
    return "; ".join(parts)


# ---- the supply ------------------------------------------------------------------------------------------

POWER_PAUSE_S = 5.0  # `charger power cycles`: how long the supply stays off
RECONNECT_TIMEOUT_S = 120.0  # `charger reconnects` without `within`


@implements("charger.loses_power")
def charger_loses_power(run: ScenarioRun) -> None:
    """The supply is cut (the bench's `power` role): the charger stops at once. What it does about it
    (nothing until the power returns) is for expectations to judge."""
    run.station.set_power(False)


@implements("charger.power_returns")
def charger_power_returns(run: ScenarioRun) -> None:
    """The supply is back; returns at once. The charger's boot (BootNotification reason PowerUp) is for
    `charger booted` or an expectation to judge."""
    run.station.set_power(True)


@implements("charger.power_cycles")
def charger_power_cycles(run: ScenarioRun) -> None:
    run.station.set_power(False)
    run.clock.sleep(POWER_PAUSE_S)
    run.station.set_power(True)


@implements("charger.reconnects")
def charger_reconnects(run: ScenarioRun, earliest: Quantity | None = None, timeout: Quantity | None = None) -> None:
    """Wait until the charger's WebSocket connection is open again after it was lost in this scenario
    (dropped, refused, power loss), so that the next line runs the moment it is back. `not before T`: the
    charger must also have waited at least T after losing it (its back-off, Part 4 section 5.3). A charger
    that never lost its connection in the scenario cannot reconnect: the spec asks the wrong thing (broken)."""
    sid = run.station.id
    budget = timeout.value if timeout is not None else RECONNECT_TIMEOUT_S
    lost = run.harness.connection_times(sid)[1]
    if lost is None or lost < run.recorder.t_begin:
        raise BenchError(None, "charger reconnects: the charger's connection was not lost in this scenario, so "
                               "there is no reconnection to wait for (drop it, refuse it, or cut the power first)")

    def back() -> bool:
        opened, closed = run.harness.connection_times(sid)
        return run.harness.connected(sid) and opened is not None and closed is not None and opened > closed

    t0 = run.recorder.t_begin
    if not _wait(run, back, budget):
        refusing = run.harness.bench_refuses()
        if run.station.supply_off:
            refusing = "; ".join(r for r in ("the bench cut the charger's supply and has not restored it", refusing)
                                 if r)
        raise (BenchError if refusing else ExpectationFailed)(
            None, f"the charger did not reconnect within {budget:g} s (connection lost at t={lost - t0:.1f} s)"
                  + (f"; at the deadline {refusing}: not the charger's failure" if refusing else ""))
    opened, closed = run.harness.connection_times(sid)
    assert opened is not None and closed is not None
    after = opened - closed
    if earliest is not None and after < earliest.value:
        raise ExpectationFailed(None, f"the charger reconnected {after:.1f} s after losing its connection "
                                      f"(t={closed - t0:.1f} s to t={opened - t0:.1f} s); not before "
                                      f"{earliest.value:g} s is required")
    run.note(f"charger reconnected at t={opened - t0:.1f} s, {after:.1f} s after losing its connection")


# ---- EV --------------------------------------------------------------------------------------------------


@implements("ev.plugs_in")
def ev_plugs_in(run: ScenarioRun, evse: int = 1) -> None:
    """Cable in (PP), pilot state B. The step drives the EV; whether the charger reports the connector
    Occupied is for `expect ... charger status` to judge. While the charger is online the step gives it
    up to PLUG_REPORT_WAIT_S to report, so that the next step does not race its detection; a report that
    does not come, or a charger that is offline, is noted, never failed here."""
    ev = run.station.ev(evse)
    ev.set_cable(CABLE_OHMS)
    ev.set_state("B")
    if not run.harness.connected(run.station.id):
        run.note(f"EV plugged in on evse {evse} while the charger is offline")
        return
    if not _wait(run, lambda: _status(run, evse) == "Occupied", PLUG_REPORT_WAIT_S):
        run.note(f"charger status evse {evse} was {_status_evidence(run, evse)} {PLUG_REPORT_WAIT_S:.0f} s "
                 "after the EV plugged in (not judged by this step)")


def _ev_load(run: ScenarioRun, current: Quantity, evse: int = 1, phases: int | None = None) -> None:
    ev = run.station.ev(evse)
    if phases == 2:
        raise BenchError(None, "an EV draws on 1 or 3 phases (the EV emulator's LOAD:PHASES), not 2")
    # An EV of fewer phases than the station draws on L1 (docs/ev-emulator-protocol.md, LOAD:PHASES).
    ev.set_current(current.value, min(phases or run.station.config.phases, run.station.config.phases))
    lag = run.session.config.twin.ev_lag_s if run.session.config.twin else 5.0
    ev.follow_pilot(True, lag)
    ev.set_state("C")


@implements("ev.requests")
def ev_requests(run: ScenarioRun, current: Quantity, evse: int = 1, phases: int | None = None) -> None:
    _ev_load(run, current, evse, phases)


@implements("ev.draws")
def ev_draws(run: ScenarioRun, current: Quantity, evse: int = 1, phases: int | None = None) -> None:
    _ev_load(run, current, evse, phases)


@implements("ev.stops_charging")
def ev_stops_charging(run: ScenarioRun, evse: int = 1) -> None:
    run.station.ev(evse).set_state("B")


@implements("ev.unplugs")
def ev_unplugs(run: ScenarioRun, evse: int = 1) -> None:
    ev = run.station.ev(evse)
    ev.set_state("A")
    ev.set_cable(None)
    now = run.clock.now()
    for w in run.windows.values():
        if w.end is None and w.until == "ev unplugs":
            w.end = now
            run.recorder.event("window_close", window=w.name, t_end=now - run.recorder.t_begin)


@implements("ev.disconnects_ev_side")
def ev_disconnects_ev_side(run: ScenarioRun, evse: int = 1) -> None:
    """The cable leaves the EV's inlet but stays in the charger's socket: the charger sees pilot state A
    while its proximity contact (PP) still sees the cable (and keeps it locked if it was)."""
    run.station.ev(evse).set_state("A")


@implements("ev.parks")
def ev_parks(run: ScenarioRun, evse: int = 1) -> None:
    """The EV drives into the EVSE's parking bay (its occupancy sensor sees it)."""
    run.station.parked.add(evse)  # before the line: a half-done request is undone by the return to idle too
    run.station.ev(evse).set_parked(True)


@implements("ev.leaves_bay")
def ev_leaves_bay(run: ScenarioRun, evse: int = 1) -> None:
    run.station.ev(evse).set_parked(False)
    run.station.parked.discard(evse)


# ---- driver at the charger -------------------------------------------------------------------------------


@implements("driver.presents_token")
def driver_presents_token(run: ScenarioRun, token: str, type: str = "ISO14443", evse: int = 1) -> None:
    """The idToken at the charger's own reader (bench role `reader`). Returns once the reader delivered it;
    what the charger does with it (Authorize, a transaction starting or ending, nothing) is for the
    expectations that follow to judge, never this step."""
    try:
        run.station.reader(evse).present(token, type, evse)
    except ValueError as e:  # the reader's own check: e.g. a NoAuthorization token that is not empty
        raise BenchError(None, f"{e}; nothing was presented") from e
    run.note(f"driver presented idToken {token!r} ({type}) for evse {evse}")


@implements("driver.selects")
def driver_selects(run: ScenarioRun, choice: str) -> None:
    """A choice on the charger's own user interface (bench role `ui`), e.g. the catalogue's "select to stop
    all transactions" (TC_C_47_CS). Returns once it is selected; the charger's reaction is for expectations."""
    run.station.user_interface().select(choice)
    run.note(f"driver selected {choice!r} at the charger's user interface")


# ---- sessions --------------------------------------------------------------------------------------------

@implements("session.starts")
def session_starts(run: ScenarioRun, token: str, evse: int = 1) -> None:
    before = set(_transactions(run))
    out = _csms(run, "RequestStartTransaction", run.harness.request_start_transaction(
        run.station.id, token, evse_id=evse, timeout_s=CALL_TIMEOUT_S))
    run.last_outcome = out  # the statement's own call: `expect charger replies` judges this answer, not an older one
    if out.error_code or (out.response or {}).get("status") != "Accepted":
        raise ExpectationFailed(None, f"charger did not accept RequestStartTransaction: "
                                      f"{out.error_code or out.response}")
    # A transaction that began counts even if it has already ended (a CSMS answer rule may deauthorize it at
    # once): whether it should have ended is for the expectations that follow.
    budget = _tx_budget(run)
    tx = _wait(run, lambda: next((t for t in _transactions(run).values()
                                  if t.transaction_id not in before), None), budget)
    if tx is None:
        raise ExpectationFailed(None, f"no TransactionEvent Started within {budget:.0f} s of an accepted "
                                      "RequestStartTransaction")
    run.note(f"transaction {tx.transaction_id} started on evse {tx.evse_id}")


@implements("session.stops")
def session_stops(run: ScenarioRun, evse: int | None = None) -> None:
    tx = _active(run, evse)
    if tx is None:
        where = f" on evse {evse}" if evse is not None else ""
        raise ExpectationFailed(None, f"session stops: the charger has no active transaction{where}")
    out = _csms(run, "RequestStopTransaction", run.harness.request_stop_transaction(
        run.station.id, tx.transaction_id, timeout_s=CALL_TIMEOUT_S))
    run.last_outcome = out
    if out.error_code or (out.response or {}).get("status") != "Accepted":
        raise ExpectationFailed(None, f"charger did not accept RequestStopTransaction for {tx.transaction_id}: "
                                      f"{out.error_code or out.response}")
    sent, patience = run.clock.now(), _tx_budget(run)
    deadline = sent + patience

    def budget() -> float:
        # OCPP delivers queued (offline) events in order before new ones: a charger still replaying a
        # backlog sends Ended after it. So the budget runs from the last replayed event received (at most
        # REPLAY_CAP_S in all), and the verdict does not depend on how fast the backlog crosses the link.
        nonlocal deadline
        if run.clock.now() >= deadline:
            deadline = min(max(deadline, _last_replayed_t(run, tx.transaction_id) + patience),
                           sent + max(REPLAY_CAP_S, patience))
        return deadline

    if not _wait_until(run, lambda: not _transactions(run)[tx.transaction_id].active, budget):
        raise ExpectationFailed(None, f"no TransactionEvent Ended for {tx.transaction_id} within "
                                      f"{patience:.0f} s (after the last replayed event, if any)")


def _last_replayed_t(run: ScenarioRun, tx_id: str) -> float:
    """Arrival (bench time) of the last `offline: true` TransactionEvent of the transaction, or 0."""
    for f in reversed(run.recorder.frames(station=run.station.id)):
        p = f.payload
        if (f.direction == "rx" and f.action == "TransactionEvent" and isinstance(p, dict)
                and p.get("offline") is True and (p.get("transactionInfo") or {}).get("transactionId") == tx_id):
            return f.t
    return 0.0


# ---- CSMS --------------------------------------------------------------------------------------------------

_profile_ids = itertools.count(100)


@implements("csms.sets_profile")
def csms_sets_profile(run: ScenarioRun, purpose: str, evse: int, limit: Quantity, stack: int = 0,
                      **schedule: Any) -> None:
    """`csms sets PURPOSE on evse N: limit L [on P phases] [for T, then L2 …] [at stack level S]
    [, starting in T] [, recurring daily]`: the profile is built on the scenario's clock (runner/schedule_steps.py)."""
    from runner.schedule_steps import periods_of, profile_payload

    tx_id = None
    if purpose == "TxProfile":
        tx = _active(run, evse)
        if tx is None:
            raise ExpectationFailed(None, f"a TxProfile needs an active transaction on evse {evse}; there is none")
        tx_id = tx.transaction_id
    profile = profile_payload(profile_id=next(_profile_ids), purpose=purpose,
                              periods=periods_of({"limit": limit, **schedule}), stack=stack, now=run.clock.wall(),
                              start_s=schedule["start"].value if "start" in schedule else None,
                              recurrency=schedule.get("recurrency"), transaction_id=tx_id)
    run.changes.profiles = True
    out = _csms(run, "SetChargingProfile", run.harness.set_charging_profile(
        run.station.id, 0 if purpose == "ChargingStationMaxProfile" else evse, profile, timeout_s=CALL_TIMEOUT_S))
    run.last_outcome = out
    if out.error_code or (out.response or {}).get("status") != "Accepted":
        raise ExpectationFailed(None, f"charger did not accept SetChargingProfile {purpose} {limit.text}: "
                                      f"{out.error_code or out.response}")


@implements("csms.clears_profiles")
def csms_clears_profiles(run: ScenarioRun) -> None:
    run.last_outcome = _csms(run, "ClearChargingProfile",
                             run.harness.clear_charging_profile(run.station.id, timeout_s=CALL_TIMEOUT_S))


@implements("csms.sends")
def csms_sends(run: ScenarioRun, action: str, fields: Mapping[str, Any] | None = None) -> None:
    try:
        payload = bind(dict(fields or {}), run.remembered)  # `remembered "tx"` values
    except Unbound as err:  # a bench value the bench file does not give (the checker knows every other name)
        from runner.bench_values import unavailable
        raise BenchError(None, unavailable(str(err.args[0]))) from None
    # What the message changes on the charger is remembered, so the return to idle can put it back.
    items = payload.get("setVariableData") if action == "SetVariables" else None
    if isinstance(items, list) and all(isinstance(i, dict) and "component" in i and "variable" in i
                                       for i in items):
        restore.remember_variables(run, items)
    elif action == "ChangeAvailability":
        restore.remember_availability(run, payload)
    elif action == "SetChargingProfile":
        run.changes.profiles = True
    try:
        run.last_outcome = out = _call(run, action, payload)
    except BaseException:
        restore.commit(run, accepted=True)  # unknown whether it was applied: restore to be safe
        raise
    if action == "SetVariables":
        restore.commit(run, accepted=_accepted_variables(out))
    elif action == "ChangeAvailability":
        restore.commit(run, accepted=out.ok and (out.response or {}).get("status") in ("Accepted", "Scheduled"))


def _accepted_variables(out: Any) -> Callable[[str], bool]:
    """Per variable name (restore.VariableOriginal.name): did the SetVariables answer accept it?"""
    accepted = set()
    for r in (out.response or {}).get("setVariableResult") or [] if out.ok else []:
        if r.get("attributeStatus") in ("Accepted", "RebootRequired"):
            original = restore.VariableOriginal({"component": r.get("component") or {},
                                                 "variable": r.get("variable") or {}}, None)
            accepted.add(original.name)
    return lambda name: name in accepted


@implements("csms.drops")
def csms_drops(run: ScenarioRun) -> None:
    run.run(run.harness.drop(run.station.id), bench_timeout=10, what="dropping the charger's connection")


@implements("csms.refuses")
def csms_refuses(run: ScenarioRun, duration: Quantity) -> None:
    run.harness.refuse_reconnects(duration.value)


@implements("csms.drops_and_refuses")
def csms_drops_and_refuses(run: ScenarioRun, duration: Quantity) -> None:
    run.harness.refuse_reconnects(duration.value)
    csms_drops(run)
    run.clock.sleep(duration.value)


@implements("csms.accepts")
def csms_accepts(run: ScenarioRun) -> None:
    run.harness.accept_reconnects()


@implements("csms.sets_variable")
def csms_sets_variable(run: ScenarioRun, variable: str, value: str, evse: int | None = None) -> None:
    if "." not in variable.strip("."):
        raise BenchError(None, f"variable {variable!r} must be Component.Variable, e.g. "
                               "SampledDataCtrlr.TxUpdatedInterval")
    item = variable_ref(variable, evse)  # `Component.Variable[instance]`, `on evse N`
    restore.remember_variables(run, [item])
    try:
        out = _csms(run, "SetVariables", run.harness.set_variables(run.station.id, [{**item, "attributeValue": value}],
                                                                     timeout_s=CALL_TIMEOUT_S))
    except BaseException:
        restore.commit(run, accepted=True)  # unknown whether it was applied: restore to be safe
        raise
    restore.commit(run, accepted=_accepted_variables(out))
    run.last_outcome = out
    results = (out.response or {}).get("setVariableResult") or [{}]
    if out.error_code or results[0].get("attributeStatus") != "Accepted":
        raise ExpectationFailed(None, f"charger did not accept {variable} = {value}: {out.error_code or results}")


@implements("csms.sets_variable_where_writable")
def csms_sets_variable_where_writable(run: ScenarioRun, variable: str, value: str, evse: int | None = None) -> None:
    """The catalogue's "set where writable": as `csms sets variable`, except that a Rejected answer passes when
    GetVariables then reads the value already there (a read-only variable the case can use as it is; the
    `charger supports variable … settable to` prerequisite lets such a charger in)."""
    try:
        csms_sets_variable(run, variable, value, evse)
        return
    except ExpectationFailed as refused:
        if (run.last_outcome.response or {}).get("setVariableResult", [{}])[0].get("attributeStatus") != "Rejected":
            raise
        rejected = refused
    out = _csms(run, "GetVariables", run.harness.get_variables(run.station.id, [variable_ref(variable, evse)],
                                                                 timeout_s=CALL_TIMEOUT_S))
    result = ((out.response or {}).get("getVariableResult") or [{}])[0]
    have = result.get("attributeValue")
    if result.get("attributeStatus") == "Accepted" and have is not None and same_value(have, value):
        run.note(f"{variable} is not writable and already {have!r}: used as it is")
        return
    raise ExpectationFailed(None, f"{rejected.detail}; and it does not already hold {value!r}: GetVariables "
                                  f"answered {out.error_code or result}")


BOOT_STATUSES = ("Accepted", "Pending", "Rejected")
CALLERROR_CODES = ("FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented",
                   "NotSupported", "OccurrenceConstraintViolation", "PropertyConstraintViolation", "ProtocolError",
                   "RpcFrameworkError", "SecurityError", "TypeConstraintViolation")


@implements("csms.answers_boot")
def csms_answers_boot(run: ScenarioRun, status: str, interval: Quantity | None = None) -> None:
    if status not in BOOT_STATUSES:
        raise BenchError(None, f"BootNotification status {status!r} is not one of {', '.join(BOOT_STATUSES)}")
    run.harness.responses(run.station.id).boot(status, round(interval.value) if interval else 300,
                                               since_t=run.clock.now())


@implements("csms.blocks_token")
def csms_blocks_token(run: ScenarioRun, token: str) -> None:
    run.harness.responses(run.station.id).block_tokens(token)


def _answer_rule(run: ScenarioRun, action: str, *, nth: int | None, match: Mapping[str, Any] | None,
                 count: int | None, delay: Quantity | None = None, **answer: Any) -> None:
    """Add an answer rule for this station (runner/csms/responses.py); the return to idle resets them.
    `the Nth` without a count answers that one call only; without either, every call until the reset."""
    if count is None and nth is not None:
        count = 1
    where = f"{run.action.source.line}: " if run.action is not None else ""
    text = where + (run.action.text if run.action is not None else action)
    pattern = bind(match, run.remembered) if match is not None else None
    run.harness.responses(run.station.id).add_rule(AnswerRule(
        action, text=f"line {text}", match=pattern, nth=nth, count=count,
        delay_s=delay.value if delay is not None else 0.0, **answer))


@implements("csms.answers_error")
def csms_answers_error(run: ScenarioRun, action: str, code: str, nth: int | None = None,
                       match: Mapping[str, Any] | None = None, delay: Quantity | None = None,
                       count: int | None = None) -> None:
    if code not in CALLERROR_CODES:
        raise BenchError(None, f"CALLERROR code {code!r} is not an OCPP-J code: {', '.join(CALLERROR_CODES)}")
    _answer_rule(run, action, nth=nth, match=match, count=count, delay=delay, error_code=code)


@implements("csms.answers_with")
def csms_answers_with(run: ScenarioRun, action: str, payload: Mapping[str, Any], nth: int | None = None,
                      match: Mapping[str, Any] | None = None, delay: Quantity | None = None,
                      count: int | None = None) -> None:
    _answer_rule(run, action, nth=nth, match=match, count=count, delay=delay,
                 payload=bind(payload, run.remembered))


@implements("csms.answers_late")
def csms_answers_late(run: ScenarioRun, action: str, delay: Quantity, nth: int | None = None,
                      match: Mapping[str, Any] | None = None, count: int | None = None) -> None:
    _answer_rule(run, action, nth=nth, match=match, count=count, delay=delay)


@implements("csms.does_not_answer")
def csms_does_not_answer(run: ScenarioRun, action: str, nth: int | None = None,
                         match: Mapping[str, Any] | None = None, count: int | None = None) -> None:
    _answer_rule(run, action, nth=nth, match=match, count=count, silent=True)


@implements("csms.reads_device_model")
def csms_reads_device_model(run: ScenarioRun) -> None:
    features.device_model(run, fresh=True)


@implements("charger.reports_required_variables")
def charger_reports_required_variables(run: ScenarioRun) -> None:
    """TC_B_53_CS: every variable the catalogue requires of the core and of each controller reported."""
    matrix = features.device_model(run)
    missing = matrix.missing_required()
    if missing:
        names = ", ".join(f"{r.component}.{r.variable}" + (f"[{r.instance}]" if r.instance else "")
                          for r in missing)
        raise ExpectationFailed(None, f"the FullInventory report lacks {len(missing)} required variable(s) "
                                      f"(OCPP 2.0.1 TC_B_53_CS): {names}")


@implements("charger.reports_characteristics")
def charger_reports_characteristics(run: ScenarioRun) -> None:
    """TC_B_13_CS: every reported variable has variableCharacteristics; list types carry a valuesList."""
    problems = features.device_model(run).characteristics_problems()
    if problems:
        raise ExpectationFailed(None, f"{len(problems)} variable(s) of the FullInventory report break OCPP 2.0.1 "
                                      "TC_B_13_CS's checks: " + "; ".join(problems[:20])
                                      + (f"; … {len(problems) - 20} more" if len(problems) > 20 else ""))


@implements("charger.supports")
def charger_supports(run: ScenarioRun, feature: str) -> None:
    features.require(run, feature)


@implements("charger.supports_variable")
def charger_supports_variable(run: ScenarioRun, variable: str) -> None:
    features.require_variable(run, variable)


@implements("charger.supports_writable")
def charger_supports_writable(run: ScenarioRun, variable: str) -> None:
    features.require_variable(run, variable, writable=True)


@implements("charger.supports_value")
def charger_supports_value(run: ScenarioRun, variable: str, value: str) -> None:
    features.require_variable(run, variable, value=value)


@implements("charger.supports_settable")
def charger_supports_settable(run: ScenarioRun, variable: str, value: str) -> None:
    features.require_variable(run, variable, settable_to=value)


@implements("charger.supports_without_value")
def charger_supports_without_value(run: ScenarioRun, variable: str, value: str) -> None:
    features.require_variable(run, variable, without_value=value)


@implements("charger.supports_capability")
def charger_supports_capability(run: ScenarioRun, capability: str) -> None:
    features.require_capability(run, capability)


@implements("charger.lacks_capability")
def charger_lacks_capability(run: ScenarioRun, capability: str) -> None:
    features.require_capability(run, capability, present=False)


@implements("wait")
def wait(run: ScenarioRun, duration: Quantity) -> None:
    run.clock.sleep(duration.value)


@implements("charger.firmware_matches_bench")
def charger_firmware_matches_bench(run: ScenarioRun) -> None:
    """Acceptance evidence is tied to a firmware release: the one the charger reports at boot must be the
    one the bench file names (firmware drift between the tested and the shipped unit)."""
    expected = run.station.config.firmware
    if not expected:
        raise BenchError(None, f"the bench file names no firmware for station {run.station.id!r} "
                               f"(stations.firmware in {run.session.config.path})")
    reported = run.session.charger_identity_of(run.station.id).get("firmwareVersion")
    if reported is None:
        raise BenchError(None, "the charger has not sent a BootNotification in this run")
    if reported != expected:
        raise ExpectationFailed(None, f"charger reports firmware {reported!r} in its BootNotification; the bench "
                                      f"file expects {expected!r}")
    run.note(f"charger firmware {reported} matches the bench file")


def unimplemented() -> list[str]:
    """Built-in statements the step library has no implementation for (a test keeps this empty)."""
    return sorted({d.name for d in builtin_registry()} - set(IMPLEMENTATIONS))


from runner import ems_steps as _ems_steps  # noqa: E402  (its steps register on import)
from runner import network_steps as _network_steps  # noqa: E402  (its steps register on import)
from runner import schedule_steps as _schedule_steps  # noqa: E402  (its steps register on import)
from runner.proxy import steps as _proxy_steps  # noqa: E402  (its steps register on import)

del _ems_steps, _network_steps, _proxy_steps, _schedule_steps
