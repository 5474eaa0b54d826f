"""The chargespec token-reader line protocol (docs/reader-protocol.md), driver name ``chargespec-reader``.

    reader = create("chargespec-reader", name="reader", address="socket://127.0.0.1:7002")  # or a COM port
    reader.open()
    reader.present("04A2B3C4", "ISO14443", evse=1)     # sends "<id> TOKEN 1 ISO14443 04A2B3C4"

Same framing as the chargespec EV emulator protocol: each request carries an id, the reply with that id is
the answer and replies to other ids (late answers to requests that timed out) are skipped; ``!`` events
are ignored. ``ERR`` replies raise :class:`InstrumentRejected`. A ``TOKEN`` is never sent twice: if the line
drops after it went out, the driver raises :class:`InstrumentConnectionLost` instead of presenting it again
(a second presentation of the same token stops the session the first one started). Options: ``timeout_s``,
``reconnect_attempts``, ``baudrate`` (115200).
"""

from __future__ import annotations

import re
from typing import Any

from instruments.base import TokenReader
from instruments.clock import Clock
from instruments.id_framed import IdFraming
from instruments.registry import register
from instruments.serial_ev import OnSerialLine

# IdTokenType.idToken is a string of at most 36 characters (OCPP 2.0.1 JSON schemas); on this line protocol
# it is printable ASCII without spaces (docs/reader-protocol.md).
_TOKEN = re.compile(r"[\x21-\x7e]{0,36}")
# IdTokenEnumType (OCPP 2.0.1 JSON schemas), spelled as OCPP spells it.
TOKEN_TYPES = ("Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization")


@register("chargespec-reader")
class ChargespecReader(OnSerialLine, TokenReader):
    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(name, address, clock, **options)
        self.framing = IdFraming(self.link, self)  # events ("!" lines) mean nothing to a reader: skipped

    def request(self, command: str) -> str | None:
        """Send one command, return the value of its ``OK`` reply (None when it has none)."""
        self._require_open()
        return self.framing.request(command)

    def identify(self) -> str:
        return (self.request("*IDN?") or "").strip()

    def present(self, id_token: str, token_type: str = "ISO14443", evse: int = 1) -> None:
        if not _TOKEN.fullmatch(id_token):
            raise ValueError(f"reader {self.name!r}: an idToken is at most 36 printable ASCII characters "
                             f"without spaces, got {id_token!r}")
        kind = next((t for t in TOKEN_TYPES if t.upper() == token_type.upper()), None)
        if kind is None:
            raise ValueError(f"reader {self.name!r}: token type {token_type!r} is not an IdTokenEnumType; "
                             f"one of {', '.join(TOKEN_TYPES)}")
        # NoAuthorization carries an empty idToken, every other type a value (OCTT's rule, errata 2023-12).
        if (kind == "NoAuthorization") != (id_token == ""):
            raise ValueError(f"reader {self.name!r}: an idToken of type NoAuthorization is empty and one of "
                             f"any other type is not, got {id_token!r} of type {kind}")
        if not (isinstance(evse, int) and not isinstance(evse, bool) and evse >= 1):
            raise ValueError(f"reader {self.name!r}: EVSE must be a whole number from 1, got {evse!r}")
        self._require_open()
        self.framing.request(f"TOKEN {evse} {kind} {id_token}".rstrip(), resend=False)
