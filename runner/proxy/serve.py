"""`chargespec proxy`: the relay alone, for commissioning against the operator's CSMS.

The charger connects here instead of to its backend; every frame is relayed unchanged to `--to`, printed
live with its sender, and judged (schema findings printed as they happen, attributed to the charger or the
backend). Ctrl-C or SIGTERM stops it and prints the summary: findings per side and the response times per
action (p50/p95/max) of the backend and of the charger.

    chargespec proxy --to wss://csms.example.net/ocpp --port 9000
    chargespec proxy --to ws://127.0.0.1:8180/steve/websocket/CentralSystemService --bench lab/benches/hall3.toml
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from instruments.clock import Clock
from lab.bench import CsmsConfig, ProxyConfig, load_bench
from runner.csms.serve import MAX_FRAME_CHARS, _LiveRecorder, _stamp
from runner.exitcodes import UsageParser
from runner.proxy.harness import ProxyHarness
from runner.proxy.relay import INJECTED_PREFIX
from runner.proxy.timing import relayed, response_times
from runner.recorder import Frame, Recorder, redact_raw
from runner.standalone import StartRefused, serve_main

_KIND = {2: "CALL", 3: "RESULT", 4: "ERROR"}


def _print_frame(console: Console, frame: Frame) -> None:
    arrow = "[cyan]charger → backend[/]" if frame.direction == "rx" else "[green]backend → charger[/]"
    if frame.unique_id and frame.unique_id.startswith(INJECTED_PREFIX):
        arrow = "[magenta]chargespec → charger (injected)[/]" if frame.direction == "tx" else \
            "[magenta]charger → chargespec (injected)[/]"
    text = redact_raw(frame.raw)
    if len(text) > MAX_FRAME_CHARS:
        text = text[:MAX_FRAME_CHARS] + f"… ({len(frame.raw)} characters)"
    console.print(f"{_stamp(frame.t)}  {escape(frame.station)}  {arrow}  {_KIND.get(frame.message_type or 0, '?')} "
                  f"{frame.action or '?'}  {escape(text)}")


def summary(recorder: Recorder, frames: list[Frame]) -> list[str]:
    """The closing summary: findings per side, then response times per action."""
    lines = []
    findings = [f for f in recorder.findings() if f.severity in ("error", "warning")]

    def side_of(station: str | None) -> str:   # filed by relay.py: "<id>", "<id> (backend)", "<id> (chargespec)"
        return next((side for side in ("backend", "chargespec") if (station or "").endswith(f" ({side})")),
                    "charger")

    for side in ("charger", "backend"):
        mine = [f for f in findings if side_of(f.station) == side]
        lines.append(f"findings against the {side}: {sum(f.severity == 'error' for f in mine)} error(s), "
                     f"{sum(f.severity == 'warning' for f in mine)} warning(s)")
    own = [f for f in findings if side_of(f.station) == "chargespec"]
    if own:
        lines.append(f"faults of chargespec's own while relaying: {len(own)} (the traffic's record has a gap)")
    injected = {e.get("unique_id") for e in recorder.events("proxy.injected")}
    figures = response_times(frames, injected, relayed(recorder), now=recorder.clock.now())
    lines.append("response times (bench clock):" if figures else "no answered calls")
    lines += ["  " + fig.text() for fig in figures.values()]
    return lines


def _parser() -> argparse.ArgumentParser:
    p = UsageParser(prog="chargespec proxy", description="relay a charger to a target CSMS, judging it")
    p.add_argument("--to", required=True, help="the target CSMS URL (ws:// or wss://); the identity is appended")
    p.add_argument("--port", type=int, default=9000, help="port the charger connects to (0: any free port)")
    p.add_argument("--host", help="address to listen on (default: the bench file's [csms] host, else 127.0.0.1; "
                                  "0.0.0.0 for the lab network)")
    p.add_argument("--bench", help="bench file: [csms] for the charger's side, [proxy] for the target's "
                                   "(cafile, client certificate for profile 3, password)")
    p.add_argument("--out", help="directory to stream ocpp.jsonl and events.jsonl into")
    return p


def _config(args: argparse.Namespace) -> tuple[CsmsConfig, ProxyConfig]:
    if not args.bench:
        try:
            return CsmsConfig(host=args.host or "127.0.0.1", port=args.port), ProxyConfig(to=args.to)
        except ValidationError as e:
            shown = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in e.errors())
            raise StartRefused(f"--to: {shown}") from None
    bench = load_bench(args.bench, overrides={"proxy.to": args.to})
    assert bench.proxy is not None
    csms = bench.csms.model_copy(update={"port": args.port, **({"host": args.host} if args.host else {})})
    return csms, bench.proxy


async def _serve(csms: CsmsConfig, proxy: ProxyConfig, out: Path | None, console: Console,
                 listening: Callable[[], None] = lambda: None) -> None:
    clock = Clock()
    recorder = _LiveRecorder(clock, console)
    recorder.begin(out, scenario=False)
    frames: list[Frame] = []   # for the response times; the recorder keeps only a window
    recorder.on_frame(frames.append)
    recorder.on_frame(lambda fr: _print_frame(console, fr))
    harness = ProxyHarness(recorder, clock, csms, proxy=proxy,
                           on_event=lambda line: console.print(f"{'':11}  {escape(line)}"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await harness.start()
    listening()
    console.print(f"[bold]chargespec proxy listening on {url}[/] (security profile {csms.security_profile}), "
                  f"relaying to {proxy.to}/<identity>. Ctrl-C stops.")
    try:
        await stop.wait()
    finally:
        await harness.stop()
        recorder.end()
        for line in summary(recorder, frames):
            console.print(line)


def main(argv: list[str]) -> int:
    """`chargespec proxy ARGS`: 0 when stopped; 4 (a usage error, nothing started) on a bench file, option,
    port or output folder that cannot work (runner/standalone.py)."""
    return serve_main("proxy", _parser(), argv, _config, lambda cfg, args, console, listening: _serve(
        *cfg, Path(args.out) if args.out else None, console, listening))


if __name__ == "__main__":
    import sys

    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
