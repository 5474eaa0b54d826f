"""The twin's EV emulator: a TCP server speaking the chargespec EV line protocol.

The protocol is docs/ev-emulator-protocol.md.

Bound to one EVSE of the physics model. The EV side sets the pilot state (B: connected, C: asks for
charge) and its load; the charger decides whether to energize. pyserial reaches it by URL:

    ser = serial.serial_for_url("socket://127.0.0.1:<port>", timeout=1)
    ser.write(b"1 CP:STATE C\\n")      # -> "1 OK"
    ser.write(b"2 PWM:DUTY?\\n")       # -> "2 OK 26.6"

The watchdog and the `! MEAS` events run on bench time: `SYST:WDOG 5000` is five bench seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from instruments.iec61851 import CABLE_RATINGS
from lab.twin.lineserver import LineServer
from lab.twin.physics import EV_STATES, Physics

MAKER = "chargespec"
MODEL = "TWIN-EV"
FIRMWARE = "1.0.0"
EVENT_PERIOD_S = 1.0  # bench seconds between `! MEAS` events
_ID = re.compile(r"\d{1,6}")
# Numbers as the protocol writes them: "." decimal separator, never an exponent (so no "1e3", "nan", "inf",
# "1_000", which Python's float() would take).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_WHOLE = re.compile(r"\d+")
# Queries take no argument; a real device refuses "PWM:DUTY? 3" rather than guess what was meant.
_QUERIES = ("*IDN?", "CP:STATE?", "BAY:OCC?", "LOAD:CURR?", "PWM:DUTY?", "PWM:FREQ?")


class ProtocolError(Exception):
    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(f"{code} {text}")


def _num(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ProtocolError(101, f"{text!r} is not a number")
    return float(text)


def _whole(text: str, what: str) -> int:
    """Whole milliseconds or ohms, as the protocol gives durations and PP resistors."""
    if not _WHOLE.fullmatch(text):
        raise ProtocolError(101, f"{what} {text!r}; a whole number")
    return int(text)


def _fmt(x: float) -> str:
    return f"{x:.1f}"


class EvServer(LineServer):
    """One EV emulator on one EVSE, on 127.0.0.1."""

    name = "twin EV emulator"
    echoes_id = True

    def __init__(self, physics: Physics, evse: int = 1, *, serial: str = "TWIN-EVE-0001") -> None:
        super().__init__()
        self.physics = physics
        self.evse = evse
        self.serial = serial
        self.events = False
        self.watchdog_s = 0.0
        self._last_request = physics.clock.now()
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return f"socket://{self.host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        port = await super().start(host, port)
        self._task = asyncio.get_running_loop().create_task(self._background())
        return port

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await super().stop()

    # ------------------------------------------------------------------ protocol
    def handle(self, line: str) -> list[str]:
        line = line.strip()
        if not line:
            return []
        self._last_request = self.physics.clock.now()
        rid, _, rest = line.partition(" ")
        if not _ID.fullmatch(rid):
            # No id we could echo: answer with id 0 so the host sees its mistake instead of a timeout.
            return [f"0 ERR 101 request must start with an id of 1 to 6 digits, got {rid!r}"]
        command, _, args = rest.strip().partition(" ")
        try:
            value = self._command(command.upper(), args.strip())
        except ProtocolError as e:
            return [f"{rid} ERR {e.code} {e.text}"]
        except ValueError as e:  # the model refused the value
            return [f"{rid} ERR 101 {e}"]
        return [f"{rid} OK" if value is None else f"{rid} OK {value}"]

    def _command(self, cmd: str, args: str) -> str | None:
        phys, n = self.physics, self.evse
        arg = args.upper()
        if cmd in _QUERIES and args:
            raise ProtocolError(101, f"{cmd} takes no argument, got {args!r}")
        if cmd == "*IDN?":
            return f"{MAKER},{MODEL},{self.serial},{FIRMWARE}"
        if cmd == "CP:STATE":
            if arg not in EV_STATES:
                raise ProtocolError(101, f"pilot state {args!r}; one of {', '.join(EV_STATES)}")
            phys.set_ev_state(n, arg)
            return None
        if cmd == "CP:STATE?":
            return phys.snapshot(n).pilot_state
        if cmd == "CP:DIODE":
            if arg not in ("OK", "SHORT"):
                raise ProtocolError(101, f"diode {args!r}; OK or SHORT")
            phys.set_diode(n, arg == "OK")
            return None
        if cmd == "PP:RES":
            if arg == "OPEN":
                phys.set_pp(n, None)
                return None
            ohms = _whole(args, "PP resistor")
            if not any(abs(ohms - r) <= 0.1 * r for r in CABLE_RATINGS):
                valid = ", ".join(f"{r:g}" for r in CABLE_RATINGS)
                raise ProtocolError(101, f"PP resistor {args!r}; one of {valid} ohm or OPEN")
            phys.set_pp(n, ohms)
            return None
        if cmd == "BAY:OCC":
            # The parking bay's occupancy sensor: the EV drives in (ON) or out (OFF).
            if arg not in ("ON", "OFF"):
                raise ProtocolError(101, f"BAY:OCC {args!r}; ON or OFF")
            phys.set_parked(n, arg == "ON")
            return None
        if cmd == "BAY:OCC?":
            return "ON" if phys.snapshot(n).bay_occupied else "OFF"
        if cmd == "LOAD:PHASES":
            if arg not in ("1", "3"):
                raise ProtocolError(101, f"phases {args!r}; 1 or 3")
            phys.set_ev_phases(n, int(arg))
            return None
        if cmd == "LOAD:CURR":
            phys.set_ev_request(n, _num(args))
            return None
        if cmd == "LOAD:CURR?":
            cur = list(phys.snapshot(n).currents) + [0.0] * 3
            return ",".join(_fmt(c) for c in cur[:3])
        if cmd == "LOAD:FOLLOW":
            return self._follow(arg)
        if cmd == "PWM:DUTY?":
            return _fmt(phys.snapshot(n).duty_percent)
        if cmd == "PWM:FREQ?":
            return _fmt(phys.snapshot(n).frequency_hz)
        if cmd == "SYST:WDOG":
            ms = _whole(args, "watchdog ms")
            self.watchdog_s = ms / 1000.0
            return None
        if cmd == "EVT":
            if arg not in ("ON", "OFF"):
                raise ProtocolError(101, f"EVT {args!r}; ON or OFF")
            self.events = arg == "ON"
            return None
        raise ProtocolError(100, f"unknown command {cmd!r}")

    def _follow(self, arg: str) -> None:
        if arg == "OFF":
            self.physics.set_follow(self.evse, False)
            return None
        mode, comma, lag = arg.partition(",")
        if mode != "ON" or not comma:
            raise ProtocolError(101, f"LOAD:FOLLOW {arg!r}; ON,<lag ms> or OFF")
        self.physics.set_follow(self.evse, True, _whole(lag, "follow lag ms") / 1000.0)
        return None

    def meas_event(self) -> str:
        s = self.physics.snapshot(self.evse)
        cur = list(s.currents) + [0.0] * 3
        return (
            f"! MEAS state={s.pilot_state} duty={_fmt(s.duty_percent)} freq={_fmt(s.frequency_hz)} "
            f"i={','.join(_fmt(c) for c in cur[:3])}"
        )

    # ------------------------------------------------------------------ background: events and watchdog
    async def _background(self) -> None:
        clock = self.physics.clock
        next_event = clock.now()
        tripped = False  # the watchdog dropped to B and will drop to A one period later
        while True:
            await clock.asleep(min(EVENT_PERIOD_S, self.watchdog_s or EVENT_PERIOD_S) / 4)
            now = clock.now()
            if self.events and now >= next_event:
                self.broadcast(self.meas_event())
                next_event = now + EVENT_PERIOD_S
            elif not self.events:
                next_event = now
            if self.watchdog_s > 0:
                silent = now - self._last_request
                state = self.physics.snapshot(self.evse).ev_state
                if silent >= 2 * self.watchdog_s and tripped and state == "B":
                    self.physics.set_ev_state(self.evse, "A")
                    tripped = False
                elif silent >= self.watchdog_s and not tripped and state != "A":
                    if state != "B":
                        self.physics.set_ev_state(self.evse, "B")
                    tripped = True
                elif silent < self.watchdog_s:
                    tripped = False
