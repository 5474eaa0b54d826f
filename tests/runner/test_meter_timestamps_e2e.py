"""TC_J_01_CS judges the timestamps inside the clock-aligned MeterValues, not their arrival (a pytester
subprocess at 60x on the twin). A twin whose clock is 20 s off (fault knob clock_skew_s) sends its readings on
time, stamped 20 s past the minute: the case's arrival checks would pass it; the timestamp rule fails it, at its
line, naming the message, its timestamp, the aligned time and the deviation. The healthy twin passes the case
(tests/runner/test_octt_pack.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASE = REPO / "specs/octt/J/TC_J_01_CS.spec"


def test_a_charger_stamping_its_clock_aligned_readings_off_the_clock_fails_tc_j_01(
        pytester: pytest.Pytester) -> None:
    text = CASE.read_text(encoding="utf-8")
    line = next(n for n, s in enumerate(text.splitlines(), 1) if "meterValue timestamps every 60 s aligned" in s)
    pytester.makefile(".spec", j01=text)
    alluredir = pytester.path / "allure"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60", "--fault",
                                           "clock_skew_s=20", f"--alluredir={alluredir}",
                                           f"--evidence={pytester.path / 'evidence'}", timeout=300)
    out = result.stdout.str()
    statuses = [json.loads(p.read_text())["status"] for p in alluredir.glob("*-result.json")]
    assert statuses == ["failed"], out
    assert re.search(rf'j01\.spec:{line}:5: `expect every MeterValues \{{evseId: 1, .*\}}: meterValue timestamps every '
                     r'60 s aligned to the clock within 5 s during "idle"`', out), out
    assert re.search(r"MeterValues \(evse 1\) meterValue\[0\]\.timestamp \S+T\d\d:\d\d:20\.000Z: expected the "
                     r"clock-aligned time \S+T\d\d:\d\d:00\.000Z \(midnight \+ k × 60 s\) within 5 s, observed "
                     r"20\.000 s late at t=", out), out
