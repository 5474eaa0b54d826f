"""Optional features end to end on the twin (a pytester subprocess at 30x, tests/runner/fixtures/features.spec):
a scenario needing a feature the twin's device model lacks is skipped, naming the feature and what the
model said, in the console and the Allure result; one needing a feature the twin has runs; the device model
is read once per charger boot and the matrix is written into the run folder beside run.json."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

SPEC = Path(__file__).parent / "fixtures" / "features.spec"
REASON = ("charger lacks an optional feature: DisplayMessageCtrlr (the device model says: DisplayMessageCtrlr is not "
          "in the device model (a FullInventory report of ")


def test_a_missing_feature_skips_with_its_reason_and_a_present_one_runs(pytester: pytest.Pytester) -> None:
    shutil.copy(SPEC, pytester.path / "features.spec")
    out, allure = pytester.path / "out", pytester.path / "allure"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfEs", "--speed", "30", f"--out={out}",
                                           f"--alluredir={allure}", timeout=300)
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] features.spec:6: {REASON}*"])  # the `charger supports` line

    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in allure.glob("*-result.json"))}
    skipped = results["display messages needed"]
    assert skipped["status"] == "skipped" and REASON in skipped["statusDetails"]["message"]
    assert results["smart charging needed"]["status"] == "passed"

    (run,) = (out / "runs").iterdir()
    assert (run / "run.json").exists()
    station, = json.loads((run / "feature-matrix.json").read_text()).items()
    smart = next(c for c in station[1]["controllers"] if c["component"] == "SmartChargingCtrlr")
    assert smart["enabled"] is True and "DisplayMessageCtrlr" not in {c["component"] for c in station[1]["controllers"]}
    rows = {r["component"]: r for r in csv.DictReader((run / "feature-matrix.csv").open(encoding="utf-8"))}
    assert rows["DisplayMessageCtrlr"]["present"] == "False" and rows["SmartChargingCtrlr"]["enabled"] == "true"

    # one reading for the first two scenarios (cached), another after the charger rebooted
    evidence = run / "evidence" / "Optional-features-on-the-twin"
    reads = {d.name: sum(json.loads(json.loads(line)["frame"])[2:3] == ["GetBaseReport"]
                         for line in d.joinpath("ocpp.jsonl").read_text().splitlines())
             for d in evidence.iterdir()}
    assert reads == {"display-messages-needed": 1, "smart-charging-needed": 0, "read-again-after-a-boot": 1}
    notes = (evidence / "smart-charging-needed" / "notes.txt").read_text()
    assert "not read again" in notes
    assert "SmartChargingCtrlr supported: SmartChargingCtrlr reports Enabled = true" in notes
