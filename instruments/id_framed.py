"""Id-framed request/reply over a line, as the chargespec EV emulator and token reader protocols frame it
(docs/ev-emulator-protocol.md, docs/reader-protocol.md).

Each request goes out as ``<id> <command>``; the reply with the same id (``<id> OK [value]`` or
``<id> ERR <code> <text>``) is its answer. A reply with another id is a late answer to a request that timed
out and is skipped, so a reading never belongs to an earlier question. ``!`` lines are unsolicited events,
handed to `on_event`. Anything else on the line is garbage: :class:`InstrumentProtocolError`.

    framing = IdFraming(link, owner, on_event=self._event)
    value = framing.request("PWM:DUTY?")        # "26.6", or None for a bare OK
"""

from __future__ import annotations

import re
from collections.abc import Callable

from instruments.base import Instrument
from instruments.errors import InstrumentProtocolError, InstrumentRejected
from instruments.line_link import LineLink

_REPLY = re.compile(r"^(\d{1,6}) (OK|ERR)(?: (.*))?$", re.IGNORECASE)
_ERR = re.compile(r"^(\d+)\s*(.*)$")
# A command is one line of printable ASCII: a line break inside it would send a second request unframed.
_COMMAND = re.compile(r"[\x20-\x7e]+")
MAX_ID = 999_999


class IdFraming:
    def __init__(self, link: LineLink, owner: Instrument, on_event: Callable[[str], None] | None = None) -> None:
        self.link = link
        self.owner = owner
        self.on_event = on_event
        self._next_id = 1

    def take_id(self) -> int:
        rid = self._next_id
        self._next_id = rid % MAX_ID + 1
        return rid

    def dispatch(self, line: str) -> tuple[int, bool, str | None] | None:
        """A reply as (id, ok, rest); an event goes to `on_event` and gives None, as does a blank line."""
        text = line.strip()
        if not text:
            return None
        if text.startswith("!"):
            if self.on_event is not None:
                self.on_event(text)
            return None
        m = _REPLY.match(text)
        if m is None:
            raise InstrumentProtocolError(self.owner.name, self.owner.address,
                                          f"garbage on the line: {text[:80]!r} is neither a reply nor an event",
                                          last_command=self.owner.last_command)
        return int(m.group(1)), m.group(2).upper() == "OK", m.group(3)

    def request(self, command: str, *, resend: bool = True) -> str | None:
        """Send one command, return the value of its ``OK`` reply (None when the reply has no value).
        `resend` False: a command that must not be carried out twice is not sent again after a lost line."""
        if not _COMMAND.fullmatch(command):
            raise ValueError(f"{self.owner.kind} {self.owner.name!r}: a command is one line of printable ASCII, "
                             f"got {command!r}")

        def exchange() -> str | None:
            rid = self.take_id()
            self.link.send(f"{rid} {command}")
            deadline = self.link.deadline()
            while True:
                line = self.link.read_line(deadline)
                reply = self.dispatch(line)
                if reply is not None and reply[0] == 0 and not reply[1]:
                    # Id 0 is never sent: the device could not read a request's id (a garbled line). Only
                    # one request is out at a time, so it is this one or an earlier one: the line is not sound.
                    raise InstrumentProtocolError(self.owner.name, self.owner.address,
                                                  f"the device could not read a request: {line.strip()!r} "
                                                  f"(request {rid} was {command!r}); check the line",
                                                  last_command=self.owner.last_command)
                if reply is None or reply[0] != rid:
                    continue  # an event, a blank line, or a late reply to an earlier request
                _, ok, rest = reply
                if ok:
                    return rest
                m = _ERR.match(rest or "")
                if m is None:
                    raise InstrumentProtocolError(self.owner.name, self.owner.address,
                                                  f"malformed ERR reply {line!r}",
                                                  last_command=self.owner.last_command)
                raise InstrumentRejected(self.owner.name, self.owner.address, int(m.group(1)), m.group(2),
                                         last_command=self.owner.last_command)

        return self.link.run(command, exchange, resend=resend)

    def drain(self) -> None:
        """Take in every line that arrived while no request was pending (events)."""

        def drain() -> None:
            while self.link.has_input():
                self.dispatch(self.link.read_line(self.link.deadline()))

        self.link.run(self.owner.last_command or "(reading events)", drain)
