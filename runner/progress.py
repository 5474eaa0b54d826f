"""Live progress during long steps: what runs, how long the current window has left, what the bench reads.

A 30-minute session at real time is one pytest dot for 30 minutes; this says, while it runs:

    [progress] Session energy › 30-minute session › line 9 `measure "session" for 30 min`: 412 s of 1800 s,
      1388 s left | P 3.68/3.68/3.68 kW | I 16.0/16.0/16.0 A | limit 16.0 A (pilot 26.7 %) | energy 0.42 kWh

A rich live status line on a terminal (``--progress=auto`` or ``rich``); plain lines like the one above otherwise
(CI, logs: ``plain``), one every ``--progress-every`` bench seconds (default :data:`PLAIN_EVERY_S`) while a
step has run at least that long, so short steps print nothing.

It never slows the sampler: a thread of its own reads the newest value the recorder already holds for each
signal (``Recorder.last``, a lookup under the recorder's lock) a few times a real second, and writes to the
process's own stdout, kept before pytest's capture began. Nothing here queries an instrument.
The current step is the newest ``step`` event the scenario recorded (runner/execute.py); its own duration
(the hold, the budget, the window) comes from the scenario's plan.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

PLAIN_EVERY_S = 5.0      # bench seconds between plain lines during a long step
_POLL_REAL_S = 0.1       # real seconds between looks at the recorder
_RICH_REFRESH_REAL_S = 0.5
_FRESH_S = 10.0          # bench seconds a reading stays worth showing
_OVERRUN_S = 2.0         # bench seconds past its own duration after which a step counts as over
PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True)
class Status:
    """What the display shows at one moment (bench seconds)."""
    spec: str
    scenario: str
    step: str = ""             # `line 9 \`measure ...\``
    elapsed_s: float | None = None
    duration_s: float | None = None
    readings: str = ""

    def text(self) -> str:
        """The status in one line, secrets masked (a step may name a token: runner/redact.py)."""
        from runner import redact

        return redact.text(self._text())

    def _text(self) -> str:
        head = f"{self.spec} › {self.scenario}"
        if not self.step:
            return f"{head} › starting"
        out = f"{head} › {self.step}"
        if self.elapsed_s is not None:
            if self.duration_s:
                left = max(self.duration_s - self.elapsed_s, 0.0)
                out += f": {self.elapsed_s:.0f} s of {self.duration_s:.0f} s, {left:.0f} s left"
            else:
                out += f": {self.elapsed_s:.0f} s"
        return out + (f" | {self.readings}" if self.readings else "")


def step_index(plan: Any) -> dict[int, Any]:
    """The scenario's steps by line (setup, body, teardown, repeat bodies)."""
    out: dict[int, Any] = {}

    def walk(steps: Iterable[Any]) -> None:
        for s in steps:
            src = getattr(s, "source", None)
            if src is not None:
                out.setdefault(src.line, s)
            walk(getattr(s, "body", ()) or ())

    for part in ("setup", "steps", "teardown"):
        with contextlib.suppress(Exception):  # a lazily loaded plan that cannot load: no durations shown
            walk(getattr(plan, part, ()) or ())
    return out


def own_duration_s(step: Any) -> float | None:
    """The step's own length in bench seconds: the hold, the budget, the window, the wait."""
    d = getattr(step, "duration", None) or getattr(step, "within", None)
    args = getattr(step, "args", None)
    if d is None and isinstance(args, Mapping):
        d = args.get("duration")
    try:
        return float(d.value) if d is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _fmt(values: list[float | None], scale: float, digits: int) -> str:
    return "/".join("—" if v is None else f"{v * scale:.{digits}f}" for v in values)


def readings(recorder: Any, now: float) -> str:
    """Power and current per phase, the active limit (the current the pilot offers), pilot duty, energy."""

    def fresh(key: str) -> float | None:
        last = recorder.last(key)
        if last is None or last[1] is None or now - last[0] > _FRESH_S:
            return None
        try:
            return float(last[1])
        except (TypeError, ValueError):
            return None

    parts: list[str] = []
    power = [fresh(f"analyzer.power.{ph}") for ph in PHASES]
    current = [fresh(f"analyzer.current.{ph}") for ph in PHASES]
    if any(v is not None for v in power):
        parts.append(f"P {_fmt(power, 1e-3, 2)} kW")
    if any(v is not None for v in current):
        parts.append(f"I {_fmt(current, 1.0, 1)} A")
    offered, duty = fresh("ev.offered_current"), fresh("ev.pwm_duty")
    if offered is not None or duty is not None:
        limit = "—" if offered is None else f"{offered:.1f} A"
        parts.append(f"limit {limit}" + (f" (pilot {duty * 100:.1f} %)" if duty is not None else ""))
    energy = fresh("analyzer.energy")
    if energy is not None:
        parts.append(f"energy {energy / 1000:.3f} kWh")
    return " | ".join(parts)


class Watcher:
    """Follows one scenario on an open bench; `status()` is what runs now."""

    def __init__(self, spec: str, scenario: str, plan: Any, bench: Callable[[], Any]) -> None:
        self.spec, self.scenario, self.plan = spec, scenario, plan
        self._bench = bench
        self._steps: dict[int, Any] | None = None
        # The scenario's start on the bench clock: step events before it are an earlier scenario's. A bench
        # not open yet opens within this scenario, so everything it records belongs to it.
        session = bench()
        self._since = session.clock.now() if session is not None else float("-inf")

    def status(self) -> tuple[Status, float | None]:
        """(the status, the bench time now) — None for the time while the bench is not open yet."""
        session = self._bench()
        if session is None:
            return Status(self.spec, self.scenario), None
        now = session.clock.now()
        rec = session.recorder
        steps = [e for e in rec.events("step") if e.get("t", 0.0) >= self._since - 1e-9]
        if not steps:
            return Status(self.spec, self.scenario, readings=readings(rec, now)), now
        ev = steps[-1]
        if self._steps is None:
            self._steps = step_index(self.plan)
        line = ev.get("line")
        text = str(ev.get("text") or "")
        step = f"line {line} `{text}`" if text else f"line {line}"
        duration = own_duration_s(self._steps.get(line)) if isinstance(line, int) else None
        elapsed = now - float(ev["t"])
        if duration is not None and elapsed > duration + _OVERRUN_S:
            # the step has ended: the scenario is being judged, torn down or brought back to idle
            return Status(self.spec, self.scenario, f"after line {line} (finishing)",
                          readings=readings(rec, now)), now
        return Status(self.spec, self.scenario, step, elapsed, duration, readings(rec, now)), now


class Display:
    """A thread that shows a Watcher's status until stopped: plain lines or a rich live panel."""

    def __init__(self, watcher: Watcher, write: Callable[[str], None], *, rich: Any = None,
                 every_s: float = PLAIN_EVERY_S) -> None:
        self.watcher = watcher
        self.write = write
        self.rich = rich  # a callable taking the status text (rich mode), or None (plain lines)
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chargespec-progress", daemon=True)
        self.lines = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        last_step: Any = None
        next_due: float | None = None
        last_rich = 0.0
        first = True
        while not self._stop.wait(_POLL_REAL_S):
            try:
                status, now = self.watcher.status()
            except Exception:  # the bench is closing, or not open: nothing to show this time
                continue
            if self.rich is not None:
                last_rich += _POLL_REAL_S
                if last_rich >= _RICH_REFRESH_REAL_S:
                    last_rich = 0.0
                    with contextlib.suppress(Exception):
                        self.rich(status.text())
                continue
            if now is None or status.elapsed_s is None:
                continue
            key = (status.step, round(now - status.elapsed_s, 6))
            if key != last_step:  # a new step: its first line after `every_s` of it
                last_step, next_due = key, now - status.elapsed_s + self.every_s
            if next_due is not None and now >= next_due:
                with contextlib.suppress(Exception):
                    # the first line of a scenario starts on a line of its own, after pytest's file name
                    self.write(("\n" if first else "") + f"[progress] {status.text()}")
                    first = False
                    self.lines += 1
                while next_due <= now:  # on the bench-time grid: a slow look skips a line, never bunches them
                    next_due += self.every_s


_terminal_key = pytest.StashKey[Any]()


def keep_terminal(early_config: pytest.Config) -> None:
    """Before pytest captures the output (runner/plugin.py calls this first thing), keep a file on the
    process's own stdout: progress is written there from its own thread, never through pytest's capture
    (suspending the capture from a second thread would race with pytest's own suspending and resuming)."""
    ns = getattr(early_config, "known_args_namespace", None)
    if getattr(ns, "chargespec_progress", "off") in (None, "off"):
        return
    with contextlib.suppress(Exception):
        fd = os.dup(sys.stdout.fileno())
        early_config.stash[_terminal_key] = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
        early_config.add_cleanup(early_config.stash[_terminal_key].close)


class ProgressPlugin:
    """Registered by runner/plugin.py with --progress: a display for each scenario's call phase."""

    def __init__(self, config: pytest.Config, bench_of: Callable[[pytest.Config], Any]) -> None:
        self.config = config
        self.bench_of = bench_of
        self.out = config.stash.get(_terminal_key, None) or sys.__stdout__
        mode = config.option.chargespec_progress
        tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.rich = mode == "rich" or (mode == "auto" and tty)
        self.every_s = config.option.chargespec_progress_every or PLAIN_EVERY_S

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        plan, spec = getattr(item, "plan", None), getattr(item, "spec", None)
        if plan is None or spec is None:
            return (yield)
        watcher = Watcher(spec.title, plan.name, plan, lambda: self.bench_of(self.config))
        live = _Live(self.out) if self.rich else None
        display = Display(watcher, self._write, rich=live.show if live else None, every_s=self.every_s)
        display.start()
        try:
            return (yield)
        finally:
            display.stop()
            if live is not None:
                live.close()


class _Live:
    """A live status line on the terminal, redrawn in place (rich markup, cut to the terminal's width); it
    is cleared when the scenario ends, so pytest's own line follows as usual."""

    def __init__(self, out: Any) -> None:
        from rich.console import Console

        try:
            width = os.get_terminal_size(out.fileno()).columns
        except (OSError, AttributeError, ValueError):
            width = 80
        self._console = Console(file=out, force_terminal=True, highlight=False, width=width)
        self._shown = False

    def show(self, text: str) -> None:
        from rich.text import Text

        line = Text("▶ " + text, style="cyan", no_wrap=True, overflow="ellipsis")
        line.truncate(max(self._console.width - 1, 20), overflow="ellipsis")
        self._console.file.write("\r\x1b[2K")
        self._console.print(line, end="")
        self._console.file.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            with contextlib.suppress(Exception):
                self._console.file.write("\r\x1b[2K")
                self._console.file.flush()
