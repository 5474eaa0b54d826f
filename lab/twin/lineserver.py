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
import re

from lab.twin.tcpserver import TcpServer

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024


# How a twin instrument's line can fail, as real ones do: `silent` reads requests and never answers (a
# hung instrument: the driver times out), `garbage` answers noise (a wrong baud rate, a bad cable), `drop`
# closes the connection at the next request (an unplugged USB adapter, a rebooted LAN module), `late`
# answers the next request LATE_S late, past the drivers' timeout, and the later ones on time (a busy
# instrument). The late answer's numbers are 999 (no reading this bench can give; a request id it echoes
# is kept): a driver that took it for a later request's answer would show it in the record, as a real one
# would show a stale reading.
LINE_FAULTS = ("silent", "garbage", "drop", "late")
LATE_S = 3.0  # real seconds (the drivers wait 2 s)
_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")


class LineServer(TcpServer):
    """Serve a line protocol on 127.0.0.1; one instrument state shared by all connections."""

    name = "line server"
    read_limit = MAX_LINE
    #: Replies start with the request's id (the EV and reader protocols): a late answer keeps it, as a real
    #: device's would, so that the driver's id check is what keeps it from being taken for a later answer.
    echoes_id = False

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
                late = fault == "late"
                if late:
                    self.line_fault = None  # once: the requests after it are answered on time
                try:
                    replies = self.handle(line)
                except Exception:  # a bug in the twin must not take the bench down silently
                    log.exception("%s: failed to handle %r", self.name, line)
                    replies = []
                if late:
                    await asyncio.sleep(LATE_S)  # (the requests sent meanwhile wait in the stream, as on a wire)
                    replies = [self._stale(r) for r in replies]
                if replies:
                    writer.write("".join(r + "\n" for r in replies).encode("ascii", "replace"))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _stale(self, reply: str) -> str:
        """A late reply with its numbers 999 (the request id, when replies echo one, kept)."""
        if self.echoes_id:
            rid, sep, rest = reply.partition(" ")
            return rid + sep + _NUMBER.sub("999", rest)
        return _NUMBER.sub("999", reply)
