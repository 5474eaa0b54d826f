"""The acceptance summary of real runs on the twin (real subprocesses): a run with a pass and a failure ends
with its summary in the run folder, naming the charger's serial and firmware from its BootNotification and
every instrument's serial and calibration status; `chargespec report` makes it again anywhere; a run stopped
by a signal or killed says INCOMPLETE.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.exitcodes import RunExit

REPO = Path(__file__).resolve().parents[2]

PASSING = '''spec "Summary pass"
  refs "OCPP 2.0.1 B01", "REQ-LIMIT-7"

  scenario "boots and idles"
    charger booted
    expect within 30 s: charger status evse 1 is Available
'''

FAILING = '''spec "Summary failure"
  refs "REQ-CURRENT-3"

  scenario "the EV draws more than allowed"
    charger booted
    ev plugs in on evse 1
    ev requests 16 A
    session starts with token "04A2B3C4"
    expect within 60 s: analyzer current L1 > 10 A
    expect within 5 s: analyzer current L1 <= 10 A

  teardown
    session stops
'''
REQUIREMENTS = {"OCPP 2.0.1 B01": "passed", "REQ-LIMIT-7": "passed", "REQ-CURRENT-3": "failed"}

HOLD = '''spec "Hold"
  scenario "long hold"
    charger booted
    expect for 600 s: analyzer current L1 <= 40 A
'''


def _cli(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _only_run(out: Path) -> Path:
    (run,) = list((out / "runs").iterdir())
    return run


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


needs_poppler = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdftotext")),
                                   reason="needs poppler-utils (pdftotext, pdftoppm)")


@needs_poppler
def test_a_run_with_a_pass_and_a_failure_ends_with_its_summary(tmp_path: Path) -> None:
    (tmp_path / "pass.spec").write_text(PASSING, encoding="utf-8")
    (tmp_path / "fail.spec").write_text(FAILING, encoding="utf-8")
    out = tmp_path / "out"
    proc = _cli("run", "pass.spec", "fail.spec", "--speed", "30", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == RunExit.CHARGER_FAILED, proc.stdout + proc.stderr
    run = _only_run(out)
    assert (f"Acceptance summary: NOT ACCEPTED — SIMULATION — NOT VALID FOR ACCEPTANCE (twin bench twin)\n"
            f"  HTML: {run.resolve() / 'summary.html'}") in proc.stdout
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert sorted(r["verdict"] for r in verdicts["results"]) == ["failed", "passed"]
    assert {ref for r in verdicts["results"] for ref in r["refs"]} == set(REQUIREMENTS)

    html = (run / "summary.html").read_text(encoding="utf-8")
    text = _pdf_text(run / "summary.pdf")
    for doc in (html, text):
        assert "NOT ACCEPTED" in doc
        assert "TWIN-AC22-SN-0001" in doc and "1.4.2" in doc           # charger serial and firmware (its boot)
        assert "matches the bench file" in doc
        for serial in ("TWIN-WT333-0001", "TWIN-EVE-0001", "TWIN-EVE-0002", "TWIN-RDR-0001"):
            assert serial in doc
        assert "in calibration on" in doc                               # the instruments' calibration status
        assert "SIMULATION — NOT VALID FOR ACCEPTANCE (twin bench twin)" in doc
    for ref, verdict in REQUIREMENTS.items():  # the requirements table: every requirement with its verdict
        assert re.search(rf"^\s*{re.escape(ref)}\s+.*\b{verdict}\b", text, re.M), (ref, text)
        assert re.search(rf"<td>{re.escape(ref)}</td><td>[^<]*</td><td><span class={verdict}>", html), ref
    assert '"serialNumber":"TWIN-AC22-SN-0001"' in html.replace("&quot;", '"')  # the frame itself, as proof

    # `chargespec report` from another directory, into another folder: the same summary
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = _cli("report", str(out / "latest"), "-o", str(tmp_path / "copy"), cwd=elsewhere, timeout=60)
    assert again.returncode == 0, again.stderr
    assert "Acceptance summary: NOT ACCEPTED" in again.stdout
    assert (tmp_path / "copy" / "summary.html").read_text(encoding="utf-8") == html



def _start_hold(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    spec = tmp_path / "hold.spec"
    spec.write_text(HOLD, encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "run", str(spec), "--speed", "20", "--out", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the scenario is inside its hold (its "step" event)
        for events in out.glob("runs/*/evidence/Hold/long-hold/events.jsonl"):
            if any(json.loads(x).get("kind") == "step" and json.loads(x).get("line") == 4
                   for x in events.read_text(encoding="utf-8").splitlines() if x.strip()):
                return proc, out
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the hold:\n{proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run did not reach the hold within 60 s")


@needs_poppler
def test_an_interrupted_run_ends_with_a_summary_that_says_incomplete(tmp_path: Path) -> None:
    proc, out = _start_hold(tmp_path)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == RunExit.INTERRUPTED, stdout
    assert "Acceptance summary: INCOMPLETE" in stdout
    run = _only_run(out)
    text = _pdf_text(run / "summary.pdf")
    assert "INCOMPLETE" in text and "the run did not finish: interrupted by SIGINT" in " ".join(text.split())
    assert "INCOMPLETE" in (run / "summary.html").read_text(encoding="utf-8")


@needs_poppler
def test_a_killed_run_reported_afterwards_says_incomplete(tmp_path: Path) -> None:
    proc, out = _start_hold(tmp_path)
    proc.kill()
    proc.communicate(timeout=30)
    run = _only_run(out)
    assert not (run / "summary.pdf").exists()  # killed: nothing ran after the kill
    report = _cli("report", str(run), "-o", str(tmp_path / "summary"), cwd=tmp_path, timeout=60)
    assert report.returncode == 0, report.stderr
    assert "Acceptance summary: INCOMPLETE" in report.stdout
    text = " ".join(_pdf_text(tmp_path / "summary" / "summary.pdf").split())
    assert "INCOMPLETE" in text and "1 scenario(s) broken" in text and "did not finish" in text
    assert "TWIN-AC22-SN-0001" in text  # the identity was on disk before the kill


ALIKE_PASSES = '''spec "Boot"
  scenario "current"
    charger booted
    expect analyzer current L1 <= 1000 A
'''
ALIKE_FAILS = '''spec "Boot"
  scenario "current"
    charger booted
    wait 2 s
    expect analyzer current L1 > 1000 A
'''


def test_two_scenarios_named_alike_keep_evidence_of_their_own(tmp_path: Path) -> None:
    """Two spec files titled alike, each with a scenario "current": both wrote evidence/Boot/current/, the second
    replacing the first's files, so that the passed verdict pointed at the failed scenario's measurements."""
    for folder, text in (("a", ALIKE_PASSES), ("b", ALIKE_FAILS)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "boot.spec").write_text(text, encoding="utf-8")
    r = _cli("run", "a/boot.spec", "b/boot.spec", "--speed", "60", "--progress", "off", "--out", "out", cwd=tmp_path)
    assert r.returncode == RunExit.CHARGER_FAILED, r.stdout + r.stderr
    run = _only_run(tmp_path / "out")
    results = {x["spec"]: x for x in json.loads((run / "verdicts.json").read_text(encoding="utf-8"))["results"]}
    assert (results["a/boot.spec"]["evidence"], results["b/boot.spec"]["evidence"]) == (
        "evidence/Boot/current", "evidence/Boot/current-2")
    for spec, verdict, line in (("a/boot.spec", "passed", 4), ("b/boot.spec", "failed", 5)):
        folder = run / results[spec]["evidence"]
        assert results[spec]["verdict"] == verdict
        measured = json.loads((folder / "measurements.json").read_text(encoding="utf-8"))
        assert [(m["line"], m["verdict"]) for m in measured if m["line"] == line] == [(line, verdict)], measured


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one process", "pytest-xdist"])
def test_two_scenarios_with_one_node_id_are_a_usage_error(tmp_path: Path, xdist: list[str]) -> None:
    """Spec files outside the rootdir get node ids without their path: a/boot.spec and b/boot.spec, both titled
    "Boot" with a scenario "current", were both `::Boot::current`. Their verdicts were kept as one (the pass
    lost, the run "stopped early: 1 of 2 scenarios ran"; a pass after a failure written over it)."""
    for folder, text in (("a", ALIKE_PASSES), ("b", ALIKE_FAILS)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "boot.spec").write_text(text, encoding="utf-8")
    (tmp_path / "c").mkdir()
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--rootdir={tmp_path / 'c'}",
                        "--out=out", "a/boot.spec", "b/boot.spec", "--speed=60", *xdist],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == RunExit.USAGE_ERROR, r.stdout + r.stderr
    said = r.stdout + r.stderr
    assert "two scenarios have the node id '::Boot::current'" in said, said
    assert "give --rootdir a folder that holds every spec file" in said
    assert not list((tmp_path / "out").glob("runs/*/verdicts.json"))  # nothing ran


def test_a_spec_file_that_does_not_compile_keeps_the_run_from_accepted(tmp_path: Path) -> None:
    """`-- --continue-on-collection-errors`: pytest runs the scenarios of the spec files that compiled. The
    run was "complete" and its summary ACCEPTED, while a selected spec file's scenarios never ran."""
    (tmp_path / "good.spec").write_text('spec "Good"\n  scenario "ok"\n    wait 1 s\n', encoding="utf-8")
    (tmp_path / "bad.spec").write_text('spec "Bad"\n  scenario "x"\n    frobnicate the charger\n', encoding="utf-8")
    r = _cli("run", "good.spec", "bad.spec", "--speed", "60", "--progress", "off", "--out", "out", "--",
             "--continue-on-collection-errors", cwd=tmp_path)
    assert r.returncode == RunExit.USAGE_ERROR, r.stdout + r.stderr
    assert "Acceptance summary: INCOMPLETE" in r.stdout
    run = _only_run(tmp_path / "out")
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert identity["status"] == "INCOMPLETE"
    assert identity["status.reason"] == ("1 spec file(s) could not be collected (a spec error): their scenarios did "
                                         "not run")
    assert json.loads((run / "verdicts.json").read_text(encoding="utf-8"))["verdict"] == "incomplete"


def test_the_summary_says_what_the_selection_left_out(tmp_path: Path) -> None:
    """`-- -k ...` ran one scenario of four; the summary said ACCEPTED and nothing of the three left out."""
    (tmp_path / "m.spec").write_text('spec "Mix"\n' + "".join(f'  scenario "{n}"\n    wait 1 s\n\n' for n in (
        "one", "two", "three", "four")), encoding="utf-8")
    r = _cli("run", "m.spec", "--speed", "60", "--progress", "off", "--out", "out", "--", "-k", "two", cwd=tmp_path)
    assert r.returncode == RunExit.PASSED, r.stdout + r.stderr
    run = _only_run(tmp_path / "out")
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert (identity["deselected"], identity["selection"]) == (3, "-k 'two'")
    from runner.summary import model

    assert "not selected: 3 scenario(s) of the spec files given (-k 'two'), not judged in this run" in \
        model.read(run).deviations
