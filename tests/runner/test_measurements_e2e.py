"""End to end on the twin: every judged expectation leaves a structured measurement, passed, failed or
broken, in the scenario's evidence folder (measurements.json, measurements.csv), in its Allure result (the
table attached) and in the run's verdicts.json, with the run's overall state.

One run of three scenarios: a limit the charger holds (a pass, with its margin and time to settle), a
bound it cannot meet (a failure, with the observed value and the bound), and an analyzer that stops
answering (broken: the record keeps its limit and window and names the instrument).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

CONFTEST = '''
from runner.plugin import bench_session
from runner.steps import step


@step("bench {role:word} line fails with {kind:word}", name="test.instrument_fault")
def line_fails(run, role, kind):
    run.session.twin.instrument_fault(run.station.id, role, kind)


def pytest_runtest_teardown(item):
    session = bench_session(item.config)
    if session is not None:
        session.twin.heal_instruments()
'''

SPEC = '''spec "Measured verdicts"
  version 1
  refs "OCPP 2.0.1 K01"

  setup
    charger booted
    ev plugs in on evse 1
    ev requests 32 A
    session starts with token "04A2B3C4"

  scenario "a limit held"
    csms sets TxProfile on evse 1: limit 10 A
    expect within 15 s, then for 20 s: analyzer current L1 <= 10 A + 0.6 A

  scenario "a bound missed"
    expect within 30 s: analyzer current L1 >= 20 A
    expect for 10 s: analyzer current L1 <= 3 A

  scenario "a silent analyzer"
    bench analyzer line fails with silent
    expect for 30 s: analyzer current L1 <= 40 A

  teardown
    session stops
'''


# One worker runs this module (`make test` distributes by --dist loadgroup): its module fixture is a twin
# run, which every worker that took one of its tests would otherwise make again.
pytestmark = pytest.mark.xdist_group("measured-run")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run for all the checks below (a twin run costs half a minute): its folder and Allure results."""
    import subprocess
    import sys

    d = tmp_path_factory.mktemp("measured")
    (d / "conftest.py").write_text(CONFTEST)
    (d / "measured.spec").write_text(SPEC)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfE", "--speed", "20",
                           f"--out={d / 'out'}", f"--alluredir={d / 'allure'}", "measured.spec"],
                          cwd=d, capture_output=True, text=True, timeout=300)
    assert (d / "out" / "runs").is_dir(), proc.stdout[-3000:]
    (folder,) = (d / "out" / "runs").iterdir()
    return {"dir": d, "folder": folder, "proc": proc, "verdicts": json.loads((folder / "verdicts.json").read_text())}


def _result(run: dict[str, Any], scenario: str) -> dict[str, Any]:
    return next(r for r in run["verdicts"]["results"] if r["scenario"] == scenario)


def _at(result: dict[str, Any], line: int) -> dict[str, Any]:
    (m,) = [m for m in result["measurements"] if m["line"] == line]
    return m


def test_the_run_states_its_overall_verdict_and_every_scenario(run: dict[str, Any]) -> None:
    v = run["verdicts"]
    assert run["proc"].returncode == 1, run["proc"].stdout[-3000:]
    assert v["status"] == "complete" and v["verdict"] == "failed" and v["exit code"] == 1
    assert v["scenarios"] == {"passed": 1, "failed": 1, "broken": 1, "skipped": 0}
    assert {r["scenario"]: r["verdict"] for r in v["results"]} == {
        "a limit held": "passed", "a bound missed": "failed", "a silent analyzer": "broken"}
    for r in v["results"]:
        assert r["spec"] == "measured.spec" and r["spec version"] == "1" and len(r["spec sha256"]) == 64
        assert r["refs"] == ["OCPP 2.0.1 K01"] and (run["folder"] / r["evidence"]).is_dir()
        assert r["measurements"], r


def test_a_pass_records_its_margin_and_time_to_settle(run: dict[str, Any]) -> None:
    m = _at(_result(run, "a limit held"), 13)
    assert m["verdict"] == "passed" and m["kind"] == "settle"
    assert m["criterion"] == "expect within 15 s, then for 20 s: analyzer current L1 <= 10 A + 0.6 A"
    assert m["limits"] == [{"op": "<=", "value": 10.6, "unit": "A", "text": "10 A + 0.6 A"}]
    obs, margin = m["observed"], m["margin"]
    assert obs["unit"] == "A" and 5 < obs["value"] <= 10.6  # the hold's sample nearest the bound
    assert margin["unit"] == "A" and margin["value"] == pytest.approx(10.6 - obs["value"])
    assert margin["percent_of_limit"] == pytest.approx(margin["value"] / 10.6 * 100)
    assert m["timing"]["what"] == "time to settle" and 0 <= m["timing"]["seconds"] <= 15
    assert m["timing"]["allowed_s"] == 15
    hold, window = m["hold"], m["window"]
    assert hold["end_s"] - hold["start_s"] == pytest.approx(20) and window["start_s"] <= hold["start_s"]
    assert hold["start_s"] - window["start_s"] == pytest.approx(m["timing"]["seconds"], abs=1e-3)
    assert window["start_wall"].endswith("Z") and m["samples"] > 10


def test_a_failure_records_the_observed_value_and_the_bound(run: dict[str, Any]) -> None:
    r = _result(run, "a bound missed")
    reached = _at(r, 16)
    assert reached["verdict"] == "passed" and reached["observed"]["value"] >= 20
    m = _at(r, 17)
    assert m["verdict"] == "failed" and m["kind"] == "for"
    assert m["limits"] == [{"op": "<=", "value": 3.0, "unit": "A", "text": "3 A"}]
    obs = m["observed"]
    assert obs["value"] > 3 and obs["unit"] == "A" and obs["at_s"] is not None
    assert m["margin"]["value"] < 0 and m["margin"]["value"] == pytest.approx(3 - obs["value"])
    assert obs["text"] in m["message"] and m["message"] in r["message"]  # the failure's words, both places
    assert m["window"]["start_s"] <= obs["at_s"] <= m["window"]["end_s"]


def test_a_broken_instrument_keeps_what_was_known(run: dict[str, Any]) -> None:
    r = _result(run, "a silent analyzer")
    m = _at(r, 21)
    assert m["verdict"] == "broken" and m["kind"] == "for"
    assert "instrument 'analyzer'" in m["message"] and "no answer" in m["message"]
    assert m["limits"][0]["value"] == 40.0 and m["window"]["end_s"] - m["window"]["start_s"] == pytest.approx(30)
    assert m["observed"] is None and m["margin"] is None


def test_each_scenario_folder_holds_its_records_and_the_failing_result(run: dict[str, Any]) -> None:
    for r in run["verdicts"]["results"]:
        folder = run["folder"] / r["evidence"]
        assert json.loads((folder / "measurements.json").read_text()) == r["measurements"]
        rows = list(csv.DictReader((folder / "measurements.csv").open(encoding="utf-8")))
        assert [(int(row["line"]), row["verdict"]) for row in rows] == [(m["line"], m["verdict"])
                                                                        for m in r["measurements"]]
    failed = run["folder"] / _result(run, "a bound missed")["evidence"]
    events = [json.loads(line) for line in (failed / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "measurement" and e["line"] == 17 and e["verdict"] == "failed" for e in events)
    assert "line 17: failed: analyzer current L1 = " in (failed / "notes.txt").read_text()


def test_allure_shows_the_measurements_table(run: dict[str, Any]) -> None:
    allure: Path = run["dir"] / "allure"
    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in allure.glob("*-result.json"))}
    for name in ("a limit held", "a bound missed", "a silent analyzer"):
        (table,) = [a for a in results[name]["attachments"] if a["name"] == "measurements"]
        assert table["type"] == "text/csv"
        rows = list(csv.DictReader((allure / table["source"]).open(encoding="utf-8")))
        assert rows and rows[0]["criterion"] and rows[0]["verdict"] in ("passed", "failed", "broken")
    rows = list(csv.DictReader((allure / next(a["source"] for a in results["a bound missed"]["attachments"]
                                              if a["name"] == "measurements")).open(encoding="utf-8")))
    failed = next(row for row in rows if row["line"] == "17")
    assert failed["verdict"] == "failed" and failed["limit"] == "<= 3 A" and failed["margin"].startswith("-")
    # and each record on the step it was judged in
    (step,) = [st for st in results["a bound missed"]["steps"] if st["name"].startswith("line 17: expect for 10 s")]
    (shown,) = [a for a in step["attachments"] if a["name"] == "measurement: failed"]
    text = (allure / shown["source"]).read_text(encoding="utf-8")
    assert "limit: <= 3 A" in text and "margin: -" in text and "verdict: failed" in text
