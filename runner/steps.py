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
from runner.context import ScenarioRun
from runner.csms.commands import variable_ref
from runner.csms.errors import CsmsError
from runner.csms.expect import bind
from runner.errors import BenchError, ExpectationFailed

StepFn = Callable[..., None]
IMPLEMENTATIONS: dict[str, StepFn] = {}

# OCPP 2.0.1 sets no time-to-apply; these are the bench-time budgets the steps themselves wait.
BOOT_TIMEOUT_S = 120.0
STATUS_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0
TX_TIMEOUT_S = 60.0
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
    run.last_action_t = run.clock.now()
    try:
        fn(run, **dict(action.args))
    except InstrumentError as e:
        raise BenchError(action.source, str(e)) from e
    except CsmsError as e:
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


def _wait(run: ScenarioRun, done: Callable[[], Any], budget_s: float) -> Any:
    deadline = run.clock.now() + budget_s
    while True:
        run.check_bench()
        got = done()
        if got or run.clock.now() >= deadline:
            return got
        run.recorder.wait(lambda: False, 0.02)


def _status(run: ScenarioRun, evse: int) -> str | None:
    return run.harness.status(run.station.id, evse)


def _transactions(run: ScenarioRun) -> dict[str, Any]:
    return run.harness.transactions(run.station.id)


def _active(run: ScenarioRun, evse: int | None = None) -> Any:
    """The active transaction (TransactionState) on `evse` (any EVSE when None), or None."""
    tx_id = run.harness.active_transaction(run.station.id, evse)
    return _transactions(run).get(tx_id) if tx_id else None


# ---- charger ---------------------------------------------------------------------------------------------


@implements("charger.booted")
def charger_booted(run: ScenarioRun) -> None:
    sid = run.station.id
    run.run(run.harness.wait_booted(sid, BOOT_TIMEOUT_S), bench_timeout=BOOT_TIMEOUT_S,
            what=f"waiting for charger {sid!r} to boot")
    evses = range(1, run.station.config.evses + 1)
    ok = _wait(run, lambda: all(_status(run, e) == "Available" for e in evses), STATUS_TIMEOUT_S)
    if not ok:
        seen = {e: _status(run, e) for e in evses}
        raise ExpectationFailed(None, f"charger booted but its EVSEs are not all Available within "
                                      f"{STATUS_TIMEOUT_S:.0f} s: {seen}")


# ---- EV --------------------------------------------------------------------------------------------------


@implements("ev.plugs_in")
def ev_plugs_in(run: ScenarioRun, evse: int = 1) -> None:
    ev = run.station.ev(evse)
    ev.set_cable(CABLE_OHMS)
    ev.set_state("B")
    if not _wait(run, lambda: _status(run, evse) == "Occupied", STATUS_TIMEOUT_S):
        raise ExpectationFailed(None, f"charger status evse {evse} is {_status(run, evse)!r}, not Occupied, "
                                      f"{STATUS_TIMEOUT_S:.0f} s after the EV plugged in")


def _ev_load(run: ScenarioRun, current: Quantity, evse: int = 1) -> None:
    ev = run.station.ev(evse)
    ev.set_current(current.value, run.station.config.phases)
    lag = run.session.config.twin.ev_lag_s if run.session.config.twin else 5.0
    ev.follow_pilot(True, lag)
    ev.set_state("C")


@implements("ev.requests")
def ev_requests(run: ScenarioRun, current: Quantity) -> None:
    _ev_load(run, current)


@implements("ev.draws")
def ev_draws(run: ScenarioRun, current: Quantity) -> None:
    _ev_load(run, current)


@implements("ev.stops_charging")
def ev_stops_charging(run: ScenarioRun) -> None:
    run.station.ev(1).set_state("B")


@implements("ev.unplugs")
def ev_unplugs(run: ScenarioRun) -> None:
    ev = run.station.ev(1)
    ev.set_state("A")
    ev.set_cable(None)
    now = run.clock.now()
    for w in run.windows.values():
        if w.end is None and w.until == "ev unplugs":
            w.end = now
            run.recorder.event("window_close", window=w.name, t_end=now - run.recorder.t_begin)


# ---- sessions --------------------------------------------------------------------------------------------

@implements("session.starts")
def session_starts(run: ScenarioRun, token: str, evse: int = 1) -> None:
    before = set(_transactions(run))
    out = _csms(run, "RequestStartTransaction", run.harness.request_start_transaction(
        run.station.id, token, evse_id=evse, timeout_s=CALL_TIMEOUT_S))
    if out.error_code or (out.response or {}).get("status") != "Accepted":
        raise ExpectationFailed(None, f"charger did not accept RequestStartTransaction: "
                                      f"{out.error_code or out.response}")
    tx = _wait(run, lambda: next((t for t in _transactions(run).values()
                                  if t.transaction_id not in before and t.active), None), TX_TIMEOUT_S)
    if tx is None:
        raise ExpectationFailed(None, f"no TransactionEvent Started within {TX_TIMEOUT_S:.0f} s of an accepted "
                                      "RequestStartTransaction")
    run.note(f"transaction {tx.transaction_id} started on evse {tx.evse_id}")


@implements("session.stops")
def session_stops(run: ScenarioRun) -> None:
    tx = _active(run)
    if tx is None:
        raise ExpectationFailed(None, "session stops: the charger has no active transaction")
    out = _csms(run, "RequestStopTransaction", run.harness.request_stop_transaction(
        run.station.id, tx.transaction_id, timeout_s=CALL_TIMEOUT_S))
    if out.error_code or (out.response or {}).get("status") != "Accepted":
        raise ExpectationFailed(None, f"charger did not accept RequestStopTransaction for {tx.transaction_id}: "
                                      f"{out.error_code or out.response}")
    if not _wait(run, lambda: not _transactions(run)[tx.transaction_id].active, TX_TIMEOUT_S):
        raise ExpectationFailed(None, f"no TransactionEvent Ended for {tx.transaction_id} within {TX_TIMEOUT_S:.0f} s")


# ---- CSMS --------------------------------------------------------------------------------------------------

_profile_ids = itertools.count(100)


@implements("csms.sets_profile")
def csms_sets_profile(run: ScenarioRun, purpose: str, evse: int, limit: Quantity, stack: int = 0) -> None:
    unit = {"current": "A", "power": "W"}.get(limit.dimension)
    if unit is None:
        raise BenchError(None, f"a charging limit is a current or a power, not {limit.text}")
    profile: dict[str, Any] = {
        "id": next(_profile_ids), "stackLevel": stack, "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative" if purpose == "TxProfile" else "Absolute",
        "chargingSchedule": [{"id": 1, "chargingRateUnit": unit,
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": round(limit.value, 1)}]}],
    }
    if purpose != "TxProfile":
        from instruments.clock import iso_utc

        profile["chargingSchedule"][0]["startSchedule"] = iso_utc(run.clock.wall())
    if purpose == "TxProfile":
        tx = _active(run, evse)
        if tx is None:
            raise ExpectationFailed(None, f"a TxProfile needs an active transaction on evse {evse}; there is none")
        profile["transactionId"] = tx.transaction_id
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
    run.last_outcome = _call(run, action, bind(dict(fields or {}), run.remembered))  # `remembered "tx"` values


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
    item = {**variable_ref(variable, evse), "attributeValue": value}  # `Component.Variable[instance]`, `on evse N`
    out = _csms(run, "SetVariables", run.harness.set_variables(run.station.id, [item],
                                                                 timeout_s=CALL_TIMEOUT_S))
    run.last_outcome = out
    results = (out.response or {}).get("setVariableResult") or [{}]
    if out.error_code or results[0].get("attributeStatus") != "Accepted":
        raise ExpectationFailed(None, f"charger did not accept {variable} = {value}: {out.error_code or results}")


BOOT_STATUSES = ("Accepted", "Pending", "Rejected")
CALLERROR_CODES = ("FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented",
                   "NotSupported", "OccurrenceConstraintViolation", "PropertyConstraintViolation", "ProtocolError",
                   "RpcFrameworkError", "SecurityError", "TypeConstraintViolation")


@implements("csms.answers_boot")
def csms_answers_boot(run: ScenarioRun, status: str, interval: Quantity | None = None) -> None:
    if status not in BOOT_STATUSES:
        raise BenchError(None, f"BootNotification status {status!r} is not one of {', '.join(BOOT_STATUSES)}")
    run.harness.responses(run.station.id).boot(status, round(interval.value) if interval else 300)


@implements("csms.blocks_token")
def csms_blocks_token(run: ScenarioRun, token: str) -> None:
    run.harness.responses(run.station.id).block_tokens(token)


@implements("csms.answers_error")
def csms_answers_error(run: ScenarioRun, action: str, code: str) -> None:
    if code not in CALLERROR_CODES:
        raise BenchError(None, f"CALLERROR code {code!r} is not an OCPP-J code: {', '.join(CALLERROR_CODES)}")
    run.harness.responses(run.station.id).inject_error(action, code, "injected by the spec", times=None)


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
