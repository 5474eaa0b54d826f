"""An EMS speaking the chargespec register map over Modbus TCP (instruments/ems_map.py, docs/ems.md),
driver name ``modbus-ems``; the Modbus client is instruments/modbus_tcp.py, which pairs every answer with
its request.

    ems = create("modbus-ems", name="ems", address="modbus-tcp://127.0.0.1:5020", heartbeat_s=5, unit=1)

The driver plays the EMS's brain against a register file: the real EMS's, a PLC simulator's, or the twin's.
``open()`` checks the map and starts from a fresh EMS (no limit, no fallback, no watchdog): a limit an
earlier run left (a crashed session, a failed return to idle) must not hold the charger down in a scenario
that never spoke for the EMS. A background thread changes HEARTBEAT every ``heartbeat_s`` bench seconds
(and at least four times per watchdog period) until :meth:`go_silent`. Every Modbus request holds one lock,
so the heartbeat never interleaves with a write of the bench. Errors are bench faults: a Modbus exception
answer is :class:`EmsExceptionAnswer` (an InstrumentRejected with the code), no answer
:class:`InstrumentTimeout`, a refused or dropped connection :class:`InstrumentConnectionLost`, an answer
that is not this request's (framing, transaction id, unit, function code, length) or a write the device
does not hold when read back :class:`InstrumentProtocolError`, a watchdog too short for the bench's speed
and link :class:`InstrumentUnsupported`. A heartbeat that fails, or changes later than the watchdog
allows, is handed to ``on_error`` at once and raised by the next call, so a scenario cannot pass or fail
on an EMS that stopped beating by accident. Options: ``timeout_s``, ``reconnect_attempts``,
``heartbeat_s`` (5), ``unit`` (1).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

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
    InstrumentUnsupported,
)
from instruments.modbus_tcp import BadAnswer, ExceptionAnswer, LinkDown, ModbusLinkError, ModbusTcpLink, NoAnswer
from instruments.options import DriverOptions
from instruments.registry import register

log = logging.getLogger(__name__)
_ADDRESS = re.compile(r"(?:modbus-tcp|tcp)://([^:/\s]+):(\d{1,5})/?")
_READ_MAP = "read the EMS map"
_MIN_REAL_PERIOD_S = 0.02  # the heartbeat never spins faster than this, whatever the clock speed
# The shortest watchdog, in real seconds, the heartbeat can keep: five of its fastest periods, and four
# of the link's worst recent round trips. Below it a charger may fall back while the EMS is alive.
_MIN_WATCHDOG_REAL_S = 5 * _MIN_REAL_PERIOD_S
_ROUND_TRIPS_PER_WATCHDOG = 4
T = TypeVar("T")


class EmsExceptionAnswer(InstrumentRejected):
    """The EMS answered a request with a Modbus exception (`code`, `text` its name)."""

    def __init__(self, instrument: str, address: str, request: str, answer: ExceptionAnswer, *,
                 last_command: str | None) -> None:
        self.code, self.text = answer.code, answer.name
        InstrumentProtocolError.__init__(self, instrument, address, f"EMS {instrument!r} answered {request} with "
                                                                    f"Modbus {answer}", last_command=last_command)


class _OnRequest(Exception):
    """A link error, with the request it happened to ("the read of register 5 (HEARTBEAT)")."""

    def __init__(self, request: str, cause: ModbusLinkError) -> None:
        super().__init__(f"{request}: {cause}")
        self.request, self.cause = request, cause


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
        heartbeat_s, unit = self.opts.extra["heartbeat_s"], self.opts.extra["unit"]
        # A heartbeat of inf would stop the pump's wait with an OverflowError; a unit of 1.5 would be sent as 1.
        if (not isinstance(heartbeat_s, int | float) or isinstance(heartbeat_s, bool)
                or not 0 < heartbeat_s < math.inf or not isinstance(unit, int) or isinstance(unit, bool)
                or not 0 <= unit <= 247):
            raise InstrumentConfigError(name, address, f"heartbeat_s must be a number of seconds > 0 and unit a "
                                                       f"whole number 0..247, got {heartbeat_s!r} and {unit!r}")
        self.heartbeat_s, self.unit = float(heartbeat_s), unit
        self._link = ModbusTcpLink(self.host, self.port, unit=self.unit, timeout_s=self.opts.timeout_s)
        self._lock = threading.Lock()
        self._silent = False
        self._watchdog_s = 0
        self._beat = 0
        self._last_change = 0.0  # time.monotonic() of the last HEARTBEAT change written
        self._pump_error: InstrumentError | None = None
        self._stop = threading.Event()
        self._rearm = threading.Event()  # the watchdog changed: the pump starts a new period from now
        self._pump: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------------------

    def open(self) -> None:
        if self._open or self._pump is not None:
            self.close()
        self._pump_error = None
        self._silent, self._watchdog_s = False, 0
        state = "connecting"
        try:
            self._connect()
            state = "reading the EMS map"
            regs = self._request(_READ_MAP, lambda link: self._read(link, 0, m.SIZE))
            self._decode(regs)
            state = "writing a fresh EMS (no limit, no fallback, no watchdog)"
            self._beat = regs[m.HEARTBEAT]
            nxt = (self._beat + 1) & 0xFFFF
            fresh = [m.MODE_NONE, 0, 0, nxt, 0, m.MODE_NONE, 0, 0]  # LIMIT_MODE..FALLBACK_LO, with a beat
            self._request("write a fresh EMS", lambda link: self._write_held(link, m.LIMIT_MODE, fresh,
                                                                             "write a fresh EMS"))
            self._beat, self._last_change = nxt, time.monotonic()
        except InstrumentError as e:
            self._link.close()  # nothing of a half-open EMS stays behind: no socket, no heartbeat
            if state != "connecting":
                e.detail = f"opening failed while {state} (the connection is closed again): {e.detail}"
                e.args = (str(e),)
            raise
        self._open = True
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
            self._link.close()

    def _connect(self) -> None:
        try:
            self._link.connect()
        except LinkDown as e:
            raise InstrumentConnectionLost(self.name, self.address, str(e)) from None

    # ---- requests ---------------------------------------------------------------------------------

    def _request(self, what: str, op: Callable[[ModbusTcpLink], T]) -> T:
        """Run one Modbus exchange under the lock; reconnect and retry on a dropped connection (writes are
        whole register values, so a write repeated after a drop lands the same)."""
        with self._lock:
            self.last_command = what
            for attempt in range(self.opts.reconnect_attempts + 1):
                try:
                    return op(self._link)
                except _OnRequest as e:
                    cause = e.cause
                    if isinstance(cause, LinkDown):
                        if attempt < self.opts.reconnect_attempts:
                            continue
                        raise InstrumentConnectionLost(self.name, self.address, f"{e.request}: {cause}",
                                                       last_command=what) from None
                    if isinstance(cause, NoAnswer):
                        raise InstrumentTimeout(self.name, self.address, f"{cause} to {e.request}",
                                                last_command=what) from None
                    if isinstance(cause, ExceptionAnswer):
                        raise EmsExceptionAnswer(self.name, self.address, e.request, cause,
                                                 last_command=what) from None
                    assert isinstance(cause, BadAnswer)
                    raise InstrumentProtocolError(self.name, self.address, f"{e.request} got {cause}",
                                                  last_command=what) from None
            raise AssertionError("unreachable")

    def _read(self, link: ModbusTcpLink, address: int, count: int) -> list[int]:
        try:
            return link.read_holding(address, count)
        except ModbusLinkError as e:
            raise _OnRequest(f"the read of {m.describe(address, count)}", e) from None

    def _write_many(self, link: ModbusTcpLink, address: int, values: list[int]) -> None:
        try:
            link.write_many(address, values)
        except ModbusLinkError as e:
            raise _OnRequest(f"the write of {values} to {m.describe(address, len(values))}", e) from None

    def _write(self, address: int, values: list[int], what: str) -> None:
        self._raise_pump_error()
        self._require_open()
        self._request(what, lambda link: self._write_held(link, address, values, what))

    def _write_held(self, link: ModbusTcpLink, address: int, values: list[int], what: str) -> None:
        """Write and read back: a device that acknowledges a write and holds something else (a register file
        that is not the one the charger polls, a value clamped) is a bench fault, not a limit set."""
        self._write_many(link, address, values)
        held = self._read(link, address, len(values))
        if held != values:
            raise InstrumentProtocolError(self.name, self.address, f"wrote {values} to "
                                          f"{m.describe(address, len(values))}, read back {held}: the device "
                                          f"does not hold what it acknowledged", last_command=what)

    def _decode(self, regs: list[int]) -> EmsRegisters:
        try:
            return EmsRegisters.decode(regs)
        except ValueError as e:  # (not self.last_command: the heartbeat may have written since)
            raise InstrumentProtocolError(self.name, self.address, str(e), last_command=_READ_MAP) from e

    def _raise_pump_error(self) -> None:
        if self._pump_error is not None:
            err, self._pump_error = self._pump_error, None
            raise err

    # ---- the heartbeat ----------------------------------------------------------------------------

    def _period_bench_s(self) -> float:
        return min(self.heartbeat_s, self._watchdog_s / 4) if self._watchdog_s else self.heartbeat_s

    def _heartbeat(self) -> None:
        try:
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
                if self._pump_error is not None:
                    self._report()
        except Exception as e:  # a dead pump must surface, whatever killed it
            self._pump_error = InstrumentProtocolError(self.name, self.address, f"the heartbeat stopped: {e!r}",
                                                       last_command="write HEARTBEAT")
            self._report()

    def _report(self) -> None:
        if self.on_error is None:
            return
        try:  # now, not at the next call: an expectation may be judging while the watchdog runs out
            self.on_error(self._pump_error)  # type: ignore[arg-type]
        except Exception:
            log.exception("%s: the heartbeat's on_error handler failed", self.name)

    def beat(self, *, pump: bool = False) -> None:
        """Change HEARTBEAT once (the pump does it on its own; a test may call it)."""

        def write(link: ModbusTcpLink) -> float | None:
            if pump and self._silent:  # went silent while this beat waited for the line: it must not land
                return None
            nxt = (self._beat + 1) & 0xFFFF
            # Read back like every write: a device that acknowledges beats it does not hold lets the charger
            # fall back under a live EMS, and the fallback would be judged as the charger's doing.
            self._write_held(link, m.HEARTBEAT, [nxt], "write HEARTBEAT")
            now = time.monotonic()  # under the lock: no other beat (set_fallback's) lands in between
            gap, self._beat, self._last_change = now - self._last_change, nxt, now
            return gap

        try:
            gap = self._request("write HEARTBEAT", write)
            if pump and gap is not None:
                self._in_time(gap)
        except InstrumentError as e:
            self._pump_error = e
        except Exception as e:  # a dead pump must surface, whatever killed it
            self._pump_error = InstrumentProtocolError(self.name, self.address, f"heartbeat failed: {e!r}",
                                                       last_command="write HEARTBEAT")

    def _in_time(self, gap_real_s: float) -> None:
        """A heartbeat that changed later than the watchdog allows let the charger fall back while the EMS
        was alive (a loaded machine, a slow link, the line held by a slow write): a bench fault."""
        watchdog_s = self._watchdog_s
        real = self.clock.real(watchdog_s)
        if watchdog_s and gap_real_s > real:
            self._pump_error = InstrumentTimeout(
                self.name, self.address,
                f"the heartbeat went {gap_real_s * 1000:.0f} ms real ({self.clock.bench(gap_real_s):.3g} s bench) "
                f"without a change, longer than the watchdog of {watchdog_s} s ({real * 1000:.0f} ms real at "
                f"{self.clock.speed:g}x): the charger may have fallen back while the EMS was alive",
                last_command="write HEARTBEAT")

    # ---- the EMS protocol -------------------------------------------------------------------------

    def identify(self) -> str:
        regs = self.read_registers()
        self._decode(regs)
        return f"chargespec EMS map v{regs[m.MAP_VERSION]} (Modbus TCP {self.host}:{self.port} unit {self.unit})"

    def read_registers(self) -> list[int]:
        self._raise_pump_error()
        self._require_open()
        return self._request(_READ_MAP, lambda link: self._read(link, 0, m.SIZE))

    def read(self) -> EmsRegisters:
        return self._decode(self.read_registers())

    def _encode(self, limit: SiteLimit | None, register: str) -> tuple[int, int, int]:
        try:
            return m.encode_limit(limit, register)
        except ValueError as e:
            raise InstrumentConfigError(self.name, self.address, str(e)) from None

    def set_limit(self, limit: SiteLimit | None) -> None:
        mode, hi, lo = self._encode(limit, "LIMIT")
        # Mode and value in one request (LIMIT_MODE..LIMIT_LO): a charger polling between two requests would
        # pair the old mode with the new value (6 A's 60 under W: 60 W; a release's 0 under W: 0 W).
        self._write(m.LIMIT_MODE, [mode, hi, lo], f"write LIMIT_MODE {mode}, LIMIT {limit}")

    def set_fallback(self, limit: SiteLimit | None, watchdog_s: int) -> None:
        mode, hi, lo = self._encode(limit, "FALLBACK")
        if not (isinstance(watchdog_s, int) and not isinstance(watchdog_s, bool) and 0 <= watchdog_s <= 0xFFFF):
            raise InstrumentConfigError(self.name, self.address, f"a watchdog of {watchdog_s!r} s: WATCHDOG_S "
                                                                 f"(register {m.WATCHDOG_S}) holds whole seconds "
                                                                 f"0 to 65535")
        self._raise_pump_error()
        self._require_open()
        self._keepable(watchdog_s)
        # Watchdog, mode and value in one request (WATCHDOG_S..FALLBACK_LO), for the same reason as set_limit;
        # unless silent, with a beat (from HEARTBEAT): the charger counts a new watchdog from the last change
        # it saw, which may be a whole heartbeat_s old, longer than the watchdog.
        what = f"write WATCHDOG_S {watchdog_s}, FALLBACK_MODE {mode}, FALLBACK {limit}"

        def write(link: ModbusTcpLink) -> None:
            if self._silent:
                self._write_held(link, m.WATCHDOG_S, [watchdog_s, mode, hi, lo], what)
                return
            nxt = (self._beat + 1) & 0xFFFF
            self._write_held(link, m.HEARTBEAT, [nxt, watchdog_s, mode, hi, lo], what)
            self._beat, self._last_change = nxt, time.monotonic()

        self._request(what, write)
        self._watchdog_s = watchdog_s
        self._rearm.set()  # the pump's period follows the new watchdog, counted from the beat just written

    def _keepable(self, watchdog_s: int) -> None:
        """A watchdog shorter (in real seconds, at the bench's speed) than the heartbeat can keep would run
        out while the EMS is alive, and the charger's fallback would be judged as its own doing."""
        if not watchdog_s:
            return
        round_trip = self._link.worst_round_trip_s
        needed = max(_MIN_WATCHDOG_REAL_S, _ROUND_TRIPS_PER_WATCHDOG * round_trip)
        real = self.clock.real(watchdog_s)
        if real < needed:
            shortest = math.ceil(self.clock.bench(needed))
            raise InstrumentUnsupported(
                self.name, self.address,
                f"a watchdog of {watchdog_s} s is {real * 1000:.0f} ms real at the bench's {self.clock.speed:g}x "
                f"speed, shorter than this EMS's heartbeat can keep ({needed * 1000:.0f} ms: beats at most every "
                f"{_MIN_REAL_PERIOD_S * 1000:.0f} ms, worst recent round trip {round_trip * 1000:.1f} ms): the "
                f"charger could fall back while the EMS is alive. Use a watchdog of at least {shortest} s at "
                f"this speed, or a slower speed")

    def go_silent(self) -> None:
        self._raise_pump_error()
        with self._lock:  # a beat already on the line lands before this returns; none after
            self._silent = True

    def come_back(self) -> None:
        self._raise_pump_error()
        self._require_open()
        with self._lock:  # the silence was wanted: a pump beat that gets the line first counts from now
            self._silent, self._last_change = False, time.monotonic()
        self.beat()
        self._raise_pump_error()

    @property
    def silent(self) -> bool:
        return self._silent
