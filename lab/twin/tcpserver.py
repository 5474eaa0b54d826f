"""The TCP side every twin instrument server shares: listen on 127.0.0.1 (a free port by default), keep
the open connections, close them all on stop. Subclasses serve one connection in :meth:`TcpServer._serve`
and register its writer in ``self._writers`` while it is open.

    port = await server.start()            # 127.0.0.1, a free port
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib

_ASYNCIO_LIMIT = 64 * 1024  # asyncio's own default buffer limit


class TcpServer:
    name = "twin server"
    #: The stream reader's buffer limit: the longest line (readline) a client may send.
    read_limit = _ASYNCIO_LIMIT

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.host = "127.0.0.1"
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, limit=self.read_limit)
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for w in list(self._writers):
            w.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2.0)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
