"""The proxy tests' target CSMS: an independent minimal backend on the `ocpp` package (not the harness).

Every frame it receives and sends is kept exactly as it crossed its websocket (`received`, `sent`), so a
test can compare them with what the charger sent and got. It accepts boots and tokens, answers what the
twin sends, and lets a test call the charger (`call`), send a raw frame (`send_raw`, for a frame the `ocpp`
package would refuse to build), and go down and come back on the same port (`go_down`, `come_back`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint
from ocpp.v201 import call_result as res
from ocpp.v201.enums import Action
from websockets.asyncio.server import Server, ServerConnection, serve

from instruments.clock import iso_utc


class _Tap:
    """The websocket as the `ocpp` package sees it, keeping every frame it reads and writes."""

    def __init__(self, ws: ServerConnection, target: TargetCsms) -> None:
        self.ws = ws
        self.target = target

    async def recv(self) -> Any:
        data = await self.ws.recv()
        self.target.received.append(data)
        return data

    async def send(self, data: str) -> None:
        self.target.sent.append(data)
        await self.ws.send(data)

    async def close(self, *args: Any) -> None:
        await self.ws.close(*args)


class _Backend(ChargePoint):
    def __init__(self, station: str, tap: _Tap, target: TargetCsms) -> None:
        super().__init__(station, tap, response_timeout=10)
        self.target = target

    @on(Action.boot_notification)
    def boot(self, **_: Any) -> res.BootNotification:
        return res.BootNotification(current_time=iso_utc(datetime.now(UTC)), interval=300, status="Accepted")

    @on(Action.heartbeat)
    def heartbeat(self, **_: Any) -> res.Heartbeat:
        return res.Heartbeat(current_time=iso_utc(datetime.now(UTC)))

    @on(Action.status_notification)
    def status(self, **_: Any) -> res.StatusNotification:
        return res.StatusNotification()

    @on(Action.authorize)
    def authorize(self, **_: Any) -> res.Authorize:
        return res.Authorize(id_token_info={"status": "Accepted"})

    @on(Action.transaction_event)
    def tx_event(self, **kw: Any) -> res.TransactionEvent:
        if kw.get("id_token"):
            return res.TransactionEvent(id_token_info={"status": "Accepted"})
        return res.TransactionEvent()

    @after(Action.transaction_event)
    async def tx_after(self, **kw: Any) -> None:
        if self.target.after_transaction_event is not None:
            asyncio.get_running_loop().create_task(self.target.after_transaction_event(self.id, kw))

    @on(Action.meter_values)
    def meter_values(self, **_: Any) -> res.MeterValues:
        return res.MeterValues()

    @on(Action.notify_event)
    def notify_event(self, **_: Any) -> res.NotifyEvent:
        return res.NotifyEvent()

    @on(Action.security_event_notification)
    def security_event(self, **_: Any) -> res.SecurityEventNotification:
        return res.SecurityEventNotification()


class TargetCsms:
    """Runs on the caller's event loop; `url` is where a proxy sends chargers."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.received: list[str] = []
        self.sent: list[str] = []
        self.backends: dict[str, _Backend] = {}
        self.paths: list[str] = []
        self.auth: list[str | None] = []
        self._server: Server | None = None
        self.port = 0
        # A script for the test: called (as a task) after each TransactionEvent is answered, snake_case payload.
        self.after_transaction_event: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> str:
        self._server = await serve(self._handler, "127.0.0.1", self.port, subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                                   ping_interval=None, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.url

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.auth.append(ws.request.headers.get("Authorization"))
        station = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        backend = self.backends[station] = _Backend(station, _Tap(ws, self), self)
        with contextlib.suppress(Exception):
            await backend.start()

    async def call(self, station: str, payload: Any) -> Any:
        return await self.backends[station].call(payload, suppress=False)

    async def send_raw(self, station: str, raw: str) -> None:
        await self.backends[station]._connection.send(raw)

    async def go_down(self) -> None:
        """Stop listening and cut every connection (a backend outage)."""
        assert self._server is not None
        self._server.close(close_connections=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    async def come_back(self) -> None:
        await self.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self.go_down()
