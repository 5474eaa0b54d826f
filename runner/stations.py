"""Checking the stations specs name (`on station NAME`; dsl/stations.py) against a bench file.

The language alone cannot know which stations a bench has; `chargespec check --bench FILE` can, and says
so before hours of bench time are committed (the run says the same, as a broken scenario, when a spec
reaches a bench without the station: runner/bench_session.py ``named_station``)::

    errors = check_stations([Path("specs/site")], "lab/benches/twin-2station.toml")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec

import dsl
from dsl.errors import SpecError
from dsl.plan import SpecPlan
from dsl.stations import named_stations, required_stations
from dsl.suggest import did_you_mean
from lab.bench import BenchConfig, load_bench


def station_errors(plans: Iterable[SpecPlan], bench: BenchConfig) -> list[SpecError]:
    """One error per line that names a station the bench lacks, at the name, naming the bench's stations."""
    names = [n for sc in bench.stations for n in (sc.id, sc.alias) if n]
    out: dict[tuple[str, int, str], SpecError] = {}
    for spec in plans:
        for scenario in spec.scenarios:
            steps = (*scenario.setup, *scenario.steps, *scenario.teardown)
            required = required_stations(steps)  # (skipped on a bench without them: no error)
            for name, source in named_stations(steps):
                if bench.find_station(name) is not None or source is None or name in required:
                    continue
                at = source.text.rfind(name)
                where = msgspec.structs.replace(source, column=at + 1) if at >= 0 else source
                hint = did_you_mean(name, names)
                out.setdefault((source.file, source.line, name), SpecError(
                    where, f"bench {bench.name!r} has no station {name!r}",
                    f"{hint + ' ' if hint else ''}it has {bench.station_names()}", max(len(name), 1)))
    return list(out.values())


def check_stations(paths: Iterable[Path], bench_file: str | Path, *,
                   include_root: str | Path | None = None) -> list[SpecError]:
    """station_errors for every spec file under `paths` (which must be free of other errors)."""
    bench = load_bench(bench_file)
    files = [f for p in paths for f in (sorted(p.rglob("*.spec")) if p.is_dir() else [p])]
    plans = [plan for f in files for plan in dsl.load(f, include_root=include_root)]
    return station_errors(plans, bench)
