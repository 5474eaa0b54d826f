"""`measure "w" …` inside a `repeat` body: each trial opens its own window (docs/language.md, "repeat and
trials"). The runner used to keep the first trial's window, so trial 2 broke on "window 'w' is already open"."""

from __future__ import annotations

from types import SimpleNamespace

from dsl.plan import Measure, Quantity, Repeat, ScenarioPlan, Source
from instruments.clock import Clock
from runner import execute
from runner.context import ScenarioRun
from runner.recorder import Recorder

SRC = Source("specs/x.spec", 4, 7, '      measure "w" for 2 s')


def _run() -> ScenarioRun:
    clock = Clock(speed=200.0)
    rec = Recorder(clock)
    rec.begin(None)
    # no TriggerMessage at the edges (the bench file's switch): the windows need no charger here
    config = SimpleNamespace(proxy=None, csms=SimpleNamespace(trigger_meter_values_at_window_edges=False))
    station = SimpleNamespace(id="CS1", analyzers={}, broken=[], state=None)
    session = SimpleNamespace(clock=clock, recorder=rec, harness=None, config=config)
    plan = ScenarioPlan("spec", "scenario", {}, (), (), (), SRC)
    return ScenarioRun(plan, session, station)  # type: ignore[arg-type]


def test_each_trial_opens_its_own_window() -> None:
    run = _run()
    opened: list[float] = []
    measure = Measure("w", Quantity(2.0, "time", "2 s"), None, SRC, 'measure "w" for 2 s')
    inner = Measure("inner", None, None, SRC, 'measure "inner"')
    execute.repeat(run, Repeat(3, (measure, Repeat(2, (inner,), SRC, "repeat 2 times")), SRC, "repeat 3 times"))
    assert run.trials == [True, True, True]
    opened = [e["t_start"] for e in run.recorder.events("window_open") if e["window"] == "w"]
    assert len(opened) == 3 and opened == sorted(set(opened))  # three windows, one per trial, in order
    w = run.windows["w"]  # the last trial's (the plot shows it); no line after the block may name it
    assert w.start - run.recorder.t_begin == opened[-1] and w.end is not None and w.end - w.start >= 2.0
    assert len([e for e in run.recorder.events("window_open") if e["window"] == "inner"]) == 6
    assert execute.trial_windows((measure, Repeat(2, (inner,), SRC, "r"))) == {"w", "inner"}
