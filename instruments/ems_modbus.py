"""An EMS speaking the chargespec register map over Modbus TCP (instruments/ems_map.py, docs/ems.md),
driver name ``modbus-ems``; pymodbus is the Modbus client.

    ems = create("modbus-ems", name="ems", address="modbus-tcp://127.0.0.1:5020", heartbeat_s=5, unit=1)

The driver plays the EMS's brain against a register file: the real EMS's, a PLC simulator's, or the twin's.
A background thread changes HEARTBEAT every ``heartbeat_s`` bench seconds (and at least four times per
watchdog period) until :meth:`go_silent`. Every Modbus request holds one lock, so the heartbeat never
interleaves with a write of the bench. Errors are bench faults: a Modbus exception answer is
:class:`InstrumentRejected` (code 2 address, 3 value), no answer :class:`InstrumentTimeout`, a refused or
dropped connection :class:`InstrumentConnectionLost`, a write the device does not hold when read back
:class:`InstrumentProtocolError`. A heartbeat that fails is handed to ``on_error`` at once and raised by the
next call, so a scenario cannot pass on an EMS that stopped beating by accident. Options: ``timeout_s``,
``reconnect_attempts``, ``heartbeat_s`` (5), ``unit`` (1).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from instruments import ems_map as m
from instruments.clock import Clock
from instruments.ems import EnergyManager
from instruments.ems_map import EmsRegisters, SiteLimit
from instruments.errors import (
    InstrumentConfigError,
    InstrumentConnectionLost,
    InstrumentError,
    InstrumentProtocolError,
    InstrumentRejected,
    InstrumentTimeout,
)
from instruments.options import DriverOptions
from instruments.registry import register

log = logging.getLogger(__name__)
_ADDRESS = re.compile(r"(?:modbus-tcp|tcp)://([^:/\s]+):(\d{1,5})/?")
_EXCEPTIONS = {1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "device failure",
               10: "gateway path unavailable", 11: "gateway target device failed to respond"}
_READ_MAP = "read the EMS map"
_MIN_REAL_PERIOD_S = 0.02  # the heartbeat never spins faster than this, whatever the clock speed
T = TypeVar("T")


@register("modbus-ems")
class ModbusEms(EnergyManager):
    extra_options: ClassVar[dict[str, Any]] = {"heartbeat_s": 5.0, "unit": 1}

    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(name, address, clock, **options)
        self.opts = DriverOptions.parse(name, address, options, extra=self.extra_options)
        found = _ADDRESS.fullmatch(address.strip())
        if found is None or not 0 < int(found.group(2)) < 65536:
            raise InstrumentConfigError(name, address, "a Modbus TCP address is modbus-tcp://HOST:PORT")
        self.host, self.port = found.group(1), int(found.group(2))
        self.heartbeat_s = float(self.opts.extra["heartbeat_s"])
        self.unit = int(self.opts.extra["unit"])
        if not self.heartbeat_s > 0 or not 0 <= self.unit <= 247:
            raise InstrumentConfigError(name, address, f"heartbeat_s must be > 0 and unit 0..247, got "
                                                       f"{self.heartbeat_s!r} and {self.unit!r}")
        self._client: ModbusTcpClient | None = None
        self._lock = threading.Lock()
        self._silent = False
        self._watchdog_s = 0
        self._beat = 0
        self._pump_error: InstrumentError | None = None
        self._stop = threading.Event()
        self._rearm = threading.Event()  # the watchdog changed: the pump starts a new period from now
        self._pump: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------------------

    def open(self) -> None:
        self._connect()
        self._open = True
        self._pump_error = None
        self._beat = self._request("read HEARTBEAT", lambda c: self._read(c, m.HEARTBEAT, 1))[0]
        self._stop.clear()
        self._rearm.clear()
        self._pump = threading.Thread(target=self._heartbeat, name=f"{self.name} heartbeat", daemon=True)
        self._pump.start()

    def close(self) -> None:
        self._open = False
        self._stop.set()
        self._rearm.set()
        if self._pump is not None:
            self._pump.join(timeout=self.opts.timeout_s + 1)
            self._pump = None
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _connect(self) -> None:
        client = ModbusTcpClient(self.host, port=self.port, timeout=self.opts.timeout_s, retries=0)
        if not client.connect():
            client.close()
            raise InstrumentConnectionLost(self.name, self.address, "no Modbus TCP server answers there")
        self._client = client

    # ---- requests ---------------------------------------------------------------------------------

    def _request(self, what: str, op: Callable[[ModbusTcpClient], T]) -> T:
        """Run one Modbus exchange under the lock; reconnect and retry on a dropped connection."""
        with self._lock:
            self.last_command = what
            for attempt in range(self.opts.reconnect_attempts + 1):
                try:
                    if self._client is None:
                        self._connect()
                    assert self._client is not None
                    return op(self._client)
                except ConnectionException as e:
                    if self._client is not None:
                        self._client.close()
                        self._client = None
                    if attempt == self.opts.reconnect_attempts:
                        raise InstrumentConnectionLost(self.name, self.address, f"connection lost: {e}",
                                                       last_command=what) from e
                except InstrumentConnectionLost:
                    if attempt == self.opts.reconnect_attempts:
                        raise
                except ModbusException as e:
                    raise InstrumentTimeout(self.name, self.address,
                                            f"no Modbus answer within {self.opts.timeout_s:g} s ({e})",
                                            last_command=what) from e
            raise AssertionError("unreachable")

    def _check(self, reply: Any) -> Any:
        if reply.isError():
            code = int(getattr(reply, "exception_code", 0) or 0)
            raise InstrumentRejected(self.name, self.address, code,
                                     f"Modbus exception {code} ({_EXCEPTIONS.get(code, 'unknown')})",
                                     last_command=self.last_command)
        return reply

    def _read(self, client: ModbusTcpClient, address: int, count: int) -> list[int]:
        regs = list(self._check(client.read_holding_registers(address, count=count, device_id=self.unit)).registers)
        if len(regs) != count:
            raise InstrumentProtocolError(self.name, self.address, f"asked {count} registers from {address}, "
                                          f"got {len(regs)}", last_command=self.last_command)
        return regs

    def _write(self, address: int, values: list[int], what: str) -> None:
        self._raise_pump_error()
        self._require_open()
        self._request(what, lambda c: self._write_held(c, address, values, what))

    def _write_held(self, client: ModbusTcpClient, address: int, values: list[int], what: str) -> None:
        """Write and read back: a device that acknowledges a write and holds something else (a register file
        that is not the one the charger polls, a value clamped) is a bench fault, not a limit set."""
        self._check(client.write_registers(address, values, device_id=self.unit))
        held = self._read(client, address, len(values))
        if held != values:
            raise InstrumentProtocolError(self.name, self.address, f"wrote {values} to registers {address}-"
                                          f"{address + len(values) - 1}, read back {held}: the device does not "
                                          f"hold what it acknowledged", last_command=what)

    def _raise_pump_error(self) -> None:
        if self._pump_error is not None:
            err, self._pump_error = self._pump_error, None
            raise err

    # ---- the heartbeat ----------------------------------------------------------------------------

    def _period_bench_s(self) -> float:
        return min(self.heartbeat_s, self._watchdog_s / 4) if self._watchdog_s else self.heartbeat_s

    def _heartbeat(self) -> None:
        while True:
            rearmed = self._rearm.wait(max(_MIN_REAL_PERIOD_S, self.clock.real(self._period_bench_s())))
            if self._stop.is_set():
                return
            if rearmed:  # set_fallback beat with its new watchdog: a whole new period from now
                self._rearm.clear()
                continue
            if self._silent or self._pump_error is not None:
                continue
            self.beat(pump=True)
            if self._pump_error is not None and self.on_error is not None:
                try:  # now, not at the next call: an expectation may be judging while the watchdog runs out
                    self.on_error(self._pump_error)
                except Exception:
                    log.exception("%s: the heartbeat's on_error handler failed", self.name)

    def beat(self, *, pump: bool = False) -> None:
        """Change HEARTBEAT once (the pump does it on its own; a test may call it)."""

        def write(c: ModbusTcpClient) -> None:
            if pump and self._silent:  # went silent while this beat waited for the line: it must not land
                return
            nxt = (self._beat + 1) & 0xFFFF
            self._check(c.write_registers(m.HEARTBEAT, [nxt], device_id=self.unit))
            self._beat = nxt

        try:
            self._request("write HEARTBEAT", write)
        except InstrumentError as e:
            self._pump_error = e
        except Exception as e:  # a dead pump must surface, whatever killed it
            self._pump_error = InstrumentProtocolError(self.name, self.address, f"heartbeat failed: {e!r}",
                                                       last_command="write HEARTBEAT")

    # ---- the EMS protocol -------------------------------------------------------------------------

    def identify(self) -> str:
        regs = self.read_registers()
        try:
            EmsRegisters.decode(regs)
        except ValueError as e:  # (not self.last_command: the heartbeat may have written since)
            raise InstrumentProtocolError(self.name, self.address, str(e), last_command=_READ_MAP) from e
        return f"chargespec EMS map v{regs[m.MAP_VERSION]} (Modbus TCP {self.host}:{self.port} unit {self.unit})"

    def read_registers(self) -> list[int]:
        self._raise_pump_error()
        self._require_open()
        return self._request(_READ_MAP, lambda c: self._read(c, 0, m.SIZE))

    def read(self) -> EmsRegisters:
        try:
            return EmsRegisters.decode(self.read_registers())
        except ValueError as e:
            raise InstrumentProtocolError(self.name, self.address, str(e), last_command=_READ_MAP) from e

    def set_limit(self, limit: SiteLimit | None) -> None:
        try:
            mode, hi, lo = m.encode_limit(limit)
        except ValueError as e:
            raise InstrumentConfigError(self.name, self.address, str(e)) from None
        # Mode and value in one request (LIMIT_MODE..LIMIT_LO): a charger polling between two requests would
        # pair the old mode with the new value (6 A's 60 under W: 60 W; a release's 0 under W: 0 W).
        self._write(m.LIMIT_MODE, [mode, hi, lo], f"write LIMIT_MODE {mode}, LIMIT {limit}")

    def set_fallback(self, limit: SiteLimit | None, watchdog_s: int) -> None:
        try:
            mode, hi, lo = m.encode_limit(limit)
        except ValueError as e:
            raise InstrumentConfigError(self.name, self.address, str(e)) from None
        if not (isinstance(watchdog_s, int) and 0 <= watchdog_s <= 0xFFFF):
            raise InstrumentConfigError(self.name, self.address, f"a watchdog of {watchdog_s!r} s: 0 to 65535")
        # Watchdog, mode and value in one request (WATCHDOG_S..FALLBACK_LO), for the same reason as set_limit;
        # unless silent, with a beat (from HEARTBEAT): the charger counts a new watchdog from the last change
        # it saw, which may be a whole heartbeat_s old, longer than the watchdog.
        what = f"write WATCHDOG_S {watchdog_s}, FALLBACK_MODE {mode}, FALLBACK {limit}"
        self._raise_pump_error()
        self._require_open()

        def write(c: ModbusTcpClient) -> None:
            if self._silent:
                self._write_held(c, m.WATCHDOG_S, [watchdog_s, mode, hi, lo], what)
                return
            nxt = (self._beat + 1) & 0xFFFF
            self._write_held(c, m.HEARTBEAT, [nxt, watchdog_s, mode, hi, lo], what)
            self._beat = nxt

        self._request(what, write)
        self._watchdog_s = watchdog_s
        self._rearm.set()  # the pump's period follows the new watchdog, counted from the beat just written

    def go_silent(self) -> None:
        self._raise_pump_error()
        with self._lock:  # a beat already on the line lands before this returns; none after
            self._silent = True

    def come_back(self) -> None:
        self._raise_pump_error()
        self._require_open()
        self._silent = False
        self.beat()
        self._raise_pump_error()

    @property
    def silent(self) -> bool:
        return self._silent


