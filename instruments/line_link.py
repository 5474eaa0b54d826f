"""A line-oriented connection over any pyserial URL (a COM port, ``/dev/ttyUSB0``, ``socket://host:port``).

    link = LineLink(driver, "socket://127.0.0.1:7001", timeout_s=2.0)
    link.open()
    def exchange() -> str:
        link.send("1 *IDN?")
        return link.read_line(link.deadline())
    answer = link.run("1 *IDN?", exchange)

Failures name the instrument, its address and the last command: no line within the timeout is an
:class:`InstrumentTimeout`, a closed port or socket :class:`InstrumentConnectionLost`, bytes that are
not ASCII text or an endless line :class:`InstrumentProtocolError`. `run` reopens a lost line and runs
the whole exchange again, up to `reconnect_attempts` times (once by default). The lock is reentrant and
shared by every thread that talks to the instrument.

Running it again is only right for a command that does the same when done twice (set a state, read a value).
For one that does not (a token presented twice starts a session and then stops it), `run(..., resend=False)`
reconnects only while nothing has gone out: once the command was written, a lost line is an
:class:`InstrumentConnectionLost` saying the command may have been carried out, and it is not sent again.

A reply that arrives after its request timed out stays in the line's buffer. The link does not drain it
(no timed drain can know the reply is complete); the protocol must tell replies apart instead: the
chargespec-ev protocol carries a request id in every reply and its driver skips replies to other ids, and
the abcd-ev protocol has no replies at all, only timestamped reports. A new driver on this link must
do the same, or resynchronise itself after a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import serial

from instruments.errors import (
    InstrumentConfigError,
    InstrumentConnectionLost,
    InstrumentProtocolError,
    InstrumentTimeout,
)
from instruments.reconnecting_link import LinkOwner, ReconnectingLink

R = TypeVar("R")


class _SentOnce(Exception):
    """Carries a lost line's error past the reconnect loop: the command went out and must not go again."""

    def __init__(self, error: InstrumentConnectionLost) -> None:
        super().__init__(str(error))
        self.error = error

# Longest line we wait for before calling the stream garbage (a wrong baud rate never sends "\n").
MAX_LINE = 1024
# Each low-level read blocks at most this long (real s), so deadlines hold without reconfiguring the port.
_SLICE_S = 0.05


class LineLink(ReconnectingLink):
    connection_noun = "line"

    def __init__(self, owner: LinkOwner, url: str, *, timeout_s: float = 2.0, reconnect_attempts: int = 1,
                 baudrate: int = 115200) -> None:
        super().__init__(owner, timeout_s=timeout_s, reconnect_attempts=reconnect_attempts)
        self.url = url
        self.baudrate = baudrate
        self._buf = bytearray()
        self.writes = 0  # writes attempted on the line (tells whether a command may have gone out)

    @property
    def port(self) -> Any:
        """The open pyserial port, or None while the line is closed or dropped."""
        return self._conn

    def deadline(self) -> float:
        """A monotonic deadline one timeout from now."""
        return time.monotonic() + self.timeout_s

    def send(self, line: str) -> None:
        self.send_raw(line.encode("ascii") + b"\n")

    def send_raw(self, data: bytes) -> None:
        """Bytes exactly as given, no terminator (for single-character protocols)."""
        self.writes += 1  # before writing: bytes may leave even if the write then fails
        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialTimeoutException as e:
            raise self._error(InstrumentTimeout, f"could not send within {self.timeout_s:g} s") from e
        except (serial.SerialException, OSError) as e:
            raise self._error(InstrumentConnectionLost, f"line closed while sending: {e}") from e

    def read_line(self, deadline: float) -> str:
        """The next line without its terminator (and without a trailing ``\\r``)."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                raw = bytes(self._buf[:nl]).rstrip(b"\r")
                del self._buf[: nl + 1]
                try:
                    return raw.decode("ascii")
                except UnicodeDecodeError:
                    raise self._error(InstrumentProtocolError,
                                      f"garbage on the line (not ASCII): {raw[:40]!r}; check the baud "
                                      f"rate ({self.baudrate}) and that the right device is on {self.url}"
                                      ) from None
            if len(self._buf) > MAX_LINE:
                junk = bytes(self._buf[:40])
                self._buf.clear()
                raise self._error(InstrumentProtocolError,
                                  f"garbage on the line (no line end in {MAX_LINE} bytes): {junk!r}; "
                                  f"check the baud rate ({self.baudrate}) and that the right device is on "
                                  f"{self.url}")
            if time.monotonic() >= deadline:
                raise self._error(InstrumentTimeout, f"no answer within {self.timeout_s:g} s")
            try:
                chunk = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as e:
                raise self._error(InstrumentConnectionLost, f"line closed: {e}") from e
            self._buf += chunk

    def has_input(self) -> bool:
        """A complete line is buffered, or bytes are waiting on the port."""
        try:
            return b"\n" in self._buf or bool(self.port.in_waiting)
        except (serial.SerialException, OSError) as e:
            raise self._error(InstrumentConnectionLost, f"line closed: {e}") from e

    def run(self, command: str, exchange: Callable[[], R], *, resend: bool = True) -> R:
        """Run one exchange under the lock, naming `command`; reconnect and rerun it if the line drops.
        With `resend` False it is rerun only if the line dropped before anything was written."""
        if resend:
            return self._with_reconnect(command, exchange)

        def at_most_once() -> R:
            written = self.writes
            try:
                return exchange()
            except InstrumentConnectionLost as e:
                if self.writes == written:
                    raise  # nothing went out: reconnecting and running it again is safe
                self._drop()  # the next exchange reconnects
                raise _SentOnce(self._error(
                    InstrumentConnectionLost,
                    f"{e.detail} after {command!r} was sent; not sent again, since the device may already "
                    "have carried it out (check the charger before running again)")) from e

        try:
            return self._with_reconnect(command, at_most_once)
        except _SentOnce as once:
            raise once.error from once.__cause__

    # -- internals -------------------------------------------------------------------------------------

    def _connect(self) -> Any:
        self._buf.clear()
        try:
            return serial.serial_for_url(self.url, baudrate=self.baudrate,
                                         timeout=min(_SLICE_S, self.timeout_s), write_timeout=self.timeout_s)
        except ValueError as e:
            raise self._error(InstrumentConfigError,
                              f"{self.url!r} is not a serial port or pyserial URL: {e}") from e
        except (serial.SerialException, OSError) as e:
            raise self._error(InstrumentConnectionLost,
                              f"cannot open {self.url!r}: {e}; check the port or address and that the "
                              "emulator is on") from e

    def _drop(self) -> None:
        super()._drop()
        self._buf.clear()
