"""Benchmark: the analyzer sampler at a 10 ms update interval while ten chargers talk OCPP.

Run on demand (pytest does not collect it):

    .venv/bin/python bench/bench_sampler.py              # 60 s
    .venv/bin/python bench/bench_sampler.py --seconds 10

Setup. A WT5000-speaking analyzer runs in ANOTHER PROCESS (the twin's analyzer is a WT300, whose fastest
rate is 100 ms, so the benchmark serves its own): it renews its reading every 10 ms on the monotonic
clock, and its energy item ``WP,SIGMA`` answers the number of the update the values belong to, so the
benchmark can tell a missed update (a gap in that number) from a duplicated one (the same number twice).
The sampler polls it through the real ``yokogawa-wt5000`` driver over pyvisa-py, recording every
reading in a Recorder that streams to evidence files. Meanwhile, in this process, ten websocket clients
play chargers against a ``runner.csms.harness.CsmsHarness`` on the bench loop thread: BootNotification,
then a TransactionEvent (Started, then Updated with a meter value) every `--ocpp-interval` seconds each
and a Heartbeat every tenth message, all schema-checked and recorded.

Figures: achieved rate, missed and duplicated analyzer updates, sampler grid slots skipped, p99 timestamp
jitter (|interval between successive samples - 10 ms|), and the OCPP load, against the target (no missed
or duplicated updates, p99 jitter under 2 ms). The sampler is started half an update period after the
analyzer's update grid, as a lab aligns polling to an instrument's update, so a poll is never made at
the instant the analyzer renews its values.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from instruments import registry
from instruments.base import AnalyzerReading
from instruments.clock import Clock, iso_utc
from instruments.sampler import Sampler
from lab.loop import LoopThread
from runner.recorder import Recorder

try:
    from runner.csms.harness import CsmsHarness
except Exception as e:  # the harness is being worked on: measure against a minimal CSMS instead
    CsmsHarness = None  # type: ignore[assignment,misc]
    HARNESS_PROBLEM: str | None = f"{type(e).__name__}: {e}"
else:
    HARNESS_PROBLEM = None

INTERVAL_S = 0.01
CHARGERS = 10
TARGET_JITTER_S = 0.002


# -- the analyzer process -------------------------------------------------------------------------------

def analyzer_process(conn: Connection, interval_s: float) -> None:
    """A minimal WT5000 (long-form commands) whose update number is its WP,SIGMA value."""
    server = socket.create_server(("127.0.0.1", 0))
    t0 = time.monotonic()
    conn.send((server.getsockname()[1], t0))
    count = 14
    while True:
        client, _ = server.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        with client:
            while True:
                chunk = client.recv(4096)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode("ascii").strip()
                    if line == "*IDN?":
                        client.sendall(b"YOKOGAWA,WT5000,BENCH0001,F1.04\n")
                    elif line == ":NUMERIC:NORMAL:VALUE?":
                        update = int((time.monotonic() - t0) // interval_s)
                        values = ["230.0E+00", "16.0E+00", "3.68E+03", "1.0E+00"] * 3 + ["11.04E+03", f"{update}"]
                        client.sendall(",".join(values[:count]).encode() + b"\n")
                    elif line.startswith(":NUMERIC:NORMAL:NUMBER "):
                        count = int(line.split()[1])
                    # every other command (format, items, rate) is accepted silently, as a WT does


# -- a minimal CSMS, used only when runner.csms.harness cannot be imported -------------------------------

class MinimalCsms:
    """Answers every CALL with a CALLRESULT and records both frames, as the harness would."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._server: object | None = None

    async def start(self) -> str:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"])  # type: ignore[list-item]
        port = self._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return f"ws://127.0.0.1:{port}"

    async def _handle(self, ws) -> None:  # type: ignore[no-untyped-def]
        station = ws.request.path.rsplit("/", 1)[-1]
        async for raw in ws:
            self.recorder.frame(station=station, direction="rx", raw=raw)
            _, uid, action, _payload = json.loads(raw)
            answer = {"BootNotification": {"currentTime": iso_utc(datetime.now(UTC)), "interval": 300,
                                           "status": "Accepted"},
                      "Heartbeat": {"currentTime": iso_utc(datetime.now(UTC))}}.get(action, {})
            reply = json.dumps([3, uid, answer])
            self.recorder.frame(station=station, direction="tx", raw=reply)
            await ws.send(reply)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()  # type: ignore[attr-defined]
            await self._server.wait_closed()  # type: ignore[attr-defined]


# -- the chargers ---------------------------------------------------------------------------------------

@dataclass
class OcppStats:
    sent: int = 0
    answered: int = 0
    errors: int = 0
    rtts: list[float] | None = None


async def charger(url: str, index: int, interval_s: float, stop: asyncio.Event, stats: OcppStats) -> None:
    from websockets.asyncio.client import connect

    station = f"BENCH-{index:02d}"
    ids = itertools.count(1)
    async with connect(f"{url}/{station}", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]

        async def call(action: str, payload: dict) -> None:
            uid = f"{station}-{next(ids)}"
            t = time.monotonic()
            await ws.send(json.dumps([2, uid, action, payload]))
            stats.sent += 1
            reply = json.loads(await ws.recv())
            assert stats.rtts is not None
            stats.rtts.append(time.monotonic() - t)
            if reply[0] == 3 and reply[1] == uid:
                stats.answered += 1
            else:
                stats.errors += 1

        await call("BootNotification", {"reason": "PowerUp",
                                        "chargingStation": {"model": "Bench", "vendorName": "chargespec"}})
        await asyncio.sleep(interval_s * index / CHARGERS)  # stagger the chargers
        tx = f"tx-{index}"
        for seq in itertools.count():
            if stop.is_set():
                return
            now = iso_utc(datetime.now(UTC))
            if seq % 10 == 9:
                await call("Heartbeat", {})
            else:
                event = {"eventType": "Started" if seq == 0 else "Updated", "timestamp": now,
                         "triggerReason": "Authorized" if seq == 0 else "MeterValuePeriodic", "seqNo": seq,
                         "transactionInfo": {"transactionId": tx},
                         "meterValue": [{"timestamp": now, "sampledValue": [
                             {"value": 1000.0 + seq, "measurand": "Energy.Active.Import.Register"}]}]}
                if seq == 0:
                    event["evse"] = {"id": 1, "connectorId": 1}
                    event["idToken"] = {"idToken": "04A2B3C4", "type": "ISO14443"}
                await call("TransactionEvent", event)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)


async def chargers(url: str, interval_s: float, stop: asyncio.Event, stats: OcppStats) -> None:
    await asyncio.gather(*(charger(url, i, interval_s, stop, stats) for i in range(CHARGERS)))


# -- figures --------------------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q / 100 * len(s)))] if s else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to sample (default 60)")
    ap.add_argument("--ocpp-interval", type=float, default=0.5,
                    help="seconds between messages of each charger (default 0.5)")
    ap.add_argument("--switch-interval", type=float, default=1.0,
                    help="sys.setswitchinterval in ms for this process (default 1 ms, as a chargespec run sets "
                         "it: runner/bench_session.py; Python's own default is 5 ms)")
    args = ap.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval / 1000)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=analyzer_process, args=(child, INTERVAL_S), daemon=True)
    proc.start()
    port, server_t0 = parent.recv()

    clock = Clock()
    recorder = Recorder(clock)
    loop = LoopThread("bench-loop")
    harness = CsmsHarness(recorder, clock) if CsmsHarness is not None else MinimalCsms(recorder)
    csms_name = "runner.csms.harness.CsmsHarness" if CsmsHarness is not None else \
        f"the benchmark's minimal CSMS (the harness did not import: {HARNESS_PROBLEM})"
    stats = OcppStats(rtts=[])
    with tempfile.TemporaryDirectory() as tmp:
        recorder.begin(Path(tmp) / "evidence")
        url = loop.run(harness.start(), 10, "CSMS start")
        stop = asyncio.Event()
        traffic = loop.spawn(chargers(url, args.ocpp_interval, stop, stats))
        time.sleep(1.0)  # let the chargers boot before measuring

        analyzer = registry.create("yokogawa-wt5000", name="analyzer",
                                   address=f"TCPIP0::127.0.0.1::{port}::SOCKET", clock=clock)
        analyzer.open()  # type: ignore[attr-defined]
        analyzer.configure(phases=3, update_interval_s=INTERVAL_S)  # type: ignore[attr-defined]
        idn = analyzer.identify()
        readings: list[tuple[AnalyzerReading, float]] = []

        def on_sample(r: AnalyzerReading) -> None:
            readings.append((r, clock.now()))
            recorder.samples(r.signals(), t=r.t)

        sampler = Sampler(analyzer, clock, on_sample)  # type: ignore[arg-type]
        # Start half a period into the analyzer's update grid (same monotonic clock in both processes).
        now = time.monotonic()
        k = int((now - server_t0) / INTERVAL_S) + 2
        time.sleep(max(0.0, server_t0 + (k + 0.5) * INTERVAL_S - time.monotonic()))
        sampler.start()
        time.sleep(args.seconds)
        sampler.stop()
        analyzer.close()  # type: ignore[attr-defined]
        loop.loop.call_soon_threadsafe(stop.set)
        try:
            traffic.result(10)
        except Exception as e:  # the figures still stand; say what went wrong with the traffic
            print(f"OCPP traffic ended with {e!r}")
        loop.run(harness.stop(), 10, "CSMS stop")
        frames = len(recorder.frames())
        recorder.end()
    loop.close()
    proc.kill()

    if sampler.error is not None:
        print(f"sampler stopped on an error: {sampler.error}")
    ts = [r.t for r, _ in readings]
    updates = [int(r.energy_wh) for r, _ in readings if r.energy_wh is not None]
    steps = [b - a for a, b in itertools.pairwise(updates)]
    missed = sum(d - 1 for d in steps if d > 1)
    duplicated = sum(1 for d in steps if d == 0)
    dts = [b - a for a, b in itertools.pairwise(ts)]
    jitter = [abs(d - INTERVAL_S) for d in dts]
    grid = [abs((t - ts[0]) - round((t - ts[0]) / INTERVAL_S) * INTERVAL_S) for t in ts]
    latency = [done - r.t for r, done in readings]
    span = ts[-1] - ts[0] if len(ts) > 1 else float("nan")
    p99 = pct(jitter, 99)
    ok = missed == 0 and duplicated == 0 and p99 < TARGET_JITTER_S and sampler.missed == 0

    print(f"analyzer      {idn} in pid {proc.pid}, sampler in pid {os.getpid()}, {os.cpu_count()} CPUs, "
          f"GIL switch interval {sys.getswitchinterval() * 1e3:g} ms")
    print(f"duration      {span:.1f} s, {len(readings)} samples, interval {INTERVAL_S * 1000:.0f} ms")
    print(f"rate          {(len(readings) - 1) / span:.2f} samples/s (target {1 / INTERVAL_S:.0f})")
    print(f"updates       missed {missed}, duplicated {duplicated} (target 0 and 0); "
          f"sampler grid slots skipped {sampler.missed}")
    print(f"jitter        p50 {pct(jitter, 50) * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms, max "
          f"{max(jitter) * 1e3:.3f} ms (target p99 < {TARGET_JITTER_S * 1e3:.0f} ms); "
          f"grid deviation p99 {pct(grid, 99) * 1e3:.3f} ms")
    print(f"query         p50 {pct(latency, 50) * 1e3:.3f} ms, p99 {pct(latency, 99) * 1e3:.3f} ms "
          "(driver read incl. recorder)")
    rtts = stats.rtts or []
    print(f"csms          {csms_name}")
    print(f"ocpp          {CHARGERS} chargers, {stats.sent} calls, {stats.answered} answered, {stats.errors} "
          f"errors, {frames} frames recorded, rtt p50 {pct(rtts, 50) * 1e3:.2f} ms, p99 "
          f"{pct(rtts, 99) * 1e3:.2f} ms")
    print(f"mean step     {statistics.fmean(dts) * 1e3:.4f} ms" if dts else "mean step     n/a")
    print("verdict       " + ("TARGET MET" if ok else "TARGET MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
