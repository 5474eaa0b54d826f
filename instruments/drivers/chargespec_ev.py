"""The chargespec EV emulator line protocol (docs/ev-emulator-protocol.md), driver name ``chargespec-ev``.

    ev = create("chargespec-ev", name="ev", address="socket://127.0.0.1:7001")   # or "/dev/ttyUSB0"
    ev.open()
    ev.set_cable(220); ev.set_state("B"); ev.set_current(16, phases=3); ev.follow_pilot(True, lag_s=5)
    ev.read_pwm()        # PwmReading(duty_percent=26.7, frequency_hz=1000.0, t=...)

Each request carries an id; the reply with that id is the answer, replies with other ids are late
answers to earlier requests and are skipped, ``!`` events are kept (the last ``! MEAS`` is
:attr:`ChargespecEv.last_meas`). ``ERR`` replies raise :class:`InstrumentRejected` with the code and text.
Options: ``timeout_s``, ``reconnect_attempts``, ``baudrate`` (115200). Durations are bench seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from instruments.base import PHASES, PwmReading
from instruments.clock import Clock
from instruments.errors import InstrumentProtocolError
from instruments.id_framed import IdFraming
from instruments.numeric import NotANumber, parse_value
from instruments.registry import register
from instruments.serial_ev import SerialEvEmulator

_SETTABLE_STATES = ("A", "B", "C", "D", "E")


@dataclass(frozen=True)
class MeasEvent:
    """An unsolicited ``! MEAS`` event; `t` is bench seconds when the driver read it."""

    t: float
    state: str | None
    duty_percent: float | None
    frequency_hz: float | None
    currents_a: tuple[float | None, ...]
    raw: str


def _finite(value: object) -> bool:
    """A real number the line can carry: not a bool, NaN or infinity (no exponent, no "inf" on the wire)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number(value: float) -> str:
    """Fixed-point text without an exponent or trailing zeros: 16.0 -> "16", 0.25 -> "0.25"."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_meas(t: float, line: str) -> MeasEvent:
    """``! MEAS state=C duty=26.7 freq=1000.0 i=16.0,16.0,16.0``; an unreadable field is None."""
    fields = dict(part.split("=", 1) for part in line.split()[2:] if "=" in part)

    def num(text: str | None) -> float | None:
        try:
            return parse_value(text) if text is not None else None
        except NotANumber:
            return None

    currents = tuple(num(x) for x in fields["i"].split(",")) if "i" in fields else ()
    state = fields.get("state")
    return MeasEvent(t=t, state=state.upper() if state else None, duty_percent=num(fields.get("duty")),
                     frequency_hz=num(fields.get("freq")), currents_a=currents, raw=line)


@register("chargespec-ev")
class ChargespecEv(SerialEvEmulator):
    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(name, address, clock, **options)
        self.framing = IdFraming(self.link, self, on_event=self._event)
        self._last_meas: MeasEvent | None = None
        self.last_event: str | None = None  # the last "!" line of any kind, as received

    @property
    def last_meas(self) -> MeasEvent | None:
        return self._last_meas

    # -- the protocol --------------------------------------------------------------------------------------

    def request(self, command: str) -> str | None:
        """Send one command, return the value of its ``OK`` reply (None when the reply has no value)."""
        self._require_open()
        return self.framing.request(command)

    def poll(self) -> MeasEvent | None:
        """Take in events that arrived while no request was pending; returns the last ``! MEAS``."""
        self._require_open()
        self.framing.drain()
        return self._last_meas

    def _event(self, text: str) -> None:
        self.last_event = text
        parts = text.split()
        if len(parts) >= 2 and parts[1].upper() == "MEAS":
            self._last_meas = parse_meas(self.clock.now(), text)

    def _number(self, command: str) -> float | None:
        value = self.request(command)
        try:
            return parse_value(value or "")
        except NotANumber:
            raise InstrumentProtocolError(self.name, self.address, f"expected a number, got {value!r}",
                                          last_command=self.last_command) from None

    # -- EvEmulator ----------------------------------------------------------------------------------------

    def identify(self) -> str:
        return (self.request("*IDN?") or "").strip()

    def set_state(self, state: str) -> None:
        s = state.strip().upper()
        if s not in _SETTABLE_STATES:
            raise ValueError(f"EV {self.name!r}: pilot state {state!r} cannot be set from the EV side; use "
                             f"one of {', '.join(_SETTABLE_STATES)} (F is the charger's fault state; a "
                             "shorted diode is set_diode(False))")
        self.request(f"CP:STATE {s}")

    def read_state(self) -> str:
        """The pilot state the emulator sees, A..F."""
        value = (self.request("CP:STATE?") or "").strip().upper()
        if value not in ("A", "B", "C", "D", "E", "F"):
            raise InstrumentProtocolError(self.name, self.address, f"unknown pilot state {value!r}",
                                          last_command=self.last_command)
        return value

    def set_diode(self, ok: bool) -> None:
        self.request(f"CP:DIODE {'OK' if ok else 'SHORT'}")

    def set_cable(self, ohms: float | None) -> None:
        # The protocol takes whole ohms: a fraction would be rounded by one emulator and refused by another.
        if ohms is not None and not (_finite(ohms) and ohms > 0 and float(ohms).is_integer()):
            raise ValueError(f"EV {self.name!r}: PP resistor must be a positive whole number of ohms or None "
                             f"(no cable), got {ohms!r}")
        self.request("PP:RES OPEN" if ohms is None else f"PP:RES {int(ohms)}")

    def set_parked(self, parked: bool) -> None:
        self.request("BAY:OCC ON" if parked else "BAY:OCC OFF")

    def set_current(self, amps: float, phases: int = 3) -> None:
        if phases not in (1, 3):
            raise ValueError(f"EV {self.name!r}: an EV draws on 1 or 3 phases, not {phases!r}")
        if not (_finite(amps) and amps >= 0):
            raise ValueError(f"EV {self.name!r}: requested current must be a finite number >= 0 A, got {amps!r}")
        with self.link.lock:  # both settings land together, with no sampler request in between
            self.request(f"LOAD:PHASES {phases}")
            self.request(f"LOAD:CURR {number(amps)}")

    def read_current(self) -> dict[str, float | None]:
        """Current actually drawn per phase, A (L1, L2, L3)."""
        value = self.request("LOAD:CURR?") or ""
        try:
            amps = [parse_value(x) for x in value.split(",")]
        except NotANumber:
            amps = []
        if len(amps) != len(PHASES):
            raise InstrumentProtocolError(self.name, self.address,
                                          f"expected three currents 'L1,L2,L3', got {value!r}",
                                          last_command=self.last_command)
        return dict(zip(PHASES, amps, strict=True))

    def follow_pilot(self, enabled: bool, lag_s: float = 5.0) -> None:
        if not (_finite(lag_s) and lag_s >= 0):
            raise ValueError(f"EV {self.name!r}: follow-the-pilot lag must be a finite number >= 0 s, "
                             f"got {lag_s!r}")
        self.request(f"LOAD:FOLLOW ON,{round(lag_s * 1000)}" if enabled else "LOAD:FOLLOW OFF")

    def read_pwm(self) -> PwmReading:
        """`PWM:DUTY?` then `PWM:FREQ?`. The protocol carries no time of measurement; the answer is the duty
        as the emulator measures it when it answers (docs/ev-emulator-protocol.md), so the reading's `t` is when
        that answer came: after any wait for the line and a slow answer, never when the reading was asked for."""
        with self.link.lock:
            duty = self._number("PWM:DUTY?")
            t = self.clock.now()
            if duty is not None and not 0.0 <= duty <= 100.0:
                # No pilot has such a duty: recorded, it would become an offered current the charger never gave.
                raise InstrumentProtocolError(self.name, self.address, f"pilot duty {duty:g} % is outside 0..100 %",
                                              last_command=self.last_command)
            freq = self._number("PWM:FREQ?")
            if freq is not None and freq < 0.0:
                raise InstrumentProtocolError(self.name, self.address, f"pilot frequency {freq:g} Hz is negative",
                                              last_command=self.last_command)
        return PwmReading(duty_percent=duty, frequency_hz=freq, t=t)

    def set_watchdog(self, seconds: float) -> None:
        """With no request for `seconds` (bench time) the emulator drops to B, then A; 0 disables it."""
        if not (_finite(seconds) and seconds >= 0):
            raise ValueError(f"EV {self.name!r}: watchdog must be a finite number >= 0 s, got {seconds!r}")
        self.request(f"SYST:WDOG {round(seconds * 1000)}")

    def set_events(self, enabled: bool) -> None:
        """Unsolicited ``! MEAS`` events once a second (read them with :meth:`poll`)."""
        self.request(f"EVT {'ON' if enabled else 'OFF'}")

