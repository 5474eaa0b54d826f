"""dsl.load of every spec under specs/ in one fresh process, as pytest's collection calls it (lazy, no
plan cache, include_root the repository); prints the wall and CPU time of the loop, and of `import dsl.quick`
(the plugin imports it before collecting). --profile FILE writes a cProfile of the loop.

    python bench/mypyc/time_load.py [--profile out.prof]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", default=None)
    p.add_argument("--specs", default=str(REPO / "specs"))
    args = p.parse_args()
    os.environ.pop("CHARGESPEC_PLAN_CACHE", None)
    t0, c0 = time.perf_counter(), time.process_time()
    import dsl
    import dsl.quick
    t1, c1 = time.perf_counter(), time.process_time()
    files = sorted(Path(args.specs).rglob("*.spec"))
    gc.freeze()
    gc.disable()  # (as the plugin does while collecting)
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t2, c2 = time.perf_counter(), time.process_time()
    n = 0
    for f in files:
        n += len(dsl.load(f, lazy=True, include_root=REPO))
    t3, c3 = time.perf_counter(), time.process_time()
    if prof:
        prof.disable()
        prof.dump_stats(args.profile)
    compiled = sorted(m for m, mod in sys.modules.items()
                      if m.startswith("dsl") and getattr(mod, "__file__", "") and not mod.__file__.endswith(".py"))
    print(f"files {len(files)} specs {n} import {t1 - t0:.4f}s (cpu {c1 - c0:.4f}) "
          f"load {t3 - t2:.4f}s (cpu {c3 - c2:.4f}) compiled={len(compiled)}")


if __name__ == "__main__":
    main()
