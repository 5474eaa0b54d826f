"""The requirement forms end to end on the twin (a pytester subprocess at 30x, tests/runner/fixtures/
requirements.spec): a scenario whose variable or capability the twin has runs; one whose variable cannot be
set to the value the case needs, or for chargers without a capability the twin has, is skipped with a reason
naming the feature, at its line; a capability the bench file does not declare is broken, naming the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SPEC = Path(__file__).parent / "fixtures" / "requirements.spec"
TWIN = Path(__file__).resolve().parents[2] / "lab" / "benches" / "twin.toml"


def test_requirements_run_skip_naming_the_feature_or_break_when_undeclared(pytester: pytest.Pytester) -> None:
    shutil.copy(SPEC, pytester.path / "requirements.spec")
    # The twin's bench file declares every capability; this copy leaves SharedReader undeclared.
    bench = "".join(line for line in TWIN.read_text(encoding="utf-8").splitlines(keepends=True)
                    if not line.startswith("SharedReader"))
    (pytester.path / "bench.toml").write_text(bench, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfEs", "--speed", "30", "--bench", "bench.toml",
                                           f"--out={pytester.path / 'out'}", timeout=300)
    result.assert_outcomes(passed=2, skipped=2, failed=1)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] requirements.spec:12: charger lacks an optional feature: variable "
        'OCPPCommCtrlr.UnlockOnEVSideDisconnect settable to "false" (the device model says: '
        "OCPPCommCtrlr.UnlockOnEVSideDisconnect = true, ReadOnly)",
        "SKIPPED [[]1[]] requirements.spec:21: the case is for chargers without an optional feature: capability "
        "EvseReset (the bench file declares EvseReset = true in [[]stations.capabilities[]] of station "
        "'TWIN-AC22-001' in *bench.toml)",
    ])
    text = result.stdout.str()
    assert "BROKEN (a bench fault, not a charger failure)" in text
    assert ("the bench file does not say whether the charger has capability SharedReader: add SharedReader = true "
            "or false to [stations.capabilities] of station 'TWIN-AC22-001'") in text
