"""Naming a station on a bench of several (dsl/stations.py, runner/stations.py, the recorder's station keys):
check-time errors against a bench file, the run-time usage error, and where a named station's samples are read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dsl
from instruments.clock import Clock
from lab.bench import load_bench
from runner.bench_session import BenchSession
from runner.errors import BenchError
from runner.recorder import Recorder
from runner.stations import station_errors

REPO = Path(__file__).resolve().parents[2]
TWO = REPO / "lab" / "benches" / "twin-2station.toml"
SPEC = '''spec "x"
  scenario "y"
    ev plugs in on station {name}
    expect analyzer power on station right < 1 kW
'''


def _plans(tmp_path: Path, name: str) -> tuple:
    (tmp_path / "x.spec").write_text(SPEC.format(name=name), encoding="utf-8")
    return dsl.load(tmp_path / "x.spec")


def test_ids_and_aliases_of_the_bench_are_known(tmp_path: Path) -> None:
    assert station_errors(_plans(tmp_path, '"TWIN-B"'), load_bench(TWO)) == []
    assert station_errors(_plans(tmp_path, "left"), load_bench(TWO)) == []


def test_a_station_the_bench_lacks_is_named_with_the_stations_it_has(tmp_path: Path) -> None:
    (err,) = station_errors(_plans(tmp_path, "rigth"), load_bench(TWO))
    assert (err.source.line, err.source.column, err.width) == (3, 28, 5)
    assert err.message == "bench 'twin-2station' has no station 'rigth'"
    assert err.hint == 'did you mean "right"? it has TWIN-A (alias left), TWIN-B (alias right)'
    # `right` in the signal is on the two-station bench but not on the one-station twin.
    errors = station_errors(_plans(tmp_path, "left"), load_bench(REPO / "lab" / "benches" / "twin.toml"))
    assert [e.message for e in errors] == ["bench 'twin' has no station 'left'", "bench 'twin' has no station 'right'"]


def test_a_message_line_naming_a_station_the_bench_lacks_is_an_error_at_the_name(tmp_path: Path) -> None:
    """`expect charger sends … on station NAME`, `expect no …` and `remember …` are checked like statements."""
    (tmp_path / "m.spec").write_text('''spec "x"
  scenario "y"
    expect within 5 s: charger sends StatusNotification {connectorStatus: "Occupied"} on station rigth
    expect no TransactionEvent for 1 s on station right
    remember transactionInfo.transactionId of the last TransactionEvent {} as "tx" on station "TWIN-C"
''', encoding="utf-8")
    errors = station_errors(dsl.load(tmp_path / "m.spec"), load_bench(TWO))
    assert [(e.source.line, e.source.column, e.message) for e in errors] == [
        (3, 98, "bench 'twin-2station' has no station 'rigth'"),
        (5, 96, "bench 'twin-2station' has no station 'TWIN-C'")]  # (a quoted id: the caret under the id)


def test_check_with_a_bench_exits_non_zero_naming_the_station(tmp_path: Path) -> None:
    (tmp_path / "x.spec").write_text(SPEC.format(name="TWIN-C"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "check", "--bench", str(TWO), str(tmp_path / "x.spec")],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 4  # a spec error is a usage error (runner/exitcodes.py)
    assert "has no station 'TWIN-C' — did you mean \"TWIN-B\"?" in proc.stderr
    ok = subprocess.run([sys.executable, "-m", "runner.cli", "check", "--bench", str(TWO), "specs/site"],
                        cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr


def test_at_run_time_an_unknown_station_is_a_bench_error() -> None:
    session = BenchSession(load_bench(TWO))
    with pytest.raises(BenchError, match=r"bench 'twin-2station' \(.*twin-2station.toml\) has no station 'rihgt'; "
                                         r'did you mean "right"\?; it has TWIN-A \(alias left\), TWIN-B'):
        session.named_station("rihgt")
    assert session.key_prefix("TWIN-A") == "" and session.key_prefix("TWIN-B") == "@TWIN-B."


def test_a_named_station_reads_its_own_samples() -> None:
    rec = Recorder(Clock(1.0))
    rec.sample("analyzer.power", 1.0, 1.0)
    rec.sample("@TWIN-B.analyzer.power", 2.0, 1.0)
    rec.alias_stations({"right": "@TWIN-B.", "left": ""})
    assert rec.series("@right.analyzer.power")[1] == [2.0]
    assert rec.series("@left.analyzer.power")[1] == [1.0]
    assert rec.series("@TWIN-C.analyzer.power")[1] == []  # never a neighbour's reading
    rec.alias_stations({})
    assert rec.series("@right.analyzer.power")[1] == []
