"""The composite check end to end: the real harness sends profiles to the real twin over the wire, asks
GetCompositeSchedule, and runner.schedules judges the recorded exchange (check_composites) — the same
path `expect charger composite schedule …` takes. Bench at 10x; every call bounded in time."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import lab
from instruments.clock import Clock, iso_utc
from lab.bench import load_bench
from lab.twin import Twin
from runner.csms import CsmsHarness
from runner.recorder import Recorder
from runner.schedules import Limit, check_composites

TWIN_TOML = Path(lab.__file__).parent / "benches" / "twin.toml"


def absolute(pid: int, purpose: str, start: datetime, periods: list[tuple[int, float]], unit: str = "A",
             stack: int = 0, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": extra.pop("kind", "Absolute"),
            "chargingSchedule": [{"id": 1, "chargingRateUnit": unit, "startSchedule": iso_utc(start),
                                  "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods],
                                  **extra.pop("schedule", {})}], **extra}


def test_twin_composites_over_the_wire_are_judged_from_the_record() -> None:
    bench = load_bench(TWIN_TOML, overrides={"clock.speed": 10.0})
    station = bench.stations[0]
    clock = Clock(bench.clock.speed)
    recorder = Recorder(clock)
    recorder.begin(None)
    sent_from: list[datetime] = []  # the profiles' reference time, to read the expected steps against

    async def main() -> None:
        harness = CsmsHarness(recorder, clock, bench.csms)
        await harness.start()
        twin = Twin(bench, clock)
        try:
            await asyncio.wait_for(twin.start(harness.url), 10)
            await harness.wait_booted(station.id, 60)
            now = clock.wall().replace(microsecond=0)
            sent_from.append(now)

            async def ok(action: str, payload: dict[str, Any]) -> None:
                out = await harness.call(station.id, action, payload, 30)
                assert (out.response or {}).get("status") == "Accepted", (action, out)

            await ok("SetChargingProfile", {"evseId": 0, "chargingProfile": absolute(
                1, "ChargingStationMaxProfile", now - timedelta(seconds=60), [(0, 22080), (1200, 11040)], "W")})
            await ok("SetChargingProfile", {"evseId": 1, "chargingProfile": absolute(
                2, "TxDefaultProfile", now, [(0, 16), (600, 6), (1800, 20)])})
            await ok("SetChargingProfile", {"evseId": 0, "chargingProfile": absolute(
                3, "TxDefaultProfile", now + timedelta(seconds=2400) - timedelta(days=1), [(0, 10)], stack=1,
                kind="Recurring", recurrencyKind="Daily", schedule={"duration": 300})})
            for evse, unit in ((1, "A"), (1, "W"), (0, "W")):
                await ok("GetCompositeSchedule", {"evseId": evse, "duration": 3600, "chargingRateUnit": unit})
            await ok("ClearChargingProfile", {"chargingProfileId": 3})
            await ok("GetCompositeSchedule", {"evseId": 1, "duration": 3600, "chargingRateUnit": "A"})
        finally:
            await twin.stop()
            await harness.stop()

    asyncio.run(asyncio.wait_for(main(), 120))
    frames = recorder.frames(station=station.id)
    hardware = Limit(station.max_current_a, "A")
    checks = check_composites(frames, local_limits={0: hardware, 1: hardware})
    assert [c.describe() for c in checks if not c.agrees] == []
    # What was judged, so the test cannot pass on empty schedules (steps in seconds after the profiles'
    # reference time; the first begins at X, a few bench seconds later): 16 A, 6 A (TxDefault), 16 A (the
    # station max fell to 11040 W at 1140 s, TxDefault back at 20 A), 10 A (the daily profile, stack 1), 16 A.
    first, in_watts, station_total, after_clear = checks

    def steps(check: Any) -> list[tuple[int, float]]:
        return [(round((check.expected.start - sent_from[0]).total_seconds() + p.start_s), round(p.limit, 1))
                for p in check.expected.periods][1:]

    assert steps(first) == [(600, 6), (1800, 16), (2400, 10), (2700, 16)]
    assert steps(in_watts) == [(600, 4140), (1800, 11040), (2400, 6900), (2700, 11040)]
    assert steps(station_total) == [(1140, 11040)]
    assert steps(after_clear) == [(600, 6), (1800, 16)]
    assert all(c.reported is not None and len(c.reported.periods) == len(c.expected.periods) for c in checks)
