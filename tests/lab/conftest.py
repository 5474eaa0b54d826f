"""Fixtures for the twin tests: a bench loop, a minimal CSMS written with ocpp.v201, a running twin.

The CSMS accepts every boot, records every request it receives (action, snake_case payload, bench time)
and lets a test call the charger from the test thread:

    csms.call("TWIN-AC22-001", call.RequestStartTransaction(...))
    csms.wait_for(lambda: csms.find("TransactionEvent", event_type="Started"), timeout=5)
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import pytest
from ocpp.exceptions import InternalError, OCPPError
from ocpp.routing import on
from ocpp.v201 import ChargePoint
from ocpp.v201 import call_result as res
from ocpp.v201.enums import Action
from websockets.asyncio.server import serve

import lab
from instruments.clock import Clock, iso_utc
from lab.bench import BenchConfig, load_bench
from lab.loop import LoopThread
from lab.twin import Twin
from lab.twin.faults import Faults, parse_faults

T = TypeVar("T")
TWIN_TOML = Path(lab.__file__).parent / "benches" / "twin.toml"
SPEED = 60.0


@dataclass(frozen=True)
class Received:
    station: str
    action: str
    payload: dict[str, Any]
    t: float  # bench seconds when the CSMS got it


class _CsmsSide(ChargePoint):
    def __init__(self, station: str, ws: Any, csms: MiniCsms) -> None:
        super().__init__(station, ws, response_timeout=10)
        self.csms = csms

    def _rec(self, action: str, payload: dict[str, Any]) -> None:
        self.csms.record(Received(self.id, action, payload, self.csms.clock.now()))

    @on(Action.boot_notification)
    def boot(self, **kw: Any) -> res.BootNotification:
        self._rec("BootNotification", kw)
        return res.BootNotification(
            current_time=iso_utc(self.csms.clock.wall()),
            interval=self.csms.heartbeat_s,
            status=self.csms.boot_status,
        )

    @on(Action.heartbeat)
    def heartbeat(self, **kw: Any) -> res.Heartbeat:
        self._rec("Heartbeat", kw)
        return res.Heartbeat(current_time=iso_utc(self.csms.clock.wall()))

    @on(Action.status_notification)
    def status(self, **kw: Any) -> res.StatusNotification:
        self._rec("StatusNotification", kw)
        return res.StatusNotification()

    @on(Action.notify_event)
    def notify_event(self, **kw: Any) -> res.NotifyEvent:
        self._rec("NotifyEvent", kw)
        return res.NotifyEvent()

    @on(Action.transaction_event)
    def tx_event(self, **kw: Any) -> res.TransactionEvent:
        self._rec("TransactionEvent", kw)
        if self.csms.tx_callerrors > 0:
            self.csms.tx_callerrors -= 1
            raise self.csms.tx_callerror(description="refused by the test")
        if self.csms.id_token_status is not None and kw.get("id_token"):
            return res.TransactionEvent(id_token_info={"status": self.csms.id_token_status})
        if kw.get("id_token") and kw["id_token"]["id_token"] in self.csms.authorize_info:
            return res.TransactionEvent(id_token_info=self.csms.authorize_info[kw["id_token"]["id_token"]])
        return res.TransactionEvent()

    @on(Action.security_event_notification)
    def security_event(self, **kw: Any) -> res.SecurityEventNotification:
        self._rec("SecurityEventNotification", kw)
        return res.SecurityEventNotification()

    @on(Action.authorize)
    def authorize(self, **kw: Any) -> res.Authorize:
        self._rec("Authorize", kw)
        info = self.csms.authorize_info.get(kw["id_token"]["id_token"], {"status": self.csms.authorize_status})
        return res.Authorize(id_token_info=info)

    @on(Action.meter_values)
    def meter_values(self, **kw: Any) -> res.MeterValues:
        self._rec("MeterValues", kw)
        return res.MeterValues()

    @on(Action.notify_report)
    def notify_report(self, **kw: Any) -> res.NotifyReport:
        self._rec("NotifyReport", kw)
        return res.NotifyReport()

    @on(Action.firmware_status_notification)
    def firmware_status(self, **kw: Any) -> res.FirmwareStatusNotification:
        self._rec("FirmwareStatusNotification", kw)
        return res.FirmwareStatusNotification()

    @on(Action.log_status_notification)
    def log_status(self, **kw: Any) -> res.LogStatusNotification:
        self._rec("LogStatusNotification", kw)
        return res.LogStatusNotification()

    @on(Action.report_charging_profiles)
    def report_profiles(self, **kw: Any) -> res.ReportChargingProfiles:
        self._rec("ReportChargingProfiles", kw)
        return res.ReportChargingProfiles()

    @on(Action.notify_charging_limit)
    def notify_charging_limit(self, **kw: Any) -> res.NotifyChargingLimit:
        self._rec("NotifyChargingLimit", kw)
        return res.NotifyChargingLimit()

    @on(Action.cleared_charging_limit)
    def cleared_charging_limit(self, **kw: Any) -> res.ClearedChargingLimit:
        self._rec("ClearedChargingLimit", kw)
        return res.ClearedChargingLimit()


class MiniCsms:
    """Just enough CSMS to drive the twin's charger in a test."""

    def __init__(self, clock: Clock, loop: LoopThread) -> None:
        self.clock = clock
        self.loop = loop
        self.heartbeat_s = 300
        self.boot_status = "Accepted"
        self.received: list[Received] = []
        self.sides: dict[str, _CsmsSide] = {}
        self.refuse = False  # refuse new connections (offline tests)
        self.tx_callerrors = 0  # answer this many TransactionEvents with a CALLERROR (tx_callerror's code)
        self.tx_callerror: type[OCPPError] = InternalError
        self.id_token_status: str | None = None  # idTokenInfo.status for TransactionEvents that carry an idToken
        self.authorize_status = "Accepted"
        self.authorize_info: dict[str, dict[str, Any]] = {}  # idToken -> the idTokenInfo Authorize answers
        self._lock = threading.Lock()
        self._server: Any = None
        self.url = ""

    def record(self, r: Received) -> None:
        with self._lock:
            self.received.append(r)

    async def start(self) -> str:
        self._server = await serve(
            self._handler,
            "127.0.0.1",
            0,
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
            process_request=self._process_request,
        )
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _process_request(self, connection: Any, _request: Any) -> Any:
        # Refuse at the HTTP upgrade, as the harness does: accepting and then closing would let the charger
        # count itself online for a moment and send live what it should queue as offline.
        if self.refuse:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "reconnects refused by the test\n")
        return None

    async def _handler(self, ws: Any) -> None:
        station = ws.request.path.strip("/")
        side = _CsmsSide(station, ws, self)
        self.sides[station] = side
        with contextlib.suppress(Exception):
            await side.start()

    async def drop(self, station: str) -> None:
        side = self.sides.get(station)
        if side is not None:
            await side._connection.close()

    def call(self, station: str, payload: Any, timeout: float = 10.0) -> Any:
        return self.loop.run(self.sides[station].call(payload, suppress=False), timeout, what=type(payload).__name__)

    def find(self, action: str, **fields: Any) -> list[Received]:
        with self._lock:
            got = list(self.received)
        return [r for r in got if r.action == action and all(r.payload.get(k) == v for k, v in fields.items())]

    def wait_for(self, probe: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
        """Poll `probe` until it returns something truthy, at most `timeout` real seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; received: "
                    f"{[(r.action, r.payload.get('event_type')) for r in self.received]}"
                )
            time.sleep(0.005)


def twin_bench(speed: float = SPEED, **overrides: Any) -> BenchConfig:
    return load_bench(TWIN_TOML, overrides={"clock.speed": speed, **overrides})


@dataclass
class TwinEnv:
    bench: BenchConfig
    clock: Clock
    loop: LoopThread
    csms: MiniCsms
    twin: Twin
    endpoints: dict[str, dict[str, str]]

    @property
    def station_id(self) -> str:
        return self.bench.stations[0].id

    def line(self, role: str) -> Line:
        """One of the twin's line instruments of the first station ("ev", "reader"), opened."""
        return Line(self.endpoints[self.station_id][role])


class Line:
    """A twin line instrument (EV emulator or token reader) over its socket URL, spoken by hand: the tests
    check the twin's side of the protocol, so they do not go through the drivers."""

    def __init__(self, url: str) -> None:
        import serial

        self.port = serial.serial_for_url(url, timeout=2)
        self.rid = 0

    def ask(self, command: str) -> str:
        """The reply line to `command` (events skipped)."""
        self.rid += 1
        self.port.write(f"{self.rid} {command}\n".encode())
        while True:
            line = self.port.readline().decode().strip()
            assert line, f"no reply to {command!r}"
            if not line.startswith("!"):
                return line

    def value(self, command: str) -> str:
        """The value of the OK reply to `command` ("" when it has none); anything else fails the test."""
        line = self.ask(command)
        rid, status, *value = line.split(" ", 2)
        assert rid == str(self.rid) and status == "OK", f"{command!r} -> {line!r}"
        return value[0] if value else ""

    def ok(self, command: str) -> None:
        self.value(command)

    def close(self) -> None:
        self.port.close()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    lt = LoopThread("test-bench")
    yield lt
    lt.close()


def make_env(loop: LoopThread, faults: Faults | None = None, speed: float = SPEED, heartbeat_s: int = 300,
             options: dict[str, Any] | None = None) -> TwinEnv:
    """`options`: the bench file's [twin.options] (lab/twin/options.py)."""
    bench = twin_bench(speed, **({"twin.options": options} if options else {}))
    clock = Clock(speed=bench.clock.speed)
    csms = MiniCsms(clock, loop)
    csms.heartbeat_s = heartbeat_s
    url = loop.run(csms.start(), timeout=5)
    twin = Twin(bench, clock, faults=faults if faults is not None else parse_faults({}))
    endpoints = loop.run(twin.start(url), timeout=10)
    return TwinEnv(bench, clock, loop, csms, twin, endpoints)


@pytest.fixture
def twin_factory(loop: LoopThread) -> Iterator[Callable[..., TwinEnv]]:
    envs: list[TwinEnv] = []

    def factory(faults: Faults | None = None, speed: float = SPEED, heartbeat_s: int = 300,
                options: dict[str, Any] | None = None) -> TwinEnv:
        env = make_env(loop, faults, speed, heartbeat_s, options)
        envs.append(env)
        return env

    yield factory
    for env in envs:
        loop.run(env.twin.stop(), timeout=10)
        loop.run(env.csms.stop(), timeout=5)
