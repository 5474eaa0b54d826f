"""`chargespec csms`: the CSMS harness alone, printing each charger's connection and traffic live.

For commissioning a charger before any spec exists: point it at the printed URL, watch it connect, boot
and report, and see every schema problem or refused login as it happens. Runs until Ctrl-C or SIGTERM.

    chargespec csms --port 9000                       # ws://127.0.0.1:9000/<identity>, any identity
    chargespec csms --port 443 --host 0.0.0.0 --bench lab/benches/hall3.toml   # its security profile
    chargespec csms --port 9000 --out commissioning/  # also stream ocpp.jsonl and events.jsonl there
    chargespec csms --port 9000 --max-frame-bytes 65536   # refuse (1009) messages over 64 KiB

Memory stays bounded however long it runs: the files keep every frame, memory only the last ones
(runner/recorder.py, docs/csms.md "Memory and limits").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape

from instruments.clock import Clock
from lab.bench import CsmsConfig, load_bench
from runner import redact
from runner.csms.harness import CsmsHarness
from runner.exitcodes import UsageParser
from runner.recorder import Finding, Frame, Recorder, redact_raw
from runner.standalone import serve_main

_KIND = {2: "CALL", 3: "RESULT", 4: "ERROR"}
_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
MAX_FRAME_CHARS = 2000  # a FullInventory NotifyReport would bury the console
MIN_FRAME_BYTES = 1024  # as CsmsConfig.max_frame_bytes


class _LiveRecorder(Recorder):
    """A recorder that also prints each finding the moment it is made."""

    def __init__(self, clock: Clock, console: Console) -> None:
        super().__init__(clock)
        self.console = console

    def finding(self, severity: Literal["error", "warning", "info"], message: str, *,
                station: str | None = None, raw: str | None = None) -> Finding:
        f = super().finding(severity, message, station=station, raw=raw)
        self.console.print(f"{_stamp(f.t)}  [{_STYLE[severity]}]{severity.upper()}: {escape(redact.text(message))}[/]")
        return f


def _stamp(t: float) -> str:
    return f"{t:10.3f}s"


def _print_frame(console: Console, frame: Frame) -> None:
    arrow = "[cyan]charger → csms[/]" if frame.direction == "rx" else "[green]csms → charger[/]"
    kind = _KIND.get(frame.message_type or 0, "?")
    text = redact_raw(frame.raw)
    if len(text) > MAX_FRAME_CHARS:
        text = text[:MAX_FRAME_CHARS] + f"… ({len(frame.raw)} characters)"
    console.print(f"{_stamp(frame.t)}  {escape(frame.station)}  {arrow}  {kind} {frame.action or '?'}  "
                  f"{escape(text)}")


def _print_event(console: Console, bench_ids: frozenset[str] | None, line: str) -> None:
    kind, _, rest = line.partition(" ")
    style = {"csms.connected": "bold green", "csms.disconnected": "bold", "csms.refused": "bold red",
             "csms.rejected": "bold red"}.get(kind, "")
    console.print(f"{'':11}  [{style or 'default'}]{escape(kind)}[/] {escape(redact.text(rest))}")
    if kind == "csms.connected" and bench_ids is not None:
        station = next((p[8:] for p in rest.split() if p.startswith("station=")), "")
        if station not in bench_ids:
            console.print(f"{'':11}  [yellow]note: {escape(station)!s} is not a station of the bench file "
                          f"({', '.join(sorted(bench_ids))})[/]")


def _parser() -> argparse.ArgumentParser:
    p = UsageParser(prog="chargespec csms", description="the CSMS harness alone, printing traffic live")
    p.add_argument("--port", type=int, default=9000, help="port to listen on (0: any free port)")
    p.add_argument("--host", help="address to listen on (default: the bench file's, else 127.0.0.1; "
                                  "0.0.0.0 for a charger on the lab network)")
    p.add_argument("--bench", help="bench file whose [csms] table gives the security profile and certificates")
    p.add_argument("--out", help="directory to stream ocpp.jsonl and events.jsonl into")
    p.add_argument("--max-frame-bytes", type=_frame_limit, metavar="N",
                   help="largest message accepted from a charger; a bigger one closes the connection with 1009 "
                        "(default: the bench file's [csms] max_frame_bytes, else 4194304)")
    return p


def _frame_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes") from None
    if value < MIN_FRAME_BYTES:
        raise argparse.ArgumentTypeError(f"{value} is below the smallest limit, {MIN_FRAME_BYTES} bytes")
    return value


def _config(args: argparse.Namespace) -> tuple[CsmsConfig, frozenset[str] | None]:
    limit = {"max_frame_bytes": args.max_frame_bytes} if args.max_frame_bytes else {}
    if not args.bench:
        return CsmsConfig(host=args.host or "127.0.0.1", port=args.port, **limit), None
    bench = load_bench(args.bench)
    update: dict[str, Any] = {"port": args.port, **limit}
    if args.host:
        update["host"] = args.host
    return bench.csms.model_copy(update=update), frozenset(s.id for s in bench.stations)


async def _serve(config: CsmsConfig, bench_ids: frozenset[str] | None, out: Path | None,
                 console: Console, listening: Callable[[], None] = lambda: None) -> None:
    clock = Clock()
    recorder = _LiveRecorder(clock, console)
    recorder.begin(out, scenario=False)   # runs for days: the files keep everything, memory a window
    recorder.on_frame(lambda fr: _print_frame(console, fr))
    harness = CsmsHarness(recorder, clock, config, on_event=lambda line: _print_event(console, bench_ids, line))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await harness.start()
    listening()
    console.print(f"[bold]chargespec CSMS listening on {url}[/]  (security profile {config.security_profile}); "
                  f"chargers connect to {url}/<identity> with subprotocol ocpp2.0.1. Ctrl-C stops.")
    console.print(f"second endpoint (csms2, for network profile migration): {harness.urls['csms2']}; "
                  f"a URL where no CSMS answers: {harness.invalid_url}")
    try:
        await stop.wait()
    finally:
        await harness.stop()
        recorder.end()
        summary = {s: len(harness.transactions(s)) for s in harness.stations()}
        console.print(f"stopped; transactions per station: {json.dumps(summary) if summary else 'no station seen'}")


def main(argv: list[str]) -> int:
    """`chargespec csms ARGS`: 0 when stopped; 4 (a usage error, nothing started) on a bench file, option,
    port or output folder that cannot work (runner/standalone.py)."""
    return serve_main("csms", _parser(), argv, _config, lambda cfg, args, console, listening: _serve(
        *cfg, Path(args.out) if args.out else None, console, listening))


if __name__ == "__main__":
    import sys

    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
