"""The abcd-ev driver: one state character out, duty report lines in (over a loopback socket://)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from instruments import registry
from instruments.base import EvEmulator
from instruments.drivers.abcd_ev import AbcdEv, parse_duty
from instruments.errors import InstrumentConfigError, InstrumentTimeout, InstrumentUnsupported


class RawServer:
    """Accepts one client; records every byte it sends; `push` sends bytes to it."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._sock.getsockname()[1]}"
        self.received = bytearray()
        self._conn: socket.socket | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            self._conn, _ = self._sock.accept()
        except OSError:
            return
        self._ready.set()
        while True:
            try:
                chunk = self._conn.recv(64)
            except OSError:
                return
            if not chunk:
                return
            self.received += chunk

    def push(self, data: bytes) -> None:
        assert self._ready.wait(2)
        assert self._conn is not None
        self._conn.sendall(data)

    def wait_received(self, n: int) -> bytes:
        deadline = time.monotonic() + 2
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        return bytes(self.received)

    def close(self) -> None:
        self._sock.close()
        if self._conn is not None:
            self._conn.close()


@pytest.fixture
def sim() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


@pytest.fixture
def ev(sim: RawServer) -> Iterator[AbcdEv]:
    driver = registry.create("abcd-ev", name="ev", address=sim.url, timeout_s=0.4)
    assert isinstance(driver, AbcdEv)
    driver.open()
    yield driver
    driver.close()


@pytest.mark.parametrize(("line", "duty"), [
    ("duty=53.3", 53.3), ("D:53.3", 53.3), ("d: 26.7", 26.7), ("DUTY = 16.7 %", 16.7),
    ("state=C duty=26.7%", 26.7), ("[ev] D: 100", 100.0), ("duty:0", 0.0), ("D:.5", 0.5),
    ("ID:3", None), ("PWMD:20", None), ("duty=150", None), ("duty=-2", None), ("boot v1.2", None),
    ("", None), ("D:", None),
])
def test_report_format(line: str, duty: float | None) -> None:
    assert parse_duty(line) == duty


def test_registered_with_9600_baud(sim: RawServer) -> None:
    driver = registry.create("abcd-ev", name="ev", address=sim.url)
    assert isinstance(driver, EvEmulator) and registry.driver("abcd-ev") is AbcdEv
    assert driver.link.baudrate == 9600


def test_set_state_writes_one_character(ev: AbcdEv, sim: RawServer) -> None:
    ev.set_state("B")
    ev.set_state(" c ")
    ev.set_state("D")
    ev.set_state("A")
    assert sim.wait_received(4) == b"BCDA"
    assert ev.state == "A"


UNSUPPORTED = [
    (lambda ev: ev.set_state("E"), "cannot set pilot state 'E'"),
    (lambda ev: ev.set_state("F"), "cannot set pilot state 'F'"),
    (lambda ev: ev.set_cable(220), "cannot set the proximity (PP) resistor"),
    (lambda ev: ev.set_cable(None), "cannot set the proximity (PP) resistor"),
    (lambda ev: ev.set_current(16, phases=3), "cannot set the current the EV draws"),
    (lambda ev: ev.follow_pilot(True, lag_s=5), "cannot follow the pilot"),
]


def test_unsupported_operations_say_so(ev: AbcdEv, sim: RawServer) -> None:
    # One connection for all cases: closing a pyserial socket:// port sleeps 0.3 s.
    for call, what in UNSUPPORTED:
        with pytest.raises(InstrumentUnsupported) as e:
            call(ev)
        assert isinstance(e.value, InstrumentConfigError)
        assert what in str(e.value) and "this emulator (abcd-ev" in str(e.value)
        assert f"instrument 'ev' at {sim.url}" in str(e.value)
    time.sleep(0.05)
    assert sim.received == b""  # nothing was sent


def test_read_pwm_skips_noise(ev: AbcdEv, sim: RawServer) -> None:
    sim.push(b"EV simulator v1.2 ready\r\n\xff\xfe\x00\n\r\nduty=53.3\r\n")
    pwm = ev.read_pwm()
    assert (pwm.duty_percent, pwm.frequency_hz) == (53.3, None)
    assert ev.noise == 2  # the banner and the non-ASCII glitch; blank lines are not noise
    sim.push(b"D:26.7\n")
    time.sleep(0.05)
    assert ev.read_pwm().duty_percent == 26.7  # the newest report wins
    assert ev.last_report is not None and ev.last_report.raw == "D:26.7"


def test_read_pwm_waits_for_a_report_split_across_reads(ev: AbcdEv, sim: RawServer) -> None:
    sim.push(b"dut")
    threading.Timer(0.1, sim.push, args=(b"y=10.0\n",)).start()
    assert ev.read_pwm().duty_percent == 10.0


def test_a_stale_report_is_not_reused(sim: RawServer) -> None:
    ev = registry.create("abcd-ev", name="ev", address=sim.url, timeout_s=1.0, stale_s=0.1)
    ev.open()
    try:
        ev.poll()  # the line is seen empty now: the report pushed next is younger than that
        sim.push(b"duty=40\n")
        assert ev.read_pwm().duty_percent == 40.0
        time.sleep(0.15)
        threading.Timer(0.1, sim.push, args=(b"duty=30\n",)).start()
        t0 = time.monotonic()
        assert ev.read_pwm().duty_percent == 30.0
        assert time.monotonic() - t0 >= 0.08  # it waited for the fresh report
    finally:
        ev.close()


def test_a_report_left_waiting_by_a_hung_simulator_is_not_fresh_when_read_late(sim: RawServer) -> None:
    """The simulator sent one report and hung; the driver reads that line only 0.3 s later. It is as old as
    the last time the driver saw the line empty, not as young as the moment it was read: past stale_s it is
    no reading of now, so read_pwm waits for a new one and, none coming, times out (broken, not a duty)."""
    ev = registry.create("abcd-ev", name="ev", address=sim.url, timeout_s=0.3, stale_s=0.2)
    ev.open()
    try:
        ev.poll()
        sim.push(b"duty=53.3\n")
        time.sleep(0.3)
        with pytest.raises(InstrumentTimeout, match=r"no duty report within 0.3 s \(received nothing; the last "
                                                     r"report, 'duty=53.3', is [0-9.]+ s old, more than stale_s "
                                                     r"0.2 s\)"):
            ev.read_pwm()
        assert ev.last_report is not None and ev.last_report.raw == "duty=53.3"  # read, and known to be old
        sim.push(b"duty=26.7\n")  # the simulator is back: a report that arrives while waiting is fresh
        assert ev.read_pwm().duty_percent == 26.7
    finally:
        ev.close()


def test_a_report_left_waiting_is_dated_when_it_came_not_when_it_was_read(ev: AbcdEv, sim: RawServer) -> None:
    """The simulator reported; the report waited 0.3 s in the buffer before the driver read it. The reading is
    of the moment the report came (at the latest the last time the driver saw the line empty), not of the
    read: stamped at the read it would be judged as the pilot of 0.3 s later. Read again, it is the same
    reading, with the same time."""
    ev.poll()  # the driver sees the line empty
    seen_empty = ev.clock.now()
    sim.push(b"duty=26.7\n")
    time.sleep(0.3)
    asked = ev.clock.now()
    pwm = ev.read_pwm()
    assert pwm.duty_percent == 26.7
    assert seen_empty - 0.01 <= pwm.t <= seen_empty + 0.05 and pwm.t < asked - 0.25
    assert ev.read_pwm() == pwm


def test_the_sampler_records_a_waiting_report_at_its_time_once_and_never_one_older_than_the_max_gap(
        ev: AbcdEv, sim: RawServer, pwm_polls) -> None:
    """Polled every 0.1 s, a simulator's report is one sample at the time it came, however many polls return
    it; a report that waited longer than the judge's max gap (here 0.2 s; stale_s is 2.5 s) is no fresh
    sample of the pilot and leaves the record's gap a gap."""
    ev.poll()
    sim.push(b"duty=26.7\n")
    came = ev.clock.now()
    time.sleep(0.1)
    sampler, got = pwm_polls(ev, polls=3, max_age_s=0.2)
    assert [(r.duty_percent, r.t < came + 0.05) for r in got] == [(26.7, True)]
    assert sampler.pwm_repeats >= 2  # the same report, returned to the later polls
    ev.poll()
    sim.push(b"duty=10.0\n")
    time.sleep(0.3)  # older than the max gap by the time it is read
    sampler, got = pwm_polls(ev, polls=2, max_age_s=0.2)
    assert got == [] and sampler.pwm_stale >= 1


def test_no_report_is_a_timeout_that_says_what_arrived(ev: AbcdEv, sim: RawServer) -> None:
    sim.push(b"hello\n")
    with pytest.raises(InstrumentTimeout) as e:
        ev.read_pwm()
    text = str(e.value)
    assert "no duty report within 0.4 s" in text and "'hello'" in text and "baud rate (9600)" in text


def test_bad_stale_option() -> None:
    with pytest.raises(InstrumentConfigError, match="stale_s must be a positive number"):
        registry.create("abcd-ev", name="ev", address="socket://127.0.0.1:9", stale_s=0)


def test_no_parking_bay_line_is_said_so(ev: AbcdEv) -> None:
    from instruments.errors import InstrumentUnsupported

    with pytest.raises(InstrumentUnsupported, match="no parking-bay sensor line"):
        ev.set_parked(True)
