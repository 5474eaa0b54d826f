"""End to end: the pytest plugin runs the spec library on the twin bench (pytester, a subprocess each).

These are the product's acceptance checks: a healthy twin passes both specs; a twin whose meter reads 3 %
high fails the metering spec (and only it) with a message naming the line, both energies and the error.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from runner.exitcodes import RunExit

REPO = Path(__file__).resolve().parents[2]
METERING = REPO / "specs" / "metering" / "energy-register-accuracy.spec"
LIMIT = REPO / "specs" / "smart-charging" / "txprofile-current-limit.spec"


def _copy(pytester: pytest.Pytester, *specs: Path) -> None:
    for s in specs:
        shutil.copy(s, pytester.path / s.name)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # 60x leaves the 15 s time-to-comply budget 0.25 s of real time, twice what the fault matrix runs these
    # specs with (120x) under every knob.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60",
                                         f"--out={pytester.path / 'out'}", *args, timeout=300)


# The two meter-gain runs are fault-knob runs of library specs (~18 s each): with the fault matrix, out of the
# quick suite (`-m "not fault_matrix"`), in `make test`.
@pytest.mark.fault_matrix
def test_meter_gain_fails_only_the_metering_spec(pytester: pytest.Pytester) -> None:
    _copy(pytester, METERING, LIMIT)
    result = _run(pytester, "--fault", "meter_gain=1.03")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*FAILED (the charger did not meet a criterion)*",
        "*energy-register-accuracy.spec:17:5: `expect charger energy over \"steady\" within 2 % of analyzer*",
        "*charger energy over \"steady\" = * kWh, analyzer energy over \"steady\" = * kWh: error +*",
    ])
    m = re.search(r"error \+(\d+\.\d+) % \(allowed ±2 %\)", result.stdout.str())
    assert m and 2.8 <= float(m.group(1)) <= 3.2, m
    # the run's verdict file holds the failing accuracy as figures: the error against ±2 %, both energies
    (run,) = (pytester.path / "out" / "runs").iterdir()
    verdicts = json.loads((run / "verdicts.json").read_text())
    assert verdicts["verdict"] == "failed" and verdicts["faults"] == "meter_gain=1.03"
    load = next(r for r in verdicts["results"] if r["scenario"] == "load point 16 A")
    (acc,) = [x for x in load["measurements"] if x["kind"] == "accuracy"]
    assert acc["verdict"] == "failed" and acc["line"] == 17
    assert acc["limits"] == [{"op": "within ±", "value": 2.0, "unit": "%", "text": "2 %"}]
    assert acc["observed"]["unit"] == "%" and f"{acc['observed']['value']:.2f}" == m.group(1)
    assert acc["margin"]["value"] == pytest.approx(2.0 - acc["observed"]["value"]) and acc["margin"]["value"] < 0
    assert [f["unit"] for f in acc["figures"]] == ["Wh", "Wh"]


@pytest.mark.fault_matrix
def test_small_meter_gain_passes_everything_and_writes_evidence(pytester: pytest.Pytester) -> None:
    _copy(pytester, METERING, LIMIT)
    result = _run(pytester, "--fault", "meter_gain=1.005", f"--alluredir={pytester.path / 'allure'}")
    result.assert_outcomes(passed=4)
    (run,) = (pytester.path / "out" / "runs").iterdir()  # one run, one folder
    traces = list((run / "evidence").rglob("ocpp.jsonl"))
    assert len(traces) == 4 and all(t.stat().st_size > 0 for t in traces)
    assert list((run / "evidence").rglob("samples.csv"))
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    results = [json.loads(p.read_text()) for p in (pytester.path / "allure").glob("*-result.json")]
    assert sorted(r["name"] for r in results) == ["limit 10 A", "limit 16 A", "limit 6 A", "load point 16 A"]
    limit6 = next(r for r in results if r["name"] == "limit 6 A")
    labels = {(lb["name"], lb["value"]) for lb in limit6["labels"]}
    assert {("requirement", "OCPP 2.0.1 K01"), ("tag", "smart-charging"), ("feature",
            "TxProfile current limit is enforced")} <= labels
    assert sorted(lb["value"] for lb in limit6["labels"] if lb["name"] == "tag") == ["ac", "smart-charging"]
    assert [(p["name"], p["value"].strip("'")) for p in limit6["parameters"]] == [("limit", "6 A")]
    attachments = {a["name"] for a in limit6["attachments"]}
    assert {"OCPP trace (id tokens redacted)", "instrument and charger samples", "signals against bounds",
            "spec excerpt"} <= attachments
    assert any(step["name"].startswith("line 17: expect within 15 s") for step in limit6["steps"])
    env = (pytester.path / "allure" / "environment.properties").read_text()
    assert "charger.TWIN-AC22-001=chargespec Twin AC22" in env and "firmware 1.4.2" in env
    # paths as the project names them, not this machine's (run.json keeps the absolute ones)
    assert "specs.energy-register-accuracy.spec=" in env and str(pytester.path) not in env and str(REPO) not in env


def test_tags_are_markers_selectable_with_m(pytester: pytest.Pytester) -> None:
    _copy(pytester, METERING, LIMIT)
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "smart-charging")
    result.stdout.fnmatch_lines(["*txprofile-current-limit.spec::TxProfile current limit is enforced::limit 6 A",
                                 "*3/4 tests collected (1 deselected)*"])
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "metering and not smart-charging")
    result.stdout.fnmatch_lines(["*1/4 tests collected (3 deselected)*"])


def test_a_spec_error_is_a_collection_error_with_caret(pytester: pytest.Pytester) -> None:
    pytester.makefile(".spec", bad='spec "x"\n  scenario "y"\n    expect within 15 s: analyzer current L1 <= 7 kW\n')
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    assert result.ret == RunExit.USAGE_ERROR  # pytest would say "interrupted"; a spec error is a usage error
    result.stdout.fnmatch_lines(["*bad.spec:3:*analyzer current L1*7 kW*", "*^*"])


def test_an_xdist_run_of_python_tests_leaves_no_run_folder(pytester: pytest.Pytester) -> None:
    """`pytest -n 2` on a project's own Python tests (no spec): the xdist controller reserves a run folder for
    its workers before they collect anything; it discarded it only in a worker (which never reserves one), so
    every such run left an empty `out/runs/<UTC start>/` behind."""
    pytester.makepyfile(test_plain="def test_one() -> None:\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", f"--out={pytester.path / 'out'}",
                                           timeout=120)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*1 passed*"])
    assert not (pytester.path / "out").exists(), sorted(str(p) for p in (pytester.path / "out").rglob("*"))
