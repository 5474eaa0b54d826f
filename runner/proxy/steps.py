"""The proxy-mode statements (docs/proxy.md): chargespec's own call, and waiting for the backend's.

    csms injects TriggerMessage {requestedMessage: "StatusNotification"}
    expect charger replies {status: "Accepted"}
    wait up to 60 s for backend to send SetChargingProfile {chargingProfile: {chargingProfilePurpose: "TxProfile"}}
    expect charger replies {status: "Accepted"}

`csms injects` sends a CSMS-initiated call from chargespec itself; the charger's answer is consumed (the
backend never sees either) and the evidence marks it (`proxy.injected`). `wait for backend to send` takes the
first backend call of the scenario matching the pattern that no earlier such statement took (waiting for it
if it has not come yet; a call the backend sent before the statement is not missed), then waits for the
charger's answer to it; `expect charger replies` judges that answer as it judges the answer to `csms sends`.
Both statements need proxy mode: on the harness they are a usage error, as `csms sends` is one in proxy mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.context import ScenarioRun
from runner.csms import expect as msg
from runner.csms.harness import REPLY_WAIT_FLOOR_S, floored
from runner.csms.schemas import UnknownSchema, validate
from runner.csms.session import CallOutcome
from runner.errors import BenchError, ExpectationFailed
from runner.proxy.harness import ProxyHarness
from runner.proxy.timing import (
    Pending,
    Relayed,
    answer_times,
    delivered,
    pending_calls,
    percentile,
    relayed,
    undelivered,
)
from runner.recorder import CALL, CALLERROR, CALLRESULT, Frame
from runner.steps import CALL_TIMEOUT_S, _csms, _wait, implements

DEFAULT_WAIT_S = 60.0


def _floored(run: ScenarioRun, budget_s: float) -> tuple[float, str]:
    """The bench seconds to wait for `budget_s`: at least REPLY_WAIT_FLOOR_S of real time, as the harness waits
    for a charger's answer (runner/csms/harness.py). At twin speeds a bench budget is a fraction of a real
    second (30 s at 60x: 0.5 s), which a loaded host's scheduling stall, or a message on its way, can pass:
    the backend's call or the charger's answer would read as never sent. With the words that say so."""
    waited = floored(run.clock, budget_s)
    said = (f" (waited {waited:g} s of bench time: at least {REPLY_WAIT_FLOOR_S:g} s of real time at "
            f"{run.clock.speed:g}x)" if waited > budget_s else "")
    return waited, said


def _proxy(run: ScenarioRun, statement: str) -> ProxyHarness:
    harness = run.harness
    if not isinstance(harness, ProxyHarness):
        raise BenchError(None, f"`{statement}` needs proxy mode (`chargespec run --proxy-to URL` or the bench "
                               "file's [proxy] table); on the harness, write `csms sends …`")
    return harness


@implements("proxy.injects")
def csms_injects(run: ScenarioRun, action: str, fields: Mapping[str, Any] | None = None) -> None:
    harness = _proxy(run, "csms injects")
    run.last_outcome = _csms(run, f"injected {action}", harness.inject(run.station.id, action, dict(fields or {}),
                                                                       timeout_s=CALL_TIMEOUT_S))


@implements("proxy.backend_sends")
def backend_sends(run: ScenarioRun, action: str, match: Mapping[str, Any] | None = None,
                  timeout: Any = None) -> None:
    _proxy(run, "wait for backend to send")
    budget = float(timeout.value) if timeout is not None else DEFAULT_WAIT_S
    pattern = dict(match or {})
    injected = {e.get("unique_id") for e in run.recorder.events("proxy.injected")}
    # The backend calls earlier such statements of this scenario took (kept on the run, which ends with it).
    taken: set[str] = run.__dict__.setdefault("_proxy_taken", set())

    def calls(readable: bool = True) -> list[Frame]:
        # A call OCPP-J cannot read (its message id not a string, its payload no object) is no call the charger
        # can answer as asked: never taken, else its CALLERROR or silence would be held against the charger.
        return [f for f in run.recorder.frames(station=run.station.id, since=run.recorder.t_begin)
                if f.direction == "tx" and f.message_type == CALL and f.action == action and f.unique_id not in taken
                and f.unique_id not in injected and msg.matches(f.payload, pattern)
                and (isinstance(f.unique_id, str) and isinstance(f.payload, dict)) == readable]

    def sent() -> Frame | None:   # (one the relay could not pass on never reached the charger: not taken)
        lost = undelivered(run.recorder, run.station.id)
        return next((f for f in calls() if delivered(f, lost)), None)

    waited, said = _floored(run, budget)
    call = _wait(run, sent, waited)
    if call is None:
        # The backend, not the charger, did not do its part: nothing of the charger's to judge.
        matching = f" matching {pattern}" if pattern else ""
        lost = [f for f in calls() if not delivered(f, undelivered(run.recorder, run.station.id))]
        never = (f"; {len(lost)} such call(s) never reached the charger (its connection was gone; message id "
                 f"{lost[0].unique_id})") if lost else ""
        malformed = calls(readable=False)
        if malformed:
            never += (f"; {len(malformed)} such frame(s) malformed, no OCPP-J call the charger could answer "
                      f"(the backend's, at t={malformed[0].t:.3f} s)")
        raise BenchError(None, f"the backend sent no (further) {action}{matching} within {budget:g} s{said}{never}: "
                               "nothing to judge")

    def answered() -> Frame | None:
        for f in run.recorder.frames(station=run.station.id, since=call.t):
            if f.direction == "rx" and f.message_type in (CALLRESULT, CALLERROR) and f.unique_id == call.unique_id:
                return f
        return None

    taken.add(call.unique_id or "")
    answer_wait, answer_said = _floored(run, CALL_TIMEOUT_S)
    answer = _wait(run, answered, answer_wait)
    if answer is None and not delivered(call, undelivered(run.recorder, run.station.id)):
        raise BenchError(None, f"the backend's {action} (message id {call.unique_id}) never reached the charger "
                               "(its connection was gone when the relay passed it on): nothing to judge")
    if answer is None:
        gaps = run.harness.offline_within(run.station.id, call.t, run.clock.now())
        if gaps:  # its silence while its connection was down (the bench's or the backend's doing, or its own)
            raise BenchError(None, f"the charger did not answer the backend's {action} (message id "
                                   f"{call.unique_id}), but it was not connected for {sum(b - a for a, b in gaps):.1f} "
                                   f"s of the {answer_wait:g} s after it: its silence then is not evidence")
        raise ExpectationFailed(None, f"the charger did not answer the backend's {action} (message id "
                                      f"{call.unique_id}) within {CALL_TIMEOUT_S:g} s{answer_said}")
    payload = call.payload if isinstance(call.payload, dict) else {}
    if answer.message_type == CALLERROR:
        err = answer.payload if isinstance(answer.payload, dict) else {}
        _refused_a_bad_call(action, call, answer, payload)
        run.last_outcome = CallOutcome(action, payload, None, answer.error_code, err.get("description"),
                                       call.t, answer.t, err.get("details"), call.unique_id or "")
    else:
        run.last_outcome = CallOutcome(action, payload, answer.payload, None, None, call.t, answer.t, None,
                                       call.unique_id or "")


def _refused_a_bad_call(action: str, call: Frame, answer: Frame, payload: dict[str, Any]) -> None:
    """A CALLERROR to a backend call that violates the OCPP 2.0.1 schema may be the charger rightly refusing it
    (OCPP-J §4.1.7): no evidence against the charger either way, so broken, naming the backend's fault."""
    try:
        problems = validate(action, "request", payload)
    except UnknownSchema:
        return
    if problems:
        raise BenchError(None, f"the charger answered the backend's {action} (message id {call.unique_id}) with "
                               f"CALLERROR {answer.error_code}, and that call violates the OCPP 2.0.1 schema ("
                               + "; ".join(p.message for p in problems[:3]) + "): the charger may rightly refuse "
                               "it, so its answer is no evidence (the backend's fault): nothing to judge")


def _bound(run: ScenarioRun, side: str, action: str, bound: Any, nth: int | None) -> None:
    """Every (or the nth-percentile) response time of `side` to `action` in this scenario so far, bounded."""
    _proxy(run, f"{side} answers … within")
    if nth is not None and not 1 <= nth <= 100:
        raise BenchError(None, f"the {nth}th percentile: a percentile is 1 to 100")
    injected = {e.get("unique_id") for e in run.recorder.events("proxy.injected")}
    key = (side, action)

    def frames() -> list[Frame]:
        return run.recorder.frames(station=run.station.id, since=run.recorder.t_begin)

    def relay() -> Relayed:   # calls the relay never passed on or held, and the connection's closes
        return relayed(run.recorder, run.station.id)

    # A call still in flight is judged too: wait for its answer until it is older than the bound, when its
    # response time is over the bound whatever it turns out to be (never judged on the answers so far alone).
    # A call whose connection closed first gets no answer: it is settled at once.
    def open_calls() -> list[Pending]:
        return pending_calls(frames(), injected, relay()).get(key, [])

    def settled() -> bool:
        now = run.clock.now()
        return all(p.closed_t is not None or now - p.t > bound.value for p in open_calls())

    in_flight = [p.t for p in open_calls() if p.closed_t is None]
    if in_flight:
        _wait(run, settled, max(0.0, bound.value - (run.clock.now() - min(in_flight))) + 0.001)
    now = run.clock.now()
    answered = answer_times(frames(), injected, relay()).get(key, [])
    still = open_calls()
    late = [now - p.t for p in still if p.closed_t is None]
    # Open when the connection closed (whoever closed it): not answered because of the close. Unanswered
    # while connected for longer than the bound is over it all the same (counted at its age at the close);
    # a shorter wait says nothing of the answer that never came: left out, and said so.
    cut_over = [p.closed_t - p.t for p in still if p.closed_t is not None and p.closed_t - p.t > bound.value]
    cut_short = sum(p.closed_t is not None and p.closed_t - p.t <= bound.value for p in still)
    times = answered + late + cut_over
    if not times:
        closed = (f" ({cut_short} call(s) open when the connection closed: not answered because of the close)"
                  if cut_short else "")
        raise BenchError(None, f"no {action} answered by the {side} in this scenario so far{closed}: no response "
                               "time to judge")
    q = nth or 100
    observed = max(times) if q == 100 else percentile(times, q)
    what = "every response" if q == 100 else f"the {q}th percentile"
    figures = (f"n={len(times)}, p50 {percentile(times, 50):.3f} s, p95 {percentile(times, 95):.3f} s, "
               f"max {max(times):.3f} s" + (f", {len(late)} still unanswered (counted at their age, "
                                             "already over the bound)" if late else "")
               + (f", {len(cut_over)} open when the connection closed, unanswered for longer than the bound "
                  "while it was up (counted at their age at the close)" if cut_over else "")
               + (f", {cut_short} open when the connection closed within the bound (left out: not answered "
                  "because the connection closed)" if cut_short else ""))
    if observed > bound.value:
        who = "the charger" if side == "charger" else "the backend (a criterion this spec sets for it)"
        raise ExpectationFailed(None, f"{who} answered {action} in {observed:.3f} s at {what}, over the bound of "
                                      f"{bound.text} ({figures})")
    run.note(f"{side} answers {action} within {bound.text} at {what}: {observed:.3f} s ({figures})")


@implements("proxy.backend_answers_within")
def backend_answers_within(run: ScenarioRun, action: str, bound: Any, percentile: int | None = None) -> None:
    _bound(run, "backend", action, bound, percentile)


@implements("proxy.charger_answers_within")
def charger_answers_within(run: ScenarioRun, action: str, bound: Any, percentile: int | None = None) -> None:
    _bound(run, "charger", action, bound, percentile)
