"""Run the twin on its own, against any CSMS: ``chargespec twin --csms ws://127.0.0.1:9000``.

Prints where its instruments listen, then runs until Ctrl-C (or for ``--duration`` bench seconds):

    python -m lab.twin.serve --csms ws://127.0.0.1:9000 --fault meter_gain=1.03 --speed 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

import lab
from instruments.clock import Clock
from lab.bench import BenchFileError, load_bench, speed_problem
from lab.twin import Twin
from lab.twin.faults import FaultError, parse_fault_args, parse_faults

DEFAULT_BENCH = Path(lab.__file__).parent / "benches" / "twin.toml"


DEFAULT_CSMS_PORT = 9000  # where `chargespec csms` listens unless told otherwise
# A refusal to start (a --speed, a fault knob or a bench file that is wrong): nothing ran. The code every
# chargespec command gives a usage error (runner/exitcodes.py RunExit.USAGE_ERROR; 2 means interrupted).
USAGE_ERROR = 4


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chargespec twin", description="Run the twin bench against a CSMS.")
    p.add_argument("--bench", default=str(DEFAULT_BENCH), help="twin bench file (default: lab/benches/twin.toml)")
    p.add_argument("--csms", help="CSMS websocket URL without the station id (default: the bench's [csms], "
                   f"or ws://127.0.0.1:{DEFAULT_CSMS_PORT} where `chargespec csms` listens by default)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help="twin fault knob")
    p.add_argument("--speed", type=float, help="clock speed (default 1: an external CSMS runs in real time)")
    p.add_argument("--duration", type=float, help="stop after this many bench seconds (default: run until Ctrl-C)")
    return p


async def _serve(twin: Twin, url: str, clock: Clock, duration: float | None) -> None:
    endpoints = await twin.start(url)
    for station, roles in endpoints.items():
        print(f"station {station} -> {url}/{station}")
        for role, address in sorted(roles.items()):
            print(f"  {role:10s} {address}")
    sys.stdout.flush()
    try:
        if duration is None:
            await asyncio.Event().wait()
        else:
            await clock.asleep(duration)
    finally:
        await twin.stop()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Alone, the twin talks to a CSMS that lives in real time: 1x unless asked otherwise.
    if args.speed is not None and (problem := speed_problem(args.speed)):
        print(f"chargespec twin: --speed: {problem}", file=sys.stderr)
        return USAGE_ERROR
    overrides = {"clock.speed": 1.0 if args.speed is None else args.speed}
    try:
        bench = load_bench(args.bench, overrides=overrides)
        if bench.kind != "twin":
            raise BenchFileError(args.bench, [f"kind is {bench.kind!r}; `chargespec twin` needs a twin bench"])
        file_faults = bench.twin.faults if bench.twin else {}
        faults = parse_faults({**file_faults, **parse_fault_args(args.fault)})
    except (BenchFileError, FaultError) as e:
        print(f"chargespec twin: {e}", file=sys.stderr)
        return USAGE_ERROR
    url = args.csms
    if url is None:
        # The bench's own port 0 means "any free port" for a run; alone, meet `chargespec csms` at its default.
        port = bench.csms.port or DEFAULT_CSMS_PORT
        url = f"ws://{bench.csms.host}:{port}"
    clock = Clock(speed=bench.clock.speed)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(Twin(bench, clock, faults), url, clock, args.duration))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
