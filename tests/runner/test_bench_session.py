"""The bench session's evidence of its instruments: what an analyzer's error queue held when the run opened it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from instruments.base import PwmReading
from lab.bench import load_bench
from runner.bench_session import BenchSession, errors_at_open_words
from runner.judge import MAX_GAP_FLOOR_S, MAX_GAP_INTERVALS, MAX_GAP_REAL_S


def test_errors_held_at_open_are_named_in_the_instruments_identity() -> None:
    held = SimpleNamespace(errors_at_open=((-113, "Undefined header; FOO?"), (-221, "Settings conflict")))
    assert errors_at_open_words(held) == ('; error queue at open, emptied: -113 "Undefined header; FOO?", '
                                          '-221 "Settings conflict"')
    assert errors_at_open_words(SimpleNamespace(errors_at_open=())) == ""
    assert errors_at_open_words(object()) == ""  # an instrument without an error queue (the EV emulator)


def test_the_pilot_is_recorded_at_the_time_it_was_measured_and_allowed_the_judges_max_gap() -> None:
    """The EV emulator's reading carries when it was measured (a report that waited, a slow answer): the
    record takes that time, not the time it was handed on; the sampler drops a reading older than the max
    gap the judge allows the ev.* signals of a station polled at its analyzer's interval."""
    session = BenchSession(load_bench(Path("lab/benches/twin.toml")))
    on_pwm = session._pwm_recorder("ev.")
    session.clock.sleep(0.01)
    on_pwm(PwmReading(26.7, 1000.0, t=0.001))
    assert session.recorder.series("ev.pwm_duty") == ([0.001], [pytest.approx(0.267)])
    assert session.recorder.series("ev.offered_current") == ([0.001], [pytest.approx(16.02)])
    speed = session.clock.speed  # 60 on the twin bench: 0.3 s of real time is 18 bench s
    assert session._max_gap(0.5) == max(MAX_GAP_INTERVALS * 0.5, MAX_GAP_FLOOR_S, MAX_GAP_REAL_S * speed)
    assert session._max_gap(10.0) == 50.0


def test_a_twin_charger_that_stops_working_breaks_the_scenario_not_the_charger() -> None:
    """A task of the twin's charger that ends on an error (its firmware pass once died on an AttributeError)
    leaves a charger that does nothing from then on: each expectation after it would fail as the charger's.
    The station is broken at once, with the twin's error, and stays so for the next scenarios."""
    import time

    from runner.bench_session import recording_failed
    from runner.errors import BenchError

    session = BenchSession(load_bench(Path("lab/benches/twin.toml")))
    session.open()
    try:
        station = session.station()
        charger = session.twin.station(station.id).charger
        assert charger.crashed is None and not station.broken

        def fails(e: object, now: float) -> float:
            raise AttributeError("'NoneType' object has no attribute 'id_token'")

        async def wake() -> None:
            charger._step = fails  # the firmware pass fails, as it did on a pending authorization without a tx
            charger._wake.set()

        session.run(wake(), bench_timeout=5, what="breaking the twin's firmware")
        deadline = time.monotonic() + 5
        while not station.broken and time.monotonic() < deadline:
            time.sleep(0.01)
        assert isinstance(charger.crashed, AttributeError)
        error = recording_failed(None, station.broken[0], 0.0)
        assert isinstance(error, BenchError)
        assert ("the twin's charger TWIN-AC22-001 stopped working (AttributeError: 'NoneType' object has no "
                "attribute 'id_token'): a twin bug, so nothing it did or failed to do since is the charger's"
                ) in str(error)
        session.start_sampling(station)  # the next scenario: still broken
        assert len(station.broken) == 1 and "stopped working" in str(station.broken[0].error)
    finally:
        session.close()
