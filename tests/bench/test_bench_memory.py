"""bench/bench_memory.py runs on demand; this keeps it runnable: a few frames, a short twin run, every row."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_memory_benchmark_runs_and_reports_every_figure() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "bench_memory.py"), "--frames", "1200",
                           "--chargers", "4", "--twin-hours", "0.1", "--twin-speed", "500",
                           "--scenario-minutes", "2"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "(a) chargespec csms, 4 chargers, 1200 charger frames (each answered)" in out
    assert re.search(r"ocpp\.jsonl holds (\d+) frames", out) and int(
        re.search(r"ocpp\.jsonl holds (\d+) frames", out).group(1)) >= 2400  # type: ignore[union-attr]
    rows = re.findall(r"^\s+(\d+)\s+(\d+\.\d)$", out, re.M)
    assert [int(n) for n, _ in rows] == [0, 120, 240, 360, 480, 600, 720, 840, 960, 1000, 1080, 1200]
    assert re.search(r"RSS after 1200 frames - RSS after the first 1,000: [+-]\d+\.\d MB \(target: within 50 MB\)"
                     r" -> met", out)
    assert "(b) twin bench at 500x for 0.1 bench hours, one scenario per 2 bench minutes" in out
    twin = re.findall(r"^\s+(\d+\.\d\d)\s+(\d+\.\d)\s+(\d+)$", out, re.M)
    assert len(twin) == 4 and int(twin[-1][2]) > 0            # start, then three scenarios with traffic
    assert "RSS from the end of the first scenario to the last:" in out
