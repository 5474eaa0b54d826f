"""Per-station mode: `pytest -n N` (or `chargespec run ... -- -n N`) on a bench of N stations.

Without it, pytest-xdist hands any scenario to any worker and every worker opens the whole bench with the
first station as the scenarios' own: on a physical bench two workers would drive the same charger at once.
On a bench of several stations (physical or twin) the xdist controller instead:

- binds worker gwK to the K-th station of the bench (the worker opens only it, as `--station` does), so no
  two workers ever share a station;
- runs every selected scenario on every worker (pytest-xdist's `--dist each`): one result per scenario and
  station, each result naming its station (verdicts.json ``station``, Allure label ``unit``, parent suite
  and parameter ``station``).

It refuses (a usage error, exit code 4) when the number of workers is not the number of stations, when a
physical bench of one station is given more than one worker, and when a --dist other than `each` is given
(it would run each scenario on one station only, which one left to chance; the mode never overrides it
unsaid). A twin bench of one station keeps pytest-xdist's own distribution: each worker has a twin of its
own, nothing is shared.

A scenario whose lines name another station (`on station B`: dsl/stations.py) needs the whole bench, which no
worker has in this mode: on a worker whose station it does not name it is skipped, saying so (run it without
-n to judge it). One that names only the worker's own station runs there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

WORKER_STATION = "chargespec_station"  # workerinput key: the station this worker opens
_stations_key = pytest.StashKey["list[str] | None"]()
_live_key = pytest.StashKey["dict[str, str]"]()  # the controller's station -> the worker bound to it now


def configure(config: pytest.Config, default_bench: Path) -> None:
    """On the xdist controller, before any worker starts: per-station mode or not (or a usage error)."""
    config.stash[_stations_key] = None
    if getattr(config, "workerinput", None) is not None or config.option.collectonly:
        return
    if config.getoption("dist", "no") in ("no", None):
        return
    workers = len(config.getoption("tx", None) or [])
    if not workers:
        return
    opt = config.option
    bound = decide(Path(opt.bench) if opt.bench else default_bench, opt.chargespec_station, workers,
                   dist=given_dist(config))
    if isinstance(bound, str):
        raise pytest.UsageError(bound)
    if bound:
        config.option.dist = "each"  # every scenario on every worker: once per station
        config.stash[_stations_key] = bound


def given_dist(config: pytest.Config) -> str | None:
    """The --dist the user gave (or -d, --dist load), None when none: pytest-xdist makes `-n N` alone
    `--dist load` before this plugin sees the options, so it is read from the arguments as parsed before."""
    raw = getattr(config, "known_args_namespace", None)
    if raw is None:
        return None
    if getattr(raw, "distload", False):
        return "load"
    dist = getattr(raw, "dist", None)
    return None if dist in (None, "no") else str(dist)


def decide(bench_path: Path, station: str | None, workers: int, *, dist: str | None = None
           ) -> list[str] | str | None:
    """The stations workers gw0, gw1, ... are bound to (per-station mode), None (pytest-xdist as usual),
    or why `workers` workers cannot run on this bench (a usage error; `chargespec run` asks first, before
    its preflight). `dist`: the --dist the user gave; per-station mode runs every scenario on every station
    (--dist each) and refuses another rather than override it unsaid."""
    from lab.bench import load_bench

    try:
        bench = load_bench(bench_path)
    except Exception:
        return None  # the scenarios report a bench that does not load as broken, as without -n
    stations = [s.id for s in bench.stations]
    if station:
        stations = [s for s in stations if s == station] or stations[:1]
    if len(stations) == 1:
        if bench.kind != "twin" and workers > 1:
            return (f"-n {workers}: bench {bench.name!r} ({bench_path}) is physical with one station "
                    f"({stations[0]}): {workers} workers would drive that charger at once; run without -n")
        return None  # a twin of one station: each worker has its own twin (pytest-xdist distributes as usual)
    if workers != len(stations):
        return (f"-n {workers}: bench {bench.name!r} ({bench_path}) has {len(stations)} stations "
                f"({', '.join(stations)}) and runs one worker per station: give -n {len(stations)}, or "
                "--station ID for one of them (a campaign, docs/campaigns.md, runs up to N units at once)")
    if dist not in (None, "each"):
        # Any distribution keeps each worker on its own station; but another than `each` hands a scenario
        # to one worker only, so a scenario that names a station would land on a worker without it (and be
        # skipped there, never judged), and the run would wait for results on stations it never ran.
        return (f"--dist {dist}: bench {bench.name!r} ({bench_path}) has {len(stations)} stations and -n "
                f"{workers} runs per-station mode: each worker opens a station of its own, so no two scenarios "
                "ever drive one station at once, and every scenario runs on every station (--dist each). "
                f"--dist {dist} would run each scenario on one station only, which station left to chance. "
                "Leave --dist out (or give --dist each); for one station, --station ID; to run different "
                "units at once, a campaign (docs/campaigns.md)")
    return stations


def stations(config: pytest.Config) -> list[str] | None:
    """The stations of per-station mode in worker order (the controller), or None when not in it."""
    return config.stash.get(_stations_key, None)


def configure_node(node: Any) -> None:
    """Bind worker gwK to the K-th station; a worker that replaces a crashed one (pytest-xdist gives it a new
    id and the crashed worker's remaining scenarios) to the station left free."""
    ids = stations(node.config)
    if not ids:
        return
    live = node.config.stash.setdefault(_live_key, {})
    gid = node.gateway.id
    k = int(gid[2:]) if gid.startswith("gw") and gid[2:].isdigit() else -1
    free = [s for s in ids if s not in live]
    station = ids[k] if 0 <= k < len(ids) and ids[k] in free else (free[0] if free else None)
    if station is None:  # never two workers on one station
        raise RuntimeError(f"per-station mode: worker {gid} has no station left; {live} are taken")
    live[station] = gid
    node.workerinput[WORKER_STATION] = station


def node_down(node: Any) -> None:
    """A worker ended (or crashed): its station is free for the worker that may replace it."""
    live = node.config.stash.get(_live_key, {})
    for station, gid in list(live.items()):
        if gid == node.gateway.id:
            del live[station]


def worker_station(config: pytest.Config) -> str | None:
    """The station the controller bound this worker to (per-station mode), else None."""
    return (getattr(config, "workerinput", None) or {}).get(WORKER_STATION)


def crashed(report: Any) -> None:
    """pytest-xdist's report of a scenario whose worker died (made on the controller, without this plugin's
    makereport): broken, and in per-station mode the result of the crashed worker's station. Without the
    station it counted as a result of no station beside the station's own "did not finish": one result too
    many, so that a run whose crashed station never ran its remaining scenarios read as complete."""
    report.chargespec_verdict = "broken"
    station = (getattr(getattr(report, "node", None), "workerinput", None) or {}).get(WORKER_STATION)
    if station:
        report.chargespec_station = station


def result_key(nodeid: str, station: str | None) -> str:
    """One result per scenario and station: the key the controller counts and lists results by."""
    return f"{nodeid}@{station}" if station else nodeid


def skip_if_other_stations(config: pytest.Config, plan: Any, session: Any) -> None:
    """Per-station mode: skip a scenario that names a station this worker did not open (see above)."""
    own = worker_station(config)
    if own is None:
        return
    from dsl.stations import named_stations

    others = sorted({name for name, _ in named_stations((*plan.setup, *plan.steps, *plan.teardown))
                     if session.config.find_station(name) is None})
    if others:
        pytest.skip(f"names station {', '.join(others)}: it needs the whole bench, and in per-station mode "
                    f"(-n) this worker opens only {own}; run it without -n to judge it")


def label_unit(config: pytest.Config, session: Any) -> None:
    """Per-station mode: the Allure result names its unit (grouped by it; a result per station, not retries)."""
    own = worker_station(config)
    if own is None:
        return
    import allure

    serial = getattr(session.station(own).config, "serial", None) or ""
    unit = f"{own} ({serial})" if serial else own
    allure.dynamic.parent_suite(unit)
    allure.dynamic.label("unit", unit)
    allure.dynamic.parameter("station", own)
