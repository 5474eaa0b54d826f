"""bench/bench_csms.py runs on demand; this keeps it runnable: a few chargers for a second, every figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_csms_benchmark_runs_and_reports_every_figure() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "bench_csms.py"), "--chargers", "5", "--seconds",
                           "1", "--validators"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for server in ("bare", "harness"):
        assert re.search(rf"^{server}\s+\d+\s+\d+\s+\d+\.\d\s+\d+\.\d\s+\d+ \(\d+ full\), \d+ ms in all, "
                         r"longest full \d+\.\d ms$", out, re.M), server
    assert re.search(r"harness / bare \(median rounds\): throughput \d+% .* p99 \d+\.\d\dx", out)
    for message in ("TransactionEvent request", "MeterValues request", "StatusNotification request",
                    "BootNotification request", "Heartbeat response"):
        assert re.search(rf"^{message}\s+(\d+\.\d\s+){{3,4}}", out, re.M), message
    assert "seqNo: '7' is not of type 'integer' [TypeConstraintViolation]" in out
