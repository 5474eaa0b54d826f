"""The modbus-ems driver against a plain pymodbus server built here (holding registers, nothing of ours) and
against the twin's EMS server: the register map as written, the heartbeat and its silence, and every
failure as a bench fault (InstrumentError), never a pass."""

from __future__ import annotations

import asyncio
import math
import re
import struct
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

from instruments import ems_map as m
from instruments import registry
from instruments.clock import Clock
from instruments.ems import EnergyManager
from instruments.ems_map import SiteLimit
from instruments.errors import (
    InstrumentConfigError,
    InstrumentConnectionLost,
    InstrumentProtocolError,
    InstrumentRejected,
    InstrumentTimeout,
    InstrumentUnsupported,
)
from lab.twin.ems_server import EmsServer

T = TypeVar("T")
SPEED = 50.0  # heartbeat_s=1 -> a beat every 20 ms real


class Background:
    """An asyncio loop on a thread, for the servers under test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class PlainServer:
    """A pymodbus TCP server whose holding registers start as `values` (protocol address 0 first)."""

    def __init__(self, bg: Background, values: list[int]) -> None:
        self.bg = bg
        # pymodbus 3.16's sequential block at 1 serves protocol address 0 (its documented off-by-one).
        context = ModbusServerContext(devices=ModbusDeviceContext(hr=ModbusSequentialDataBlock(1, values)),
                                      single=True)

        async def listen() -> ModbusTcpServer:  # pymodbus binds a server to the loop that builds it
            server = ModbusTcpServer(context, address=("127.0.0.1", 0))
            await server.listen()
            return server

        self.server = bg.run(listen())
        self.port = self.server.transport.sockets[0].getsockname()[1]
        self.url = f"modbus-tcp://127.0.0.1:{self.port}"
        assert self.read(0, 1) == values[:1], "the plain server does not serve address 0 first"

    def read(self, address: int, count: int) -> list[int]:
        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2)
        try:
            assert client.connect()
            return list(client.read_holding_registers(address, count=count).registers)
        finally:
            client.close()

    def write(self, address: int, values: list[int]) -> None:
        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2)
        try:
            assert client.connect()
            assert not client.write_registers(address, values).isError()
        finally:
            client.close()

    def stop(self) -> None:
        self.bg.run(self.server.shutdown())


@pytest.fixture
def bg() -> Iterator[Background]:
    b = Background()
    yield b
    b.close()


@pytest.fixture
def plain(bg: Background) -> Iterator[Callable[..., PlainServer]]:
    made: list[PlainServer] = []

    def make(values: list[int] | None = None) -> PlainServer:
        srv = PlainServer(bg, values if values is not None else m.initial_registers())
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()


def make_ems(url: str, **options: object) -> EnergyManager:
    options.setdefault("timeout_s", 1.0)
    options.setdefault("heartbeat_s", 1.0)
    ems = registry.create("modbus-ems", name="ems", address=url, clock=Clock(SPEED), **options)
    assert isinstance(ems, EnergyManager) and ems.kind == "ems"
    ems.open()
    return ems


def wait_until(probe: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_limit_fallback_and_watchdog_land_in_the_documented_registers(plain) -> None:
    srv = plain()
    ems = make_ems(srv.url)
    try:
        assert ems.identify().startswith("chargespec EMS map v1 (Modbus TCP 127.0.0.1:")
        ems.set_limit(SiteLimit(11000, "W"))
        assert srv.read(m.LIMIT_MODE, 3) == [m.MODE_W, 0, 11000]
        ems.set_limit(SiteLimit(100_000, "W"))  # above 65535 W: both words
        assert srv.read(m.LIMIT_MODE, 3) == [m.MODE_W, 1, 100_000 - 65536]
        ems.set_limit(SiteLimit(15.9, "A"))  # per phase, in 0.1 A
        assert srv.read(m.LIMIT_MODE, 3) == [m.MODE_A, 0, 159]
        ems.set_fallback(SiteLimit(6000, "W"), watchdog_s=60)
        assert srv.read(m.WATCHDOG_S, 4) == [60, m.MODE_W, 0, 6000]
        got = ems.read()
        assert (got.limit, got.fallback, got.watchdog_s) == (SiteLimit(15.9, "A"), SiteLimit(6000, "W"), 60)
        ems.set_limit(None)
        assert srv.read(m.LIMIT_MODE, 1) == [m.MODE_NONE]
    finally:
        ems.close()


def test_the_heartbeat_changes_until_silent_and_again_when_back(plain) -> None:
    srv = plain()
    ems = make_ems(srv.url)
    try:
        first = srv.read(m.HEARTBEAT, 1)[0]
        wait_until(lambda: srv.read(m.HEARTBEAT, 1)[0] >= first + 3)
        ems.go_silent()
        assert ems.silent
        time.sleep(0.05)  # a beat already under way lands
        held = srv.read(m.HEARTBEAT, 1)[0]
        time.sleep(0.2)  # ten heartbeat periods
        assert srv.read(m.HEARTBEAT, 1)[0] == held
        ems.come_back()  # beats at once (and the pump, every 20 ms, may have beaten once more since)
        assert srv.read(m.HEARTBEAT, 1)[0] != held
    finally:
        ems.close()


def test_the_heartbeat_wraps_at_16_bits(plain) -> None:
    values = m.initial_registers()
    values[m.HEARTBEAT] = 0xFFFF
    srv = plain(values)
    ems = make_ems(srv.url, heartbeat_s=1000.0)
    try:
        assert srv.read(m.HEARTBEAT, 1) == [0]  # open() beat with the fresh EMS it wrote
        ems.go_silent()
        ems.come_back()
        assert srv.read(m.HEARTBEAT, 1) == [1]
    finally:
        ems.close()


def test_a_device_without_the_map_is_a_protocol_error_and_is_never_written(plain) -> None:
    # Not even a heartbeat: register 5 of a device that is not the map may be anything.
    srv = plain([0] * m.SIZE)
    with pytest.raises(InstrumentProtocolError, match=r"opening failed while reading the EMS map \(the connection "
                                                      r"is closed again\): registers 0-1 read 0x0000 0, not the "
                                                      r"chargespec EMS map"):
        make_ems(srv.url)
    time.sleep(0.1)
    assert srv.read(0, m.SIZE) == [0] * m.SIZE


def test_a_modbus_exception_is_rejected_with_its_code_and_the_registers(plain, bg: Background) -> None:
    srv = plain(m.initial_registers()[:6])  # up to HEARTBEAT only: the rest of the map is outside
    with pytest.raises(InstrumentRejected) as e:
        make_ems(srv.url, heartbeat_s=1000.0)
    assert e.value.code == 2
    assert ("EMS 'ems' answered the read of registers 0-10 (the whole map) with Modbus exception 02 (illegal data "
            "address)") in str(e.value)
    assert e.value.last_command == "read the EMS map"

    class Busy(EmsServer):
        def _write(self, fc: int, address: int, values: list[int]) -> bytes | None:
            if address == m.HEARTBEAT and len(values) > 1:  # set_fallback's write
                return bytes([fc | 0x80, 6])
            return super()._write(fc, address, values)

    busy = Busy()
    bg.run(busy.start())
    ems = make_ems(busy.address, heartbeat_s=1000.0)
    try:
        with pytest.raises(InstrumentRejected, match=r"answered the write of \[\d+, 30, 2, 0, 60\] to registers 5-9 "
                                                     r"\(HEARTBEAT, WATCHDOG_S, FALLBACK_MODE, FALLBACK\) with Modbus "
                                                     r"exception 06 \(server device busy\)") as e:
            ems.set_fallback(SiteLimit(6, "A"), 30)
        assert e.value.code == 6
    finally:
        ems.close()
        bg.run(busy.stop())


def test_no_server_and_a_lost_server_are_connection_faults(plain) -> None:
    srv = plain()
    url = srv.url
    ems = make_ems(url, reconnect_attempts=0)
    srv.stop()
    try:
        # The heartbeat finds the server gone first; the next call of the bench raises what it found.
        wait_until(lambda: ems._pump_error is not None)  # type: ignore[attr-defined]
        with pytest.raises(InstrumentConnectionLost):
            ems.set_limit(SiteLimit(11000, "W"))
    finally:
        ems.close()
    with pytest.raises(InstrumentConnectionLost, match="no Modbus TCP server answers there"):
        make_ems(url)


def test_options_and_values_outside_the_map_are_config_errors(plain) -> None:
    with pytest.raises(InstrumentConfigError, match="modbus-tcp://HOST:PORT"):
        registry.create("modbus-ems", name="ems", address="TCPIP0::1.2.3.4::502::SOCKET")
    with pytest.raises(InstrumentConfigError, match="unknown option"):
        registry.create("modbus-ems", name="ems", address="modbus-tcp://127.0.0.1:502", heartbeat=5)
    ems = make_ems(plain().url)
    try:
        with pytest.raises(InstrumentConfigError, match="outside the register's range"):
            ems.set_limit(SiteLimit(-1, "W"))
        with pytest.raises(InstrumentConfigError, match="0 to 65535"):
            ems.set_fallback(None, 70000)
    finally:
        ems.close()


# ---- the twin's EMS server ----------------------------------------------------------------------------


@pytest.fixture
def twin_ems(bg: Background) -> Iterator[EmsServer]:
    srv = EmsServer()
    bg.run(srv.start())
    yield srv
    bg.run(srv.stop())


def test_the_twin_server_holds_what_the_driver_writes(twin_ems: EmsServer) -> None:
    ems = make_ems(twin_ems.address)
    try:
        ems.set_limit(SiteLimit(11000, "W"))
        ems.set_fallback(SiteLimit(16, "A"), 120)
        regs = twin_ems.registers
        assert regs[m.LIMIT_MODE:m.LIMIT_LO + 1] == [m.MODE_W, 0, 11000]
        assert regs[m.WATCHDOG_S:m.FALLBACK_LO + 1] == [120, m.MODE_A, 0, 160]
        twin_ems.registers[m.CHARGER_STATE] = m.STATE_LIMIT  # as the twin charger writes it
        assert ems.read().charger_state == m.STATE_LIMIT
        beat = twin_ems.registers[m.HEARTBEAT]
        wait_until(lambda: twin_ems.registers[m.HEARTBEAT] != beat)
    finally:
        ems.close()


def test_the_twin_server_refuses_read_only_registers_and_unknown_modes(twin_ems: EmsServer) -> None:
    client = ModbusTcpClient("127.0.0.1", port=twin_ems.port, timeout=2)
    assert client.connect()
    try:
        for address in (m.MAP_ID, m.MAP_VERSION, m.CHARGER_STATE, m.SIZE):
            reply = client.write_registers(address, [7])
            assert reply.isError() and reply.exception_code == 2, address
        reply = client.write_register(m.LIMIT_MODE, 9)
        assert reply.isError() and reply.exception_code == 3
        reply = client.read_holding_registers(5, count=m.SIZE)  # runs past the map
        assert reply.isError() and reply.exception_code == 2
        assert client.write_register(m.WATCHDOG_S, 30).isError() is False
        assert twin_ems.registers[m.WATCHDOG_S] == 30
        assert twin_ems.registers[m.MAP_ID:m.MAP_VERSION + 1] == [m.MAP_ID_VALUE, m.MAP_VERSION_VALUE]
    finally:
        client.close()


def test_a_silent_twin_server_is_a_timeout_not_a_pass(twin_ems: EmsServer) -> None:
    ems = make_ems(twin_ems.address, timeout_s=0.3, heartbeat_s=1000.0)
    twin_ems.line_fault = "silent"
    try:
        with pytest.raises(InstrumentTimeout, match=r"no Modbus answer within 0\.3 s"):
            ems.set_limit(SiteLimit(11000, "W"))
    finally:
        twin_ems.line_fault = None
        ems.close()


class RecordingServer(EmsServer):
    """The twin's EMS server keeping the whole map after every accepted write: what a charger polling
    between two requests of the driver could read."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[int]] = []

    def _write(self, fc: int, address: int, values: list[int]) -> bytes | None:
        refused = super()._write(fc, address, values)
        if refused is None:
            self.seen.append(list(self.registers))
        return refused


def test_a_charger_polling_between_requests_never_reads_a_limit_the_bench_did_not_set(bg: Background) -> None:
    srv = RecordingServer()
    bg.run(srv.start())
    ems = make_ems(srv.address, heartbeat_s=1000.0)
    try:
        wanted = [SiteLimit(11000, "W"), SiteLimit(6, "A"), None, SiteLimit(16, "A")]
        for limit in wanted:
            ems.set_limit(limit)
        ems.set_fallback(SiteLimit(4000, "W"), 60)
        ems.set_fallback(None, 0)
        limits = [m.decode_limit(*regs[m.LIMIT_MODE:m.LIMIT_LO + 1]) for regs in srv.seen]
        fallbacks = [m.decode_limit(*regs[m.FALLBACK_MODE:m.FALLBACK_LO + 1]) for regs in srv.seen]
        # Not 60 W (6 A's words under the W mode), not 0 W (a release's words under the old mode).
        assert set(limits) <= {*wanted}, limits
        assert set(fallbacks) <= {None, SiteLimit(4000, "W")}, fallbacks
    finally:
        ems.close()
        bg.run(srv.stop())



class ForgetfulServer(EmsServer):
    """A device that acknowledges every write and keeps no limit in LIMIT_MODE..LIMIT (a register file behind a
    gateway that is not the one the charger polls, a PLC simulator with a map of its own)."""

    def _write(self, fc: int, address: int, values: list[int]) -> bytes | None:
        if address == m.LIMIT_MODE and values[0] != m.MODE_NONE:
            return None
        return super()._write(fc, address, values)


def test_a_limit_the_device_acknowledges_but_does_not_hold_is_a_bench_fault(bg: Background) -> None:
    srv = ForgetfulServer()
    bg.run(srv.start())
    ems = make_ems(srv.address, heartbeat_s=1000.0)
    try:
        with pytest.raises(InstrumentProtocolError, match=r"wrote \[1, 0, 11000\] to registers 2-4 \(LIMIT_MODE, "
                                                          r"LIMIT\), read back \[0, 0, 0\]") as e:
            ems.set_limit(SiteLimit(11000, "W"))
        assert e.value.last_command == "write LIMIT_MODE 1, LIMIT 11000 W"
    finally:
        ems.close()
        bg.run(srv.stop())


def test_a_map_error_names_the_read_even_when_the_heartbeat_wrote_since(plain) -> None:
    srv = plain()
    ems = make_ems(srv.url, heartbeat_s=1000.0)
    srv.write(m.MAP_ID, [0, 0])  # another device behind the address since open()
    read_registers = ems.read_registers  # type: ignore[attr-defined]

    def then_a_beat() -> list[int]:
        regs = read_registers()
        ems.last_command = "write HEARTBEAT"  # the pump's request, between the read and its decoding
        return regs

    ems.read_registers = then_a_beat  # type: ignore[attr-defined]
    try:
        with pytest.raises(InstrumentProtocolError) as e:
            ems.read()
        assert e.value.last_command == "read the EMS map"
        with pytest.raises(InstrumentProtocolError) as e:
            ems.identify()
        assert e.value.last_command == "read the EMS map"
    finally:
        ems.close()


def test_a_watchdog_shorter_than_the_heartbeat_period_is_beaten_in_time(twin_ems: EmsServer) -> None:
    # heartbeat_s 1000: the pump is in a 1000 bench s wait when an 8 s watchdog arrives. The charger counts
    # the watchdog from the last change it saw: the heartbeat must change with it and every 2 s after.
    ems = make_ems(twin_ems.address, heartbeat_s=1000.0)
    try:
        before = twin_ems.registers[m.HEARTBEAT]
        ems.set_fallback(SiteLimit(6000, "W"), watchdog_s=8)
        assert twin_ems.registers[m.HEARTBEAT] != before  # with the watchdog, in the same request
        beat = twin_ems.registers[m.HEARTBEAT]
        wait_until(lambda: twin_ems.registers[m.HEARTBEAT] != beat, timeout=8 / SPEED * 10)
    finally:
        ems.close()


def test_no_beat_lands_after_go_silent_returns(twin_ems: EmsServer) -> None:
    ems = make_ems(twin_ems.address)  # a beat every 20 ms real
    lock: threading.Lock = ems._lock  # type: ignore[attr-defined]
    try:
        with lock:
            time.sleep(0.1)  # the pump has a beat to write and waits for the line
            silenced = threading.Event()
            quiet = threading.Thread(target=lambda: (ems.go_silent(), silenced.set()))
            quiet.start()
            quiet.join(0.2)
            writes = twin_ems.writes if silenced.is_set() else None
        quiet.join(2)
        writes = twin_ems.writes if writes is None else writes
        time.sleep(0.2)
        assert twin_ems.writes == writes, "a heartbeat landed after `ems goes silent` returned"
    finally:
        ems.close()


def test_a_heartbeat_that_fails_in_the_background_is_reported_at_once(plain) -> None:
    srv = plain()
    ems = make_ems(srv.url, reconnect_attempts=0)
    reported: list[Exception] = []
    ems.on_error = reported.append
    srv.stop()
    try:
        wait_until(lambda: bool(reported))  # not only at the next `ems ...` statement, which may never come
        (err,) = reported
        assert isinstance(err, InstrumentConnectionLost) and err.last_command == "write HEARTBEAT"
    finally:
        ems.close()


def test_the_twin_server_answers_its_own_unit_only(twin_ems: EmsServer) -> None:
    # A driver that sent the wrong unit id (or none of the bench's) must not find the twin's map anyway.
    with pytest.raises(InstrumentRejected) as e:
        make_ems(twin_ems.address, unit=7)
    assert e.value.code == 11 and "gateway target device failed to respond" in str(e.value)
    ems = make_ems(twin_ems.address, unit=1, heartbeat_s=1000.0)
    try:
        assert ems.read().charger_state == m.STATE_NONE
    finally:
        ems.close()


# ---- answers that are not this request's answer --------------------------------------------------------


Answer = Callable[[int, int, bytes, bytes], bytes]


class CraftedServer(EmsServer):
    """The twin's EMS server with its answers rewritten by `answer(tid, unit, request, reply)` (the frame
    to send; None: the right one) and each answer held back `delay_s` real seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: Answer | None = None
        self.delay_s: Callable[[bytes], float] = lambda pdu: 0.0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    tid, _, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                    pdu = await reader.readexactly(length - 1)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                await asyncio.sleep(self.delay_s(pdu))
                reply = self.handle(pdu)
                frame = (self.answer(tid, unit, pdu, reply) if self.answer is not None
                         else struct.pack(">HHHB", tid, 0, len(reply) + 1, unit) + reply)
                writer.write(frame)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()


def mbap(tid: int, unit: int, pdu: bytes, *, pid: int = 0, length: int | None = None) -> bytes:
    return struct.pack(">HHHB", tid, pid, len(pdu) + 1 if length is None else length, unit) + pdu


@pytest.fixture
def crafted(bg: Background) -> Iterator[CraftedServer]:
    srv = CraftedServer()
    bg.run(srv.start())
    yield srv
    bg.run(srv.stop())


READ_MAP = r"the read of registers 0-10 \(the whole map\) got "


@pytest.mark.parametrize(("answer", "message"), [
    pytest.param(lambda tid, unit, req, rep: mbap(tid - 1, unit, rep),
                 READ_MAP + r"an answer to an earlier request \(transaction id (\d+), expected (\d+)\)", id="earlier"),
    pytest.param(lambda tid, unit, req, rep: mbap(tid + 1000, unit, rep),
                 READ_MAP + r"an answer with transaction id \d+, expected \d+", id="unknown-tid"),
    pytest.param(lambda tid, unit, req, rep: mbap(tid, unit, rep, pid=1),
                 READ_MAP + r"an answer with protocol id 1 in its MBAP header, not 0 \(Modbus\)", id="protocol-id"),
    pytest.param(lambda tid, unit, req, rep: mbap(tid, 3, rep),
                 READ_MAP + r"an answer from unit 3, asked unit 1", id="unit"),
    pytest.param(lambda tid, unit, req, rep: mbap(tid, unit, bytes([6]) + rep[1:5]),
                 READ_MAP + r"an answer with function code 6 to a request with function code 3", id="function-code"),
    pytest.param(lambda tid, unit, req, rep: mbap(tid, unit, bytes([3, 20]) + rep[2:22]),
                 READ_MAP + r"a read of 11 registers answered with byte count 20 and 20 data bytes, not 22",
                 id="short-read"),
    pytest.param(lambda tid, unit, req, rep: mbap(tid, unit, rep, length=len(rep) - 1),
                 READ_MAP + r"(an answer followed by 2 bytes nobody asked for \(00 00\)|a read of 11 registers "
                            r"answered with byte count 22 and 20 data bytes, not 22)", id="mbap-length-short"),
    pytest.param(lambda tid, unit, req, rep: mbap(tid, unit, bytes([0x83, 2, 0])),
                 READ_MAP + r"an exception answer of 3 bytes, not 2", id="long-exception"),
    pytest.param(lambda tid, unit, req, rep: b"\x15\xfe#\x00~~ 9$\n",
                 READ_MAP + r"an answer with protocol id 8960 in its MBAP header", id="garbage"),
])
def test_an_answer_that_is_not_this_requests_is_a_protocol_error_saying_why(
        crafted: CraftedServer, answer: Answer, message: str) -> None:
    ems = make_ems(crafted.address, heartbeat_s=1000.0)
    try:
        crafted.answer = answer
        with pytest.raises(InstrumentProtocolError, match=message) as e:
            ems.read()
        assert not isinstance(e.value, InstrumentRejected)
        assert e.value.last_command == "read the EMS map"
        if "earlier" in message:
            got, expected = map(int, re.search(message, str(e.value)).groups())  # type: ignore[union-attr]
            assert got == expected - 1
        crafted.answer = None  # a new connection: nothing of the bad answer is read as the next one's
        assert ems.read().limit is None
    finally:
        ems.close()


def test_a_write_acknowledged_for_other_registers_is_a_protocol_error(crafted: CraftedServer) -> None:
    ems = make_ems(crafted.address, heartbeat_s=1000.0)
    try:
        crafted.answer = lambda tid, unit, req, rep: mbap(tid, unit, rep[:1] + struct.pack(">HH", 5, 3))
        with pytest.raises(InstrumentProtocolError, match=r"the write of \[1, 0, 11000\] to registers 2-4 "
                                                          r"\(LIMIT_MODE, LIMIT\) got a write of 3 registers from 2 "
                                                          r"acknowledged as 3 from 5"):
            ems.set_limit(SiteLimit(11000, "W"))
    finally:
        ems.close()


def test_a_late_answer_is_never_read_as_the_next_requests(crafted: CraftedServer) -> None:
    ems = make_ems(crafted.address, heartbeat_s=1000.0, timeout_s=0.2)
    try:
        crafted.registers[m.CHARGER_STATE] = m.STATE_FALLBACK
        crafted.delay_s = lambda pdu: 0.4 if pdu[0] == 3 else 0.0  # the read's answer comes after the timeout
        with pytest.raises(InstrumentTimeout, match=r"no Modbus answer within 0\.2 s to the read of registers 0-10"):
            ems.read()
        crafted.delay_s = lambda pdu: 0.0
        crafted.registers[m.CHARGER_STATE] = m.STATE_LIMIT
        time.sleep(0.3)  # the late answer (CHARGER_STATE 2) is on its way
        assert ems.read().charger_state == m.STATE_LIMIT
    finally:
        ems.close()


def test_an_incomplete_answer_is_a_timeout_that_says_so(crafted: CraftedServer) -> None:
    ems = make_ems(crafted.address, heartbeat_s=1000.0, timeout_s=0.2)
    try:
        crafted.answer = lambda tid, unit, req, rep: mbap(tid, unit, rep, length=len(rep) + 5)
        with pytest.raises(InstrumentTimeout, match=r"an incomplete Modbus answer within 0\.2 s \(24 of 28 bytes\) "
                                                    r"to the read of registers 0-10"):
            ems.read()
    finally:
        ems.close()


# ---- open, limits, watchdogs ----------------------------------------------------------------------------


def test_an_open_that_fails_part_way_closes_what_it_opened_and_names_the_state(crafted: CraftedServer) -> None:
    def refuse_writes(tid: int, unit: int, req: bytes, rep: bytes) -> bytes:
        return mbap(tid, unit, bytes([req[0] | 0x80, 4]) if req[0] == 16 else rep)

    crafted.answer = refuse_writes
    ems = registry.create("modbus-ems", name="ems", address=crafted.address, clock=Clock(SPEED), timeout_s=1.0)
    with pytest.raises(InstrumentRejected, match=r"opening failed while writing a fresh EMS \(no limit, no fallback, "
                                                 r"no watchdog\) \(the connection is closed again\): EMS 'ems' "
                                                 r"answered the write of .* to registers 2-9 .* with Modbus exception "
                                                 r"04 \(server device failure\)"):
        ems.open()
    assert not ems.is_open
    wait_until(lambda: not crafted._writers)  # the server saw the connection closed
    assert not any(t.name == "ems heartbeat" for t in threading.enumerate())
    crafted.answer = None
    ems.open()  # and the same driver opens once the device is well
    try:
        assert ems.read().limit is None
    finally:
        ems.close()


def test_an_open_whose_first_read_fails_leaves_no_connection(twin_ems: EmsServer) -> None:
    ems = registry.create("modbus-ems", name="ems", address=twin_ems.address, clock=Clock(SPEED), unit=7)
    with pytest.raises(InstrumentRejected, match=r"opening failed while reading the EMS map \(the connection is "
                                                 r"closed again\): EMS 'ems' answered the read of registers 0-10 "
                                                 r"\(the whole map\) with Modbus exception 0B \(gateway target "
                                                 r"device failed to respond\)"):
        ems.open()
    assert not ems.is_open
    wait_until(lambda: not twin_ems._writers)


def test_open_clears_a_limit_an_earlier_run_left(twin_ems: EmsServer) -> None:
    # A crashed session, a failed return to idle: the charger must not be held at the old limit by a
    # scenario that never speaks for the EMS.
    twin_ems.registers[m.LIMIT_MODE:m.FALLBACK_LO + 1] = [m.MODE_W, 0, 3000, 7, 60, m.MODE_W, 0, 1000]
    ems = make_ems(twin_ems.address, heartbeat_s=1000.0)
    try:
        got = ems.read()
        assert (got.limit, got.watchdog_s, got.fallback, got.heartbeat) == (None, 0, None, 8)
    finally:
        ems.close()


def test_a_limit_the_register_cannot_hold_is_a_config_error_and_nothing_is_written(twin_ems: EmsServer) -> None:
    ems = make_ems(twin_ems.address, heartbeat_s=1000.0)
    try:
        writes = twin_ems.writes
        with pytest.raises(InstrumentConfigError, match=r"an EMS limit of 0\.04 A cannot be written exactly: LIMIT "
                                                        r"\(registers 3-4: uint32, 0\.1 A\) .* 0 A and 0\.1 A"):
            ems.set_limit(SiteLimit(0.04, "A"))
        with pytest.raises(InstrumentConfigError, match=r"an EMS limit of inf W is not a number: FALLBACK"):
            ems.set_fallback(SiteLimit(math.inf, "W"), 60)
        with pytest.raises(InstrumentConfigError, match=r"a watchdog of 2\.5 s: WATCHDOG_S \(register 6\) holds whole "
                                                        r"seconds 0 to 65535"):
            ems.set_fallback(None, 2.5)  # type: ignore[arg-type]
        assert twin_ems.writes == writes
    finally:
        ems.close()


def test_options_that_would_stop_the_heartbeat_are_config_errors() -> None:
    for options in ({"heartbeat_s": math.inf}, {"heartbeat_s": "5"}, {"unit": 1.5}, {"unit": True}):
        with pytest.raises(InstrumentConfigError, match=r"heartbeat_s must be a number of seconds > 0 and unit "
                                                        r"a whole number 0\.\.247"):
            registry.create("modbus-ems", name="ems", address="modbus-tcp://127.0.0.1:502", **options)


def test_a_watchdog_shorter_than_the_heartbeat_can_keep_at_the_bench_speed_is_refused(twin_ems: EmsServer) -> None:
    ems = make_ems(twin_ems.address, heartbeat_s=1000.0)  # at 50x: 4 s of watchdog is 80 ms real
    try:
        before = list(twin_ems.registers)
        with pytest.raises(InstrumentUnsupported, match=r"a watchdog of 4 s is 80 ms real at the bench's 50x speed, "
                                                        r"shorter than this EMS's heartbeat can keep \(100 ms: .*\): "
                                                        r"the charger could fall back while the EMS is alive\. Use a "
                                                        r"watchdog of at least 5 s at this speed, or a slower speed"):
            ems.set_fallback(SiteLimit(6000, "W"), 4)
        assert twin_ems.registers == before
        ems.set_fallback(SiteLimit(6000, "W"), 5)
    finally:
        ems.close()


def test_a_slow_link_raises_the_shortest_watchdog(crafted: CraftedServer) -> None:
    crafted.delay_s = lambda pdu: 0.05  # 50 ms a round trip: a watchdog needs 200 ms real, 10 s at 50x
    ems = make_ems(crafted.address, heartbeat_s=1000.0)
    try:
        with pytest.raises(InstrumentUnsupported, match=r"a watchdog of 8 s is 160 ms real") as e:
            ems.set_fallback(SiteLimit(6000, "W"), 8)
        found = re.search(r"worst recent round trip (\d+\.\d) ms\).* at least (\d+) s at this speed", str(e.value))
        assert found is not None, str(e.value)
        round_trip_ms, shortest = float(found.group(1)), int(found.group(2))
        assert round_trip_ms >= 50 and abs(shortest - 4 * round_trip_ms / 1000 * SPEED) <= 1.01
    finally:
        ems.close()


def test_a_heartbeat_later_than_the_watchdog_is_reported_as_a_bench_fault(crafted: CraftedServer) -> None:
    ems = make_ems(crafted.address, heartbeat_s=1000.0)
    reported: list[Exception] = []
    ems.on_error = reported.append
    try:
        ems.set_fallback(SiteLimit(6000, "W"), 10)  # 200 ms real; a beat every 50 ms
        crafted.delay_s = lambda pdu: 0.3 if pdu[0] == 16 and pdu[1:3] == b"\x00\x05" else 0.0  # a loaded line
        wait_until(lambda: bool(reported))
        (err,) = reported
        assert isinstance(err, InstrumentTimeout) and err.last_command == "write HEARTBEAT"
        found = re.search(r"the heartbeat went (\d+) ms real \([\d.]+ s bench\) without a change, longer than the "
                          r"watchdog of 10 s \(200 ms real at 50x\): the charger may have fallen back while the EMS "
                          r"was alive", str(err))
        assert found is not None and int(found.group(1)) >= 300, str(err)
        crafted.delay_s = lambda pdu: 0.0
        with pytest.raises(InstrumentTimeout, match="the heartbeat went"):
            ems.set_limit(None)  # and the next statement raises it
    finally:
        ems.close()


class BeatlessServer(EmsServer):
    """Acknowledges heartbeat writes and keeps none: the charger polling it sees a dead EMS."""

    def _write(self, fc: int, address: int, values: list[int]) -> bytes | None:
        if address == m.HEARTBEAT and len(values) == 1:
            return None
        return super()._write(fc, address, values)


def test_a_heartbeat_the_device_acknowledges_but_does_not_hold_is_reported(bg: Background) -> None:
    srv = BeatlessServer()
    bg.run(srv.start())
    ems = make_ems(srv.address, heartbeat_s=1.0)
    reported: list[Exception] = []
    ems.on_error = reported.append
    try:
        wait_until(lambda: bool(reported))
        (err,) = reported
        assert isinstance(err, InstrumentProtocolError) and err.last_command == "write HEARTBEAT"
        assert re.search(r"wrote \[\d+\] to register 5 \(HEARTBEAT\), read back \[\d+\]: the device does not hold "
                         r"what it acknowledged", str(err)), str(err)
    finally:
        ems.close()
        bg.run(srv.stop())


def test_coming_back_from_a_silence_longer_than_the_watchdog_is_not_a_late_heartbeat(twin_ems: EmsServer) -> None:
    ems = make_ems(twin_ems.address, heartbeat_s=1000.0)
    reported: list[Exception] = []
    ems.on_error = reported.append
    beat = ems.beat  # type: ignore[attr-defined]

    def come_back_beat_late(*, pump: bool = False) -> None:
        if not pump:
            time.sleep(0.15)  # the pump's next beat (every 50 ms) lands before come_back's own
        beat(pump=pump)

    ems.beat = come_back_beat_late  # type: ignore[attr-defined]
    try:
        ems.set_fallback(SiteLimit(6000, "W"), 10)  # 200 ms real; the pump beats every 50 ms
        ems.go_silent()
        time.sleep(0.4)  # the watchdog runs out, as wanted
        ems.come_back()
        time.sleep(0.2)
        assert reported == []
    finally:
        ems.close()


def test_at_60x_the_shortest_watchdog_is_6_s(twin_ems: EmsServer) -> None:
    ems = registry.create("modbus-ems", name="ems", address=twin_ems.address, clock=Clock(60), heartbeat_s=1000.0)
    ems.open()
    try:
        with pytest.raises(InstrumentUnsupported, match=r"a watchdog of 5 s is 83 ms real at the bench's 60x speed, "
                                                        r".* Use a watchdog of at least 6 s at this speed"):
            ems.set_fallback(None, 5)
        ems.set_fallback(None, 6)
        assert twin_ems.registers[m.WATCHDOG_S] == 6
    finally:
        ems.close()
