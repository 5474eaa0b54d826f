"""Statements about the charger's network connection (OCPP 2.0.1 B09/B10, TC_B_45..50_CS): which of the
harness's endpoints (`csms`, the one the charger is configured with, and `csms2`) it tries and reaches, and
an endpoint refusing connections.

`charger attempts to connect to E` and `charger connects to E` judge connection attempts the harness logged
(runner/csms/harness.py `attempts`) from the previous action on; two of them in a row read on from the
attempt the first one judged, so "tries csms2, then falls back to csms" reads as two lines in that order
even when the second attempt follows the first at once.
"""

from __future__ import annotations

import math

from dsl.plan import Quantity
from runner.context import ScenarioRun
from runner.csms.harness import ENDPOINTS, Attempt
from runner.errors import BenchError, ExpectationFailed, NotSupportedByCharger
from runner.judge import anchor
from runner.steps import _wait, implements

CONNECT_TIMEOUT_S = 120.0  # without `within`, as `charger reconnects`


def _since(run: ScenarioRun) -> float:
    """Attempts after this bench time count: the previous action, or the attempt a connection statement
    judged since it (strictly after that one)."""
    start = anchor(run)
    cursor = run.connection_cursor
    if cursor is not None and cursor[0] == start:
        return math.nextafter(cursor[1], math.inf)
    return start


def _seen(run: ScenarioRun, attempts: list[Attempt]) -> str:
    t0 = run.recorder.t_begin
    if not attempts:
        return "no connection attempt arrived at any endpoint"
    shown = [f"t={a.t - t0:.1f} s {a.endpoint} {'accepted' if a.accepted else 'refused'}" for a in attempts[-6:]]
    return f"attempts seen: {'; '.join(shown)}"


@implements("expect.connection_attempt")
def charger_attempts(run: ScenarioRun, endpoint: str, timeout: Quantity | None = None) -> None:
    """A connection attempt (accepted or refused) arrives at `endpoint` within T of the previous action."""
    sid, since = run.station.id, _since(run)
    budget = timeout.value if timeout is not None else CONNECT_TIMEOUT_S

    def attempt() -> Attempt | None:
        return next((a for a in run.harness.attempts(sid, since) if a.endpoint == endpoint), None)

    got = _wait(run, attempt, budget)
    if got is None:
        raise ExpectationFailed(None, f"no connection attempt at {endpoint} within {budget:g} s; "
                                      f"{_seen(run, run.harness.attempts(sid, since))}")
    run.connection_cursor = (anchor(run), got.t)
    run.note(f"connection attempt at {endpoint} at t={got.t - run.recorder.t_begin:.1f} s: "
             f"{'accepted' if got.accepted else 'refused (' + got.reason + ')'}")


@implements("expect.connects_to")
def charger_connects_to(run: ScenarioRun, endpoint: str, earliest: Quantity | None = None,
                        timeout: Quantity | None = None) -> None:
    """The charger's next accepted connection is at `endpoint`, within T of the previous action; `not before
    T1`: at least T1 after its last refused attempt before it (its back-off), else after the previous action.
    A connection accepted at another endpoint first fails at once."""
    sid, since = run.station.id, _since(run)
    budget = timeout.value if timeout is not None else CONNECT_TIMEOUT_S
    t0 = run.recorder.t_begin

    def accepted() -> Attempt | None:
        return next((a for a in run.harness.attempts(sid, since) if a.accepted), None)

    got = _wait(run, accepted, budget)
    seen = run.harness.attempts(sid, since)
    if got is None:
        raise ExpectationFailed(None, f"the charger did not connect to {endpoint} within {budget:g} s; "
                                      f"{_seen(run, seen)}")
    if got.endpoint != endpoint:
        raise ExpectationFailed(None, f"the charger connected to {got.endpoint} at t={got.t - t0:.1f} s, not to "
                                      f"{endpoint}; {_seen(run, seen)}")
    run.connection_cursor = (anchor(run), got.t)
    # The back-off runs from the last refused attempt, one an earlier connection statement judged included.
    refused = [a for a in run.harness.attempts(sid, anchor(run)) if not a.accepted and a.t < got.t]
    since_t = refused[-1].t if refused else anchor(run)
    waited = got.t - since_t
    what = f"its refused attempt at {refused[-1].endpoint}" if refused else "the previous action"
    if earliest is not None and waited < earliest.value:
        raise ExpectationFailed(None, f"the charger connected to {endpoint} {waited:.1f} s after {what} "
                                      f"(t={since_t - t0:.1f} s to t={got.t - t0:.1f} s); not before "
                                      f"{earliest.value:g} s is required")
    run.note(f"charger connected to {endpoint} at t={got.t - t0:.1f} s, {waited:.1f} s after {what}")


def _csms_endpoint(endpoint: str) -> str:
    if endpoint not in ENDPOINTS:
        raise BenchError(None, f"{endpoint} is no CSMS: it closes every connection unanswered; the harness's CSMS "
                               f"endpoints are {', '.join(ENDPOINTS)}")
    return endpoint


@implements("csms.refuses_endpoint")
def csms_refuses_endpoint(run: ScenarioRun, endpoint: str, count: int | None = None) -> None:
    run.harness.refuse_endpoint(_csms_endpoint(endpoint), math.inf if count is None else count)


@implements("csms.accepts_endpoint")
def csms_accepts_endpoint(run: ScenarioRun, endpoint: str) -> None:
    run.harness.refuse_endpoint(_csms_endpoint(endpoint), 0)


@implements("charger.connects_over_tls")
def charger_connects_over_tls(run: ScenarioRun) -> None:
    """Skip unless the charger reaches the CSMS over TLS on this bench (security profile 2 or 3): the M05 cases
    (TC_B_47/50_CS) judge the TLS handshake itself."""
    csms = run.session.config.csms
    said = f"the bench file's [csms] security_profile is {csms.security_profile}"
    if csms.security_profile not in (2, 3):
        raise NotSupportedByCharger("TLS to the CSMS (security profile 2 or 3)", said)
    run.note(f"TLS to the CSMS: {said}")


@implements("bench.has_station")
@implements("bench.has_station_id")
def bench_has_station(run: ScenarioRun, name: str) -> None:
    """The scenario needs station `name` (runner.execute skips it, before anything runs, on a bench without)."""
    found = run.session.named_station(name, run.action.source if run.action is not None else None)
    run.note(f"bench has station {name}: {found.id}")


@implements("bench.has_evse")
def bench_has_evse(run: ScenarioRun, evse: int) -> None:
    """The scenario needs EVSE `evse` on its station (runner.execute skips it, before anything runs, on a
    bench whose station has fewer)."""
    run.note(f"bench has evse {evse}: station {run.station.id} has {run.station.config.evses}")  # (the one it names)

