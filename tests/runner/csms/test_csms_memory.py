"""Memory stays bounded under sustained traffic: 20,000 charger frames through a harness recording as
`chargespec csms` does (files keep everything, memory a window). bench/bench_memory.py measures the same
at 100,000 frames and over a 12 h twin run; this keeps the bound from rotting in between."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
from pathlib import Path

from websockets.asyncio.client import connect

from instruments.clock import Clock
from lab.bench import CsmsConfig
from runner.csms import CsmsHarness
from runner.recorder import Recorder

# The benchmark's charger traffic and RSS reader (bench/ is not a package).
_spec = importlib.util.spec_from_file_location(
    "bench_memory", Path(__file__).resolve().parents[3] / "bench" / "bench_memory.py")
assert _spec is not None and _spec.loader is not None
bench_memory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_memory)

FRAMES = 20_000
CHARGERS = 20
ALLOWED_GROWTH_MB = 15.0   # the unbounded record (before issue 10) grew 91 MB here; bounded: ~2-3 MB


def test_rss_after_20000_frames_stays_within_15_mb_of_rss_after_the_first_1000(tmp_path: Path) -> None:
    clock = Clock()
    rec = Recorder(clock)
    rec.begin(tmp_path, scenario=False)
    readings: dict[int, float] = {}

    async def charger(url: str, index: int, sent: list[int]) -> None:
        async with connect(f"{url}/MEM-{index}", subprotocols=["ocpp2.0.1"], ping_interval=None) as ws:
            for n, (action, payload) in enumerate(bench_memory._traffic(index)):
                if sent[0] >= FRAMES:
                    return
                await ws.send(json.dumps([2, f"{index}-{n}", action, payload]))
                assert json.loads(await ws.recv())[0] == 3
                sent[0] += 1
                if sent[0] in (1000, FRAMES):
                    gc.collect()
                    readings[sent[0]] = bench_memory.rss_mb()

    async def main() -> None:
        harness = CsmsHarness(rec, clock, CsmsConfig())
        url = await harness.start()
        try:
            sent = [0]
            await asyncio.wait_for(asyncio.gather(*(charger(url, i, sent) for i in range(CHARGERS))), 60)
        finally:
            await harness.stop()

    asyncio.run(main())
    rec.end()
    growth = readings[FRAMES] - readings[1000]
    print(f"RSS after 1,000: {readings[1000]:.1f} MB, after {FRAMES}: {readings[FRAMES]:.1f} MB")
    assert growth < ALLOWED_GROWTH_MB, f"RSS grew {growth:.1f} MB from frame 1,000 to {FRAMES}"
    assert sum(1 for _ in (tmp_path / "ocpp.jsonl").open()) >= 2 * FRAMES   # on disk: every frame
