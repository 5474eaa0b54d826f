"""Same verdicts at any twin speed: run one spec at 1x (real time) and at N x, and compare.

Run on demand (it takes as long as the spec does at 1x; the 30-minute session spec takes 30 minutes)::

    .venv/bin/python bench/bench_speed.py specs/metering/session-energy.spec --speeds 1 60 [--fault K=V]

For each speed it runs `chargespec run` in a subprocess, then prints each scenario's verdict, the
wall-clock time and the measured figures (time to comply, energies and error) side by side. It exits 1
when the verdicts differ between speeds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_at(spec: str, speed: float, faults: list[str], out: Path) -> tuple[float, dict[str, tuple[str, str]]]:
    args = [sys.executable, "-m", "runner.cli", "run", spec, "--speed", str(speed), "--out", str(out)]
    for f in faults:
        args += ["--fault", f]
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    run = out / "latest"  # the run folder this run wrote into (runner/runs.py)
    verdicts: dict[str, tuple[str, str]] = {}
    for result in (run / "allure-results").glob("*-result.json"):
        data = json.loads(result.read_text(encoding="utf-8"))
        why = (data.get("statusDetails") or {}).get("message", "") if data["status"] != "passed" else ""
        verdicts[data["name"]] = (data["status"], why.strip())
    for notes in (run / "evidence").rglob("notes.txt"):
        name = notes.parent.name
        figures = [ln for ln in notes.read_text(encoding="utf-8").splitlines() if "line " in ln]
        for key, (status, _) in list(verdicts.items()):
            if key.replace(" ", "-") == name:
                verdicts[key] = (status, " | ".join([*figures, verdicts[key][1]]).strip(" |"))
    return elapsed, verdicts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("spec")
    p.add_argument("--speeds", type=float, nargs="+", default=[1.0, 60.0])
    p.add_argument("--fault", action="append", default=[])
    p.add_argument("--keep", help="write each run's output (evidence, allure results) under this directory")
    args = p.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="chargespec-speed-") as tmp:
        if args.keep:
            tmp = args.keep
        for speed in args.speeds:
            elapsed, verdicts = run_at(args.spec, speed, args.fault, Path(tmp) / f"x{speed:g}")
            results[speed] = verdicts
            print(f"speed {speed:g}x: {elapsed:.1f} s wall clock")
            for name, (status, figures) in sorted(verdicts.items()):
                print(f"  {name}: {status}\n    {figures}")
    statuses = {speed: {k: v[0] for k, v in r.items()} for speed, r in results.items()}
    same = len({json.dumps(s, sort_keys=True) for s in statuses.values()}) == 1
    print("verdicts identical at every speed" if same else f"VERDICTS DIFFER: {statuses}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
