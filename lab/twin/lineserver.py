"""A small asyncio TCP server for line protocols (the twin's SCPI analyzer and EV emulator).

Subclasses answer one request line with zero or more reply lines; :meth:`LineServer.broadcast` pushes
unsolicited lines (events) to every connected client. Lines end with ``\\n``; a ``\\r`` before it is ignored.

    server = MyServer()
    port = await server.start()            # 127.0.0.1, a free port
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import logging

from lab.twin.tcpserver import TcpServer

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024


# How a twin instrument's line can fail, as real ones do: `silent` reads requests and never answers (a
# hung instrument: the driver times out), `garbage` answers noise (a wrong baud rate, a bad cable), `drop`
# closes the connection at the next request (an unplugged USB adapter, a rebooted LAN module).
LINE_FAULTS = ("silent", "garbage", "drop")


class LineServer(TcpServer):
    """Serve a line protocol on 127.0.0.1; one instrument state shared by all connections."""

    name = "line server"
    read_limit = MAX_LINE

    def __init__(self) -> None:
        super().__init__()
        self.line_fault: str | None = None

    def handle(self, line: str) -> list[str]:
        """Reply lines (without terminator) for one request line."""
        raise NotImplementedError

    def broadcast(self, line: str) -> None:
        """Send an unsolicited line to every client (call on the loop thread)."""
        for w in list(self._writers):
            if not w.is_closing():
                w.write(line.encode("ascii", "replace") + b"\n")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    raw = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    log.warning("%s: request line longer than %d bytes; dropping the client", self.name, MAX_LINE)
                    break
                if not raw:
                    break
                line = raw.decode("ascii", "replace").rstrip("\r\n")
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
                    replies = self.handle(line)
                except Exception:  # a bug in the twin must not take the bench down silently
                    log.exception("%s: failed to handle %r", self.name, line)
                    replies = []
                if replies:
                    writer.write("".join(r + "\n" for r in replies).encode("ascii", "replace"))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
