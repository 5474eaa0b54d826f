"""Interrupted runs never pass: SIGINT, SIGTERM and SIGHUP stop the scenario that is running, and say where.

The plugin installs a :class:`SignalGuard` for the session. A signal while a scenario runs raises
:class:`RunInterrupted` in the main thread (where pytest runs the scenario), wherever the scenario waits;
the step tracker (:class:`StepTracker`, wrapped around every step) remembers which step was running and
since when on the bench clock, so the scenario is reported *broken* with

    interrupted by SIGINT at `specs/x.spec:17` (`expect for 60 s: ...`) after 43.2 s of the 60 s hold

A signal while a scenario is being reported (after its steps ran) only asks the session to stop before the
next one: a scenario that finished keeps the verdict it earned. A second signal always interrupts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from runner.errors import BenchError, shown_file

# A hang-up (the terminal or the SSH session closed, `kill -HUP`) stops a run as SIGTERM does: written up,
# not killed where it stands (its default).
SIGNALS = (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()))


class RunInterrupted(KeyboardInterrupt):
    """A signal stopped the run; a KeyboardInterrupt, so that code not ours unwinds as it does for Ctrl-C."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


class ScenarioInterrupted(BenchError):
    """The verdict of a scenario a signal stopped: broken (the bench did not finish judging), never passed."""


@dataclass(frozen=True)
class Interruption:
    signame: str  # "SIGINT" | "SIGTERM" | "SIGHUP" | "KeyboardInterrupt" (raised by other means)
    where: str  # "at `x.spec:17` (`expect for 60 s: ...`) after 43.2 s of the 60 s hold"


def describe_step(step: Any, elapsed_s: float | None) -> str:
    """`at `file:line` (`text`) after 43.2 s of the 60 s hold` for the step a signal stopped."""
    source = getattr(step, "source", None)
    text = getattr(step, "text", "") or (source.text.strip() if source is not None else "")
    place = f"`{shown_file(source.file)}:{source.line}`" if source is not None else "an unknown line"
    out = f"at {place}" + (f" (`{text}`)" if text else "")
    if elapsed_s is None:
        return out
    out += f" after {elapsed_s:.1f} s"
    own = _own_duration(step)
    return out + (f" of the {own}" if own else "")


def _own_duration(step: Any) -> str | None:
    """The step's own length where it has one: the 60 s hold, the 15 s budget, the 10 min window."""
    kind = type(step).__name__
    duration = getattr(step, "duration", None) or getattr(step, "within", None)
    if duration is None and kind == "Action":
        duration = (getattr(step, "args", None) or {}).get("duration")
    text = getattr(duration, "text", None)
    if not text:
        return None
    noun = {"ExpectFor": "hold", "ExpectWithin": "budget", "ExpectMessage": "budget", "Measure": "window",
            "ExpectNoMessage": "watch", "Action": "wait"}.get(kind, "duration")
    return f"{text} {noun}"


class StepTracker:
    """Remembers the innermost running step and its start on the bench clock, and the first one a signal
    stopped (teardown steps that run afterwards must not overwrite where the interruption happened)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._stack: list[tuple[Any, float]] = []
        self.stopped: str | None = None

    @contextlib.contextmanager
    def step(self, step: Any) -> Iterator[None]:
        self._stack.append((step, self._now()))
        try:
            yield
        except KeyboardInterrupt:
            if self.stopped is None:
                self.stopped = self.where()
            raise
        finally:
            self._stack.pop()

    def where(self) -> str:
        if not self._stack:
            return "between steps"
        step, t0 = self._stack[-1]
        try:
            elapsed: float | None = self._now() - t0
        except Exception:  # the clock is part of a bench that may be going down
            elapsed = None
        return describe_step(step, elapsed)


class SignalGuard:
    """Installs SIGINT/SIGTERM/SIGHUP handlers for a session (main thread only) and restores the previous ones."""

    def __init__(self, on_deferred_signal: Callable[[str], None]) -> None:
        self._on_deferred_signal = on_deferred_signal
        self._previous: dict[int, Any] = {}
        self.defer = False  # set while a scenario that already ran is being reported
        self.received: str | None = None  # the first signal's name

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = self.received is None
        if first:
            self.received = name
        if self.defer and first:
            self._on_deferred_signal(name)
            return
        raise RunInterrupted(name)
