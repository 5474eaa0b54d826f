"""Open-source EV simulators with the single-character A/B/C/D protocol, driver name ``abcd-ev``.

The protocol (9600 baud, 8N1, no flow control, any pyserial URL):

- Host -> simulator: one character, ``A``, ``B``, ``C`` or ``D``, with no line end: the IEC 61851-1 pilot
  state the simulated EV presents. There is no reply.
- Simulator -> host: about once a second, a text line ending in ``\\n`` (``\\r\\n`` is fine) reporting the
  pilot duty it measures. The driver finds the duty in a line by either of two forms, case-insensitive,
  anywhere in the line, spaces allowed around the separator, an optional ``%`` after the number:
  ``duty=53.3`` (also ``duty: 53.3``) or ``D:53.3``. Examples: ``duty=53.3``, ``D:53.3``,
  ``state=C duty=26.7%``, ``[ev] D: 100``.
- Noise is tolerated: lines without a duty (banners, state echoes, debug prints), duties outside 0..100,
  and lines that are not ASCII (a glitch at power-up) are skipped and counted in :attr:`AbcdEv.noise`.

    ev = create("abcd-ev", name="ev", address="/dev/ttyACM0")
    ev.open(); ev.set_state("C")
    ev.read_pwm()        # PwmReading(duty_percent=26.7, frequency_hz=None, t=...): no frequency is reported

`read_pwm` returns the latest report if it is younger than ``stale_s`` (real seconds, default 2.5: the
simulator reports once a real second), else waits up to ``timeout_s`` for the next one. A report's age counts
from when it can first have arrived: one found already waiting in the buffer is as old as the last moment
the driver saw the line empty (a simulator that hung long ago leaves its last report there, and reading it
late must not make it fresh); one the driver waited for is as old as its arrival. The reading's `t` is that
bench time, the report's, not the time `read_pwm` was called: a report returned again is the same reading,
with the same `t`. There is no
identification command, no cable, load or follow-the-pilot control: those calls raise
:class:`InstrumentUnsupported`. Options: ``timeout_s``, ``reconnect_attempts``, ``baudrate`` (9600),
``stale_s``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

from instruments.base import PwmReading
from instruments.clock import Clock
from instruments.errors import (
    InstrumentConfigError,
    InstrumentProtocolError,
    InstrumentTimeout,
    InstrumentUnsupported,
)
from instruments.registry import register
from instruments.serial_ev import SerialEvEmulator

STATES = ("A", "B", "C", "D")
_DRAIN_S = 0.05  # real seconds to finish a line whose first bytes are already waiting
# "duty=53.3", "duty: 53.3", "D:53.3"; not the "D" of another word ("ID:3", "PWMD:2").
_DUTY = re.compile(r"(?<![A-Za-z0-9_])(?:duty\s*[=:]|D\s*:)\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*%?",
                   re.IGNORECASE)


@dataclass(frozen=True)
class DutyReport:
    """One duty report; `t` is bench seconds and `real_t` monotonic real seconds when it was read."""

    t: float
    real_t: float
    duty_percent: float
    raw: str


def parse_duty(line: str) -> float | None:
    """The duty in one report line, or None if the line carries none (or an impossible one)."""
    m = _DUTY.search(line)
    if m is None:
        return None
    duty = float(m.group(1))
    return duty if 0.0 <= duty <= 100.0 else None


@register("abcd-ev")
class AbcdEv(SerialEvEmulator):
    extra_options: ClassVar[Mapping[str, Any]] = {"baudrate": 9600, "stale_s": 2.5}

    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(name, address, clock, **options)
        stale = self.opts.extra["stale_s"]
        if not isinstance(stale, int | float) or isinstance(stale, bool) or not stale > 0:
            raise InstrumentConfigError(name, address, f"option stale_s must be a positive number of real "
                                                       f"seconds, got {stale!r}")
        self.stale_s = float(stale)
        self.last_report: DutyReport | None = None
        self.last_line: str | None = None  # the last line received, report or not
        self.noise = 0
        self.state: str | None = None  # the last state sent (the simulator does not confirm it)
        self._quiet_at = time.monotonic()  # real time the line was last seen with nothing waiting

    def open(self) -> None:
        super().open()
        self._quiet_at = time.monotonic()

    def identify(self) -> str:
        self._require_open()
        return f"abcd-ev single-character EV simulator at {self.address} (it has no identification command)"

    # -- reports -------------------------------------------------------------------------------------------

    def _take(self, deadline: float) -> None:
        """Read one line and keep it if it is a report."""
        # A line already waiting arrived at some time since the line was last seen empty: take the
        # earliest, so that its age is never understated. One waited for arrives now.
        waiting = self.link.has_input()
        since = self._quiet_at
        try:
            line = self.link.read_line(deadline)
        except InstrumentTimeout:
            if not self.link.has_input():
                self._quiet_at = time.monotonic()  # nothing complete came until the deadline
            raise
        except InstrumentProtocolError:
            self.noise += 1  # not ASCII or endless: the line is already discarded
            return
        now = time.monotonic()
        arrived = since if waiting else now
        if not self.link.has_input():
            self._quiet_at = now
        self.last_line = line
        duty = parse_duty(line)
        if duty is None:
            if line.strip():
                self.noise += 1
            return
        self.last_report = DutyReport(t=self.clock.now() - self.clock.bench(now - arrived), real_t=arrived,
                                      duty_percent=duty, raw=line)

    def poll(self) -> DutyReport | None:
        """Take in every complete line waiting; returns the latest report."""
        self._require_open()

        def drain() -> None:
            if not self.link.has_input():
                self._quiet_at = time.monotonic()
            while self.link.has_input():
                try:
                    # A short deadline: take what is there, never wait for the next report here.
                    self._take(time.monotonic() + _DRAIN_S)
                except InstrumentTimeout:
                    return  # only part of a line is there yet

        self.link.run(self.last_command or "(reading reports)", drain)
        return self.last_report

    def _fresh(self) -> bool:
        return self.last_report is not None and time.monotonic() - self.last_report.real_t <= self.stale_s

    def read_pwm(self) -> PwmReading:
        self._require_open()
        self.poll()

        def wait() -> DutyReport:
            deadline = self.link.deadline()
            while not self._fresh():
                try:
                    self._take(deadline)
                except InstrumentTimeout:
                    seen = f"{self.noise} line(s) without a duty, the last {self.last_line!r}" \
                        if self.noise else "nothing"
                    if self.last_report is not None:
                        age = time.monotonic() - self.last_report.real_t
                        seen += (f"; the last report, {self.last_report.raw!r}, is {age:.1f} s old, more than "
                                 f"stale_s {self.stale_s:g} s")
                    raise InstrumentTimeout(
                        self.name, self.address,
                        f"no duty report within {self.opts.timeout_s:g} s (received {seen}); check the baud "
                        f"rate ({self.link.baudrate}) and that the simulator prints 'duty=<percent>' or "
                        "'D:<percent>' lines", last_command=self.last_command) from None
            assert self.last_report is not None
            return self.last_report

        report = self.link.run(self.last_command or "(waiting for a duty report)", wait)
        return PwmReading(duty_percent=report.duty_percent, frequency_hz=None, t=report.t)

    # -- EvEmulator ----------------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        s = state.strip().upper()
        if s not in STATES:
            self._unsupported(f"set pilot state {state!r}", "it takes states A, B, C and D only")
        self._require_open()
        self.link.run(s, lambda: self.link.send_raw(s.encode("ascii")))
        self.state = s

    def set_cable(self, ohms: float | None) -> None:
        self._unsupported("set the proximity (PP) resistor", "its cable is fixed in hardware")

    def set_current(self, amps: float, phases: int = 3) -> None:
        self._unsupported("set the current the EV draws", "it simulates the pilot only, no load")

    def follow_pilot(self, enabled: bool, lag_s: float = 5.0) -> None:
        self._unsupported("follow the pilot", "it simulates the pilot only, no load")

    def _unsupported(self, what: str, why: str) -> NoReturn:
        raise InstrumentUnsupported(
            self.name, self.address,
            f"this emulator (abcd-ev, the single-character A/B/C/D protocol) cannot {what}: {why}; use an "
            "emulator with the chargespec-ev protocol for this spec", last_command=self.last_command)
