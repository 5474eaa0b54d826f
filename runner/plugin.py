"""The pytest plugin: `pytest specs/` collects `*.spec` files, one item per scenario instance.

Registered through the `pytest11` entry point. Each spec file is parsed and checked by `dsl` at collection
(errors are collection errors, rendered `file:line:col: message` with a caret); each scenario x example row
becomes a :class:`ScenarioItem`. The bench (`--bench`, default the twin) is opened once per process on
the first item that runs and closed at the end of the session.

Verdicts: a criterion not met raises an AssertionError (failed); a bench fault anything else (broken);
an optional feature the charger lacks is a skip.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dsl
from dsl.errors import SpecErrors
from dsl.plan import ScenarioPlan, SpecPlan
from runner.errors import BenchError, ExpectationFailed, NotSupportedByCharger

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
    g.addoption("--evidence", default="out/evidence", help="directory for per-scenario evidence files")


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
        try:
            cfg = load_bench(bench_path, overrides=overrides)
            if faults and cfg.kind != "twin":
                raise BenchError(None, f"--fault only applies to a twin bench; {bench_path} is {cfg.kind!r}")
            s = BenchSession(cfg, faults=faults)
            try:
                s.open()
            except BaseException:
                s.close()
                raise
        except Exception as e:  # every cause of a bench that cannot open is reported alike
            self.error = e
            raise BenchError(None, f"the bench could not be opened: {e}") from e
        self.session = s
        return s

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def bench_session(config: pytest.Config) -> BenchSession | None:
    """The bench this pytest process has opened, or None before the first scenario ran (for lab hooks)."""
    holder = config.stash.get(_session_key, None)
    return holder.session if holder is not None else None


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_session_key] = _BenchHolder(config)
    from runner import redact

    redact.install(config)
    _check_bench_and_options(config)


def _check_bench_and_options(config: pytest.Config) -> None:
    """The bench file and the options that change it, checked completely before anything starts: each
    mistake is a usage error naming the file and key (or the option), never a run of broken scenarios."""
    opt = config.option
    faults = parse_fault_args(opt.fault)
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


_tags_key = pytest.StashKey[set[str]]()


def _registered_tags(config: pytest.Config) -> set[str]:
    if _tags_key not in config.stash:
        config.stash[_tags_key] = set()
    return config.stash[_tags_key]


class SpecCollectError(Exception):
    pass


class SpecFile(pytest.File):
    def collect(self):
        try:
            # lazy: from the plan cache only names and tags; each item reads its steps when it runs.
            plans = dsl.load(self.path, cache_dir=_plan_cache(self.config), lazy=True)
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
            if tag not in known:
                known.add(tag)
                self.config.addinivalue_line("markers", f"{tag}: spec tag")
            # On the spec's node, once: its items inherit it (-m, -k and Allure read markers up the chain).
            self.add_marker(getattr(pytest.mark, tag))
        for sc in self.spec.scenarios:
            yield ScenarioItem.from_parent(self, name=sc.name, plan=sc, spec=self.spec)


class ScenarioItem(pytest.Item):
    def __init__(self, *, plan: ScenarioPlan, spec: SpecPlan, **kw: Any) -> None:
        super().__init__(**kw)
        self.plan = plan
        self.spec = spec

    def runtest(self) -> None:
        from runner import evidence
        from runner.context import ScenarioRun
        from runner.execute import execute

        holder: _BenchHolder = self.config.stash[_session_key]
        evidence.label_scenario(self.spec, self.plan)
        session = holder.get()
        root = Path(self.config.option.evidence)
        directory = root / evidence.slug(self.spec.title) / evidence.slug(self.plan.name)
        session.recorder.begin(directory)
        run = ScenarioRun(self.plan, session, session.station(), step_context=evidence.allure_step)
        try:
            execute(session, self.plan, run)
        except NotSupportedByCharger as e:
            pytest.skip(f"charger lacks an optional feature: {e}")
        finally:
            session.recorder.end()
            with contextlib.suppress(Exception):
                evidence.attach_evidence(run, session.recorder, self.spec)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        e = excinfo.value
        if isinstance(e, ExpectationFailed):
            return f"FAILED (the charger did not meet a criterion)\n{e}"
        if isinstance(e, BenchError):
            return f"BROKEN (a bench fault, not a charger failure)\n{e}"
        return f"BROKEN (unexpected error in the bench or runner)\n{super().repr_failure(excinfo)}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.plan.source.line - 1, f"{self.spec.title} :: {self.plan.name}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    holder: _BenchHolder | None = session.config.stash.get(_session_key, None)
    if holder is None:
        return
    bench = holder.session
    if bench is not None:
        from runner import evidence

        identity: dict[str, Any] = {
            "chargespec": evidence.chargespec_version(),
            "bench": bench.config.name,
            "bench.file": bench.config.path,
            "bench.kind": bench.config.kind,
            "clock.speed": bench.clock.speed,
            **({"faults": ", ".join(f"{k}={v}" for k, v in bench.faults.items())} if bench.faults else {}),
            **bench.charger_identity(),
            "instruments": dict(bench.identity),
            "specs": dict(holder.spec_hashes),
        }
        alluredir = getattr(session.config.option, "allure_report_dir", None)
        worker = getattr(session.config, "workerinput", {}).get("workerid")  # set by pytest-xdist in a worker
        evidence.write_run_identity(Path(alluredir) if alluredir else None,
                                    Path(session.config.option.evidence), identity, worker)
    holder.close()
