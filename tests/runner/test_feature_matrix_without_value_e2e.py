"""`charger supports variable … without value "V"` end to end on the twin (a pytester subprocess at 60x): Part 6's
"TxStartPoint should not be EnergyTransfer" (TC_E_38_CS) runs on the twin as configured (PowerPathClosed) and
is skipped, naming the feature and what the device model said, on a charger configured with EnergyTransfer
(the twin, set so and read again), never failed."""

from __future__ import annotations

from pathlib import Path

import pytest

SPEC = '''spec "TxStartPoint not EnergyTransfer"
  setup
    charger booted

  scenario "as configured"
    charger supports variable TxCtrlr.TxStartPoint without value "EnergyTransfer"
    csms sends ClearCache
    expect charger replies {status: "Accepted"}

  scenario "configured to start at energy transfer"
    csms sets variable TxCtrlr.TxStartPoint to "EnergyTransfer"
    csms reads the device model
    charger supports variable TxCtrlr.TxStartPoint without value "EnergyTransfer"
    csms sends ClearCache
'''


def test_a_charger_with_the_value_is_skipped_naming_it_one_without_runs(pytester: pytest.Pytester) -> None:
    (pytester.path / "start_point.spec").write_text(SPEC, encoding="utf-8")
    twin = Path(__file__).resolve().parents[2] / "lab" / "benches" / "twin.toml"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "--speed", "60", "--bench", str(twin),
                                           f"--out={pytester.path / 'out'}", timeout=300)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] start_point.spec:13: charger lacks an optional feature: variable TxCtrlr.TxStartPoint "
        'without value "EnergyTransfer" (the device model says: TxCtrlr.TxStartPoint = EnergyTransfer, ReadWrite, '
        "valuesList *)"])
