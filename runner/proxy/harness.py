"""The proxy harness: the CSMS harness with every accepted connection relayed to a target CSMS.

    harness = ProxyHarness(recorder, clock, config=bench.csms, proxy=bench.proxy)
    url = await harness.start()       # the charger connects here, as to the harness
    outcome = await harness.inject("CS1", "TriggerMessage", {...}, timeout_s=30)   # chargespec's own call

It keeps all of the harness's listening, handshake checks (identity, Basic auth, TLS per the bench's
[csms] table), connection log, network faults (`drop`, `refuse_reconnects`: an outage between charger and
backend) and the state it derives from traffic (boots, connector status, transactions, offline periods),
so every statement and expectation that reads recorded traffic works unchanged. What differs: after the
harness's own checks pass, the upstream connection to `<proxy.to>/<identity>` is opened before the charger's
handshake is answered; a backend that refuses (HTTP status) has its status relayed to the charger, one that
cannot be reached is answered 502. The backend decides every answer: statements that make the harness the
CSMS (`csms sends`, `csms answers …`, `csms sets …`) raise a usage error (BenchError) naming `inject`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
from http import HTTPStatus
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request, Response

from instruments.clock import Clock
from lab.bench import CsmsConfig, ProxyConfig
from runner.csms.harness import SUBPROTOCOL, CsmsHarness, _Endpoint, _Station, station_identity
from runner.csms.responses import Responses
from runner.csms.session import CallOutcome
from runner.errors import BenchError
from runner.proxy.relay import RelaySession
from runner.proxy.upstream import client_tls_context, connect_options, offered_subprotocols, upstream_url
from runner.recorder import Recorder, finding_station

ORPHAN_S = 30.0   # real seconds an opened upstream waits for its charger's handshake to complete


def proxy_usage(what: str) -> BenchError:
    """The usage error for a statement that needs chargespec to be the CSMS."""
    return BenchError(None, f"{what} needs chargespec to be the CSMS; in proxy mode the target CSMS decides "
                      "(docs/proxy.md). To send a call of chargespec's own, write `csms injects <Action> {…}`")


class RelayedAnswers(Responses):
    """The answers in proxy mode: the backend's. Configuring one is a usage error; reset is harmless."""

    def boot(self, status: Any = "Accepted", interval: int = 300) -> None:
        raise proxy_usage("`csms answers BootNotification with …`")

    def block_tokens(self, *tokens: str) -> None:
        raise proxy_usage("`csms blocks token …`")

    def add_rule(self, rule: Any) -> None:
        raise proxy_usage("`csms answers … with …` (an answer rule)")


class ProxyHarness(CsmsHarness):
    def __init__(self, recorder: Recorder, clock: Clock, config: CsmsConfig | None = None, *,
                 proxy: ProxyConfig, **kwargs: Any) -> None:
        super().__init__(recorder, clock, config, **kwargs)
        # The tx frames are the target CSMS's, not chargespec's: ocpp.jsonl names their sender "backend".
        recorder.senders = {**recorder.senders, "tx": "backend"}
        self.proxy = proxy
        self._tls: ssl.SSLContext | None = None
        self._upstream: dict[int, ClientConnection] = {}   # id(charger connection) -> its backend connection

    async def start(self) -> str:
        self._tls = client_tls_context(self.proxy)   # a missing file fails the start, naming the setting
        url = await super().start()
        self._event("proxy.target", to=self.proxy.to, tls=self._tls is not None,
                    client_certificate=bool(self.proxy.client_certfile))
        return url

    async def stop(self) -> None:
        for ws in list(self._upstream.values()):
            with contextlib.suppress(Exception):
                ws.transport.abort()
        self._upstream.clear()
        await super().stop()

    # ---- the handshake: the backend's answer first ---------------------------------------------

    async def _process_request(self, conn: ServerConnection, request: Request,  # type: ignore[override]
                               ep: _Endpoint) -> Response | None:
        out = self._check_request(conn, request, ep)
        station = station_identity(request.path)
        if out is None:
            out = await self._open_upstream(conn, request, station)
        self._attempt(ep.name, station, out is None,
                      "" if out is None else f"HTTP {out.status_code}: {out.body.decode(errors='replace').strip()}")
        return out

    async def _open_upstream(self, conn: ServerConnection, request: Request, station: str) -> Response | None:
        url = upstream_url(self.proxy.to, station)
        try:
            ws = await connect(url, **connect_options(self.proxy, station, request, self._tls))
        except InvalidStatus as e:
            status = e.response.status_code
            self._event("proxy.upstream_refused", station=station, url=url, status=status)
            body = e.response.body.decode(errors="replace").strip() if e.response.body else ""
            return self._relayed_refusal(status, f"the target CSMS refused: HTTP {status} {body}".strip(), station)
        except Exception as e:   # unreachable, TLS refused, timeout: the charger sees a bad gateway
            reason = f"the target CSMS {url} cannot be reached: {type(e).__name__}: {e}"
            self._event("proxy.upstream_unreachable", station=station, url=url, reason=str(e))
            return self._refuse(HTTPStatus.BAD_GATEWAY, reason, station, finding=False)
        self._upstream[id(conn)] = ws
        # Taken by `_session` at once; one left behind (the charger vanished mid-handshake) is closed.
        asyncio.get_running_loop().call_later(ORPHAN_S, self._orphan, id(conn), ws)
        self._event("proxy.upstream_connected", station=station, url=url, subprotocol=ws.subprotocol)
        return None

    def _orphan(self, key: int, ws: ClientConnection) -> None:
        if self._upstream.get(key) is ws:
            del self._upstream[key]
            ws.transport.abort()

    def _relayed_refusal(self, status: int, reason: str, station: str) -> Response:
        try:
            http = HTTPStatus(status)
        except ValueError:
            http = HTTPStatus.BAD_GATEWAY
        return self._refuse(http, reason, station, finding=False)

    def _select_subprotocol(self, conn: ServerConnection, offered: list[str]) -> str | None:
        ws = self._upstream.get(id(conn))
        picked = ws.subprotocol if ws is not None else None
        return picked if picked in offered else None

    def _session(self, station: str, ws: ServerConnection, st: _Station) -> RelaySession:  # type: ignore[override]
        backend = self._upstream.pop(id(ws))
        return RelaySession(station, ws, backend, recorder=self.recorder, clock=self.clock,
                            strict=self.config.strict_schema, on_frame=lambda fr: self._on_frame(st, fr))

    async def _handle(self, ws: ServerConnection, endpoint: str = "csms") -> None:
        try:
            if ws.subprotocol != SUBPROTOCOL and ws.request is not None \
                    and SUBPROTOCOL in offered_subprotocols(ws.request):
                await self._backend_refused_subprotocol(ws)   # the charger offered it; the backend did not pick it
                return
            await super()._handle(ws, endpoint)
        finally:   # a connection the harness closed before relaying (no subprotocol): close its upstream too
            backend = self._upstream.pop(id(ws), None)
            if backend is not None:
                with contextlib.suppress(Exception):
                    await backend.close(1000)

    async def _backend_refused_subprotocol(self, ws: ServerConnection) -> None:
        """The charger offered ocpp2.0.1 and the backend accepted without choosing it: the charger gets what
        the backend chose (closed, 1002, as the harness closes a charger that offers no ocpp2.0.1), and the
        finding is the backend's, never the charger's."""
        station = station_identity(ws.request.path if ws.request else "")
        backend = self._upstream.get(id(ws))
        picked = backend.subprotocol if backend is not None else None
        reason = f"the backend chose subprotocol {picked or 'none'} of the charger's offer of {SUBPROTOCOL}"
        self._event("proxy.upstream_subprotocol", station=station, subprotocol=picked)
        self.recorder.finding("error", f"{station}: {reason}; connection closed (OCPP-J §3.2)",
                              station=finding_station(station, "backend"))
        await ws.close(1002, reason[:120])

    async def drop(self, station_id: str) -> None:
        """The spec's network fault (`csms drops the connection`): the close is the bench's, never read as the
        charger's or the backend's (`proxy.closed` by "bench"; an injected call it cuts short is broken)."""
        session = self._station(station_id).session
        if isinstance(session, RelaySession):
            session.cut_by_bench = True
        await super().drop(station_id)

    # ---- the backend answers; chargespec only injects --------------------------------------------

    def responses(self, station_id: str) -> Responses:
        st = self._station(station_id)
        if not isinstance(st.responses, RelayedAnswers):
            st.responses = RelayedAnswers()
        return st.responses

    async def call(self, station_id: str, action: str, payload: dict[str, Any], timeout_s: float = 30, *,
                   validate: bool = True) -> CallOutcome:
        raise proxy_usage(f"sending {action} as the CSMS")

    async def inject(self, station_id: str, action: str, payload: dict[str, Any], timeout_s: float = 30, *,
                     validate: bool = True) -> CallOutcome:
        """Send chargespec's own CALL to the charger; its answer is consumed, not relayed (marked in the
        evidence as a `proxy.injected` event). A charger that is not connected because the backend or the bench
        closed or refused its connection makes this broken, not the charger's failure."""
        if not self.connected(station_id):
            why = self._offline_not_by_charger(station_id)
            if why:
                raise BenchError(None, f"cannot inject {action}: {station_id!r} is not connected: {why}; its absence "
                                       "is no evidence (proxy mode; not the charger's failure)")
        return await super().call(station_id, action, payload, timeout_s, validate=validate)

    def _offline_not_by_charger(self, station_id: str) -> str | None:
        """Why the charger is offline when that is the backend's or the bench's doing, else None: its last
        connection closed by them, or its reconnects since refused by the backend or by the spec's fault."""
        closes = [e for e in self.recorder.events("proxy.closed") if e.get("station") == station_id]
        since = closes[-1]["t"] if closes else -math.inf
        refused = [e for e in self.recorder.events() if e.get("station") == station_id and e["t"] >= since
                   and e["kind"] in ("proxy.upstream_refused", "proxy.upstream_unreachable")]
        if refused:
            return (f"the backend refused or could not be reached on {len(refused)} connection attempt(s) of its "
                    f"since t={max(since, 0.0):.3f} s")
        if self._refusing():
            return "the bench refuses its reconnects (a network fault the spec asked for)"
        if closes and closes[-1].get("by") in ("backend", "bench"):
            return f"the {closes[-1]['by']} closed its last connection at t={since:.3f} s"
        return None
