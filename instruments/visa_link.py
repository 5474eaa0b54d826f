"""One VISA connection for an analyzer driver: commands, error naming, resynchronisation and reconnects.

    link = VisaLink(driver, visa_library="@py", timeout_s=2.0, error_query=":STATus:ERRor?")
    link.open()
    link.write_checked(":RATE 500MS")   # refused -> InstrumentCommandRejected with the instrument's text
    link.query("*IDN?")                 # -> "YOKOGAWA,WT310,..."

Every failure becomes an instrument error naming the instrument, its address and the command: a timeout
is :class:`InstrumentTimeout`, a closed or refused socket :class:`InstrumentConnectionLost`, an answer
that is not text :class:`InstrumentProtocolError`, a command the instrument refused (its error queue,
read by `write_checked` and after every timeout) :class:`InstrumentCommandRejected`. A lost connection is
reopened and the exchange retried up to `reconnect_attempts` times (once by default). The link's lock
is reentrant so a driver can hold it across a read-modify-write sequence while the sampler thread waits.

A SCPI instrument answers every query, in order, even one we stopped waiting for: after a timeout its
late answer would be read as the answer to the next query, and every reading after it would be one query
behind. So after any timeout the link resynchronises before anything else is read:

1. On an INSTR resource (VXI-11, HiSLIP, USBTMC, GPIB) it sends a device clear (pyvisa ``clear()``,
   IEEE 488.2 dcas): the instrument empties its output queue and abandons the pending query. A raw
   TCPIP SOCKET has no device clear (pyvisa-py's ``clear()`` there only drains for 0.1 s, and NI-VISA's
   may send ``*CLS``, wiping the error queue we are about to read), so it is not called there.
2. On every resource it then sends a marker, ``*ESE <n>;*ESE?`` with an ``n`` that differs from the
   previous marker's, and reads answers until ``n`` comes back, discarding the ones before it (counted in
   `stale_answers`). Because the instrument answers in order, every late answer precedes the marker's;
   this holds however late the answer is, which a timed drain cannot promise. ``*ESE`` is mandatory in
   IEEE 488.2 and is left at 0, its power-on value (chargespec uses no service requests).
3. Steps 1-2 run right after the timeout. If the marker does not come back within the timeout either,
   the timeout is raised and the link stays unsynchronised: the next exchange starts with steps 1-2
   again, and if the marker still does not come, closes and reopens the connection (a new socket holds no
   old bytes) and sends the marker once more; failing that it raises, and the link stays unsynchronised.
   No answer is read before a marker came back.
4. It reads the error queue. Query errors (-410 "Query INTERRUPTED" ...) are the trace of the timeout
   itself; any other error means the command was refused (a query with an unknown header is never
   answered), and is raised as :class:`InstrumentCommandRejected` naming the command that timed out.

An INSTR session reopened after a lost connection is resynchronised the same way before its first read:
the device's output queue may still hold the lost session's answer. A reopened socket needs no marker.
So is a link that read an answer it could not use (not text, an unreadable error-queue entry, or one a
driver `distrust`s: too few values, an unknown state): half an answer broken by a stray line end, or an
answer to another query, leaves the rest waiting in the stream, and every later reading one query behind.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from instruments.errors import (
    InstrumentCommandRejected,
    InstrumentConfigError,
    InstrumentConnectionLost,
    InstrumentProtocolError,
    InstrumentRejected,
    InstrumentTimeout,
)
from instruments.reconnecting_link import LinkOwner, ReconnectingLink
from instruments.scpi_status import ESR_QUERY, MAX_ENTRIES, esr_errors, is_query_error, parse_entry, parse_esr

R = TypeVar("R")

_LOST_CODES = frozenset({
    constants.StatusCode.error_connection_lost,
    constants.StatusCode.error_io,
    constants.StatusCode.error_resource_not_found,
    constants.StatusCode.error_resource_busy,
    constants.StatusCode.error_closing_failed,
    constants.StatusCode.error_invalid_object,
})
#: Late answers discarded while waiting for a marker before calling the stream garbage.
MAX_LATE_ANSWERS = 64


class VisaLink(ReconnectingLink):
    connection_noun = "VISA connection"

    def __init__(self, owner: LinkOwner, *, visa_library: str = "@py", timeout_s: float = 2.0,
                 reconnect_attempts: int = 1, read_termination: str = "\n",
                 write_termination: str = "\n", error_query: str | None = None) -> None:
        super().__init__(owner, timeout_s=timeout_s, reconnect_attempts=reconnect_attempts)
        self.visa_library = visa_library
        self.read_termination = read_termination
        self.write_termination = write_termination
        #: Pops one error-queue entry (``:STATus:ERRor?``); None: the IEEE 488.2 ``*ESR?`` error bits.
        self.error_query = error_query or ESR_QUERY
        self.resyncs = 0  # resynchronisations after a timeout (evidence for the report)
        self.stale_answers = 0  # late answers discarded by them
        self._unsynced = False  # a timeout or an unusable answer, and no marker has come back since
        self._timed_out: str | None = None  # the command whose timeout (or bad answer) left it unsynchronised
        self._why = ""  # what happened to that command, as the rejection after the resynchronisation says
        self._marker = 0

    @property
    def resource(self) -> Any:
        """The open pyvisa resource, or None while the link is closed or dropped."""
        return self._conn

    @property
    def synchronised(self) -> bool:
        """False from a timeout until a resynchronisation marker came back."""
        return not self._unsynced

    def write(self, command: str) -> None:
        self._run(command, lambda res: res.write(command))

    def query(self, command: str) -> str:
        return self._run(command, lambda res: res.query(command))

    def write_checked(self, command: str) -> None:
        """Send `command`, then read the instrument's errors; any is :class:`InstrumentCommandRejected`."""
        with self.lock:
            self.write(command)
            self.check_errors(command)

    def check_errors(self, command: str) -> None:
        """Raise :class:`InstrumentCommandRejected` naming `command` if the instrument reports an error."""
        with self.lock:
            errors = self._exchange(self.error_query, lambda: self._pop_errors(command))
            self.owner.last_command = command
            if errors:
                raise InstrumentCommandRejected(self.owner.name, self.owner.address, command, errors,
                                                source=self.error_query)

    def drain_errors(self) -> tuple[tuple[int, str], ...]:
        """Read and empty the error queue (or ``*ESR?``) without raising: what it held when chargespec
        came to it is no refusal of a command of ours (the front panel, an earlier program), and left in
        the queue it would be blamed on the first command we send."""
        with self.lock:
            return self._exchange(self.error_query, lambda: self._pop_errors("opening the connection"))

    def distrust(self, command: str) -> None:
        """The answer read for `command` was not one (too few values, an unknown word): it may be part of
        another answer, or another query's; resynchronise before anything else is read."""
        with self.lock:
            self._desync(command, "an unusable answer")

    # -- internals -------------------------------------------------------------------------------------

    def _desync(self, command: str, why: str) -> None:
        """Resynchronise before the next read; the first cause is the one an error after it names."""
        if not self._unsynced:
            self._timed_out, self._why = command, why
        self._unsynced = True

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
        _no_delay(res)
        return res

    def _drop(self) -> None:
        if self._wanted_open and self._conn is not None and not _is_socket(self.owner.address):
            # A new VXI-11/USBTMC session reaches the same device, whose output queue may still hold the
            # lost session's answer: clear and mark before the next read, as after a timeout.
            self._desync(self.owner.last_command or "(unknown)", "a lost connection")
        super()._drop()

    def _run(self, command: str, op: Callable[[Any], R]) -> R:
        return self._exchange(command, lambda: self._translate(op))

    def _exchange(self, command: str, body: Callable[[], R]) -> R:
        """Run `body` under the lock with reconnects; resynchronise first if a timeout left the link
        unsynchronised, and right after a timeout of its own."""

        def exchange() -> R:
            if self._unsynced:
                self._resync(reopen=True)
            try:
                return body()
            except InstrumentTimeout:
                self._desync(command, f"no answer within {self.timeout_s:g} s")
                # Right away, so the error can say why (the error queue) and the next call starts clean;
                # without reopening, so a hung instrument costs this call two timeouts, not four.
                self._resync(reopen=False)
                self.owner.last_command = command
                raise
            except InstrumentProtocolError as e:
                if not isinstance(e, InstrumentRejected):  # a refusal was read whole; garbage may not be
                    self._desync(command, "an unreadable answer")
                raise

        return self._with_reconnect(command, exchange)

    def _resync(self, *, reopen: bool) -> None:
        """Steps 1-4 of the module docstring: no late answer survives it, or it raises. Without `reopen` a
        marker that does not come back leaves the link unsynchronised for the next exchange to finish."""
        command = self._timed_out or "(unknown)"
        try:
            self._translate(self._clear_and_mark)
        except InstrumentTimeout:
            if not reopen:
                return
            self._drop()
            self._conn = self._connect()
            self.reconnects += 1
            try:
                self._translate(self._clear_and_mark)
            except InstrumentTimeout as e:
                self._drop()
                self.owner.last_command = command
                raise self._error(
                    InstrumentTimeout,
                    f"no answer within {self.timeout_s:g} s, nor to the resynchronisation query '*ESE?' "
                    "after it, even on a new connection: the instrument may be hung or busy") from e
        self._unsynced = False
        self.resyncs += 1
        try:
            errors = self._pop_errors(command)
        except (InstrumentTimeout, InstrumentProtocolError):
            self._unsynced = True  # the error query's own answer may still come, or was not one: mark again
            raise
        refused = tuple(e for e in errors if not is_query_error(e[0], esr=self.error_query == ESR_QUERY))
        self._timed_out = None
        if refused:
            raise InstrumentCommandRejected(
                self.owner.name, self.owner.address, command, refused, source=self.error_query,
                context=f"{self._why or 'no answer'}: the instrument rejected")

    def _clear_and_mark(self, res: Any) -> None:
        if not _is_socket(self.owner.address):
            with contextlib.suppress(Exception):  # a session without device clear still gets the marker
                res.clear()
        self._marker = self._marker % 255 + 1  # never the previous marker's value
        marker = self._marker
        self.owner.last_command = f"*ESE {marker};*ESE?"
        res.write(f"*ESE {marker};*ESE?")
        deadline = time.monotonic() + 2 * self.timeout_s
        discarded = 0
        while discarded < MAX_LATE_ANSWERS:
            if _marker_value(res.read()) == marker:
                res.write("*ESE 0")
                return
            discarded += 1
            self.stale_answers += 1
            if time.monotonic() > deadline:
                break
        raise self._error(InstrumentProtocolError,
                          f"resynchronising after a timeout: the marker '*ESE?' did not come back among "
                          f"{discarded} answers; the instrument is not answering in order")

    def _pop_errors(self, after: str) -> tuple[tuple[int, str], ...]:
        """Every error the instrument reports after `after` (the queue emptied), as (code, text)."""
        query = self.error_query
        if query == ESR_QUERY:
            answer = self._translate(lambda res: res.query(query))
            esr = parse_esr(answer)
            if esr is None:
                raise self._error(InstrumentProtocolError,
                                  f"unreadable answer {answer[:60]!r} to {query} after {after!r}")
            return esr_errors(esr)
        out: list[tuple[int, str]] = []
        for _ in range(MAX_ENTRIES):
            answer = self._translate(lambda res: res.query(query))
            entry = parse_entry(answer)
            if entry is None:
                raise self._error(InstrumentProtocolError,
                                  f"unreadable answer {answer[:60]!r} to {query} after {after!r}; expected "
                                  "<code>,\"<text>\"")
            if entry[0] == 0:
                return tuple(out)
            out.append(entry)
        raise self._error(InstrumentProtocolError, f"the error queue did not empty after {MAX_ENTRIES} reads "
                                                   f"of {query}")

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


def _is_socket(address: str) -> bool:
    return address.strip().upper().endswith("::SOCKET")


def _marker_value(answer: str) -> int | None:
    """The number in an ``*ESE?`` answer (``12``, ``+12``, ``*ESE 12``), or None."""
    words = answer.strip().split()
    try:
        return int(words[-1]) if words else None
    except ValueError:
        return None


def _socket_of(resource: Any) -> socket.socket | None:
    """The TCP socket under a raw socket resource of pyvisa-py, else None (other resources, other backends)."""
    try:
        sock = resource.visalib.sessions[resource.session].interface
    except Exception:
        return None
    return sock if isinstance(sock, socket.socket) else None


def _no_delay(resource: Any) -> None:
    """Send each command at once on a raw socket: pyvisa-py leaves Nagle's algorithm on, so a command that
    has no answer, followed by the error-queue query, waits for the instrument's delayed ACK (40 ms on
    Linux; 45 ms per checked command measured on the twin, 2 s per bench opening)."""
    sock = _socket_of(resource)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _socket_problem(resource: Any) -> str | None:
    """For a raw TCP socket resource: why the socket is unusable, or None if it looks alive.

    pyvisa-py neither reports a refused connection at open nor notices the peer closing (a read just runs
    into the timeout), so peek at the socket to tell "closed" from "slow". Other resources: None.
    """
    sock = _socket_of(resource)
    if sock is None:
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

