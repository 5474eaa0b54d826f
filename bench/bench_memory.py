"""Benchmark: the harness's memory over long runs. Run on demand (pytest does not collect it):

    .venv/bin/python bench/bench_memory.py                         # 100,000 frames, then a 12 h twin run
    .venv/bin/python bench/bench_memory.py --frames 20000 --twin-hours 1

(a) `chargespec csms` itself (runner.csms.serve in a child process, streaming to a temporary folder,
printing every frame to a file) under `--chargers` websocket clients on loopback that send what chargers
send: BootNotification and StatusNotification, then rounds of TransactionEvent (Started, Updated with
meter values, Ended), MeterValues and Heartbeat, each waiting for its answer. The child's resident set
(RSS, from /proc) is printed before any traffic, after the first 1,000 charger frames and at every tenth
of `--frames`. Target: RSS after `--frames` within 50 MB of RSS after 1,000 (`--target-mb`).

(b) The twin bench (lab/benches/twin.toml at `--twin-speed`) for `--twin-hours` of bench time, run as a
campaign runs it: one scenario per `--scenario-minutes` (recorder.begin/end), the analyzer sampled
throughout and an EV charging at 16 A. This process's RSS is printed at the end of every scenario; a
scenario keeps its whole record for judging, so RSS rises within one and must not from one to the next.

Exit status 1 when (a) misses its target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STAMP = "2025-01-01T00:00:00.000Z"
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "Bench AC22", "vendorName": "chargespec",
                                                 "serialNumber": "BENCH-0001", "firmwareVersion": "1.4.2"}}


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# ---- (a) chargespec csms under charger traffic -------------------------------------------------

def _meter(seq: int) -> list[dict[str, Any]]:
    return [{"timestamp": STAMP, "sampledValue": [
        {"value": 1000.0 + seq, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}},
        *({"value": 16.0 + (seq % 7) / 10, "measurand": "Current.Import", "phase": p} for p in ("L1", "L2", "L3")),
        {"value": 11040.0, "measurand": "Power.Active.Import"}]}]


def _traffic(index: int) -> Any:
    """An endless, realistic sequence of (action, payload) a charger sends, in the shapes real ones do."""
    yield "BootNotification", BOOT
    yield "StatusNotification", {"timestamp": STAMP, "connectorStatus": "Available", "evseId": 1, "connectorId": 1}
    session = 0
    while True:
        session += 1
        tx = {"transactionId": f"TX-{index}-{session}"}
        yield "StatusNotification", {"timestamp": STAMP, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}
        yield "TransactionEvent", {"eventType": "Started", "timestamp": STAMP, "triggerReason": "Authorized",
                                   "seqNo": 0, "transactionInfo": {**tx, "chargingState": "Charging"},
                                   "evse": {"id": 1, "connectorId": 1},
                                   "idToken": {"idToken": "04A2B3C4", "type": "ISO14443"}}
        for seq in range(1, 21):
            yield "TransactionEvent", {"eventType": "Updated", "timestamp": STAMP, "seqNo": seq,
                                       "triggerReason": "MeterValuePeriodic", "transactionInfo": tx,
                                       "meterValue": _meter(seq)}
            yield "MeterValues", {"evseId": 1, "meterValue": _meter(seq)}
            if seq % 5 == 0:
                yield "Heartbeat", {}
        yield "TransactionEvent", {"eventType": "Ended", "timestamp": STAMP, "triggerReason": "EVDeparted",
                                   "seqNo": 21, "transactionInfo": {**tx, "stoppedReason": "EVDisconnected"},
                                   "meterValue": _meter(21)}
        yield "StatusNotification", {"timestamp": STAMP, "connectorStatus": "Available", "evseId": 1, "connectorId": 1}


async def _charger(url: str, index: int, sent: list[int], total: int, on_count: Callable[[int], None]) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"{url}/MEM-{index:04d}", subprotocols=["ocpp2.0.1"], open_timeout=60,
                       ping_interval=None, max_size=None) as ws:
        for n, (action, payload) in enumerate(_traffic(index)):
            if sent[0] >= total:
                return
            await ws.send(json.dumps([2, f"{index}-{n}", action, payload], separators=(",", ":")))
            reply = json.loads(await ws.recv())
            if reply[0] != 3:
                raise RuntimeError(f"charger {index}: {action} answered {reply}")
            sent[0] += 1
            on_count(sent[0])


def _start_serve(out: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    code = "import sys; from runner.csms.serve import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-u", "-c", code, "--port", "0", "--out", str(out)],
                                stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(r"listening on (ws://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"chargespec csms did not start:\n{log.read_text(errors='replace')}")


def measure_serve(frames: int, chargers: int) -> list[tuple[int, float]]:
    """[(charger frames answered, RSS MB of chargespec csms)], from 0 to `frames`."""
    with tempfile.TemporaryDirectory(prefix="chargespec-mem-") as tmp:
        proc, url = _start_serve(Path(tmp) / "out", Path(tmp) / "console.txt")
        try:
            time.sleep(0.5)
            points = [(0, rss_mb(proc.pid))]
            marks = sorted({min(1000, frames), *range(frames // 10, frames + 1, max(1, frames // 10))} - {0})

            def on_count(n: int) -> None:
                if marks and n >= marks[0]:
                    marks.pop(0)
                    points.append((n, rss_mb(proc.pid)))

            async def load() -> None:
                sent = [0]
                await asyncio.gather(*(_charger(url, i, sent, frames, on_count) for i in range(chargers)))
            asyncio.run(load())
            if proc.poll() is not None:
                raise RuntimeError("chargespec csms died under load")
            written = sum(1 for _ in (Path(tmp) / "out" / "ocpp.jsonl").open())
            print(f"  ocpp.jsonl holds {written} frames (both directions): the files keep everything")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return points


# ---- (b) a long twin run, one scenario per bench hour ------------------------------------------

def measure_twin(hours: float, speed: float, scenario_minutes: float) -> list[tuple[float, float, int]]:
    """[(bench hours, RSS MB of this process, frames in the scenario just ended)]."""
    from lab.bench import load_bench
    from runner.bench_session import BenchSession
    from runner.steps import CABLE_OHMS

    cfg = load_bench(REPO / "lab" / "benches" / "twin.toml")
    cfg = cfg.model_copy(update={"clock": cfg.clock.model_copy(update={"speed": speed})})
    session = BenchSession(cfg)
    points: list[tuple[float, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="chargespec-mem-twin-") as tmp:
        try:
            session.open()
            station = session.station()
            clock, rec, harness = session.clock, session.recorder, session.harness
            assert harness is not None
            gc.collect()
            points.append((0.0, rss_mb(), 0))
            rec.begin(Path(tmp) / "scenario-000")
            session.start_sampling(station)
            ev = station.ev(1)
            ev.set_cable(CABLE_OHMS)
            ev.set_state("B")
            session.run(harness.request_start_transaction(station.id, "04A2B3C4", evse_id=1),
                        bench_timeout=60, what="starting a transaction")
            ev.set_current(16.0, station.config.phases)
            ev.follow_pilot(True, cfg.twin.ev_lag_s if cfg.twin else 3.0)
            ev.set_state("C")
            step = scenario_minutes * 60
            start = clock.now()
            k = 0
            while clock.now() - start < hours * 3600:
                k += 1
                clock.sleep_until(start + min(k * step, hours * 3600))
                if station.broken:
                    raise RuntimeError(f"the twin's instruments failed: {station.broken[0]}")
                rec.end()
                n = len(rec.frames())
                gc.collect()
                points.append(((clock.now() - start) / 3600, rss_mb(), n))
                rec.begin(Path(tmp) / f"scenario-{k:03d}")
        finally:
            with contextlib.suppress(Exception):
                session.stop_sampling(session.station())
            session.close()
    return points


# ---- report ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=100_000, help="charger frames sent to chargespec csms")
    p.add_argument("--chargers", type=int, default=20)
    p.add_argument("--target-mb", type=float, default=50.0, help="allowed RSS growth after the first 1,000")
    p.add_argument("--twin-hours", type=float, default=12.0, help="bench hours of the twin run (0: skip)")
    p.add_argument("--twin-speed", type=float, default=1000.0)
    p.add_argument("--scenario-minutes", type=float, default=60.0)
    args = p.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")

    print(f"(a) chargespec csms, {args.chargers} chargers, {args.frames} charger frames (each answered)")
    t0 = time.perf_counter()
    points = measure_serve(args.frames, args.chargers)
    took = time.perf_counter() - t0
    print(f"  {'frames':>9}  {'RSS MB':>8}")
    for n, mb in points:
        print(f"  {n:>9}  {mb:>8.1f}")
    after_first = next((mb for n, mb in points if n >= min(1000, args.frames)), points[0][1])
    growth = points[-1][1] - after_first
    met = growth <= args.target_mb
    print(f"  RSS after {points[-1][0]} frames - RSS after the first 1,000: {growth:+.1f} MB "
          f"(target: within {args.target_mb:g} MB) -> {'met' if met else 'NOT met'}; {took:.0f} s")

    if args.twin_hours > 0:
        print(f"(b) twin bench at {args.twin_speed:g}x for {args.twin_hours:g} bench hours, one scenario per "
              f"{args.scenario_minutes:g} bench minutes, analyzer sampled, an EV charging")
        t0 = time.perf_counter()
        twin = measure_twin(args.twin_hours, args.twin_speed, args.scenario_minutes)
        print(f"  {'bench h':>8}  {'RSS MB':>8}  {'frames in the scenario':>22}")
        for h, mb, n in twin:
            print(f"  {h:>8.2f}  {mb:>8.1f}  {n:>22}")
        if len(twin) > 2:
            print(f"  RSS from the end of the first scenario to the last: {twin[-1][1] - twin[1][1]:+.1f} MB; "
                  f"{time.perf_counter() - t0:.0f} s")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
