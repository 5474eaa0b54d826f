"""The twin's physics: one model that couples the charger, the EV emulators and the analyzer.

Per EVSE the EV side sets the pilot state (A..E), the PP cable, the current it asks for and its phases;
the charger side closes the contactor and offers a current, which becomes a PWM duty (IEC 61851-1). An EV
in follow mode draws min(requested, current read from the duty) ``lag_s`` bench seconds after a change,
as a car does; a contactor opening or the EV leaving state C cuts the current at once. A pilot fault (IEC
61851-1 state E, the pilot shorted to PE, or F, the charger's -12 V on a missing diode) is caught by the
charger's own pilot circuit: while it lasts the charger puts no PWM on the pilot (it offers no current) and
keeps its contactor open, whatever its firmware asked; the firmware's offer applies again once the pilot
is out of the fault. Power is
U x I x PF per phase; true energy is integrated exactly, piecewise, on bench time (``clock.now()``), never
on wall time. The charger's meter register is the true energy x ``meter_gain`` plus its start value and
any phantom offsets, so the analyzer (true energy) and the charger can disagree as a faulty meter would.

    phys = Physics(station, clock, ev_lag_s=3.0)
    phys.set_ev_state(1, "C"); phys.set_ev_request(1, 16.0)
    phys.set_offered(1, 10.0); phys.set_energized(1, True)
    phys.snapshot(1).phases[0].current_a     # 10.0 once the lag has passed

Thread-safe: every read and write takes one lock, so the servers, the charger and tests may all use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from instruments.clock import Clock
from instruments.iec61851 import PWM_FREQUENCY_HZ, cable_rating_a, current_for_duty, duty_for_current
from lab.bench import StationConfig
from lab.twin.faults import Faults

EV_STATES = ("A", "B", "C", "D", "E")
DRAWING_STATES = ("C", "D")  # states in which an EV asks for energy
PHASE_NAMES = ("L1", "L2", "L3")
# Small fixed per-phase deviations from nominal, so the three phases are not identical numbers.
DEFAULT_VOLTAGE_OFFSETS = (0.004, -0.003, 0.001)


@dataclass(frozen=True)
class PhaseState:
    name: str
    voltage_v: float
    current_a: float
    power_w: float
    power_factor: float


@dataclass(frozen=True)
class EvseSnapshot:
    """Everything observable about one EVSE at bench second `t` (true values, no noise)."""

    evse: int
    t: float
    ev_state: str  # what the EV side sets: A..E
    pilot_state: str  # what the pilot line shows: A..F (F: charger error, e.g. shorted diode)
    diode_ok: bool
    pp_ohms: float | None
    parked: bool
    cable_max_a: float | None
    requested_a: float
    ev_phases: int
    follow: bool
    lag_s: float
    energized: bool  # the charger's contactor is closed (never during a pilot fault)
    offered_a: float | None  # what the charger offers on the pilot; None: no PWM (none set, or a pilot fault)
    pilot_fault: bool  # the charger's pilot circuit sees state E or F: an error, not a connector in use
    duty_percent: float  # as the EV reads it: 100.0 for a steady +12/+9 V pilot, 0.0 at 0 V (E) or -12 V (F)
    frequency_hz: float
    pilot_current_a: float | None  # the current the duty allows, as an EV reads it
    phases: tuple[PhaseState, ...]  # on the EV side of the contactor: 0 V while it is open
    grid_voltages: tuple[float, ...]  # on the grid side, what the charger's meter sees
    power_w: float
    energy_wh: float  # true energy since the model started
    phase_energy_wh: tuple[float, ...]  # the same, per phase
    meter_wh: float  # the charger's register

    @property
    def plugged(self) -> bool:
        """An EV is on the connector (the pilot is out of state A)."""
        return self.ev_state != "A"

    @property
    def cable_in_socket(self) -> bool:
        """A cable sits in the charger's socket (PP closed), with or without an EV at its other end."""
        return self.pp_ohms is not None

    @property
    def bay_occupied(self) -> bool:
        """What the bay occupancy sensor sees: an EV parked there, or one plugged in (it must be there)."""
        return self.parked or self.plugged

    @property
    def currents(self) -> tuple[float, ...]:
        return tuple(p.current_a for p in self.phases)


@dataclass
class _Evse:
    evse: int
    lag_s: float
    meter_start_wh: float
    ev_state: str = "A"
    diode_ok: bool = True
    pp_ohms: float | None = None
    parked: bool = False  # an EV stands in the parking bay (the bay occupancy sensor)
    requested_a: float = 0.0
    ev_phases: int = 3
    follow: bool = True
    energized: bool = False
    offered_a: float | None = None
    drawn_a: float = 0.0
    pending: list[tuple[float, float]] = field(default_factory=list)  # (bench t, amps) the EV will reach
    t_last: float = 0.0
    phase_energy_wh: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    meter_bias_wh: float = 0.0


class Physics:
    """The coupled model of one station: its EVSEs, their EVs, the grid and the charger's meter."""

    def __init__(
        self,
        station: StationConfig,
        clock: Clock,
        *,
        ev_lag_s: float = 3.0,
        noise: float = 0.0005,
        faults: Faults | None = None,
        meter_start_wh: float = 1000.0,
        power_factor: float = 0.99,
        voltage_offsets: tuple[float, ...] = DEFAULT_VOLTAGE_OFFSETS,
    ) -> None:
        self.station = station
        self.clock = clock
        self.noise = noise
        self.faults = faults or Faults()
        self.power_factor = power_factor
        self.phases = station.phases
        self.voltages = tuple(
            station.nominal_voltage_v * (1.0 + voltage_offsets[k % len(voltage_offsets)]) for k in range(3)
        )
        self._lock = threading.RLock()
        t0 = clock.now()
        self._evses = {
            n: _Evse(evse=n, lag_s=ev_lag_s, meter_start_wh=meter_start_wh, t_last=t0)
            for n in range(1, station.evses + 1)
        }
        self._listeners: list[Callable[[int], None]] = []

    # ------------------------------------------------------------------ plumbing
    @property
    def evse_ids(self) -> tuple[int, ...]:
        return tuple(self._evses)

    def subscribe(self, listener: Callable[[int], None]) -> None:
        """Call `listener(evse)` after every change of an EVSE (from whatever thread made it)."""
        self._listeners.append(listener)

    def _evse(self, evse: int) -> _Evse:
        try:
            return self._evses[evse]
        except KeyError:
            raise ValueError(f"station {self.station.id!r} has no EVSE {evse}; it has {list(self._evses)}") from None

    def _notify(self, evse: int) -> None:
        for listener in list(self._listeners):
            listener(evse)

    @staticmethod
    def _settings(e: _Evse) -> tuple[object, ...]:
        """What a listener may act on (everything but the energy integrated)."""
        return (e.ev_state, e.diode_ok, e.pp_ohms, e.parked, e.requested_a, e.ev_phases, e.follow, e.lag_s,
                e.energized, e.offered_a, e.drawn_a, tuple(e.pending))

    def _mutate(self, evse: int, change: Callable[[_Evse], None]) -> None:
        with self._lock:
            e = self._evse(evse)
            before = self._settings(e)
            now = self.clock.now()
            self._advance(e, now)
            change(e)
            self._retarget(e, now)
            changed = self._settings(e) != before
        # Only a change is news: a firmware that sets again what it set (its offer, held off the pilot during a
        # pilot fault) must not wake itself into a loop.
        if changed:
            self._notify(evse)

    # ------------------------------------------------------------------ EV side
    def set_ev_state(self, evse: int, state: str) -> None:
        state = state.upper()
        if state not in EV_STATES:
            raise ValueError(f"pilot state {state!r}: the EV side sets one of {', '.join(EV_STATES)}")
        self._mutate(evse, lambda e: setattr(e, "ev_state", state))

    def set_diode(self, evse: int, ok: bool) -> None:
        self._mutate(evse, lambda e: setattr(e, "diode_ok", ok))

    def set_pp(self, evse: int, ohms: float | None) -> None:
        self._mutate(evse, lambda e: setattr(e, "pp_ohms", ohms))

    def set_parked(self, evse: int, parked: bool) -> None:
        """An EV drives into (True) or out of (False) the EVSE's parking bay."""
        self._mutate(evse, lambda e: setattr(e, "parked", parked))

    def set_ev_phases(self, evse: int, phases: int) -> None:
        if phases not in (1, 3):
            raise ValueError(f"an EV draws on 1 or 3 phases, not {phases}")
        self._mutate(evse, lambda e: setattr(e, "ev_phases", phases))

    def set_ev_request(self, evse: int, amps: float) -> None:
        if not 0.0 <= amps <= 80.0:
            raise ValueError(f"requested current {amps} A is outside 0..80 A")
        self._mutate(evse, lambda e: setattr(e, "requested_a", float(amps)))

    def set_follow(self, evse: int, enabled: bool, lag_s: float | None = None) -> None:
        if lag_s is not None and lag_s < 0:
            raise ValueError(f"follow lag must be 0 or more seconds, not {lag_s}")

        def change(e: _Evse) -> None:
            e.follow = enabled
            if lag_s is not None:
                e.lag_s = lag_s

        self._mutate(evse, change)

    # ------------------------------------------------------------------ charger side
    def set_energized(self, evse: int, on: bool) -> None:
        self._mutate(evse, lambda e: setattr(e, "energized", on))

    def set_offered(self, evse: int, amps: float | None) -> None:
        """The current the charger offers on the pilot; None (or < 6 A) switches the PWM off."""
        self._mutate(evse, lambda e: setattr(e, "offered_a", amps))

    def add_meter_offset(self, evse: int, wh: float) -> None:
        """Phantom energy on the charger's register (the meter_offset_wh fault)."""
        with self._lock:
            self._evse(evse).meter_bias_wh += wh

    # ------------------------------------------------------------------ readings
    def snapshot(self, evse: int) -> EvseSnapshot:
        with self._lock:
            e = self._evse(evse)
            now = self.clock.now()
            self._advance(e, now)
            duty = self._duty(e)
            pilot = self._pilot_state(e)
            # IEC 61851-1: in E the pilot is shorted to PE (0 V), in F the charger holds it at -12 V. Either
            # way the line is steady and never high: no PWM an EV could read, no current offered.
            low = self._pilot_fault(e)
            phases = self._phase_states(e)
            power = sum(p.power_w for p in phases)
            return EvseSnapshot(
                evse=evse,
                t=now,
                ev_state=e.ev_state,
                pilot_state=pilot,
                diode_ok=e.diode_ok,
                pp_ohms=e.pp_ohms,
                parked=e.parked,
                cable_max_a=cable_rating_a(e.pp_ohms),
                requested_a=e.requested_a,
                ev_phases=e.ev_phases,
                follow=e.follow,
                lag_s=e.lag_s,
                energized=self._energized(e),
                offered_a=None if low else e.offered_a,
                pilot_fault=low,
                duty_percent=0.0 if low else 100.0 if duty is None else duty,
                frequency_hz=0.0 if low or duty is None else PWM_FREQUENCY_HZ,
                pilot_current_a=None if low else current_for_duty(duty),
                phases=phases,
                grid_voltages=self.voltages[: self.phases],
                power_w=power,
                energy_wh=sum(e.phase_energy_wh),
                phase_energy_wh=tuple(e.phase_energy_wh[: self.phases]),
                meter_wh=self._meter(e),
            )

    def energy_wh(self, evse: int) -> float:
        """True energy delivered on `evse` since the model started, Wh, at this bench instant."""
        with self._lock:
            e = self._evse(evse)
            self._advance(e, self.clock.now())
            return sum(e.phase_energy_wh)

    def meter_wh(self, evse: int) -> float:
        """The charger meter's register, Wh."""
        with self._lock:
            e = self._evse(evse)
            self._advance(e, self.clock.now())
            return self._meter(e)

    # ------------------------------------------------------------------ the model
    def _meter(self, e: _Evse) -> float:
        return e.meter_start_wh + sum(e.phase_energy_wh) * self.faults.meter_gain + e.meter_bias_wh

    def _pilot_state(self, e: _Evse) -> str:
        if not e.diode_ok and e.ev_state != "A":
            return "F"  # the charger sees the missing diode and signals an error
        return e.ev_state

    @staticmethod
    def _pilot_fault(e: _Evse) -> bool:
        """The charger's pilot circuit sees an error: the pilot at 0 V (E, shorted to PE) or a missing diode
        (it answers with -12 V, F). IEC 61851-1 energizes only in C and D and a shorted pilot carries no PWM:
        the charger stops its PWM and opens its contactor until the fault is gone."""
        return e.ev_state == "E" or (not e.diode_ok and e.ev_state != "A")

    @classmethod
    def _energized(cls, e: _Evse) -> bool:
        """The contactor as it is: closed only if the firmware closed it and the pilot has no fault."""
        return e.energized and not cls._pilot_fault(e)

    @classmethod
    def _duty(cls, e: _Evse) -> float | None:
        if e.offered_a is None or e.ev_state == "A" or cls._pilot_fault(e):
            return None
        offered = e.offered_a
        cable = cable_rating_a(e.pp_ohms)
        if cable is not None:
            offered = min(offered, cable)
        return duty_for_current(offered)

    def _phase_currents(self, e: _Evse) -> tuple[float, ...]:
        used = min(e.ev_phases, self.phases)
        return tuple(e.drawn_a if k < used else 0.0 for k in range(self.phases))

    def _phase_states(self, e: _Evse) -> tuple[PhaseState, ...]:
        out = []
        for k, amps in enumerate(self._phase_currents(e)):
            volts = self.voltages[k] if self._energized(e) else 0.0
            out.append(PhaseState(PHASE_NAMES[k], volts, amps, volts * amps * self.power_factor, self.power_factor))
        return tuple(out)

    def _integrate(self, e: _Evse, t: float) -> None:
        dt = t - e.t_last
        if dt > 0:
            for k, amps in enumerate(self._phase_currents(e)):
                if amps:
                    e.phase_energy_wh[k] += self.voltages[k] * amps * self.power_factor * dt / 3600.0
            e.t_last = t

    def _advance(self, e: _Evse, t: float) -> None:
        """Integrate up to `t`, applying each scheduled current step at its own instant."""
        while e.pending and e.pending[0][0] <= t:
            t_step, amps = e.pending.pop(0)
            self._integrate(e, t_step)
            e.drawn_a = amps
        self._integrate(e, t)

    def _retarget(self, e: _Evse, t: float) -> None:
        flowing = self._energized(e) and e.ev_state in DRAWING_STATES
        if not flowing:
            # A contactor opening (or an EV leaving C) cuts the current at once, not after the lag.
            e.drawn_a = 0.0
            e.pending.clear()
            return
        offered = current_for_duty(self._duty(e)) or 0.0
        target = min(e.requested_a, offered) if e.follow else e.requested_a
        if not e.follow or e.lag_s == 0:
            e.drawn_a = target
            e.pending.clear()
            return
        last = e.pending[-1][1] if e.pending else e.drawn_a
        if target != last:
            e.pending.append((t + e.lag_s, target))
            e.pending.sort(key=lambda step: step[0])
