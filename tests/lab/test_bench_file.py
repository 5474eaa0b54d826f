"""Bench files: the shipped ones load; a mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.bench import BenchFileError, load_bench

BENCHES = sorted((Path(__file__).resolve().parents[2] / "lab" / "benches").glob("*.toml"))


@pytest.mark.parametrize("path", BENCHES, ids=[p.name for p in BENCHES])
def test_shipped_benches_load(path: Path) -> None:
    bench = load_bench(path)
    assert bench.stations and all(s.instruments for s in bench.stations)


def _bad(tmp_path: Path, text: str) -> str:
    f = tmp_path / "bench.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(BenchFileError) as e:
        load_bench(f)
    return str(e.value)


STATION = '[[stations]]\nid = "A"\n[stations.instruments.analyzer]\ndriver = "yokogawa-wt300"\naddress = "twin"\n'


def test_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + STATION.replace('driver = "yokogawa-wt300"\n', ""))
    assert msg == f"{tmp_path / 'bench.toml'}: stations.0.instruments.analyzer.driver: Field required"
    msg = _bad(tmp_path, 'name = "x"\nkind = "lab"\n' + STATION)
    assert "bench.toml: kind: Input should be 'twin' or 'physical'" in msg
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + STATION.replace("analyzer]", "scope]"))
    assert "stations.0.instruments: Value error, unknown instrument role(s) ['scope']" in msg
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\nspeed = 3\n' + STATION)
    assert "speed: Extra inputs are not permitted" in msg


def test_physical_bench_runs_at_real_time(tmp_path: Path) -> None:
    msg = _bad(tmp_path, 'name = "x"\nkind = "physical"\n[clock]\nspeed = 10\n' + STATION)
    assert "a physical bench runs at 1x real time" in msg


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid TOML" in _bad(tmp_path, "name = \n")
    with pytest.raises(BenchFileError, match="no such bench file"):
        load_bench(tmp_path / "nope.toml")


def test_duplicate_station_ids(tmp_path: Path) -> None:
    assert "station ids must be unique; repeated: ['A']" in _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + STATION * 2)
