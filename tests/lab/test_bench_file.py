"""Bench files: the shipped ones load; every mistake names the file and the key, all of them at once.

Golden cases: each tests/lab/golden_bench/*.toml holds mistakes a person makes in a bench file, and the
*.expected next to it the exact message (the file named as a person passed it). Regenerate after an
intended change of wording: CHARGESPEC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/lab/test_bench_file.py
(then read the diff: every changed message is a change users see).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.bench import BenchFileError, load_bench, speed_problem

REPO = Path(__file__).resolve().parents[2]
BENCHES = sorted((REPO / "lab" / "benches").glob("*.toml"))
GOLDEN = Path(__file__).parent / "golden_bench"
CASES = sorted(GOLDEN.glob("*.toml"))
UPDATE = os.environ.get("CHARGESPEC_UPDATE_GOLDEN") == "1"
# The environment the golden cases see: GOLDEN_PASSWORD is set, the *_UNSET_* names are not.
ENVIRON = {"GOLDEN_PASSWORD": "from-the-environment-16"}


@pytest.mark.parametrize("path", BENCHES, ids=[p.name for p in BENCHES])
def test_shipped_benches_load(path: Path) -> None:
    bench = load_bench(path)
    assert bench.stations and all(s.instruments for s in bench.stations)


def _message(case: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(GOLDEN)
    with pytest.raises(BenchFileError) as e:
        load_bench(case.name, environ=ENVIRON)
    return str(e.value) + "\n"


def test_golden_cases_are_distinct_mistakes() -> None:
    assert len(CASES) >= 15
    firsts = {c.with_suffix(".expected").read_text(encoding="utf-8").split("\n")[0].split(": ", 1)[1]
              for c in CASES if c.with_suffix(".expected").exists()}
    assert len(firsts) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_bad_bench_file_message_matches_golden(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = _message(case, monkeypatch)
    expected = case.with_suffix(".expected")
    if UPDATE:
        expected.write_text(got, encoding="utf-8")
    assert expected.exists(), f"no {expected.name}: run with CHARGESPEC_UPDATE_GOLDEN=1"
    assert got == expected.read_text(encoding="utf-8")
    # Every line names the file and a key (or the file as a whole), never a Python exception.
    for line in got.strip().split("\n"):
        if line.startswith(" "):
            continue  # the list of valid fault knobs
        assert line.startswith(f"{case.name}: "), line
        assert "Traceback" not in line and "Error(" not in line


def _bad(tmp_path: Path, text: str, **kw: object) -> str:
    f = tmp_path / "bench.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(BenchFileError) as e:
        load_bench(f, **kw)  # type: ignore[arg-type]
    return str(e.value)


STATION = '[[stations]]\nid = "A"\n[stations.instruments.analyzer]\ndriver = "yokogawa-wt300"\naddress = "twin"\n'
PHYSICAL = ('name = "x"\nkind = "physical"\n[[stations]]\nid = "CP-1"\n[stations.instruments.analyzer]\n'
            'driver = "yokogawa-wt300"\naddress = "TCPIP0::192.0.2.10::inst0::INSTR"\n')


def test_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + STATION.replace('driver = "yokogawa-wt300"\n', ""))
    assert msg == f"{tmp_path / 'bench.toml'}: stations.0.instruments.analyzer.driver: Field required"
    msg = _bad(tmp_path, 'name = "x"\nkind = "lab"\n' + STATION)
    assert "bench.toml: kind: Input should be 'twin' or 'physical'" in msg
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + STATION.replace("analyzer]", "scope]"))
    assert "stations.0.instruments: unknown instrument role(s) ['scope']" in msg
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + STATION.replace("analyzer]", "power]"))
    assert "power: driver 'yokogawa-wt300' is a power analyzer; the power role needs a supply switch driver" in msg
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\nspeed = 3\n' + STATION)
    assert "bench.toml: speed: unknown key; valid keys here: name, kind, clock, csms, stations, twin" in msg


def test_physical_bench_runs_at_real_time(tmp_path: Path) -> None:
    msg = _bad(tmp_path, 'name = "x"\nkind = "physical"\n[clock]\nspeed = 10\n' + STATION)
    assert "bench.toml: clock.speed: a physical bench runs at 1x real time" in msg


def test_not_toml_missing_file_and_directory(tmp_path: Path) -> None:
    assert "not valid TOML" in _bad(tmp_path, "name = \n")
    with pytest.raises(BenchFileError, match="no such bench file"):
        load_bench(tmp_path / "nope.toml")
    with pytest.raises(BenchFileError) as e:
        load_bench(tmp_path)
    assert str(e.value) == f"{tmp_path}: is a directory; give the bench file (TOML) itself, e.g. " \
                           "lab/benches/twin.toml"


def test_duplicate_station_ids(tmp_path: Path) -> None:
    assert "station ids must be unique; repeated: ['A']" in _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + STATION * 2)


@pytest.mark.parametrize("address", ["TCPIP0::192.0.2.10::inst0::INSTR", "TCPIP0::192.0.2.10::10001::SOCKET",
                                     "TCPIP::analyzer.lab::hislip0::INSTR", "USB0::0x0B21::0x0025::C2XY00123::INSTR",
                                     "GPIB0::7::INSTR", "ASRL/dev/ttyUSB1::INSTR"])
def test_visa_resource_forms_are_accepted(tmp_path: Path, address: str) -> None:
    f = tmp_path / "bench.toml"
    f.write_text(PHYSICAL.replace("TCPIP0::192.0.2.10::inst0::INSTR", address), encoding="utf-8")
    assert load_bench(f).stations[0].instruments["analyzer"].address == address


@pytest.mark.parametrize("address", ["/dev/ttyUSB0", "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", "COM3",
                                     "socket://192.0.2.20:4001", "rfc2217://evse-emu.lab:4001?logging=debug",
                                     "loop://", "spy:///dev/ttyUSB0", "socket://[::1]:4001"])
def test_serial_forms_are_accepted(tmp_path: Path, address: str) -> None:
    f = tmp_path / "bench.toml"
    f.write_text(PHYSICAL + f'[stations.instruments.ev]\ndriver = "chargespec-ev"\naddress = "{address}"\n',
                 encoding="utf-8")
    assert load_bench(f).stations[0].instruments["ev"].address == address


def test_passwords_from_the_environment_and_from_files(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "cp2.txt").write_text("station-two-password\n", encoding="utf-8")
    f = tmp_path / "bench.toml"
    f.write_text(PHYSICAL.replace('kind = "physical"\n', 'kind = "physical"\n[csms]\nsecurity_profile = 1\n'
                                  'password_env = "LAB_PW"\n[csms.passwords_file]\nCP-2 = "secrets/cp2.txt"\n'),
                 encoding="utf-8")
    bench = load_bench(f, environ={"LAB_PW": "from-the-environment-16"})
    assert bench.csms.password == "from-the-environment-16"
    assert bench.csms.passwords == {"CP-2": "station-two-password"}  # relative to the bench file, newline off
    # The resolved passwords stay out of the config's repr (and so out of any message that shows it).
    assert "from-the-environment" not in repr(bench) and "station-two" not in repr(bench.csms)
    msg = _bad(tmp_path, f.read_text(encoding="utf-8"), environ={})
    assert msg == f"{f}: csms.password_env: environment variable LAB_PW is not set"
    (tmp_path / "secrets" / "cp2.txt").write_text("", encoding="utf-8")
    msg = _bad(tmp_path, f.read_text(encoding="utf-8"), environ={"LAB_PW": "x" * 16})
    assert msg == f"{f}: csms.passwords_file.CP-2: {tmp_path / 'secrets' / 'cp2.txt'} is empty"


def test_speed_bounds_are_those_of_the_bench_file() -> None:
    assert speed_problem(30) is None and speed_problem(1000) is None
    assert speed_problem(0) == "must be a number greater than 0, got 0"
    assert speed_problem(-3) == "must be a number greater than 0, got -3"
    assert speed_problem(float("nan")) == "must be a number greater than 0, got nan"
    assert speed_problem(5000) == "must be at most 1000, got 5000"


# ---- the command line: usage errors, before anything starts, no traceback -----------------------------------

SPEC = 'spec "x"\n  scenario "y"\n    wait 1 s\n'


def _chargespec(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "x.spec").write_text(SPEC, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "runner.cli", "run", "x.spec", "--out", "out", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize(("args", "expected"), [
    (["--bench", str(GOLDEN / "01-unknown-driver.toml")],
     "01-unknown-driver.toml: stations.0.instruments.analyzer.driver: unknown driver 'yokogawa-wt310'; "
     "known drivers: abcd-ev, chargespec-ev"),
    (["--bench", str(GOLDEN / "06-serial-unknown-scheme.toml")],
     "06-serial-unknown-scheme.toml: stations.0.instruments.ev.address: 'tcp://192.0.2.20:4001': unknown "
     "pyserial URL scheme 'tcp'"),
    (["--bench", "."], ": is a directory; give the bench file (TOML) itself"),
    (["--speed", "0"], "--speed: must be a number greater than 0, got 0"),
    (["--speed", "-3", "--bench", str(REPO / "lab" / "benches" / "twin.toml")],
     "--speed: must be a number greater than 0, got -3"),
    (["--bench", str(REPO / "lab" / "benches" / "example-lab.toml"), "--fault", "meter_gain=1.03"],
     "--fault: " + str(REPO / "lab" / "benches" / "example-lab.toml") + " is a physical bench; fault knobs "
     "apply to a twin bench only"),
    (["--bench", str(REPO / "lab" / "benches" / "example-lab.toml"), "--speed", "10"],
     "example-lab.toml is a physical bench, which runs at 1x real time; --speed applies to a twin bench only"),
    (["--fault", "meter_gain=0"], "--fault meter_gain='0': must be greater than 0 and at most 10"),
])
def test_cli_usage_error_before_anything_starts(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = _chargespec(tmp_path, *args)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    out = proc.stdout + proc.stderr
    assert expected in out
    assert "Traceback" not in out and "INTERNALERROR" not in out
    assert not list((tmp_path / "out").rglob("*-result.json")), "a scenario ran"


@pytest.mark.parametrize("speed", ["0", "-3", "nan"])
def test_twin_alone_blames_speed_on_the_option(speed: str, capsys: pytest.CaptureFixture[str]) -> None:
    from lab.twin.serve import main

    assert main(["--csms", "ws://127.0.0.1:9", "--speed", speed]) == 4  # (a usage error, as every command's)
    err = capsys.readouterr().err
    assert err.startswith("chargespec twin: --speed: must be a number greater than 0") and "toml" not in err


def test_a_twin_station_has_up_to_four_evses(tmp_path: Path) -> None:
    """The twin models stations of 1 to 4 EVSEs (docs/twin.md, "Stations of several EVSEs")."""
    four = STATION.replace('id = "A"\n', 'id = "A"\nevses = 4\n')
    f = tmp_path / "ok.toml"
    f.write_text('name = "x"\nkind = "twin"\n' + four, encoding="utf-8")
    assert load_bench(f).stations[0].evses == 4
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + four.replace("evses = 4", "evses = 5"))
    assert "bench.toml: stations.0.evses: a twin station has at most 4 EVSEs, not 5" in msg
    two = STATION.replace('id = "A"\n', 'id = "A"\nevses = 2\n')
    msg = _bad(tmp_path, 'name = "x"\nkind = "twin"\n' + two +
               '[stations.instruments.analyzer3]\ndriver = "yokogawa-wt300"\naddress = "twin"\n')
    assert "stations.0.instruments: ['analyzer3'] name an EVSE the station does not have (evses = 2)" in msg
