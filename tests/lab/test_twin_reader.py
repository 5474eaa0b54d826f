"""The twin's token reader (lab/twin/reader_server.py) as a strict reference of docs/reader-protocol.md: what
the chargespec-reader driver presents reaches the charger's firmware exactly (type spelled as OCPP spells it,
value unchanged), and malformed requests are refused as the document says, never passed on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from instruments.base import TokenReader
from instruments.registry import create
from lab.loop import LoopThread
from lab.twin.reader_server import ReaderServer


class _Firmware:
    """Keeps what reached it; refuses EVSEs beyond 2 as the twin's firmware does."""

    def __init__(self) -> None:
        self.got: list[tuple[int, dict[str, str]]] = []

    def present(self, evse: int, id_token: dict[str, str]) -> None:
        if not 1 <= evse <= 2:
            raise ValueError(f"no EVSE {evse}: this station has EVSEs 1..2")
        self.got.append((evse, dict(id_token)))


@pytest.fixture
def twin_reader(loop: LoopThread) -> Iterator[tuple[_Firmware, ReaderServer, TokenReader]]:
    firmware = _Firmware()
    server = ReaderServer(firmware.present, serial="RDR-9")
    loop.run(server.start(), timeout=5)
    reader = create("chargespec-reader", name="reader", address=server.address, timeout_s=2.0)
    assert isinstance(reader, TokenReader)
    reader.open()
    yield firmware, server, reader
    reader.close()
    loop.run(server.stop(), timeout=5)


def test_the_presented_token_reaches_the_firmware_exactly(twin_reader) -> None:
    firmware, _, reader = twin_reader
    assert reader.identify() == "chargespec,TWIN-READER,RDR-9,1.0.0"
    reader.present("04a2b3c4", "iso14443", evse=2)
    reader.present("", "NoAuthorization")
    reader.present("DE*ABC*C12345678*9", "eMAID")
    assert firmware.got == [(2, {"id_token": "04a2b3c4", "type": "ISO14443"}),
                            (1, {"id_token": "", "type": "NoAuthorization"}),
                            (1, {"id_token": "DE*ABC*C12345678*9", "type": "eMAID"})]


@pytest.mark.parametrize(("request_line", "reply"), [
    ("7 TOKEN 1 NoAuthorization 04A2B3C4",
     "7 ERR 101 idToken '04A2B3C4' of type NoAuthorization: NoAuthorization is empty, other types not"),
    ("7 TOKEN 1 ISO14443", "7 ERR 101 idToken '' of type ISO14443: NoAuthorization is empty, other types not"),
    ("7 TOKEN 1 Mifare 04A2B3C4", "7 ERR 101 token type 'Mifare'; one of Central, eMAID, ISO14443, ISO15693, "
                                  "KeyCode, Local, MacAddress, NoAuthorization"),
    ("7 TOKEN 1 ISO14443 " + "X" * 37, f"7 ERR 101 idToken '{'X' * 37}': at most 36 printable characters without "
                                       "spaces"),
    ("7 TOKEN 3 ISO14443 04A2B3C4", "7 ERR 102 no EVSE 3: this station has EVSEs 1..2"),
    ("7 *IDN? now", "7 ERR 101 *IDN? takes no argument, got 'now'"),
    ("TOKEN 1 ISO14443 04A2B3C4", "0 ERR 101 request must start with an id of 1 to 6 digits, got 'TOKEN'"),
])
def test_malformed_requests_are_refused_and_nothing_reaches_the_firmware(request_line: str, reply: str) -> None:
    firmware = _Firmware()
    server = ReaderServer(firmware.present)
    assert server.handle(request_line) == [reply]
    assert firmware.got == [] and server.presented == []
