"""Driver options from the bench file, checked: a misspelt option fails at construction, not mid-run.

    opts = DriverOptions.parse("analyzer", "TCPIP0::...::SOCKET", {"timeout_s": 5},
                               extra={"visa_library": "@py"})
    opts.timeout_s, opts.extra["visa_library"]

Common options are typed fields; each driver declares its own extras with defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from instruments.errors import InstrumentConfigError

# Keys a bench opener may pass along from the instrument's table that a driver has no use for.
_BENCH_KEYS = frozenset({"serial", "calibration_due", "update_interval_s", "driver"})


@dataclass(frozen=True)
class DriverOptions:
    timeout_s: float = 2.0  # real seconds: I/O latency does not speed up with the twin's clock
    reconnect_attempts: int = 1  # a rebooted instrument or a flapped link is reopened once
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, instrument: str, address: str, options: Mapping[str, Any], *,
              extra: Mapping[str, Any] | None = None) -> DriverOptions:
        """Check `options` against the common keys and the driver's `extra` defaults."""
        defaults = dict(extra or {})
        known = {"timeout_s", "reconnect_attempts", *defaults, *_BENCH_KEYS}
        # A bench may nest driver-specific options under "options"; flatten them.
        flat = {k: v for k, v in options.items() if k != "options"}
        flat.update(options.get("options") or {})
        unknown = sorted(set(flat) - known)
        if unknown:
            raise InstrumentConfigError(
                instrument, address,
                f"unknown option(s) {', '.join(map(repr, unknown))}; this driver takes "
                f"{', '.join(sorted(known - _BENCH_KEYS))}")
        timeout_s = flat.get("timeout_s", cls.timeout_s)
        attempts = flat.get("reconnect_attempts", cls.reconnect_attempts)
        if not isinstance(timeout_s, int | float) or isinstance(timeout_s, bool) or not timeout_s > 0:
            raise InstrumentConfigError(
                instrument, address, f"option timeout_s must be a positive number of seconds, got "
                                     f"{timeout_s!r}")
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 0:
            raise InstrumentConfigError(
                instrument, address, f"option reconnect_attempts must be a whole number >= 0, got "
                                     f"{attempts!r}")
        merged = {k: flat.get(k, v) for k, v in defaults.items()}
        return cls(timeout_s=float(timeout_s), reconnect_attempts=attempts, extra=merged)
