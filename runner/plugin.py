"""The pytest plugin: `pytest specs/` collects `*.spec` files, one item per scenario instance.

Registered through the `pytest11` entry point. Each spec file is parsed and checked by `dsl` at collection
(errors are collection errors, rendered `file:line:col: message` with a caret); each scenario x example row
becomes a :class:`ScenarioItem`. The bench (`--bench`, default the twin) is opened once per process on
the first item that runs and closed at the end of the session.

Verdicts: a criterion not met raises an AssertionError (failed); a bench fault anything else (broken);
an optional feature the charger lacks is a skip; a scenario a signal stopped is broken (runner/interrupt.py).

Each run writes into a folder of its own (runner/runs.py): `--run-dir`, or a fresh one under `--out/runs/`
reserved when the first scenario starts (under pytest-xdist the controller reserves it and hands it to its
workers). Its identity file is on disk from the moment the bench is open, marked incomplete until the run
ends; the session's exit code is a chargespec code (runner/exitcodes.py) whenever spec files were collected.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dsl
import dsl.quick  # (the compiler every spec file goes through, loaded with the plugin as pytest's own collectors are)
from dsl.errors import SpecErrors
from dsl.plan import ScenarioPlan, SpecPlan
from runner import per_station, runs, verdicts
from runner.errors import BenchError, ExpectationFailed, NotSupportedByCharger
from runner.exitcodes import MEANINGS, VERDICTS, RunExit, Tally, decide
from runner.interrupt import RunInterrupted, ScenarioInterrupted, SignalGuard, StepTracker

if TYPE_CHECKING:
    from runner.bench_session import BenchSession

# The bench, the harness (ocpp, jsonschema, websockets), pydantic and Allure are imported when the first
# scenario runs, not when pytest loads the plugin: collecting a large spec library stays fast.

DEFAULT_BENCH = Path(__file__).resolve().parent.parent / "lab" / "benches" / "twin.toml"

_session_key = pytest.StashKey["_BenchHolder"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("chargespec", "chargespec: acceptance specs on a lab bench")
    g.addoption("--bench", default=None, help=f"bench file (TOML); default {DEFAULT_BENCH}")
    g.addoption("--fault", action="append", default=[], metavar="NAME=VALUE",
                help="twin fault knob, repeatable (see docs/twin.md)")
    g.addoption("--speed", type=float, default=None, help="twin clock speed (bench seconds per real second)")
    g.addoption("--proxy-to", dest="proxy_to", default=None, metavar="URL",
                help="proxy mode: relay the charger to this target CSMS (ws:// or wss://) and judge the traffic")
    g.addoption("--out", "--evidence", dest="chargespec_out", default="out",
                help="where run folders go: OUT/runs/<UTC start>/ (evidence, run.json), OUT/latest the newest")
    g.addoption("--run-dir", dest="chargespec_run_dir", default=None,
                help="write this run into exactly this folder (chargespec run reserves one and passes it)")
    g.addoption("--station", dest="chargespec_station", default=None, metavar="ID",
                help="open only this station of the bench and run every scenario against it (a campaign runs "
                     "each unit at its own station, in a process of its own)")
    g.addoption("--preflight", dest="chargespec_preflight", choices=("off", "strict", "warn"), default="off",
                help="check the bench and chargers against the bench file before the first scenario "
                     "(runner/preflight.py): strict refuses to run on a finding that invalidates the campaign, "
                     "warn reports it and runs; chargespec run uses strict")
    g.addoption("--preflight-date", dest="chargespec_preflight_date", default=None, metavar="YYYY-MM-DD",
                help="the campaign date calibration due dates are checked against (default: today, UTC)")
    g.addoption("--progress", dest="chargespec_progress", choices=("off", "auto", "rich", "plain"), default="off",
                help="live progress during long steps (runner/progress.py): rich on a terminal, plain lines "
                     "otherwise (auto); chargespec run uses auto")
    g.addoption("--progress-every", dest="chargespec_progress_every", type=float, default=None,
                metavar="SECONDS", help="bench seconds between plain progress lines (default 5)")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> Any:
    """Before pytest's capture starts: keep the process's stdout for live progress (runner/progress.py)."""
    from runner import progress

    progress.keep_terminal(early_config)
    return (yield)


def parse_fault_args(values: list[str]) -> dict[str, str]:
    faults: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise pytest.UsageError(f"--fault {item!r}: expected NAME=VALUE, e.g. --fault meter_gain=1.03")
        faults[name.strip()] = value.strip()
    return faults


class _BenchHolder:
    """Opens the bench lazily, once; remembers a failure to open so every scenario reports it as broken."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.session: BenchSession | None = None
        self.error: BaseException | None = None
        self.spec_hashes: dict[str, str] = {}

    def get(self) -> BenchSession:
        if self.session is not None:
            return self.session
        if self.error is not None:
            raise BenchError(None, f"the bench could not be opened: {self.error}")
        from lab.bench import load_bench
        from runner.bench_session import BenchSession

        opt = self.config.option
        bench_path = Path(opt.bench) if opt.bench else DEFAULT_BENCH
        faults = parse_fault_args(opt.fault)
        overrides: dict[str, Any] = {}
        if opt.speed is not None:
            overrides["clock.speed"] = opt.speed
        if getattr(opt, "proxy_to", None):
            overrides["proxy.to"] = opt.proxy_to
        try:
            whole = load_bench(bench_path, overrides=overrides)
            cfg = only_station(whole, bound_station(self.config))
            if faults and cfg.kind != "twin":
                raise BenchError(None, f"--fault only applies to a twin bench; {bench_path} is {cfg.kind!r}")
            s = BenchSession(cfg, faults=faults)
            s.bench_stations = len(whole.stations)
            try:
                s.open()
            except BaseException:
                s.close()
                raise
        except Exception as e:  # every cause of a bench that cannot open is reported alike
            self.error = e
            raise BenchError(None, f"the bench could not be opened: {e}") from e
        self.session = s
        _run_state(self.config).bench_opened(s)
        return s

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def only_station(cfg: Any, station_id: str | None) -> Any:
    """The bench config with only the station `station_id` (None: all of them, as the bench file says)."""
    if not station_id:
        return cfg
    kept = tuple(s for s in cfg.stations if s.id == station_id)
    if not kept:
        raise BenchError(None, f"--station {station_id!r}: bench {cfg.name!r} has no such station; it has "
                               f"{[s.id for s in cfg.stations]}")
    return cfg.model_copy(update={"stations": kept})


def bound_station(config: pytest.Config) -> str | None:
    """The one station this process opens: `--station`, or the one the pytest-xdist controller bound this
    worker to in per-station mode (runner/per_station.py); None: every station of the bench."""
    given = config.option.chargespec_station
    return given or (getattr(config, "workerinput", None) or {}).get(per_station.WORKER_STATION)


def bench_session(config: pytest.Config) -> BenchSession | None:
    """The bench this pytest process has opened, or None before the first scenario ran (for lab hooks)."""
    holder = config.stash.get(_session_key, None)
    return holder.session if holder is not None else None


_run_key = pytest.StashKey["_RunState"]()

# Verdict ranks, to keep the worst phase of a scenario (a failed call and a broken teardown: failed).
_RANK = {verdict: rank for rank, verdict in enumerate(VERDICTS)}


STOP_FILE = ".stop-requested.json"  # in the run folder while an xdist controller stops the run (-x)


class _RunState:
    """This process's view of the run: its folder, what it counted, whether a signal stopped it, and its
    identity file (run.json, or run-<worker>.json in a pytest-xdist worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.worker: str | None = self.workerinput.get("workerid") if self.workerinput else None
        self.started = datetime.now(UTC)
        self.folder: Path | None = None
        self.reserved = False  # this process reserved the folder (rather than being given it)
        self.session: pytest.Session | None = None
        self.bench: BenchSession | None = None
        self.verdicts: dict[str, str] = {}  # nodeid -> worst verdict of its phases
        self.unjudged: set[str] = set()  # set up, no verdict yet: counted as broken until one comes
        self.collection_errors = 0
        self.deselected = 0  # scenarios of the spec files given that -m / -k left out (not judged here)
        self.specs_seen = False  # a .spec file was collected: this is a chargespec session
        self.interrupted: str | None = None  # "by SIGINT at `x.spec:17` (...) after 43.2 s of the 60 s hold"
        self.interrupted_scenario: str | None = None  # the node id of the scenario that account is of
        self.refused: str | None = None  # why the preflight refused to start the run (runner/preflight.py)
        self.finished = False
        self.exit_code: int | None = None
        self.guard = SignalGuard(self._deferred_signal)
        self.provisional: Any = None  # runner.provisional.ProvisionalResults once a scenario starts
        self.verdict_file = verdicts.VerdictFile()  # verdicts.json, written by the controller (or only) process
        self._lock = threading.Lock()

    # ---- the run folder ------------------------------------------------------------------------

    def run_folder(self, *, latest: bool = True) -> Path:
        """The run's folder, reserved on first use (the first scenario, or the xdist controller's nodes)."""
        if self.folder is None:
            given = self.config.option.chargespec_run_dir or (self.workerinput or {}).get("chargespec_run_dir")
            if given:
                self.folder = Path(given)
                self.folder.mkdir(parents=True, exist_ok=True)
            else:
                self.folder = runs.reserve(Path(self.config.option.chargespec_out), self.started, latest=latest)
                self.reserved = True
        return self.folder

    def evidence_dir(self) -> Path:
        return self.run_folder() / runs.EVIDENCE

    # ---- interruptions --------------------------------------------------------------------------

    def interrupt(self, description: str, scenario: str | None = None) -> None:
        if self.interrupted is None:
            self.interrupted = description
            self.interrupted_scenario = scenario
        if self.session is not None:
            self.session.shouldstop = f"interrupted {description}"

    def _deferred_signal(self, signame: str) -> None:
        # A scenario that ran to its verdict is being reported: keep it, run no further scenario.
        self.interrupt(f"by {signame} between scenarios")

    # ---- counting (this object is registered as a plugin for these two hooks) ---------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not _is_scenario(report.nodeid, report.location):
            return  # a Python test in the same session is pytest's business, not a scenario's verdict
        self.specs_seen = True
        verdict = getattr(report, "chargespec_verdict", None)
        if verdict is None:  # a report made without this plugin's makereport: judge by its outcome
            verdict = "passed" if report.passed else "skipped" if report.skipped else "broken"
        key = per_station.result_key(report.nodeid, getattr(report, "chargespec_station", None))
        if key in self.unjudged:  # its verdict came: it replaces "did not finish"
            self.unjudged.discard(key)
            self.verdicts.pop(key, None)
        if report.when == "setup" and verdict == "passed":
            # set up, not yet judged: broken "did not finish" until its call's report comes (under pytest-xdist
            # a signal can stop the controller before it does), as verdicts.json has it
            self.unjudged.add(key)
            verdict = "broken"
        self.count(key, verdict)
        if self.verdict_file.add(report):
            self.write_verdicts()
        self._stop_workers_on_maxfail(report)

    def _stop_workers_on_maxfail(self, report: pytest.TestReport) -> None:
        """-x (--maxfail N) under pytest-xdist: the controller stops the run at the N-th failure, but a worker
        runs on through every scenario already handed to it (in per-station mode: every scenario on its
        station, hours maybe). The controller leaves STOP_FILE in the run folder; each worker, after the
        scenario it is running (never in the middle of one: it earns its verdict), stops there."""
        maxfail = self.config.option.maxfail
        if not maxfail:
            return
        if self.workerinput is None:
            tally = self.tally()  # (a scenario set up and not yet judged is no failure here)
            if (self.folder is not None and tally.failed + tally.broken - len(self.unjudged) >= maxfail
                    and self.config.pluginmanager.hasplugin("dsession")
                    and not (self.folder / STOP_FILE).exists()):
                runs.write_json(self.folder / STOP_FILE, {"reason": f"stopping after {maxfail} failure(s) (-x, "
                                                                    f"--maxfail={maxfail})"})
            return
        given = self.workerinput.get("chargespec_run_dir")
        if report.when == "teardown" and given and self.session is not None and (Path(given) / STOP_FILE).exists():
            reason = runs.read_json(Path(given) / STOP_FILE).get("reason") or "stopping (-x)"
            self.session.shouldstop = f"{reason}, on another worker"

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        # (pytest-xdist forwards it to the controller; in per-station mode without the worker's station:
        # the setup report marks the scenario started there, per station)
        if _is_scenario(nodeid, location) and not per_station.stations(self.config):
            self.verdict_file.started(nodeid)
            self.write_verdicts()

    def write_verdicts(self) -> None:
        """verdicts.json (runner/verdicts.py) in the run folder; pytest-xdist workers leave it to the controller."""
        if self.folder is not None and self.workerinput is None:
            with self._lock:
                self.verdict_file.write(self.folder, self.identity())

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.nodeid.split("::", 1)[0].endswith(".spec"):
            self.specs_seen = True
        if report.failed:
            self.collection_errors += 1

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        # (not the ones a resumed campaign keeps from an earlier attempt: they were judged, runner/campaign.py)
        self.deselected += sum(isinstance(i, ScenarioItem) and not getattr(i, "chargespec_kept", False)
                               for i in items)

    def selection(self) -> dict[str, Any]:
        """What the run's selection left out, for the acceptance summary: a pass is a pass of what ran."""
        if not self.deselected:
            return {}
        opt = self.config.option
        how = [f"{flag} {value!r}" for flag, value in (("-m", getattr(opt, "markexpr", "")),
                                                        ("-k", getattr(opt, "keyword", ""))) if value]
        return {"deselected": self.deselected, **({"selection": " ".join(how)} if how else {})}

    def worker_interrupted(self, account: Any, worker: str) -> None:
        """pytest-xdist controller: a worker's account of the scenario a signal stopped there (its run file's
        INTERRUPTED_SCENARIO, or its workeroutput). A signal to the process group (Ctrl-C) stops the controller
        too, before the worker's report of that scenario arrives: without the account the scenario read "did not
        finish" (killed, crashed) in verdicts.json, while the worker knew where and by what it was stopped."""
        if not isinstance(account, dict) or not account.get("nodeid") or not account.get("by"):
            return
        key = per_station.result_key(str(account["nodeid"]), account.get("station") or None)
        self.verdict_file.interrupted(key, interrupted_message(str(account["by"])))
        self.interrupt(f"{account['by']} (worker {worker})")

    def count(self, nodeid: str, verdict: str) -> None:
        if _RANK[verdict] >= _RANK[self.verdicts.get(nodeid, "passed")]:
            self.verdicts[nodeid] = verdict

    def interruption(self) -> str | None:
        """How a signal stopped this run (the scenario's own account when one was running), or None."""
        if self.interrupted is not None:
            return self.interrupted
        return f"by {self.guard.received}" if self.guard.received else None

    def interrupted_account(self) -> dict[str, Any]:
        """The scenario a signal stopped in this pytest-xdist worker, for its controller."""
        return {"nodeid": self.interrupted_scenario, "station": per_station.worker_station(self.config),
                "by": self.interrupted}

    def tally(self) -> Tally:
        values = list(self.verdicts.values())
        return Tally(failed=values.count("failed"), broken=values.count("broken"),
                     collection_errors=self.collection_errors, interrupted=self.interruption() is not None,
                     refused=self.refused is not None)

    def status(self) -> tuple[str, str]:
        if not self.finished:
            return runs.INCOMPLETE, "not finished: the run is in progress, or was killed"
        if self.refused is not None:
            return runs.INCOMPLETE, f"refused to start: {self.refused}"
        if self.interruption() is not None:
            return runs.INCOMPLETE, f"interrupted {self.interruption()}"
        if self.collection_errors:  # (pytest --continue-on-collection-errors ran the rest): not all was judged
            return runs.INCOMPLETE, (f"{self.collection_errors} spec file(s) could not be collected (a spec error): "
                                     "their scenarios did not run")
        selected = self.session.testscollected if self.session is not None else 0
        selected *= len(per_station.stations(self.config) or [None])  # per-station mode: once per station
        if self.workerinput is None and len(self.verdicts) < selected:
            return runs.INCOMPLETE, f"stopped early: {len(self.verdicts)} of {selected} scenarios ran"
        return runs.COMPLETE, f"{len(self.verdicts)} scenario(s) ran to a verdict"

    # ---- the identity file ----------------------------------------------------------------------

    def bench_opened(self, bench: BenchSession) -> None:
        self.bench = bench
        # A charger that boots (again) rewrites the file: charger and firmware are known from its boot on.
        bench.recorder.on_frame(self._on_frame)
        if self.folder is not None:  # the chargers booted while the bench opened: their proof for the summary
            from runner.summary import boot

            for frame in list(getattr(bench, "boot_frames", {}).values()):
                with contextlib.suppress(OSError):
                    boot.keep(self.folder, frame)
        self.write_identity()
        self.write_verdicts()

    def _on_frame(self, frame: Any) -> None:
        if frame.direction == "rx" and frame.action == "BootNotification":
            with contextlib.suppress(Exception):  # the record must not stop for a file it could not write
                if frame.message_type == 2 and self.folder is not None:  # the request: the acceptance summary's proof
                    from runner.summary import boot

                    boot.keep(self.folder, frame)
                self.write_identity()

    def identity(self) -> dict[str, Any]:
        from runner.evidence import chargespec_version

        status, reason = self.status()
        out: dict[str, Any] = {
            "status": status.upper() if status == runs.INCOMPLETE else status,
            "status.reason": reason,
            "run": self.folder.name if self.folder else None,
            "started": self.started.isoformat(timespec="seconds"),
            "chargespec": chargespec_version(),
        }
        if self.finished:
            values = list(self.verdicts.values())
            out["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
            out["scenarios"] = {v: values.count(v) for v in ("passed", "failed", "broken", "skipped")}
            if self.exit_code is not None:
                out["exit code"] = int(self.exit_code)
        bench = self.bench
        if bench is not None:
            out.update({
                "bench": bench.config.name,
                "bench.file": bench.config.path,
                "bench.kind": bench.config.kind,
                "clock.speed": bench.clock.speed,
                **({"faults": ", ".join(f"{k}={v}" for k, v in bench.faults.items())} if bench.faults else {}),
                **bench.charger_identity(),
                "instruments": dict(bench.identity),
            })
            from runner.leftovers import run_summary

            lefts = {sid: st.leftovers for sid, st in getattr(bench, "stations", {}).items()
                     if getattr(st, "leftovers", None) is not None}
            if lefts:  # the last return to idle on a station could not put it back: the charger is left changed
                out[runs.LEFT_CHANGED] = run_summary(lefts)
        out.update(self.selection())
        holder = self.config.stash.get(_session_key, None)
        if holder is not None and holder.spec_hashes:
            out["specs"] = dict(holder.spec_hashes)
        if self.workerinput is not None and self.interrupted_scenario is not None:
            out[runs.INTERRUPTED_SCENARIO] = self.interrupted_account()
        if self.workerinput is None and self.bench is None and self.folder is not None:
            workers = sorted(p.name for p in self.folder.glob("run-*.json"))
            if workers:
                out["workers"] = workers  # pytest-xdist: each worker's bench identity is in its own file
        return out

    def write_identity(self) -> None:
        if self.folder is None:
            return
        with self._lock:
            data = self.identity()
            runs.write_json(runs.identity_file(self.folder, self.worker), data)
            alluredir = getattr(self.config.option, "allure_report_dir", None)
            if alluredir:
                env = dict(data)
                if self.worker is None and self.bench is None:  # the xdist controller: every worker's bench
                    env = {**runs.workers_identity(self.folder), **data}
                runs.write_environment(Path(alluredir), _for_people(env))


def _for_people(env: dict[str, Any]) -> dict[str, Any]:
    """The identity as Allure shows it: the bench file and spec paths as the project names them, not as this
    machine's absolute paths (run.json keeps those)."""
    from runner.errors import shown_file

    out = dict(env)
    if out.get("bench.file"):
        out["bench.file"] = shown_file(str(out["bench.file"]))
    if isinstance(out.get("specs"), dict):
        out["specs"] = {shown_file(str(k)): v for k, v in out["specs"].items()}
    return out


def _run_state(config: pytest.Config) -> _RunState:
    return config.stash[_run_key]


def run_folder(config: pytest.Config) -> Path | None:
    """The folder this run writes into, or None before one was needed (for the CLI and lab hooks)."""
    state = config.stash.get(_run_key, None)
    return state.folder if state is not None else None


def pytest_configure(config: pytest.Config) -> None:
    per_station.configure(config, DEFAULT_BENCH)  # under pytest-xdist: one worker per station, or a usage error
    config.stash[_session_key] = _BenchHolder(config)
    config.stash[_run_key] = state = _RunState(config)
    config.pluginmanager.register(state, "chargespec-run")
    from runner import redact

    redact.install(config)
    _check_bench_and_options(config)
    if config.option.chargespec_progress != "off" and getattr(config, "workerinput", None) is None:
        from runner.progress import ProgressPlugin

        config.pluginmanager.register(ProgressPlugin(config, bench_session), "chargespec-progress")


def _check_bench_and_options(config: pytest.Config) -> None:
    """The bench file and the options that change it, checked completely before anything starts: each
    mistake is a usage error naming the file and key (or the option), never a run of broken scenarios."""
    opt = config.option
    faults = parse_fault_args(opt.fault)
    if opt.chargespec_run_dir and getattr(config, "workerinput", None) is None and not opt.collectonly:
        earlier = runs.earlier_run(Path(opt.chargespec_run_dir))
        if earlier:
            raise pytest.UsageError(f"--run-dir {opt.chargespec_run_dir}: it holds an earlier run ({earlier}); a run "
                                    "writes into a folder of its own (give a new one, or leave --run-dir out)")
    if opt.speed is not None:
        from lab.bench import speed_problem

        problem = speed_problem(opt.speed)
        if problem:
            raise pytest.UsageError(f"--speed: {problem} (bench seconds per real second)")
    if not opt.bench and (opt.collectonly or (not faults and opt.speed is None)):
        return  # the shipped twin bench as it is: checked by its own test; collection stays fast
    from lab.bench import BenchFileError, load_bench
    from runner import redact

    path = Path(opt.bench) if opt.bench else DEFAULT_BENCH
    try:
        cfg = load_bench(path)
    except BenchFileError as e:
        raise pytest.UsageError(str(e)) from None
    if cfg.kind != "twin" and faults:
        raise pytest.UsageError(f"--fault: {path} is a {cfg.kind} bench; fault knobs apply to a twin bench only")
    if cfg.kind != "twin" and opt.speed is not None and opt.speed != 1:
        raise pytest.UsageError(f"--speed: {path} is a {cfg.kind} bench, which runs at 1x real time; "
                                "--speed applies to a twin bench only")
    if faults:
        # A mistyped knob is a usage error, reported before anything starts, with the valid knobs listed.
        from lab.twin.faults import FaultError, parse_faults

        try:
            parse_faults(faults)
        except FaultError as e:
            raise pytest.UsageError(f"--{e}") from None
    redact.register_bench(cfg)


def _is_scenario(nodeid: str, location: Any) -> bool:
    """Whether a test report is a scenario's: its file is a spec. By the item's location (its path from the
    rootdir, `../` and all) as well as its node id, whose path part is empty for a file outside the rootdir
    (specs from two places in one run): such a scenario's verdict is still counted and written."""
    return nodeid.split("::", 1)[0].endswith(".spec") or (bool(location) and str(location[0]).endswith(".spec"))


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Any:
    """While collecting, the objects made before (pytest, the plugins, imported modules) are left out of
    garbage collection, and the collector is off: compiling specs allocates enough to start full
    collections, and each would walk them all again (~20 ms a time), while what collecting allocates is
    kept (the collection tree) or freed by reference counting. Once collection ends, what it made and kept
    joins the oldest generation beside what was there before (as surviving two collections would have put
    it, without the ~15 ms of walking it there), and the collector is on again: the next full collection
    sees everything, cyclic garbage made while collecting included."""
    freeze = gc.isenabled() and gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
        gc.disable()
    try:
        return (yield)
    finally:
        if freeze:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every selected scenario has a node id of its own (its verdict is kept by it), or nothing runs. (A
    pytest-xdist worker leaves it to the controller: a usage error raised in a worker is an internal error.)"""
    problem = verdicts.same_node_id(items) if getattr(config, "workerinput", None) is None else None
    if problem:
        raise pytest.UsageError(problem)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".spec":
        return SpecFile.from_parent(parent, path=file_path)
    return None


_plan_cache_key = pytest.StashKey["Path | None"]()


def _plan_cache(config: pytest.Config) -> Path | None:
    """Where compiled plans are cached: $CHARGESPEC_PLAN_CACHE, else pytest's cache dir when it is on.

    Decided once per run (every spec file asks).
    """
    if _plan_cache_key not in config.stash:
        directory: Path | None = None
        if os.environ.get("CHARGESPEC_PLAN_CACHE"):
            directory = Path(os.environ["CHARGESPEC_PLAN_CACHE"])
        elif getattr(config, "cache", None) is not None:
            directory = Path(config.cache.mkdir("chargespec-plans"))
        config.stash[_plan_cache_key] = directory
    return config.stash[_plan_cache_key]


_tags_key = pytest.StashKey[dict[str, pytest.MarkDecorator]]()


def _registered_tags(config: pytest.Config) -> dict[str, pytest.MarkDecorator]:
    """Each spec tag registered once, with its marker (made once: pytest.mark looks the name up among the
    registered markers each time, a cost that grows with the tags)."""
    if _tags_key not in config.stash:
        config.stash[_tags_key] = {}
    return config.stash[_tags_key]


class SpecCollectError(Exception):
    pass


class SpecFile(pytest.File):
    def collect(self):
        try:
            # lazy: from the plan cache only names and tags; each item reads its steps when it runs.
            plans = dsl.load(self.path, cache_dir=_plan_cache(self.config), lazy=True,
                             include_root=self.config.rootpath)  # includes read under the rootdir
        except SpecErrors as e:
            raise SpecCollectError(e.render()) from None
        holder = self.config.stash[_session_key]
        for spec in plans:
            holder.spec_hashes[spec.file] = spec.sha256
            yield SpecNode.from_parent(self, name=spec.title, spec=spec)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SpecCollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class SpecNode(pytest.Collector):
    def __init__(self, *, spec: SpecPlan, **kw: Any) -> None:
        super().__init__(**kw)
        self.spec = spec

    def collect(self):
        known = _registered_tags(self.config)
        for tag in self.spec.tags:
            mark = known.get(tag)
            if mark is None:
                self.config.addinivalue_line("markers", f"{tag}: spec tag")
                mark = known[tag] = getattr(pytest.mark, tag)
            # On the spec's node, once: its items inherit it (-m, -k and Allure read markers up the chain).
            self.add_marker(mark)
        for sc in self.spec.scenarios:
            yield ScenarioItem.from_parent(self, name=sc.name, plan=sc, spec=self.spec)


class ScenarioItem(pytest.Item):
    def __init__(self, *, plan: ScenarioPlan, spec: SpecPlan, **kw: Any) -> None:
        super().__init__(**kw)
        self.plan = plan
        self.spec = spec

    def runtest(self) -> None:
        from runner import evidence, redact

        holder: _BenchHolder = self.config.stash[_session_key]
        state = _run_state(self.config)
        state.guard.defer = False  # a signal from here on stops this scenario where it is
        tracker: StepTracker | None = None
        try:
            evidence.words_for_people(self.config)
            evidence.label_scenario(self.spec, self.plan)
            own = per_station.worker_station(self.config)  # per-station mode: each station's evidence apart
            directory = evidence.scenario_dir(state.evidence_dir() / (evidence.slug(own) if own else "")
                                              / evidence.slug(self.spec.title), self.plan.name)
            _write_provisional(self.config, state)
            session = holder.get()
            per_station.label_unit(self.config, session)
            tracker = StepTracker(session.clock.now)
            self.evidence_path = str(directory.relative_to(state.run_folder()))  # for verdicts.json
            self._execute(session, directory, tracker)
        except KeyboardInterrupt as e:
            signame = e.signame if isinstance(e, RunInterrupted) else "KeyboardInterrupt"
            where = (tracker.stopped or tracker.where()) if tracker is not None else "before its first step"
            where = redact.text(where)  # the step's text may name a token; it goes to run.json and the console
            state.interrupt(f"by {signame} {where}", self.nodeid)
            raise ScenarioInterrupted(None, interrupted_message(f"by {signame} {where}")) from None
        finally:
            state.guard.defer = True  # the verdict is earned: a signal now stops the run after its report

    def _execute(self, session: BenchSession, directory: Path, tracker: StepTracker) -> None:
        from runner import evidence
        from runner.context import ScenarioRun
        from runner.execute import execute

        @contextlib.contextmanager
        def step_context(step: Any) -> Iterator[None]:
            with tracker.step(step), evidence.allure_step(step):
                yield

        per_station.skip_if_other_stations(self.config, self.plan, session)
        session.recorder.begin(directory)
        run = ScenarioRun(self.plan, session, session.station(bound_station(self.config)),
                          step_context=step_context,
                          on_measured=evidence.attach_measurement)
        self.measurements = run.measurements  # the report carries them to verdicts.json
        try:
            execute(session, self.plan, run)
        except NotSupportedByCharger as e:
            source = getattr(run.action, "source", None)  # the `charger supports …` line, for the skip's location
            if source is not None:
                self.skip_at = (source.file, source.line)
            pytest.skip(e.reason)
        finally:
            session.recorder.end()
            with contextlib.suppress(Exception):
                evidence.attach_evidence(run, session.recorder, self.spec)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        e = excinfo.value
        if isinstance(e, ScenarioInterrupted):
            return f"BROKEN (interrupted: no verdict)\n{e}"
        if isinstance(e, ExpectationFailed):
            return f"FAILED (the charger did not meet a criterion)\n{e}"
        if isinstance(e, BenchError):
            return f"BROKEN (a bench fault, not a charger failure)\n{e}"
        return f"BROKEN (unexpected error in the bench or runner)\n{super().repr_failure(excinfo)}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.plan.source.line - 1, f"{self.spec.title} :: {self.plan.name}"


def interrupted_message(account: str) -> str:
    """The message of a scenario a signal stopped: `account` is "by SIGINT at `x.spec:17` (...) after ..."."""
    return f"interrupted {account}: no verdict, the run is incomplete"  # (verdicts.INTERRUPTED: `account` is "by …")


def _write_provisional(config: pytest.Config, state: _RunState) -> None:
    """Leave a broken "did not finish" Allure result for this scenario until its real result replaces it."""
    from runner import provisional

    result = provisional.current_result(config)
    if result is None:
        return
    if state.provisional is None:
        import allure_commons

        alluredir = Path(config.option.allure_report_dir).resolve()
        state.provisional = provisional.ProvisionalResults(alluredir)
        allure_commons.plugin_manager.register(state.provisional)
        config.add_cleanup(lambda: allure_commons.plugin_manager.unregister(state.provisional))
    started = datetime.now(UTC).isoformat(timespec="seconds")
    state.provisional.write(result, f"did not finish: the run stopped while this scenario ran (started {started}, "
                                    f"run {state.run_folder().name}); killed, crashed or powered off: no verdict")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """With --preflight, open the bench before the first scenario and check it against the bench file
    (runner/preflight.py); strict: a finding that invalidates the campaign stops the run before any
    scenario starts (True: no scenario runs). A bench that does not open is left to the scenarios, which
    report it as broken, as without a preflight. Not under pytest-xdist: `chargespec run` checks first."""
    config = session.config
    mode = config.option.chargespec_preflight
    if (mode == "off" or config.option.collectonly or not session.items or session.testsfailed
            or getattr(config, "workerinput", None) is not None
            or config.getoption("dist", "no") not in ("no", None)
            or not any(isinstance(i, ScenarioItem) for i in session.items)):
        return None
    from runner import preflight

    state = _run_state(config)
    state.run_folder()
    try:
        bench = config.stash[_session_key].get()
    except Exception:
        return None
    try:
        on = date.fromisoformat(config.option.chargespec_preflight_date) \
            if config.option.chargespec_preflight_date else datetime.now(UTC).date()
    except ValueError:
        raise pytest.UsageError(f"--preflight-date {config.option.chargespec_preflight_date!r}: "
                                "expected YYYY-MM-DD") from None
    findings = preflight.check_session(bench, on=on)
    bad = preflight.invalidating(findings)
    assert state.folder is not None
    preflight.write(state.folder, findings, on, accepted=bool(bad) and mode == "warn")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        if bad or preflight.warnings(findings):
            reporter.write_line(preflight.render_plain(findings))
        else:
            reporter.write_line(preflight.verdict_line(findings))
    if bad and mode == "strict":
        state.refused = "; ".join(f.line() for f in bad)
        if reporter is not None:
            reporter.write_line(preflight.refusal(findings), red=True, bold=True)
        state.write_identity()
        return True
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    state = _run_state(session.config)
    state.session = session
    state.guard.install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    try:
        return (yield)
    finally:
        _run_state(item.config).guard.defer = False  # between scenarios a signal interrupts at once


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Mark each report with its verdict (it travels to the pytest-xdist controller with the report)."""
    report = yield
    verdict = "passed"
    if report.skipped:
        verdict = "skipped"
        at = getattr(item, "skip_at", None)
        if at is not None and isinstance(report.longrepr, tuple):  # the spec line, not the plugin's
            report.longrepr = (*at, report.longrepr[2])
    elif report.failed:
        e = call.excinfo.value if call.excinfo is not None else None
        charger = call.when == "call" and isinstance(e, AssertionError | pytest.fail.Exception)
        verdict = "failed" if charger else "broken"
    report.chargespec_verdict = verdict
    report.chargespec_station = per_station.worker_station(item.config)  # per-station mode: whose result
    with contextlib.suppress(Exception):  # (a scenario item's only: a Python test in the run has none)
        report.chargespec_record = verdicts.scenario_record(item, report, call, verdict)
    return report


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist controller: every worker writes into the one folder this run reserved."""
    # Reserved before anyone knows whether the workers will collect a spec: `latest` moves to it once they
    # do, and an unused folder is removed at the end (`pytest -n 2` on a project's own tests).
    node.workerinput["chargespec_run_dir"] = str(_run_state(node.config).run_folder(latest=False))
    per_station.configure_node(node)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    state = _run_state(node.config)
    twice = next((i for i, n in collections.Counter(ids).items() if n > 1), None)
    if twice is not None:  # (as pytest_collection_modifyitems says without pytest-xdist)
        pytest.exit(f"two scenarios have the node id {twice!r}: their verdicts would be one. Spec files outside "
                    "the rootdir are named without their path: give --rootdir a folder that holds every spec file "
                    "(and each spec file once)", returncode=int(RunExit.USAGE_ERROR))
    if not state.specs_seen and any(i.split("::", 1)[0].endswith(".spec") for i in ids):
        state.specs_seen = True
        if state.reserved and state.folder is not None:
            runs.point_latest(Path(node.config.option.chargespec_out), state.folder)
        state.write_identity()  # the run's folder holds specs: its identity file exists from now on


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Any) -> None:
    """pytest-xdist controller: a worker died while running a scenario; its report is the station's."""
    per_station.crashed(report)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: a worker a signal stopped makes the whole run interrupted."""
    per_station.node_down(node)
    output = getattr(node, "workeroutput", None) or {}
    state = _run_state(node.config)
    if output.get("chargespec_interrupted_scenario"):  # (the scenario's own account, before a mere "by SIGINT")
        state.worker_interrupted(output["chargespec_interrupted_scenario"], node.gateway.id)
        state.write_verdicts()
    where = output.get("chargespec_interrupted")
    if where:
        state.interrupt(f"{where} (worker {node.gateway.id})")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The run's verdicts in chargespec's words: pytest counts a broken scenario as "failed"."""
    state = _run_state(config)
    if not state.specs_seen or not state.verdicts or state.workerinput is not None:
        return
    values = list(state.verdicts.values())
    counts = ", ".join(f"{values.count(v)} {v}" for v in ("passed", "failed", "broken", "skipped"))
    code = state.exit_code if state.exit_code is not None else exitstatus
    meaning = MEANINGS[RunExit(code)] if code in set(RunExit) else ""
    terminalreporter.write_sep("=", "chargespec verdicts")
    terminalreporter.write_line(f"{counts}; exit code {code}" + (f" ({meaning})" if meaning else ""))


def _pytest_status(session: pytest.Session) -> int:
    """pytest's status, as one process would have it: under pytest-xdist, -x (--maxfail) stops the run by
    raising xdist's Interrupted, which pytest reports as 2 ("interrupted") where one process reports 1 (tests
    failed). No signal came (the guard and the workers would say so): it is the failures' status."""
    status = int(session.exitstatus)
    tally = _run_state(session.config).tally()
    maxfail = session.config.option.maxfail
    if (status == RunExit.INTERRUPTED and not tally.interrupted and maxfail
            and tally.failed + tally.broken >= maxfail):
        return int(pytest.ExitCode.TESTS_FAILED)
    return status


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _run_state(session.config)
    holder: _BenchHolder | None = session.config.stash.get(_session_key, None)
    state.guard.defer = True  # a first signal while the run is written up and the bench closes is noted
    try:
        if state.specs_seen or state.collection_errors:
            state.exit_code = int(decide(_pytest_status(session), state.tally()))
            session.exitstatus = state.exit_code
        state.finished = True
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None and state.interruption():
            workeroutput["chargespec_interrupted"] = state.interruption()
            if state.interrupted_scenario is not None:
                workeroutput["chargespec_interrupted_scenario"] = state.interrupted_account()
        if state.folder is not None:
            if state.specs_seen and state.workerinput is None:
                for worker_file in sorted(state.folder.glob("run-*.json")):  # (pytest-xdist: each worker's)
                    state.worker_interrupted(runs.read_json(worker_file).get(runs.INTERRUPTED_SCENARIO),
                                             worker_file.stem.removeprefix("run-"))
            if state.bench is not None or (state.specs_seen and state.workerinput is None):
                state.write_identity()  # (a worker that ran no scenario has no bench to name)
            if state.specs_seen and state.workerinput is None:
                state.write_verdicts()
            if state.workerinput is None:
                (state.folder / STOP_FILE).unlink(missing_ok=True)  # (the workers have stopped)
                if state.reserved and not state.specs_seen:
                    # An xdist controller reserves the folder for its workers before anyone knows whether they
                    # will collect a spec (pytest_configure_node): `pytest -n 2` on a project's own tests left an
                    # empty run folder each time. Only empty folders go (never a file: runs.discard_if_unused).
                    runs.discard_if_unused(state.folder)
    finally:
        if holder is not None:
            holder.close()
        state.guard.restore()

