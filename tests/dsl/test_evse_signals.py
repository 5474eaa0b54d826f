"""Signals of one EVSE (`analyzer power on evse 2`) and station sums (`station power`): the series each
names, its EVSE and dimension, and the phases of `ev requests I on 1 phase`. The messages for mistakes are
golden cases (tests/dsl/golden/75..77)."""

from __future__ import annotations

import pytest

import dsl
from dsl import plan

SIGNALS = [
    # (as written, recorder key, evse, dimension)
    ("analyzer power", "analyzer.power", None, "power"),
    ("analyzer power on evse 1", "analyzer.power", 1, "power"),
    ("analyzer power on evse 2", "analyzer.evse2.power", 2, "power"),
    ("analyzer current L1 on evse 3", "analyzer.evse3.current.L1", 3, "current"),
    ("analyzer energy on evse 4", "analyzer.evse4.energy", 4, "energy"),
    ("ev offered current on evse 2", "ev.evse2.offered_current", 2, "current"),
    ("ev pwm duty on evse 2", "ev.evse2.pwm_duty", 2, "ratio"),
    ("charger power on evse 2", "charger.evse2.Power.Active.Import", 2, "power"),
    ("charger Current.Import L2 on evse 2", "charger.evse2.Current.Import.L2", 2, "current"),
    ("charger status evse 2", "charger.status.evse2", 2, "state"),
    ("station power", "station.power", None, "power"),
    ("station power L2", "station.power.L2", None, "power"),
    ("station current L1", "station.current.L1", None, "current"),
    ("station energy", "station.energy", None, "energy"),
]


def _condition(signal: str) -> plan.Comparison | plan.StateIs:
    bounds = {"status": "is Available", "duty": ">= 0 %", "energy": ">= 1 kWh", "power": ">= 1 kW"}
    cond = f"{signal} " + next((b for word, b in bounds.items() if word in signal), ">= 1 A")
    (spec,) = dsl.compile(dsl.parse(f'spec "s"\n  scenario "x"\n    expect {cond}\n', "s.spec"))
    (step,) = spec.scenarios[0].steps
    assert isinstance(step, plan.ExpectNow)
    return step.condition


@pytest.mark.parametrize(("text", "key", "evse", "dimension"), SIGNALS, ids=[s[0] for s in SIGNALS])
def test_signal_names_its_series(text: str, key: str, evse: int | None, dimension: str) -> None:
    signal = _condition(text).signal
    assert (signal.key, signal.evse, signal.dimension, signal.text) == (key, evse, dimension, text)
    assert signal.source == text.split()[0]


def test_station_sums_are_sampled_signals() -> None:
    from runner.signals import is_sampled

    assert is_sampled(_condition("station power").signal)
    assert is_sampled(_condition("analyzer power on evse 2").signal)
    assert not is_sampled(_condition("charger power on evse 2").signal)


def test_an_accuracy_check_compares_a_station_sum_with_an_evse() -> None:
    text = ('spec "s"\n  scenario "x"\n    measure "w" for 1 min\n'
            '    expect station energy over "w" within 2 % of analyzer energy on evse 2 over "w"\n')
    (spec,) = dsl.compile(dsl.parse(text, "s.spec"))
    accuracy = spec.scenarios[0].steps[-1]
    assert (accuracy.measured.key, accuracy.reference.key) == ("station.energy", "analyzer.evse2.energy")


@pytest.mark.parametrize(("words", "phases"), [("", None), (" on 1 phase", 1), (" on 3 phases", 3)])
def test_ev_requests_on_phases_and_evse(words: str, phases: int | None) -> None:
    text = f'spec "s"\n  scenario "x"\n    ev requests 32 A{words} on evse 2\n'
    (spec,) = dsl.compile(dsl.parse(text, "s.spec"))
    (action,) = spec.scenarios[0].steps
    assert action.args.get("phases") == phases and action.args["evse"] == 2


@pytest.mark.parametrize("line", [
    "expect analyzer power on evse > 1 kW",
    "expect analyzer power on bay 2 > 1 kW",
    "expect analyzer power on evse 0 > 1 kW",
    "expect station voltage L1 > 1 V",
    "expect station energy L1 > 1 kWh",
    "expect charger status evse 1 on evse 2 is Available",
])
def test_mistakes_are_errors(line: str) -> None:
    errors = dsl.check(dsl.parse(f'spec "s"\n  scenario "x"\n    {line}\n', "s.spec"))
    assert errors, line
