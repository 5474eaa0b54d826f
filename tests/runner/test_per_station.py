"""runner/per_station.py without workers: which station each pytest-xdist worker is bound to, and which
worker counts a bench refuses."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from runner import per_station

REPO = Path(__file__).resolve().parents[2]
TWO = REPO / "lab" / "benches" / "twin-2station.toml"


def _node(config: Any, gid: str) -> Any:
    return SimpleNamespace(config=config, gateway=SimpleNamespace(id=gid), workerinput={})


def _config(stations: list[str]) -> Any:
    config = SimpleNamespace(stash=pytest.Stash())
    config.stash[per_station._stations_key] = stations
    return config


def test_worker_k_gets_station_k_and_a_replacement_the_crashed_workers_station() -> None:
    config = _config(["TWIN-A", "TWIN-B"])
    gw0, gw1 = _node(config, "gw0"), _node(config, "gw1")
    per_station.configure_node(gw1)
    per_station.configure_node(gw0)
    assert (gw0.workerinput["chargespec_station"], gw1.workerinput["chargespec_station"]) == ("TWIN-A", "TWIN-B")
    with pytest.raises(RuntimeError, match="worker gw2 has no station left"):
        per_station.configure_node(_node(config, "gw2"))  # never two workers on one station
    per_station.node_down(gw1)  # crashed: pytest-xdist starts gw2 with gw1's remaining scenarios
    gw2 = _node(config, "gw2")
    per_station.configure_node(gw2)
    assert gw2.workerinput["chargespec_station"] == "TWIN-B"


def test_which_worker_counts_a_bench_takes() -> None:
    assert per_station.decide(TWO, None, 2) == ["TWIN-A", "TWIN-B"]
    assert per_station.decide(TWO, "TWIN-B", 3) is None  # one twin station: pytest-xdist as usual
    assert per_station.decide(REPO / "lab" / "benches" / "twin.toml", None, 2) is None
    one = per_station.decide(TWO, None, 1)
    assert isinstance(one, str) and "has 2 stations (TWIN-A, TWIN-B)" in one and "give -n 2" in one
    physical = per_station.decide(REPO / "lab" / "benches" / "example-lab.toml", None, 2)
    assert isinstance(physical, str) and "is physical with one station (CP-ACME-0042)" in physical
    assert per_station.decide(REPO / "lab" / "benches" / "example-lab.toml", None, 1) is None


def test_a_dist_the_user_gave_is_kept_or_refused_never_overridden() -> None:
    assert per_station.decide(TWO, None, 2, dist="each") == ["TWIN-A", "TWIN-B"]
    refusal = per_station.decide(TWO, None, 2, dist="worksteal")
    assert isinstance(refusal, str) and refusal.startswith("--dist worksteal: bench 'twin-2station'")
    # not per-station mode (one station of a twin): pytest-xdist's own distribution, as the user gave it
    assert per_station.decide(TWO, "TWIN-B", 2, dist="load") is None
