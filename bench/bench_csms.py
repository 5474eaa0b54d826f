"""Benchmark: the CSMS harness against a bare `ocpp` CSMS under the same charger load.

    .venv/bin/python bench/bench_csms.py [--chargers 200] [--seconds 20] [--rounds 3] [--validators]

Each server runs in its own process and the load generator in another, so neither shares an event loop
or a GIL with the server under test. The load: every charger connects, boots, starts a transaction and
then sends TransactionEvent Updated (with a meter value) back to back, waiting for each answer. Printed:
calls/s, round-trip p50/p99 for each server, the harness's throughput and p99 as ratios to the bare one's,
and each server's garbage-collector pauses (gc.callbacks: count, total and longest full collection),
which is what made the harness's p99 twice the bare one's while it kept every parsed frame in memory.
With --rounds N the servers are measured alternately N times (a shared machine drifts) and the median
round of each is reported. --validators also times schema validation per realistic message with
jsonschema-rs (what the harness uses), jsonschema and fastjsonschema (if installed), and shows each
one's message for the same bad payload.

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


def _gc_pauses() -> dict[str, Any]:
    """Install gc.callbacks timing every collection; return the live stats dict."""
    import gc

    stats: dict[str, Any] = {"collections": [0, 0, 0], "total_ms": 0.0, "max_full_ms": 0.0, "max_ms": 0.0}
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = 1000 * (time.perf_counter() - started[0])
        stats["collections"][info["generation"]] += 1
        stats["total_ms"] += ms
        stats["max_ms"] = max(stats["max_ms"], ms)
        if info["generation"] == 2:
            stats["max_full_ms"] = max(stats["max_full_ms"], ms)
    gc.callbacks.append(callback)
    return stats


def serve_main(kind: str) -> None:
    gc_stats = _gc_pauses()

    async def main() -> None:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(_harness_server(ready) if kind == "harness" else _bare_server(ready))
        print(await ready, flush=True)
        await task

    def run() -> None:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(SystemExit):
            asyncio.run(main())
        print(json.dumps({"gc": gc_stats}), flush=True)
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
        result = dict(json.loads(out.strip().splitlines()[-1]))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            rest, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            rest = ""
    lines = [ln for ln in rest.splitlines() if ln.startswith('{"gc"')]
    result["gc"] = json.loads(lines[-1])["gc"] if lines else None
    return result


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median p99 (a whole round, so its figures belong together)."""
    return sorted(rounds, key=lambda r: r["p99_ms"])[len(rounds) // 2]


def _gc_text(r: dict[str, Any]) -> str:
    g = r.get("gc")
    if not g:
        return "-"
    return (f"{sum(g['collections'])} ({g['collections'][2]} full), {g['total_ms']:.0f} ms in all, "
            f"longest full {g['max_full_ms']:.1f} ms")


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
    p.add_argument("--rounds", type=int, default=1, help="measure each server this many times, alternately")
    p.add_argument("--validators", action="store_true", help="also time schema validators per message")
    args = p.parse_args()
    print(f"{args.chargers} chargers, {args.seconds:g} s of back-to-back TransactionEvent Updated each, "
          f"{args.rounds} round(s), {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    rounds: dict[str, list[dict[str, Any]]] = {"bare": [], "harness": []}
    for _ in range(args.rounds):
        for kind in rounds:
            rounds[kind].append(measure(kind, args.chargers, args.seconds))
    print(f"{'server':<10}{'calls':>10}{'calls/s':>12}{'p50 ms':>10}{'p99 ms':>10}   garbage collections")
    for kind, rs in rounds.items():
        for i, r in enumerate(rs):
            label = kind if args.rounds == 1 else f"{kind} #{i + 1}"
            print(f"{label:<10}{r['calls']:>10}{r['calls_per_s']:>12.0f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}   "
                  f"{_gc_text(r)}")
    bare, harness = _median_round(rounds["bare"]), _median_round(rounds["harness"])
    share = harness["calls_per_s"] / bare["calls_per_s"]
    p99 = harness["p99_ms"] / bare["p99_ms"]
    print(f"harness / bare (median rounds): throughput {share:.0%} (target: at least 75 %), "
          f"p99 {p99:.2f}x (target: at most 1.00x) -> "
          f"{'OK' if share >= 0.75 and p99 <= 1.0 else 'OVER TARGET'}")
    if args.validators:
        compare_validators()
    return 0


# ---- schema validators -------------------------------------------------------------------------

_STAMP = "2025-01-01T00:00:00.000Z"
_MESSAGES: dict[tuple[str, str], dict[str, Any]] = {
    ("TransactionEvent", "request"): {
        "eventType": "Updated", "timestamp": _STAMP, "triggerReason": "MeterValuePeriodic", "seqNo": 7,
        "transactionInfo": {"transactionId": "TX-1", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": _STAMP, "sampledValue": [
            {"value": 1234.5, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}},
            *({"value": 16.0, "measurand": "Current.Import", "phase": ph} for ph in ("L1", "L2", "L3")),
            {"value": 11040.0, "measurand": "Power.Active.Import"}]}]},
    ("MeterValues", "request"): {"evseId": 1, "meterValue": [{"timestamp": _STAMP, "sampledValue": [
        {"value": 1234.5, "measurand": "Energy.Active.Import.Register"}]}]},
    ("StatusNotification", "request"): {"timestamp": _STAMP, "connectorStatus": "Occupied", "evseId": 1,
                                        "connectorId": 1},
    ("BootNotification", "request"): {"reason": "PowerUp", "chargingStation": {
        "model": "M", "vendorName": "V", "firmwareVersion": "1.0", "serialNumber": "S"}},
    ("Heartbeat", "response"): {"currentTime": _STAMP},
}


def compare_validators() -> None:
    import timeit

    import jsonschema_rs
    from jsonschema import Draft6Validator, FormatChecker

    from runner.csms.schemas import is_datetime, schema_of, validate

    formats = FormatChecker(formats=())
    formats.checks("date-time")(lambda v: not isinstance(v, str) or is_datetime(v))
    try:
        import fastjsonschema
    except ImportError:
        fastjsonschema = None
    names = ["jsonschema-rs", "jsonschema", *(["fastjsonschema"] if fastjsonschema else [])]
    print(f"\nschema validation of a valid message, µs (best of 3 x 2000): {', '.join(names)}; "
          "'harness' is runner.csms.schemas.validate")
    print(f"{'message':<30}" + "".join(f"{n:>16}" for n in [*names, "harness"]))
    for (action, kind), payload in _MESSAGES.items():
        schema = schema_of(action, kind)  # type: ignore[arg-type]
        checks = [jsonschema_rs.Draft6Validator(schema, validate_formats=True, formats={"date-time": is_datetime})
                  .is_valid, Draft6Validator(schema, format_checker=formats).is_valid]
        if fastjsonschema:
            checks.append(fastjsonschema.compile(schema, formats={"date-time": is_datetime}))
        checks.append(lambda p, a=action, k=kind: validate(a, k, p))
        times = [min(timeit.repeat(lambda c=c, p=payload: c(p), number=2000, repeat=3)) / 2000 * 1e6 for c in checks]
        print(f"{action + ' ' + kind:<30}" + "".join(f"{t:>16.1f}" for t in times))
    bad = json.loads(json.dumps(_MESSAGES[("TransactionEvent", "request")]))
    del bad["timestamp"]
    bad["seqNo"] = "7"
    bad["meterValue"][0]["sampledValue"][1]["phase"] = "L4"
    schema = schema_of("TransactionEvent", "request")
    print("\none TransactionEvent with three faults (no timestamp, seqNo a string, phase L4), as each reports it:")
    print("  harness (jsonschema-rs):\n" + "".join(f"    {p.message} [{p.code}]\n"
                                                   for p in validate("TransactionEvent", "request", bad)), end="")
    print("  jsonschema:\n" + "".join(f"    {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}\n"
                                     for e in Draft6Validator(schema).iter_errors(bad)), end="")
    if fastjsonschema:
        try:
            fastjsonschema.compile(schema)(bad)
        except fastjsonschema.JsonSchemaValueException as e:
            print(f"  fastjsonschema (stops at the first):\n    {e.message}")


if __name__ == "__main__":
    sys.exit(main())
