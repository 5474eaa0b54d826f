"""Campaigns: a bench, a selection of specs and the charger units under test, run and resumed as one.

    chargespec run --campaign lab/campaigns/twin-fat.toml            # every unit, every selected scenario
    chargespec run --campaign lab/campaigns/twin-fat.toml --resume   # only what did not finish or was broken

A campaign file (TOML, validated; each mistake names the file and the key, all at once)::

    name = "FAT rehearsal"
    bench = "../benches/twin.toml"            # relative to the campaign file
    out = "../../out/campaigns/twin-fat"      # the campaign's folder, relative to the campaign file
    date = 2026-11-30                         # optional: the campaign date calibration is checked against
    [specs]
    paths = ["../../specs/metering"]          # spec files or folders, relative to the campaign file
    tags = "metering and not long"            # optional: a marker expression over the specs' tags
    [[units]]
    serial = "TWIN-AC22-SN-0001"              # the charger unit, by serial number
    station = "TWIN-AC22-001"                 # optional: the bench station it stands at (default: the
                                              # station whose `serial` is the unit's)

Results are kept per unit and per run: each attempt of a unit is an ordinary run folder (runner/runs.py)
under ``OUT/<unit>/runs/<UTC start>/``, with its own preflight, verdicts, evidence and acceptance summary.
A resumed campaign re-runs, per unit, only the scenarios without a final verdict in an earlier attempt:
one that never started, did not finish (the run was killed) or was broken (the bench could not judge).
Passed, failed and skipped scenarios keep their verdict (unless their spec changed since: _KeepDone). Then,
per unit, the attempts are merged into ``OUT/<unit>/merged/`` (each scenario the campaign selects now with its
final verdict, every attempt beside it and the charger it was measured on: nothing is hidden; results of
scenarios renamed, deleted or deselected since are listed apart, not counted; attempts measured on different
setups are named in the merged run.json, and the summary is then not ACCEPTED) and the unit's acceptance
summary is made from it (``OUT/<unit>/summary.html``, ``.pdf``); the campaign overview
(``OUT/overview.html``, ``overview.json``) lists every unit, every attempt and every scenario's history.
The exit code is the one a single run would have (runner/exitcodes.py) over the merged results; a unit
whose run did not finish is never a pass (finish).

Each unit runs in a pytest process of its own that opens only the unit's station (``--station``,
runner/plugin.py), so two scenarios never run on one station at once; ``-- -n N`` runs up to N units (N
stations) at once, one process per station, each with its own preflight and run folder (its console in
``console.log`` there). Processes rather than pytest-xdist workers: xdist hands any scenario to any worker,
while a unit's scenarios must all run at its station, and a unit killed or resumed must not touch another's.

Ctrl-C, SIGTERM or SIGHUP to the campaign (to it alone or to its process group) stops every running unit once
(_Stop), which stops its scenario and writes up what finished; no further unit starts, and the campaign
still merges and reports what finished, with exit code 2 (interrupted). `--resume` goes on from there.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runner import runs
from runner.verdicts import INTERRUPTED, UNFINISHED

MERGED = "merged"
OVERVIEW_JSON, OVERVIEW_HTML = "overview.json", "overview.html"
DONE_FILE = "campaign-kept.json"  # in an attempt's folder: the scenarios it did not run again, and why
SELECTED = "selected"  # in DONE_FILE: every scenario the attempt's collection selected (kept or run), by node id
FINAL = ("passed", "failed", "skipped")  # a verdict a resumed campaign keeps; broken ones run again


class CampaignFileError(Exception):
    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path, self.problems = str(path), problems
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.path}: {p}" for p in self.problems)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpecSelection(_Model):
    paths: tuple[str, ...] = Field(min_length=1)
    tags: str = ""


class UnitConfig(_Model):
    serial: str = Field(min_length=1, max_length=100)
    station: str = ""


class CampaignConfig(_Model):
    name: str = Field(min_length=1)
    bench: str
    out: str
    date: datetime.date | None = None
    specs: SpecSelection
    units: tuple[UnitConfig, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Unit:
    serial: str
    station: str
    folder: Path      # OUT/<unit>


@dataclass(frozen=True)
class Campaign:
    path: Path
    name: str
    bench: Path
    out: Path
    date: datetime.date | None
    paths: tuple[Path, ...]
    tags: str
    units: tuple[Unit, ...]


def unit_folder_name(serial: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", serial) or "_"


def _problem(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key"
    return f"{loc}: {err['msg']}"


def load_campaign(path: Path | str) -> Campaign:
    """Read and check a campaign file: its keys, its bench file, its spec paths, and that every unit has a
    station of its own whose bench-file serial is the unit's. Raises CampaignFileError with every problem."""
    from lab.bench import BenchFileError, load_bench

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignFileError(path, ["no such campaign file"]) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CampaignFileError(path, [f"cannot read: {e}"]) from None
    try:
        cfg = CampaignConfig.model_validate(data)
    except ValidationError as e:
        raise CampaignFileError(path, [_problem(err) for err in e.errors()]) from None
    base = path.parent
    problems: list[str] = []
    bench_path = (base / cfg.bench).resolve()
    bench = None
    try:
        bench = load_bench(bench_path)
    except BenchFileError as e:
        problems += [f"bench: {p}" for p in str(e).splitlines()]
    spec_paths = tuple((base / p).resolve() for p in cfg.specs.paths)
    for i, p in enumerate(spec_paths):
        if not p.exists():
            problems.append(f"specs.paths.{i}: no such file or folder: {p}")
    units: list[Unit] = []
    out = (base / cfg.out).resolve()
    seen: dict[str, int] = {}
    for i, u in enumerate(cfg.units):
        if u.serial in seen:
            problems.append(f"units.{i}.serial: {u.serial} is unit {seen[u.serial]} already")
        seen.setdefault(u.serial, i)
        if bench is None:
            continue
        if u.station:
            station = next((s for s in bench.stations if s.id == u.station), None)
            if station is None:
                problems.append(f"units.{i}.station: the bench has no station {u.station!r}; it has "
                                f"{[s.id for s in bench.stations]}")
                continue
            if station.serial and station.serial != u.serial:
                problems.append(f"units.{i}.serial: station {station.id} of the bench file expects the charger "
                                f"{station.serial}, not {u.serial}")
                continue
            if not station.serial:  # nothing would check that the charger there is this unit
                problems.append(f"units.{i}.station: station {station.id} of the bench file states no `serial`, so "
                                f"neither the preflight nor the summary would check that the charger there is "
                                f"{u.serial}: set its `serial = \"{u.serial}\"`")
                continue
        else:
            station = next((s for s in bench.stations if s.serial == u.serial), None)
            if station is None:
                problems.append(f"units.{i}: no station of the bench file expects serial {u.serial} "
                                "(set the station's `serial`, or the unit's `station`)")
                continue
        units.append(Unit(u.serial, station.id, out / unit_folder_name(u.serial)))
    by_folder: dict[str, str] = {}
    for u in units:  # (a case-insensitive file system makes SN-1 and sn-1 one folder)
        other = by_folder.setdefault(u.folder.name.casefold(), u.serial)
        if other != u.serial:
            problems.append(f"units: {other} and {u.serial} would keep their results in one folder "
                            f"({u.folder.name}): their attempts would merge into one summary")
    by_station: dict[str, str] = {}
    for u in units:
        if u.station in by_station:
            problems.append(f"units: {by_station[u.station]} and {u.serial} both stand at station {u.station}; "
                            "one unit per station")
        by_station.setdefault(u.station, u.serial)
    if problems:
        raise CampaignFileError(path, problems)
    return Campaign(path=path.resolve(), name=cfg.name, bench=bench_path, out=out, date=cfg.date, paths=spec_paths,
                    tags=cfg.specs.tags, units=tuple(units))


# ---- attempts ------------------------------------------------------------------------------------


def attempts(unit: Unit) -> list[Path]:
    """The unit's run folders, oldest first (their names are their UTC starts)."""
    folder = unit.folder / runs.RUNS
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=_start_order)


def _start_order(folder: Path) -> tuple[str, int]:
    """`2026-11-30T13-07-39Z`, then `...Z-2`, `...Z-10` (runs.reserve's names for runs of one second)."""
    stamp, _, n = folder.name.partition("Z-")
    return (stamp, int(n)) if n.isdigit() else (folder.name.removesuffix("Z"), 1)


def final_verdicts(folders: list[Path]) -> dict[str, dict[str, Any]]:
    """Each scenario's newest record over the attempts (nodeid -> record)."""
    out: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for r in runs.read_json(folder / "verdicts.json").get("results") or []:
            if isinstance(r, dict) and r.get("nodeid"):
                out[r["nodeid"]] = {**r, "run": folder.name}
    return out


class _KeepDone:
    """A pytest plugin for a resumed attempt: the scenarios that already have a final verdict are
    deselected (by their exact node id), so only the rest runs. Not one whose spec file changed since that
    verdict (another SHA-256: a limit tightened, a step added): the verdict was earned against another spec,
    so it runs again (and `run again` in the attempt's DONE_FILE says why).

    It also writes down what the campaign selects now (SELECTED in DONE_FILE: every scenario, kept or run), so
    that merge() counts only the current selection's results: not a pass kept from an earlier attempt for a
    scenario renamed, deleted or deselected since. After -m and -k (trylast): their selection is the campaign's.
    Not when a spec file did not collect: what it holds now is unknown."""

    def __init__(self, done: dict[str, str], done_file: Path | None = None) -> None:
        self.done = done  # nodeid -> the SHA-256 of the spec its final verdict was judged by ("" if unknown)
        self.done_file = done_file
        self.kept = 0  # how many selected scenarios keep their verdict (are not run again)

    def _keeps(self, item: Any) -> bool:
        if item.nodeid not in self.done:
            return False
        sha = self.done[item.nodeid]
        return not sha or getattr(getattr(item, "spec", None), "sha256", sha) == sha

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: Any, config: Any, items: list[Any]) -> None:
        if self.done_file is not None and not session.testsfailed:  # (a collection error counts as a failure)
            said = runs.read_json(self.done_file)
            runs.write_json(self.done_file, {**said, SELECTED: sorted(
                i.nodeid for i in items if getattr(i, "spec", None) is not None)})
        keep = [i for i in items if not self._keeps(i)]
        dropped = [i for i in items if self._keeps(i)]
        changed = {i.nodeid: f"its spec changed since its verdict (SHA-256 {self.done[i.nodeid][:12]}… then, "
                             f"{i.spec.sha256[:12]}… now): run again" for i in keep if i.nodeid in self.done}
        self.kept = len(dropped)
        if changed and self.done_file is not None:
            said = runs.read_json(self.done_file)
            runs.write_json(self.done_file, {**said, "run again": {**(said.get("run again") or {}), **changed}})
        if dropped:
            for item in dropped:
                item.chargespec_kept = True  # judged in an earlier attempt, not left out (runner/plugin.py)
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep


def kept_verdicts(unit: Unit, finals: dict[str, dict[str, Any]], firmware: str = ""
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """The scenarios a resumed attempt keeps (a final verdict), each with the SHA-256 of the spec it was judged
    by; and those it runs again although final, with why: measured on another firmware than the one the
    bench file now expects (the charger was updated since: its verdicts are the old firmware's)."""
    from runner.summary import boot

    done: dict[str, str] = {}
    again: dict[str, str] = {}
    booted: dict[str, str] = {}
    for n, r in finals.items():
        if r.get("verdict") not in FINAL:
            continue
        run = str(r.get("run", ""))
        if run not in booted:
            proof = boot.read_all(unit.folder / runs.RUNS / run).get(unit.station, {})
            booted[run] = str((proof.get("chargingStation") or {}).get("firmwareVersion") or "")
        if firmware and firmware != "unknown" and booted[run] and booted[run] != firmware:
            again[n] = (f"measured on firmware {booted[run]} (run {run}); the bench file now expects {firmware}: "
                        "run again")
            continue
        done[n] = str(r.get("spec sha256") or "")
    return done, again


def _expected_firmware(camp: Campaign, unit: Unit) -> str:
    from lab.bench import BenchFileError, load_bench

    try:
        bench = load_bench(camp.bench)
    except BenchFileError:
        return ""
    return next((s.firmware for s in bench.stations if s.id == unit.station), "")


# ---- running -------------------------------------------------------------------------------------


def parallel_units(extra: list[str]) -> tuple[int, list[str]]:
    """`-n N` (or `-nN`, `--numprocesses=N`) among the pytest arguments: how many units run at once, and
    the arguments without it (each unit runs in a process of its own, not as pytest-xdist workers)."""
    rest: list[str] = []
    n = 1
    it = iter(extra)
    for a in it:
        value = None
        if a in ("-n", "--numprocesses"):
            value = next(it, "1")
        elif a.startswith("--numprocesses="):
            value = a.split("=", 1)[1]
        elif a.startswith("-n") and a[2:].isdigit():
            value = a[2:]
        if value is None:
            rest.append(a)
            continue
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"-n {value}: give the number of stations to run at once")
        n = int(value)
    return n, rest


def run_campaign(args: argparse.Namespace, extra: list[str]) -> int:
    """`chargespec run --campaign FILE [--resume] [-- -n N]`: each unit (that has anything left to run) in a
    pytest process of its own, bound to its station (--station: that process opens no other station, so
    two scenarios never share a station); up to N of them at once, one per station."""
    from runner.exitcodes import RunExit

    try:
        camp = load_campaign(args.campaign)
        at_once, extra = parallel_units(extra)
    except (CampaignFileError, ValueError) as e:
        print(f"chargespec: {e}", file=sys.stderr)
        return RunExit.USAGE_ERROR
    started = [u for u in camp.units if attempts(u)]
    if started and not args.resume:
        print(f"chargespec: {camp.out} already holds results of this campaign (units "
              f"{', '.join(u.serial for u in started)}); --resume to go on, or give the campaign another `out`",
              file=sys.stderr)
        return RunExit.USAGE_ERROR
    print(f"Campaign {camp.name!r}: {len(camp.units)} unit(s) on bench {camp.bench}, up to {at_once} at once; "
          f"results in {camp.out}", flush=True)
    # Every unit starts, even one whose every earlier scenario has its final verdict: only its collection knows
    # what the campaign selects now (a spec or a scenario added since, other tags). With nothing left to run it
    # opens no bench and says so in its run file (unit_main).
    pending: list[tuple[Unit, dict[str, str], dict[str, str]]] = []
    for unit in camp.units:
        pending.append((unit, *kept_verdicts(unit, final_verdicts(attempts(unit)), _expected_firmware(camp, unit))))
    codes: list[int] = []
    running: list[tuple[Unit, Path, subprocess.Popen[bytes], Any]] = []
    stop = _Stop()
    with stop.installed():
        while (pending and not stop.signals) or running:
            while pending and not stop.signals and len(running) < at_once:
                unit, done, again = pending.pop(0)
                running.append(_start(camp, unit, done, again, args, extra, quiet=at_once > 1))
            for entry in list(running):
                unit, folder, proc, log = entry
                stop.forward(proc)
                if proc.poll() is None:
                    continue
                running.remove(entry)
                if log is not None:
                    log.close()
                codes.append(proc.returncode)
                if not runs.discard_if_unused(folder):
                    print(f"Unit {unit.serial} at station {unit.station}: exit code {proc.returncode} "
                          f"(run {folder})", flush=True)
            if running:
                time.sleep(0.1)
    if stop.first:
        left = [u.serial for u, _, _ in pending]
        print(f"Campaign stopped by {stop.first.name}" + (f"; not started: {', '.join(left)}" if left else "")
              + f"; what finished is kept: `chargespec run --campaign {args.campaign} --resume` goes on",
              flush=True)
    interrupted = bool(stop.signals)
    if RunExit.USAGE_ERROR in codes:
        return RunExit.USAGE_ERROR
    return finish(camp, interrupted=interrupted or RunExit.INTERRUPTED in codes,
                  refused=RunExit.PREFLIGHT_FAILED in codes)


# The signals that stop a campaign, and what each unit is to stop as (a hang-up stops it as SIGTERM does).
STOPS_AS: dict[signal.Signals, signal.Signals] = {
    signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM, signal.SIGHUP: signal.SIGTERM}
# How the campaign tells a unit it was stopped: a signal of their own, which the unit turns into the one it
# stands for unless that already reached it directly (unit_main), so that no unit counts one stop twice.
TELL_UNIT: dict[signal.Signals, signal.Signals] = {signal.SIGINT: signal.SIGUSR2, signal.SIGTERM: signal.SIGUSR1}
DIRECT_GRACE_S = 0.5  # a signal sent to the whole process group reaches the units in this time


class _Stop:
    """The signals that stop a campaign, handed on to its units.

    A Ctrl-C at the terminal reaches the campaign and its units at once (one process group), as does a
    signal sent to the group (`kill -TERM -- -PGID`, `timeout`, a service manager's stop); one sent to the
    campaign alone (`kill PID`) reaches no unit, and the units would run on after the campaign ended. So the first
    signal is handed on to every running unit, DIRECT_GRACE_S later, as "the campaign was stopped"
    (TELL_UNIT): a unit the signal already reached ignores it (a second signal would stop its write-up at
    once, runner/interrupt.py); one it did not reach stops as if it had. Each unit then stops its scenario,
    writes up what finished and exits. A second signal is handed on as itself (a unit stops at once, as a
    single run does on a second Ctrl-C); from the third on the units are killed, so that the campaign can
    still write what finished."""

    def __init__(self) -> None:
        self.signals: list[tuple[signal.Signals, float]] = []  # each with when it came (time.monotonic)
        self._sent: dict[int, int] = {}  # unit process id -> how many of the signals it was sent

    @property
    def first(self) -> signal.Signals | None:
        return self.signals[0][0] if self.signals else None

    def _received(self, signum: int, _frame: Any) -> None:
        self.signals.append((signal.Signals(signum), time.monotonic()))  # handed on by forward(), in 0.1 s

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self._received) for s in STOPS_AS}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def forward(self, proc: subprocess.Popen[bytes]) -> None:
        """Send a running unit what the campaign received since it was last sent anything (when due)."""
        sent = self._sent.get(proc.pid, 0)
        for i in range(sent, len(self.signals)):
            sig, at = self.signals[i]
            if i == 0 and time.monotonic() < at + DIRECT_GRACE_S:
                return  # the same signal may be on its way to the unit directly
            if proc.poll() is not None:
                return
            if i == 0 and not _catches(proc.pid, TELL_UNIT[STOPS_AS[sig]]):
                return  # still starting (its default would kill it, unwritten): when unit_main listens
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(TELL_UNIT[STOPS_AS[sig]] if i == 0 else STOPS_AS[sig] if i == 1 else signal.SIGKILL)
            self._sent[proc.pid] = i + 1


def _catches(pid: int, sig: signal.Signals) -> bool:
    """Whether process `pid` has a handler for `sig` (Linux: /proc/PID/status SigCgt; elsewhere assumed)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return True
    caught = re.search(r"^SigCgt:\s*([0-9a-fA-F]+)$", status, re.MULTILINE)
    return caught is None or bool(int(caught.group(1), 16) >> (int(sig) - 1) & 1)


def _told_to_stop(signum: int, frame: Any) -> None:
    """In a unit: the campaign was stopped (TELL_UNIT). Stop as the signal it stands for would stop this
    process, unless that signal already reached it directly (the plugin's runner.interrupt.SignalGuard
    has then received one)."""
    stands_for = next(s for s, tell in TELL_UNIT.items() if tell == signum)
    handler = signal.getsignal(stands_for)
    if getattr(getattr(handler, "__self__", None), "received", None):
        return
    if callable(handler):
        handler(stands_for, frame)
    elif handler != signal.SIG_IGN:  # no handler of its own yet (starting up): the signal's own effect
        signal.signal(stands_for, signal.SIG_DFL)
        os.kill(os.getpid(), stands_for)


def _start(camp: Campaign, unit: Unit, done: dict[str, str], again: dict[str, str], args: argparse.Namespace,
           extra: list[str], *, quiet: bool) -> tuple[Unit, Path, subprocess.Popen[bytes], Any]:
    """Start one attempt of a unit: a run folder of its own, a pytest process bound to the unit's station.
    With several units at once, each one's console goes to console.log in its run folder."""
    folder = runs.reserve(unit.folder)
    done_file = folder / DONE_FILE
    runs.write_json(done_file, {"kept": sorted(done), "spec sha256": done, **({"run again": again} if again else {})})
    pytest_args = [*(str(p) for p in camp.paths), f"--bench={camp.bench}", f"--station={unit.station}",
                   f"--run-dir={folder}", f"--alluredir={folder / runs.ALLURE_RESULTS}",
                   "-o", f"cache_dir={camp.out / '.cache'}", "-rfEs",
                   "--preflight=" + ("warn" if args.accept_preflight_warnings else "strict")]
    when = args.date or (camp.date.isoformat() if camp.date else None)
    if when:
        pytest_args.append(f"--preflight-date={when}")
    if camp.tags:
        pytest_args += ["-m", camp.tags]
    if args.speed is not None:
        pytest_args.append(f"--speed={args.speed}")
    pytest_args += [f"--fault={f}" for f in args.fault]
    progress = "plain" if quiet and args.progress != "off" else args.progress
    if progress != "off":
        pytest_args.append(f"--progress={progress}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    command = [sys.executable, "-m", "runner.campaign", "--kept", str(done_file), "--", *pytest_args, *extra]
    print(f"Unit {unit.serial} at station {unit.station}: run {folder.name}"
          + (f", {len(done)} scenario(s) keep their verdict" if done else "")
          + (f"; console in {folder / 'console.log'}" if quiet else ""), flush=True)
    log = (folder / "console.log").open("wb") if quiet else None
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT if quiet else None)
    return unit, folder, proc, log


def unit_main(argv: list[str]) -> int:
    """`python -m runner.campaign --kept FILE -- PYTEST ARGS`: one attempt of one unit (see _start)."""
    import pytest

    if len(argv) < 3 or argv[0] != "--kept" or argv[2] != "--":
        print("usage: python -m runner.campaign --kept FILE -- PYTEST ARGS", file=sys.stderr)
        return 4
    from runner.exitcodes import RunExit

    done_file = Path(argv[1])
    said = runs.read_json(done_file)
    shas = said.get("spec sha256") if isinstance(said.get("spec sha256"), dict) else {}
    keep = _KeepDone({str(n): str(shas.get(n) or "") for n in said.get("kept") or []}, done_file)
    for tell in TELL_UNIT.values():
        signal.signal(tell, _told_to_stop)
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    code = int(pytest.main(argv[3:], plugins=[keep]))
    folder = done_file.parent
    if code == RunExit.NO_SPECS and not runs.identity_file(folder).exists():
        # Nothing to run, so the plugin opened no bench and wrote no run file. Said here, or the attempt would
        # read as one killed before its first scenario: never complete, however often the unit is resumed.
        runs.write_json(runs.identity_file(folder), {
            "status": runs.COMPLETE, "run": folder.name, "started": started,
            "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "exit code": code,
            "status.reason": (f"nothing left to run: each of the {keep.kept} selected scenario(s) keeps its verdict "
                              "from an earlier attempt") if keep.kept else "no scenario selected"})
    return code


def _complete(folder: Path) -> bool:
    return str(runs.read_json(runs.identity_file(folder)).get("status", "")).lower() == runs.COMPLETE


# ---- merging and reporting -----------------------------------------------------------------------


def merge(unit: Unit) -> Path | None:
    """The unit's attempts as one run folder (OUT/<unit>/merged/), for its acceptance summary: each
    scenario's newest verdict, every attempt listed with it; None when the unit never ran."""
    folders = attempts(unit)
    if not folders:
        return None
    target = unit.folder / MERGED
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    history: dict[str, list[dict[str, Any]]] = {}
    for folder in folders:
        for r in runs.read_json(folder / "verdicts.json").get("results") or []:
            if isinstance(r, dict) and r.get("nodeid"):
                history.setdefault(r["nodeid"], []).append(
                    {"run": folder.name, "verdict": r.get("verdict"), "message": r.get("message", "")})
    results = []
    selected, decided = _selection(folders)
    apart: list[dict[str, Any]] = []  # results of scenarios the campaign no longer selects: listed, not counted
    for nodeid, rec in final_verdicts(folders).items():
        if selected is not None and nodeid not in selected and rec["run"] in decided:
            apart.append({k: rec.get(k) for k in ("nodeid", "spec", "scenario", "verdict", "message", "run")}
                         | {"attempts": history.get(nodeid, [])})
            continue
        rec = dict(rec)
        tries = history.get(nodeid, [])
        rec["attempts"] = tries
        if rec.get("evidence"):
            rec["evidence"] = f"../{runs.RUNS}/{rec['run']}/{rec['evidence']}"
        if len(tries) > 1:
            earlier = "; ".join(f"attempt {i + 1} (run {t['run']}): {t['verdict']}"
                                + (f" — {t['message']}" if t["message"] else "") for i, t in enumerate(tries[:-1]))
            note = f"attempt {len(tries)} of {len(tries)} (run {rec['run']}); earlier: {earlier}"
            rec["message"] = f"{rec['message']} [{note}]" if rec.get("message") else note
        results.append(rec)
    last = folders[-1]
    idents = {f.name: runs.read_identity(f) for f in folders}
    # The bench and device the merged results were measured with: the newest attempt that opened a bench (an
    # attempt with nothing left to run opens none), checked against every other attempt a result comes from.
    measured = [f for f in folders if "bench" in idents[f.name]]
    identity = dict(idents[measured[-1].name] if measured else idents[last.name])
    sources = [f for f in measured if f.name in {r["run"] for r in results}]
    setups = {f.name: _setup(f, idents[f.name], unit.station) for f in sources}
    for rec in results:
        if rec["run"] in setups:  # each result names the charger it was measured on
            rec["charger"] = setups[rec["run"]].get("charger", "not identified (no BootNotification recorded)")
    differ = _differences(setups)
    first = idents[folders[0].name]
    specs: dict[str, str] = {}
    for folder in folders:
        specs.update(idents[folder.name].get("specs") or {})
    provisional = any(r.get("verdict") == "broken" and str(r.get("message", "")).startswith((UNFINISHED, INTERRUPTED))
                      for r in results)  # (a scenario that never ran to a verdict: the unit's run is not complete)
    complete = _complete(last) and not provisional
    counts = {v: sum(r.get("verdict") == v for r in results) for v in ("passed", "failed", "broken", "skipped")}
    identity = {k: v for k, v in identity.items() if k not in ("exit code", "finished")}  # (an attempt's own)
    identity.update({
        "run": f"{unit.folder.name} (merged from {len(folders)} attempt(s))",
        "status": runs.COMPLETE if complete else runs.INCOMPLETE.upper(),
        "status.reason": (f"{len(folders)} attempt(s): " + ", ".join(
            f"{f.name} {idents[f.name].get('status', 'INCOMPLETE')}" for f in folders)),
        "started": first.get("started", identity.get("started")), "specs": specs, "scenarios": counts,
        "attempts": [f.name for f in folders], "unit": unit.serial, "station": unit.station})
    if idents[last.name].get("finished"):
        identity["finished"] = idents[last.name]["finished"]
    if differ:
        identity[runs.ATTEMPTS_DIFFER] = differ
    shown = _setup(measured[-1], identity, unit.station)["simulated"] if measured else ()  # the banner's own
    simulated = sorted({f"run {name}: {why}" for name, st in setups.items() for why in st["simulated"]
                        if why not in shown})
    if simulated:
        identity[runs.SIMULATED_ATTEMPTS] = simulated
    runs.write_json(runs.identity_file(target), identity)
    verdicts = runs.read_json(last / "verdicts.json")
    runs.write_json(target / "verdicts.json", {
        **{k: v for k, v in verdicts.items()
           if k not in ("results", "scenarios", "run", "status", "status.reason", "exit code", "finished")},
        **{k: identity[k] for k in ("bench", "bench.kind", "faults", "finished") if k in identity},
        "run": identity["run"], "status": identity["status"], "status.reason": identity["status.reason"],
        "verdict": _overall(results, complete), "scenarios": counts, "results": results,
        **({runs.NO_LONGER_SELECTED: apart} if apart else {})})
    for folder in reversed(folders):  # the newest proof of the device, and feature matrix, of the unit
        if (folder / "boot").is_dir():
            shutil.copytree(folder / "boot", target / "boot")
            break
    for folder in reversed(folders):
        for name in ("feature-matrix.json", "feature-matrix.csv"):
            if (folder / name).exists() and not (target / name).exists():
                shutil.copy2(folder / name, target / name)
    return target


def _selection(folders: list[Path]) -> tuple[set[str] | None, set[str]]:
    """What the campaign selects now: the scenarios the newest attempt that wrote down its selection collected
    (_KeepDone), and the attempts that selection decides for (that one and every earlier one: what a later
    attempt ran was collected since). (None, {}) when no attempt wrote one down (a campaign run before
    attempts did): every result counts, as it did then."""
    for i in range(len(folders) - 1, -1, -1):
        said = runs.read_json(folders[i] / DONE_FILE).get(SELECTED)
        if isinstance(said, list):
            return {str(n) for n in said}, {f.name for f in folders[:i + 1]}
    return None, set()


def _overall(results: list[dict[str, Any]], complete: bool) -> str:
    if not complete:
        return "incomplete"
    if not results:
        return "none"
    verdicts = {r.get("verdict") for r in results}
    return next((v for v in ("failed", "broken") if v in verdicts), "passed")


def _setup(folder: Path, identity: dict[str, Any], station: str) -> dict[str, Any]:
    """What an attempt measured with: the bench, the charger as its BootNotification named itself, each
    instrument as it identified itself (the part of its answer that names it: not the twin's port numbers)."""
    from runner.summary import boot

    out: dict[str, Any] = {"bench": f"{identity.get('bench', '?')} ({identity.get('bench.kind', '?')})",
                           "faults": str(identity.get("faults") or "none")}
    cs = boot.read_all(folder).get(station, {}).get("chargingStation") or {}
    if cs:
        out["charger"] = (f"{cs.get('vendorName', '?')} {cs.get('model', '?')}, serial {cs.get('serialNumber', '?')}, "
                          f"firmware {cs.get('firmwareVersion', '?')}")
    for key, said in sorted((identity.get("instruments") or {}).items()):
        out[f"instrument {key}"] = str(said).split(" (", 1)[0]
    out["simulated"] = tuple(w for w in (
        "twin bench" if identity.get("bench.kind") == "twin" else "",
        f"fault injected: {identity['faults']}" if identity.get("faults") else "") if w)
    return out


def _differences(setups: dict[str, dict[str, Any]]) -> list[str]:
    """Each aspect of the setup on which the attempts whose results are merged differ, naming the attempts.
    A charger that did not identify itself in an attempt differs from one that did: its results' device is
    unknown."""
    out: list[str] = []
    aspects = sorted({k for st in setups.values() for k in st if k != "simulated"} | {"charger"})
    for aspect in aspects:
        seen: dict[str, list[str]] = {}
        for name, st in setups.items():
            seen.setdefault(str(st.get(aspect, "not identified")), []).append(name)
        if len(seen) > 1:
            out.append(f"{aspect}: " + "; ".join(f"{value} (run {', '.join(names)})" for value, names in seen.items()))
    return out


def finish(camp: Campaign, *, interrupted: bool = False, refused: bool = False) -> int:
    """Merge each unit's attempts, make its acceptance summary, write the campaign overview; the exit code."""
    from runner import summary
    from runner.exitcodes import RunExit, Tally, decide
    from runner.summary.model import simulation_banner

    rows: list[dict[str, Any]] = []
    failed = broken = 0
    unfinished: list[str] = []  # units whose merged run is not complete: killed, crashed, never started
    judged = no_summary = False
    for unit in camp.units:
        merged = merge(unit)
        row: dict[str, Any] = {"unit": unit.serial, "station": unit.station,
                               "attempts": [f.name for f in attempts(unit)]}
        if merged is None:
            row.update(verdict="NOT RUN", scenarios={}, results=[])
            rows.append(row)
            unfinished.append(unit.serial)
            continue
        data = runs.read_json(merged / "verdicts.json")
        failed += data["scenarios"]["failed"]
        broken += data["scenarios"]["broken"]
        judged = judged or bool(data["results"])
        if data["status"] != runs.COMPLETE:
            unfinished.append(unit.serial)
        # the banner of the unit's summary, said wherever its verdict is (console, overview), summary or not
        row["simulation"] = simulation_banner(runs.read_identity(merged))
        for name in (summary.HTML_NAME, summary.PDF_NAME):  # an earlier invocation's: not this verdict's
            (unit.folder / name).unlink(missing_ok=True)
        try:
            files = summary.build(merged, unit.folder)
            row.update(verdict=files.verdict, summary_html=str(files.html), summary_pdf=str(files.pdf))
        except Exception as e:  # the merged verdicts stand; only the summary is missing
            row.update(verdict="no summary", error=str(e))
            no_summary = True
        row.update(scenarios=data["scenarios"], status=data["status"], results=[
            {"spec": r.get("spec"), "scenario": r.get("scenario"), "verdict": r.get("verdict"),
             "attempts": r.get("attempts", [])} for r in data["results"]])
        if data.get(runs.NO_LONGER_SELECTED):  # listed apart in the overview, as in the summary: not counted
            row[runs.NO_LONGER_SELECTED] = [{k: r.get(k) for k in ("spec", "scenario", "verdict", "run")}
                                            for r in data[runs.NO_LONGER_SELECTED]]
        if data["status"] != runs.COMPLETE:
            row["status.reason"] = data.get("status.reason", "")
        rows.append(row)
    overview = {"campaign": camp.name, "file": str(camp.path), "bench": str(camp.bench), "units": rows}
    runs.write_json(camp.out / OVERVIEW_JSON, overview)
    (camp.out / OVERVIEW_HTML).write_text(render_overview(overview), encoding="utf-8")
    print(f"\nCampaign {camp.name!r}")
    for row in rows:
        counts = ", ".join(f"{n} {v}" for v, n in (row.get("scenarios") or {}).items())
        print(f"  unit {row['unit']} (station {row['station']}): {_verdict(row)}; {counts or 'no scenario'}; "
              f"{len(row['attempts'])} attempt(s)" + (f"; summary {row['summary_html']}" if "summary_html" in row
                                                        else "")
              + (f"; run {row['status']}: {row['status.reason']}" if row.get("status.reason") else ""))
    print(f"Campaign overview: {(camp.out / OVERVIEW_HTML).resolve()}")
    # The code a single run over the merged results would have (runner/exitcodes.py). A unit whose run did not
    # finish without a signal that stopped the campaign (killed, crashed: the rest of its scenarios never ran)
    # is no pass, whatever it ran before: the bench could not judge the rest. Nothing selected at all: 5.
    # A summary that could not be made: 6 (the verdicts are in the merged folders).
    status = (RunExit.BENCH_BROKEN if unfinished else RunExit.NO_SPECS if not judged
              else RunExit.NO_REPORT if no_summary else RunExit.PASSED)
    code = decide(int(status), Tally(failed=failed, broken=broken, interrupted=interrupted, refused=refused))
    return int(code)


def _verdict(row: dict[str, Any]) -> str:
    """A unit's verdict as its summary says it: with the simulation banner on a twin or with a fault knob."""
    return str(row["verdict"]) + (f" — {row['simulation']}" if row.get("simulation") else "")


def render_overview(overview: dict[str, Any]) -> str:
    """The campaign overview: one table of units, then each unit's scenarios with every attempt."""
    e = html.escape
    simulated = sorted({str(row["simulation"]) for row in overview["units"] if row.get("simulation")})
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           f"<title>Campaign {e(overview['campaign'])}</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
           "td,th{border:1px solid #999;padding:3px 8px;text-align:left}.failed{color:#b00}.broken{color:#a60}"
           ".passed{color:#070}.banner{background:#c00;color:#fff;font-weight:bold;text-align:center;padding:4px}"
           "</style></head><body>",
           *(f"<div class='banner'>{e(b)}</div>" for b in simulated),
           f"<h1>Campaign {e(overview['campaign'])}</h1><p>Campaign file {e(overview['file'])}; bench "
           f"{e(overview['bench'])}</p>",
           "<table><tr><th>unit</th><th>station</th><th>verdict</th><th>scenarios</th><th>attempts</th>"
           "<th>acceptance summary</th></tr>"]
    for row in overview["units"]:
        counts = ", ".join(f"{n} {v}" for v, n in (row.get("scenarios") or {}).items())
        summary_cell = ""
        if "summary_html" in row:
            rel = f"{unit_folder_name(row['unit'])}/{Path(row['summary_html']).name}"
            summary_cell = f"<a href='{e(rel)}'>HTML</a>, <a href='{e(rel[:-4] + 'pdf')}'>PDF</a>"
        out.append(f"<tr><td>{e(row['unit'])}</td><td>{e(row['station'])}</td><td>{e(_verdict(row))}</td>"
                   f"<td>{e(counts)}</td><td>{len(row['attempts'])}</td><td>{summary_cell}</td></tr>")
    out.append("</table>")
    for row in overview["units"]:
        out.append(f"<h2>Unit {e(row['unit'])} at station {e(row['station'])}</h2>")
        out.append("<table><tr><th>spec</th><th>scenario</th><th>final verdict</th><th>attempts</th></tr>")
        for r in row.get("results") or []:
            tries = "; ".join(f"{t['run']}: {t['verdict']}" for t in r.get("attempts") or [])
            v = str(r.get("verdict"))
            out.append(f"<tr><td>{e(str(r.get('spec')))}</td><td>{e(str(r.get('scenario')))}</td>"
                       f"<td class='{e(v)}'>{e(v)}</td><td>{e(tries)}</td></tr>")
        out.append("</table>")
        apart = row.get(runs.NO_LONGER_SELECTED) or []
        if apart:
            out.append("<p>Not counted: results of earlier attempts for scenarios the campaign no longer selects "
                       "(renamed, deleted or deselected since): " + e("; ".join(
                           f"{r.get('spec')} · {r.get('scenario')}: {r.get('verdict')} (run {r.get('run')})"
                           for r in apart)) + "</p>")
    out.append("</body></html>")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(unit_main(sys.argv[1:]))
