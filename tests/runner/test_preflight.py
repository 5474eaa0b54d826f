"""Preflight (runner/preflight.py): the bench and its chargers against the bench file, before a campaign.

Unit tests judge findings from a bench file and given answers; the end-to-end tests run the twin with a
firmware that differs from the bench file's (the acceptance case of issue 15): `chargespec preflight` fails
naming both versions, and `chargespec run` refuses to start (no scenario runs) unless told to accept it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path

import pytest

from lab.bench import load_bench
from runner import preflight
from runner.cli import main
from runner.exitcodes import RunExit

REPO = Path(__file__).resolve().parents[2]
TWIN = REPO / "lab" / "benches" / "twin.toml"
LAB = REPO / "lab" / "benches" / "example-lab.toml"
ST = "TWIN-AC22-001"
ANSWERS = {f"{ST}.analyzer": "YOKOGAWA,WT333,TWIN-WT333-0001,F1.03",
           f"{ST}.analyzer2": "YOKOGAWA,WT333,TWIN-WT333-0002,F1.03",
           f"{ST}.ev": "chargespec,TWIN-EV,TWIN-EVE-0001,1.0.0", f"{ST}.ev2": "chargespec,TWIN-EV,TWIN-EVE-0002,1.0.0",
           f"{ST}.reader": "chargespec,TWIN-READER,TWIN-RDR-0001,1.0.0", f"{ST}.ems": "chargespec EMS map v1"}
BOOT = {ST: {"vendorName": "chargespec", "model": "Twin AC22", "serialNumber": "TWIN-AC22-SN-0001",
             "firmwareVersion": "1.4.2"}}


def _lines(findings: list[preflight.Finding]) -> list[str]:
    return [f.line() for f in preflight.invalidating(findings)]


def test_a_healthy_twin_bench_has_no_invalidating_finding() -> None:
    cfg = load_bench(TWIN)
    findings = preflight.instrument_findings(cfg, ANSWERS, date(2026, 11, 30)) + preflight.charger_findings(cfg, BOOT)
    assert _lines(findings) == []
    assert preflight.verdict_line(findings).startswith("preflight: the bench is as the bench file says")


def test_a_swapped_instrument_and_an_expired_calibration_invalidate_the_campaign() -> None:
    cfg = load_bench(LAB)
    answers = {"CP-ACME-0042.analyzer": "YOKOGAWA,WT333,C2PH12345,F1.03"}  # the EV emulator does not answer
    findings = preflight.instrument_findings(cfg, answers, date(2027, 2, 1))
    assert _lines(findings) == [
        "CP-ACME-0042.analyzer serial number: the instrument says C2PH12345, the bench file expects C2XY00123",
        "CP-ACME-0042.ev identity: the instrument was not reached",
    ]
    findings = preflight.instrument_findings(cfg, {**answers, "CP-ACME-0042.ev": "x,EVE,EVE-2231,1"},
                                             date(2027, 2, 1))
    assert _lines(findings)[1:] == [
        "CP-ACME-0042.ev calibration: EXPIRED: calibration was due 2027-01-15, the campaign date is 2027-02-01"]


def test_on_a_twin_bench_an_expired_calibration_is_a_warning() -> None:
    findings = preflight.instrument_findings(load_bench(TWIN), ANSWERS, date(2027, 7, 1))
    assert _lines(findings) == []
    assert preflight.warnings(findings)[0].line() == (
        f"{ST}.analyzer calibration: EXPIRED: calibration was due 2027-06-30, the campaign date is 2027-07-01 "
        "(simulation)")


def test_a_calibration_due_soon_is_a_warning_not_a_refusal() -> None:
    cfg = load_bench(TWIN)
    findings = preflight.instrument_findings(cfg, ANSWERS, date(2027, 6, 20))
    assert _lines(findings) == []
    assert preflight.warnings(findings)[0].line() == (
        f"{ST}.analyzer calibration: calibration due 2027-06-30, 10 day(s) after the campaign date 2027-06-20")


def test_an_instrument_model_the_bench_file_states_is_compared(tmp_path: Path) -> None:
    text = TWIN.read_text(encoding="utf-8").replace('serial = "TWIN-WT333-0001"',
                                                    'serial = "TWIN-WT333-0001"\nmodel = "WT310"')
    bench = tmp_path / "b.toml"
    bench.write_text(text, encoding="utf-8")
    findings = preflight.instrument_findings(load_bench(bench), ANSWERS, date(2026, 11, 30))
    assert _lines(findings) == [f"{ST}.analyzer model: the instrument says WT333, the bench file expects WT310"]


def test_a_charger_that_did_not_boot_or_reports_other_firmware_invalidates() -> None:
    cfg = load_bench(TWIN)
    assert _lines(preflight.charger_findings(cfg, {})) == [
        f"charger {ST} boot: the charger did not connect and boot: its identity is unknown"]
    drifted = {ST: {**BOOT[ST], "firmwareVersion": "1.4.3"}}
    assert _lines(preflight.charger_findings(cfg, drifted)) == [
        f"charger {ST} firmware: the charger reports 1.4.3, the bench file expects 1.4.2"]


def test_version_comes_from_the_package_metadata() -> None:
    r = subprocess.run([sys.executable, "-m", "runner.cli", "--version"], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0
    assert r.stdout.strip() == f"chargespec {version('chargespec')}"


def test_preflight_on_the_twin_fails_naming_both_firmware_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preflight", "--fault", "firmware_version=9.9.9", "--speed", "50"]) == RunExit.PREFLIGHT_FAILED
    out, err = capsys.readouterr()
    assert "INVALID: the charger reports 9.9.9, the bench file expects 1.4.2" in out
    assert f"  charger {ST} firmware: the charger reports 9.9.9, the bench file expects 1.4.2" in err.splitlines()
    assert "serial number  TWIN-WT333-0001" in out  # every instrument's identity was read and compared


def test_run_refuses_to_start_on_a_firmware_mismatch_unless_told(tmp_path: Path) -> None:
    spec = tmp_path / "x.spec"
    spec.write_text('spec "x"\n  scenario "y"\n    wait 1 s\n', encoding="utf-8")
    args = [sys.executable, "-m", "runner.cli", "run", str(spec), "--speed", "50", "--out", str(tmp_path / "out"),
            "--fault", "firmware_version=9.9.9", "--progress", "off"]
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == RunExit.PREFLIGHT_FAILED, r.stdout + r.stderr
    assert f"charger {ST} firmware: the charger reports 9.9.9, the bench file expects 1.4.2" in r.stdout
    # pytest's closing line counts no test outcome: "no tests ran", or only its warnings ("1 warning"). A
    # `runner` package found on sys.path (PYTHONPATH set to a checkout, or run from the repository root) is marked
    # for assertion rewriting after `runner.cli` imported it: pytest warns, and its line reads "1 warning in …".
    closing = re.findall(r"^=+ (.+) in [\d.]+s =+$", r.stdout, re.MULTILINE)
    assert closing and re.fullmatch(r"no tests ran|\d+ warnings?", closing[-1]), r.stdout
    run = (tmp_path / "out" / "latest").resolve()
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert verdicts["results"] == [] and verdicts["verdict"] == "incomplete"
    assert verdicts["status.reason"].startswith("refused to start: charger TWIN-AC22-001 firmware: the charger "
                                                "reports 9.9.9")
    kept = json.loads((run / "preflight.json").read_text(encoding="utf-8"))
    assert kept["invalidating"] == 1 and kept["accepted despite findings"] is False

    r = subprocess.run([*args, "--accept-preflight-warnings"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    kept = json.loads(((tmp_path / "out" / "latest").resolve() / "preflight.json").read_text(encoding="utf-8"))
    assert kept["accepted despite findings"] is True
