"""The expectation engine on recorded series, without a bench: verdicts, messages, broken vs failed."""

from __future__ import annotations

import re
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from dsl.plan import (
    Comparison,
    ExpectAccuracy,
    ExpectFor,
    ExpectNow,
    ExpectTrials,
    ExpectWithin,
    Quantity,
    ScenarioPlan,
    Signal,
    Source,
)
from instruments.clock import Clock
from runner.context import ScenarioRun, Window
from runner.errors import BenchError, ExpectationFailed
from runner.judge import expect_accuracy, expect_for, expect_now, expect_trials, expect_within
from runner.recorder import Recorder

SRC = Source("specs/x.spec", 12, 5, "    expect within 15 s: analyzer current L1 <= 6 A + 0.6 A")
CUR = Signal("analyzer", "analyzer.current.L1", "current", "analyzer current L1")
LIMIT = Comparison(CUR, "<=", Quantity(6.6, "current", "6 A + 0.6 A"))


def make_run(speed: float = 50.0) -> ScenarioRun:
    clock = Clock(speed=speed)
    rec = Recorder(clock)
    rec.begin(None)
    station = SimpleNamespace(id="CS1", analyzers={}, broken=[], state=None)
    session = SimpleNamespace(clock=clock, recorder=rec, harness=None)
    plan = ScenarioPlan("spec", "scenario", {}, (), (), (), SRC)
    return ScenarioRun(plan, session, station)  # type: ignore[arg-type]


def feed(run: ScenarioRun, key: str, values: list[tuple[float, Any]]) -> threading.Thread:
    """Record values at bench offsets from now, as a sampler thread would."""
    t0 = run.clock.now()

    def go() -> None:
        for dt, v in values:
            run.clock.sleep_until(t0 + dt)
            run.recorder.sample(key, v, t0 + dt)

    th = threading.Thread(target=go, daemon=True)
    th.start()
    return th


def test_within_passes_at_first_compliant_sample_and_notes_time_to_comply() -> None:
    run = make_run()
    feed(run, CUR.key, [(1, 16.0), (2, 16.0), (4, 6.2), (5, 6.1)])
    expect_within(run, ExpectWithin(Quantity(15, "time", "15 s"), LIMIT, SRC, SRC.text))
    [note] = [n for n in run.notes if "held after" in n]
    assert 3.7 <= float(re.search(r"held after ([\d.]+) s", note).group(1)) <= 4.3


def test_within_failure_names_line_signal_bound_value_and_time() -> None:
    run = make_run()
    feed(run, CUR.key, [(1, 16.0), (3, 15.9), (5, 16.1)])
    with pytest.raises(ExpectationFailed) as e:
        expect_within(run, ExpectWithin(Quantity(6, "time", "6 s"), LIMIT, SRC, SRC.text))
    msg = str(e.value)
    assert msg.startswith("specs/x.spec:12:5:")
    assert "analyzer current L1 never <= 6 A + 0.6 A (6.600 A) within 6 s" in msg
    assert "last observed 16.100 A at t=" in msg


def test_for_fails_at_the_first_violation_with_its_time() -> None:
    run = make_run()
    feed(run, CUR.key, [(1, 6.0), (2, 6.1), (3, 7.4), (4, 6.0)])
    with pytest.raises(ExpectationFailed) as e:
        expect_for(run, ExpectFor(Quantity(60, "time", "60 s"), LIMIT, SRC, SRC.text))
    assert "analyzer current L1 = 7.400 A" in str(e.value) and "s into the 60 s hold" in str(e.value)
    assert 2.7 <= float(re.search(r"\(([\d.]+) s into", str(e.value)).group(1)) <= 3.3


def test_no_samples_is_broken_not_failed() -> None:
    run = make_run()
    with pytest.raises(BenchError, match="no samples of analyzer current L1"):
        expect_for(run, ExpectFor(Quantity(3, "time", "3 s"), LIMIT, SRC, SRC.text))
    with pytest.raises(BenchError):
        expect_now(run, ExpectNow(LIMIT, SRC, SRC.text))


def test_a_sampler_fault_breaks_the_expectation() -> None:
    run = make_run()
    run.station.broken.append(RuntimeError("instrument 'analyzer' at TCPIP0::x: timeout"))
    with pytest.raises(BenchError, match="instrument 'analyzer'"):
        expect_within(run, ExpectWithin(Quantity(5, "time", "5 s"), LIMIT, SRC, SRC.text))


def _energy_run(charger_gain: float) -> ScenarioRun:
    run = make_run()
    t0 = run.clock.now()
    for i in range(0, 61):
        t = t0 + i * 10
        run.recorder.sample("analyzer.energy", i * 30.0, t)
        run.recorder.sample("charger.Energy.Active.Import.Register", 1000 + i * 30.0 * charger_gain, t)
    run.windows["steady"] = Window("steady", t0 + 5, t0 + 595)
    return run


def _accuracy(tol: Quantity) -> ExpectAccuracy:
    return ExpectAccuracy(Signal("charger", "charger.Energy.Active.Import.Register", "energy", "charger energy"),
                          Signal("analyzer", "analyzer.energy", "energy", "analyzer energy"),
                          tol, "steady", None, SRC, SRC.text)


def test_accuracy_within_percent() -> None:
    expect_accuracy(_energy_run(1.015), _accuracy(Quantity(0.02, "ratio", "2 %")))
    with pytest.raises(ExpectationFailed) as e:
        expect_accuracy(_energy_run(1.03), _accuracy(Quantity(0.02, "ratio", "2 %")))
    assert 'charger energy over "steady" = 1.823 kWh, analyzer energy over "steady" = 1.770 kWh' in str(e.value)
    assert "error +3.00 % (allowed ±2 %)" in str(e.value)


def test_accuracy_absolute_tolerance() -> None:
    with pytest.raises(ExpectationFailed, match=r"difference 53.100 Wh \(allowed ±10 Wh\)"):
        expect_accuracy(_energy_run(1.03), _accuracy(Quantity(10.0, "energy", "10 Wh")))


def test_trials_rate() -> None:
    run = make_run()
    run.trials = [True] * 18 + [False] * 2
    expect_trials(run, ExpectTrials(Quantity(0.9, "ratio", "90 %"), SRC, SRC.text))
    with pytest.raises(ExpectationFailed, match=r"18 of 20 trials passed \(90.0 %\); at least 95 % must"):
        expect_trials(run, ExpectTrials(Quantity(0.95, "ratio", "95 %"), SRC, SRC.text))
