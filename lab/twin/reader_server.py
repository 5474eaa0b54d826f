"""The twin's token reader: a TCP line server speaking the chargespec token-reader protocol
(docs/reader-protocol.md), bound to one station's virtual charger.

`<id> TOKEN <evse> <type> <idToken>` hands the idToken to the charger's firmware as its own RFID reader
would (lab/twin/blocks/c_authorization.py decides what follows: Authorize, cache, a transaction starting
or stopping) and answers `<id> OK` once the firmware has taken it. The reader is part of the charger: with
the charger's supply cut it is dead and answers nothing, not even `*IDN?` (the host's driver times out:
a bench fault, never a token the charger took); while the charger boots it is powered but its firmware
reads no idToken, so `TOKEN` is refused `ERR 102` (it cannot take it now). pyserial reaches it by URL:

    ser = serial.serial_for_url("socket://127.0.0.1:<port>", timeout=1)
    ser.write(b"1 TOKEN 1 ISO14443 04A2B3C4\\n")      # -> "1 OK"
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lab.twin.lineserver import LineServer

MAKER = "chargespec"
MODEL = "TWIN-READER"
FIRMWARE = "1.0.0"
_ID = re.compile(r"\d{1,6}")
_TOKEN = re.compile(r"[\x21-\x7e]{0,36}")
# IdTokenEnumType (OCPP 2.0.1 Part 2, 3.44).
TOKEN_TYPES = ("Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization")

# present(evse, {"id_token": ..., "type": ...}): the firmware takes the token or raises ValueError (why not).
Presenter = Callable[[int, dict[str, str]], None]


def _always() -> bool:
    return True


class ReaderServer(LineServer):
    """One station's token reader, on 127.0.0.1; the request names the EVSE."""

    name = "twin token reader"
    echoes_id = True

    def __init__(self, present: Presenter, *, serial: str = "TWIN-RDR-0001", powered: Callable[[], bool] = _always,
                 running: Callable[[], bool] = _always) -> None:
        """`powered`: the charger has its supply (else the reader is dead); `running`: its firmware is up
        (not booting), so an idToken presented is read."""
        super().__init__()
        self.present = present
        self.serial = serial
        self.powered = powered
        self.running = running
        self.presented: list[tuple[int, str, str]] = []  # (evse, type, idToken), for tests

    @property
    def address(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def handle(self, line: str) -> list[str]:
        line = line.strip()
        if not line or not self.powered():
            return []  # a reader without power reads and answers nothing
        rid, _, rest = line.partition(" ")
        if not _ID.fullmatch(rid):
            return [f"0 ERR 101 request must start with an id of 1 to 6 digits, got {rid!r}"]
        command, _, args = rest.strip().partition(" ")
        cmd = command.upper()
        if cmd == "*IDN?":
            if args.strip():
                return [f"{rid} ERR 101 *IDN? takes no argument, got {args.strip()!r}"]
            return [f"{rid} OK {MAKER},{MODEL},{self.serial},{FIRMWARE}"]
        if cmd != "TOKEN":
            return [f"{rid} ERR 100 unknown command {command!r}"]
        parts = args.split(" ", 2)
        if len(parts) < 2 or not parts[0].isdigit():
            return [f"{rid} ERR 101 TOKEN <evse> <type> <idToken>, got {args!r}"]
        evse, type_, token = int(parts[0]), parts[1], (parts[2] if len(parts) > 2 else "").strip()
        kind = next((t for t in TOKEN_TYPES if t.upper() == type_.upper()), None)
        if kind is None:
            return [f"{rid} ERR 101 token type {type_!r}; one of {', '.join(TOKEN_TYPES)}"]
        if not _TOKEN.fullmatch(token):
            return [f"{rid} ERR 101 idToken {token!r}: at most 36 printable characters without spaces"]
        if (kind == "NoAuthorization") != (token == ""):
            return [f"{rid} ERR 101 idToken {token!r} of type {kind}: NoAuthorization is empty, other types not"]
        if not self.running():
            # OK would say the charger took the idToken; a booting firmware reads none (it is lost, as a card
            # shown to a charger that is starting up is).
            return [f"{rid} ERR 102 the charger is starting up: its firmware reads no idToken yet"]
        try:
            self.present(evse, {"id_token": token, "type": kind})
        except ValueError as e:
            return [f"{rid} ERR 102 {e}"]
        self.presented.append((evse, kind, token))
        return [f"{rid} OK"]
