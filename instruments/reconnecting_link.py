"""What every instrument link shares: the open/closed lifecycle, errors naming the owner, and reconnects.

A link subclass says how to make a connection (`_connect`) and what it calls one in messages
(`connection_noun`); this base keeps it under a reentrant lock, drops it when it is lost, and runs each
exchange through `_with_reconnect`, which reopens a lost connection and reruns the whole exchange up to
`reconnect_attempts` times:

    class MyLink(ReconnectingLink):
        connection_noun = "line"
        def _connect(self) -> Any: ...               # a new connection, or raise an InstrumentError
        def ask(self, command: str) -> str:
            return self._with_reconnect(command, lambda: self._conn.ask(command))
"""

from __future__ import annotations

import contextlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

from instruments.errors import InstrumentConnectionLost, InstrumentError, InstrumentStateError

R = TypeVar("R")


class LinkOwner(Protocol):
    """The driver a link speaks for: errors name it, and each exchange records its command on it."""

    name: str
    address: str
    last_command: str | None


class ReconnectingLink(ABC):
    #: How the not-open error names the connection: "the <noun> of 'wt' is not open".
    connection_noun: ClassVar[str]

    def __init__(self, owner: LinkOwner, *, timeout_s: float, reconnect_attempts: int) -> None:
        self.owner = owner
        self.timeout_s = timeout_s
        self.reconnect_attempts = reconnect_attempts
        self.lock = threading.RLock()
        self.reconnects = 0  # how many times a lost connection was reopened (evidence for the report)
        self._conn: Any = None
        self._wanted_open = False  # open() was called and close() was not; the connection may be dropped

    @property
    def is_open(self) -> bool:
        return self._wanted_open

    def open(self) -> None:
        with self.lock:
            if self._conn is None:
                self._conn = self._connect()
            self._wanted_open = True

    def close(self) -> None:
        with self.lock:
            self._wanted_open = False
            self._drop()

    @abstractmethod
    def _connect(self) -> Any:
        """A new connection to the owner's instrument; an InstrumentError naming it if that fails."""

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing a connection the peer already dropped may fail; the link is gone either way.
            with contextlib.suppress(Exception):
                conn.close()

    def _error(self, cls: type[InstrumentError], message: str) -> InstrumentError:
        return cls(self.owner.name, self.owner.address, message, last_command=self.owner.last_command)

    def _with_reconnect(self, command: str, exchange: Callable[[], R]) -> R:
        """Run `exchange` under the lock, naming `command`; reconnect and rerun it if the connection drops."""
        with self.lock:
            self.owner.last_command = command
            if not self._wanted_open:
                raise self._error(InstrumentStateError,
                                  f"the {self.connection_noun} of {self.owner.name!r} is not open")
            failures = 0
            while True:
                try:
                    if self._conn is None:  # dropped after a lost connection: reconnect
                        self._conn = self._connect()
                        self.reconnects += 1
                    return exchange()
                except InstrumentConnectionLost:
                    if failures >= self.reconnect_attempts:
                        raise
                    failures += 1
                    self._drop()
                    # Short growing pause: an instrument rebooting or a flapping network needs a moment.
                    time.sleep(min(0.1 * 2 ** (failures - 1), 2.0))
