"""The signals plot says what was judged: checked on its data (runner/plots.PlotData), not its pixels, plus
one rendered file. Recorded series without a bench, judged by the real judges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsl.plan import Quantity
from runner import plots
from runner.context import ScenarioRun
from runner.errors import ExpectationFailed
from runner.judge import expect_accuracy, expect_settle
from tests.runner.test_judge import CUR, _accuracy, _after_action, _energy_run, _settle, feed, make_run


def _limit_run() -> ScenarioRun:
    """16 A for 3 s with no limit, then `csms sets` a 6 A limit that the charger follows 3 s later."""
    run = make_run(speed=200)
    for i in range(1, 4):
        run.recorder.sample(CUR.key, 16.0, run.recorder.t_begin + i)
        run.recorder.sample("analyzer.current.L2", 15.5, run.recorder.t_begin + i)
    run.clock.sleep_until(run.recorder.t_begin + 3.5)
    run.recorder.frame(station="CS1", direction="tx", raw=json.dumps(
        [2, "p1", "SetChargingProfile", {"evseId": 1, "chargingProfile": {}}]))
    run.recorder.frame(station="CS1", direction="rx", raw=json.dumps([3, "p1", {"status": "Accepted"}]))
    _after_action(run)
    feed(run, CUR.key, at=run.last_action_t, values=[(1, 16.0), (3, 6.2), *[(3 + i, 6.1) for i in range(1, 12)]])
    expect_settle(run, _settle(within=10, hold=8))
    return run


def test_a_limit_bound_starts_when_it_applies_with_deadline_and_hold_marked() -> None:
    run = _limit_run()
    data = plots.plot_data(run)
    assert data is not None
    [panel] = data.panels
    assert panel.title == "current" and panel.unit == "A"
    [bound] = panel.bounds
    assert bound.y == pytest.approx(6.6)
    # from the action (3.5 s in, and the clock runs at 200x: a few ms of scheduling are a bench second), not
    # from t=0: the 16 A before the limit was sent is drawn without a bound
    assert 3.5 <= bound.t_start < 6
    assert bound.t_deadline == pytest.approx(bound.t_start + 10)
    assert bound.hold is not None and bound.hold[1] - bound.hold[0] == pytest.approx(8)
    assert "line 17" in bound.label


def test_phases_are_drawn_together_and_apart() -> None:
    [panel] = plots.plot_data(_limit_run()).panels  # type: ignore[union-attr]
    styles = {tr.key: (tr.color, tr.linestyle) for tr in panel.traces}
    # L1 was judged; L2 of the same analyzer is drawn beside it, in its own colour and line style
    assert set(styles) == {"analyzer.current.L1", "analyzer.current.L2"}
    assert styles["analyzer.current.L1"] == plots.PHASE_STYLE["L1"] != styles["analyzer.current.L2"]


def test_ocpp_events_are_markers() -> None:
    data = plots.plot_data(_limit_run())
    assert data is not None
    labels = [(m.label, m.sender) for m in data.markers]
    assert labels == [("SetChargingProfile sent", "csms"), ("SetChargingProfile Accepted", "charger")]
    assert 3.5 <= data.markers[0].t < 6  # sent 3.5 s in (at 200x: see above)


def test_an_accuracy_check_draws_both_energies_and_the_tolerance_band() -> None:
    run = _energy_run(1.03)
    with pytest.raises(ExpectationFailed):
        expect_accuracy(run, _accuracy(Quantity(0.02, "ratio", "2 %")))
    data = plots.plot_data(run)
    assert data is not None
    [panel] = data.panels
    assert panel.title == "energy" and panel.unit == "kWh"
    [band] = panel.bands
    ref, meas = panel.traces
    assert ref.key == "analyzer.energy" and meas.key == "charger.Energy.Active.Import.Register"
    # both as their change over the window (the register's 1000 Wh start is not an error), band ±2 % of the reference
    assert ref.v[0] == meas.v[0] == 0
    assert band.upper[-1] == pytest.approx(ref.v[-1] * 1.02) and band.lower[-1] == pytest.approx(ref.v[-1] * 0.98)
    assert meas.v[-1] > band.upper[-1]  # what failed is outside the band
    assert band.t[0] >= 5 and band.t[-1] <= 595  # the window, not the whole recording


def test_a_scenario_that_judged_no_signal_has_no_plot(tmp_path: Path) -> None:
    run = make_run()
    run.recorder.sample(CUR.key, 16.0)  # recorded, never judged
    assert plots.plot_data(run) is None
    assert plots.save(run, tmp_path / "signals.png") is False
    assert not (tmp_path / "signals.png").exists()


def test_the_plot_renders_to_a_png(tmp_path: Path) -> None:
    assert plots.save(_limit_run(), tmp_path / "signals.png", dpi=40)
    data = (tmp_path / "signals.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5000
