"""The twin's power analyzer: a SCPI server on TCP that speaks the Yokogawa WT300 family's commands.

It identifies as a WT333 (three elements) on a 3-phase station and as a WT310 (one element) on a
1-phase one. Element k measures phase k of one EVSE of the physics model (the twin has ``analyzer`` for EVSE 1,
``analyzer2`` for EVSE 2, ...). Readings are held for one update period (``:RATE``), as the instrument's
display is, and carry small gaussian noise; the integrator (``:INTEG:...``) integrates the element's own
true active energy on bench time, independent of the charger's meter. pyvisa-py reaches it as
``TCPIP0::127.0.0.1::<port>::SOCKET`` with read/write termination ``\\n``.

    :NUM:FORM ASC;:INP:WIR P3W4;:NUM:NORM:NUM 3;:NUM:NORM:ITEM1 U,1;ITEM2 I,1;ITEM3 WH,SIGMA
    :NUM:NORM:VAL?                      -> 2.3092E+02,1.6003E+01,NAN
    :INTEG:STAR;:INTEG:STAT?            -> START

It is as strict as the instrument, so a driver that would fail on the bench fails on the twin:

- Errors go to the error queue (``:STATus:ERRor?`` or ``:SYSTem:ERRor?`` -> ``-113,"Undefined header"``),
  never to the reply; a query that is not understood gets no answer at all (the driver times out).
- The update rate (``:RATE``), the wiring and the integration mode cannot change while integrating:
  ``-221,"Settings conflict; Integration in progress"``. The integrator starts only from RESET or STOP,
  resets only when not running.
- The SIGMA (Σ) items exist only for elements wired as one group: after ``*RST`` the wiring is
  ``P1W2`` (each element on its own) and SIGMA reads ``NAN`` until ``:INPut:WIRing P3W4`` (or ``P3W3``,
  ``V3A3``) groups the three elements. A WT310 has one element and only ``P1W2``.
- An integration timer (``:INTeg:TIMer <h>,<m>,<s>``, 0 = none) ends a normal-mode integration after that
  long (TIMEUP, the values frozen) and starts a continuous-mode one over each period, noticed at the first
  command after it: the energy then falls back, as the instrument's does.
- ``*ESE``/``*ESE?`` hold the event status enable register (drivers use it as a resynchronisation marker).
- ``*ESR?`` shows each error's class in the event status register (IEEE 488.2: command error 32, execution
  error 16, device-dependent error 8, query error 4) until it is read or ``*CLS``: a driver that reads
  errors there sees every refusal, as on the instrument.
"""

from __future__ import annotations

import math
import random
import re
from collections import deque
from dataclasses import dataclass

from lab.twin.lineserver import LineServer
from lab.twin.physics import EvseSnapshot, Physics

# The model answers *IDN? as the real family does: one element is a WT310, three a WT333 (3P4W).
MODELS = {1: "WT310", 3: "WT333"}
FIRMWARE = "F1.03"
RATES_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
FUNCTIONS = (
    "U",
    "I",
    "P",
    "S",
    "Q",
    "LAMBDA",
    "PHI",
    "FU",
    "FI",
    "WH",
    "WHP",
    "WHM",
    "AH",
    "AHP",
    "AHM",
    "TIME",
    "NONE",
)
MAX_ITEMS = 255
DEFAULT_ITEMS = (
    ("U", "1"),
    ("I", "1"),
    ("P", "1"),
    ("S", "1"),
    ("Q", "1"),
    ("LAMBDA", "1"),
    ("PHI", "1"),
    ("FU", "1"),
    ("FI", "1"),
    ("NONE", "1"),
)
GRID_HZ = 50.0
# Long SCPI keywords -> the short forms the dispatcher uses (SCPI accepts either).
_ALIASES = {
    "NUMERIC": "NUM",
    "NORMAL": "NORM",
    "FORMAT": "FORM",
    "NUMBER": "NUM",
    "VALUE": "VAL",
    "INTEGRATE": "INTEG",
    "START": "STAR",
    "RESET": "RES",
    "STATE": "STAT",
    "SYSTEM": "SYST",
    "ERROR": "ERR",
    "COMMUNICATE": "COMM",
    "HEADER": "HEAD",
    "VERBOSE": "VERB",
    "TIMER": "TIM",
    "REMOTE": "REM",
    "ITEM": "ITEM",
    "STATUS": "STAT",
    "INPUT": "INP",
    "WIRING": "WIR",
}
WIRINGS = ("P1W2", "P1W3", "P3W3", "P3W4", "V3A3")
# Wirings that group elements 1..3 into one three-phase system, the only ones with SIGMA totals here.
THREE_PHASE_WIRINGS = ("P3W3", "P3W4", "V3A3")
INTEGRATING = "Integration in progress"
_ERRORS = {
    -102: "Syntax error",
    -113: "Undefined header",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -350: "Queue overflow",
}
_ERROR_QUEUE = 16
# Event status register bit of each SCPI error class (-1xx command, -2xx execution, -3xx device, -4xx query).
_ESR_BITS = {1: 32, 2: 16, 3: 8, 4: 4}


class ScpiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code} {detail}")


@dataclass(frozen=True)
class _Held:
    index: int
    snap: EvseSnapshot
    noisy: tuple[tuple[float, float], ...]  # (U, I) per element as displayed


def nr3(value: float | None) -> str:
    """WT numeric response form: ``2.3012E+02``; ``NAN`` for no data."""
    if value is None or math.isnan(value):
        return "NAN"
    return f"{value:.4E}"


def engineering(value: float) -> str:
    """Time and similar settings as WT answers them: ``500.0E-03``."""
    if value == 0:
        return "0.0E+00"
    exp = int(math.floor(math.log10(abs(value)) / 3) * 3)
    return f"{value / 10**exp:.1f}E{exp:+03d}"


def parse_rate(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9.]+(?:E[+-]?\d+)?)\s*(MS|S)?\s*", text.upper())
    if not m:
        raise ScpiError(-224, f"update rate {text!r}")
    value = float(m.group(1)) / (1000.0 if m.group(2) == "MS" else 1.0)
    for rate in RATES_S:
        if math.isclose(value, rate, rel_tol=1e-6):
            return rate
    raise ScpiError(-222, f"update rate {text!r}; the WT300 updates at 100MS, 250MS, 500MS, 1S, 2S or 5S")


class AnalyzerServer(LineServer):
    """A WT300-family analyzer whose elements measure the phases of one EVSE."""

    name = "twin analyzer"

    def __init__(
        self,
        physics: Physics,
        evse: int = 1,
        *,
        serial: str = "TWIN-WT333-0001",
        noise: float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.physics = physics
        self.evse = evse
        self.serial = serial
        self.noise = physics.noise if noise is None else noise
        self._rng = random.Random(seed)
        self.elements = physics.phases
        self.reset()

    @property
    def model(self) -> str:
        """The WT300 model this analyzer answers as: WT310 for a 1-phase station, WT333 for 3 phases."""
        return MODELS[self.elements]

    @property
    def address(self) -> str:
        return f"TCPIP0::{self.host}::{self.port}::SOCKET"

    def reset(self) -> None:
        """*RST: factory settings and a reset integrator."""
        self.items: list[tuple[str, str]] = list(DEFAULT_ITEMS)
        self.item_count = len(DEFAULT_ITEMS)
        self.rate_s = 0.5
        self.header = False
        self.integ_mode = "NORM"
        self.integ_timer_s = 0.0
        self.integ_state = "RESET"
        self.wiring = "P1W2"
        self.ese = 0
        self.esr = 0
        self._integ_acc = [0.0] * 3  # Wh per element accumulated over finished runs
        self._integ_acc_ah = [0.0] * 3
        self._integ_acc_time = 0.0
        self._integ_from: EvseSnapshot | None = None  # snapshot when the running integration started
        self._held: _Held | None = None
        self.errors: deque[tuple[int, str]] = deque()

    # ------------------------------------------------------------------ protocol
    def handle(self, line: str) -> list[str]:
        replies: list[str] = []
        parent: tuple[str, ...] = ()
        for unit in line.split(";"):
            unit = unit.strip()
            if not unit:
                continue
            header, _, args = unit.partition(" ")
            args = args.strip()
            query = header.endswith("?")
            header = header.rstrip("?").upper()
            try:
                if header.startswith("*"):
                    path: tuple[str, ...] = (header,)
                else:
                    nodes = tuple(self._short(n) for n in header.lstrip(":").split(":") if n)
                    # SCPI: a unit after ';' without a leading ':' continues the previous unit's path.
                    path = nodes if header.startswith(":") else parent + nodes
                    parent = path[:-1]
                answer = self._dispatch(path, query, args)
            except ScpiError as e:
                self._error(e.code, e.detail)
                continue
            if answer is not None:
                replies.append(f":{':'.join(path)} {answer}" if self.header and not path[0].startswith("*") else answer)
        return [";".join(replies)] if replies else []

    @staticmethod
    def _short(node: str) -> str:
        m = re.fullmatch(r"([A-Z]+)(\d*)", node)
        if not m:
            raise ScpiError(-102, node)
        word, suffix = m.groups()
        return _ALIASES.get(word, word) + suffix

    def _error(self, code: int, detail: str) -> None:
        self.esr |= _ESR_BITS.get(abs(code) // 100, 8)
        if len(self.errors) >= _ERROR_QUEUE:
            self.errors[-1] = (-350, _ERRORS[-350])
            return
        text = _ERRORS.get(code, "Error")
        self.errors.append((code, f"{text}; {detail}" if detail else text))

    def _dispatch(self, path: tuple[str, ...], query: bool, args: str) -> str | None:
        # :NUMeric[:NORMal]:... - NORMal is optional on the WT300.
        if len(path) >= 2 and path[0] == "NUM" and path[1] != "NORM" and path[1] != "FORM":
            path = ("NUM", "NORM", *path[1:])
        head = path[0]
        if head.startswith("*"):
            return self._common(head, query, args)
        if path == ("NUM", "FORM"):
            if query:
                return "ASCII"
            if args.upper() not in ("ASC", "ASCII"):
                raise ScpiError(-224, f"numeric format {args!r}; the twin answers in ASCii only")
            return None
        if path == ("NUM", "NORM", "NUM"):
            if query:
                return str(self.item_count)
            self.item_count = self._int(args, 1, MAX_ITEMS)
            return None
        if len(path) == 3 and path[:2] == ("NUM", "NORM") and path[2].startswith("ITEM") and path[2] != "ITEM":
            return self._item(int(path[2][4:]), query, args)
        if path == ("NUM", "NORM", "VAL") and query:
            return ",".join(self._values())
        if path == ("RATE",):
            if query:
                return engineering(self.rate_s)
            rate = parse_rate(args)
            self._refuse_while_integrating()
            self.rate_s = rate
            self._held = None
            return None
        if head == "INTEG":
            return self._integ(path[1:], query, args)
        if path == ("INP", "WIR"):
            return self._wiring(query, args)
        if path in (("SYST", "ERR"), ("STAT", "ERR")) and query:
            code, text = self.errors.popleft() if self.errors else (0, "No error")
            return f'{code},"{text}"'
        if path == ("COMM", "HEAD"):
            if query:
                return "1" if self.header else "0"
            self.header = self._bool(args)
            return None
        if path in (("COMM", "VERB"), ("COMM", "REM")):
            return "0" if query else None
        raise ScpiError(-113, ":".join(path) + ("?" if query else ""))

    def _common(self, head: str, query: bool, args: str) -> str | None:
        if head == "*IDN" and query:
            return f"YOKOGAWA,{self.model},{self.serial},{FIRMWARE}"
        if head == "*RST" and not query:
            self.reset()
            return None
        if head == "*CLS" and not query:
            self.errors.clear()
            self.esr = 0
            return None
        if head == "*OPC":
            return "1" if query else None
        if head == "*ESR" and query:
            esr, self.esr = self.esr, 0
            return str(esr)
        if head == "*STB" and query:
            return "0"
        if head == "*ESE":
            if query:
                return str(self.ese)
            self.ese = self._int(args, 0, 255)
            return None
        if head == "*WAI" and not query:
            return None
        raise ScpiError(-113, head + ("?" if query else ""))

    def _refuse_while_integrating(self) -> None:
        if self.integ_state == "START":
            raise ScpiError(-221, INTEGRATING)

    def _wiring(self, query: bool, args: str) -> str | None:
        if query:
            return self.wiring
        wiring = args.strip().upper()
        if wiring not in WIRINGS:
            raise ScpiError(-224, f"wiring {args!r}; one of {', '.join(WIRINGS)}")
        if self.elements == 1 and wiring != "P1W2":
            raise ScpiError(-222, f"wiring {wiring}; a {self.model} has one element: P1W2 only")
        self._refuse_while_integrating()
        self.wiring = wiring
        self._held = None
        return None

    @staticmethod
    def _int(text: str, lo: int, hi: int) -> int:
        try:
            value = int(float(text))
        except ValueError:
            raise ScpiError(-224, f"{text!r} is not a number") from None
        if not lo <= value <= hi:
            raise ScpiError(-222, f"{value} outside {lo}..{hi}")
        return value

    @staticmethod
    def _bool(text: str) -> bool:
        t = text.strip().upper()
        if t in ("ON", "1"):
            return True
        if t in ("OFF", "0"):
            return False
        raise ScpiError(-224, f"{text!r}: expected ON or OFF")

    def _item(self, k: int, query: bool, args: str) -> str | None:
        if not 1 <= k <= MAX_ITEMS:
            raise ScpiError(-222, f"ITEM{k}")
        while len(self.items) < k:
            self.items.append(("NONE", "1"))
        if query:
            fn, elem = self.items[k - 1]
            return fn if fn == "NONE" else f"{fn},{elem}"
        parts = [p.strip().upper() for p in args.split(",")]
        fn = parts[0]
        if fn not in FUNCTIONS:
            raise ScpiError(-224, f"function {fn!r}; the twin knows {', '.join(FUNCTIONS)}")
        elem = parts[1] if len(parts) > 1 and parts[1] else "1"
        if elem in ("SIGM", "SIGMA"):
            elem = "SIGMA"
        elif not (elem.isdigit() and 1 <= int(elem) <= self.elements):
            raise ScpiError(-222, f"element {elem!r}; this analyzer has elements 1..{self.elements} and SIGMA")
        self.items[k - 1] = (fn, elem)
        return None

    # ------------------------------------------------------------------ integrator
    def _timer(self) -> None:
        """Apply the integration timer to a running integration: TIMEUP in normal mode, a new period in
        continuous mode. The run's energy up to the timer is taken as its share of the run (exact while the
        power is constant)."""
        start, timer = self._integ_from, self.integ_timer_s
        if self.integ_state != "START" or start is None or timer <= 0:
            return
        now = self.physics.snapshot(self.evse)
        run_s = now.t - start.t
        if run_s <= 0 or self._integ_acc_time + run_s < timer:
            return
        share = (timer - self._integ_acc_time) / run_s
        wh, ah, _ = self._integ_running(now)
        self._integ_acc = [a + (w - a) * share for a, w in zip(self._integ_acc, wh, strict=True)]
        self._integ_acc_ah = [a + (h - a) * share for a, h in zip(self._integ_acc_ah, ah, strict=True)]
        self._integ_acc_time = timer
        self._integ_from = None
        self.integ_state = "TIMEUP"
        if self.integ_mode == "CONT":  # start over; the period's remainder counts from here
            self._integ_acc, self._integ_acc_ah, self._integ_acc_time = [0.0] * 3, [0.0] * 3, 0.0
            self._integ_from = now
            self.integ_state = "START"

    def _integ(self, rest: tuple[str, ...], query: bool, args: str) -> str | None:
        self._timer()
        cmd = rest[0] if rest else ""
        if cmd == "STAT" and query:
            return self.integ_state
        if cmd == "MODE":
            if query:
                return "NORMAL" if self.integ_mode == "NORM" else "CONTINUOUS"
            mode = {"NORM": "NORM", "NORMAL": "NORM", "CONT": "CONT", "CONTINUOUS": "CONT"}.get(args.upper())
            if mode is None:
                raise ScpiError(-224, f"integration mode {args!r}; NORMal or CONTinuous")
            self._refuse_while_integrating()
            self.integ_mode = mode
            return None
        if cmd == "TIM":
            if query:
                h, rem = divmod(int(self.integ_timer_s), 3600)
                return f"{h},{rem // 60},{rem % 60}"
            try:
                h, m, s = (int(x) for x in args.split(","))
            except ValueError:
                raise ScpiError(-224, f"integration timer {args!r}; expected <hours>,<minutes>,<seconds>") from None
            self.integ_timer_s = float(h * 3600 + m * 60 + s)
            return None
        if query:
            raise ScpiError(-113, f"INTEG:{cmd}?")
        if cmd == "STAR":
            if self.integ_state not in ("RESET", "STOP"):  # TIMEUP: reset first
                raise ScpiError(-221, f"integration is {self.integ_state}; start only from RESET or STOP")
            self._integ_from = self.physics.snapshot(self.evse)
            self.integ_state = "START"
            return None
        if cmd == "STOP":
            if self.integ_state != "START":
                raise ScpiError(-221, f"integration is {self.integ_state}; nothing to stop")
            wh, ah, secs = self._integ_running(self.physics.snapshot(self.evse))
            self._integ_acc, self._integ_acc_ah, self._integ_acc_time = wh, ah, secs
            self._integ_from = None
            self.integ_state = "STOP"
            return None
        if cmd == "RES":
            if self.integ_state == "START":
                raise ScpiError(-221, "integration is running; :INTEG:STOP before :INTEG:RESet")
            self._integ_acc, self._integ_acc_ah, self._integ_acc_time = [0.0] * 3, [0.0] * 3, 0.0
            self.integ_state = "RESET"
            return None
        raise ScpiError(-113, f"INTEG:{cmd}")

    def _integ_running(self, now: EvseSnapshot) -> tuple[list[float], list[float], float]:
        """Accumulated Wh, Ah per element and seconds, including the run in progress up to `now`."""
        wh, ah, secs = list(self._integ_acc), list(self._integ_acc_ah), self._integ_acc_time
        start = self._integ_from
        if start is not None and now.t >= start.t:  # (a display held from before the start shows none of it)
            for k in range(len(now.phase_energy_wh)):
                wh[k] += now.phase_energy_wh[k] - start.phase_energy_wh[k]
                # Ah from the current held over the run: exact while the current is constant.
                ah[k] += now.phases[k].current_a * (now.t - start.t) / 3600.0
            secs += now.t - start.t
        return wh, ah, secs

    # ------------------------------------------------------------------ measurements
    def _held_reading(self) -> _Held:
        """The display: renewed once per update period, held in between, as the instrument does."""
        now = self.physics.clock.now()
        index = int(now // self.rate_s)
        if self._held is None or self._held.index != index:
            snap = self.physics.snapshot(self.evse)
            noisy = tuple(
                (
                    p.voltage_v * (1 + self._rng.gauss(0, self.noise)),
                    p.current_a * (1 + self._rng.gauss(0, self.noise)),
                )
                for p in snap.phases
            )
            self._held = _Held(index, snap, noisy)
        return self._held

    def _values(self) -> list[str]:
        self._timer()
        held = self._held_reading()
        integ = None if self.integ_state == "RESET" else self._integ_running(held.snap)
        out = []
        for fn, elem in self.items[: self.item_count]:
            out.append(nr3(self._value(fn, elem, held, integ)))
        out.extend("NAN" for _ in range(self.item_count - len(out)))
        return out

    def _value(
        self, fn: str, elem: str, held: _Held, integ: tuple[list[float], list[float], float] | None
    ) -> float | None:
        if fn == "NONE":
            return None
        if fn == "TIME":
            return None if integ is None else integ[2]
        if elem == "SIGMA" and self.wiring not in THREE_PHASE_WIRINGS:
            return None  # no wiring group, no SIGMA: the instrument shows no data
        elems = range(self.elements) if elem == "SIGMA" else [int(elem) - 1]
        pf = self.physics.power_factor
        if fn in ("WH", "WHP", "WHM", "AH", "AHP", "AHM"):
            if integ is None:
                return None
            if fn in ("WHM", "AHM"):
                return 0.0  # the twin's EVs never feed back
            table = integ[0] if fn.startswith("WH") else integ[1]
            return sum(table[k] for k in elems)
        u = [held.noisy[k][0] for k in elems]
        i = [held.noisy[k][1] for k in elems]
        s = [uk * ik for uk, ik in zip(u, i, strict=True)]
        p = [sk * pf for sk in s]
        if fn == "U":
            return sum(u) / len(u)
        if fn == "I":
            return sum(i) / len(i)
        if fn == "P":
            return sum(p)
        if fn == "S":
            return sum(s)
        if fn == "Q":
            return math.sqrt(max(0.0, sum(s) ** 2 - sum(p) ** 2))
        if fn in ("LAMBDA", "PHI"):
            if sum(s) <= 0:
                return None
            lam = sum(p) / sum(s)
            return lam if fn == "LAMBDA" else math.degrees(math.acos(min(1.0, lam)))
        if fn == "FU":
            return GRID_HZ if max(u) > 0 else None
        if fn == "FI":
            return GRID_HZ if max(i) > 0 else None
        raise ScpiError(-224, fn)
