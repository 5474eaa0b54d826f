"""What every instrument driver on a serial line shares: checked options, the line, open and close.

A driver declares its options beyond the common ones (with defaults; ``baudrate`` is one of them) and
talks through ``self.link``, a :class:`~instruments.line_link.LineLink` on the instrument's pyserial URL:

    class MyEv(SerialEvEmulator):
        extra_options = {"baudrate": 9600}
        def read_pwm(self) -> PwmReading:   # PwmReading(duty, freq, t=<bench time it was measured>)
            return self.link.run("PWM?", lambda: ...)

Another role on a serial line mixes :class:`OnSerialLine` in before its protocol class
(``class MyReader(OnSerialLine, TokenReader)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from instruments.base import EvEmulator
from instruments.clock import Clock
from instruments.line_link import LineLink
from instruments.options import DriverOptions


class OnSerialLine:
    #: Driver-specific options and their defaults; the common ones are in DriverOptions.
    extra_options: ClassVar[Mapping[str, Any]] = {"baudrate": 115200}
    _open: bool

    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(name, address, clock, **options)  # the protocol class (EvEmulator, TokenReader)
        self.opts = DriverOptions.parse(name, address, options, extra=self.extra_options)
        self.link = LineLink(self, address, timeout_s=self.opts.timeout_s,
                             reconnect_attempts=self.opts.reconnect_attempts,
                             baudrate=int(self.opts.extra["baudrate"]))

    def open(self) -> None:
        self.link.open()
        self._open = True

    def close(self) -> None:
        self._open = False
        self.link.close()


class SerialEvEmulator(OnSerialLine, EvEmulator):
    """An EV emulator on a serial line."""
