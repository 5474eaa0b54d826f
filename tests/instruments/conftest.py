"""Fixtures for the instrument tests: the pyvisa-sim analyzers and tiny loopback servers.

`LineServer` is a TCP server on 127.0.0.1 (port 0) that reads ``\\n``-terminated lines and answers what a
test's `reply(line, connection_number)` returns: a list of lines (str, sent with ``\\n``) or raw bytes,
or None to drop the connection. It records every raw line it received, per connection. `FakeScpi` is a
strict in-order SCPI instrument on it (an error queue, ``*ESE`` markers, held or late answers). Helpers
are fixtures (not imports) so that other test directories' conftest modules never clash with these.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from instruments import registry
from instruments.clock import Clock

SIM_DIR = Path(__file__).parent / "sim"
SIM_LIBRARY = f"{SIM_DIR / 'wt300.yaml'}@sim"
SIM_PORTS = {"wt310": 10001, "wt333": 10002, "wt310_running": 10003, "wt310_ready": 10004,
             "wt310_timeup": 10005, "wt310_header": 10006, "wt310_odd": 10007, "wt310_garbage": 10008,
             "wt310_short": 10009}


Reply = Callable[[str, int], "Sequence[str | bytes] | None"]


class LineServer:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.received: list[list[bytes]] = []  # raw lines (with b"\n") per connection
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def visa(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def lines(self, connection: int = -1) -> list[bytes]:
        with self._lock:
            return list(self.received[connection]) if self.received else []

    def push(self, data: bytes) -> None:
        """Send unsolicited bytes on the newest connection."""
        with self._lock:
            self._conns[-1].sendall(data)

    def close(self) -> None:
        self._sock.close()
        with self._lock:
            for c in self._conns:
                c.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                self.received.append([])
                index = len(self.received) - 1
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()

    def _serve(self, conn: socket.socket, index: int) -> None:
        buf = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    with self._lock:
                        self.received[index].append(raw + b"\n")
                    answer = self.reply(raw.decode("ascii", "replace").rstrip("\r"), index)
                    if answer is None:
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    try:
                        for item in answer:
                            conn.sendall(item if isinstance(item, bytes) else item.encode("ascii") + b"\n")
                    except OSError:  # the client hung up before a late answer: as an instrument, drop it
                        return


class FakeScpi:
    """A strict SCPI power analyzer (WT300 spelling) that answers every query, in order, on one line.

    - ``:NUM:NORM:VAL?`` answers ``230,<k>,<k * 230>,1,<k>`` for its k-th values query (any connection),
      so a reading shows which query it answers: a stale one is visible.
    - `hold` = {k}: the k-th values query is answered late: not until the next line arrives, just before
      that line's own answer (a deterministic "answered after the timeout"). `late_s` = {k: s}: it is
      answered after sleeping s real seconds, blocking later answers as an instrument does.
    - `split` = {k}: the k-th values answer is broken in two by a stray line end after its second value
      (line noise): the driver reads half an answer, and the other half waits for the next query.
    - `refuse` = {command: (code, text)}: that setting is refused (queued in the error queue).
    - Errors go to the queue (`:STAT:ERR?`/`:SYST:ERR?`/`:STATUS:ERROR?`); an unknown query is -113 and gets no answer.
    - `silent`: answers *IDN? only (a hung instrument).
    """

    def __init__(self, model: str = "WT310", *, hold: set[int] | None = None,
                 late_s: dict[int, float] | None = None, refuse: dict[str, tuple[int, str]] | None = None,
                 silent: bool = False, split: set[int] | None = None) -> None:
        self.model = model
        self.split = split or set()
        self.hold = hold or set()
        self.late_s = late_s or {}
        self.refuse = refuse or {}
        self.silent = silent
        self.values_asked = 0
        self.errors: list[tuple[int, str]] = []
        self.ese = 0
        self.settings: list[str] = []
        self._held: list[str] = []

    def reply(self, line: str, conn: int) -> list[str]:
        late, self._held = self._held, []  # answers held back from earlier lines go out first
        out: list[str] = []
        delay = 0.0
        for unit in (u.strip() for u in line.split(";")):
            header, _, arg = unit.partition(" ")
            h = header.upper()
            if h == "*IDN?":
                out.append(f"YOKOGAWA,{self.model},C2XA00001,F1.03")
            elif self.silent:
                continue
            elif h == "*ESE":
                self.ese = int(arg)
            elif h == "*ESE?":
                out.append(str(self.ese))
            elif h in (":STAT:ERR?", ":SYST:ERR?", ":STATUS:ERROR?"):
                code, text = self.errors.pop(0) if self.errors else (0, "No error")
                out.append(f'{code},"{text}"')
            elif h == ":INTEG:STAT?":
                out.append("RESET")
            elif h == ":NUM:NORM:VAL?":
                self.values_asked += 1
                k = self.values_asked
                answer = f"230.0E+00,{k}.0E+00,{k * 230}.0E+00,1.0E+00,{k}.0E+00"
                if k in self.hold:
                    self._held.append(answer)
                    continue
                delay = max(delay, self.late_s.get(k, 0.0))
                if k in self.split:
                    first, second, rest = answer.split(",", 2)
                    answer = f"{first},{second}\n{rest}"
                out.append(answer)
            elif h.endswith("?"):
                self.errors.append((-113, f"Undefined header; {header}"))
            elif unit in self.refuse:
                self.errors.append(self.refuse[unit])
            else:
                self.settings.append(unit)
        if delay:
            time.sleep(delay)
        return [*late, ";".join(out)] if out else late


@pytest.fixture
def line_server() -> Iterator[Callable[[Reply], LineServer]]:
    servers: list[LineServer] = []

    def make(reply: Reply) -> LineServer:
        servers.append(LineServer(reply))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def fake_scpi(line_server) -> Callable[..., tuple[FakeScpi, LineServer]]:
    """fake_scpi(model="WT310", hold=..., late_s=..., refuse=...) -> (instrument, its server)."""

    def make(model: str = "WT310", **kwargs: object) -> tuple[FakeScpi, LineServer]:
        fake = FakeScpi(model, **kwargs)  # type: ignore[arg-type]
        return fake, line_server(fake.reply)

    return make


@pytest.fixture
def sim_wt() -> Iterator[Callable[..., object]]:
    """Build a WT300 driver on one of the simulated analyzers of sim/wt300.yaml; closed at teardown."""
    made: list[object] = []

    def make(device: str = "wt310", **options: object):
        address = f"TCPIP0::127.0.0.1::{SIM_PORTS[device]}::SOCKET"
        wt = registry.create("yokogawa-wt300", name="wt", address=address, visa_library=SIM_LIBRARY,
                             clock=Clock(), **options)
        made.append(wt)
        return wt

    yield make
    for wt in made:
        wt.close()  # type: ignore[attr-defined]


@pytest.fixture
def sim_analyzer() -> Iterator[Callable[..., object]]:
    """sim_analyzer(driver, "wt1800.yaml", 10101, **options): a driver on a pyvisa-sim analyzer, opened;
    closed at teardown. The port picks the device in that YAML file's resources."""
    made: list[object] = []

    def make(driver: str, yaml: str, port: int, **options: object):
        address = f"TCPIP0::127.0.0.1::{port}::SOCKET"
        an = registry.create(driver, name="pa", address=address, visa_library=f"{SIM_DIR / yaml}@sim",
                             clock=Clock(), **options)
        made.append(an)
        an.open()  # type: ignore[attr-defined]
        return an

    yield make
    for an in made:
        an.close()  # type: ignore[attr-defined]


def _record_writes(instrument: object) -> list[bytes]:
    sent: list[bytes] = []
    resource = instrument.link.resource  # type: ignore[attr-defined]
    original = resource.write_raw

    def write_raw(message: bytes) -> int:
        sent.append(bytes(message))
        return original(message)

    resource.write_raw = write_raw
    return sent


@pytest.fixture
def record_writes() -> Callable[[object], list[bytes]]:
    """record_writes(driver) -> list that fills with the exact bytes written to its open VISA resource."""
    return _record_writes


class _SilentAnalyzer:
    """Just enough of a PowerAnalyzer for a Sampler that is there to read an EV emulator's pilot."""

    kind = "analyzer"
    name = "analyzer"

    def __init__(self, clock: Clock, interval_s: float) -> None:
        self.clock = clock
        self.update_interval_s = interval_s

    def read(self) -> object:
        return None


@pytest.fixture
def pwm_polls() -> Callable[..., tuple[object, list[object]]]:
    """pwm_polls(ev, polls, max_age_s, interval_s=0.1) -> (sampler, readings handed on): a Sampler reading `ev`'s
    pilot PWM, stopped after `polls` polls (real seconds at the driver's clock)."""
    from instruments.sampler import Sampler

    def run(ev: object, polls: int, max_age_s: float, interval_s: float = 0.1) -> tuple[object, list[object]]:
        clock = ev.clock  # type: ignore[attr-defined]
        got: list[object] = []
        analyzer = _SilentAnalyzer(clock, interval_s)
        sampler = Sampler(analyzer, clock, lambda r: None, ev=ev,  # type: ignore[arg-type]
                          on_pwm=got.append, pwm_max_age_s=max_age_s)
        sampler.start()
        deadline = time.monotonic() + 10
        while sampler.samples < polls and sampler.error is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert sampler.stop()
        assert sampler.error is None, sampler.error
        return sampler, got

    return run
