"""One VISA connection for an analyzer driver: commands, error naming, and reconnects.

    link = VisaLink(driver, visa_library="@py", timeout_s=2.0, reconnect_attempts=1)
    link.open()
    link.write(":INTEG:RES")
    link.query("*IDN?")   # -> "YOKOGAWA,WT310,..."

Every failure becomes an instrument error naming the instrument, its address and the command: a timeout
is :class:`InstrumentTimeout`, a closed or refused socket :class:`InstrumentConnectionLost`, an answer
that is not text :class:`InstrumentProtocolError`. A lost connection is reopened and the command retried
up to `reconnect_attempts` times. The link's lock is reentrant so a driver can hold it across a
read-modify-write sequence (query the integrator state, then start it) while the sampler thread waits.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from instruments.errors import (
    InstrumentConfigError,
    InstrumentConnectionLost,
    InstrumentProtocolError,
    InstrumentTimeout,
)
from instruments.reconnecting_link import LinkOwner, ReconnectingLink

R = TypeVar("R")

_LOST_CODES = frozenset({
    constants.StatusCode.error_connection_lost,
    constants.StatusCode.error_io,
    constants.StatusCode.error_resource_not_found,
    constants.StatusCode.error_resource_busy,
    constants.StatusCode.error_closing_failed,
    constants.StatusCode.error_invalid_object,
})


class VisaLink(ReconnectingLink):
    connection_noun = "VISA connection"

    def __init__(self, owner: LinkOwner, *, visa_library: str = "@py", timeout_s: float = 2.0,
                 reconnect_attempts: int = 0, read_termination: str = "\n",
                 write_termination: str = "\n") -> None:
        super().__init__(owner, timeout_s=timeout_s, reconnect_attempts=reconnect_attempts)
        self.visa_library = visa_library
        self.read_termination = read_termination
        self.write_termination = write_termination

    @property
    def resource(self) -> Any:
        """The open pyvisa resource, or None while the link is closed or dropped."""
        return self._conn

    def write(self, command: str) -> None:
        self._run(command, lambda res: res.write(command))

    def query(self, command: str) -> str:
        return self._run(command, lambda res: res.query(command))

    # -- internals -------------------------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            rm = pyvisa.ResourceManager(self.visa_library)
        except Exception as e:  # pyvisa raises OSError, ValueError or its own errors for a bad library
            raise self._error(InstrumentConfigError, f"cannot load the VISA library {self.visa_library!r} "
                              f"(option visa_library): {e}") from e
        try:
            res = rm.open_resource(
                self.owner.address,
                read_termination=self.read_termination,
                write_termination=self.write_termination,
                timeout=max(1, round(self.timeout_s * 1000)),
                open_timeout=max(1, round(self.timeout_s * 1000)),
            )
        except VisaIOError as e:
            raise self._error(InstrumentConnectionLost,
                              f"cannot open the VISA resource: {e.description}") from e
        except Exception as e:  # pyvisa-py raises a bare Exception("could not connect: ...")
            raise self._error(InstrumentConnectionLost,
                              f"cannot open the VISA resource: {e}; check the address and that the "
                              "instrument is on and reachable") from e
        problem = _socket_problem(res)
        if problem is not None:
            with contextlib.suppress(Exception):
                res.close()
            raise self._error(InstrumentConnectionLost,
                              f"cannot connect: {problem}; check the address and that the instrument is on")
        return res

    def _run(self, command: str, op: Callable[[Any], R]) -> R:
        return self._with_reconnect(command, lambda: self._translate(op))

    def _translate(self, op: Callable[[Any], R]) -> R:
        try:
            return op(self.resource)
        except VisaIOError as e:
            if e.error_code == constants.StatusCode.error_timeout:
                problem = _socket_problem(self.resource)
                if problem is not None:
                    raise self._error(InstrumentConnectionLost, problem) from e
                raise self._error(InstrumentTimeout, f"no answer within {self.timeout_s:g} s") from e
            if e.error_code in _LOST_CODES:
                raise self._error(InstrumentConnectionLost, e.description) from e
            raise self._error(InstrumentProtocolError, e.description) from e
        except UnicodeDecodeError as e:
            raise self._error(InstrumentProtocolError, f"answer is not ASCII text: {e.object[:40]!r}") from e
        except OSError as e:
            raise self._error(InstrumentConnectionLost, str(e) or type(e).__name__) from e


def _socket_problem(resource: Any) -> str | None:
    """For a raw TCP socket resource: why the socket is unusable, or None if it looks alive.

    pyvisa-py neither reports a refused connection at open nor notices the peer closing (a read just runs
    into the timeout), so peek at the socket to tell "closed" from "slow". Other resources: None.
    """
    try:
        sock = resource.visalib.sessions[resource.session].interface
    except Exception:
        return None
    if not isinstance(sock, socket.socket):
        return None
    try:
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            return f"socket error: {os.strerror(err)}"
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    except OSError as e:
        return f"socket error: {e.strerror or e}"
    return "the instrument closed the connection" if data == b"" else None

