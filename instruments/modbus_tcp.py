"""A strict Modbus TCP client for holding registers (function codes 3 and 16), written for the EMS driver
(instruments/ems_modbus.py): every answer is checked against the request it answers, so that a reading or
an acknowledgement that belongs to another request is never taken for this one's.

The facts it checks (Modbus Application Protocol V1.1b3; Modbus Messaging on TCP/IP Implementation Guide
V1.0b): the MBAP header is transaction id (2 bytes, copied by the server from the request), protocol id
(2 bytes, 0 for Modbus), length (2 bytes: the bytes that follow, unit id included) and unit id (1 byte);
an exception answer is the request's function code + 0x80 and one exception code; a read of N holding
registers is answered with a byte count of 2N and N registers; a write of several registers is answered
with its starting address and quantity. Modbus TCP has no CRC (the RTU framing's check): TCP carries
the integrity, the MBAP header the pairing.

    link = ModbusTcpLink("10.0.0.7", 502, unit=1, timeout_s=2.0)
    link.connect()
    link.read_holding(0, 11)        # [0x4353, 1, ...]
    link.write_many(2, [1, 0, 11000])

Errors: :class:`LinkDown` (no connection, or it closed), :class:`NoAnswer` (nothing complete within the
timeout), :class:`BadAnswer` (an answer that is not the answer to this request: its message says what was
wrong), :class:`ExceptionAnswer` (the device refused, with its code). After a NoAnswer or a BadAnswer the
connection is closed: where the next answer starts in the stream is no longer known, and a late answer
must not be read as the next request's.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections import deque
from typing import NoReturn

READ_HOLDING, WRITE_MANY = 3, 16
MAX_READ, MAX_WRITE = 125, 123  # registers in one request (Modbus Application Protocol 6.3, 6.12)

#: The exception codes of the Modbus Application Protocol V1.1b3 (section 7); 07 is not defined there.
EXCEPTION_NAMES = {
    0x01: "illegal function", 0x02: "illegal data address", 0x03: "illegal data value",
    0x04: "server device failure", 0x05: "acknowledge (the request is still being processed)",
    0x06: "server device busy", 0x08: "memory parity error", 0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}


class ModbusLinkError(Exception):
    """Something went wrong on the link; the message says what."""


class LinkDown(ModbusLinkError):
    """No connection, or the peer closed it."""


class NoAnswer(ModbusLinkError):
    """No complete answer within the timeout."""


class BadAnswer(ModbusLinkError):
    """An answer that is not this request's answer (framing, pairing, function code or content)."""


class ExceptionAnswer(ModbusLinkError):
    """The device answered with a Modbus exception."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.name = EXCEPTION_NAMES.get(code, "not a code of the Modbus application protocol")
        super().__init__(f"exception {code:02X} ({self.name})")


class ModbusTcpLink:
    """One Modbus TCP connection to one unit; not thread-safe (the caller holds a lock)."""

    def __init__(self, host: str, port: int, *, unit: int, timeout_s: float) -> None:
        self.host, self.port, self.unit, self.timeout_s = host, port, unit, timeout_s
        self._sock: socket.socket | None = None
        self._tid = 0
        self._sent: deque[int] = deque(maxlen=256)  # transaction ids sent on this connection, oldest first
        self._round_trips: deque[float] = deque(maxlen=32)  # real seconds of the latest whole exchanges

    @property
    def worst_round_trip_s(self) -> float:
        """The longest of the latest exchanges (request sent to answer read), 0 before the first."""
        return max(self._round_trips, default=0.0)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        self.close()
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except OSError as e:
            raise LinkDown(f"no Modbus TCP server answers there ({e})") from e
        self._sent.clear()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # ---- requests -----------------------------------------------------------------------------------

    def read_holding(self, address: int, count: int) -> list[int]:
        """The `count` holding registers from `address`."""
        if not (0 <= address <= 0xFFFF and 1 <= count <= MAX_READ):
            raise ValueError(f"a read of {count} registers from {address}: 1 to {MAX_READ} from 0 to 65535")
        pdu = self._exchange(struct.pack(">BHH", READ_HOLDING, address, count))
        if len(pdu) < 2 or pdu[1] != 2 * count or len(pdu) != 2 + 2 * count:
            got = f"byte count {pdu[1]} and {len(pdu) - 2} data bytes" if len(pdu) >= 2 else "no byte count"
            self._bad(f"a read of {count} registers answered with {got}, not {2 * count}")
        return list(struct.unpack(f">{count}H", pdu[2:]))

    def write_many(self, address: int, values: list[int]) -> None:
        """Write `values` from `address` (function code 16); returns once the device acknowledged them."""
        count = len(values)
        if not (0 <= address <= 0xFFFF and 1 <= count <= MAX_WRITE and all(0 <= v <= 0xFFFF for v in values)):
            raise ValueError(f"a write of {values} from {address}: 1 to {MAX_WRITE} 16-bit values")
        pdu = self._exchange(struct.pack(f">BHHB{count}H", WRITE_MANY, address, count, 2 * count, *values))
        if len(pdu) != 5:
            self._bad(f"a write acknowledged with {len(pdu) - 1} data bytes, not 4 (address and quantity)")
        echo_address, echo_count = struct.unpack(">HH", pdu[1:5])
        if (echo_address, echo_count) != (address, count):
            self._bad(f"a write of {count} registers from {address} acknowledged as {echo_count} from "
                      f"{echo_address}")

    # ---- the exchange -------------------------------------------------------------------------------

    def _exchange(self, request: bytes) -> bytes:
        """Send one request PDU, return its answer's PDU once it is paired with the request and is not an
        exception answer."""
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        self._tid = self._tid % 0xFFFF + 1  # 1..65535, never 0: a zero from a device then is never ours
        tid, fc = self._tid, request[0]
        try:
            self._sock.settimeout(self.timeout_s)  # (the check for stray bytes leaves it blocking)
            self._sock.sendall(struct.pack(">HHHB", tid, 0, len(request) + 1, self.unit) + request)
        except TimeoutError:
            self.close()
            raise NoAnswer(f"the request could not be sent within {self.timeout_s:g} s") from None
        except OSError as e:
            self.close()
            raise LinkDown(f"connection lost while sending ({e})") from e
        self._sent.append(tid)
        sent = time.monotonic()
        deadline = sent + self.timeout_s
        header = self._receive(7, deadline)
        got_tid, pid, length, unit = struct.unpack(">HHHB", header)
        if pid != 0:
            self._bad(f"an answer with protocol id {pid} in its MBAP header, not 0 (Modbus)")
        if not 3 <= length <= 254:  # unit id + function code + at least one byte; a PDU is at most 253
            self._bad(f"an answer whose MBAP length is {length} (3 to 254 for a unit id and a PDU)")
        if got_tid != tid:
            earlier = got_tid in list(self._sent)[:-1]
            self._bad(f"an answer to an earlier request (transaction id {got_tid}, expected {tid})" if earlier
                      else f"an answer with transaction id {got_tid}, expected {tid}")
        pdu = self._receive(length - 1, deadline)
        self._round_trips.append(time.monotonic() - sent)
        self._nothing_more()
        if unit != self.unit:
            self._bad(f"an answer from unit {unit}, asked unit {self.unit}")
        if pdu[0] == fc | 0x80:
            if len(pdu) != 2:
                self._bad(f"an exception answer of {len(pdu)} bytes, not 2 (function code and exception code)")
            raise ExceptionAnswer(pdu[1])
        if pdu[0] != fc:
            self._bad(f"an answer with function code {pdu[0]} to a request with function code {fc}")
        return pdu

    def _receive(self, n: int, deadline: float) -> bytes:
        assert self._sock is not None
        data = b""
        while len(data) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise NoAnswer(self._partial(data, n))
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(n - len(data))
            except TimeoutError:
                self.close()
                raise NoAnswer(self._partial(data, n)) from None
            except OSError as e:
                self.close()
                raise LinkDown(f"connection lost while waiting for the answer ({e})") from e
            if not chunk:
                self.close()
                raise LinkDown("the device closed the connection instead of answering")
            data += chunk
        return data

    def _partial(self, data: bytes, n: int) -> str:
        return (f"no Modbus answer within {self.timeout_s:g} s" if not data
                else f"an incomplete Modbus answer within {self.timeout_s:g} s ({len(data)} of {n} bytes)")

    def _nothing_more(self) -> None:
        """Bytes already waiting after a whole answer are not part of any answer we asked for."""
        assert self._sock is not None
        readable, _, _ = select.select([self._sock], [], [], 0)
        if readable:
            self._sock.setblocking(False)
            try:
                extra = self._sock.recv(4096)
            except OSError:
                extra = b""
            finally:
                self._sock.setblocking(True)
            if extra:
                self._bad(f"an answer followed by {len(extra)} bytes nobody asked for ({extra[:16].hex(' ')})")

    def _bad(self, what: str) -> NoReturn:
        self.close()
        raise BadAnswer(what)
