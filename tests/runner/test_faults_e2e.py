"""Every twin fault knob fails the spec that guards against it, with a message that says why.

Each case runs one spec file of the library on the twin (at 60x) in a pytester subprocess with one fault
set, and checks the verdict and the failure message: the spec line, the signal, the bound, the observed
value. A healthy twin passing the whole library is `make run` (and test_plugin_e2e for the first two).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "specs"

# knob=value, guarding spec, outcomes, regexes that must all appear in the output
CASES = [
    ("meter_multiplier_bug=true", "metering/energy-register-accuracy.spec", {"failed": 1},
     [r"energy-register-accuracy.spec:17:5:", r"charger energy over \"steady\" = 18\d\d\.\d+ kWh, analyzer energy "
      r"over \"steady\" = 1\.8\d+ kWh: error \+99\d\d\d\.\d+ % \(allowed ±2 %\)"]),
    ("limit_delay_s=30", "smart-charging/txprofile-current-limit.spec", {"failed": 3},
     [r"txprofile-current-limit.spec:17:5:",
      r"analyzer current L1 never <= 6 A \+ 0.6 A \(6.600 A\) within 15 s .*last observed 3\d\.\d+ A at t="]),
    ("ignore_profiles=true", "smart-charging/txprofile-current-limit.spec", {"failed": 3},
     [r"analyzer current L1 never <= 16 A \+ 0.6 A \(16.600 A\) within 15 s"]),
    ("limit_delay_s=30", "smart-charging/pilot-follows-limit.spec", {"failed": 1},
     [r"pilot-follows-limit.spec:16:5:", r"ev offered current never <= 10 A within 15 s .*last observed 3\d\.\d+ A"]),
    ("stack_level_bug=true", "smart-charging/stack-levels.spec", {"failed": 1},
     [r"stack-levels.spec:17:5:", r"never <= 10 A \+ 0.6 A \(10.600 A\) within 15 s .*last observed 1[56]\.\d+ A"]),
    ("clock_skew_s=30", "protocol/messages.spec", {"failed": 1},
     [r"messages.spec:19:5:", r"timestamp: expected within 2 s of the harness clock, observed \S+ \(\+29\.\d+ s\)"]),
    ("schema_violation=true", "protocol/messages.spec", {"failed": 1},
     [r"messages.spec:18:5:", r"violates the OCPP 2.0.1 schema: meterValue.0.sampledValue.0.value: '[\d.]+' is "
      r"not of type 'number'"]),
    ("reboot_loses_tx=true", "reliability/reset.spec", {"failed": 1, "passed": 1},
     [r"reset.spec:32:5:", r"charger did not send TransactionEvent \{'eventType': 'Ended', 'transactionInfo': "
      r"\{'stoppedReason': 'ImmediateReset'\}\} within 120 s"]),
    ("status_stuck=true", "status/connector-status.spec", {"failed": 1},
     [r"connector-status.spec:11:5:", r"charger status evse 1 is 'Available', not Occupied"]),
    ("firmware_version=9.9.9", "identity/firmware.spec", {"failed": 1},
     [r"firmware.spec:10:5:", r"charger reports firmware '9.9.9' in its BootNotification; the bench file "
      r"expects '1.4.2'"]),
    ("offline_drop=true", "transactions/offline-recovery.spec", {"failed": 1},
     [r"offline-recovery.spec:19:5:", r"charger did not send TransactionEvent \{'eventType': 'Updated', 'offline': "
      r"True\} within 2 min"]),
    ("offline_unflagged=true", "transactions/offline-recovery.spec", {"failed": 1},
     [r"offline-recovery.spec:19:5:", r"\d+ TransactionEvent arrived but none matched"]),
    ("seqno_gap=true", "transactions/offline-recovery.spec", {"failed": 1},
     [r"offline-recovery.spec:21:5:", r"seqNo expected \d+, observed \d+ \(skipped\) at t="]),
    ("meter_offset_wh=100", "metering/session-energy.spec", {"failed": 1},
     [r"session-energy.spec:19:5:", r"charger energy over \"session\" = 5\.\d+ kWh, analyzer energy over "
      r"\"session\" = 5\.\d+ kWh: error \+1\.[6-9]\d % \(allowed ±1 %\)"]),
]


def _run(pytester: pytest.Pytester, spec: str, *args: str) -> tuple[pytest.RunResult, float]:
    shutil.copy(SPECS / spec, pytester.path / Path(spec).name)
    start = time.perf_counter()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60",
                                           f"--evidence={pytester.path / 'evidence'}", *args, timeout=300)
    return result, time.perf_counter() - start


@pytest.mark.parametrize(("fault", "spec", "outcomes", "patterns"), CASES,
                         ids=[f"{c[0].split('=')[0]}-{Path(c[1]).stem}" for c in CASES])
def test_fault_fails_its_guarding_spec(pytester: pytest.Pytester, fault: str, spec: str,
                                       outcomes: dict[str, int], patterns: list[str]) -> None:
    result, _ = _run(pytester, spec, "--fault", fault)
    result.assert_outcomes(**outcomes)
    out = result.stdout.str()
    assert "FAILED (the charger did not meet a criterion)" in out
    assert "BROKEN" not in out
    for pattern in patterns:
        assert re.search(pattern, out), f"{pattern!r} not in the output:\n{out[-4000:]}"


def test_thirty_minute_session_runs_in_under_a_minute_at_60x(pytester: pytest.Pytester) -> None:
    result, seconds = _run(pytester, "metering/session-energy.spec")
    result.assert_outcomes(passed=1)
    assert seconds < 60, f"the 30-minute session took {seconds:.1f} s at 60x"
    notes = next((pytester.path / "evidence").rglob("notes.txt")).read_text()
    assert re.search(r"error [+-]0\.[0-4]\d % \(allowed ±1 %\)", notes), notes
