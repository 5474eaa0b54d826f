"""Schedules in bench time on the twin, end to end (pytester subprocesses at 60x): the library's
specs/smart-charging/schedule-periods.spec passes on the healthy twin, with the charger's composite judged
against the harness's and each period boundary followed by the time to compliance; a twin that stacks
profiles the wrong way round fails the composite expectation with the spans, the expected and the reported
limit and the profile that sets it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parents[2] / "specs" / "smart-charging" / "schedule-periods.spec"


def run(pytester: pytest.Pytester, *extra: str) -> tuple[pytest.RunResult, str]:
    shutil.copy(SPEC, pytester.path / "schedule-periods.spec")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60",
                                           f"--evidence={pytester.path / 'evidence'}", *extra, timeout=300)
    notes = "".join(p.read_text() for p in (pytester.path / "evidence").rglob("notes.txt"))
    return result, notes


def test_periods_switch_at_their_boundaries_on_the_healthy_twin(pytester: pytest.Pytester) -> None:
    result, notes = run(pytester)
    result.assert_outcomes(passed=2)
    # the charger's composite matched the harness's, in A and in W (16 A on 3 phases at 230 V = 11040 W)
    assert re.search(r"composite schedule on evse 1 over 600 s matches the profiles sent: 16 A from 0 s; "
                     r"6 A from 1[78]\d s; 10 A from 3[56]\d s", notes), notes
    assert re.search(r"11040 W from 0 s; 5520 W from [56]\d s; 8280 W from 2[34]\d s", notes), notes
    # each boundary was waited for, and the settle after it counted from the boundary (time to compliance)
    boundaries = re.findall(r"schedule period boundary on evse 1 at t=[\d.]+ s: the composite goes from "
                            r"(\d+ A) to (\d+ A)", notes)
    assert sorted(boundaries) == sorted([("16 A", "6 A"), ("6 A", "10 A"), ("16 A", "8 A"), ("8 A", "12 A")])
    settled = [float(s) for s in re.findall(r"settled ([\d.]+) s after the previous action", notes)]
    assert len(settled) == 5 and all(0 <= s <= 15 for s in settled)


def test_a_wrong_stack_level_fails_the_composite(pytester: pytest.Pytester) -> None:
    result, _ = run(pytester, "--fault=stack_level_bug=true", "-k", "daily")
    result.assert_outcomes(failed=1, deselected=1)
    out = result.stdout.str()
    assert re.search(r"schedule-periods.spec:35:5: .*\n\s+the charger's composite schedule for evse 1 "
                     r"\(GetCompositeSchedule at t=[\d.]+ s, 600 s\) is not the one the profiles sent give, in "
                     r"seconds after the request: from [\d.]+ s to [\d.]+ s: expected 8 A \(set by TxDefaultProfile "
                     r"#\d+ \(stackLevel 1, evse 1\)\), the charger reported 16 A", out), out[-4000:]


def test_a_refused_composite_fails_and_nothing_to_wait_for_is_broken(pytester: pytest.Pytester) -> None:
    # A charger that gives no schedule fails the expectation (it is the charger's answer); a wait with no
    # boundary ahead is the spec's mistake: broken, not failed, and it says why.
    shutil.copy(SPEC.parents[2] / "tests" / "runner" / "fixtures" / "schedule-mistakes.spec",
                pytester.path / "schedule-mistakes.spec")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60",
                                           f"--evidence={pytester.path / 'evidence'}", timeout=300)
    out = result.stdout.str()
    assert "1 passed" not in out and re.search(r"0 passed, 1 failed, 1 broken", out), out[-3000:]
    assert re.search(r"schedule-mistakes.spec:10:5: .*\n\s+charger did not give its composite schedule for evse 7: "
                     r".*'status': 'Rejected'.*UnknownEvse", out), out[-3000:]
    assert re.search(r"schedule-mistakes.spec:14:5: .*\n\s+no schedule period begins on evse 1 after t=[\d.]+ s "
                     r"\(looking 48 h ahead in the profiles the charger accepted\): nothing to wait for", out), \
        out[-3000:]
