"""End to end: the pytest plugin runs the spec library on the twin bench (pytester, a subprocess each).

These are the product's acceptance checks: a healthy twin passes both specs; a twin whose meter reads 3 %
high fails the metering spec (and only it) with a message naming the line, both energies and the error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
METERING = REPO / "specs" / "metering" / "energy-register-accuracy.spec"
LIMIT = REPO / "specs" / "smart-charging" / "txprofile-current-limit.spec"


def _copy(pytester: pytest.Pytester, *specs: Path) -> None:
    for s in specs:
        shutil.copy(s, pytester.path / s.name)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-rfE",
                                         f"--evidence={pytester.path / 'evidence'}", *args, timeout=300)


def test_meter_gain_fails_only_the_metering_spec(pytester: pytest.Pytester) -> None:
    _copy(pytester, METERING, LIMIT)
    result = _run(pytester, "--fault", "meter_gain=1.03")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*FAILED (the charger did not meet a criterion)*",
        "*energy-register-accuracy.spec:17:5: `expect charger energy over \"steady\" within 2 % of analyzer*",
        "*charger energy over \"steady\" = * kWh, analyzer energy over \"steady\" = * kWh: error +*",
    ])
    m = re.search(r"error \+(\d+\.\d+) % \(allowed ±2 %\)", result.stdout.str())
    assert m and 2.8 <= float(m.group(1)) <= 3.2, m


def test_small_meter_gain_passes_everything_and_writes_evidence(pytester: pytest.Pytester) -> None:
    _copy(pytester, METERING, LIMIT)
    result = _run(pytester, "--fault", "meter_gain=1.005", f"--alluredir={pytester.path / 'allure'}")
    result.assert_outcomes(passed=4)
    ev = pytester.path / "evidence"
    traces = list(ev.rglob("ocpp.jsonl"))
    assert len(traces) == 4 and all(t.stat().st_size > 0 for t in traces)
    assert list(ev.rglob("samples.csv"))
    assert (ev / "run.json").exists()
    results = list((pytester.path / "allure").glob("*-result.json"))
    assert len(results) == 4
    assert list((pytester.path / "allure").glob("*-attachment*"))
