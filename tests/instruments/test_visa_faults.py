"""VISA faults over real loopback sockets (pyvisa-py): each names the instrument, address, last command."""

from __future__ import annotations

import socket

import pytest

from instruments import registry
from instruments.errors import InstrumentConfigError, InstrumentConnectionLost, InstrumentTimeout


def wt300(address: str, **options: object):
    return registry.create("yokogawa-wt300", name="wt", address=address, **options)


def test_timeout_names_instrument_address_and_command(fake_scpi) -> None:
    _, srv = fake_scpi(hold={1})  # the first reading is answered only after the driver gave up
    wt = wt300(srv.visa, timeout_s=0.3)
    wt.open()
    try:
        wt.configure(phases=1)
        with pytest.raises(InstrumentTimeout) as e:
            wt.read()
    finally:
        wt.close()
    err = e.value
    assert (err.instrument, err.address, err.last_command) == ("wt", srv.visa, ":NUM:NORM:VAL?")
    assert str(err) == f"instrument 'wt' at {srv.visa}: no answer within 0.3 s; last command ':NUM:NORM:VAL?'"


def test_an_instrument_that_never_answers_fails_at_open(line_server) -> None:
    srv = line_server(lambda line, conn: [])  # accepts, never answers
    wt = wt300(srv.visa, timeout_s=0.2)
    with pytest.raises(InstrumentTimeout) as e:
        wt.open()
    assert e.value.last_command == "*IDN?"
    assert str(e.value) == f"instrument 'wt' at {srv.visa}: no answer within 0.2 s; last command '*IDN?'"
    assert not wt.is_open


def test_closed_socket_is_connection_lost_not_timeout(line_server) -> None:
    srv = line_server(lambda line, conn: None)  # reads the command, then hangs up
    wt = wt300(srv.visa, timeout_s=0.3)
    with pytest.raises(InstrumentConnectionLost) as e:
        wt.open()  # *IDN? at open; reconnected once (the default), dropped again
    assert e.value.last_command == "*IDN?"
    assert len(srv.received) == 2
    assert "closed the connection" in str(e.value) or "socket error" in str(e.value)


def test_refused_connection_fails_at_open() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    address = f"TCPIP0::127.0.0.1::{port}::SOCKET"
    wt = wt300(address, timeout_s=0.3)
    with pytest.raises(InstrumentConnectionLost, match="cannot connect") as e:
        wt.open()
    assert e.value.address == address


def fake_wt310(line: str, conn: int) -> list[str] | None:
    if conn == 0:
        return None  # the first connection drops, as when an analyzer reboots
    answers = {"*IDN?": ["YOKOGAWA,WT310,C2XA00001,F1.03"],
               ":NUM:NORM:VAL?": ["230.0E+00,NAN,0.0E+00,1.0,5.0"], ":INTEG:STAT?": ["RESET"],
               ":STAT:ERR?": ['0,"No error"']}
    return answers.get(line, [])


def test_reconnects_up_to_reconnect_attempts(line_server) -> None:
    srv = line_server(fake_wt310)
    wt = wt300(srv.visa, timeout_s=0.3, reconnect_attempts=1)
    wt.open()
    try:
        assert wt.identify() == "YOKOGAWA,WT310,C2XA00001,F1.03"
        assert wt.link.reconnects == 1
        wt.configure(phases=1, update_interval_s=0.5)
        r = wt.read()
    finally:
        wt.close()
    assert r.phases["L1"].voltage_v == 230.0 and r.phases["L1"].current_a is None
    assert r.phases["L1"].power_w == 0.0  # a real zero stays zero; only NAN is missing
    # checked at open, its error queue emptied (what it held is not ours), then asked
    assert srv.lines(1)[:3] == [b"*IDN?\n", b":STAT:ERR?\n", b"*IDN?\n"]
    assert srv.lines(1)[3:10] == [b":INTEG:STAT?\n", b":INTEG:MODE NORM\n", b":STAT:ERR?\n", b":INTEG:TIM 0,0,0\n",
                                 b":STAT:ERR?\n", b":NUM:FORM ASC\n", b":STAT:ERR?\n"]


def test_without_reconnect_attempts_a_drop_is_fatal(line_server) -> None:
    srv = line_server(fake_wt310)
    wt = wt300(srv.visa, timeout_s=0.3, reconnect_attempts=0)
    with pytest.raises(InstrumentConnectionLost):
        wt.open()
    assert len(srv.received) == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"timeout": 2},
     "unknown option(s) 'timeout'; this driver takes reconnect_attempts, timeout_s, visa_library"),
    ({"timeout_s": 0}, "option timeout_s must be a positive number of seconds, got 0"),
    ({"reconnect_attempts": -1}, "option reconnect_attempts must be a whole number >= 0, got -1"),
    ({"options": {"visa_libary": "@sim"}}, "unknown option(s) 'visa_libary'"),
])
def test_bad_options_fail_at_construction(options: dict[str, object], message: str) -> None:
    with pytest.raises(InstrumentConfigError) as e:
        wt300("TCPIP0::127.0.0.1::1::SOCKET", **options)
    assert message in str(e.value)


def test_bench_keys_are_tolerated_and_nested_options_apply() -> None:
    wt = wt300("TCPIP0::127.0.0.1::1::SOCKET", serial="X1", calibration_due="2027-06-30",
               update_interval_s=1.0, timeout_s=3.5, options={"visa_library": "@sim"})
    assert wt.opts.timeout_s == 3.5 and wt.opts.extra["visa_library"] == "@sim"
    assert wt.update_interval_s == 1.0
