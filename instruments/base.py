"""The abstract instrument protocols a bench is made of, and the values they return.

Drivers subclass :class:`PowerAnalyzer` or :class:`EvEmulator` and register by name in
:mod:`instruments.registry`. Values are in V, A, W, Wh, Hz, s; a quantity the instrument did not
deliver (``NAN``, overrange) is ``None``, never zero. Signal values use the project's canonical
units: A, V, W, Wh, s, Hz, and ratios as fractions (see :mod:`dsl.units`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from instruments.clock import Clock
from instruments.errors import InstrumentStateError

PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True)
class PhaseReading:
    voltage_v: float | None = None
    current_a: float | None = None
    power_w: float | None = None
    power_factor: float | None = None


@dataclass(frozen=True)
class AnalyzerReading:
    """One update of the analyzer. `t` is bench seconds on the bench clock when it was read."""

    t: float
    phases: Mapping[str, PhaseReading] = field(default_factory=dict)
    total_power_w: float | None = None
    energy_wh: float | None = None  # integrated active energy, sum of elements, since integration reset

    def signals(self) -> dict[str, float | None]:
        """Flatten to signal names, as the recorder stores them: ``analyzer.current.L1`` ..."""
        out: dict[str, float | None] = {
            "analyzer.power": self.total_power_w,
            "analyzer.energy": self.energy_wh,
        }
        for ph, r in self.phases.items():
            out[f"analyzer.voltage.{ph}"] = r.voltage_v
            out[f"analyzer.current.{ph}"] = r.current_a
            out[f"analyzer.power.{ph}"] = r.power_w
            out[f"analyzer.pf.{ph}"] = r.power_factor
        return out


@dataclass(frozen=True)
class PwmReading:
    """The pilot PWM as the EV emulator measured it. `t` is bench seconds on the bench clock when it was
    measured (as near as the protocol tells: a report's arrival, a query's answer), never when someone asked
    for it: a reading stamped later than it was measured would be judged as the pilot of a later instant."""

    duty_percent: float | None
    frequency_hz: float | None
    t: float


class Instrument(ABC):
    """Common lifecycle: built closed, `open()`, used, `close()`. Errors name the instrument."""

    kind: str = "instrument"

    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        self.name = name
        self.address = address
        self.clock = clock or Clock()
        self.options = options
        self.last_command: str | None = None
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def _require_open(self) -> None:
        if not self._open:
            raise InstrumentStateError(self.name, self.address, f"{self.kind} {self.name!r} is not open",
                                       last_command=self.last_command)

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def identify(self) -> str:
        """The instrument's own identification (``*IDN?``)."""

    def __enter__(self) -> Instrument:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PowerAnalyzer(Instrument):
    """A reference power analyzer: per-phase U/I/P/PF, totals, and an energy integrator."""

    kind = "analyzer"

    @abstractmethod
    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None:
        """Set the items to read (per element U, I, P, PF; totals; energy) and the update rate."""

    @property
    @abstractmethod
    def update_interval_s(self) -> float: ...

    @abstractmethod
    def read(self) -> AnalyzerReading:
        """One reading of every configured item, timestamped on the bench clock."""

    @abstractmethod
    def integration_reset(self) -> None: ...

    @abstractmethod
    def integration_start(self) -> None: ...

    @abstractmethod
    def integration_stop(self) -> None: ...

    @abstractmethod
    def read_energy_wh(self) -> float | None:
        """Integrated active energy since the last reset, all elements summed."""


class EvEmulator(Instrument):
    """An EV emulator on the charger's connector: pilot state, cable, load, pilot readback."""

    kind = "ev"

    @abstractmethod
    def set_state(self, state: str) -> None:
        """Pilot state A..F as IEC 61851-1 names them."""

    @abstractmethod
    def set_cable(self, ohms: float | None) -> None:
        """Proximity (PP) resistor; None is an open PP (no cable)."""

    @abstractmethod
    def set_current(self, amps: float, phases: int = 3) -> None:
        """Current the EV asks to draw, per phase."""

    @abstractmethod
    def follow_pilot(self, enabled: bool, lag_s: float = 5.0) -> None:
        """Draw min(requested, offered by the pilot) after `lag_s`, like a car."""

    @abstractmethod
    def read_pwm(self) -> PwmReading:
        """The pilot PWM as last measured, with the bench time it was measured (`PwmReading.t`): a report's
        arrival, a query's answer, the emulator's own time stamp mapped to the bench clock; never the time of
        this call, unless the emulator measures the moment it is asked."""

    def set_parked(self, parked: bool) -> None:
        """The EV drives into (True) or out of (False) the parking bay, as its occupancy sensor sees it.
        Optional: an emulator without a bay sensor line says so."""
        from instruments.errors import InstrumentUnsupported

        raise InstrumentUnsupported(self.name, self.address,
                                    f"this EV emulator ({type(self).__name__}) has no parking-bay sensor line; "
                                    "`ev parks` / `ev leaves the bay` need one")


class PowerSwitch(Instrument):
    """The charger's supply: a switch (contactor, switched PDU outlet) the bench opens and closes."""

    kind = "power"

    @abstractmethod
    def set_on(self, on: bool) -> None:
        """Close (True) or open (False) the charger's supply."""


class TokenReader(Instrument):
    """Something that presents an idToken at the charger's own reader: an RFID/NFC card emulator, a robot
    arm with a card, a keypad driver. One reader may serve every EVSE of a station (the EVSE is part of
    the request, as a driver choosing a socket at the charger's screen) or one EVSE (role ``reader<n>``)."""

    kind = "reader"

    @abstractmethod
    def present(self, id_token: str, token_type: str = "ISO14443", evse: int = 1) -> None:
        """Present `id_token` (an IdTokenEnumType `token_type`) for EVSE `evse`; returns once the charger's
        reader has taken it (what the charger does with it is for the harness to judge)."""


class UserInterface(Instrument):
    """Something that works the charger's own user interface (display, buttons, touch screen): a robot
    finger, a vendor's service port that injects UI events, or an operator told what to press. Role ``ui``.
    The choice is the words a spec writes (``"stop all transactions"``); the driver maps them to its screen."""

    kind = "ui"

    @abstractmethod
    def select(self, choice: str) -> None:
        """Select `choice` on the charger's user interface; returns once it is selected (what the charger
        does then is for the harness to judge)."""
