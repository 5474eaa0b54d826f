"""chargespec-reader driver against an in-test line-protocol server on a loopback socket."""

from __future__ import annotations

import pytest

from instruments import registry
from instruments.base import TokenReader
from instruments.errors import (
    InstrumentConnectionLost,
    InstrumentProtocolError,
    InstrumentRejected,
    InstrumentStateError,
    InstrumentTimeout,
)


def ok(line: str, conn: int) -> list[str]:
    rid, _, command = line.partition(" ")
    return [f"{rid} OK chargespec,TWIN-READER,R1,1.0.0" if command == "*IDN?" else f"{rid} OK"]


def make_reader(url: str, **options: object) -> TokenReader:
    options.setdefault("timeout_s", 1.0)
    reader = registry.create("chargespec-reader", name="reader", address=url, **options)
    assert isinstance(reader, TokenReader) and reader.kind == "reader"
    reader.open()
    return reader


def test_tokens_are_sent_with_ids_evse_and_type_in_the_documented_syntax(line_server) -> None:
    srv = line_server(ok)
    reader = make_reader(srv.url)
    try:
        assert reader.identify() == "chargespec,TWIN-READER,R1,1.0.0"
        reader.present("04A2B3C4")
        reader.present("MASTER-1", "KeyCode", evse=2)
        reader.present("", "NoAuthorization")
    finally:
        reader.close()
    assert srv.lines(0) == [b"1 *IDN?\n", b"2 TOKEN 1 ISO14443 04A2B3C4\n", b"3 TOKEN 2 KeyCode MASTER-1\n",
                            b"4 TOKEN 1 NoAuthorization\n"]


def test_err_reply_raises_rejected_with_code_and_text(line_server) -> None:
    srv = line_server(lambda line, conn: [f"{line.split()[0]} ERR 102 no EVSE 3: this station has EVSEs 1..2"])
    reader = make_reader(srv.url)
    try:
        with pytest.raises(InstrumentRejected) as e:
            reader.present("04A2B3C4", evse=3)
    finally:
        reader.close()
    assert (e.value.code, e.value.text) == (102, "no EVSE 3: this station has EVSEs 1..2")
    assert e.value.last_command == "TOKEN 3 ISO14443 04A2B3C4"


def test_late_replies_and_events_are_skipped(line_server) -> None:
    def reply(line: str, conn: int) -> list[str]:
        rid = int(line.split()[0])
        return [f"{rid - 1} ERR 102 stale", "! CARD removed", f"{rid} OK"] if "TOKEN" in line else ok(line, conn)

    srv = line_server(reply)
    reader = make_reader(srv.url)
    try:
        reader.identify()
        reader.present("04A2B3C4")  # the stale ERR belongs to another request: not this one's answer
    finally:
        reader.close()


def test_garbage_and_silence_are_named(line_server) -> None:
    srv = line_server(lambda line, conn: ["hello there"])
    reader = make_reader(srv.url)
    try:
        with pytest.raises(InstrumentProtocolError, match="garbage on the line"):
            reader.present("04A2B3C4")
    finally:
        reader.close()
    quiet = line_server(lambda line, conn: [])
    reader = make_reader(quiet.url, timeout_s=0.2)
    try:
        with pytest.raises(InstrumentTimeout):
            reader.present("04A2B3C4")
    finally:
        reader.close()


def test_argument_and_lifecycle_mistakes_are_named() -> None:
    reader = registry.create("chargespec-reader", name="reader", address="socket://127.0.0.1:9")
    with pytest.raises(InstrumentStateError, match="reader 'reader' is not open"):
        reader.present("04A2B3C4")
    with pytest.raises(ValueError, match="at most 36 printable ASCII characters without spaces"):
        reader.present("04A2 B3C4")
    with pytest.raises(ValueError, match="at most 36"):
        reader.present("X" * 37)
    with pytest.raises(ValueError, match="token type 'ISO 14443' is not an IdTokenEnumType"):
        reader.present("04A2B3C4", "ISO 14443")
    with pytest.raises(ValueError, match="EVSE must be a whole number from 1"):
        reader.present("04A2B3C4", evse=0)


def test_a_token_is_never_presented_twice_after_the_line_drops(line_server) -> None:
    """The line drops after the TOKEN went out (the card may have been read): presenting it again on a new
    line would stop the session the first one started, so the driver says what happened instead."""
    srv = line_server(lambda line, conn: None if conn == 0 and "TOKEN" in line else ok(line, conn))
    reader = make_reader(srv.url, reconnect_attempts=3)
    try:
        with pytest.raises(InstrumentConnectionLost) as e:
            reader.present("04A2B3C4")
        reader.present("04A2B3C5")  # the next request reconnects first, then goes out once
    finally:
        reader.close()
    assert srv.received == [[b"1 TOKEN 1 ISO14443 04A2B3C4\n"], [b"2 TOKEN 1 ISO14443 04A2B3C5\n"]]
    assert "after 'TOKEN 1 ISO14443 04A2B3C4' was sent; not sent again, since the device may already have " \
           "carried it out" in str(e.value)
    assert str(e.value).startswith(f"instrument 'reader' at {srv.url}: ")


def test_the_token_type_is_one_of_idtokenenumtype_spelled_as_ocpp_spells_it(line_server) -> None:
    srv = line_server(ok)
    reader = make_reader(srv.url)
    try:
        reader.present("04A2B3C4", "iso14443")
        reader.present("EMP0000001", "EMAID")
        with pytest.raises(ValueError) as e:
            reader.present("04A2B3C4", "Mifare")
        with pytest.raises(ValueError, match="NoAuthorization is empty and one of any other type is not, "
                                             "got '04A2B3C4' of type NoAuthorization"):
            reader.present("04A2B3C4", "noauthorization")
        with pytest.raises(ValueError, match="got '' of type ISO14443"):
            reader.present("")
    finally:
        reader.close()
    assert str(e.value) == ("reader 'reader': token type 'Mifare' is not an IdTokenEnumType; one of Central, eMAID, "
                            "ISO14443, ISO15693, KeyCode, Local, MacAddress, NoAuthorization")
    assert srv.lines(0) == [b"1 TOKEN 1 ISO14443 04A2B3C4\n", b"2 TOKEN 1 eMAID EMP0000001\n"]


def test_a_request_the_device_could_not_read_is_named_not_a_timeout(line_server) -> None:
    """`0 ERR 101`: the device could not read the request's id (id 0 is never sent), so no reply with the
    request's id will come; the driver says so at once instead of waiting out its timeout."""
    srv = line_server(lambda line, conn: ["0 ERR 101 request must start with an id of 1 to 6 digits, got '1#'"])
    reader = make_reader(srv.url, timeout_s=5.0)
    try:
        with pytest.raises(InstrumentProtocolError) as e:
            reader.present("04A2B3C4")
    finally:
        reader.close()
    assert not isinstance(e.value, InstrumentRejected)
    assert str(e.value) == (f"instrument 'reader' at {srv.url}: the device could not read a request: \"0 ERR 101 "
                            "request must start with an id of 1 to 6 digits, got '1#'\" (request 1 was "
                            "'TOKEN 1 ISO14443 04A2B3C4'); check the line; last command 'TOKEN 1 ISO14443 04A2B3C4'")
