"""The twin's token reader (lab/twin/reader_server.py) as a strict reference of docs/reader-protocol.md: what
the chargespec-reader driver presents reaches the charger's firmware exactly (type spelled as OCPP spells it,
value unchanged), and malformed requests are refused as the document says, never passed on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from instruments.base import TokenReader
from instruments.errors import InstrumentRejected, InstrumentTimeout
from instruments.registry import create
from lab.loop import LoopThread
from lab.twin.reader_server import ReaderServer


def booted(env: Any) -> None:
    """The twin charger has booted and reported its connectors."""
    env.csms.wait_for(lambda: len(env.csms.find("StatusNotification")) >= 2, 5, "boot and statuses")


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


def test_a_reader_without_power_answers_nothing_and_a_booting_one_takes_no_token() -> None:
    """The reader is part of the charger. With its supply cut it is dead: no reply to anything (the host times
    out: a bench fault, never 'the charger took the idToken'); while the charger boots it cannot take a token
    (ERR 102). Nothing reaches the firmware either way."""
    firmware = _Firmware()
    power = {"on": False, "up": False}
    server = ReaderServer(firmware.present, powered=lambda: power["on"], running=lambda: power["up"])
    assert server.handle("1 TOKEN 1 ISO14443 04A2B3C4") == []
    assert server.handle("2 *IDN?") == [] and server.handle("TOKEN 1 ISO14443 04A2B3C4") == []
    power["on"] = True
    assert server.handle("3 TOKEN 1 ISO14443 04A2B3C4") == [
        "3 ERR 102 the charger is starting up: its firmware reads no idToken yet"]
    assert server.handle("4 *IDN?") == ["4 OK chargespec,TWIN-READER,TWIN-RDR-0001,1.0.0"]
    assert firmware.got == [] and server.presented == []
    power["up"] = True
    assert server.handle("5 TOKEN 1 ISO14443 04A2B3C4") == ["5 OK"]
    assert firmware.got == [(1, {"id_token": "04A2B3C4", "type": "ISO14443"})]


def test_the_twin_readers_power_is_its_chargers(twin_factory: Any) -> None:
    """On the twin: the supply cut, `driver presents token` times out (InstrumentTimeout: broken) instead of an
    OK for a token nobody read; while the charger boots after the supply returns the reader refuses it."""
    env = twin_factory(speed=5.0)  # the 10 bench s of the reboot last 2 real s: the booting reader is seen
    charger = env.twin.charger
    booted(env)
    reader = create("chargespec-reader", name="reader", address=env.endpoints[env.station_id]["reader"],
                    timeout_s=0.5)
    assert isinstance(reader, TokenReader)
    reader.open()
    try:
        reader.present("04A2B3C4")
        env.loop.run(charger.power_off(), 5)
        with pytest.raises(InstrumentTimeout, match=re.escape("no answer within 0.5 s; last command 'TOKEN 1 "
                                                              "ISO14443 04A2B3C4'")):
            reader.present("04A2B3C4")
        env.loop.run(charger.power_on(), 5)
        assert charger.powered and charger.is_down  # booting: reboot_s of bench time
        with pytest.raises(InstrumentRejected, match="102 the charger is starting up"):
            reader.present("04A2B3C4")
    finally:
        reader.close()
    assert env.twin.stations[env.station_id].reader.presented == [(1, "ISO14443", "04A2B3C4")]
