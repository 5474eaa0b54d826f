"""The state of one running scenario: its station, windows, last CSMS outcome, trial results, and the
originals of what it changed on the charger (restored by the return to idle)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from dsl.plan import ScenarioPlan, Source
from instruments.clock import Clock
from runner.bench_session import BenchSession, Station, recording_failed
from runner.csms.harness import CsmsHarness
from runner.measurements import Measurement
from runner.recorder import Recorder
from runner.restore import Changes


@dataclass
class Window:
    name: str
    start: float
    end: float | None = None
    until: str | None = None
    source: Source | None = None


@dataclass
class ScenarioRun:
    plan: ScenarioPlan
    session: BenchSession
    station: Station
    windows: dict[str, Window] = field(default_factory=dict)
    # the harness's CallOutcome of the last call a statement made (`csms sends`, `csms sets …`, `session starts`
    # and `stops`); calls the runner makes on its own (window-edge triggers, device-model reads) are not one
    last_outcome: Any = None
    last_action_t: float = 0.0
    trials: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # time-to-comply and other measured figures
    measurements: list[Measurement] = field(default_factory=list)  # one per judged expectation (runner.judge)
    changes: Changes = field(default_factory=Changes)  # variables, availability, profiles it changed
    remembered: dict[str, Any] = field(default_factory=dict)  # `remember … as "name"` (runner.judge.remember)
    # (previous action's t, t of the last connection attempt a connection statement judged) (network_steps)
    connection_cursor: tuple[float, float] | None = None
    action: Any = None  # the plan.Action being run (a step names itself in what it records)
    # Wraps each step (the pytest plugin makes it an Allure step); a no-op by default.
    step_context: Callable[[Any], AbstractContextManager[None]] = lambda _step: contextlib.nullcontext()
    # Shows each record where the step is shown (the plugin attaches it to the Allure step); a no-op by default.
    on_measured: Callable[[Measurement], None] = lambda _m: None
    # Stations the scenario's lines name (`on station B`; dsl/stations.py), by the name written; each with
    # what the scenario changed on it (restored by its own return to idle). Filled by runner.execute.
    named: dict[str, Station] = field(default_factory=dict)
    other_changes: dict[str, Changes] = field(default_factory=dict)  # by station id, the default's excepted

    def __post_init__(self) -> None:
        # `remembered "bench.csmsUrl"` and the other bench values (runner/bench_values.py) from the start.
        if self.session.harness is not None and not self.remembered:
            from runner.bench_values import bench_values

            self.remembered.update(bench_values(self.session.config.csms, self.session.harness))

    def station_for(self, name: str | None) -> Station:
        """The station a line names (None: the scenario's own)."""
        return self.station if name is None else self.named[name]

    @contextlib.contextmanager
    def on_station(self, name: str | None) -> Iterator[None]:
        """Run a line against the station it names: the steps see it as `run.station`, and what they change
        is kept with that station's changes."""
        if name is None or self.named[name] is self.station:
            yield
            return
        home, home_changes = self.station, self.changes
        other = self.named[name]
        self.station, self.changes = other, self.other_changes.setdefault(other.id, Changes())
        try:
            yield
        finally:
            self.station, self.changes = home, home_changes

    @property
    def clock(self) -> Clock:
        return self.session.clock

    @property
    def recorder(self) -> Recorder:
        return self.session.recorder

    @property
    def harness(self) -> CsmsHarness:
        assert self.session.harness is not None, "the bench session is not open"
        return self.session.harness

    def run(self, coro: Coroutine[Any, Any, Any], *, bench_timeout: float, what: str) -> Any:
        return self.session.run(coro, bench_timeout=bench_timeout, what=what)

    def check_bench(self, source: Source | None = None) -> None:
        """Raise the first instrument fault a background sampler hit: the scenario is broken."""
        broken = [st.broken[0] for st in (self.station, *self.named.values()) if st.broken]
        if broken:
            raise recording_failed(source, broken[0], self.recorder.t_begin)

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.recorder.event("note", text=text)

    def measured(self, m: Measurement) -> None:
        """Keep a judged expectation's record: in the events file at once, and in the evidence folder's
        measurements.json, rewritten each time (a killed run keeps every record made before it)."""
        from runner import measurements

        self.measurements.append(m)
        self.recorder.event("measurement", line=m.line, verdict=m.verdict, criterion=m.criterion,
                            observed=m.observed.text if m.observed else None,
                            limit="; ".join(f"{lim.op} {lim.text}" for lim in m.limits) or None,
                            margin=m.margin.value if m.margin else None, message=m.message)
        if m.verdict != "passed":  # the measured figures hold the failing result too
            self.notes.append(f"line {m.line}: {m.verdict}: {m.message}")
        directory = self.recorder.directory
        if directory is not None:
            measurements.write(directory, self.measurements)
        with contextlib.suppress(Exception):  # a report's convenience; the files above are the evidence
            self.on_measured(m)

    def judging(self, provisional: Measurement) -> None:
        """An expectation is being judged: on disk it stands as `provisional` (broken, "did not finish")
        until :meth:`measured` replaces it, so a run killed during a 10-minute hold still names the hold."""
        from runner import measurements

        directory = self.recorder.directory
        if directory is not None:
            measurements.write(directory, [*self.measurements, provisional])
