"""What every SCPI power-analyzer driver shares: options, the VISA link, numeric items, readings.

A driver says which items it reads (function and element, and what each one means) and how to ask for
them; this base opens the link, checks at open that ``*IDN?`` names a model of the driver's family (and
learns its element count, to refuse more phases than elements), timestamps each reading on the bench
clock, turns ``NAN`` and overrange into ``None``, checks that the instrument answered exactly as many
values as were configured, and drives the energy integrator by the state rules of
:mod:`instruments.integrator`. Every setting a driver sends goes through :meth:`ScpiAnalyzer._send`, which
reads the instrument's error queue after it: a refused command is :class:`InstrumentCommandRejected`
naming the command and the instrument's own text, never a silently ignored setting.

    class MyAnalyzer(ScpiAnalyzer):
        values_query = ":NUM:VAL?"
        error_query = ":STAT:ERR?"
        model_pattern = r"WT3(10|32|33)"; family = "a Yokogawa WT300 (WT310, WT332, WT333)"
        integrator = IntegratorCommands(start=":INTEG:STAR", stop=":INTEG:STOP", reset=":INTEG:RES",
                                        state_query=":INTEG:STAT?")
        def configure(self, *, phases=3, update_interval_s=0.5): ...   # sends commands, sets self._items
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from instruments.base import PHASES, AnalyzerReading, PhaseReading, PowerAnalyzer
from instruments.clock import Clock
from instruments.errors import (
    InstrumentConfigError,
    InstrumentProtocolError,
    InstrumentStateError,
    InstrumentUnsupported,
)
from instruments.integrator import ADVICE, AFTER, ALLOWED_FROM, Action, IntegratorCommands, parse_state
from instruments.numeric import NotANumber, parse_values
from instruments.options import DriverOptions
from instruments.visa_link import VisaLink

Quantity = Literal["voltage", "current", "power", "pf", "total_power", "energy"]


@dataclass(frozen=True)
class Item:
    """One numeric item the analyzer reports: `function` and `element` in the instrument's own words."""

    function: str
    element: str
    quantity: Quantity
    phase: str | None = None  # L1..L3 for per-element quantities; None for totals


def reading_from(t: float, items: Sequence[Item], values: Sequence[float | None]) -> AnalyzerReading:
    """Assemble an AnalyzerReading. With no total-power item (a 1-phase wiring reads element 1 only), the
    total is the sum of the phase powers, and missing if any of them is; likewise the energy is the sum of
    per-element energy items when there is no total energy item."""
    per_phase: dict[str, dict[str, float | None]] = {}
    totals: dict[str, float | None] = {}
    for item, value in zip(items, values, strict=True):
        if item.phase is None:
            totals[item.quantity] = value
        else:
            per_phase.setdefault(item.phase, {})[item.quantity] = value
    phases = {
        ph: PhaseReading(voltage_v=q.get("voltage"), current_a=q.get("current"), power_w=q.get("power"),
                         power_factor=q.get("pf"))
        for ph, q in sorted(per_phase.items())
    }
    if "total_power" in totals:
        total = totals["total_power"]
    else:
        powers = [p.power_w for p in phases.values()]
        total = sum(powers) if powers and None not in powers else None  # type: ignore[arg-type]
    if "energy" in totals:
        energy = totals["energy"]
    else:
        parts = [q["energy"] for q in per_phase.values() if "energy" in q]
        energy = sum(parts) if parts and None not in parts else None  # type: ignore[arg-type]
    return AnalyzerReading(t=t, phases=phases, total_power_w=total, energy_wh=energy)


def check_phases(owner: PowerAnalyzer, phases: int, allowed: Sequence[int] = (1, 3)) -> None:
    if phases not in allowed:
        raise InstrumentConfigError(owner.name, owner.address,
                                    f"cannot measure {phases!r} phases; this driver wires "
                                    f"{' or '.join(map(str, allowed))} element(s)",
                                    last_command=owner.last_command)


def phase_names(phases: int) -> tuple[str, ...]:
    return PHASES[:phases]


def nearest_not_slower(requested_s: float, allowed_s: Sequence[float]) -> float:
    """The slowest allowed interval that is still at least as fast as asked (the fastest if none is)."""
    if not requested_s > 0:
        raise ValueError(f"update interval must be positive, got {requested_s!r}")
    fitting = [a for a in allowed_s if a <= requested_s + 1e-9]
    return max(fitting) if fitting else min(allowed_s)


class ScpiAnalyzer(PowerAnalyzer):
    """Base for analyzers reached over VISA with ASCII numeric answers."""

    #: Driver-specific options and their defaults; the common ones are in DriverOptions.
    extra_options: ClassVar[Mapping[str, Any]] = {"visa_library": "@py"}
    read_termination: ClassVar[str] = "\n"
    write_termination: ClassVar[str] = "\n"
    #: The query that returns every configured item, comma separated, in configuration order.
    values_query: ClassVar[str] = ""
    #: What separates the values in that answer (Yokogawa: ","; ZES and Hioki multi-queries: ";").
    value_separator: ClassVar[str] = ","
    #: The integrator's commands; None for an analyzer without one.
    integrator: ClassVar[IntegratorCommands | None] = None
    #: Pops one entry of the instrument's error queue; None: the IEEE 488.2 ``*ESR?`` error bits.
    error_query: ClassVar[str | None] = None
    #: The ``*IDN?`` model field of the instruments this driver speaks to (a regular expression matched
    #: at its start, ignoring case); None accepts any model.
    model_pattern: ClassVar[str | None] = None
    #: The instruments the driver is for, as messages name them.
    family: ClassVar[str] = "this driver's instruments"

    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(name, address, clock, **options)
        self.opts = DriverOptions.parse(name, address, options, extra=self.extra_options)
        self.link = VisaLink(self, visa_library=str(self.opts.extra["visa_library"]),
                             timeout_s=self.opts.timeout_s, reconnect_attempts=self.opts.reconnect_attempts,
                             read_termination=self.read_termination, write_termination=self.write_termination,
                             error_query=self.error_query)
        self.idn: str | None = None  # the *IDN? answer read at open
        self.errors_at_open: tuple[tuple[int, str], ...] = ()  # the error queue as the instrument had it
        self.model: str | None = None  # its model field
        self.elements: int | None = None  # input elements the model has; None if its name does not say
        self._items: tuple[Item, ...] | None = None
        self._interval_s = float(options.get("update_interval_s", 0.5))
        self._tracked_state: str | None = None  # integrator state, for analyzers that cannot report it

    # -- lifecycle -----------------------------------------------------------------------------------------

    def open(self) -> None:
        """Open the link and check that the instrument is one of this driver's family."""
        self.link.open()
        self._open = True
        try:
            self._check_identity(self.identify())
            self.errors_at_open = self.link.drain_errors()
        except BaseException:
            self.close()
            raise

    def _check_identity(self, idn: str) -> None:
        fields = [f.strip() for f in idn.split(",")]
        model = fields[1] if len(fields) >= 2 else ""
        if self.model_pattern is not None and not re.match(self.model_pattern, model, re.IGNORECASE):
            driver = getattr(self, "driver_name", type(self).__name__)
            raise InstrumentConfigError(
                self.name, self.address,
                f"driver {driver} is for {self.family}, but the instrument identifies as {idn!r} (model "
                f"{model or '?'!r}); give this role the driver for that model", last_command=self.last_command)
        self.idn, self.model, self.elements = idn, model, self.elements_for(model)

    def elements_for(self, model: str) -> int | None:
        """How many input elements (channels) `model` has, when its name says; None if unknown."""
        return None

    def _check_phases(self, phases: int, allowed: Sequence[int] = (1, 3)) -> None:
        """Refuse a phase count the driver cannot wire, or more phases than the instrument has elements."""
        check_phases(self, phases, allowed)
        if self.elements is not None and phases > self.elements:
            raise InstrumentConfigError(
                self.name, self.address,
                f"a {phases}-phase station needs {phases} input elements, but this {self.model} has "
                f"{self.elements} ({self.idn}); use an analyzer with {phases} elements or a "
                f"{self.elements}-phase station", last_command=self.last_command)

    def _send(self, command: str) -> None:
        """Send a setting and read the error queue: a refusal raises, naming the command."""
        self.link.write_checked(command)

    def _quiesce_integrator(self) -> None:
        """Stop and reset the integrator if it is not reset: instruments refuse to change the update rate
        or the wiring while integrating (the energy is reset at each measurement start anyway)."""
        cmds = self.integrator
        if cmds is None or cmds.state_query is None:
            return
        state = self.integration_state()
        if state in ALLOWED_FROM["stop"]:
            self._send(cmds.stop)
            state = "STOP"
        if state != "RESET":
            self._send(cmds.reset)
        self._tracked_state = "RESET"

    def close(self) -> None:
        self._open = False
        self._items = None
        self.link.close()

    def identify(self) -> str:
        self._require_open()
        return self.link.query("*IDN?").strip()

    @property
    def update_interval_s(self) -> float:
        return self._interval_s

    @property
    def items(self) -> tuple[Item, ...]:
        """The items configured on the instrument, in the order it reports them."""
        return self._items or ()

    @contextmanager
    def _reconfiguring(self, items: tuple[Item, ...], interval_s: float) -> Iterator[None]:
        """Hold the link while `configure` sends its commands; `items` and `interval_s` take effect only
        once every command went through (until then the item list on the instrument is unknown)."""
        with self.link.lock:
            self._items = None
            yield
            self._items = items
            self._interval_s = interval_s

    def _require_configured(self) -> tuple[Item, ...]:
        self._require_open()
        if self._items is None:
            raise InstrumentStateError(self.name, self.address,
                                       f"{self.kind} {self.name!r} is open but not configured: call "
                                       "configure(phases=..., update_interval_s=...) before reading",
                                       last_command=self.last_command)
        return self._items

    # -- reading -------------------------------------------------------------------------------------------

    def _query_values(self, query: str, expected: int) -> list[float | None]:
        answer = self.link.query(query)
        try:
            values = parse_values(self._strip_answer(answer), self.value_separator)
        except NotANumber as e:
            self.link.distrust(query)
            raise InstrumentProtocolError(self.name, self.address,
                                          f"unreadable numeric answer {_clip(answer)}: {e}",
                                          last_command=self.last_command) from None
        if len(values) != expected:
            self.link.distrust(query)  # half an answer, or another query's: the stream may be out of step
            raise InstrumentProtocolError(self.name, self.address,
                                          f"expected {expected} values, got {len(values)}: {_clip(answer)}; "
                                          "was the instrument reconfigured from its front panel?",
                                          last_command=self.last_command)
        return values

    def _strip_answer(self, answer: str) -> str:
        """Hook for analyzers that decorate their answers (headers, units)."""
        return answer

    def read(self) -> AnalyzerReading:
        items = self._require_configured()
        with self.link.lock:
            # The values belong to the analyzer's last completed update, i.e. before the query went out.
            t = self.clock.now()
            values = self._query_values(self.values_query, len(items))
        return reading_from(t, items, values)

    def read_energy_wh(self) -> float | None:
        return self.read().energy_wh

    # -- integrator ----------------------------------------------------------------------------------------

    def _integrator(self) -> IntegratorCommands:
        self._require_open()
        if self.integrator is None:
            raise InstrumentUnsupported(self.name, self.address,
                                        f"{self.kind} {self.name!r} has no energy integrator configured",
                                        last_command=self.last_command)
        return self.integrator

    def integration_state(self) -> str | None:
        """RESET, READY, START, STOP, ERROR or TIMEUP; None if the analyzer cannot say and the driver has
        not driven the integrator yet."""
        cmds = self._integrator()
        if cmds.state_query is None:
            return self._tracked_state
        answer = self.link.query(cmds.state_query).strip()
        state = parse_state(answer, cmds.words)
        if state is None:
            self.link.distrust(cmds.state_query)
            raise InstrumentProtocolError(self.name, self.address, f"unknown integrator state {answer!r}",
                                          last_command=self.last_command)
        return state

    def _integrate(self, action: Action) -> None:
        cmds = self._integrator()
        allowed = ALLOWED_FROM[action]
        with self.link.lock:  # the state must not change between the check and the command
            state = self.integration_state()
            if state is None and action != "reset":
                raise InstrumentStateError(
                    self.name, self.address,
                    f"cannot {action} the integrator of {self.kind} {self.name!r}: its state is unknown "
                    "(this analyzer cannot report it); reset it first", last_command=self.last_command)
            if state is not None and state not in allowed:
                raise InstrumentStateError(
                    self.name, self.address,
                    f"cannot {action} the integrator of {self.kind} {self.name!r}: it is in state {state}; "
                    f"{action} is allowed from {' or '.join(allowed)}{ADVICE[action]}",
                    last_command=self.last_command)
            self._send(cmds.command(action))
            self._tracked_state = AFTER[action]

    def integration_reset(self) -> None:
        self._integrate("reset")

    def integration_start(self) -> None:
        self._integrate("start")

    def integration_stop(self) -> None:
        self._integrate("stop")


def _clip(text: str, n: int = 80) -> str:
    text = text.strip()
    return repr(text if len(text) <= n else text[:n] + "...")
