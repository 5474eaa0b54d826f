"""The requirement forms end to end on the twin (a pytester subprocess at 30x, tests/runner/fixtures/
requirements.spec): a scenario whose variable or capability the twin has runs; one whose variable cannot be
set to the value the case needs, or for chargers without a capability the twin has, is skipped with a reason
naming the feature, at its line; `csms sets variable … where writable` takes a read-only variable that already
holds the value; a capability the bench file does not declare is broken, naming the key. The
declared capabilities go into the run's feature-matrix.json beside the device model they complement."""

from __future__ import annotations

import json
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
    result.assert_outcomes(passed=3, skipped=2, failed=2)
    result.stdout.fnmatch_lines([
        "SKIPPED [[]1[]] requirements.spec:12: charger lacks an optional feature: variable "
        'OCPPCommCtrlr.UnlockOnEVSideDisconnect settable to "false" (the device model says: '
        "OCPPCommCtrlr.UnlockOnEVSideDisconnect = true, ReadOnly)",
        "SKIPPED [[]1[]] requirements.spec:21: the case is for chargers without an optional feature: capability "
        "EvseReset (the bench file declares EvseReset = true in [[]stations.capabilities[]] of station "
        "'TWIN-AC22-001' in *bench.toml)",
    ])
    text = result.stdout.str()
    # `csms sets variable … where writable`: a read-only variable already holding the value is used as it is;
    # one holding another value fails, naming both answers
    assert ("FAILED (the charger did not meet a criterion)" in text and "charger did not accept "
            "AuthCacheCtrlr.Available = false" in text and "and it does not already hold 'false'" in text)
    assert "BROKEN (a bench fault, not a charger failure)" in text
    assert ("the bench file does not say whether the charger has capability SharedReader: add SharedReader = true "
            "or false to [stations.capabilities] of station 'TWIN-AC22-001'") in text
    (run,) = (pytester.path / "out" / "runs").iterdir()
    station = json.loads((run / "feature-matrix.json").read_text())["TWIN-AC22-001"]
    assert station["capabilities"]["declared"]["EvseReset"] is True
    assert station["capabilities"]["source"].startswith("[stations.capabilities] in ")
    assert station["controllers"] and "required" in station  # the device model's matrix is kept beside them


def test_a_twin_bench_without_a_capability_runs_the_cases_for_chargers_without_it(pytester: pytest.Pytester) -> None:
    """The twin follows its bench file: declared without EVSE reset and the SummaryInventory report, it
    Rejects EVSE resets and answers that report NotSupported, so TC_B_28/29_CS and TC_B_15_CS run and pass,
    and TC_B_25_CS (for chargers with EVSE reset) is skipped naming the capability."""
    pack = Path(__file__).resolve().parents[2] / "specs" / "octt" / "B"
    for case in ("TC_B_15_CS", "TC_B_25_CS", "TC_B_28_CS", "TC_B_29_CS"):
        shutil.copy(pack / f"{case}.spec", pytester.path / f"{case}.spec")
    twin = (Path(__file__).resolve().parents[2] / "lab" / "benches" / "twin.toml").read_text(encoding="utf-8")
    without = twin.replace("\nEvseReset = true", "\nEvseReset = false").replace(
        "\nSummaryInventory = true", "\nSummaryInventory = false")
    assert without.count("= false") >= twin.count("= false") + 2
    (pytester.path / "without.toml").write_text(without, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "--speed", "60", "--bench",
                                           str(pytester.path / "without.toml"), f"--out={pytester.path / 'out'}",
                                           timeout=300)
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] TC_B_25_CS.spec:9: charger lacks an optional feature: capability "
                                 "EvseReset (the bench file declares EvseReset = false in *without.toml)"])
