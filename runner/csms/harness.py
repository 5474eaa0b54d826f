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
offer the `ocpp2.0.1` subprotocol. The harness listens on two endpoints, `csms` (`url`) and `csms2`
(`urls["csms2"]`, the bench file's [csms] port2): a charger migrating to another network connection
profile (OCPP B09/B10) connects to the second. Each connection attempt is logged with its endpoint
(`attempts`), an endpoint can refuse all or the next N attempts (`refuse_endpoint`), and `invalid_url` is
a URL on which no CSMS answers: it closes each connection at once and logs it as an attempt at `invalid`.
Security profiles 1-3 follow the bench file's [csms] table (see security.py); with TLS the URLs are wss://
and a TLS front (tls_front.py) per endpoint records refused handshakes; both endpoints present the same
certificate.
Named CSMS-initiated messages (`reset`, `get_base_report`, ...) come from commands.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from dsl.vocab import CSMS_ENDPOINTS
from instruments.clock import Clock
from lab.bench import CsmsConfig
from runner.csms.commands import CsmsCommands, Report
from runner.csms.connector_status import ConnectorStatus, statuses_from_frame
from runner.csms.errors import CsmsBenchFault, CsmsNotConnected, CsmsTimeout
from runner.csms.framing import charger_call
from runner.csms.meter_values import placed_samples
from runner.csms.reading_time import AT_ARRIVAL, ChargerClock, in_order
from runner.csms.responses import Responses
from runner.csms.security import check_basic_auth, server_tls_context, uses_basic_auth
from runner.csms.session import CallOutcome, StationSession
from runner.csms.tls_front import Peer, TlsFront, TlsRefusal
from runner.csms.transactions import TransactionBook, TransactionState
from runner.csms.waiting import LoopWatch, Stall, within
from runner.recorder import CALLRESULT, Frame, Recorder

SUBPROTOCOL = "ocpp2.0.1"
MAX_IDENTITY = 48  # OCPP-J: the charging station identity is at most 48 characters
# Bounds on what the harness remembers, so that a week of commissioning cannot grow memory without end.
MAX_OFFLINE_PERIODS = 1000   # per station, the most recent
MAX_CONNECTORS = 256         # (evse, connector) statuses per station; a charger inventing ids loses the oldest
MAX_STATIONS = 1024          # identities remembered; the longest-disconnected is forgotten first
MAX_PLACED_KEYS = 1024       # signals per station whose last sample time is kept (reading_time.in_order)
MAX_ATTEMPTS = 1000          # connection attempts remembered (all endpoints), the most recent
# Real seconds the harness waits for a charger's answer (or its connection, or its boot) at the least. On
# the twin a bench timeout is a fraction of a real second (30 s at 60x: 0.5 s), which a loaded host's
# scheduling stall can pass, and the run read broken ("no answer to ChangeAvailability") with nothing late
# in the charger's logic. A real charger runs at speed 1, where the bench timeouts are far above this; the
# twin's own calls wait the same way (lab/twin/connection.py).
REPLY_WAIT_FLOOR_S = 2.0


def floored(clock: Clock, bench_s: float) -> float:
    """`bench_s`, or the bench seconds of REPLY_WAIT_FLOOR_S of real time when that is longer: a wait of the
    bench's own patience (never a spec's bound) at twin speeds."""
    return max(bench_s, clock.bench(REPLY_WAIT_FLOOR_S))
# ("csms", "csms2", "invalid"): the first is `url`; a spec names them (`charger connects to csms2`). The last is
# no CSMS: `invalid_url`, which closes every connection unanswered.
ENDPOINTS = tuple(e for e in CSMS_ENDPOINTS if e != "invalid")


@dataclass(frozen=True)
class Attempt:
    """One connection attempt as the harness saw it: bench time, endpoint, identity (empty when the TLS
    handshake failed before any), accepted or why not."""
    t: float
    endpoint: str
    station: str
    accepted: bool
    reason: str = ""


@dataclass
class _Endpoint:
    name: str
    server: Server | None = None
    front: TlsFront | None = None
    url: str = ""
    refuse: float = 0   # connection attempts still to refuse: 0 none, math.inf all (`refuse_endpoint`)


@dataclass
class _Station:
    """Everything the harness knows about one charger identity; survives reconnects and scenarios."""
    station_id: str
    responses: Responses = field(default_factory=Responses)
    book: TransactionBook = field(default_factory=TransactionBook)
    session: StationSession | None = None
    endpoint: str | None = None                # the endpoint of the current or last connection
    connections: int = 0
    connected_t: float | None = None
    first_connected_t: float | None = None     # before it, the harness never heard from this identity
    disconnected_t: float | None = None
    # Why the last connection closed when it was the bench's doing (the drop a spec asked for, a harness fault),
    # else "": a call while it stays closed is then no evidence against the charger (`CsmsHarness.call`).
    closed_by_bench: str = ""
    booted_t: float | None = None              # last BootNotification answered Accepted
    offline: deque[tuple[float, float | None]] = field(default_factory=lambda: deque(maxlen=MAX_OFFLINE_PERIODS))
    done: asyncio.Event | None = None          # set when the current connection's handler has finished
    # (evse, connector) -> its last status, by StatusNotification or NotifyEvent (connector_status.py)
    status: dict[tuple[int, int], ConnectorStatus] = field(default_factory=dict)
    status_order: list[tuple[int, int]] = field(default_factory=list)  # most recently reported last
    reports: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)  # open collectors
    clock: ChargerClock = field(default_factory=ChargerClock)  # its clock, for placing its readings
    # signal key -> the time of its last sample, most recently placed last (a series stays in time order)
    placed: dict[str, float] = field(default_factory=dict)


def station_identity(path: str) -> str:
    """The charger identity in a connection URL path: its last non-empty segment, percent-decoded."""
    segments = [s for s in urlsplit(path).path.split("/") if s]
    return unquote(segments[-1]) if segments else ""


class CsmsHarness(CsmsCommands):
    def __init__(self, recorder: Recorder, clock: Clock, config: CsmsConfig | None = None, *,
                 stations: Iterable[str] | None = None,
                 on_event: Callable[[str], None] | None = None) -> None:
        """`stations`: the identities the bench expects (others are refused with 404); None accepts any."""
        self.recorder = recorder
        self.clock = clock
        self.config = config or CsmsConfig()
        self.expected = frozenset(stations) if stations is not None else None
        self._on_event = on_event
        # Where a station's measurands are recorded: "" (charger.Power.Active.Import) for the station a run
        # judges by default, "@<id>." for the others of a bench of several (set by runner.bench_session).
        self.key_prefix: Callable[[str], str] = lambda _station_id: ""
        self._lock = threading.Lock()           # guards _stations against the test thread
        self._stations: dict[str, _Station] = {}
        self._endpoints = {name: _Endpoint(name) for name in ENDPOINTS}
        self._changed: asyncio.Event | None = None   # replaced by a fresh one on every state change
        self._refuse_until: float | None = None
        self._attempts: deque[Attempt] = deque(maxlen=MAX_ATTEMPTS)
        self._unreachable: asyncio.Server | None = None  # `invalid_url`: closes every connection unanswered
        self._listening = False
        self.url = ""
        self.urls: dict[str, str] = {}
        self.invalid_url = ""
        self.watch = LoopWatch(clock)  # the loop's stalls: when a frame's stamp may not be its arrival

    # ---- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on both endpoints; return the first's URL (port 0 in the config picks a free port)."""
        if self._listening:
            return self.url
        tls = server_tls_context(self.config)   # raises SecurityConfigError naming the bench setting
        self._changed = asyncio.Event()
        ports = {"csms": self.config.port, "csms2": self.config.port2}
        # csms2 may present another certificate (a new CSMS root's, TC_B_50_CS); by default the same one.
        second = self.config.model_copy(update={"certfile": self.config.certfile2, "keyfile": self.config.keyfile2})
        tls2 = server_tls_context(second) if tls is not None and self.config.certfile2 else tls
        try:
            for ep in self._endpoints.values():
                await self._listen(ep, tls2 if ep.name == "csms2" else tls, ports[ep.name])
        except BaseException:
            await self.stop()  # a port taken: close what was opened, so nothing is left listening
            raise
        self.url, self.urls = self._endpoints["csms"].url, {n: e.url for n, e in self._endpoints.items()}
        # The catalogue's "invalid ocppCsmsUrl" (TC_B_46_CS): a port that closes every connection before
        # any answer, logging it as an attempt at endpoint `invalid`, so a spec can count the charger's tries.
        self._unreachable = await asyncio.start_server(self._unanswered, self.config.host, 0)
        port = self._unreachable.sockets[0].getsockname()[1]
        self.invalid_url = f"{'wss' if tls else 'ws'}://{self.config.host}:{port}"
        self._listening = True
        self.watch.start()
        self._event("csms.listening", url=self.url, url2=self.urls["csms2"], invalid_url=self.invalid_url,
                    security_profile=self.config.security_profile)
        return self.url

    async def _listen(self, ep: _Endpoint, tls: Any, port: int) -> None:
        # With TLS, websockets listens on loopback behind the front, which owns the public port.
        host, inner = ("127.0.0.1", 0) if tls else (self.config.host, port)
        ep.server = await serve(
            lambda ws: self._handle(ws, ep.name), host, inner,
            select_subprotocol=self._select_subprotocol,
            process_request=lambda conn, request: self._process_request(conn, request, ep),
            ping_interval=None,  # keep-alive is the charger's Heartbeat; pings would mask a silent link
            max_size=self.config.max_frame_bytes,   # over it: close 1009, a finding (session.py)
        )
        bound = ep.server.sockets[0].getsockname()[1]
        if tls is not None:
            ep.front = TlsFront(tls, inner=("127.0.0.1", bound), on_refused=lambda r: self._tls_refused(r, ep.name),
                                handshake_timeout_s=self.config.tls_handshake_timeout_s)
            bound = await ep.front.start(self.config.host, port)
        ep.url = f"{'wss' if tls else 'ws'}://{self.config.host}:{bound}"

    async def stop(self) -> None:
        """Close every endpoint; also what a start() that failed half-way had opened."""
        running = self._unreachable is not None or any(ep.server is not None for ep in self._endpoints.values())
        if not running:
            return
        for ep in self._endpoints.values():
            if ep.front is not None:
                await ep.front.stop()
                ep.front = None
            if ep.server is not None:
                ep.server.close(close_connections=True)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ep.server.wait_closed(), 5)
                ep.server = None
        if self._unreachable is not None:
            self._unreachable.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._unreachable.wait_closed(), 5)
            self._unreachable = None
        self._listening = False
        self.watch.stop()
        self._event("csms.stopped")

    # ---- handshake ----------------------------------------------------------------------------

    def _select_subprotocol(self, _conn: ServerConnection, offered: list[str]) -> str | None:
        # Accept without a subprotocol so the handler can record why it closes (OCPP-J §3.2).
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    def _peer(self, conn: ServerConnection) -> Peer | None:
        address = conn.remote_address
        fronts = [ep.front for ep in self._endpoints.values() if ep.front is not None]
        if not fronts or not address:
            return None
        for front in fronts:
            peer = front.peer(int(address[1]))
            if peer is not None:
                return peer
        return None

    def _remote(self, conn: ServerConnection) -> str:
        peer = self._peer(conn)
        if peer is not None:
            return peer.address
        address = conn.remote_address
        return f"{address[0]}:{address[1]}" if address else "?"

    def _refuse(self, status: HTTPStatus, reason: str, station: str, *, finding: bool,
                remote: str = "?", headers: list[tuple[str, str]] | None = None) -> Response:
        self._event("csms.refused", station=station, status=int(status), reason=reason, remote=remote)
        if finding:
            self.recorder.finding("error", f"{station or '(no identity)'}: connection from {remote} refused "
                                  f"({int(status)} {status.phrase}): {reason}", station=station or None)
        hdrs = Headers([("Content-Type", "text/plain; charset=utf-8"), *(headers or [])])
        return Response(int(status), status.phrase, hdrs, f"{reason}\n".encode())

    def _tls_refused(self, refusal: TlsRefusal, endpoint: str = "csms") -> None:
        self._attempt(endpoint, "", False, f"TLS handshake: {refusal.reason}")
        self._event("csms.refused", station="", status=None, reason=refusal.reason, remote=refusal.address,
                    layer="tls", endpoint=endpoint)
        self.recorder.finding("error", f"connection from {refusal.address} refused during the TLS handshake "
                              f"(security profile {self.config.security_profile}): {refusal.reason}")

    async def _unanswered(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._attempt("invalid", "", False, "closed unanswered (the invalid URL)")
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    def _attempt(self, endpoint: str, station: str, accepted: bool, reason: str = "") -> None:
        with self._lock:
            self._attempts.append(Attempt(self.clock.now(), endpoint, station, accepted, reason))
        self._notify()

    def _process_request(self, conn: ServerConnection, request: Request, ep: _Endpoint) -> Response | None:
        out = self._check_request(conn, request, ep)
        self._attempt(ep.name, station_identity(request.path), out is None,
                      "" if out is None else f"HTTP {out.status_code}: {out.body.decode(errors='replace').strip()}")
        return out

    def _check_request(self, conn: ServerConnection, request: Request, ep: _Endpoint) -> Response | None:
        station = station_identity(request.path)
        remote = self._remote(conn)
        if not station:
            return self._refuse(HTTPStatus.NOT_FOUND, f"no charging station identity in the URL path "
                                f"{request.path!r}; connect to <url>/<identity>", station, finding=True,
                                remote=remote)
        if len(station) > MAX_IDENTITY:
            return self._refuse(HTTPStatus.NOT_FOUND, f"identity is {len(station)} characters; OCPP-J allows "
                                f"{MAX_IDENTITY}", station, finding=True, remote=remote)
        if self.expected is not None and station not in self.expected:
            return self._refuse(HTTPStatus.NOT_FOUND, f"unknown charging station {station!r}; the bench "
                                f"expects {sorted(self.expected)}", station, finding=True, remote=remote)
        if uses_basic_auth(self.config):
            auth = check_basic_auth(self.config, station, request.headers.get("Authorization"))
            if not auth.ok:
                challenge = ("WWW-Authenticate", 'Basic realm="chargespec CSMS", charset="UTF-8"')
                return self._refuse(HTTPStatus.UNAUTHORIZED, auth.reason, station, finding=True,
                                    remote=remote, headers=[challenge])
            if auth.note:
                self.recorder.finding("warning", f"{station}: {auth.note}", station=station)
        if self._refusing():
            return self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, "reconnects refused by the test (simulated "
                                "network outage)", station, finding=False, remote=remote)
        if ep.refuse > 0:
            ep.refuse -= 1
            return self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, f"connections to {ep.name} refused by the test",
                                station, finding=False, remote=remote)
        return None

    def _refusing(self) -> bool:
        until = self._refuse_until
        return until is not None and self.clock.now() < until

    # ---- connections --------------------------------------------------------------------------

    def _station(self, station_id: str) -> _Station:
        with self._lock:
            st = self._stations.get(station_id)
            if st is None:
                if len(self._stations) >= MAX_STATIONS:
                    self._forget_a_station()
                st = self._stations[station_id] = _Station(station_id)
            return st

    def _forget_a_station(self) -> None:
        """Drop the station disconnected longest ago (caller holds the lock); connected ones are kept."""
        idle = [s for s in self._stations.values() if s.session is None]
        if idle:
            gone = min(idle, key=lambda s: s.disconnected_t if s.disconnected_t is not None else -math.inf)
            del self._stations[gone.station_id]

    def _notify(self) -> None:
        """Wake every waiter (they re-check their predicate). Synchronous: callable from frame callbacks."""
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def _handle(self, ws: ServerConnection, endpoint: str = "csms") -> None:
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
        session = self._session(station, ws, st)
        done = asyncio.Event()
        now = self.clock.now()
        with self._lock:
            st.session, st.done = session, done
            st.endpoint = endpoint
            st.connections += 1
            st.connected_t = now
            if st.first_connected_t is None:
                st.first_connected_t = now
            if st.offline and st.offline[-1][1] is None:
                st.offline[-1] = (st.offline[-1][0], now)
        peer = self._peer(ws)
        security: dict[str, Any] = {"security_profile": self.config.security_profile}
        if uses_basic_auth(self.config):
            security["auth"] = "basic"
        if peer is not None:
            security["tls"] = peer.tls
            if peer.certificate:
                security["client_certificate"] = peer.certificate
        self._event("csms.connected", station=station, remote=self._remote(ws),
                    path=ws.request.path if ws.request else "", **security, endpoint=endpoint)
        self._notify()
        try:
            await session.run()
        finally:
            t = self.clock.now()
            by_bench = (f"the CSMS harness closed it after a fault of its own ({session.fault})"
                        if session.fault is not None else
                        "the bench cut it (`csms drops the connection`)" if session.cut_by_bench else "")
            with self._lock:
                if st.session is session:
                    st.session = None
                    st.disconnected_t = t
                    st.closed_by_bench = by_bench
                    st.offline.append((t, None))
            self._event("csms.disconnected", station=station, code=session.close_code,
                        reason=session.close_reason)
            done.set()
            self._notify()

    def _session(self, station: str, ws: ServerConnection, st: _Station) -> StationSession:
        """The session that serves one accepted connection (proxy mode relays instead: runner/proxy/)."""
        return StationSession(station, ws, recorder=self.recorder, clock=self.clock, responses=st.responses,
                              strict=self.config.strict_schema, on_frame=lambda fr: self._on_frame(st, fr))

    def _on_frame(self, st: _Station, frame: Frame) -> None:
        if frame.direction == "rx":
            with self._lock:
                tx = st.book.apply(frame)
                st.clock.observe(frame)
                lag = st.clock.lag
            self._record_samples(st, frame, tx.evse_id if tx is not None else None, lag)
            problems: list[str] = []
            with self._lock:
                if charger_call(frame):
                    problems = self._track(st, frame)
            for problem in problems:   # a malformed status report is the charger's finding, never a crash
                self.recorder.finding("error", f"{st.station_id}: {problem}", station=st.station_id,
                                      raw=frame.raw)
        elif (frame.message_type == CALLRESULT and frame.action == "BootNotification"
              and isinstance(frame.payload, dict) and frame.payload.get("status") == "Accepted"):
            with self._lock:
                st.booted_t = frame.t
        self._notify()

    def _record_samples(self, st: _Station, frame: Frame, tx_evse: int | None, lag: float | None) -> None:
        """The frame's signals into the recorder, each reading at the time the charger took it (or at the frame's
        arrival, with an event saying why: runner/csms/reading_time.py). A TransactionEvent without `evse`
        belongs to its transaction's EVSE (`tx_evse`: the book knows it)."""
        prefix = self.key_prefix(st.station_id)
        at_arrival: dict[str, list[str]] = {}
        claimed: dict[str, dict[str, float]] = {}
        for key, value, placement in placed_samples(frame, tx_evse, lag):
            p = in_order(placement, frame.t, st.placed.pop(key, None))
            st.placed[key] = p.t
            if len(st.placed) > MAX_PLACED_KEYS:   # a charger inventing signal names
                del st.placed[next(iter(st.placed))]
            self.recorder.sample(prefix + key, value, p.t)
            if p.at_arrival is not None:
                at_arrival.setdefault(p.at_arrival, []).append(prefix + key)
                if p.claimed is not None:
                    claimed.setdefault(p.at_arrival, {})[prefix + key] = p.claimed
        for why, keys in at_arrival.items():   # one event a reason and frame, not one a reading
            self.recorder.event(AT_ARRIVAL, t=frame.t, station=st.station_id, action=frame.action,
                                keys=sorted(set(keys)), why=why,
                                **({"claimed": claimed[why]} if why in claimed else {}))

    @staticmethod
    def _track(st: _Station, frame: Frame) -> list[str]:
        """Connector status and report parts from a charger CALL (caller holds the lock); the problems of
        its connector status entries, for findings."""
        action, p = frame.action, frame.payload
        if action == "BootNotification":
            st.status.clear()        # a rebooted charger re-reports every connector
            st.status_order.clear()
            return []
        if action in ("NotifyReport", "ReportChargingProfiles") and isinstance(p, dict):
            request = p.get("requestId")
            # (a requestId that is no integer answers no request of ours; the schema finding names it)
            collector = st.reports.get((action, request)) if isinstance(request, int) else None
            if collector is not None:
                collector.append(p)
            return []
        statuses, problems = statuses_from_frame(frame)
        for reported in statuses:
            key = (reported.evse, reported.connector)
            st.status[key] = reported
            if key in st.status_order:
                st.status_order.remove(key)
            st.status_order.append(key)
            if len(st.status_order) > MAX_CONNECTORS:
                del st.status[st.status_order.pop(0)]
        return problems

    def _event(self, kind: str, **data: Any) -> None:
        self.recorder.event(kind, **data)
        if self._on_event is not None:
            self._on_event(" ".join([kind, *(f"{k}={v}" for k, v in data.items())]))

    # ---- waiting ------------------------------------------------------------------------------

    async def _wait_for(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        if self._changed is None:
            raise CsmsBenchFault("the CSMS harness is not started; call `await harness.start()` first")

        async def until() -> None:
            while not predicate():
                assert self._changed is not None
                await self._changed.wait()
        wait = max(self.clock.real(timeout_s), REPLY_WAIT_FLOOR_S)  # (the floor: see REPLY_WAIT_FLOOR_S)
        try:
            await within(until(), wait, what or "waiting on the CSMS harness")
        except TimeoutError:
            raise CsmsTimeout(f"{what} within {self.clock.bench(wait):g} s (bench time)") from None

    async def wait_connected(self, station_id: str, timeout_s: float) -> None:
        st = self._station(station_id)
        await self._wait_for(lambda: st.session is not None, timeout_s,
                             f"charging station {station_id!r} did not connect to {self.url}/{station_id}"
                             + (f" or {self.urls['csms2']}/{station_id}" if self.urls.get("csms2") else ""))

    async def wait_disconnected(self, station_id: str, timeout_s: float) -> None:
        st = self._station(station_id)
        await self._wait_for(lambda: st.session is None, timeout_s,
                             f"charging station {station_id!r} did not disconnect")

    async def wait_booted(self, station_id: str, timeout_s: float, *, since_t: float | None = None) -> None:
        """Until a BootNotification was answered Accepted (at or after bench time `since_t`, if given)."""
        st = self._station(station_id)

        def booted() -> bool:
            return st.booted_t is not None and (since_t is None or st.booted_t >= since_t)
        try:
            await self._wait_for(booted, timeout_s,
                                 f"charging station {station_id!r} did not complete an accepted BootNotification "
                                 f"(boot status configured: {st.responses.boot_status})")
        except CsmsTimeout as e:
            # The harness answering boots other than Accepted, or refusing the connection, is the spec's doing.
            why = ([f"the harness answers its boots {st.responses.boot_status}, as the spec asked"]
                   if st.responses.boot_status != "Accepted" else [])
            refusing = self.bench_refuses() if st.session is None else ""
            if why or refusing:
                raise CsmsBenchFault(f"{e}; {'; '.join([*why, refusing] if refusing else why)}: no accepted boot "
                                     "could come, which is no evidence against the charger") from None
            raise

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
            why = self._offline_by_bench(st)
            if why:
                raise CsmsBenchFault(f"cannot send {action} to {station_id!r}: it is not connected, and {why}; its "
                                     "absence is no evidence against the charger (wait for it with `charger "
                                     "reconnects` first)")
            raise CsmsNotConnected(f"cannot send {action} to {station_id!r}: it is not connected "
                                   f"(connections so far: {st.connections})")
        # Listen to the answer while the call is sent: the waiting happens inside the session.
        wait = max(self.clock.real(timeout_s), REPLY_WAIT_FLOOR_S)
        return await session.request(action, payload, wait, validate_request=validate)

    def _offline_by_bench(self, st: _Station) -> str:
        """Why a station with no connection is offline when that is the bench's doing (it cut or closed the
        last connection, or refuses new ones), else ""."""
        reasons = []
        if st.closed_by_bench and st.disconnected_t is not None:
            reasons.append(f"its last connection closed at t={st.disconnected_t - self.recorder.t_begin:.1f} s: "
                           f"{st.closed_by_bench}")
        refusing = self.bench_refuses()
        return "; ".join([*reasons, refusing] if refusing else reasons)

    def bench_refuses(self) -> str:
        """How the bench, at the spec's request, refuses every connection the charger could make now, else "": a
        charger cannot be blamed for not being connected meanwhile. One endpoint refused (`csms refuses
        connections to csms2`: the charger is to fall back to the other) or a count of attempts (which retrying
        uses up) leaves it a way in, so it counts only with every endpoint refusing every attempt."""
        if self._refusing():
            return "the bench refuses its reconnects (`csms refuses reconnects`)"
        if all(ep.refuse == math.inf for ep in self._endpoints.values()):
            return f"the bench refuses every connection at {', '.join(self._endpoints)}"
        return ""

    # ---- network faults -----------------------------------------------------------------------

    async def drop(self, station_id: str) -> None:
        """Cut the station's connection now (no closing handshake), as a network loss would."""
        st = self._station(station_id)
        session, done = st.session, st.done
        self._event("csms.drop", station=station_id, connected=session is not None)
        if session is None:
            return
        session.abort(by_bench=True)
        if done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 5)

    def refuse_reconnects(self, bench_seconds: float | None = None) -> None:
        """Refuse every new connection (HTTP 503) for `bench_seconds`, or until `accept_reconnects()`."""
        until = math.inf if bench_seconds is None else self.clock.now() + bench_seconds
        self._refuse_until = until
        self._event("csms.refusing", until=None if bench_seconds is None else until)

    def accept_reconnects(self) -> None:
        """Accept connections again, on every endpoint (ends `refuse_endpoint` too)."""
        self._refuse_until = None
        for ep in self._endpoints.values():
            ep.refuse = 0
        self._event("csms.accepting")

    def refuse_endpoint(self, endpoint: str, count: float = math.inf) -> None:
        """Refuse the next `count` connection attempts at `endpoint` (HTTP 503); 0 accepts them again."""
        self._endpoint(endpoint).refuse = count
        self._event("csms.refusing_endpoint", endpoint=endpoint, count=None if count == math.inf else count)

    def _endpoint(self, name: str) -> _Endpoint:
        ep = self._endpoints.get(name)
        if ep is None:
            raise CsmsBenchFault(f"no CSMS endpoint {name!r}; the harness listens as {', '.join(ENDPOINTS)}")
        return ep

    def attempts(self, station_id: str | None = None, since_t: float = -math.inf) -> list[Attempt]:
        """Connection attempts at or after bench time `since_t` (of `station_id`, with refused TLS handshakes,
        which carry no identity), oldest first."""
        with self._lock:
            return [a for a in self._attempts if a.t >= since_t
                    and (station_id is None or a.station in (station_id, ""))]

    def endpoint(self, station_id: str) -> str | None:
        """The endpoint of the station's current connection, None when it is not connected."""
        st = self._station(station_id)
        with self._lock:
            return st.endpoint if st.session is not None else None

    # ---- reading ------------------------------------------------------------------------------

    def responses(self, station_id: str) -> Responses:
        return self._station(station_id).responses

    def connected(self, station_id: str) -> bool:
        return self._station(station_id).session is not None

    def connection_times(self, station_id: str) -> tuple[float | None, float | None]:
        """(bench t the current or last connection opened, bench t the last one closed); None: never."""
        st = self._station(station_id)
        with self._lock:
            return st.connected_t, st.disconnected_t

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

    def heard_until(self) -> float:
        """Bench time before which everything the chargers sent has been read and stamped (LoopWatch)."""
        return self.watch.heard_until()

    def stalls(self, start: float, end: float) -> list[Stall]:
        """The bench loop's stalls whose shadow meets [start, end]: frames stamped in one may have arrived
        anywhere in it (LoopWatch)."""
        return self.watch.stalls(start, end)

    def offline_within(self, station_id: str, start: float, end: float) -> list[tuple[float, float]]:
        """The parts of [start, end] (bench time) in which the station had no connection to this harness,
        including the time before it first connected; [] when it was connected throughout."""
        first = self._station(station_id).first_connected_t
        # before the first connection (or with none yet) the charger was not there to be heard
        periods = [(-math.inf, math.inf if first is None else first), *self.offline_periods(station_id)]
        return [(max(a, start), min(b, end)) for a, b in periods if min(b, end) > max(a, start)]

    def status(self, station_id: str, evse_id: int, connector_id: int | None = None) -> str | None:
        """The connector status last reported (StatusNotification, or NotifyEvent Connector.AvailabilityState)
        since the charger's last boot; with no connector, that of the EVSE's most recently reported connector.
        Survives recorder.begin()."""
        reported = self.connector_status(station_id, evse_id, connector_id)
        return reported.status if reported is not None else None

    def connector_status(self, station_id: str, evse_id: int,
                         connector_id: int | None = None) -> ConnectorStatus | None:
        """As `status`, with its evidence: which message reported it, when, and the charger's own time."""
        st = self._station(station_id)
        with self._lock:
            if connector_id is not None:
                return st.status.get((evse_id, connector_id))
            for key in reversed(st.status_order):
                if key[0] == evse_id:
                    return st.status[key]
            return None

    def reported_evses(self, station_id: str) -> list[int]:
        """The EVSEs the charger reported a connector status of (StatusNotification or NotifyEvent) since
        its last boot."""
        st = self._station(station_id)
        with self._lock:
            return sorted({evse for evse, _ in st.status})

    def booted_t(self, station_id: str) -> float | None:
        """Bench time of the last BootNotification answered Accepted, or None."""
        return self._station(station_id).booted_t

    # ---- reports in parts ---------------------------------------------------------------------

    async def _report(self, station_id: str, action: str, payload: dict[str, Any], report_action: str,
                      list_field: str, timeout_s: float) -> Report:
        """Send a report request and collect its `report_action` parts up to the one with tbc false."""
        st = self._station(station_id)
        key = (report_action, payload["requestId"])
        deadline = self.clock.now() + timeout_s
        with self._lock:
            st.reports[key] = parts = []   # listen before sending: a hasty charger may report first
        try:
            outcome = await self.call(station_id, action, payload, timeout_s)
            report = Report(outcome, (), list_field)
            if not report.accepted:
                return report

            def last_part() -> bool:
                return any(not p.get("tbc", False) for p in list(parts))
            try:
                await self._wait_for(last_part, max(0.0, deadline - self.clock.now()), "")
            except CsmsTimeout:
                raise CsmsTimeout(
                    f"{station_id}: {action} (requestId {key[1]}) was accepted but the charger sent "
                    f"{len(parts)} {report_action} part(s) and no last one (tbc false) within "
                    f"{timeout_s:g} s bench time") from None
            with self._lock:
                got = list(parts)
        finally:
            with self._lock:
                st.reports.pop(key, None)
        if report_action == "NotifyReport":
            got = self._in_sequence(station_id, report_action, key[1], got)
        return Report(outcome, tuple(got), list_field)

    def _in_sequence(self, station_id: str, action: str, request_id: int,
                     parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """NotifyReport parts in seqNo order; a gap or a repeat is a finding against the charger."""
        ordered = sorted(parts, key=lambda p: p.get("seqNo") if isinstance(p.get("seqNo"), int) else -1)
        seq = [p.get("seqNo") for p in ordered]
        if seq != list(range(len(ordered))):
            self.recorder.finding("error", f"{station_id}: {action} parts for requestId {request_id} carry "
                                  f"seqNo {seq}; expected 0 to {len(ordered) - 1}, each once",
                                  station=station_id)
        return ordered
