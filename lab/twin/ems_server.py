"""The twin's local energy manager: a Modbus TCP server holding the chargespec EMS register map
(instruments/ems_map.py, docs/ems.md) of one station.

The bench's EMS driver (instruments/ems_modbus.py, or any Modbus client) writes the site limit, heartbeat,
watchdog and fallback; the twin charger reads the same registers in process, as a real charger's Modbus
client would poll them, and writes CHARGER_STATE back (lab/twin/blocks/k_smart_charging.py). The server is
written here rather than taken from pymodbus so that the twin controls every answer: read-only registers
and unknown modes are refused with Modbus exceptions 2 and 3, and the line faults of the other twin
instruments (`silent`, `garbage`, `drop`) apply. It speaks function codes 3 (read holding registers),
6 (write one) and 16 (write several) for its unit id (1, as the map says) in the MBAP framing of Modbus TCP;
another unit id is answered as a gateway answers for a device it cannot reach (exception 11), so a driver
that does not send the bench's unit never finds the map by accident:

    server = EmsServer(); await server.start()              # 127.0.0.1, a free port
    server.address                                          # "modbus-tcp://127.0.0.1:40133"
"""

from __future__ import annotations

import asyncio
import logging
import struct

from instruments import ems_map as m
from lab.twin.tcpserver import TcpServer

log = logging.getLogger(__name__)

READ_HOLDING, WRITE_ONE, WRITE_MANY = 3, 6, 16
NO_SUCH_UNIT = 11  # gateway target device failed to respond
_MAX_READ = 125  # registers in one read (Modbus application protocol 6.3)


class EmsServer(TcpServer):
    """One EMS register file on 127.0.0.1; every connection sees the same registers."""

    name = "twin EMS"

    def __init__(self) -> None:
        super().__init__()
        self.registers = m.initial_registers()
        self.line_fault: str | None = None
        self.unit = 1  # the unit id it answers as
        self.writes = 0  # accepted write requests, for tests

    @property
    def address(self) -> str:
        return f"modbus-tcp://{self.host}:{self.port}"

    def reset(self) -> None:
        """A fresh EMS: no limit, no watchdog, no fallback (the heartbeat counter keeps its value)."""
        beat = self.registers[m.HEARTBEAT]
        self.registers = m.initial_registers()
        self.registers[m.HEARTBEAT] = beat

    def handle(self, pdu: bytes) -> bytes:
        """The response PDU for one request PDU."""
        fc = pdu[0] if pdu else 0
        try:
            if fc == READ_HOLDING:
                address, count = struct.unpack(">HH", pdu[1:5])
                if not 1 <= count <= _MAX_READ:
                    return bytes([fc | 0x80, 3])
                if address + count > m.SIZE:
                    return bytes([fc | 0x80, 2])
                values = self.registers[address:address + count]
                return bytes([fc, 2 * count]) + struct.pack(f">{count}H", *values)
            if fc == WRITE_ONE:
                address, value = struct.unpack(">HH", pdu[1:5])
                return self._write(fc, address, [value]) or pdu[:5]
            if fc == WRITE_MANY:
                address, count, nbytes = struct.unpack(">HHB", pdu[1:6])
                if not 1 <= count <= 123 or nbytes != 2 * count or len(pdu) < 6 + nbytes:
                    return bytes([fc | 0x80, 3])
                values = list(struct.unpack(f">{count}H", pdu[6:6 + nbytes]))
                return self._write(fc, address, values) or pdu[:5]
        except struct.error:
            return bytes([(fc | 0x80) & 0xFF, 3])
        return bytes([(fc | 0x80) & 0xFF, 1])

    def _write(self, fc: int, address: int, values: list[int]) -> bytes | None:
        code = m.check_write(address, values)
        if code is not None:
            return bytes([fc | 0x80, code])
        self.registers[address:address + len(values)] = values
        self.writes += 1
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    header = await reader.readexactly(7)
                    tid, pid, length, unit = struct.unpack(">HHHB", header)
                    if pid != 0 or not 2 <= length <= 254:
                        break  # not Modbus TCP: a real server drops such a client
                    pdu = await reader.readexactly(length - 1)
                except asyncio.IncompleteReadError:
                    break
                fault = self.line_fault
                if fault == "drop":
                    break
                if fault == "silent":
                    continue
                if fault == "garbage":
                    writer.write(b"\x15\xfe#\x00~~ 9$\n")
                    await writer.drain()
                    continue
                try:
                    reply = self.handle(pdu) if unit == self.unit else bytes([(pdu[0] | 0x80) & 0xFF, NO_SUCH_UNIT])
                except Exception:  # a bug in the twin must not take the bench down silently
                    log.exception("%s: failed to handle %r", self.name, pdu)
                    reply = bytes([(pdu[0] | 0x80) & 0xFF, 4])
                writer.write(struct.pack(">HHHB", tid, 0, len(reply) + 1, unit) + reply)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
