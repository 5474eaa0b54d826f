"""Benchmark: the CSMS harness against a bare `ocpp` CSMS under the same charger load.

    .venv/bin/python bench/bench_csms.py [--chargers 200] [--seconds 20]

Each server runs in its own process and the load generator in another, so neither shares an event loop
or a GIL with the server under test. The load: every charger connects, boots, starts a transaction and
then sends TransactionEvent Updated (with a meter value) back to back, waiting for each answer. Printed:
calls/s, round-trip p50/p99 for each server, and the harness's throughput as a share of the bare one.

The harness does what a run does: schema checks both ways, recording every frame, streaming evidence
files, signals from meter values and the transaction book. The bare server is ocpp.v201.ChargePoint
handlers on websockets with no recording (the library still validates schemas).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "Bench", "vendorName": "chargespec"}}


# ---- servers under test (child processes) ------------------------------------------------------

async def _harness_server(ready: asyncio.Future[str]) -> None:
    from instruments.clock import Clock
    from lab.bench import CsmsConfig
    from runner.csms import CsmsHarness
    from runner.recorder import Recorder

    clock = Clock()
    recorder = Recorder(clock)
    with tempfile.TemporaryDirectory() as evidence:
        recorder.begin(Path(evidence))
        harness = CsmsHarness(recorder, clock, CsmsConfig(port=0))
        ready.set_result(await harness.start())
        await asyncio.Event().wait()


async def _bare_server(ready: asyncio.Future[str]) -> None:
    from ocpp.routing import on
    from ocpp.v201 import ChargePoint, call_result
    from ocpp.v201.enums import Action, RegistrationStatusEnumType
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed

    class Bare(ChargePoint):
        @on(Action.boot_notification)
        def boot(self, **_: Any) -> call_result.BootNotification:
            return call_result.BootNotification(current_time="2025-01-01T00:00:00.000Z", interval=300,
                                                status=RegistrationStatusEnumType.accepted)

        @on(Action.transaction_event)
        def transaction_event(self, **_: Any) -> call_result.TransactionEvent:
            return call_result.TransactionEvent()

    async def handler(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else "/x"
        with contextlib.suppress(ConnectionClosed):
            await Bare(path.rstrip("/").rsplit("/", 1)[-1], ws).start()

    server = await serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], ping_interval=None)  # type: ignore[list-item]
    ready.set_result(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    await asyncio.Event().wait()


def serve_main(kind: str) -> None:
    async def main() -> None:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(_harness_server(ready) if kind == "harness" else _bare_server(ready))
        print(await ready, flush=True)
        await task

    def run() -> None:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(SystemExit):
            asyncio.run(main())
    profile = os.environ.get("BENCH_PROFILE")  # e.g. BENCH_PROFILE=/tmp/harness.prof: cProfile the server
    if profile:
        import cProfile

        cProfile.runctx("run()", globals(), {"run": run}, f"{profile}.{kind}")
    else:
        run()


# ---- load generator (child process) ------------------------------------------------------------

async def _charger(url: str, index: int, start: asyncio.Event, stop_at: list[float],
                   rtts: list[float], ready: list[int]) -> None:
    from websockets.asyncio.client import connect

    async with connect(f"{url}/BENCH-{index:04d}", subprotocols=["ocpp2.0.1"], open_timeout=60,
                       ping_interval=None, max_queue=None) as ws:
        n = 0

        async def call(action: str, payload: dict[str, Any]) -> float:
            nonlocal n
            n += 1
            t0 = time.perf_counter()
            await ws.send(json.dumps([2, f"m{n}", action, payload]))
            reply = json.loads(await ws.recv())
            if reply[0] != 3:
                raise RuntimeError(f"charger {index}: {action} answered {reply}")
            return time.perf_counter() - t0

        await call("BootNotification", BOOT)
        tx = {"transactionId": f"TX-{index}"}
        stamp = "2025-01-01T00:00:00.000Z"
        await call("TransactionEvent", {"eventType": "Started", "timestamp": stamp, "triggerReason": "Authorized",
                                        "seqNo": 0, "transactionInfo": tx, "evse": {"id": 1, "connectorId": 1}})
        ready.append(index)
        await start.wait()
        seq = 0
        while time.perf_counter() < stop_at[0]:
            seq += 1
            rtt = await call("TransactionEvent", {
                "eventType": "Updated", "timestamp": stamp, "triggerReason": "MeterValuePeriodic", "seqNo": seq,
                "transactionInfo": tx, "meterValue": [{"timestamp": stamp, "sampledValue": [
                    {"value": 1000.0 + seq, "measurand": "Energy.Active.Import.Register"}]}]})
            if time.perf_counter() <= stop_at[0]:
                rtts.append(rtt)


def load_main(url: str, chargers: int, seconds: float) -> None:
    async def main() -> dict[str, Any]:
        start, stop_at, rtts, ready = asyncio.Event(), [float("inf")], [], []
        tasks = [asyncio.create_task(_charger(url, i, start, stop_at, rtts, ready)) for i in range(chargers)]
        while len(ready) < chargers:
            if any(t.done() for t in tasks):
                for t in tasks:
                    if t.done() and t.exception():
                        raise t.exception()  # type: ignore[misc]
            await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        stop_at[0] = t0 + seconds
        start.set()
        await asyncio.gather(*tasks)
        rtts.sort()
        return {"calls": len(rtts), "seconds": seconds, "calls_per_s": len(rtts) / seconds,
                "p50_ms": 1000 * rtts[len(rtts) // 2] if rtts else None,
                "p99_ms": 1000 * rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))] if rtts else None}
    print(json.dumps(asyncio.run(main())), flush=True)


# ---- orchestration ----------------------------------------------------------------------------

def _child(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, env=env)


def measure(kind: str, chargers: int, seconds: float) -> dict[str, Any]:
    server = _child("_serve", kind)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url.startswith("ws://"):
            raise RuntimeError(f"the {kind} server did not start (it printed {url!r})")
        load = _child("_load", url, str(chargers), str(seconds))
        out, _ = load.communicate(timeout=seconds + 120)
        if load.returncode != 0:
            raise RuntimeError(f"the load generator failed against the {kind} server")
        return dict(json.loads(out.strip().splitlines()[-1]))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve_main(sys.argv[2])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_load":
        load_main(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return 0
    p = argparse.ArgumentParser(description="CSMS harness vs bare ocpp CSMS throughput")
    p.add_argument("--chargers", type=int, default=200)
    p.add_argument("--seconds", type=float, default=20)
    args = p.parse_args()
    print(f"{args.chargers} chargers, {args.seconds:g} s of back-to-back TransactionEvent Updated each, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    results = {kind: measure(kind, args.chargers, args.seconds) for kind in ("bare", "harness")}
    print(f"{'server':<10}{'calls':>10}{'calls/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for kind, r in results.items():
        print(f"{kind:<10}{r['calls']:>10}{r['calls_per_s']:>12.0f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}")
    share = results["harness"]["calls_per_s"] / results["bare"]["calls_per_s"]
    cost = 1 - share
    print(f"harness throughput = {share:.0%} of bare (cost {cost:.0%}; target: cost under 25 %) -> "
          f"{'OK' if cost < 0.25 else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
