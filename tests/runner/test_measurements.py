"""Structured measurements without a bench: what each judge records (value, unit, limit, margin, timing,
window, verdict) when it passes, fails or breaks; the files they are written to; the run's verdict file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dsl.plan import (
    Action,
    ExpectFor,
    ExpectMessage,
    ExpectNoMessage,
    ExpectTrials,
    ExpectWithin,
    MessageCount,
    Quantity,
    Repeat,
    ScenarioPlan,
    Source,
)
from runner import measurements, redact, steps, verdicts
from runner.bench_session import BenchFault
from runner.context import ScenarioRun
from runner.errors import BenchError, ExpectationFailed, NotSupportedByCharger
from runner.execute import protocol_findings, run_step
from runner.judge import (
    expect_accuracy,
    expect_for,
    expect_message,
    expect_no_message,
    expect_trials,
    expect_within,
    placement,
    unrecorded,
)
from runner.measurements import Measurement, margin
from tests.runner.test_judge import CUR, LIMIT, SRC, _accuracy, _after_action, _energy_run, _rx, feed, make_run, opened

FOR_SRC = Source("specs/x.spec", 14, 5, "    expect for 60 s: analyzer current L1 <= 6 A + 0.6 A")


def _only(run: ScenarioRun) -> Measurement:
    (m,) = run.measurements
    return m


# ---- margins --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "value", "bound", "expected", "pct"), [
    ("<=", 6.2, 6.6, 0.4, 6.0606), (">=", 12.0, 10.0, 2.0, 20.0), ("<", 7.0, 6.6, -0.4, -6.0606),
    ("at most", 5, 3, -2, -66.667), ("within ±", -1.5, 2.0, 0.5, 25.0), ("<=", 0.2, 0.0, -0.2, None),
])
def test_the_margin_is_signed_positive_inside_the_limit(op: str, value: float, bound: float, expected: float,
                                                        pct: float | None) -> None:
    m = margin(op, value, bound, "A")
    assert m is not None and m.value == pytest.approx(expected) and m.unit == "A"
    assert m.percent_of_limit == (pytest.approx(pct, abs=1e-3) if pct is not None else None)


def test_equalities_and_states_have_no_margin() -> None:
    assert margin("==", 6.0, 6.0, "A") is None and margin("<=", "Charging", 6.0, "A") is None


# ---- what each judge records -----------------------------------------------------------------------------


def test_a_pass_within_records_the_complying_sample_its_margin_and_time_to_comply() -> None:
    run = make_run(speed=20)  # the 6.2 A comes 200 ms after the feed starts: inside the window under load
    f = feed(run, CUR.key, [(1, 16.0), (2, 16.0), (4, 6.2), (5, 6.1)])
    expect_within(run, ExpectWithin(Quantity(15, "time", "15 s"), LIMIT, SRC, "expect within 15 s: x"))
    m = _only(run)
    assert (m.verdict, m.kind, m.line, m.criterion, m.spec) == ("passed", "within", 12, "expect within 15 s: x",
                                                              "specs/x.spec")
    assert (m.subject, m.key) == ("analyzer current L1", "analyzer.current.L1")
    assert m.observed is not None and (m.observed.value, m.observed.unit, m.observed.text) == (6.2, "A", "6.200 A")
    assert [(lim.op, lim.value, lim.unit, lim.text) for lim in m.limits] == [("<=", 6.6, "A", "6 A + 0.6 A")]
    assert m.margin is not None and m.margin.value == pytest.approx(0.4) and m.margin.unit == "A"
    assert m.timing is not None and m.timing.what == "time to comply" and m.timing.allowed_s == 15
    # from the window's opening (when the judge read the clock) to the 6.2 A sample, 4 s into the feed
    assert m.timing.seconds == pytest.approx(f.t0 + 4 - opened(run), abs=1e-5)
    assert m.observed.at_s == pytest.approx(m.window.start_s + m.timing.seconds, abs=1e-3)  # type: ignore[union-attr]
    assert m.window is not None and m.window.end_s - m.window.start_s == pytest.approx(15)
    assert m.window.start_wall.endswith("Z") and "held after" in m.message


def test_a_failed_within_records_the_last_observed_value_and_never_complying() -> None:
    run = make_run()
    feed(run, CUR.key, [(1, 16.0), (3, 15.9), (5, 16.1)])
    with pytest.raises(ExpectationFailed) as e:
        expect_within(run, ExpectWithin(Quantity(6, "time", "6 s"), LIMIT, SRC, SRC.text))
    m = _only(run)
    assert m.verdict == "failed" and m.message == e.value.detail
    assert m.observed is not None and m.observed.value == 16.1
    assert m.margin is not None and m.margin.value == pytest.approx(6.6 - 16.1)
    assert m.timing is not None and m.timing.seconds is None
    assert f"{m.samples} samples" in m.message  # (how many landed in the window depends on the thread's timing)


def test_a_hold_states_its_margin_on_the_sample_nearest_the_bound() -> None:
    # 6.45 A is due 250 ms after the feed starts (at 10x): inside the hold, which opens when the judge reads
    # the clock, however late a loaded machine lets it; at 50x and 1 s it once fell before the window.
    run = make_run(speed=10)
    feed(run, CUR.key, [(1.5 + 0.5 * i, v) for i, v in enumerate([6.0, 6.1, 6.45, 6.2, 6.0, 6.3, 6.1, 6.0, 6.2])])
    expect_for(run, ExpectFor(Quantity(4, "time", "4 s"), LIMIT, FOR_SRC, FOR_SRC.text))
    m = _only(run)
    assert m.verdict == "passed" and m.observed is not None and m.observed.value == 6.45
    assert m.margin is not None and m.margin.value == pytest.approx(0.15)
    assert m.margin.percent_of_limit == pytest.approx(0.15 / 6.6 * 100)
    assert "nearest the bound: 6.450 A" in m.message


def test_a_failed_hold_records_the_violating_sample() -> None:
    run = make_run(speed=10)  # the 7.4 A comes 300 ms after the feed starts: inside the hold under load
    feed(run, CUR.key, [(1, 6.0), (2, 6.1), (3, 7.4), (4, 6.0)])
    with pytest.raises(ExpectationFailed):
        expect_for(run, ExpectFor(Quantity(60, "time", "60 s"), LIMIT, FOR_SRC, FOR_SRC.text))
    m = _only(run)
    assert m.verdict == "failed" and m.observed is not None and m.observed.value == 7.4
    assert m.margin is not None and m.margin.value == pytest.approx(-0.8)
    assert m.window is not None and m.window.start_s <= m.observed.at_s <= m.window.end_s  # type: ignore[operator]


def test_a_broken_judgement_keeps_its_limit_and_window_and_names_the_fault() -> None:
    run = make_run()
    run.station.broken.append(BenchFault(run.clock.now(), RuntimeError("instrument 'analyzer' at TCPIP0::x: timeout")))
    with pytest.raises(BenchError):
        expect_within(run, ExpectWithin(Quantity(5, "time", "5 s"), LIMIT, SRC, SRC.text))
    m = _only(run)
    assert m.verdict == "broken" and "instrument 'analyzer'" in m.message
    assert m.limits and m.limits[0].value == 6.6 and m.window is not None
    assert m.observed is None and m.margin is None


def test_no_samples_is_a_broken_record() -> None:
    run = make_run()
    with pytest.raises(BenchError):
        expect_for(run, ExpectFor(Quantity(3, "time", "3 s"), LIMIT, FOR_SRC, FOR_SRC.text))
    assert _only(run).verdict == "broken" and "no samples of analyzer current L1" in _only(run).message


def test_accuracy_records_the_error_in_percent_against_the_tolerance_and_both_sides() -> None:
    run = _energy_run(1.03)
    with pytest.raises(ExpectationFailed):
        expect_accuracy(run, _accuracy(Quantity(0.02, "ratio", "2 %")))
    m = _only(run)
    assert m.verdict == "failed" and m.observed is not None
    assert (m.observed.name, m.observed.unit) == ("error", "%") and m.observed.value == pytest.approx(3.0)
    assert [(lim.op, lim.value, lim.unit) for lim in m.limits] == [("within ±", 2.0, "%")]
    assert m.margin is not None and m.margin.value == pytest.approx(-1.0) and m.margin.unit == "%"
    assert [(f.name, f.unit) for f in m.figures] == [('charger energy over "steady"', "Wh"),
                                                     ('analyzer energy over "steady"', "Wh")]
    assert m.figures[0].value == pytest.approx(1770 * 1.03)


def test_a_message_records_when_it_arrived_against_its_budget() -> None:
    run = make_run()
    _after_action(run)
    _rx(run, "StatusNotification", {"connectorStatus": "Occupied"}, 1)
    run.clock.sleep(4)
    e = ExpectMessage("StatusNotification", {"connectorStatus": "Occupied"}, Quantity(30, "time", "30 s"), SRC,
                      'expect charger sends StatusNotification {connectorStatus: "Occupied"} within 30 s')
    before = run.clock.now()
    expect_message(run, e)
    after = run.clock.now()
    m = _only(run)
    assert m.verdict == "passed" and m.kind == "message"
    assert m.subject == 'StatusNotification {connectorStatus: "Occupied"}'
    assert m.observed is not None and m.observed.unit == "s" and m.timing is not None
    assert m.timing.what == "time to arrive" and m.timing.seconds is not None
    # since the action (4 s or more before this line, as the machine's load has it), + the line's 30 s
    assert before + 30 - run.last_action_t - 1e-5 <= m.timing.allowed_s <= after + 30 - run.last_action_t + 1e-5
    assert before - run.last_action_t >= 4
    assert m.margin is not None and m.margin.value == pytest.approx(m.timing.allowed_s - m.timing.seconds)
    assert m.margin.value > 30  # it came before the line was reached: more than the line's budget left


def test_a_count_records_how_many_against_its_bound() -> None:
    run = make_run()
    for n in range(3):
        _rx(run, "Heartbeat", {}, n)
    e = ExpectMessage("Heartbeat", {}, None, SRC, "expect charger sends at most 2 Heartbeat",
                      count=MessageCount("at most", 2))
    with pytest.raises(ExpectationFailed):
        expect_message(run, e)
    m = _only(run)
    assert m.kind == "count" and m.verdict == "failed" and m.observed is not None and m.observed.value == 3
    assert [(lim.op, lim.value, lim.unit) for lim in m.limits] == [("at most", 2, "messages")]
    assert m.margin is not None and m.margin.value == -1


def test_no_message_records_zero_offenders_when_it_passes() -> None:
    run = make_run(speed=200.0)
    expect_no_message(run, ExpectNoMessage("Reset", {}, Quantity(2, "time", "2 s"), SRC, "expect no Reset for 2 s"))
    m = _only(run)
    assert m.verdict == "passed" and m.observed is not None and m.observed.value == 0
    assert m.limits[0].op == "==" and m.limits[0].value == 0


def test_trials_record_the_pass_rate_in_percent_and_repeat_bodies_their_trial() -> None:
    run = make_run()
    run.trials = [True] * 18 + [False] * 2
    expect_trials(run, ExpectTrials(Quantity(0.9, "ratio", "90 %"), SRC, SRC.text))
    m = _only(run)
    assert m.observed is not None and (m.observed.value, m.observed.unit) == (90.0, "%")
    assert m.margin is not None and m.margin.value == pytest.approx(0.0) and m.samples == 20
    inner = ExpectWithin(Quantity(1, "time", "1 s"), LIMIT, SRC, SRC.text)
    body = Repeat(3, (inner,), SRC, "repeat 3 times")
    assert placement(((), (body,), ()), inner) == ("steps", True)
    assert placement(((inner,), (), ()), inner) == ("setup", False)


def test_a_verdict_no_judgement_recorded_gets_its_own_record() -> None:
    run = make_run()
    failure = ExpectationFailed(run.plan.source, "the charger broke the OCPP 2.0.1 protocol 1 time(s)")
    unrecorded(run, failure)
    m = _only(run)
    assert (m.kind, m.verdict, m.line) == ("scenario", "failed", run.plan.source.line)
    unrecorded(run, failure)  # already recorded: not twice
    assert len(run.measurements) == 1
    # a skip is no verdict on a criterion
    unrecorded(run, NotSupportedByCharger("LocalAuthListCtrlr", "not in the device model"))
    unrecorded(run, RuntimeError("the bench lost its loop"))
    assert [(m.kind, m.verdict, m.message) for m in run.measurements[1:]] == [
        ("scenario", "broken", "the bench lost its loop")]


def test_a_statement_that_fails_the_scenario_is_recorded_on_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(run: ScenarioRun) -> None:
        raise ExpectationFailed(None, "charger did not accept SetChargingProfile TxProfile 6 A: Rejected")

    monkeypatch.setitem(steps.IMPLEMENTATIONS, "test.refuse", refuse)
    run = make_run()
    src = Source("specs/x.spec", 9, 5, "    csms sets TxProfile on evse 1: limit 6 A")
    with pytest.raises(ExpectationFailed):
        run_step(run, Action("test.refuse", {}, src, "csms sets TxProfile on evse 1: limit 6 A"))
    m = _only(run)
    assert (m.kind, m.verdict, m.line, m.criterion) == ("step", "failed", 9, "csms sets TxProfile on evse 1: limit 6 A")
    assert m.message == "charger did not accept SetChargingProfile TxProfile 6 A: Rejected"


@pytest.mark.parametrize("errors", [0, 2])
def test_strict_mode_records_its_protocol_check_on_the_scenario_line(errors: int) -> None:
    run = make_run()
    run.session.config = SimpleNamespace(csms=SimpleNamespace(strict_schema=True))  # type: ignore[attr-defined]
    for i in range(errors):
        run.recorder.finding("error", f"MeterValues: value is not a number ({i})", station="CS1")
    if errors:
        with pytest.raises(ExpectationFailed):
            protocol_findings(run)
    else:
        protocol_findings(run)
    m = _only(run)
    assert (m.kind, m.line, m.verdict) == ("rule", SRC.line, "failed" if errors else "passed")
    assert m.observed is not None and m.observed.value == errors and m.margin is not None
    assert m.margin.value == -errors


# ---- files ------------------------------------------------------------------------------------------------


def test_records_are_written_as_they_are_made_redacted_with_a_table(tmp_path: Path) -> None:
    run = make_run(speed=10)  # the 16 A comes 100 ms after the feed starts: inside the hold under load
    run.recorder.begin(tmp_path)
    token = redact.learn("04A2B3C4AA", "token")
    feed(run, CUR.key, [(1, 16.0), (2, 7.4)])
    with pytest.raises(ExpectationFailed):
        expect_for(run, ExpectFor(Quantity(5, "time", "5 s"), LIMIT, FOR_SRC, "expect for 5 s: … 04A2B3C4AA"))
    # written at the judgement, before the scenario ends: a killed run keeps it
    (rec,) = json.loads((tmp_path / measurements.FILE).read_text())
    assert rec["verdict"] == "failed" and rec["observed"]["value"] == 16.0 and rec["limits"][0]["value"] == 6.6
    assert "04A2B3C4AA" not in (tmp_path / measurements.FILE).read_text() and token in rec["criterion"]
    (row,) = csv.DictReader((tmp_path / measurements.TABLE).open(encoding="utf-8"))
    assert (row["line"], row["limit"], row["margin"], row["verdict"]) == ("14", "<= 6 A + 0.6 A", "-9.400 A", "failed")
    assert row["observed"].startswith("16 A at t=")
    run.recorder.end()
    events = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "measurement" and e["verdict"] == "failed" for e in events)


# ---- the run's verdict file ------------------------------------------------------------------------------


def _report(nodeid: str, when: str, verdict: str, measured: list[dict[str, Any]] | None = None) -> Any:
    record = {"nodeid": nodeid, "phase": when, "verdict": verdict,
              "message": "" if verdict == "passed" else f"{when} {verdict}", "duration_s": 1.0,
              "evidence": "evidence/a/b", "measurements": measured or []}
    return SimpleNamespace(chargespec_record=record)


def test_the_verdict_file_keeps_the_worst_phase_and_the_calls_measurements(tmp_path: Path) -> None:
    f = verdicts.VerdictFile()
    f.add(_report("a", "setup", "passed"))
    f.add(_report("a", "call", "passed", [{"line": 3, "verdict": "passed"}]))
    f.add(_report("a", "teardown", "broken"))
    f.add(_report("b", "call", "skipped"))
    assert not f.add(SimpleNamespace())  # a Python test's report has no entry
    data = f.data({"status": "complete", "run": "R", "exit code": 3})
    a, _ = data["results"]
    assert (a["verdict"], a["message"], a["measurements"]) == ("broken", "teardown broken",
                                                               [{"line": 3, "verdict": "passed"}])
    assert data["verdict"] == "broken" and data["scenarios"] == {"passed": 0, "failed": 0, "broken": 1, "skipped": 1}
    f.write(tmp_path, {"status": "INCOMPLETE", "run": "R"})  # a run in progress, or killed, is incomplete
    assert json.loads((tmp_path / verdicts.FILE).read_text())["verdict"] == "incomplete"


def test_a_scenario_that_began_is_broken_until_its_call_reports(tmp_path: Path) -> None:
    f = verdicts.VerdictFile()
    f.started("x.spec::S::long hold")
    f.add(_report("x.spec::S::long hold", "setup", "passed"))  # set up, then killed during the hold
    (r,) = f.data({"status": "INCOMPLETE"})["results"]
    assert (r["verdict"], r["message"]) == ("broken", verdicts.UNFINISHED) and "provisional" not in r
    f.add(_report("x.spec::S::long hold", "call", "passed", [{"line": 4, "verdict": "passed"}]))
    (r,) = f.data({"status": "complete"})["results"]
    assert (r["verdict"], r["measurements"]) == ("passed", [{"line": 4, "verdict": "passed"}])


@pytest.mark.parametrize(("found", "overall"), [(["passed", "skipped"], "passed"), ([], "none"),
                                                (["broken", "failed", "passed"], "failed")])
def test_the_run_verdict_is_its_worst_scenario(found: list[str], overall: str) -> None:
    f = verdicts.VerdictFile()
    for i, v in enumerate(found):
        f.add(_report(str(i), "call", v))
    assert f.data({"status": "complete"})["verdict"] == overall


def test_a_scenario_record_names_its_spec_and_relative_evidence() -> None:
    plan = ScenarioPlan("S", "limit 6 A", {"limit": "6 A"}, (), (), (), Source("specs/x.spec", 9, 3, ""),
                        refs=("OCPP 2.0.1 K01",))
    spec = SimpleNamespace(file="specs/x.spec", title="S", version="1", sha256="ab" * 32)
    m = measurements.Draft("specs/x.spec", 12, "expect …", "now", 0.0).finish("passed", "ok")
    item = SimpleNamespace(plan=plan, spec=spec, evidence_path="evidence/S/limit-6-A", measurements=[m])
    report = SimpleNamespace(nodeid="x.spec::S::limit 6 A", when="call", duration=2.5, longrepr=None)
    call = SimpleNamespace(excinfo=SimpleNamespace(value=ExpectationFailed(None, "missed")))
    rec = verdicts.scenario_record(item, report, call, "failed")
    assert rec is not None and rec["message"] == "missed" and rec["params"] == {"limit": "6 A"}
    assert rec["measurements"][0]["line"] == 12 and rec["evidence"] == "evidence/S/limit-6-A"
    assert verdicts.scenario_record(SimpleNamespace(), report, call, "failed") is None


# ---- the record's shape: what report code and people read ----------------------------------------------

GOLDEN = Path(__file__).parent / "golden" / "measurement-failed.expected"


def _failed_settle() -> Measurement:
    from datetime import UTC, datetime, timedelta

    wall0 = datetime(2026, 11, 30, 13, 7, 39, tzinfo=UTC)
    d = measurements.Draft("specs/smart-charging/txprofile-current-limit.spec", 17,
                           "expect within 15 s, then for 60 s: analyzer current L1 <= 6 A + 0.6 A", "settle",
                           t0=100.0, wall=lambda t: wall0 + timedelta(seconds=t), phase="steps")
    d.on_signal(CUR, "analyzer.current.L1", LIMIT)
    d.window = d.span(110.0, 185.0)
    d.timing = measurements.Timing("time to settle", 3.5, 15.0)
    d.hold = d.span(113.5, 173.5)
    d.saw(LIMIT, 140.25, 7.4)
    d.samples = 61
    return d.finish("failed", "analyzer current L1 settled <= 6 A + 0.6 A 3.5 s after the previous action (at "
                              "t=13.5 s, allowed 15 s), then broke: 7.400 A at t=40.2 s, 26.8 s into the 60 s hold")


def test_a_record_reads_as_the_golden_file() -> None:
    m = _failed_settle()
    text = json.dumps(m.to_json(), indent=2, ensure_ascii=False) + "\n---\n" + measurements.describe(m) + "\n"
    assert text == GOLDEN.read_text(encoding="utf-8")
