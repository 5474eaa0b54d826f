"""Where an interruption happened, in words, and how signals are handled around scenarios (no bench)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from dsl.plan import Action, ExpectFor, ExpectWithin, Measure, Quantity, Source
from runner.interrupt import RunInterrupted, SignalGuard, StepTracker, describe_step

SRC = Source("specs/x.spec", 17, 5, "    expect for 60 s: analyzer current L1 <= 16.6 A")


def _s(text: str) -> Quantity:
    value, unit = text.split()
    return Quantity(float(value) * (60 if unit == "min" else 1), "time", text)


@pytest.mark.parametrize(("step", "expected"), [
    (ExpectFor(_s("60 s"), None, SRC, "expect for 60 s: analyzer current L1 <= 16.6 A"),
     "at `specs/x.spec:17` (`expect for 60 s: analyzer current L1 <= 16.6 A`) after 43.2 s of the 60 s hold"),
    (ExpectWithin(_s("15 s"), None, SRC, "expect within 15 s: C"),
     "at `specs/x.spec:17` (`expect within 15 s: C`) after 43.2 s of the 15 s budget"),
    (Measure("steady", _s("10 min"), None, SRC, 'measure "steady" for 10 min'),
     'at `specs/x.spec:17` (`measure "steady" for 10 min`) after 43.2 s of the 10 min window'),
    (Action("wait", {"duration": _s("2 min")}, SRC, "wait 2 min"),
     "at `specs/x.spec:17` (`wait 2 min`) after 43.2 s of the 2 min wait"),
    (Action("ev.plugs_in", {"evse": 1}, SRC, "ev plugs in on evse 1"),
     "at `specs/x.spec:17` (`ev plugs in on evse 1`) after 43.2 s"),
])
def test_describe_step_names_line_text_elapsed_and_own_duration(step: object, expected: str) -> None:
    assert describe_step(step, 43.21) == expected


def test_the_tracker_keeps_the_innermost_step_that_a_signal_stopped() -> None:
    t = [0.0]
    tracker = StepTracker(lambda: t[0])
    outer = Action("repeat", {}, SRC, "repeat 3 times")
    inner = ExpectFor(_s("60 s"), None, SRC, "expect for 60 s: C")
    with pytest.raises(KeyboardInterrupt), tracker.step(outer):
        t[0] = 5.0
        with tracker.step(inner):
            t[0] = 48.2
            raise KeyboardInterrupt
    assert tracker.stopped == "at `specs/x.spec:17` (`expect for 60 s: C`) after 43.2 s of the 60 s hold"
    with pytest.raises(KeyboardInterrupt), tracker.step(Action("teardown", {}, SRC, "ev unplugs")):
        raise KeyboardInterrupt  # a second interruption in teardown does not move where the first happened
    assert "expect for 60 s: C" in tracker.stopped


def test_a_signal_in_a_scenario_raises_and_one_while_reporting_is_deferred_once() -> None:
    deferred: list[str] = []
    before = signal.getsignal(signal.SIGTERM)
    guard = SignalGuard(deferred.append)
    guard.install()
    try:
        guard.defer = True  # a scenario's verdict is being reported
        os.kill(os.getpid(), signal.SIGTERM)
        assert deferred == ["SIGTERM"] and guard.received == "SIGTERM"
        with pytest.raises(RunInterrupted) as e:  # the user insists: a second signal interrupts at once
            os.kill(os.getpid(), signal.SIGINT)
        assert e.value.signame == "SIGINT"
        guard.defer = False
        with pytest.raises(RunInterrupted):
            os.kill(os.getpid(), signal.SIGTERM)
    finally:
        guard.restore()
    assert signal.getsignal(signal.SIGTERM) is before


def _report(when: str, verdict: str) -> object:
    from types import SimpleNamespace

    return SimpleNamespace(nodeid="specs/x.spec::Hold::hold it", location=("specs/x.spec", 16, "Hold :: hold it"),
                           when=when, chargespec_verdict=verdict, chargespec_station=None,
                           passed=verdict == "passed", skipped=verdict == "skipped")


def test_a_scenario_set_up_whose_verdict_never_came_counts_as_broken_not_passed(tmp_path: Path) -> None:
    """Under pytest-xdist a signal stops the controller while a worker is in a scenario's call: the controller
    has its setup report (passed) and never gets the call's. That scenario did not pass: the counts in run.json
    and the console's verdict line say broken, as verdicts.json does ("did not finish")."""
    from types import SimpleNamespace

    from runner.plugin import STOP_FILE, _RunState

    state = _RunState(SimpleNamespace(option=SimpleNamespace(maxfail=0)))  # type: ignore[arg-type]
    state.pytest_runtest_logreport(_report("setup", "passed"))  # type: ignore[arg-type]
    assert state.verdicts == {"specs/x.spec::Hold::hold it": "broken"}
    assert state.tally().broken == 1
    state.config.option.maxfail = 1  # (-x under pytest-xdist: a scenario being run is no failure to stop at)
    state.folder = Path(tmp_path)
    state.config.pluginmanager = SimpleNamespace(hasplugin=lambda name: True)
    state.pytest_runtest_logreport(_report("setup", "passed"))  # type: ignore[arg-type]
    assert not (tmp_path / STOP_FILE).exists()
    for when in ("call", "teardown"):  # the verdict came: it stands, whatever stood for it before
        state.pytest_runtest_logreport(_report(when, "passed"))  # type: ignore[arg-type]
    assert state.verdicts == {"specs/x.spec::Hold::hold it": "passed"} and state.tally().broken == 0
