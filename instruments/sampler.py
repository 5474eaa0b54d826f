"""Poll the analyzer in the background at its update interval (POLL_FLOOR_REAL_S at least) and hand each
reading to a callback.

    sampler = Sampler(analyzer, clock, on_sample=recorder.sample, on_error=mark_broken)
    sampler.start()
    ...
    sampler.stop()
    if sampler.error: ...          # the first error ended the sampling

Polls run on a fixed grid of bench time (start + k x interval), so the rate does not drift with the time
each query takes; when a poll overruns whole intervals those slots are skipped (counted in `missed`),
never made up in a burst. Each reading is timestamped on the bench clock by the driver. The first error
(an instrument fault, or a callback raising) stops the sampler, is kept in `error` and passed to
`on_error`, so the runner can mark the scenario broken rather than judge on a gap.

With `ev` and `on_pwm`, the EV emulator's pilot PWM is read each interval too: ``on_pwm(reading)``, to be
recorded at ``reading.t``, the bench time the emulator measured it (a report that waited, an answer that
came late), never the time of the poll. A reading is handed on only if it is a fresh sample: newer than the
last one handed on (an emulator that reports once a second returns the same report to several polls) and
no older than `pwm_max_age_s` when it comes in (the longest a sampled signal may go without a sample, as
the judge allows: runner/judge.py). An older one is counted in `pwm_stale`, a repeat in `pwm_repeats`;
neither fills a gap in the record.

`polling_since` is, while a poll is under way, the earliest bench time a reading still to come from it may
carry (the poll's start, or for the PWM the oldest reading it would still take), so a judge knows the record
is not complete past it (runner/judge.py); None between polls.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from instruments.base import AnalyzerReading, EvEmulator, PowerAnalyzer, PwmReading
from instruments.clock import Clock

# The shortest real time between polls. On a physical bench (1x) it is below any analyzer's update interval and
# never counts; on the twin at 60x the analyzer's 0.5 bench s would be 8 ms of real time, faster than a poll
# (an SCPI query and a serial read) takes: the sampler ran flat out, took one core per EVSE from the charger it
# measures, and left gaps wherever the host was loaded. 25 ms (40 polls a real second) is a fixed cadence the
# judge's gap rule (runner/judge.py MAX_GAP_REAL_S, 0.3 s real) holds twelve times over.
POLL_FLOOR_REAL_S = 0.025


def poll_interval_s(update_interval_s: float, speed: float) -> float:
    """Bench seconds between polls of an instrument updated every `update_interval_s` bench seconds, on a clock
    running at `speed`: the update interval, unless that is under POLL_FLOOR_REAL_S of real time.

    >>> poll_interval_s(0.5, 1.0), poll_interval_s(0.5, 60.0)
    (0.5, 1.5)
    """
    return max(update_interval_s, POLL_FLOOR_REAL_S * speed)


class Sampler:
    def __init__(self, analyzer: PowerAnalyzer, clock: Clock,
                 on_sample: Callable[[AnalyzerReading], None], interval_s: float | None = None,
                 ev: EvEmulator | None = None, on_error: Callable[[Exception], None] | None = None,
                 *, on_pwm: Callable[[PwmReading], None] | None = None,
                 pwm_max_age_s: float | None = None) -> None:
        if interval_s is not None and not interval_s > 0:
            raise ValueError(f"sampler interval must be positive bench seconds, got {interval_s!r}")
        if not ((ev is None) == (on_pwm is None) == (pwm_max_age_s is None)):
            raise ValueError("give the sampler ev=, on_pwm= and pwm_max_age_s= to poll the pilot PWM, or none")
        if pwm_max_age_s is not None and not pwm_max_age_s > 0:
            raise ValueError(f"pwm_max_age_s must be positive bench seconds, got {pwm_max_age_s!r}")
        self.analyzer = analyzer
        self.clock = clock
        self.on_sample = on_sample
        self.on_error = on_error
        self.ev = ev
        self.on_pwm = on_pwm
        self.pwm_max_age_s = pwm_max_age_s
        self.last_pwm_t: float | None = None  # the measured time of the last PWM reading handed on
        self.pwm_stale = 0  # PWM readings older than pwm_max_age_s when they came in: not handed on
        self.pwm_repeats = 0  # PWM readings no newer than the last one handed on: not handed on again
        self._interval_s = interval_s
        self.error: Exception | None = None
        self.samples = 0
        self.missed = 0  # grid slots skipped because a poll overran
        # While a poll is under way, the earliest bench time its readings may carry (None between polls): they
        # are still to come, so a record of this instrument is complete only up to it (runner/judge.py).
        self.polling_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval_s(self) -> float:
        """Bench seconds between polls: as given, else the analyzer's configured update interval, no shorter than
        POLL_FLOOR_REAL_S of real time (:func:`poll_interval_s`)."""
        if self._interval_s is not None:
            return self._interval_s
        return poll_interval_s(self.analyzer.update_interval_s, self.clock.speed)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"sampler of {self.analyzer.kind} {self.analyzer.name!r} was already started; "
                               "make a new Sampler to sample again")
        self._thread = threading.Thread(target=self._run, name=f"sampler-{self.analyzer.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop polling and wait (real seconds) for a poll in flight to finish; False if it did not."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _pwm_floor(self, start: float) -> float:
        """The oldest measured time a PWM reading of a poll begun at `start` may have and still be taken."""
        assert self.pwm_max_age_s is not None
        oldest = start - self.pwm_max_age_s
        return oldest if self.last_pwm_t is None else max(oldest, self.last_pwm_t)

    def _poll(self) -> None:
        start = self.clock.now()
        # The analyzer's reading is stamped at or after the start; the pilot's may be older (measured before
        # it was read), down to the oldest this poll would still take.
        self.polling_since = start if self.ev is None else min(start, self._pwm_floor(start))
        try:
            self.on_sample(self.analyzer.read())
            self.samples += 1
            if self.ev is not None and self.on_pwm is not None:
                self._take_pwm(self.ev.read_pwm())
        finally:
            self.polling_since = None

    def _take_pwm(self, reading: PwmReading) -> None:
        """Hand on a fresh reading; a repeat or one older than the allowed gap measured nothing new."""
        assert self.on_pwm is not None and self.pwm_max_age_s is not None
        if self.last_pwm_t is not None and reading.t <= self.last_pwm_t:
            self.pwm_repeats += 1
            return
        if self.clock.now() - reading.t > self.pwm_max_age_s:
            self.pwm_stale += 1
            return
        self.on_pwm(reading)
        self.last_pwm_t = reading.t

    def _run(self) -> None:
        interval = self.interval_s
        t0 = self.clock.now()
        k = 0
        while not self._stop.is_set():
            try:
                self._poll()
            except Exception as e:
                self._fail(e)
                return
            k += 1
            now = self.clock.now()
            due = t0 + k * interval
            if now > due:
                late = math.floor((now - t0) / interval) + 1
                self.missed += late - k
                k = late
                due = t0 + k * interval
            self._stop.wait(self.clock.real(due - now))

    def _fail(self, error: Exception) -> None:
        self.error = error
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception as e:
                # The original fault is what the runner needs; keep it and note the handler's failure.
                error.add_note(f"the sampler's on_error handler raised too: {e!r}")
