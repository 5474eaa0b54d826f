"""The CSMS harness: plays the charger's backend over OCPP 2.0.1 and records everything.

All coroutines run on the bench loop (lab/loop.py); timeouts are bench seconds, converted with the
bench clock. The plain methods (`transactions`, `responses`, `refuse_reconnects`, ...) are safe to call
from the test thread.

    harness = CsmsHarness(recorder, clock, config=bench.csms)
    url = await harness.start()                      # "ws://127.0.0.1:<port>"
    await harness.wait_booted("CS1", 60)
    outcome = await harness.call("CS1", "Reset", {"type": "Immediate"}, timeout_s=30)
    await harness.drop("CS1"); harness.refuse_reconnects(900); ...; harness.accept_reconnects()
    await harness.stop()

A charger connects to `<url>/<station id>` (any path prefix; the identity is the last segment) and must
offer the `ocpp2.0.1` subprotocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from instruments.clock import Clock
from lab.bench import CsmsConfig
from runner.csms.errors import CsmsError, CsmsNotConnected, CsmsTimeout
from runner.csms.meter_values import samples_from_frame
from runner.csms.responses import Responses
from runner.csms.session import CallOutcome, StationSession
from runner.csms.transactions import TransactionBook, TransactionState
from runner.recorder import CALLRESULT, Frame, Recorder

SUBPROTOCOL = "ocpp2.0.1"
MAX_IDENTITY = 48  # OCPP-J: the charging station identity is at most 48 characters


@dataclass
class _Station:
    """Everything the harness knows about one charger identity; survives reconnects and scenarios."""
    station_id: str
    responses: Responses = field(default_factory=Responses)
    book: TransactionBook = field(default_factory=TransactionBook)
    session: StationSession | None = None
    connections: int = 0
    connected_t: float | None = None
    disconnected_t: float | None = None
    booted_t: float | None = None              # last BootNotification answered Accepted
    offline: list[tuple[float, float | None]] = field(default_factory=list)
    done: asyncio.Event | None = None          # set when the current connection's handler has finished


def station_identity(path: str) -> str:
    """The charger identity in a connection URL path: its last non-empty segment, percent-decoded."""
    segments = [s for s in urlsplit(path).path.split("/") if s]
    return unquote(segments[-1]) if segments else ""


class CsmsHarness:
    def __init__(self, recorder: Recorder, clock: Clock, config: CsmsConfig | None = None, *,
                 stations: Iterable[str] | None = None,
                 on_event: Callable[[str], None] | None = None) -> None:
        """`stations`: the identities the bench expects (others are refused with 404); None accepts any."""
        self.recorder = recorder
        self.clock = clock
        self.config = config or CsmsConfig()
        self.expected = frozenset(stations) if stations is not None else None
        self._on_event = on_event
        self._lock = threading.Lock()           # guards _stations against the test thread
        self._stations: dict[str, _Station] = {}
        self._server: Server | None = None
        self._changed: asyncio.Event | None = None   # replaced by a fresh one on every state change
        self._refuse_until: float | None = None
        self.url = ""

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> str:
        """Listen; return the URL chargers connect to (port 0 in the config picks a free port)."""
        if self._server is not None:
            return self.url
        self._changed = asyncio.Event()
        self._server = await serve(
            self._handle, self.config.host, self.config.port,
            select_subprotocol=self._select_subprotocol, process_request=self._process_request,
            ping_interval=None,  # keep-alive is the charger's Heartbeat; pings would mask a silent link
            max_size=2**22,
        )
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://{self.config.host}:{port}"
        self._event("csms.listening", url=self.url)
        return self.url

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close(close_connections=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None
        self._event("csms.stopped")

    # ---- handshake ----------------------------------------------------------------------------

    def _select_subprotocol(self, _conn: ServerConnection, offered: list[str]) -> str | None:
        # Accept without a subprotocol so the handler can record why it closes (OCPP-J §3.2).
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    def _refuse(self, status: HTTPStatus, reason: str, station: str, *, finding: bool) -> Response:
        self._event("csms.refused", station=station, status=int(status), reason=reason)
        if finding:
            self.recorder.finding("error", f"{station or '(no identity)'}: connection refused "
                                  f"({int(status)} {status.phrase}): {reason}", station=station or None)
        headers = Headers([("Content-Type", "text/plain; charset=utf-8")])
        return Response(int(status), status.phrase, headers, f"{reason}\n".encode())

    def _process_request(self, _conn: ServerConnection, request: Request) -> Response | None:
        station = station_identity(request.path)
        if not station:
            return self._refuse(HTTPStatus.NOT_FOUND, f"no charging station identity in the URL path "
                                f"{request.path!r}; connect to <url>/<identity>", station, finding=True)
        if len(station) > MAX_IDENTITY:
            return self._refuse(HTTPStatus.NOT_FOUND, f"identity is {len(station)} characters; OCPP-J allows "
                                f"{MAX_IDENTITY}", station, finding=True)
        if self.expected is not None and station not in self.expected:
            return self._refuse(HTTPStatus.NOT_FOUND, f"unknown charging station {station!r}; the bench "
                                f"expects {sorted(self.expected)}", station, finding=True)
        if self._refusing():
            return self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, "reconnects refused by the test (simulated "
                                "network outage)", station, finding=False)
        return None

    def _refusing(self) -> bool:
        until = self._refuse_until
        return until is not None and self.clock.now() < until

    # ---- connections --------------------------------------------------------------------------

    def _station(self, station_id: str) -> _Station:
        with self._lock:
            st = self._stations.get(station_id)
            if st is None:
                st = self._stations[station_id] = _Station(station_id)
            return st

    def _notify(self) -> None:
        """Wake every waiter (they re-check their predicate). Synchronous: callable from frame callbacks."""
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def _handle(self, ws: ServerConnection) -> None:
        station = station_identity(ws.request.path if ws.request else "")
        if ws.subprotocol != SUBPROTOCOL:
            offered = ws.request.headers.get_all("Sec-WebSocket-Protocol") if ws.request else []
            reason = f"subprotocol {SUBPROTOCOL} required; charger offered {', '.join(offered) or 'none'}"
            self._event("csms.rejected", station=station, reason=reason)
            self.recorder.finding("error", f"{station}: {reason}; connection closed (OCPP-J §3.2)",
                                  station=station)
            await ws.close(1002, reason[:120])
            return
        st = self._station(station)
        if st.session is not None:
            # A charger that reconnects before the old socket timed out replaces it, as a real CSMS does.
            self._event("csms.replaced", station=station)
            st.session.abort()
            if st.done is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(st.done.wait(), 5)
        session = StationSession(station, ws, recorder=self.recorder, clock=self.clock,
                                 responses=st.responses, strict=self.config.strict_schema,
                                 on_frame=lambda fr: self._on_frame(st, fr))
        done = asyncio.Event()
        now = self.clock.now()
        with self._lock:
            st.session, st.done = session, done
            st.connections += 1
            st.connected_t = now
            if st.offline and st.offline[-1][1] is None:
                st.offline[-1] = (st.offline[-1][0], now)
        remote = ws.remote_address[0] if ws.remote_address else "?"
        self._event("csms.connected", station=station, remote=remote,
                    path=ws.request.path if ws.request else "")
        self._notify()
        try:
            await session.run()
        finally:
            t = self.clock.now()
            with self._lock:
                if st.session is session:
                    st.session = None
                    st.disconnected_t = t
                    st.offline.append((t, None))
            self._event("csms.disconnected", station=station, code=ws.close_code,
                        reason=ws.close_reason or "")
            done.set()
            self._notify()

    def _on_frame(self, st: _Station, frame: Frame) -> None:
        if frame.direction == "rx":
            for key, value, t in samples_from_frame(frame):
                self.recorder.sample(key, value, t)
            with self._lock:
                st.book.apply(frame)
        elif (frame.message_type == CALLRESULT and frame.action == "BootNotification"
              and isinstance(frame.payload, dict) and frame.payload.get("status") == "Accepted"):
            with self._lock:
                st.booted_t = frame.t
        self._notify()

    def _event(self, kind: str, **data: Any) -> None:
        self.recorder.event(kind, **data)
        if self._on_event is not None:
            self._on_event(" ".join([kind, *(f"{k}={v}" for k, v in data.items())]))

    # ---- waiting ------------------------------------------------------------------------------

    async def _wait_for(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        if self._changed is None:
            raise CsmsError("the CSMS harness is not started; call `await harness.start()` first")

        async def until() -> None:
            while not predicate():
                assert self._changed is not None
                await self._changed.wait()
        try:
            await asyncio.wait_for(until(), self.clock.real(timeout_s))
        except TimeoutError:
            raise CsmsTimeout(f"{what} within {timeout_s:g} s (bench time)") from None

    async def wait_connected(self, station_id: str, timeout_s: float) -> None:
        st = self._station(station_id)
        await self._wait_for(lambda: st.session is not None, timeout_s,
                             f"charging station {station_id!r} did not connect to {self.url}/{station_id}")

    async def wait_disconnected(self, station_id: str, timeout_s: float) -> None:
        st = self._station(station_id)
        await self._wait_for(lambda: st.session is None, timeout_s,
                             f"charging station {station_id!r} did not disconnect")

    async def wait_booted(self, station_id: str, timeout_s: float, *, since_t: float | None = None) -> None:
        """Until a BootNotification was answered Accepted (at or after bench time `since_t`, if given)."""
        st = self._station(station_id)

        def booted() -> bool:
            return st.booted_t is not None and (since_t is None or st.booted_t >= since_t)
        await self._wait_for(booted, timeout_s,
                             f"charging station {station_id!r} did not complete an accepted BootNotification "
                             f"(boot status configured: {st.responses.boot_status})")

    # ---- calls --------------------------------------------------------------------------------

    async def call(self, station_id: str, action: str, payload: dict[str, Any], timeout_s: float = 30, *,
                   validate: bool = True) -> CallOutcome:
        """Send a CSMS-initiated message and wait (bench seconds) for the charger's answer.

        `validate=False` sends a request the spec means to be invalid: its schema problems are recorded
        as info, not as findings against the run.
        """
        st = self._station(station_id)
        session = st.session
        if session is None:
            raise CsmsNotConnected(f"cannot send {action} to {station_id!r}: it is not connected "
                                   f"(connections so far: {st.connections})")
        # Listen to the answer while the call is sent: the waiting happens inside the session.
        return await session.request(action, payload, self.clock.real(timeout_s), validate_request=validate)

    # ---- network faults -----------------------------------------------------------------------

    async def drop(self, station_id: str) -> None:
        """Cut the station's connection now (no closing handshake), as a network loss would."""
        st = self._station(station_id)
        session, done = st.session, st.done
        self._event("csms.drop", station=station_id, connected=session is not None)
        if session is None:
            return
        session.abort()
        if done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 5)

    def refuse_reconnects(self, bench_seconds: float | None = None) -> None:
        """Refuse every new connection (HTTP 503) for `bench_seconds`, or until `accept_reconnects()`."""
        until = math.inf if bench_seconds is None else self.clock.now() + bench_seconds
        self._refuse_until = until
        self._event("csms.refusing", until=None if bench_seconds is None else until)

    def accept_reconnects(self) -> None:
        self._refuse_until = None
        self._event("csms.accepting")

    # ---- reading ------------------------------------------------------------------------------

    def responses(self, station_id: str) -> Responses:
        return self._station(station_id).responses

    def connected(self, station_id: str) -> bool:
        return self._station(station_id).session is not None

    def stations(self) -> list[str]:
        with self._lock:
            return sorted(self._stations)

    def transactions(self, station_id: str) -> dict[str, TransactionState]:
        st = self._station(station_id)
        with self._lock:
            return st.book.snapshot()

    def active_transaction(self, station_id: str, evse_id: int | None = 1) -> str | None:
        st = self._station(station_id)
        with self._lock:
            return st.book.active(evse_id)

    def offline_periods(self, station_id: str) -> list[tuple[float, float]]:
        """(from, to) bench times the station was disconnected; an open period ends now."""
        st = self._station(station_id)
        now = self.clock.now()
        with self._lock:
            return [(a, now if b is None else b) for a, b in st.offline]
