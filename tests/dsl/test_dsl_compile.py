"""The brief's acceptance specs and every statement form compile to the expected plan values."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import dsl
from dsl import plan


def _steps(scenario: plan.ScenarioPlan) -> tuple[plan.Step, ...]:
    return scenario.setup + scenario.steps + scenario.teardown


def test_energy_spec_compiles(energy_text: str) -> None:
    (spec,) = dsl.compile(dsl.parse(energy_text, "specs/metering/energy.spec"))
    assert spec.title == "Energy register accuracy, MID class B"
    assert spec.version == "1"
    assert spec.refs == ("MID 2014/32/EU Annex V (MI-003)", "OCPP 2.0.1 TC_J_01_CS")
    assert spec.tags == ("metering", "ac")
    assert spec.excerpt == energy_text.rstrip("\n")
    assert spec.sha256 == hashlib.sha256(energy_text.encode()).hexdigest()
    (sc,) = spec.scenarios
    assert sc.name == "load point 16 A"
    assert sc.params == {"load": "16 A"}
    assert sc.tags == ("metering", "ac") and sc.refs == spec.refs
    assert [type(s).__name__ for s in sc.setup] == ["Action", "Action", "Action"]
    assert [s.step for s in sc.setup if isinstance(s, plan.Action)] == [
        "charger.booted", "ev.plugs_in", "session.starts"]
    assert sc.setup[1].args == {"evse": 1}
    assert sc.setup[2].args == {"token": "04A2B3C4"}
    draws, within, measure, accuracy = sc.steps
    assert isinstance(draws, plan.Action) and draws.step == "ev.draws"
    assert draws.args["current"] == plan.Quantity(16.0, "current", "16 A")
    assert draws.text == "ev draws 16 A"
    assert isinstance(within, plan.ExpectWithin)
    assert within.duration == plan.Quantity(30.0, "time", "30 s")
    cond = within.condition
    assert isinstance(cond, plan.Comparison)
    assert cond.signal.key == "analyzer.current.L1" and cond.signal.dimension == "current"
    assert cond.op == ">="
    assert cond.bound == plan.Quantity(15.0, "current", "16 A - 1 A")
    assert isinstance(measure, plan.Measure)
    assert (measure.window, measure.duration, measure.until) == (
        "steady", plan.Quantity(600.0, "time", "10 min"), None)
    assert isinstance(accuracy, plan.ExpectAccuracy)
    assert accuracy.measured.key == "charger.Energy.Active.Import.Register"
    assert accuracy.reference.key == "analyzer.energy"
    assert accuracy.tolerance == plan.Quantity(0.02, "ratio", "2 %")
    assert (accuracy.window, accuracy.measured_window) == ("steady", "steady")
    assert [s.step for s in sc.teardown if isinstance(s, plan.Action)] == ["session.stops"]
    assert sc.steps[1].source.line == 11 and sc.steps[1].source.column == 5


def test_tx_profile_spec_compiles_one_instance_per_example(tx_profile_text: str) -> None:
    (spec,) = dsl.compile(dsl.parse(tx_profile_text, "tx.spec"))
    assert spec.version == "1"  # absent: the newest version
    assert [s.name for s in spec.scenarios] == ["limit 6 A", "limit 10 A", "limit 16 A"]
    assert [s.params for s in spec.scenarios] == [{"limit": "6 A"}, {"limit": "10 A"}, {"limit": "16 A"}]
    for sc, amps in zip(spec.scenarios, (6.0, 10.0, 16.0), strict=True):
        setup_expect = sc.setup[-1]
        assert isinstance(setup_expect, plan.ExpectWithin)
        assert setup_expect.condition.bound == plan.Quantity(1000.0, "power", "1 kW")
        assert setup_expect.condition.signal.key == "analyzer.power"
        sets, within, for_ = sc.steps
        assert isinstance(sets, plan.Action) and sets.step == "csms.sets_profile"
        assert sets.args["purpose"] == "TxProfile" and sets.args["evse"] == 1
        assert sets.args["limit"].value == amps and sets.args["limit"].dimension == "current"
        assert isinstance(within, plan.ExpectWithin) and isinstance(for_, plan.ExpectFor)
        assert within.duration.value == 15.0 and for_.duration.value == 60.0
        for e in (within, for_):
            assert e.condition.op == "<="
            assert e.condition.bound.value == pytest.approx(amps + 0.6)
            assert e.condition.bound.text == f"{amps:g} A + 0.6 A"
        assert within.text == f"expect within 15 s: analyzer current L1 <= {amps:g} A + 0.6 A"


def test_table_examples_repeat_and_ocpp_forms() -> None:
    text = '''\
spec "Forms"
  scenario "load {load} on {phases} phases"
    examples
      | load | phases |
      | 6 A  | 1      |
      | 16 A | 3      |
    ev draws {load}
    measure "steady" for 10 min
    expect charger sends MeterValues every 60 s ± 2 s during "steady"
    expect no StatusNotification for 30 s
    expect analyzer power <= 7.4 kW - 2 %
    expect ev pwm duty >= 10 %
    expect every TransactionEvent of the session: seqNo increases by 1
  scenario "resets"
    repeat 20 times
      csms sends Reset {type: "Immediate"}
      expect charger replies {status: "Accepted"}
      expect within 120 s: charger status evse 1 is Available
    expect at least 95 % of trials pass
    expect within 2 min: charger sends TransactionEvent {eventType: "Updated", offline: true}
    expect charger replies error NotSupported
'''
    (spec,) = dsl.compile(dsl.parse(text, "forms.spec"))
    table, resets = spec.scenarios[0], spec.scenarios[2]
    assert [s.name for s in spec.scenarios] == ["load 6 A on 1 phases", "load 16 A on 3 phases", "resets"]
    assert table.params == {"load": "6 A", "phases": "1"}
    _, _, interval, no_msg, power, duty, rule = table.steps
    assert isinstance(interval, plan.ExpectInterval)
    assert (interval.action, interval.every.value, interval.tolerance.value, interval.window) == (
        "MeterValues", 60.0, 2.0, "steady")
    assert isinstance(no_msg, plan.ExpectNoMessage)
    assert (no_msg.action, no_msg.duration.value, dict(no_msg.fields)) == ("StatusNotification", 30.0, {})
    assert power.condition.bound.value == pytest.approx(7252.0)
    assert duty.condition.signal.key == "ev.pwm_duty" and duty.condition.bound.value == pytest.approx(0.1)
    assert isinstance(rule, plan.ExpectRule)
    assert (rule.rule, rule.action, dict(rule.params)) == ("seqno_increments", "TransactionEvent",
                                                          {"scope": "session"})
    repeat, trials, message, reply = resets.steps
    assert isinstance(repeat, plan.Repeat) and repeat.times == 20
    sends, replies, status = repeat.body
    assert sends.args == {"action": "Reset", "fields": {"type": "Immediate"}}
    assert isinstance(replies, plan.ExpectReply) and dict(replies.fields) == {"status": "Accepted"}
    assert isinstance(status.condition, plan.StateIs)
    assert status.condition.signal.key == "charger.status.evse1" and status.condition.signal.evse == 1
    assert status.condition.states == ("Available",)
    assert isinstance(trials, plan.ExpectTrials) and trials.at_least.value == 0.95
    assert isinstance(message, plan.ExpectMessage)
    assert dict(message.fields) == {"eventType": "Updated", "offline": True}
    assert message.within == plan.Quantity(120.0, "time", "2 min")
    assert isinstance(reply, plan.ExpectReply) and reply.error == "NotSupported"


def test_shared_setup_included_from_another_file(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "setup.spec").write_text(
        '# shared\nsetup "plugged in"\n  charger booted\n  ev plugs in on evse 1\n', encoding="utf-8")
    spec_path = tmp_path / "x.spec"
    spec_path.write_text('spec "S"\n  setup\n    include setup "plugged in" from "common/setup.spec"\n'
                         '  scenario "one"\n    wait 5 s\n', encoding="utf-8")
    (spec,) = dsl.load(spec_path)
    steps = spec.scenarios[0].setup
    assert [s.step for s in steps] == ["charger.booted", "ev.plugs_in"]
    assert steps[0].source.file.endswith("setup.spec") and steps[0].source.line == 3
    assert spec.sha256 == hashlib.sha256(spec_path.read_bytes()).hexdigest()


def test_lab_defined_statement_resolves_without_grammar_change() -> None:
    registry = dsl.builtin_registry().copy()  # the shared registry is left as it was
    registry.define("load bank draws {power:power} on {phase:word}", name="loadbank.draws")
    text = 'spec "S"\n  scenario "x"\n    load bank draws 3.5 kW on L2\n'
    (spec,) = dsl.compile(dsl.parse(text, "x.spec"), registry)
    (action,) = spec.scenarios[0].steps
    assert action.step == "loadbank.draws"
    assert action.args == {"power": plan.Quantity(3500.0, "power", "3.5 kW"), "phase": "L2"}
    # The same statement is unknown to the built-in registry.
    assert dsl.check(dsl.parse(text, "x.spec"))


def test_check_paths_walks_directories(tmp_path: Path, energy_text: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "good.spec").write_text(energy_text, encoding="utf-8")
    (tmp_path / "a" / "bad.spec").write_text(energy_text.replace("16 A", "16 kwh"), encoding="utf-8")
    (tmp_path / "a" / "notes.txt").write_text("ignored", encoding="utf-8")
    errors = dsl.check_paths([tmp_path])
    assert [(Path(e.source.file).name, e.source.line) for e in errors] == [("bad.spec", 9)]
    assert errors[0].message == 'unknown unit "kwh"'


def test_example_substitution_works_when_the_ast_module_left_sys_modules(monkeypatch) -> None:
    """pytester's in-process runs restore sys.modules afterwards, dropping modules first imported inside
    them while their classes live on; walking a node must not need its module importable by name."""
    import sys

    from dsl import ast
    from dsl.examples import _child_fields, placeholders

    _child_fields.cache_clear()
    monkeypatch.delitem(sys.modules, "dsl.ast")
    node = ast.ActionStmt(source=ast.Source("x.spec", 1, 1), atoms=(
        ast.Word(source=ast.Source("x.spec", 1, 1), text="ev"),
        ast.Placeholder(source=ast.Source("x.spec", 1, 4), name="load")))
    assert [name for name, _ in placeholders(node)] == ["load"]


def test_settle_form_and_filters_compile() -> None:
    text = '''spec "s"
  scenario "hold {hold}" for hold in 30 s, 1 min
    csms sets TxProfile on evse 1: limit 6 A
    expect within 15 s, then for {hold}: analyzer current L1 <= 6 A + 0.6 A
    measure "w" for 5 min
    expect charger sends MeterValues {evseId: 1} every 60 s ± 2 s during "w"
    expect every TransactionEvent {eventType: "Updated"} of the session: seqNo increases by 1
'''
    (spec,) = dsl.compile(dsl.parse(text, "s.spec"))
    for sc, hold in zip(spec.scenarios, (30.0, 60.0), strict=True):
        _, settle, _, interval, rule = sc.steps
        assert isinstance(settle, plan.ExpectSettle)
        assert (settle.within.value, settle.hold.value) == (15.0, hold)
        assert settle.condition.bound.value == pytest.approx(6.6)
        assert isinstance(interval, plan.ExpectInterval) and interval.fields == {"evseId": 1}
        assert isinstance(rule, plan.ExpectRule) and rule.fields == {"eventType": "Updated"}
        assert rule.params == {"scope": "session"}
    # Without a filter, nothing is filtered: the plans of existing specs are what they were.
    (plain,) = dsl.compile(dsl.parse(text.replace(" {evseId: 1}", "").replace(' {eventType: "Updated"}', ""),
                                     "p.spec"))
    assert plain.scenarios[0].steps[3].fields == {} and plain.scenarios[0].steps[4].fields == {}


def test_meter_timestamp_rules_compile_to_their_interval_and_tolerance() -> None:
    text = '''spec "meter"
  scenario "one"
    measure "idle" for 3 min
    expect every MeterValues {evseId: 1}: meterValue timestamps every 1 min aligned to the clock within 2 s \
      during "idle"
    expect every TransactionEvent {eventType: "Updated"}: meterValue timestamps every 20 s within 500 ms
'''
    (spec,) = dsl.compile(dsl.parse(text, "meter.spec"))
    _, aligned, every = spec.scenarios[0].steps
    assert isinstance(aligned, plan.ExpectRule) and isinstance(every, plan.ExpectRule)
    assert (aligned.rule, aligned.action, dict(aligned.fields), aligned.params["interval"].value,
            aligned.params["tolerance"].value, aligned.params["window"]) == (
        "meter_timestamps_aligned", "MeterValues", {"evseId": 1}, 60.0, 2.0, "idle")
    assert (every.rule, every.action, every.params["interval"].value, every.params["tolerance"].value) == (
        "meter_timestamps_every", "TransactionEvent", 20.0, 0.5)
    assert "window" not in every.params
