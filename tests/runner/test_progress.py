"""Live progress (runner/progress.py): plain lines when output is not a terminal, during long steps only.

End to end: `chargespec run` with its output piped (not a terminal) through a 40 s measurement window at 20x;
the plain progress lines must come at least every 10 s of bench time through the window, name the spec,
scenario and step, the time left, and the live readings. Unit: a step's own duration from the plan.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from runner.progress import Status, own_duration_s, step_index

LONG = '''spec "Long window"
  scenario "steady 16 A"
    charger booted
    ev plugs in on evse 1
    session starts with token "04A2B3C4"
    ev draws 16 A
    measure "steady" for 40 s
    wait 1 s
'''
WINDOW_LINE = 7
LINE = re.compile(r"^\[progress\] Long window › steady 16 A › line 7 `measure \"steady\" for 40 s`: "
                  r"(?P<elapsed>\d+) s of 40 s, (?P<left>\d+) s left \| (?P<readings>.*)$")


def test_plain_progress_lines_come_at_least_every_10_bench_seconds_of_a_long_window(tmp_path: Path) -> None:
    spec = tmp_path / "long.spec"
    spec.write_text(LONG, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "runner.cli", "run", str(spec), "--speed", "20", "--out",
                        str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    found = [m for line in r.stdout.splitlines() if (m := LINE.match(line))]
    assert found, r.stdout
    elapsed = [int(m["elapsed"]) for m in found]
    assert all(int(m["elapsed"]) + int(m["left"]) == 40 for m in found if int(m["elapsed"]) <= 40)
    assert elapsed[0] <= 10 and elapsed[-1] >= 30, elapsed  # from the window's start to its end
    gaps = [b - a for a, b in zip([0, *elapsed], elapsed, strict=False)]
    assert max(gaps) <= 10, elapsed
    readings = found[len(found) // 2]["readings"]
    # 16 A on three phases at 230 V: the analyzer's latest readings, the pilot's limit and the energy so far
    assert re.search(r"P 3\.\d\d/3\.\d\d/3\.\d\d kW \| I 1[56]\.\d/1[56]\.\d/1[56]\.\d A \| "
                     r"limit 32\.0 A \(pilot 53\.3 %\) \| energy 0\.\d{3} kWh", readings), readings
    # the 1 s wait that follows is not a long step: no line names it
    assert "line 8" not in r.stdout


def test_a_steps_own_duration_comes_from_the_plan(tmp_path: Path) -> None:
    import dsl

    spec = tmp_path / "long.spec"
    spec.write_text(LONG, encoding="utf-8")
    (plan,) = dsl.load(spec)[0].scenarios
    steps = step_index(plan)
    assert own_duration_s(steps[WINDOW_LINE]) == 40.0
    assert own_duration_s(steps[8]) == 1.0  # `wait 1 s`
    assert own_duration_s(steps[4]) is None
    s = Status("S", "sc", "line 7 `measure`", 12.4, 40.0, "P 1/1/1 kW")
    assert s.text() == "S › sc › line 7 `measure`: 12 s of 40 s, 28 s left | P 1/1/1 kW"
