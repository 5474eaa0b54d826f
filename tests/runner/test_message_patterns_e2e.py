"""The message patterns of docs/language.md proven on the twin: a spec whose first scenario uses every new
form and passes on the healthy twin, and one scenario per form written wrong, each failing with the
message that names the pattern as written and what the charger sent (a pytester subprocess at 60x).
The spec: tests/runner/fixtures/patterns.spec."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

SPEC = Path(__file__).parent / "fixtures" / "patterns.spec"

FAILURES = {
    "a wrong alternative fails": r'patterns.spec:20:5: .*\n.*charger did not send StatusNotification '
                                 r'\{connectorStatus: "Faulted" or "Unavailable"\} within 5 s .*differs in 1 field '
                                 r'\(connectorStatus: expected "Faulted" or "Unavailable", observed "Occupied"\)',
    "absent fails on a field that is there": r"patterns.spec:24:5: .*\n.*differs in 1 field \(connectorId: "
                                             r"expected absent, observed 1\)",
    "exactly fails on too many": r'patterns.spec:28:5: .*\n.*charger sent 1 StatusNotification '
                                 r'\{connectorStatus: "Occupied"\} within 5 s .*; expected exactly 0: 1 arrived',
    "a remembered value that differs fails": r"patterns.spec:34:5: .*\n.*differs in 1 field "
                                             r"\(transactionInfo.transactionId: expected \"\[token#",
    "a variable on an evse the charger does not have": r"patterns.spec:37:5: .*\n.*charger did not accept "
                                                       r"SampledDataCtrlr.TxUpdatedInterval = 10: .*UnknownComponent"
                                                       r".*'evse': \{'id': 1\}",
    "present fails on a field that is not there": r"patterns.spec:41:5: .*\n.*differs in 1 field \(customData: "
                                                  r"expected present, observed \(absent\)\)",
    "not fails on the value it excludes": r'patterns.spec:45:5: .*\n.*differs in 1 field \(connectorStatus: '
                                          r'expected not "Occupied", observed "Occupied"\)',
    "neither of two messages fails": r'patterns.spec:49:5: .*\n.*did not send StatusNotification \{connectorStatus: '
                                     r'"Faulted"\} or NotifyEvent .* 1 StatusNotification, 0 NotifyEvent arrived',
    "at least fails on too few": r"patterns.spec:53:5: .*\n.*charger sent 1 StatusNotification .*; expected at "
                                 r"least 3: 1 arrived",
    "a message that does not follow in time fails": r'patterns.spec:58:5: .*\n.*charger sent 0 TransactionEvent '
                                                    r'\{eventType: "Ended"\} within 5 s after TransactionEvent '
                                                    r'\{eventType: "Started"\} \(at t=[\d.]+ s; .*expected at least 1',
}


def test_new_message_forms_pass_on_the_twin_and_fail_when_wrong(pytester: pytest.Pytester) -> None:
    shutil.copy(SPEC, pytester.path / "patterns.spec")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60",
                                           f"--evidence={pytester.path / 'evidence'}", timeout=300)
    out = result.stdout.str()
    result.assert_outcomes(passed=1, failed=len(FAILURES))
    assert "BROKEN" not in out
    assert "FAILED patterns.spec::Message patterns on the twin::the patterns hold" not in out
    for name, pattern in FAILURES.items():
        assert f"FAILED patterns.spec::Message patterns on the twin::{name}" in out
        assert re.search(pattern, out), f"{pattern!r} not in the output:\n{out[-6000:]}"
    # the instance travels in the SetVariables request; the passing scenario noted what it measured
    trace = "".join(p.read_text() for p in (pytester.path / "evidence").rglob("ocpp.jsonl"))
    assert r'\"variable\":{\"name\":\"MessageAttempts\",\"instance\":\"TransactionEvent\"}' in trace
    notes = "".join(p.read_text() for p in (pytester.path / "evidence").rglob("notes.txt"))
    assert re.search(r'remembered transactionInfo.transactionId = "\S+" of the last TransactionEvent', notes), notes
    assert re.search(r"1 TransactionEvent \{eventType: \"Started\"\} within 30 s .*; expected exactly 1", notes)
