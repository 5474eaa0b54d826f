"""dsl.load of specs/ N times in one process, the per-line caches emptied before each pass, so that each
pass does a cold collection's work (for a sampling profiler: py-spy record --native -- python loop_load.py)."""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import dsl
import dsl.quantities
import dsl.quick
import dsl.quickline
import dsl.units

REPO = Path(__file__).resolve().parents[2]


def empty() -> None:
    for d in (dsl.quick._TEMPLATES, dsl.quick._SHAPES, dsl.quick._OUTLINED, dsl.quickline._KIND_OF,
              dsl.quantities._EVALUATED):
        d.clear()
    dsl.units.lookup.cache_clear()
    dsl._around.cache_clear()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    files = sorted((REPO / "specs").rglob("*.spec"))
    gc.freeze()
    gc.disable()
    times = []
    for _ in range(n):
        empty()
        t = time.process_time()
        for f in files:
            dsl.load(f, lazy=True, include_root=REPO)
        times.append(time.process_time() - t)
        gc.collect()
    print(f"passes {n}: first {times[0]:.4f}s, best later {min(times[1:]):.4f}s (cpu)")


if __name__ == "__main__":
    main()
