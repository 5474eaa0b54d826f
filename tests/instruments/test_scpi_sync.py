"""An answer is never attributed to the wrong query: resynchronisation after a timeout, the error queue,
the *IDN? family and element checks, against a strict in-order SCPI instrument on a loopback socket."""

from __future__ import annotations

import pytest
import pyvisa

from instruments import registry
from instruments.errors import (
    InstrumentCommandRejected,
    InstrumentConfigError,
    InstrumentProtocolError,
    InstrumentTimeout,
)


def wt(driver: str, address: str, **options: object):
    an = registry.create(driver, name="analyzer", address=address, **options)
    an.open()
    return an


def current(an) -> float:
    return an.read().phases["L1"].current_a


def test_the_fake_really_delivers_the_late_answer_to_a_naive_reader(fake_scpi) -> None:
    """Control: without resynchronisation the next query reads the previous query's answer (the bug)."""
    _, srv = fake_scpi(hold={1})
    rm = pyvisa.ResourceManager("@py")
    res = rm.open_resource(srv.visa, read_termination="\n", write_termination="\n", timeout=300)
    try:
        with pytest.raises(pyvisa.errors.VisaIOError):
            res.query(":NUM:NORM:VAL?")
        assert res.query(":NUM:NORM:VAL?").split(",")[1] == "1.0E+00"  # query 2 reads answer 1
    finally:
        res.close()
        rm.close()


def test_after_a_timeout_the_next_reading_is_the_fresh_one(fake_scpi) -> None:
    fake, srv = fake_scpi(hold={2})  # the 2nd values query is answered only after the driver gave up
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.3)
    try:
        an.configure(phases=1)
        assert current(an) == 1.0
        with pytest.raises(InstrumentTimeout, match=r"no answer within 0.3 s; last command ':NUM:NORM:VAL\?'"):
            an.read()
        assert [current(an) for _ in range(3)] == [3.0, 4.0, 5.0]  # never 2, 3, 4: the truth of each query
    finally:
        an.close()
    assert (an.link.resyncs, an.link.stale_answers, an.link.reconnects) == (1, 1, 0)
    assert fake.ese == 0  # the marker left the event status enable register at its power-on value


def test_an_answer_later_than_the_resynchronisation_wait_is_left_behind_on_the_old_connection(fake_scpi) -> None:
    # The 2nd answer takes 2 s: longer than the marker's wait, so the link reopens the socket; the late
    # answer goes to the closed connection and never reaches a reading.
    _, srv = fake_scpi(late_s={2: 2.0})
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.3)
    try:
        an.configure(phases=1)
        assert current(an) == 1.0
        with pytest.raises(InstrumentTimeout):
            an.read()
        assert [current(an) for _ in range(2)] == [3.0, 4.0]
    finally:
        an.close()
    assert an.link.reconnects == 1 and an.link.resyncs == 1


def test_a_really_late_answer_is_discarded_by_the_marker(fake_scpi) -> None:
    # Answered 0.45 s after the query: after the 0.3 s timeout, well within the marker's wait.
    _, srv = fake_scpi(late_s={2: 0.45})
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.3)
    try:
        an.configure(phases=1)
        current(an)
        with pytest.raises(InstrumentTimeout):
            an.read()
        assert current(an) == 3.0
    finally:
        an.close()
    assert (an.link.stale_answers, an.link.reconnects) == (1, 0)


def test_a_hung_instrument_stays_a_timeout_and_reads_nothing_stale(fake_scpi) -> None:
    fake, srv = fake_scpi()
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.2)
    fake.silent = True  # it hangs after the open
    try:
        an._items = ()  # reading without configuring, to reach the values query
        with pytest.raises(InstrumentTimeout, match=r"no answer within 0.2 s; last command ':NUM:NORM:VAL\?'"):
            an.read()  # its timeout, then the marker's: the link stays unsynchronised
        assert not an.link.synchronised
        with pytest.raises(InstrumentTimeout) as e:
            an.read()  # the marker again, then on a new connection: still nothing
        assert not an.link.synchronised and an.link.reconnects == 1
    finally:
        an.close()
    assert str(e.value) == (
        f"instrument 'analyzer' at {srv.visa}: no answer within 0.2 s, nor to the resynchronisation query "
        "'*ESE?' after it, even on a new connection: the instrument may be hung or busy; last command "
        "':NUM:NORM:VAL?'")


def test_errors_the_instrument_held_before_the_open_are_kept_not_blamed_on_our_first_command(fake_scpi) -> None:
    """An instrument used from its front panel or by another program may hold errors in its queue: read at the
    open and kept for the evidence, they are no refusal of the settings chargespec sends next (which were
    reported as refused before, naming a command the instrument accepted)."""
    fake, srv = fake_scpi()
    fake.errors = [(-113, "Undefined header; FOO?"), (-221, "Settings conflict")]
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.5)
    try:
        assert an.errors_at_open == ((-113, "Undefined header; FOO?"), (-221, "Settings conflict"))
        an.configure(phases=1, update_interval_s=0.5)
        assert current(an) == 1.0
    finally:
        an.close()


def test_a_refused_setting_is_raised_with_the_command_and_the_instruments_text(fake_scpi) -> None:
    _, srv = fake_scpi(refuse={":RATE 500MS": (-221, "Settings conflict; Integration in progress")})
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.5)
    try:
        with pytest.raises(InstrumentCommandRejected) as e:
            an.configure(phases=1, update_interval_s=0.5)
        with pytest.raises(Exception, match="open but not configured"):
            an.read()  # the item list on the instrument is unknown: no reading is trusted
    finally:
        an.close()
    assert (e.value.command, e.value.code, e.value.text) == (":RATE 500MS", -221,
                                                             "Settings conflict; Integration in progress")
    assert str(e.value) == (
        f"instrument 'analyzer' at {srv.visa}: the instrument rejected ':RATE 500MS': "
        '-221,"Settings conflict; Integration in progress" (read with :STAT:ERR?); last command \':RATE 500MS\'')


def test_an_unknown_query_times_out_and_the_error_queue_says_why(fake_scpi) -> None:
    _, srv = fake_scpi()
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.3)
    try:
        with pytest.raises(InstrumentCommandRejected) as e:
            an.link.query(":NUM:NORM:VALUE2?")
        assert an.link.synchronised and an.identify().startswith("YOKOGAWA,")
    finally:
        an.close()
    assert str(e.value) == (
        f"instrument 'analyzer' at {srv.visa}: no answer within 0.3 s: the instrument rejected "
        "':NUM:NORM:VALUE2?': -113,\"Undefined header; :NUM:NORM:VALUE2?\" (read with :STAT:ERR?); last command "
        "':NUM:NORM:VALUE2?'")
    assert isinstance(e.value.__context__, InstrumentTimeout)


def test_a_wt5000_driver_on_a_wt310_fails_at_open_naming_both(fake_scpi) -> None:
    _, srv = fake_scpi("WT310")
    an = registry.create("yokogawa-wt5000", name="analyzer", address=srv.visa, timeout_s=0.5)
    with pytest.raises(InstrumentConfigError) as e:
        an.open()
    assert not an.is_open
    assert str(e.value) == (
        f"instrument 'analyzer' at {srv.visa}: driver yokogawa-wt5000 is for the Yokogawa WT5000, but the "
        "instrument identifies as 'YOKOGAWA,WT310,C2XA00001,F1.03' (model 'WT310'); give this role the driver "
        "for that model; last command '*IDN?'")


@pytest.mark.parametrize(("driver", "model"), [("yokogawa-wt300", "WT1806"), ("yokogawa-wt1800", "WT333"),
                                               ("hioki-pw3390", "WT310"), ("zes-lmg600", "WT5000")])
def test_every_family_checks_the_model(fake_scpi, driver: str, model: str) -> None:
    _, srv = fake_scpi(model)
    with pytest.raises(InstrumentConfigError, match=f"driver {driver} is for .*model '{model}'"):
        registry.create(driver, name="analyzer", address=srv.visa, timeout_s=0.5).open()


def test_generic_scpi_checks_the_model_when_told(fake_scpi) -> None:
    _, srv = fake_scpi("WT310")
    an = registry.create("generic-scpi", name="analyzer", address=srv.visa, timeout_s=0.5,
                         options={"model": "PA-3000", "read": "READ?", "items": [
                             {"item": "I", "quantity": "current", "phase": "L1"}]})
    with pytest.raises(InstrumentConfigError, match="whose \\*IDN\\? model matches 'PA-3000' \\(option model\\)"):
        an.open()


def test_three_phases_on_a_single_element_wt310_is_an_error_naming_both(fake_scpi) -> None:
    fake, srv = fake_scpi("WT310")
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.5)
    try:
        with pytest.raises(InstrumentConfigError) as e:
            an.configure(phases=3)
    finally:
        an.close()
    assert str(e.value) == (
        f"instrument 'analyzer' at {srv.visa}: a 3-phase station needs 3 input elements, but this WT310 has 1 "
        "(YOKOGAWA,WT310,C2XA00001,F1.03); use an analyzer with 3 elements or a 1-phase station; last command "
        "':STAT:ERR?'")
    assert fake.settings == []  # refused before anything was sent


@pytest.mark.parametrize(("driver", "model", "elements"), [
    ("yokogawa-wt300", "WT310E", 1), ("yokogawa-wt300", "WT332", 2), ("yokogawa-wt300", "WT333E", 3),
    ("yokogawa-wt1800", "WT1801", 1), ("yokogawa-wt1800", "WT1806-06", 6), ("yokogawa-wt5000", "WT5000", None),
])
def test_element_counts_come_from_the_model(fake_scpi, driver: str, model: str, elements: int | None) -> None:
    _, srv = fake_scpi(model)
    an = wt(driver, srv.visa, timeout_s=0.5)
    an.close()
    assert an.elements == elements


def test_three_phases_are_wired_as_one_group_before_the_sigma_items(fake_scpi) -> None:
    fake, srv = fake_scpi("WT333")
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.5)
    try:
        an.configure(phases=3)
    finally:
        an.close()
    assert fake.settings.index(":INP:WIR P3W4") < fake.settings.index(":NUM:NORM:ITEM13 P,SIGMA")


def test_reconnect_once_is_the_default() -> None:
    an = registry.create("yokogawa-wt300", name="analyzer", address="TCPIP0::127.0.0.1::1::SOCKET")
    ev = registry.create("chargespec-ev", name="ev", address="socket://127.0.0.1:1")
    assert an.link.reconnect_attempts == 1 and ev.link.reconnect_attempts == 1


class FakeInstrResource:
    """A VXI-11/USBTMC-like INSTR session: answers wait in the instrument's output queue until read, and a
    device clear (`clear()`) empties it. The 2nd query is answered too late for its read."""

    def __init__(self) -> None:
        self.output: list[str] = []
        self.asked = 0
        self.clears = 0
        self.written: list[str] = []

    def write(self, message: str) -> None:
        self.written.append(message)
        for unit in message.split(";"):
            if unit == ":NUM:NORM:VAL?":
                self.asked += 1
                self.output.append(f"{self.asked}")
            elif unit == "*ESE?":
                self.output.append(self.written[-1].split(";")[0].split()[1])
            elif unit == ":STAT:ERR?":
                self.output.append('0,"No error"')

    def read(self) -> str:
        if not self.output or (self.asked == 2 and self.output == ["2"] and self.clears == 0):
            raise pyvisa.errors.VisaIOError(pyvisa.constants.StatusCode.error_timeout)
        return self.output.pop(0)

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def clear(self) -> None:
        self.clears += 1
        self.output.clear()

    def close(self) -> None:
        pass


def test_an_instr_session_gets_a_device_clear_after_a_timeout() -> None:
    from instruments.visa_link import VisaLink

    class Owner:
        name, address, last_command = "analyzer", "TCPIP0::192.0.2.10::inst0::INSTR", None

    resource = FakeInstrResource()
    link = VisaLink(Owner(), timeout_s=0.1, error_query=":STAT:ERR?")
    link._connect = lambda: resource  # type: ignore[method-assign]
    link.open()
    assert link.query(":NUM:NORM:VAL?") == "1"
    with pytest.raises(InstrumentTimeout):
        link.query(":NUM:NORM:VAL?")  # its answer "2" waits in the output queue...
    assert link.query(":NUM:NORM:VAL?") == "3"  # ...and the device clear dropped it
    assert (resource.clears, link.stale_answers, link.resyncs) == (1, 0, 1)
    assert resource.written[-4:] == ["*ESE 1;*ESE?", "*ESE 0", ":STAT:ERR?", ":NUM:NORM:VAL?"]


def test_an_instr_session_reopened_after_a_lost_connection_is_cleared_before_reading() -> None:
    from instruments.visa_link import VisaLink

    class Owner:
        name, address, last_command = "analyzer", "USB0::0x0B21::0x0025::C2XA00001::INSTR", None

    class Lost(FakeInstrResource):
        def query(self, message: str) -> str:
            raise pyvisa.errors.VisaIOError(pyvisa.constants.StatusCode.error_connection_lost)

    first, second = Lost(), FakeInstrResource()
    second.output.append("stale")  # the device still holds an answer meant for the lost session
    sessions = iter([first, second])
    link = VisaLink(Owner(), timeout_s=0.1, error_query=":STAT:ERR?")
    link._connect = lambda: next(sessions)  # type: ignore[method-assign]
    link.open()
    assert link.query(":NUM:NORM:VAL?") == "1"  # reconnected once (the default), cleared, marked, asked
    assert (second.clears, link.reconnects, link.stale_answers) == (1, 1, 0)


def test_a_reply_broken_in_two_never_shifts_the_readings_after_it(fake_scpi) -> None:
    """Half an answer is a protocol error, and the other half must not become the next query's answer:
    a malformed answer may belong to another query, so the link resynchronises before the next read."""
    _, srv = fake_scpi(split={2})  # the 2nd values answer arrives as "230,2" and "460,1,2" on two lines
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.3)
    try:
        an.configure(phases=1)
        assert current(an) == 1.0
        with pytest.raises(InstrumentProtocolError, match="expected 5 values, got 2"):
            an.read()
        assert not an.link.synchronised
        assert [current(an) for _ in range(3)] == [3.0, 4.0, 5.0]  # never the left-over half, never one behind
    finally:
        an.close()
    assert (an.link.resyncs, an.link.stale_answers) == (1, 1)


def test_an_unreadable_error_queue_answer_leaves_the_link_unsynchronised(line_server) -> None:
    """An answer to the error query that is not an entry may be another query's: resynchronise first."""
    answers = {"*IDN?": ["YOKOGAWA,WT310,C2XA00001,F1.03"], ":STAT:ERR?": ["42"], "*ESE 1;*ESE?": ["1"]}
    asked = []

    def reply(line: str, conn: int) -> list[str]:
        asked.append(line)
        if line == ":STAT:ERR?" and asked.count(line) == 1:
            return ['0,"No error"']  # (the queue emptied at the open)
        return answers.get(line, [])

    srv = line_server(reply)
    an = wt("yokogawa-wt300", srv.visa, timeout_s=0.3)
    try:
        with pytest.raises(InstrumentProtocolError, match="unreadable answer '42' to :STAT:ERR\\? after ':RATE 1S'"):
            an.link.write_checked(":RATE 1S")
        assert not an.link.synchronised
    finally:
        an.close()
