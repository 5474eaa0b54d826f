"""The acceptance summary from run folders made here (runner/summary/): what it concludes, what it shows, and
that every PDF page carries the running header, "page x of y" and, on a simulation, the banner.

The folders are written as the runner writes them (run.json, verdicts.json, boot/, the bench file);
tests/runner/test_summary_e2e.py makes them with real runs on the twin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runner.cli import main as cli_main
from runner.summary import build, model

BENCH = '''name = "lab-3"
kind = "{kind}"

[report]
lab = "EV Test Lab Ltd"
customer = "City Fleet"
order = "PO-4711"
operator = "A. Tester"
report_number = "R-2026-0042"
timezone = "Europe/Berlin"
ambient = "23 °C, 40 % RH"

[[stations]]
id = "CS-1"
vendor = "Acme"
model = "Wallbox 22"
serial = "ACME-SN-123"
firmware = "2.0.1"

[stations.instruments.analyzer]
driver = "yokogawa-wt300"
address = "TCPIP0::10.0.0.5::10001::SOCKET"
serial = "WT-9001"
calibrated = 2026-01-15
calibration_due = {due}
certificate = "DAkkS D-K-1234 2026-01"
uncertainty = "±0.1 % of reading"

[stations.instruments.ev]
driver = "chargespec-ev"
address = "socket://10.0.0.6:5000"
serial = "EVE-77"
calibration_due = 2027-12-31
'''

PASSED_M = {"line": 9, "criterion": "expect within 30 s: analyzer current L1 <= 16 A + 0.5 A", "verdict": "passed",
            "observed": {"value": 15.9, "unit": "A", "text": "15.90 A"},
            "limits": [{"op": "<=", "value": 16.5, "unit": "A", "text": "16 A + 0.5 A"}],
            "margin": {"value": 0.6, "unit": "A", "percent_of_limit": 3.6}}
FAILED_M = {"line": 17, "criterion": 'expect charger energy over "steady" within 2 % of analyzer energy', "verdict":
            "failed", "observed": {"value": 3.0, "unit": "%", "text": "+3.00 %"},
            "limits": [{"op": "within ±", "value": 2.0, "unit": "%", "text": "2 %"}],
            "margin": {"value": -1.0, "unit": "%", "percent_of_limit": -50.0},
            "figures": [{"name": "charger energy", "text": "1.878 kWh"},
                        {"name": "analyzer energy", "text": "1.823 kWh"}]}


def _result(spec: str, scenario: str, refs: list[str], verdict: str, measurements: list[dict[str, Any]],
            message: str = "") -> dict[str, Any]:
    return {"spec": spec, "spec version": "3", "spec sha256": "ab" * 32, "scenario": scenario, "refs": refs,
            "verdict": verdict, "message": message, "evidence": f"evidence/{scenario}", "measurements": measurements}


def make_run(tmp_path: Path, *, kind: str = "physical", status: str = "complete", faults: str = "",
             due: str = "2027-01-15", results: list[dict[str, Any]] | None = None,
             serial_said: str = "ACME-SN-123", firmware_said: str = "2.0.1") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH.format(kind=kind, due=due), encoding="utf-8")
    folder = tmp_path / "runs" / "2026-11-30T13-07-39Z"
    (folder / "boot").mkdir(parents=True)
    identity = {
        "status": status, "status.reason": "2 scenario(s) ran to a verdict" if status == "complete"
        else "interrupted by SIGINT at `x.spec:4`", "run": folder.name,
        "started": "2026-11-30T13:07:39+00:00", "finished": "2026-11-30T13:20:02+00:00",
        "bench": "lab-3", "bench.file": str(bench), "bench.kind": kind,
        **({"faults": faults} if faults else {}),
        "instruments": {"CS-1.analyzer": "YOKOGAWA,WT333E,WT-9001,F2.01 (serial in bench file WT-9001)",
                        "CS-1.ev": "chargespec,EV-EMU,EVE-77,1.0 (serial in bench file EVE-77)"},
    }
    (folder / "run.json").write_text(json.dumps(identity), encoding="utf-8")
    if results is None:
        results = [_result("specs/limit.spec", "limit 16 A", ["OCPP 2.0.1 K01", "OCPP 2.0.1 TC_K_01_CS"], "passed",
                           [PASSED_M]),
                   _result("specs/meter.spec", "load point 16 A", ["MID 2014/32/EU Annex V (MI-003)"], "failed",
                           [PASSED_M, FAILED_M], message="specs/meter.spec:17:5: error +3.00 % (allowed ±2 %)")]
    (folder / "verdicts.json").write_text(json.dumps({"status": status, "results": results}), encoding="utf-8")
    cs = {"vendorName": "Acme", "model": "Wallbox 22", "serialNumber": serial_said, "firmwareVersion": firmware_said}
    frame = json.dumps([2, "1", "BootNotification", {"chargingStation": cs, "reason": "PowerUp"}])
    (folder / "boot" / "CS-1.json").write_text(json.dumps(
        {"station": "CS-1", "t": 0.4, "frame": frame, "chargingStation": cs, "boots": 1}), encoding="utf-8")
    (folder / "feature-matrix.json").write_text(json.dumps({"CS-1": {
        "controllers": [{"component": "SmartChargingCtrlr", "available": True, "enabled": True}],
        "required": {"missing": []}, "capabilities": {"declared": {"FixedCable": True}}}}), encoding="utf-8")
    return folder


def test_a_failure_is_not_accepted_and_the_summary_names_device_instruments_and_every_requirement(
        tmp_path: Path) -> None:
    s = model.read(make_run(tmp_path))
    assert s.verdict == model.NOT_ACCEPTED
    assert s.verdict_reasons == ("1 scenario(s) failed: the charger did not meet a criterion",)
    assert s.simulation == ""  # a physical bench without faults
    h = s.header
    assert (h.report_number, h.lab, h.customer, h.order, h.operator, h.zone) == (
        "R-2026-0042", "EV Test Lab Ltd", "City Fleet", "PO-4711", "A. Tester", "Europe/Berlin")
    assert h.started == "2026-11-30 14:07:39 CET (13:07:39 UTC)"
    (d,) = s.devices
    assert (d.vendor, d.model, d.serial, d.firmware, d.checks) == ("Acme", "Wallbox 22", "ACME-SN-123", "2.0.1", ())
    assert '"serialNumber": "ACME-SN-123"' in d.proof
    analyzer, ev = s.instruments
    assert (analyzer.serial, analyzer.calibrated, analyzer.due, analyzer.certificate, analyzer.uncertainty) == (
        "WT-9001", "2026-01-15", "2027-01-15", "DAkkS D-K-1234 2026-01", "±0.1 % of reading")
    assert (analyzer.status, analyzer.ok) == ("in calibration on 2026-11-30", True)
    assert (ev.serial, ev.ok) == ("EVE-77", True)
    assert {(q.ref, q.verdict) for q in s.requirements} == {
        ("OCPP 2.0.1 K01", "passed"), ("OCPP 2.0.1 TC_K_01_CS", "passed"),
        ("MID 2014/32/EU Annex V (MI-003)", "failed")}
    failed = next(r for r in s.results if r.verdict == "failed")
    check = failed.checks[1]
    assert (check.limit, check.measured, check.margin, check.verdict) == (
        "within ± 2 %", "+3.00 % (charger energy = 1.878 kWh; analyzer energy = 1.823 kWh)",
        "-1 % (-50 % of limit)", "failed")
    assert failed.checks[0].limit == "≤ 16 A + 0.5 A"
    assert any(f.feature == "SmartChargingCtrlr" and f.state == "present, available, enabled" for f in s.features)
    assert s.deviations == ("failed: specs/meter.spec · load point 16 A: specs/meter.spec:17:5: error +3.00 % "
                            "(allowed ±2 %)",)


def test_all_passed_on_a_physical_bench_is_accepted(tmp_path: Path) -> None:
    results = [_result("specs/limit.spec", "limit 16 A", ["OCPP 2.0.1 K01"], "passed", [PASSED_M])]
    assert model.read(make_run(tmp_path, results=results)).verdict == model.ACCEPTED


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "INCOMPLETE"}, "the run did not finish: interrupted by SIGINT at `x.spec:4`"),
    ({"due": "2026-11-01"}, "instrument CS-1.analyzer: EXPIRED: calibration was due 2026-11-01, tested 2026-11-30"),
    ({"firmware_said": "2.0.0"}, "device CS-1: firmware: the charger says 2.0.0, the bench file expects 2.0.1"),
    ({"serial_said": "OTHER-1"}, "device CS-1: serial number: the charger says OTHER-1, the bench file expects "
                                 "ACME-SN-123"),
    ({"results": [_result("specs/x.spec", "x", [], "broken", [], "no analyzer answer")]},
     "1 scenario(s) broken: the bench could not judge them"),
    ({"results": []}, "no scenario ran"),
    ({"results": [_result("specs/ui.spec", "ui", ["R-9"], "skipped", [], "charger lacks an optional feature")]},
     "no scenario was judged: each one was skipped (the charger lacks the feature it is for)"),
], ids=["interrupted", "calibration-expired", "other-firmware", "other-serial", "broken", "nothing-ran",
        "all-skipped"])
def test_what_keeps_a_passing_run_from_acceptance_makes_it_incomplete(tmp_path: Path, change: dict[str, Any],
                                                                      reason: str) -> None:
    passing = [_result("specs/limit.spec", "limit 16 A", ["OCPP 2.0.1 K01"], "passed", [PASSED_M])]
    s = model.read(make_run(tmp_path, **{"results": passing, **change}))
    assert s.verdict == model.INCOMPLETE
    assert reason in s.verdict_reasons


def test_an_interrupted_run_with_a_failure_says_incomplete_and_names_the_failure(tmp_path: Path) -> None:
    """As verdicts.json: a run that did not finish has no verdict; what failed before the stop is listed."""
    s = model.read(make_run(tmp_path, status="INCOMPLETE"))
    assert s.verdict == model.INCOMPLETE
    assert s.verdict_reasons[:2] == ("the run did not finish: interrupted by SIGINT at `x.spec:4`",
                                     "1 scenario(s) failed: the charger did not meet a criterion")


def test_a_twin_run_or_a_fault_knob_carries_the_simulation_banner(tmp_path: Path) -> None:
    assert model.read(make_run(tmp_path / "a", kind="twin")).simulation.startswith(
        "SIMULATION — NOT VALID FOR ACCEPTANCE (twin bench lab-3")
    faulty = model.read(make_run(tmp_path / "b", faults="meter_gain=1.03"))
    assert "fault injected: meter_gain=1.03" in faulty.simulation


def test_the_console_line_of_a_simulation_says_so_beside_the_verdict(tmp_path: Path, capsys) -> None:
    """The run's closing lines are evidence too: a twin run or a fault knob is marked there as on every page."""
    passing = [_result("specs/limit.spec", "limit 16 A", ["OCPP 2.0.1 K01"], "passed", [PASSED_M])]
    folder = make_run(tmp_path / "twin", kind="twin", faults="meter_gain=1.03", results=passing)
    assert cli_main(["report", str(folder)]) == 0
    assert ("Acceptance summary: ACCEPTED — SIMULATION — NOT VALID FOR ACCEPTANCE (twin bench lab-3; fault injected: "
            "meter_gain=1.03)\n") in capsys.readouterr().out
    assert cli_main(["report", str(make_run(tmp_path / "lab", results=passing))]) == 0
    assert "Acceptance summary: ACCEPTED\n" in capsys.readouterr().out  # a physical bench, no fault: no mark


def test_a_folder_that_is_no_run_is_refused_and_a_missing_bench_file_is_said(tmp_path: Path, capsys) -> None:
    assert cli_main(["report", str(tmp_path), "-o", str(tmp_path / "out")]) == 4
    assert "is not a run folder" in capsys.readouterr().err
    folder = make_run(tmp_path)
    (tmp_path / "bench.toml").unlink()
    s = model.read(folder)
    assert s.verdict == model.NOT_ACCEPTED and s.instruments == ()


def _page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


def _red_band(png: Path) -> bool:
    """The banner: a band of the page's top 4 % that is mostly the banner's red."""
    from PIL import Image

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        w, h = rgb.size
        band = [rgb.getpixel((x, y)) for x in range(0, w, 4) for y in range(0, int(h * 0.04), 2)]
    red = sum(1 for r, g, b in band if r > 180 and g < 60 and b < 60)
    return red > 0.8 * len(band)


@pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdftotext")), reason="needs poppler-utils")
@pytest.mark.parametrize("kind", ["twin", "physical"])
def test_every_pdf_page_carries_header_page_x_of_y_and_on_the_twin_the_banner(tmp_path: Path, kind: str) -> None:
    # enough results for several pages
    many = [_result(f"specs/s{i}.spec", f"scenario {i}", [f"REQ-{i:03d}"], "passed" if i % 7 else "failed",
                    [PASSED_M, FAILED_M]) for i in range(40)]
    folder = make_run(tmp_path, kind=kind, results=many)
    files = build(folder, tmp_path / "out")
    assert files.verdict == model.NOT_ACCEPTED
    pages = _page_texts(files.pdf)
    assert len(pages) >= 3
    for n, text in enumerate(pages, 1):
        assert "report R-2026-0042" in text and "Acme Wallbox 22 (ACME-SN-123)" in text, n
        assert f"page {n} of {len(pages)}" in text, n
        assert ("SIMULATION — NOT VALID FOR ACCEPTANCE" in text) == (kind == "twin"), n
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(files.pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == len(pages)
    assert [_red_band(p) for p in pngs] == [kind == "twin"] * len(pages)
    everything = "".join(pages)
    for i in range(40):  # the results table lists every requirement with its verdict
        assert f"REQ-{i:03d}" in everything
    html = files.html.read_text(encoding="utf-8")
    assert "<script" not in html and "src=" not in html and "href=" not in html  # nothing to fetch: opens anywhere
    assert all(f"REQ-{i:03d}" in html for i in range(40))
    assert ("SIMULATION — NOT VALID FOR ACCEPTANCE" in html) == (kind == "twin")


def _bench_problems(tmp_path: Path, text: str) -> str:
    from lab.bench import BenchFileError, load_bench

    p = tmp_path / "b.toml"
    p.write_text(text, encoding="utf-8")
    try:
        load_bench(p)
    except BenchFileError as e:
        return str(e)
    return ""


def test_the_bench_file_s_report_keys_are_validated(tmp_path: Path) -> None:
    good = BENCH.format(kind="physical", due="2027-01-15")
    assert _bench_problems(tmp_path, good) == ""
    zone = _bench_problems(tmp_path, good.replace('"Europe/Berlin"', '"Mars/Olympus"'))
    assert "unknown time zone 'Mars/Olympus'" in zone
    order = _bench_problems(tmp_path, BENCH.format(kind="physical", due="2025-12-31"))
    assert "stations.0.instruments.analyzer: calibrated 2026-01-15 is after calibration_due 2025-12-31" in order
    typo = _bench_problems(tmp_path, good.replace("operator =", "operater ="))
    assert "report.operater" in typo


_CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync")


def _in_chromium(chromium: str, html: Path, tmp_path: Path) -> None:
    shot, printed = tmp_path / "summary.png", tmp_path / "printed.pdf"
    for i, action in enumerate([("--window-size=1200,1600", f"--screenshot={shot}"),
                                ("--no-pdf-header-footer", f"--print-to-pdf={printed}")]):
        subprocess.run([chromium, *_CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / f'chromium-{i}'}", *action,
                        html.as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 10_000
    from PIL import Image

    with Image.open(shot) as im:  # the banner's red is at the top of the page
        top = [im.convert("RGB").getpixel((x, 20)) for x in range(100, 1100, 50)]
    assert all(r > 180 and g < 60 and b < 60 for r, g, b in top), top
    pages = _page_texts(printed)  # printed from the browser: every page says what it is
    assert len(pages) >= 2, "forty results fill more than one A4 page"
    for n, page in enumerate(pages, 1):
        assert f"page {n} of {len(pages)}" in page and "SIMULATION — NOT VALID FOR ACCEPTANCE" in page, n


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (`make test` installs it as root)")
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_the_html_opens_from_the_file_system_in_headless_chromium_and_prints_every_page_marked(
        tmp_path: Path) -> None:
    many = [_result(f"specs/s{i}.spec", f"scenario {i}", [f"REQ-{i:03d}"], "passed", [PASSED_M]) for i in range(40)]
    files = build(make_run(tmp_path, kind="twin", results=many), tmp_path / "out")
    _in_chromium(shutil.which("chromium") or "chromium", files.html.resolve(), tmp_path)


@pytest.mark.parametrize(("kind", "when"), [
    ("physical", "window t=5.0 s … 35.0 s (scenario time); 2026-11-30 14:10:00–14:10:30 CET"),
    ("twin", "window t=5.0 s … 35.0 s (scenario time); 13:10:00–13:10:30 UTC by the twin's clock (bench time, "
             "not time of day)"),
])
def test_a_check_s_window_is_given_in_scenario_time_and_wall_time_labelled(tmp_path: Path, kind: str,
                                                                          when: str) -> None:
    window = {"start_s": 5.0, "end_s": 35.0, "start_wall": "2026-11-30T13:10:00.000Z",
              "end_wall": "2026-11-30T13:10:30.000Z"}
    results = [_result("specs/limit.spec", "limit 16 A", ["K01"], "passed", [{**PASSED_M, "window": window}])]
    (check,) = model.read(make_run(tmp_path, kind=kind, results=results)).results[0].checks
    assert check.when == when


def test_messages_name_paths_relative_to_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = f"{tmp_path}/specs/meter.spec:17:5: error +3.00 % (allowed ±2 %)"
    results = [_result("specs/meter.spec", "load point 16 A", ["MID"], "failed", [FAILED_M], message=message)]
    s = model.read(make_run(tmp_path, results=results))
    assert s.results[0].message == "specs/meter.spec:17:5: error +3.00 % (allowed ±2 %)"
