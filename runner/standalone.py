"""What `chargespec csms` and `chargespec proxy` share: read the configuration, serve until Ctrl-C or SIGTERM,
and turn a refusal to start into the exit code and message `chargespec run` gives for the same mistake.

A bench file that is wrong (a key, a value, a certificate it names that cannot be loaded), an option that is
wrong, or a port or output folder that cannot be used is a usage error (runner/exitcodes.py, 4): nothing ran,
and stderr names the file and the key (or the option). Stopping with Ctrl-C or SIGTERM is the normal end (0).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from rich.console import Console

from lab.bench import BenchFileError
from runner.csms.security import SecurityConfigError
from runner.exitcodes import RunExit

Config = TypeVar("Config")


class StartRefused(Exception):
    """A command-line option that cannot work, said as `OPTION: why`."""


def serve_main(command: str, parser: argparse.ArgumentParser, argv: list[str],
               configure: Callable[[argparse.Namespace], Config],
               serve: Callable[[Config, argparse.Namespace, Console, Callable[[], None]],
                               Coroutine[Any, Any, None]]) -> int:
    """Parse `argv`, build the configuration (which reads the bench file) and serve; the exit code. `serve`
    calls the callable it is given once it listens: an OSError before that is a refusal to start (4), after
    it a fault of a running harness (3, the bench broke)."""
    args = parser.parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    started = False

    def listening() -> None:
        nonlocal started
        started = True

    try:
        config = configure(args)
        asyncio.run(serve(config, args, console, listening))
    except BenchFileError as e:  # already `FILE: KEY: problem`, one line each
        return _refuse(command, str(e))
    except SecurityConfigError as e:
        # `[csms] certfile = '…': no such file`: the key is named; the file it is in is the bench file.
        bench = getattr(args, "bench", None)
        return _refuse(command, f"{bench}: {e}" if bench else str(e))
    except StartRefused as e:
        return _refuse(command, str(e))
    except OSError as e:  # a port in use or not ours, an --out folder that cannot be written
        if started:
            print(f"chargespec {command}: stopped: {e}", file=sys.stderr)
            return int(RunExit.BENCH_BROKEN)
        return _refuse(command, f"cannot start: {e}")
    return 0


def _refuse(command: str, message: str) -> int:
    for line in message.splitlines() or [message]:
        print(f"chargespec {command}: {line}", file=sys.stderr)
    print(f"chargespec {command}: nothing was started (exit {int(RunExit.USAGE_ERROR)}, a usage error)",
          file=sys.stderr)
    return int(RunExit.USAGE_ERROR)
