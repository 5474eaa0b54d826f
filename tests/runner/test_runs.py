"""One run, one folder: reservation, `latest`, and two real runs in one output directory.

The reservation is an exclusive mkdir, so runs started in the same second, even in separate processes,
never share a folder; a second run leaves the first one's evidence, Allure results and run.json untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runner import runs
from runner.cli import report_name

SAME_SECOND = datetime(2026, 11, 30, 13, 7, 39, tzinfo=UTC)


def _reserve(out: str) -> str:
    return str(runs.reserve(Path(out), SAME_SECOND))


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path) -> None:
    first = runs.reserve(tmp_path, SAME_SECOND)
    second = runs.reserve(tmp_path, SAME_SECOND)
    assert (first.name, second.name) == ("2026-11-30T13-07-39Z", "2026-11-30T13-07-39Z-2")
    assert (tmp_path / "latest").resolve() == second.resolve()
    assert Path((tmp_path / "latest").readlink()) == Path("runs") / second.name  # relative: the tree can move


def test_processes_racing_for_the_same_second_never_share_a_folder(tmp_path: Path) -> None:
    with ProcessPoolExecutor(4) as pool:
        folders = list(pool.map(_reserve, [str(tmp_path)] * 16))
    assert len(set(folders)) == 16
    assert all(Path(f).is_dir() for f in folders)


def test_an_unused_run_folder_is_discarded_and_latest_moves_back(tmp_path: Path) -> None:
    kept = runs.reserve(tmp_path, SAME_SECOND)
    (kept / "run.json").write_text("{}", encoding="utf-8")
    unused = runs.reserve(tmp_path, SAME_SECOND)
    (unused / "allure-results").mkdir()
    assert runs.discard_if_unused(unused)
    assert not unused.exists()
    assert (tmp_path / "latest").resolve() == kept.resolve()
    assert not runs.discard_if_unused(kept)  # a folder with a file in it is never removed
    assert (kept / "run.json").exists()


def test_the_report_name_says_incomplete(tmp_path: Path) -> None:
    folder = runs.reserve(tmp_path)
    runs.write_json(folder / "run.json", {"status": "INCOMPLETE", "status.reason": "interrupted by SIGINT at x"})
    assert report_name(folder) == f"chargespec run {folder.name} — INCOMPLETE: interrupted by SIGINT at x"
    runs.write_json(folder / "run.json", {"status": "complete"})
    assert report_name(folder) == f"chargespec run {folder.name}"


def test_the_report_is_titled_with_bench_and_charger(tmp_path: Path) -> None:
    folder = runs.reserve(tmp_path)
    runs.write_json(folder / "run.json", {
        "status": "complete", "bench": "twin", "bench.kind": "twin", "faults": "meter_gain=1.03",
        "charger.CS1": "chargespec Twin AC22, serial TWIN-AC22-SN-0001, firmware 1.4.2 (bench file expects 1.4.2)"})
    assert report_name(folder) == (f"chargespec Twin AC22, serial TWIN-AC22-SN-0001 on bench twin: chargespec run "
                                   f"{folder.name} (simulation, faults meter_gain=1.03)")


def _xdist_folder(tmp_path: Path, controller: dict) -> Path:
    """A pytest-xdist run folder: the controller's run.json (no bench of its own) and a worker's identity."""
    folder = runs.reserve(tmp_path)
    runs.write_json(folder / "run.json", {"run": folder.name, **controller, "workers": ["run-gw0.json"]})
    runs.write_json(folder / "run-gw0.json", {
        "status": "complete", "status.reason": "1 scenario(s) ran to a verdict", "finished": "2026-12-01T10:00:00",
        "exit code": 0, "bench": "twin", "bench.file": "lab/benches/twin.toml", "bench.kind": "twin",
        "faults": "meter_gain=1.03",
        "charger.CS1": "chargespec Twin AC22, serial TWIN-AC22-SN-0001, firmware 1.4.2 (bench file expects 1.4.2)"})
    return folder


def test_the_report_of_an_xdist_run_is_titled_with_its_workers_bench_and_says_simulation(tmp_path: Path) -> None:
    # the controller opens no bench: without its workers' identity the title lost the charger and "simulation"
    folder = _xdist_folder(tmp_path, {"status": "complete"})
    assert report_name(folder) == (f"chargespec Twin AC22, serial TWIN-AC22-SN-0001 on bench twin: chargespec run "
                                   f"{folder.name} (simulation, faults meter_gain=1.03)")
    # a worker that finished says nothing of the run's state: the controller's stands
    folder = _xdist_folder(tmp_path, {"status": "INCOMPLETE", "status.reason": "not finished"})
    assert report_name(folder).endswith("(simulation, faults meter_gain=1.03) — INCOMPLETE: not finished")


def test_the_verdict_file_of_an_xdist_run_names_its_workers_bench_and_faults(tmp_path: Path) -> None:
    from runner.verdicts import VerdictFile

    folder = _xdist_folder(tmp_path, {"status": "INCOMPLETE", "status.reason": "not finished"})
    VerdictFile().write(folder, {"run": folder.name, "status": "INCOMPLETE", "status.reason": "not finished"})
    data = json.loads((folder / "verdicts.json").read_text())
    assert (data["bench"], data["bench.kind"], data["faults"]) == ("twin", "twin", "meter_gain=1.03")
    assert (data["status"], data["verdict"]) == ("INCOMPLETE", "incomplete")
    assert "finished" not in data and "exit code" not in data  # the worker's end is not the run's


SPEC = '''spec "{title}"
  scenario "{title} holds"
    expect for 5 s: analyzer current L1 <= 40 A
'''


def test_two_runs_in_one_directory_never_share_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for title in ("Alpha", "Beta"):
        spec = tmp_path / f"{title}.spec"
        spec.write_text(SPEC.format(title=title), encoding="utf-8")
        r = subprocess.run([sys.executable, "-m", "runner.cli", "run", str(spec), "--speed", "20", "--out", str(out)],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "\nVerdicts and measurements: " in r.stdout and "verdicts.json" in r.stdout
    first, second = sorted((out / "runs").iterdir())
    assert (out / "latest").resolve() == second.resolve()
    for folder, title in ((first, "Alpha"), (second, "Beta")):
        assert [p.name for p in (folder / "evidence").iterdir()] == [title]
        results = [json.loads(p.read_text()) for p in (folder / "allure-results").glob("*-result.json")]
        assert [r["name"] for r in results] == [f"{title} holds"]
        identity = json.loads((folder / "run.json").read_text())
        assert identity["run"] == folder.name and identity["status"] == "complete"
        assert list(identity["specs"]) == [str(tmp_path / f"{title}.spec")]


def test_xdist_workers_write_into_one_run_folder(pytester: pytest.Pytester) -> None:
    for title in ("Alpha", "Beta"):
        pytester.makefile(".spec", **{title: SPEC.format(title=title)})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "20", "-n", "2", timeout=300)
    assert result.ret == 0, result.stdout.str()
    (folder,) = (pytester.path / "out" / "runs").iterdir()
    assert (pytester.path / "out" / "latest").resolve() == folder.resolve()
    assert sorted(p.name for p in (folder / "evidence").iterdir()) == ["Alpha", "Beta"]
    workers = sorted(p.name for p in folder.glob("run-*.json"))  # a worker that ran no scenario opens no bench
    assert workers and set(workers) <= {"run-gw0.json", "run-gw1.json"}
    identity = json.loads((folder / "run.json").read_text())
    assert identity["status"] == "complete" and identity["workers"] == workers
    assert identity["scenarios"]["passed"] == 2
    for worker in workers:
        assert "firmware 1.4.2" in json.loads((folder / worker).read_text())["charger.TWIN-AC22-001"]
    # one verdict file, the controller's, with each worker's scenario and its measurements
    assert [p.name for p in folder.glob("verdicts*.json")] == ["verdicts.json"]
    verdicts = json.loads((folder / "verdicts.json").read_text())
    assert (verdicts["status"], verdicts["verdict"]) == ("complete", "passed")
    assert sorted((r["scenario"], r["verdict"]) for r in verdicts["results"]) == [("Alpha holds", "passed"),
                                                                                  ("Beta holds", "passed")]
    for r in verdicts["results"]:
        (m,) = [m for m in r["measurements"] if m["line"] == 3]
        assert m["verdict"] == "passed" and m["limits"][0]["value"] == 40.0 and m["margin"]["value"] > 0


def test_the_allure_environment_of_an_xdist_run_names_every_worker_s_charger(tmp_path: Path) -> None:
    """Per-station mode: each worker opened a station of its own; the report's environment names them all."""
    from types import SimpleNamespace

    from runner.plugin import _RunState

    alluredir = tmp_path / "allure-results"
    state = _RunState(SimpleNamespace(option=SimpleNamespace(maxfail=0, allure_report_dir=str(alluredir)),
                                      stash={}))  # type: ignore[arg-type]
    state.folder = runs.reserve(tmp_path)
    for worker, station in (("gw0", "TWIN-A"), ("gw1", "TWIN-B")):
        runs.write_json(state.folder / f"run-{worker}.json", {
            "status": "complete", "finished": "2026-12-01T10:00:00", "bench": "twin-2station", "bench.kind": "twin",
            f"charger.{station}": f"chargespec Twin AC22, serial SN-{station}, firmware 1.4.2",
            "instruments": {f"{station}.analyzer": f"YOKOGAWA,WT333,WT-{station},F1.03"}})
    state.write_identity()
    env = (alluredir / "environment.properties").read_text(encoding="utf-8")
    for station in ("TWIN-A", "TWIN-B"):
        assert f"charger.{station}=chargespec Twin AC22, serial SN-{station}" in env
        assert f"instruments.{station}.analyzer=YOKOGAWA,WT333,WT-{station},F1.03" in env
    assert "status=INCOMPLETE" in env and "finished=" not in env  # the run's state is the controller's


def test_a_run_refuses_a_run_dir_that_holds_an_earlier_run(tmp_path: Path) -> None:
    """`--run-dir` given a folder an earlier run wrote: the new run left the earlier one's files beside its own
    (its boot/<station>.json as this run's proof of the device, a run-gw2.json naming a station this run never
    opened, its evidence). A fresh folder, or one holding only what a campaign writes before its unit starts,
    is taken."""
    spec = tmp_path / "a.spec"
    spec.write_text('spec "S"\n  scenario "x"\n    wait 1 s\n', encoding="utf-8")
    folder = tmp_path / "run"
    (folder / "boot").mkdir(parents=True)
    (folder / "campaign-kept.json").write_text("{}", encoding="utf-8")
    assert runs.earlier_run(folder) == "boot"
    (folder / "run-gw2.json").write_text("{}", encoding="utf-8")
    assert runs.earlier_run(folder) == "run-gw2.json"
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--run-dir={folder}",
                        str(spec)], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 4, r.stdout + r.stderr
    assert f"--run-dir {folder}: it holds an earlier run (run-gw2.json)" in r.stderr
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "campaign-kept.json").write_text("{}", encoding="utf-8")
    assert runs.earlier_run(fresh) is None
