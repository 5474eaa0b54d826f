"""Response times from recorded frames: per answering side and action, nearest-rank percentiles."""

from __future__ import annotations

import math
import threading
from types import SimpleNamespace

import pytest

from instruments.clock import Clock
from runner.errors import ExpectationFailed
from runner.proxy.harness import ProxyHarness
from runner.proxy.steps import backend_answers_within
from runner.proxy.timing import percentile, response_times
from runner.recorder import Recorder


class _Manual(Clock):
    def __init__(self) -> None:
        super().__init__(1.0)
        self.t = 0.0

    def now(self) -> float:
        return self.t


def test_percentiles_are_observed_values() -> None:
    assert percentile([0.3, 0.1, 0.2], 50) == 0.2
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([5.0], 95) == 5.0
    assert math.isnan(percentile([], 50))


def test_each_side_is_timed_on_the_calls_it_answers_and_injected_calls_are_left_out() -> None:
    clock = _Manual()
    rec = Recorder(clock)

    def at(t: float, direction: str, raw: str) -> None:
        clock.t = t
        rec.frame(station="CS1", direction=direction, raw=raw)  # type: ignore[arg-type]

    at(0.0, "rx", '[2,"a","Heartbeat",{}]')
    at(0.2, "tx", '[3,"a",{"currentTime":"2026-01-01T00:00:00Z"}]')     # backend: 200 ms
    at(1.0, "rx", '[2,"b","Heartbeat",{}]')
    at(1.6, "tx", '[4,"b","InternalError","",{}]')                     # an error answers too: 600 ms
    at(2.0, "tx", '[2,"c","Reset",{"type":"OnIdle"}]')
    at(2.05, "rx", '[3,"c",{"status":"Accepted"}]')                    # charger: 50 ms
    at(3.0, "tx", '[2,"chargespec-1","Reset",{"type":"OnIdle"}]')      # injected: not timed
    at(4.0, "rx", '[3,"chargespec-1",{"status":"Accepted"}]')
    at(5.0, "rx", '[2,"d","StatusNotification",{}]')                   # never answered
    figures = response_times(rec.frames(), injected={"chargespec-1"})
    hb = figures[("backend", "Heartbeat")]
    assert (hb.count, round(hb.p50, 3), round(hb.max, 3)) == (2, 0.2, 0.6)
    reset = figures[("charger", "Reset")]
    assert (reset.count, round(reset.max, 3)) == (1, 0.05)
    assert figures[("backend", "StatusNotification")].unanswered == 1
    assert figures[("backend", "StatusNotification")].count == 0


class _Run:
    """What the bound statements read of a scenario run: its clock, recorder, station and harness."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.recorder = Recorder(clock)
        self.recorder.t_begin = clock.now()
        self.station = SimpleNamespace(id="CS1")
        self.harness = ProxyHarness.__new__(ProxyHarness)
        self.notes: list[str] = []

    def check_bench(self) -> None:
        pass

    def note(self, text: str) -> None:
        self.notes.append(text)


def _bound_of(seconds: float, text: str) -> object:
    return SimpleNamespace(value=seconds, text=text)


def test_a_call_still_in_flight_is_waited_for_not_judged_on_the_answers_so_far() -> None:
    run = _Run(Clock(60.0))
    run.recorder.frame(station="CS1", direction="rx", raw='[2,"h1","Heartbeat",{}]')
    # The backend's answer arrives while the statement runs (the race CI once lost: broken, "no answer").
    timer = threading.Timer(0.05, lambda: run.recorder.frame(
        station="CS1", direction="tx", raw='[3,"h1",{"currentTime":"2026-01-01T00:00:00Z"}]'))
    timer.start()
    backend_answers_within(run, "Heartbeat", _bound_of(30.0, "30 s"))  # type: ignore[arg-type]
    timer.join()
    assert run.notes and "backend answers Heartbeat within 30 s at every response" in run.notes[0]
    assert "n=1" in run.notes[0]


def test_a_call_unanswered_past_the_bound_fails_it() -> None:
    run = _Run(Clock(60.0))
    run.recorder.frame(station="CS1", direction="rx", raw='[2,"h1","Heartbeat",{}]')
    with pytest.raises(ExpectationFailed) as failed:
        backend_answers_within(run, "Heartbeat", _bound_of(2.0, "2 s"))  # type: ignore[arg-type]
    assert "over the bound of 2 s (n=1" in str(failed.value)
    assert "1 still unanswered (counted at their age, already over the bound)" in str(failed.value)


def _undelivered_reset(run: _Run) -> None:
    """The backend's Reset, recorded as it arrived, that the relay could not pass on (the charger was gone)."""
    frame = run.recorder.frame(station="CS1", direction="tx", raw='[2,"r-1","Reset",{"type":"OnIdle"}]')
    run.recorder.event("proxy.undelivered", station="CS1", direction="tx", unique_id="r-1", frame_t=frame.t,
                       to="charger")


def test_a_backend_call_the_charger_never_got_is_no_response_time_of_the_chargers() -> None:
    from runner.errors import BenchError
    from runner.proxy.steps import charger_answers_within

    run = _Run(Clock(60.0))
    _undelivered_reset(run)
    with pytest.raises(BenchError, match="no Reset answered by the charger"):   # nothing to judge, not failed
        charger_answers_within(run, "Reset", _bound_of(2.0, "2 s"))  # type: ignore[arg-type]


def test_waiting_for_the_backends_call_never_takes_one_the_charger_never_got() -> None:
    from runner.errors import BenchError
    from runner.proxy.steps import backend_sends

    run = _Run(Clock(60.0))
    run.last_outcome = None
    _undelivered_reset(run)
    with pytest.raises(BenchError, match=r"never reached the charger .*message id r-1"):
        backend_sends(run, "Reset", None, SimpleNamespace(value=1.0))  # type: ignore[arg-type]


def test_a_charger_that_was_not_connected_while_an_answer_was_due_is_not_failed_for_its_silence() -> None:
    """The backend's Reset reached the charger, no answer came: a failure while the charger stayed connected,
    broken when its connection was down for part of the time the answer was due (the backend or the bench may
    have closed it; its silence then is no evidence)."""
    from runner.errors import BenchError
    from runner.proxy.steps import backend_sends

    for down, expected in (([], ExpectationFailed), ([(0.0, 10.0)], BenchError)):
        run = _Run(Clock(60.0))
        run.last_outcome = None
        t0 = run.clock.now()
        run.harness.offline_within = (  # type: ignore[method-assign]
            lambda sid, a, b, down=down, t0=t0: [(max(a, t0 + x), min(b, t0 + y)) for x, y in down])
        run.recorder.frame(station="CS1", direction="tx", raw='[2,"r-2","Reset",{"type":"OnIdle"}]')
        with pytest.raises(expected, match=r"the charger did not answer the backend's Reset \(message id r-2\)"):
            backend_sends(run, "Reset", None, SimpleNamespace(value=1.0))  # type: ignore[arg-type]


def test_a_call_open_when_the_connection_closed_is_counted_apart_from_an_unanswered_one() -> None:
    """Not answered because the connection closed is not the other side never answering: the figures (and
    response_times.json, chargespec proxy's summary) count the two apart."""
    from runner.proxy.timing import relayed

    clock = _Manual()
    rec = Recorder(clock)
    rec.frame(station="CS1", direction="rx", raw='[2,"a","Heartbeat",{}]')
    rec.event("proxy.closed", station="CS1", by="charger", code=None, reason="", t=1.0)
    clock.t = 2.0
    rec.frame(station="CS1", direction="rx", raw='[2,"b","Heartbeat",{}]')         # the next connection: no answer
    figures = response_times(rec.frames(), (), relayed(rec, "CS1"))[("backend", "Heartbeat")]
    assert (figures.count, figures.unanswered, figures.open_at_close) == (0, 1, 1)
    assert "unanswered 1  open at a close 1 (the connection closed before an answer)" in figures.text()
    # At the end of the record (the end of a scenario) a call sent a moment before is in flight, not unanswered.
    figures = response_times(rec.frames(), (), relayed(rec, "CS1"), now=2.5)[("backend", "Heartbeat")]
    assert (figures.unanswered, figures.in_flight, figures.open_at_close) == (0, 1, 1)
    assert "in flight 1 (sent under 30 s before the end)" in figures.text()
    figures = response_times(rec.frames(), (), relayed(rec, "CS1"), now=40.0)[("backend", "Heartbeat")]
    assert (figures.unanswered, figures.in_flight) == (1, 0)


def test_a_call_cut_short_by_a_close_within_the_bound_is_left_out_not_failed() -> None:
    """The backend's Heartbeat answer never came because the connection closed 0 s after the call: no
    evidence the backend is slow (the close may be the charger's or the bench's). Judged on the rest."""
    run = _Run(Clock(60.0))
    run.recorder.frame(station="CS1", direction="rx", raw='[2,"h1","Heartbeat",{}]')
    run.recorder.event("proxy.closed", station="CS1", by="bench", code=None, reason="")
    run.recorder.frame(station="CS1", direction="rx", raw='[2,"h2","Heartbeat",{}]')
    run.recorder.frame(station="CS1", direction="tx", raw='[3,"h2",{"currentTime":"2026-01-01T00:00:00Z"}]')
    backend_answers_within(run, "Heartbeat", _bound_of(2.0, "2 s"))  # type: ignore[arg-type]
    assert "n=1" in run.notes[0]
    assert ("1 open when the connection closed within the bound (left out: not answered because the connection "
            "closed)") in run.notes[0]


def test_a_call_unanswered_past_the_bound_before_the_close_fails_at_its_age_at_the_close() -> None:
    clock = _Manual()
    run = _Run(clock)
    run.recorder.frame(station="CS1", direction="rx", raw='[2,"h1","Heartbeat",{}]')
    run.recorder.event("proxy.closed", station="CS1", by="backend", code=1001, reason="", t=5.0)
    clock.t = 100.0
    with pytest.raises(ExpectationFailed) as failed:
        backend_answers_within(run, "Heartbeat", _bound_of(2.0, "2 s"))  # type: ignore[arg-type]
    assert "answered Heartbeat in 5.000 s at every response, over the bound of 2 s" in str(failed.value)
    assert "1 open when the connection closed, unanswered for longer than the bound while it was up" in \
        str(failed.value)


def test_waiting_for_the_backends_call_never_takes_a_malformed_one() -> None:
    """`[2, 5, "Reset", {...}]`: the message id is no string, so the charger cannot answer it with that id (it
    answers CALLERROR "-1" at best); taking it would fail the charger for "not answering". Broken, named."""
    from runner.errors import BenchError
    from runner.proxy.steps import backend_sends

    run = _Run(Clock(60.0))
    run.last_outcome = None
    run.harness.offline_within = lambda *a: []  # type: ignore[method-assign]
    run.recorder.frame(station="CS1", direction="tx", raw='[2,5,"Reset",{"type":"OnIdle"}]')
    with pytest.raises(BenchError, match=r"the backend sent no \(further\) Reset within 1 s \(waited 120 s of bench "
                                         r"time: at least 2 s of real time at 60x\); 1 such frame\(s\) "
                                         r"malformed, no OCPP-J call the charger could answer"):
        backend_sends(run, "Reset", None, SimpleNamespace(value=1.0))  # type: ignore[arg-type]


def test_a_chargers_callerror_to_a_backend_call_that_violates_the_schema_is_no_evidence_against_it() -> None:
    """The backend's Reset carries type "Sometimes": the charger answers CALLERROR FormatViolation, as OCPP-J
    §4.1.7 asks. `expect charger replies {status: "Accepted"}` would fail the charger for it: broken instead."""
    from runner.errors import BenchError
    from runner.proxy.steps import backend_sends

    run = _Run(Clock(60.0))
    run.last_outcome = None
    run.recorder.frame(station="CS1", direction="tx", raw='[2,"r-9","Reset",{"type":"Sometimes"}]')
    run.recorder.frame(station="CS1", direction="rx", raw='[4,"r-9","FormatViolation","bad type",{}]')
    with pytest.raises(BenchError, match=r"the charger answered the backend's Reset \(message id r-9\) with CALLERROR "
                                         r"FormatViolation, and that call violates the OCPP 2.0.1 schema"):
        backend_sends(run, "Reset", None, SimpleNamespace(value=1.0))  # type: ignore[arg-type]
    # A valid call refused is the charger's answer to judge.
    run.recorder.frame(station="CS1", direction="tx", raw='[2,"r-10","Reset",{"type":"OnIdle"}]')
    run.recorder.frame(station="CS1", direction="rx", raw='[4,"r-10","InternalError","busy",{}]')
    backend_sends(run, "Reset", None, SimpleNamespace(value=1.0))  # type: ignore[arg-type]
    assert run.last_outcome.error_code == "InternalError"


def test_waiting_for_the_backend_and_the_charger_has_a_real_time_floor() -> None:
    """At 60x the backend's 1 s and the charger's 30 s are 17 and 500 ms of real time, which a loaded host's
    scheduling (or a message on its way) can pass: the waits last REPLY_WAIT_FLOOR_S of real time at least, as
    the harness's do. The backend's Reset comes 0.3 s real (18 bench s) into a `within 1 s` wait, the
    charger's answer 0.6 s real (36 bench s) after it: both taken."""
    from runner.proxy.steps import backend_sends

    run = _Run(Clock(60.0))
    run.last_outcome = None
    run.harness.offline_within = lambda *a: []  # type: ignore[method-assign]

    def backend_then_charger() -> None:
        run.clock.sleep(18.0)
        run.recorder.frame(station="CS1", direction="tx", raw='[2,"r-3","Reset",{"type":"OnIdle"}]')
        run.clock.sleep(36.0)
        run.recorder.frame(station="CS1", direction="rx", raw='[3,"r-3",{"status":"Accepted"}]')

    th = threading.Thread(target=backend_then_charger, daemon=True)
    th.start()
    backend_sends(run, "Reset", None, SimpleNamespace(value=1.0))  # type: ignore[arg-type]
    th.join()
    assert run.last_outcome.response == {"status": "Accepted"}
