"""A TLS front for the harness: it does every TLS handshake itself, so a refused one is recorded.

asyncio's TLS server drops a failed handshake (untrusted client certificate, TLS 1.1, plain HTTP on a
TLS port) without telling the application. The front accepts plain TCP, runs the handshake with
`StreamWriter.start_tls`, reports a failure with the peer address and OpenSSL's reason, and relays an
accepted connection's bytes to the websockets server listening on loopback behind it. The websockets
side learns the real peer (address, client certificate) with `peer(inner_port)`.

    front = TlsFront(ctx, inner=("127.0.0.1", 40123), on_refused=print, handshake_timeout_s=10)
    port = await front.start("0.0.0.0", 443)
    front.peer(ws.remote_address[1])     # Peer(address="10.0.0.7:51234", tls="TLSv1.3", certificate={...})
    await front.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from runner.csms.security import certificate_summary

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Peer:
    address: str                                   # "host:port" of the charger
    tls: str = ""                                  # negotiated version, e.g. "TLSv1.3"
    cipher: str = ""
    certificate: dict[str, str] = field(default_factory=dict)   # see security.certificate_summary


@dataclass(frozen=True)
class TlsRefusal:
    address: str
    reason: str


def _address(peername: object) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        return f"{peername[0]}:{peername[1]}"
    return str(peername or "?")


# OpenSSL reasons a charger commonly earns, in words a commissioning engineer acts on.
_HINTS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE":
        "the charger sent no client certificate (security profile 3 needs one)",
    "HTTP_REQUEST": "the charger spoke plain HTTP to the TLS port (ws:// instead of wss://)",
    "WRONG_VERSION_NUMBER": "not a TLS handshake, or a TLS version the CSMS does not speak",
    "UNSUPPORTED_PROTOCOL": "the charger offered only TLS versions below 1.2",
    "NO_SHARED_CIPHER": "no cipher suite in common with the charger",
}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"client certificate rejected: {exc.verify_message or exc.reason} ({exc.reason})"
    if isinstance(exc, ssl.SSLError):
        hint = _HINTS.get(str(exc.reason))
        return f"TLS handshake failed: {hint} ({exc.reason})" if hint else \
            f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "TLS handshake did not complete in time (a plain ws:// client on the wss:// port?)"
    return f"TLS handshake failed: {type(exc).__name__}: {exc}"


class TlsFront:
    def __init__(self, context: ssl.SSLContext, *, inner: tuple[str, int],
                 on_refused: Callable[[TlsRefusal], None], handshake_timeout_s: float = 10.0) -> None:
        self.context = context
        self.inner = inner
        self._on_refused = on_refused
        self._timeout = handshake_timeout_s
        self._server: asyncio.Server | None = None
        self._peers: dict[int, Peer] = {}           # local port of the relay's inner socket -> the charger
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._accept, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    def peer(self, inner_port: int) -> Peer | None:
        return self._peers.get(inner_port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        address = _address(writer.get_extra_info("peername"))
        reset = True
        try:
            reset = await self._serve(address, reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            # A connection the harness aborted (a simulated network loss) must reach the charger as one.
            if reset:
                writer.transport.abort()
            else:
                writer.close()

    async def _serve(self, address: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Handshake and relay; True when the connection ended in a reset rather than a close."""
        try:
            await writer.start_tls(self.context, ssl_handshake_timeout=self._timeout)
        except (OSError, TimeoutError, EOFError) as e:  # ssl.SSLError is an OSError
            self._on_refused(TlsRefusal(address, _reason(e)))
            return True
        peer = Peer(address, str(writer.get_extra_info("ssl_object").version() or ""),
                    str((writer.get_extra_info("cipher") or ("",))[0]),
                    certificate_summary(writer.get_extra_info("peercert")))
        try:
            inner_reader, inner_writer = await asyncio.open_connection(*self.inner)
        except OSError:
            return True  # the harness is stopping
        self._writers.add(inner_writer)
        port = int(inner_writer.get_extra_info("sockname")[1])
        self._peers[port] = peer
        try:
            # Either side ending ends both: a dropped charger must look dropped to the harness and back.
            upstream = asyncio.create_task(self._relay(reader, inner_writer))
            downstream = asyncio.create_task(self._relay(inner_reader, writer))
            try:
                await asyncio.wait((upstream, downstream), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for r in (upstream, downstream):
                    r.cancel()
                await asyncio.gather(upstream, downstream, return_exceptions=True)
            return downstream.done() and not downstream.cancelled() and downstream.result()
        finally:
            self._peers.pop(port, None)
            self._writers.discard(inner_writer)
            inner_writer.close()

    @staticmethod
    async def _relay(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> bool:
        """Copy until end of stream; True if it ended in a reset or write error."""
        try:
            while data := await source.read(_CHUNK):
                sink.write(data)
                await sink.drain()
        except (OSError, ConnectionError):
            return True
        return False
