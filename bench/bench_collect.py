"""How fast pytest collects specs: chargespec cold and warm, pytest's own floor, and pytest-bdd.

Run on demand (pytest does not collect it)::

    .venv/bin/python bench/bench_collect.py [--files 200] [--per-file 5] [--repeat 5] [--include specs/octt]

In a temporary directory it writes N spec files of M scenarios each and times, each as a subprocess,
best of --repeat interleaved rounds, `pytest --collect-only -q` for:

  (a) the chargespec plugin, cold (no plan cache) and warm (plan cache filled by a previous run,
      passed through $CHARGESPEC_PLAN_CACHE); also, without a target, a first run filling an empty cache;
  (b) pytest's floor: a trivial plugin yielding the same items from the same files without parsing;
  (c) pytest-bdd collecting an equivalent Gherkin corpus (same scenarios, matching step definitions).

--include DIR (repeatable) adds a real spec folder to the corpus (e.g. the OCTT pack, whose files use
examples and remembered values, so they take the whole-file parse rather than dsl/quick.py's line path);
pytest-bdd's corpus stays the synthetic one.

Targets: (a) cold within 1.3x of (b), warm within 1.1x of (b), both faster than (c). Figures are given
twice: wall-clock time, and CPU time (user + system) of each pytest process. Collection is one thread
doing no waiting, so the two agree on a quiet machine; on a shared one, other load stretches wall-clock
runs unevenly (round-to-round spreads of 20 % seen here) while CPU time holds within a few per cent.
Exit status 1 if a target is missed by either measure. BENCH_ROUNDS=1 prints every round.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

PYTHON = sys.executable

SPEC = '''\
spec "Load point suite {f}"
  refs "OCPP 2.0.1 K01"
  tags bench, ac

  setup
    charger booted
    ev plugs in on evse 1
    session starts with token "04A2B3C4"
{scenarios}
  teardown
    session stops
'''

SCENARIO = '''
  scenario "point {f}-{s}"
    ev draws {amps} A
    expect within 30 s: analyzer current L1 >= {amps} A - 1 A
    measure "steady" for 10 min
    expect charger energy over "steady" within 2 % of analyzer energy over "steady"
'''

FEATURE = '''\
Feature: Load point suite {f}
  Background:
    Given the charger is booted
    And the EV plugs in on evse 1
    And a session starts with token "04A2B3C4"
{scenarios}'''

GHERKIN_SCENARIO = '''
  Scenario: point {f}-{s}
    When the EV draws {amps} A
    Then within 30 s the analyzer current L1 is at least {amps} A minus 1 A
    When I measure "steady" for 10 min
    Then the charger energy over "steady" is within 2 % of the analyzer energy over "steady"
'''

BDD_STEPS = '''\
from pytest_bdd import given, parsers, then, when


@given("the charger is booted")
def booted(): pass


@given(parsers.parse("the EV plugs in on evse {evse:d}"))
def plugs(evse): pass


@given(parsers.parse('a session starts with token "{token}"'))
def session(token): pass


@when(parsers.parse("the EV draws {amps:d} A"))
def draws(amps): pass


@then(parsers.parse("within {t:d} s the analyzer current L1 is at least {a:d} A minus {m:d} A"))
def within(t, a, m): pass


@when(parsers.parse('I measure "{window}" for {n:d} min'))
def measure(window, n): pass


@then(parsers.parse('the charger energy over "{w}" is within {p:d} % of the analyzer energy over "{w2}"'))
def accuracy(w, p, w2): pass
'''

FLOOR_PLUGIN = '''\
"""pytest's floor: one item per scenario line of each .spec file, nothing parsed."""
import pytest


class FloorItem(pytest.Item):
    def runtest(self):
        pass


class FloorFile(pytest.File):
    def collect(self):
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.startswith('  scenario "'):
                name = line.split('"')[1]
                # `for x in a, b, c`: one item per value, counted without parsing
                values = line.split(" in ", 1)[1].split(", ") if '" for ' in line else [name]
                for i, _ in enumerate(values):
                    yield FloorItem.from_parent(self, name=f"{name}[{i}]" if len(values) > 1 else name)


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".spec":
        return FloorFile.from_parent(parent, path=file_path)
'''


def write_corpus(root: Path, files: int, per_file: int, include: list[Path] = ()) -> int:
    """Write the corpus; the number of scenario instances it holds."""
    specs, features = root / "specs", root / "features"
    specs.mkdir()
    features.mkdir()
    extra = 0
    for folder in include:
        import dsl  # only with --include: the real files' instances are counted by the compiler itself

        for path in sorted(folder.rglob("*.spec")):
            target = specs / folder.name / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            extra += sum(len(spec.scenarios) for spec in dsl.load(path))
    for f in range(files):
        amps = [6 + (f + s) % 26 for s in range(per_file)]
        spec_scen = "".join(SCENARIO.format(f=f, s=s, amps=a) for s, a in enumerate(amps))
        (specs / f"suite_{f:03d}.spec").write_text(SPEC.format(f=f, scenarios=spec_scen), encoding="utf-8")
        bdd_scen = "".join(GHERKIN_SCENARIO.format(f=f, s=s, amps=a) for s, a in enumerate(amps))
        (features / f"suite_{f:03d}.feature").write_text(FEATURE.format(f=f, scenarios=bdd_scen),
                                                          encoding="utf-8")
    bdd = root / "bdd"
    bdd.mkdir()
    (bdd / "conftest.py").write_text(BDD_STEPS, encoding="utf-8")
    (bdd / "test_features.py").write_text(
        'from pytest_bdd import scenarios\n\nscenarios("../features")\n', encoding="utf-8")
    (root / "floor_plugin.py").write_text(FLOOR_PLUGIN, encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return files * per_file + extra


class Timing(NamedTuple):
    wall: float  # seconds on the clock
    cpu: float  # user + system seconds of the pytest process (what other load on the machine cannot add)


def run(root: Path, args: list[str], env: dict[str, str], expect: int) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([PYTHON, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or f"{expect} test" not in summary:
        raise SystemExit(f"pytest {' '.join(args)} failed (exit {proc.returncode}, '{summary}'):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(elapsed, cpu)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--files", type=int, default=200)
    p.add_argument("--per-file", type=int, default=5)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--include", type=Path, action="append", default=[], metavar="DIR",
                   help="also collect the .spec files under DIR (e.g. specs/octt)")
    args = p.parse_args(argv)
    n_bdd = args.files * args.per_file
    with tempfile.TemporaryDirectory(prefix="chargespec-bench-") as tmp:
        root = Path(tmp)
        n = write_corpus(root, args.files, args.per_file, [d.resolve() for d in args.include])
        base = {k: v for k, v in os.environ.items() if k not in ("CHARGESPEC_PLAN_CACHE", "PYTEST_ADDOPTS")}
        base["PYTHONDONTWRITEBYTECODE"] = "0"
        # Every run gets the same environment and so loads the same installed plugins (allure, xdist,
        # hypothesis, pytest-bdd ...); they differ only in the one collecting plugin.
        base["PYTHONPATH"] = str(root)
        floor_env = base
        cache = root / "plan-cache"

        def cold() -> Timing:
            return run(root, ["specs"], base, n)

        def filling() -> Timing:  # a first run that fills the plan cache (pytest's cache dir, normally)
            fresh = tempfile.mkdtemp(dir=root, prefix="fill-")
            return run(root, ["specs"], {**base, "CHARGESPEC_PLAN_CACHE": fresh}, n)

        def warm() -> Timing:
            return run(root, ["specs"], {**base, "CHARGESPEC_PLAN_CACHE": str(cache)}, n)

        def floor() -> Timing:
            return run(root, ["-p", "floor_plugin", "-p", "no:chargespec", "specs"], floor_env, n)

        def bdd() -> Timing:
            return run(root, ["-p", "no:chargespec", "bdd"], base, n_bdd)

        # One untimed run of each warms the OS file cache and Python's bytecode caches alike (and
        # Lark's parser tables, which dsl keeps in the temp directory like bytecode).
        warm(), floor(), bdd()
        # Rounds interleave the variants, so a change in the machine's load touches all of them alike;
        # each variant's figure is its best round.
        variants = {"cold": cold, "filling": filling, "warm": warm, "floor": floor, "bdd": bdd}
        runs: dict[str, list[Timing]] = {k: [] for k in variants}
        for _ in range(args.repeat):
            for name, fn in variants.items():
                runs[name].append(fn())
        t_import = min(_import_time() for _ in range(args.repeat))

    extra = f" (+ {n - n_bdd} from {', '.join(map(str, args.include))}; pytest-bdd: {n_bdd})" if args.include else ""
    print(f"pytest --collect-only: {n} scenarios in {args.files} files{extra}, best of {args.repeat} interleaved "
          "rounds (seconds)")
    ok = True
    for measure in ("wall", "cpu"):
        t = {k: min(getattr(r, measure) for r in v) for k, v in runs.items()}
        print(f"  {'wall-clock time' if measure == 'wall' else 'CPU time (user + system)'}:")
        ok &= _report(t)
    # Rounds are adjacent in time, so a round's own ratio is little touched by slower and faster spells.
    for label, variant in (("cold", "cold"), ("warm", "warm")):
        ratios = sorted(a.cpu / b.cpu for a, b in zip(runs[variant], runs["floor"], strict=True))
        print(f"  {label}: CPU time of each round over that round's floor, median {statistics.median(ratios):.2f}x "
              f"(from {ratios[0]:.2f}x to {ratios[-1]:.2f}x)")
    if os.environ.get("BENCH_ROUNDS"):
        print({k: [tuple(round(x, 3) for x in r) for r in v] for k, v in runs.items()})
    print(f"  importing the chargespec plugin, pytest already imported: {1000 * t_import:.1f} ms "
          "(paid by (a), not by (b))")
    return 0 if ok else 1


def _report(t: dict[str, float]) -> bool:
    cold, warm, floor, bdd, fill = t["cold"], t["warm"], t["floor"], t["bdd"], t["filling"]
    rows = [
        ("(a) chargespec, cold", cold, f"{cold / floor:5.2f}x floor, target <= 1.30x", cold <= 1.3 * floor),
        ("(a) chargespec, warm cache", warm, f"{warm / floor:5.2f}x floor, target <= 1.10x", warm <= 1.1 * floor),
        ("(b) pytest floor (no parsing)", floor, "", None),
        ("(c) pytest-bdd", bdd, f"cold {cold / bdd:4.2f}x, warm {warm / bdd:4.2f}x of bdd, target < 1",
         cold < bdd and warm < bdd),
        ("    chargespec, filling a cache", fill, f"{fill / floor:5.2f}x floor (a first run with pytest's cache "
         "on; no target)", None),
    ]
    for label, seconds, ratio, met in rows:
        verdict = "" if met is None else ("  met" if met else "  NOT met")
        print(f"    {label:<30} {seconds:7.3f}   {ratio}{verdict}")
    return all(met for *_, met in rows if met is not None)


def _import_time() -> float:
    """Seconds to import the plugin in a process that has imported pytest (as -X importtime reports it)."""
    proc = subprocess.run([PYTHON, "-X", "importtime", "-c", "import pytest; import runner.plugin"],
                          capture_output=True, text=True, check=True)
    for line in proc.stderr.splitlines():
        if line.rstrip().endswith("| runner.plugin"):
            return int(line.split("|")[1]) / 1e6
    raise SystemExit(f"no import time for runner.plugin in:\n{proc.stderr[-2000:]}")


if __name__ == "__main__":
    sys.exit(main())
