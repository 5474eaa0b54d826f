"""chargespec-ev driver against an in-test line-protocol server on a loopback socket."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable

import pytest

from instruments import registry
from instruments.errors import (
    InstrumentConnectionLost,
    InstrumentProtocolError,
    InstrumentRejected,
    InstrumentStateError,
    InstrumentTimeout,
)

VALUES = {"*IDN?": "chargespec,EVE-1,SN0001,1.0.0", "PWM:DUTY?": "26.7", "PWM:FREQ?": "1000.0",
          "LOAD:CURR?": "16.0,15.9,NAN", "CP:STATE?": "C"}


def answering(values: dict[str, str] | None = None) -> Callable[[str, int], list[str]]:
    """Answer every request OK, with the value from `values` for queries."""
    table = VALUES if values is None else values

    def reply(line: str, conn: int) -> list[str]:
        rid, _, command = line.partition(" ")
        value = table.get(command)
        return [f"{rid} OK {value}" if value is not None else f"{rid} OK"]

    return reply


def make_ev(url: str, **options: object):
    options.setdefault("timeout_s", 1.0)
    ev = registry.create("chargespec-ev", name="ev", address=url, **options)
    ev.open()
    return ev


def test_commands_are_sent_with_ids_in_the_documented_syntax(line_server) -> None:
    srv = line_server(answering())
    ev = make_ev(srv.url)
    try:
        ev.set_cable(220)
        ev.set_state("b")
        ev.set_current(16, phases=3)
        ev.follow_pilot(True, lag_s=5)
        ev.follow_pilot(False)
        ev.set_diode(False)
        ev.set_diode(True)
        ev.set_watchdog(2.5)
        ev.set_current(6.5, phases=1)
        ev.set_cable(None)
        ev.set_events(True)
        ev.set_parked(True)
        ev.set_parked(False)
    finally:
        ev.close()
    assert srv.lines(0) == [
        b"1 PP:RES 220\n", b"2 CP:STATE B\n", b"3 LOAD:PHASES 3\n", b"4 LOAD:CURR 16\n",
        b"5 LOAD:FOLLOW ON,5000\n", b"6 LOAD:FOLLOW OFF\n", b"7 CP:DIODE SHORT\n", b"8 CP:DIODE OK\n",
        b"9 SYST:WDOG 2500\n",
        b"10 LOAD:PHASES 1\n", b"11 LOAD:CURR 6.5\n", b"12 PP:RES OPEN\n", b"13 EVT ON\n",
        b"14 BAY:OCC ON\n", b"15 BAY:OCC OFF\n",
    ]


def test_queries_parse_their_values(line_server) -> None:
    srv = line_server(answering())
    ev = make_ev(srv.url)
    try:
        assert ev.identify() == "chargespec,EVE-1,SN0001,1.0.0"
        pwm = ev.read_pwm()
        assert (pwm.duty_percent, pwm.frequency_hz) == (26.7, 1000.0)
        assert ev.read_current() == {"L1": 16.0, "L2": 15.9, "L3": None}
        assert ev.read_state() == "C"
    finally:
        ev.close()
    assert srv.lines(0) == [b"1 *IDN?\n", b"2 PWM:DUTY?\n", b"3 PWM:FREQ?\n", b"4 LOAD:CURR?\n",
                            b"5 CP:STATE?\n"]


def test_stale_replies_and_events_are_skipped_and_the_last_meas_kept(line_server) -> None:
    def reply(line: str, conn: int) -> list[str]:
        rid = int(line.split()[0])
        return ["! MEAS state=C duty=26.7 freq=1000.0 i=16.0,16.0,15.5", f"{rid - 1} OK 99.0", "! HELLO",
                f"{rid} OK 53.3"]

    srv = line_server(reply)
    ev = make_ev(srv.url)
    try:
        assert ev.request("PWM:DUTY?") == "53.3"
        meas = ev.last_meas
    finally:
        ev.close()
    assert meas is not None
    assert (meas.state, meas.duty_percent, meas.frequency_hz, meas.currents_a) == ("C", 26.7, 1000.0,
                                                                                   (16.0, 16.0, 15.5))
    assert ev.last_event == "! HELLO"


def test_err_reply_raises_rejected_with_code_and_text(line_server) -> None:
    srv = line_server(lambda line, conn: [f"{line.split()[0]} ERR 102 not allowed in this state"])
    ev = make_ev(srv.url)
    try:
        with pytest.raises(InstrumentRejected) as e:
            ev.set_state("C")
    finally:
        ev.close()
    assert (e.value.code, e.value.text) == (102, "not allowed in this state")
    assert e.value.last_command == "CP:STATE C"
    assert str(e.value) == (f"instrument 'ev' at {srv.url}: refused with ERR 102 not allowed in this state; "
                            "last command 'CP:STATE C'")


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00\x81\n", b"hello there\n", b"x" * 2000])
def test_garbage_on_the_line_is_a_protocol_error(line_server, garbage: bytes) -> None:
    srv = line_server(lambda line, conn: [garbage])
    ev = make_ev(srv.url)
    try:
        with pytest.raises(InstrumentProtocolError, match="garbage on the line") as e:
            ev.read_pwm()
    finally:
        ev.close()
    assert e.value.last_command == "PWM:DUTY?"
    assert e.value.address == srv.url


def slow_duty(delay_s: float) -> Callable[[str, int], list[str]]:
    """Answer as `answering()` does, but `PWM:DUTY?` only after `delay_s` real seconds (a busy emulator)."""
    answer = answering()

    def reply(line: str, conn: int) -> list[str]:
        if line.endswith("PWM:DUTY?"):
            time.sleep(delay_s)
        return answer(line, conn)

    return reply


def test_a_slow_answer_is_dated_when_it_came_not_when_it_was_asked(line_server) -> None:
    """The emulator measures the duty when it answers (the protocol carries no other time): answered 0.3 s
    after the query, the reading is of then. Dated at the question, a slow answer would be judged as the
    pilot of 0.3 s earlier than it was measured."""
    srv = line_server(slow_duty(0.3))
    ev = make_ev(srv.url)
    try:
        asked = ev.clock.now()
        pwm = ev.read_pwm()
        returned = ev.clock.now()
    finally:
        ev.close()
    assert (pwm.duty_percent, pwm.frequency_hz) == (26.7, 1000.0)
    assert asked + 0.3 <= pwm.t <= returned


def test_the_sampler_records_a_slow_answer_at_its_time(line_server, pwm_polls) -> None:
    srv = line_server(slow_duty(0.15))
    ev = make_ev(srv.url)
    try:
        began = ev.clock.now()
        sampler, got = pwm_polls(ev, polls=2, max_age_s=5.0)
    finally:
        ev.close()
    assert len(got) >= 2 and got[0].t >= began + 0.15 and got[1].t >= got[0].t + 0.15
    assert (sampler.pwm_repeats, sampler.pwm_stale) == (0, 0)


def test_a_non_number_where_a_number_belongs_is_a_protocol_error(line_server) -> None:
    srv = line_server(answering({"PWM:DUTY?": "lots"}))
    ev = make_ev(srv.url)
    try:
        with pytest.raises(InstrumentProtocolError, match="expected a number, got 'lots'"):
            ev.read_pwm()
    finally:
        ev.close()


def test_silence_is_a_timeout_naming_the_request(line_server) -> None:
    srv = line_server(lambda line, conn: [])
    ev = make_ev(srv.url, timeout_s=0.2)
    try:
        with pytest.raises(InstrumentTimeout) as e:
            ev.set_current(10)
    finally:
        ev.close()
    assert str(e.value) == (f"instrument 'ev' at {srv.url}: no answer within 0.2 s; "
                            "last command 'LOAD:PHASES 3'")


def test_closed_line_is_connection_lost(line_server) -> None:
    srv = line_server(lambda line, conn: None)
    ev = make_ev(srv.url)
    try:
        with pytest.raises(InstrumentConnectionLost) as e:
            ev.identify()
    finally:
        ev.close()
    assert e.value.last_command == "*IDN?"


def test_reconnect_reruns_the_request_on_a_new_line(line_server) -> None:
    answer = answering()
    srv = line_server(lambda line, conn: None if conn == 0 else answer(line, conn))
    ev = make_ev(srv.url, reconnect_attempts=2)
    try:
        assert ev.identify().startswith("chargespec,")
    finally:
        ev.close()
    assert ev.link.reconnects == 1
    assert srv.lines(0) == [b"1 *IDN?\n"] and srv.lines(1) == [b"2 *IDN?\n"]


def test_refused_connection_fails_at_open() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ev = registry.create("chargespec-ev", name="ev", address=f"socket://127.0.0.1:{port}", timeout_s=0.5)
    with pytest.raises(InstrumentConnectionLost, match="cannot open"):
        ev.open()


def test_events_arriving_between_requests_are_picked_up_by_poll(line_server) -> None:
    srv = line_server(answering())
    ev = make_ev(srv.url)
    try:
        ev.set_events(True)
        assert ev.poll() is None
        srv.push(b"! MEAS state=B duty=100.0 freq=NAN i=0.0,0.0,0.0\n")
        for _ in range(200):
            if ev.poll() is not None:
                break
            ev.clock.sleep(0.005)
        meas = ev.last_meas
    finally:
        ev.close()
    assert meas is not None and meas.state == "B" and meas.frequency_hz is None and meas.duty_percent == 100.0


def test_two_threads_never_get_each_others_replies(line_server) -> None:
    srv = line_server(answering())
    ev = make_ev(srv.url)
    errors: list[BaseException] = []

    def hammer(call: Callable[[], object], expected: object) -> None:
        try:
            for _ in range(40):
                assert call() == expected
        except BaseException as e:
            errors.append(e)

    def pwm() -> tuple[float | None, float | None]:
        r = ev.read_pwm()
        return r.duty_percent, r.frequency_hz

    threads = [threading.Thread(target=hammer, args=(pwm, (26.7, 1000.0))),
               threading.Thread(target=hammer, args=(ev.read_state, "C"))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        ev.close()
    assert errors == []
    assert len(srv.lines(0)) == 40 * 3


def test_argument_and_lifecycle_mistakes_are_named() -> None:
    ev = registry.create("chargespec-ev", name="ev", address="socket://127.0.0.1:9")
    with pytest.raises(InstrumentStateError, match="ev 'ev' is not open"):
        ev.set_state("B")
    with pytest.raises(ValueError, match="pilot state 'F' cannot be set from the EV side"):
        ev.set_state("F")
    with pytest.raises(ValueError, match="1 or 3 phases"):
        ev.set_current(16, phases=2)


def test_a_late_reply_is_never_taken_for_the_next_requests_answer(line_server) -> None:
    """The reply to request 1 arrives only after the driver gave up on it, just before the reply to
    request 2: the request ids keep them apart, so the second reading is its own (and fresh)."""
    held: list[str] = []

    def reply(line: str, conn: int) -> list[str]:
        rid = int(line.split()[0])
        late = held[:]
        held.clear()
        answer = f"{rid} OK {10.0 * rid:.1f}"  # each request's own duty: a stale one is visible
        if rid == 1:
            held.append(answer)
            return late
        return [*late, answer]

    srv = line_server(reply)
    ev = make_ev(srv.url, timeout_s=0.2)
    try:
        with pytest.raises(InstrumentTimeout):
            ev.request("PWM:DUTY?")
        assert [ev.request("PWM:DUTY?") for _ in range(2)] == ["20.0", "30.0"]
    finally:
        ev.close()
    assert srv.lines(0) == [b"1 PWM:DUTY?\n", b"2 PWM:DUTY?\n", b"3 PWM:DUTY?\n"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda ev: ev.set_current(float("inf")), "requested current must be a finite number >= 0 A, got inf"),
    (lambda ev: ev.set_current(float("nan")), "requested current must be a finite number >= 0 A, got nan"),
    (lambda ev: ev.follow_pilot(True, lag_s=float("inf")), "follow-the-pilot lag must be a finite number >= 0 s"),
    (lambda ev: ev.set_watchdog(float("inf")), "watchdog must be a finite number >= 0 s, got inf"),
    (lambda ev: ev.set_cable(float("inf")), "PP resistor must be a positive whole number of ohms"),
    (lambda ev: ev.set_cable(219.6), "PP resistor must be a positive whole number of ohms or None (no cable), "
                                     "got 219.6"),
])
def test_values_the_line_cannot_carry_are_clear_errors_and_nothing_is_sent(line_server, call, message: str) -> None:
    """An infinite lag or watchdog was an OverflowError from round(), an infinite current went out as
    `LOAD:CURR inf` (an exponent-free protocol has no such number), a fractional PP resistor as `PP:RES 219.6`
    (the protocol takes whole ohms)."""
    srv = line_server(answering())
    ev = make_ev(srv.url)
    try:
        with pytest.raises(ValueError, match=re.escape(message)):
            call(ev)
        ev.set_cable(680.0)
    finally:
        ev.close()
    assert srv.lines(0) == [b"1 PP:RES 680\n"]


def test_a_reply_split_across_reads_and_a_duplicated_reply_are_each_taken_once(line_server) -> None:
    """Request 1's reply comes in two pieces 50 ms apart and then again, whole (a device that repeats itself):
    the pieces make one reply, and the copy, arriving while request 2 waits, is not request 2's answer."""
    def reply(line: str, conn: int) -> list[bytes | str]:
        rid = int(line.split()[0])
        if rid == 1:
            threading.Timer(0.05, lambda: srv.push(b"6.6\r\n1 OK 26.6\n")).start()
            return [b"1 OK 2"]
        return [f"{rid} OK 53.3"]

    srv = line_server(reply)
    ev = make_ev(srv.url)
    try:
        assert ev.request("PWM:DUTY?") == "26.6"
        time.sleep(0.1)  # the copy is on the line before request 2 goes out
        assert ev.request("PWM:DUTY?") == "53.3"
    finally:
        ev.close()


@pytest.mark.parametrize(("values", "message"), [
    ({"PWM:DUTY?": "999", "PWM:FREQ?": "1000.0"}, "pilot duty 999 % is outside 0..100 %; last command 'PWM:DUTY?'"),
    ({"PWM:DUTY?": "-0.5", "PWM:FREQ?": "1000.0"}, "pilot duty -0.5 % is outside 0..100 %"),
    ({"PWM:DUTY?": "26.6", "PWM:FREQ?": "-1000"}, "pilot frequency -1000 Hz is negative; last command 'PWM:FREQ?'"),
])
def test_an_impossible_pilot_reading_is_a_protocol_error_not_a_reading(line_server, values: dict[str, str],
                                                                       message: str) -> None:
    srv = line_server(answering(values))
    ev = make_ev(srv.url)
    try:
        with pytest.raises(InstrumentProtocolError, match=re.escape(message)):
            ev.read_pwm()
    finally:
        ev.close()


@pytest.mark.parametrize("command", ["CP:STATE C\n5 EVT ON", "PP:RES 220\r", "CP:STATE \u00c4", ""])
def test_a_command_is_one_line_of_ascii_or_a_clear_error(line_server, command: str) -> None:
    """A line break would smuggle a second, unframed request onto the line; a non-ASCII character was a
    UnicodeEncodeError from deep in the link."""
    srv = line_server(answering())
    ev = make_ev(srv.url)
    try:
        with pytest.raises(ValueError, match=re.escape(f"ev 'ev': a command is one line of printable ASCII, "
                                                       f"got {command!r}")):
            ev.request(command)
        ev.identify()
    finally:
        ev.close()
    assert srv.lines(0) == [b"1 *IDN?\n"]
