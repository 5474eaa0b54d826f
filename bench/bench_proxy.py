"""Benchmark: the latency proxy mode adds to each call, against a direct connection and a bare relay.

Run on demand (pytest does not collect it):

    .venv/bin/python bench/bench_proxy.py                  # 10 s per load per path
    .venv/bin/python bench/bench_proxy.py --seconds 5

Setup. A minimal target CSMS runs in its own process: it answers every CALL with an empty CALLRESULT (it
parses the frame, as any backend does). In two more processes run the relays: a bare websockets relay (no
parsing, no recording: the floor any relay costs) and chargespec's judging proxy (runner/proxy/: every
frame recorded, parsed, schema-checked, attributed, timed). This process plays the chargers: each sends a
MeterValues CALL (one sampled value, as a charger's periodic meter values) on a fixed schedule and times the
round trip to its answer. Two loads, as the issue states them: one charger at 100 calls/s, and 50 chargers
at 2 calls/s each; each load runs against the three paths in the same run (direct, bare relay, proxy).

Figures: round-trip p50 and p99 per path, and what each relay adds over the direct path. Target (issue 14):
the judging proxy adds at most 2 ms p99 over a direct connection. On a shared machine run it twice: the
chargers, the relays and the target share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

CALL = ('[2,"{uid}","MeterValues",{{"evseId":1,"meterValue":[{{"timestamp":"2026-01-01T00:00:00.000Z",'
        '"sampledValue":[{{"value":{value},"measurand":"Energy.Active.Import.Register"}}]}}]}}]')


# ---- the target and the relays, each in its own process ----------------------------------------------

async def _target(port_out: Any) -> None:
    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg[0] == 2:
                await ws.send(json.dumps([3, msg[1], {}]))
    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], ping_interval=None) as server:  # type: ignore[list-item]
        port_out.put(server.sockets[0].getsockname()[1])
        await asyncio.Future()


async def _bare(to: str, port_out: Any) -> None:
    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        async with connect(to + ws.request.path, subprotocols=["ocpp2.0.1"], ping_interval=None) as up:  # type: ignore[list-item]
            async def pump(a: Any, b: Any) -> None:
                with contextlib.suppress(Exception):
                    async for m in a:
                        await b.send(m)
            await asyncio.wait([asyncio.ensure_future(pump(ws, up)), asyncio.ensure_future(pump(up, ws))],
                               return_when=asyncio.FIRST_COMPLETED)
    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], ping_interval=None) as server:  # type: ignore[list-item]
        port_out.put(server.sockets[0].getsockname()[1])
        await asyncio.Future()


async def _proxy(to: str, port_out: Any) -> None:
    from instruments.clock import Clock
    from lab.bench import CsmsConfig, ProxyConfig
    from runner.proxy import ProxyHarness
    from runner.recorder import Recorder

    sys.setswitchinterval(0.001)   # as a bench session sets it (runner/bench_session.py)
    clock = Clock()
    recorder = Recorder(clock)
    recorder.begin(None, scenario=False)   # bounded memory, as `chargespec proxy` records
    harness = ProxyHarness(recorder, clock, CsmsConfig(), proxy=ProxyConfig(to=to))
    url = await harness.start()
    port_out.put(int(url.rsplit(":", 1)[1]))
    await asyncio.Future()


def _serve(kind: str, to: str, port_out: Any) -> None:
    coro = _target(port_out) if kind == "target" else _bare(to, port_out) if kind == "bare" else _proxy(to, port_out)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)


def _start(kind: str, to: str = "") -> tuple[mp.Process, str]:
    q: Any = mp.get_context("spawn").Queue()
    p = mp.get_context("spawn").Process(target=_serve, args=(kind, to, q), daemon=True)
    p.start()
    return p, f"ws://127.0.0.1:{q.get(timeout=30)}"


# ---- the chargers ------------------------------------------------------------------------------

async def _charger(url: str, name: str, rate: float, seconds: float, warmup: float, out: list[float],
                   phase: float) -> None:
    async with connect(f"{url}/{name}", subprotocols=["ocpp2.0.1"], ping_interval=None) as ws:  # type: ignore[list-item]
        period = 1.0 / rate
        start = time.perf_counter() + phase * period   # chargers spread over the period, as in a real fleet
        n = 0
        while True:
            due = start + n * period
            now = time.perf_counter()
            if due - start > warmup + seconds:
                return
            if due > now:
                await asyncio.sleep(due - now)
            t0 = time.perf_counter()
            await ws.send(CALL.format(uid=f"{name}-{n}", value=1000 + n))
            await ws.recv()
            if t0 - start >= warmup:
                out.append(time.perf_counter() - t0)
            n += 1


async def _load(url: str, chargers: int, rate: float, seconds: float) -> list[float]:
    out: list[float] = []
    await asyncio.gather(*(_charger(url, f"CS{i:03d}", rate, seconds, 1.0, out, i / chargers)
                           for i in range(chargers)))
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))] * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per load and path")
    args = ap.parse_args(argv)
    procs: list[mp.Process] = []
    try:
        target, target_url = _start("target")
        procs.append(target)
        bare, bare_url = _start("bare", target_url)
        proxy, proxy_url = _start("proxy", target_url)
        procs += [bare, proxy]
        loads = [("1 charger x 100 calls/s", 1, 100.0), ("50 chargers x 2 calls/s", 50, 2.0)]
        paths = [("direct", target_url + "/ocpp"), ("bare relay", bare_url + "/ocpp"), ("judging proxy", proxy_url)]
        print(f"{'load':26} {'path':14} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'+p50 ms':>8} {'+p99 ms':>8}")
        verdict = True
        for label, chargers, rate in loads:
            base: tuple[float, float] | None = None
            for path, url in paths:
                got = asyncio.run(_load(url, chargers, rate, args.seconds))
                p50, p99 = _pct(got, 50), _pct(got, 99)
                base = base or (p50, p99)
                added = (p50 - base[0], p99 - base[1])
                print(f"{label:26} {path:14} {len(got):6} {p50:8.2f} {p99:8.2f} {added[0]:+8.2f} {added[1]:+8.2f}")
                if path == "judging proxy" and added[1] > 2.0:
                    verdict = False
        print(f"target: the judging proxy adds at most 2 ms p99 over direct: {'met' if verdict else 'NOT MET'}")
        return 0 if verdict else 1
    finally:
        for p in procs:
            p.terminate()
            p.join(5)


if __name__ == "__main__":
    sys.exit(main())
