"""The background sampler: deadline scheduling on the bench clock, first error stops it, PWM polling."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest

from instruments import registry
from instruments.base import AnalyzerReading, EvEmulator, PowerAnalyzer, PwmReading
from instruments.clock import Clock
from instruments.errors import InstrumentTimeout
from instruments.sampler import POLL_FLOOR_REAL_S, Sampler, poll_interval_s


class FakeAnalyzer(PowerAnalyzer):
    """Reads take `busy(k)` real seconds; read number `fail_at` raises a timeout."""

    def __init__(self, clock: Clock, busy: Callable[[int], float] = lambda k: 0.0, fail_at: int | None = None,
                 interval_s: float = 1.0) -> None:
        super().__init__("fake", "nowhere", clock)
        self.busy = busy
        self.fail_at = fail_at
        self.reads = 0
        self._interval = interval_s
        self._open = True

    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> str:
        return "fake"
    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None: ...

    @property
    def update_interval_s(self) -> float:
        return self._interval

    def read(self) -> AnalyzerReading:
        k = self.reads
        self.reads += 1
        if k == self.fail_at:
            raise InstrumentTimeout("fake", "nowhere", "no answer within 2 s", last_command=":NUM:NORM:VAL?")
        t = self.clock.now()
        time.sleep(self.busy(k))
        return AnalyzerReading(t=t, total_power_w=float(k))

    def integration_reset(self) -> None: ...
    def integration_start(self) -> None: ...
    def integration_stop(self) -> None: ...
    def read_energy_wh(self) -> float | None:
        return None


def collect(sampler_factory: Callable[[Callable[[AnalyzerReading], None]], Sampler], n: int,
            timeout_s: float = 10.0) -> tuple[Sampler, list[AnalyzerReading]]:
    got: list[AnalyzerReading] = []
    enough = threading.Event()

    def on_sample(r: AnalyzerReading) -> None:
        got.append(r)
        if len(got) >= n:
            enough.set()

    sampler = sampler_factory(on_sample)
    sampler.start()
    assert enough.wait(timeout_s), f"only {len(got)} samples"
    assert sampler.stop()
    return sampler, got


def test_polls_on_a_fixed_grid_without_drift() -> None:
    clock = Clock(speed=20)  # 1 bench s = 50 ms real
    analyzer = FakeAnalyzer(clock, busy=lambda k: 0.02)  # each read eats 40 % of the interval
    _, got = collect(lambda cb: Sampler(analyzer, clock, cb), 8)
    ts = [r.t for r in got[:8]]
    mean_step = (ts[-1] - ts[0]) / 7
    # sleep(interval) after each read would step 1.4 bench s; a deadline grid steps 1.0
    assert 0.9 <= mean_step <= 1.15, ts


def test_overrun_slots_are_skipped_not_burst() -> None:
    clock = Clock(speed=20)
    analyzer = FakeAnalyzer(clock, busy=lambda k: 0.125 if k == 1 else 0.0)  # read 1 takes 2.5 intervals
    sampler, got = collect(lambda cb: Sampler(analyzer, clock, cb), 5)
    ts = [r.t for r in got]
    assert sampler.missed >= 2
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(ts)), ts


def test_interval_defaults_to_the_analyzers_and_can_be_overridden() -> None:
    clock = Clock(speed=20)
    analyzer = FakeAnalyzer(clock, interval_s=2.0)
    assert Sampler(analyzer, clock, lambda r: None).interval_s == 2.0
    assert Sampler(analyzer, clock, lambda r: None, interval_s=0.5).interval_s == 0.5
    with pytest.raises(ValueError, match="positive"):
        Sampler(analyzer, clock, lambda r: None, interval_s=0)


def test_a_fast_clock_is_polled_no_more_often_than_the_real_time_floor() -> None:
    """On the twin at 200x a 0.5 bench s update interval is 2.5 ms of real time: polled flat out, the sampler
    would take a core from the charger it measures; it polls every 25 ms of real time (5 bench s) instead."""
    clock = Clock(speed=200)
    analyzer = FakeAnalyzer(clock, interval_s=0.5)
    sampler, got = collect(lambda cb: Sampler(analyzer, clock, cb), 6)
    assert sampler.interval_s == pytest.approx(POLL_FLOOR_REAL_S * 200) == poll_interval_s(0.5, 200)
    steps = [b.t - a.t for a, b in itertools.pairwise(got[:6])]
    assert all(step >= 0.9 * sampler.interval_s for step in steps), steps
    assert poll_interval_s(0.5, 1.0) == 0.5  # a physical bench polls at the analyzer's own interval


def test_first_error_stops_sampling_and_is_reported_once() -> None:
    clock = Clock(speed=50)
    analyzer = FakeAnalyzer(clock, fail_at=3)
    errors: list[Exception] = []
    done = threading.Event()

    def on_error(e: Exception) -> None:
        errors.append(e)
        done.set()

    got: list[AnalyzerReading] = []
    sampler = Sampler(analyzer, clock, got.append, on_error=on_error)
    sampler.start()
    assert done.wait(5)
    assert sampler.stop()
    time.sleep(0.05)
    assert len(got) == 3 and analyzer.reads == 4  # nothing read after the failure
    assert errors == [sampler.error]
    assert isinstance(sampler.error, InstrumentTimeout) and sampler.error.last_command == ":NUM:NORM:VAL?"
    assert not sampler.running


def test_a_failing_callback_stops_it_too() -> None:
    clock = Clock(speed=50)

    def boom(r: AnalyzerReading) -> None:
        raise RuntimeError("recorder is closed")

    sampler = Sampler(FakeAnalyzer(clock), clock, boom)
    sampler.start()
    sampler._thread.join(5)  # type: ignore[union-attr]
    assert isinstance(sampler.error, RuntimeError)


def test_cannot_start_twice() -> None:
    clock = Clock(speed=50)
    sampler = Sampler(FakeAnalyzer(clock), clock, lambda r: None)
    sampler.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            sampler.start()
    finally:
        sampler.stop()


class FakeEv(EvEmulator):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> str:
        return "ev"
    def set_state(self, state: str) -> None: ...
    def set_cable(self, ohms: float | None) -> None: ...
    def set_current(self, amps: float, phases: int = 3) -> None: ...
    def follow_pilot(self, enabled: bool, lag_s: float = 5.0) -> None: ...
    def read_pwm(self) -> PwmReading:
        return PwmReading(26.7, 1000.0, t=self.clock.now())


def test_polls_the_ev_pwm_each_interval_when_asked() -> None:
    clock = Clock(speed=50)
    pwm: list[PwmReading] = []
    _sampler, _got = collect(lambda cb: Sampler(FakeAnalyzer(clock), clock, cb, ev=FakeEv("ev", "x", clock),
                                              on_pwm=pwm.append, pwm_max_age_s=5.0), 3)
    assert len(pwm) >= 3 and (pwm[0].duty_percent, pwm[0].frequency_hz) == (26.7, 1000.0)
    assert pwm[0].t < pwm[1].t < pwm[2].t
    for kwargs in ({"ev": FakeEv("ev", "x", clock)}, {"ev": FakeEv("ev", "x", clock), "on_pwm": pwm.append},
                   {"on_pwm": pwm.append, "pwm_max_age_s": 5.0}):
        with pytest.raises(ValueError, match="ev=, on_pwm= and pwm_max_age_s= to poll the pilot PWM, or none"):
            Sampler(FakeAnalyzer(clock), clock, lambda r: None, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pwm_max_age_s must be positive bench seconds, got 0"):
        Sampler(FakeAnalyzer(clock), clock, lambda r: None, ev=FakeEv("ev", "x", clock), on_pwm=pwm.append,
                pwm_max_age_s=0)


class ScriptedEv(FakeEv):
    """Each read returns the next of `ages`: a reading measured that many bench seconds before the read
    began (None: the same reading as the last read, as an emulator that reports once a second returns it).
    Keeps the sampler's polling_since as it was during each read."""

    def __init__(self, clock: Clock, ages: list[float | None]) -> None:
        super().__init__("ev", "x", clock)
        self.ages = list(ages)
        self.sampler: Sampler | None = None
        self.reads: list[tuple[float, PwmReading, float | None]] = []  # (read began, reading, polling_since)

    def read_pwm(self) -> PwmReading:
        began = self.clock.now()
        age = self.ages.pop(0) if self.ages else 0.0
        reading = self.reads[-1][1] if age is None else PwmReading(10.0 * len(self.reads), 1000.0, t=began - age)
        assert self.sampler is not None
        self.reads.append((began, reading, self.sampler.polling_since))
        return reading


def run_polls(ev: ScriptedEv, clock: Clock, polls: int, max_age_s: float) -> tuple[Sampler, list[PwmReading]]:
    got: list[PwmReading] = []
    sampler = Sampler(FakeAnalyzer(clock, interval_s=1.0), clock, lambda r: None, ev=ev, on_pwm=got.append,
                      pwm_max_age_s=max_age_s)
    ev.sampler = sampler
    sampler.start()
    deadline = time.monotonic() + 10
    while len(ev.reads) < polls and time.monotonic() < deadline:
        time.sleep(0.005)
    assert sampler.stop() and sampler.error is None
    return sampler, got


def test_a_pilot_reading_is_handed_on_with_the_time_it_was_measured_and_only_while_fresh() -> None:
    """A reading measured 3 s before it was read is recorded at its own time, not the poll's; one older than the
    judge's max gap (here 5 s) is no fresh sample, and neither is the same reading returned to a second poll."""
    clock = Clock(speed=20)
    ev = ScriptedEv(clock, [3.0, None, None, 5.5, 0.0])  # polls at 0, 1, 2, 3, 4 s
    sampler, got = run_polls(ev, clock, 5, max_age_s=5.0)
    (began0, first, _), _, _, (began3, stale, _), (_, fresh, _) = ev.reads[:5]
    assert got[:2] == [first, fresh]
    assert first.t == pytest.approx(began0 - 3.0) and first.t < began0  # as measured, not when polled
    assert first.t < stale.t < began3 - 5.0 and stale not in got  # newer than the last, but too old
    assert (sampler.pwm_repeats, sampler.pwm_stale) == (2, 1)
    assert sampler.last_pwm_t == got[-1].t


def test_while_the_pilot_is_read_the_record_is_known_complete_only_up_to_the_oldest_reading_it_may_take() -> None:
    """A judge takes a record as complete up to `polling_since` while a poll is under way: a reading measured
    before the poll began must not land behind it. During the read it is at most the oldest time the sampler
    would still take (the last reading handed on, or the max gap back), so every reading taken is at or after
    it."""
    clock = Clock(speed=20)
    ev = ScriptedEv(clock, [2.0, 0.5, 0.2])
    _, got = run_polls(ev, clock, 3, max_age_s=5.0)
    assert len(got) == 3
    for began, reading, since in ev.reads[:3]:
        assert since is not None and since <= reading.t and since <= began


def test_samples_a_simulated_wt310(sim_wt) -> None:
    wt = sim_wt("wt310")
    wt.open()
    wt.configure(phases=1, update_interval_s=0.1)
    clock = wt.clock
    _, got = collect(lambda cb: Sampler(wt, clock, cb), 3)
    assert [r.phases["L1"].current_a for r in got[:3]] == [15.998] * 3
    assert got[0].t < got[1].t < got[2].t
    assert registry.driver("yokogawa-wt300") is type(wt)


def test_a_poll_under_way_is_known_by_when_it_began() -> None:
    """While a poll is under way the sampler says when it began (its readings are stamped from then on, so a
    judge knows the record is not complete past it); between polls it says None."""
    clock = Clock(speed=10.0)
    seen: list[float | None] = []
    holder: list[Sampler] = []

    class Watching(FakeAnalyzer):
        def read(self) -> AnalyzerReading:
            seen.append(holder[0].polling_since)
            return super().read()

    an = Watching(clock, interval_s=1.0)
    sampler = Sampler(an, clock, lambda r: None)
    holder.append(sampler)
    assert sampler.polling_since is None
    sampler.start()
    time.sleep(0.35)
    sampler.stop()
    assert seen and all(s is not None for s in seen)
    assert sampler.polling_since is None
