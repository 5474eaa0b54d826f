"""A pytest plugin for the fault-matrix runs: one JSON line per scenario (node id, outcome, failure or skip text)
to the file named by $CHARGESPEC_MATRIX_REPORT. Loaded with `-p fault_matrix_report` in the library
runs that tests/runner/test_fault_matrix.py starts; it is not a test module.
"""

from __future__ import annotations

import json
import os

import pytest


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # One line per phase that decides the outcome: the call, or a setup/teardown that did not pass.
    if report.when != "call" and report.passed:
        return
    path = os.environ.get("CHARGESPEC_MATRIX_REPORT")
    if not path:
        return
    outcome = report.outcome if report.when == "call" else "error"
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"nodeid": report.nodeid, "outcome": outcome, "when": report.when,
                            "text": report.longreprtext if report.failed or report.skipped else ""}) + "\n")
