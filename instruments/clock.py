"""The bench clock: monotonic bench seconds, UTC wall time and sleep, at a chosen speed.

Every duration in a spec, a driver, the twin and the recorder is *bench* time. On a real bench the clock
runs at 1x; the twin may run N times faster than real time, and everything that waits or timestamps asks
this clock, so verdicts stay the same at any speed.

    clock = Clock(speed=60)
    clock.sleep(60)          # returns after one real second
    clock.now()              # bench seconds since the clock started
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Bench time = real time since start x speed, anchored to a UTC wall time."""

    def __init__(self, speed: float = 1.0, *, start_wall: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"clock speed must be positive, got {speed!r}")
        self.speed = float(speed)
        self._t0 = time.monotonic()
        self._wall0 = start_wall or datetime.now(UTC)

    def now(self) -> float:
        """Bench seconds since the clock started (monotonic)."""
        return (time.monotonic() - self._t0) * self.speed

    def wall(self, at: float | None = None) -> datetime:
        """UTC wall time at bench second `at` (default: now)."""
        return self._wall0 + timedelta(seconds=self.now() if at is None else at)

    def real(self, bench_seconds: float) -> float:
        """How many real seconds a bench duration takes."""
        return bench_seconds / self.speed

    def bench(self, real_seconds: float) -> float:
        """How many bench seconds a real duration spans."""
        return real_seconds * self.speed

    def sleep(self, bench_seconds: float) -> None:
        if bench_seconds > 0:
            time.sleep(bench_seconds / self.speed)

    def sleep_until(self, bench_t: float) -> None:
        self.sleep(bench_t - self.now())

    async def asleep(self, bench_seconds: float) -> None:
        await asyncio.sleep(max(0.0, bench_seconds) / self.speed)


def iso_utc(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.sssZ`: the timestamp form every OCPP stack accepts."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
