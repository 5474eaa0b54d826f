"""The charging-profile statement's longer forms and the composite expectation, as the checker reads them:
which parameters each form binds (the contract with runner/schedule_steps.py), that the old form binds
what it always bound, and the mistakes the checker refuses (the goldens 70-74 hold the exact wording)."""

from __future__ import annotations

from typing import Any

import pytest

import dsl


def args_of(line: str) -> tuple[str, dict[str, Any]]:
    spec_file = dsl.parse(f'spec "s"\n  scenario "x"\n    {line}\n', "t.spec")
    errors = dsl.check(spec_file)
    assert not errors, "\n".join(e.render() for e in errors)
    (step,) = dsl.compile(spec_file)[0].scenarios[0].steps
    return step.step, {k: (v.text if hasattr(v, "text") else v) for k, v in dict(step.args).items()}


def errors_of(line: str) -> list[str]:
    return [e.message for e in dsl.check(dsl.parse(f'spec "s"\n  scenario "x"\n    {line}\n', "t.spec"))]


def test_the_old_form_binds_what_it_always_did() -> None:
    assert args_of("csms sets TxProfile on evse 1: limit 10 A") == (
        "csms.sets_profile", {"purpose": "TxProfile", "evse": 1, "limit": "10 A"})
    assert args_of("csms sets TxDefaultProfile on evse 1: limit 7.4 kW at stack level 2")[1] == {
        "purpose": "TxDefaultProfile", "evse": 1, "limit": "7.4 kW", "stack": 2}


def test_periods_phases_start_and_recurrence() -> None:
    name, args = args_of("csms sets TxDefaultProfile on evse 2: limit 16 A on 1 phase for 10 min, then 8 A on "
                         "3 phases for 1 h, then 6 A at stack level 1, starting in 2 min, recurring daily")
    assert name == "csms.sets_profile"
    assert args == {"purpose": "TxDefaultProfile", "evse": 2, "limit": "16 A", "phases": 1, "for1": "10 min",
                    "limit2": "8 A", "phases2": 3, "for2": "1 h", "limit3": "6 A", "stack": 1,
                    "start": "2 min", "recurrency": "daily"}
    four = args_of("csms sets TxProfile on evse 1: limit 16 A for 1 min, then 12 A for 1 min, then 8 A for 1 min, "
                   "then 6 A")[1]
    assert [four[k] for k in ("limit", "limit2", "limit3", "limit4")] == ["16 A", "12 A", "8 A", "6 A"]


def test_the_composite_expectation_and_the_boundary_wait() -> None:
    assert args_of("expect charger composite schedule on evse 1") == ("expect.composite_schedule", {"evse": 1})
    assert args_of("expect charger composite schedule on evse 0 for 30 min in W")[1] == {
        "evse": 0, "duration": "30 min", "unit": "W"}
    assert args_of("wait for the next schedule period on evse 1") == ("wait.schedule_period", {"evse": 1})


@pytest.mark.parametrize(("line", "says"), [
    ("csms sets TxProfile on evse 1: limit 16 A for 10 min, then 3 kW", "one charging profile has one rate unit"),
    ("csms sets TxProfile on evse 1: limit 16 A for 0 s, then 6 A", "whole number of seconds from 1 s, not 0 s"),
    ("csms sets TxProfile on evse 1: limit 16 A on 3 phase", "write 3 phases, not 3 phase"),
    ("csms sets TxProfile on evse 1: limit 16 A on 0 phases", "is 1, 2 or 3 phases, not 0"),
    ("csms sets TxDefaultProfile on evse 1: limit 16 A, recurring monthly", 'unknown recurrence (daily or weekly)'),
    ("expect charger composite schedule on evse 1 in kW", 'unknown charging rate unit "kW"'),
    ("csms sets TxProfile on evse 1: limit 16 A, then 6 A", 'unknown statement'),
])
def test_mistakes_are_refused(line: str, says: str) -> None:
    errors = errors_of(line)
    assert len(errors) == 1 and says in errors[0], errors
