"""The charging-profile vocabulary of OCPP 2.0.1 block K as frozen, typed data.

Units are in the names: seconds (`_s`), volts (`_v`); a limit is in its schedule's `rate_unit`
("A": current per phase, "W": total active power). Times are timezone-aware UTC datetimes: the
harness turns bench time ("starting in 2 min") into wall time before it builds a profile, and the
composite is computed on wall time, the clock the charger schedules by.

Nothing here decides anything; :mod:`runner.schedules.composite` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

RateUnit = Literal["A", "W"]

# ChargingSchedulePeriodType.numberPhases: "numberPhases=3 will be assumed unless another number is
# given" (Part 2, data types). A period without it therefore means three phases.
DEFAULT_PHASES = 3


class Purpose(StrEnum):
    """ChargingProfilePurposeEnumType."""

    STATION_MAX = "ChargingStationMaxProfile"
    EXTERNAL = "ChargingStationExternalConstraints"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class Kind(StrEnum):
    """ChargingProfileKindEnumType."""

    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(StrEnum):
    """RecurrencyKindEnumType, with the length of one cycle."""

    DAILY = "Daily"
    WEEKLY = "Weekly"

    @property
    def cycle_s(self) -> int:
        return 86_400 if self is Recurrency.DAILY else 7 * 86_400


@dataclass(frozen=True)
class Period:
    """ChargingSchedulePeriodType: from `start_s` after the schedule's start, at most `limit`."""

    start_s: int
    limit: float
    number_phases: int | None = None  # None: three phases (DEFAULT_PHASES)


@dataclass(frozen=True)
class Schedule:
    """ChargingScheduleType (the first and, on AC, only schedule of a profile)."""

    rate_unit: RateUnit
    periods: tuple[Period, ...]
    start: datetime | None = None  # startSchedule: Absolute and Recurring only
    duration_s: int | None = None  # None: the last period lasts (until validTo, or the next recurrence)


@dataclass(frozen=True)
class ChargingProfile:
    """ChargingProfileType as installed on `evse_id` (0: the whole station)."""

    id: int
    evse_id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedule: Schedule
    recurrency: Recurrency | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None

    def label(self) -> str:
        """How a message names the profile: 'TxDefaultProfile #12 (stackLevel 1, evse 0)'."""
        return f"{self.purpose.value} #{self.id} (stackLevel {self.stack_level}, evse {self.evse_id})"


@dataclass(frozen=True)
class Supply:
    """The station's connection: nominal phase voltage and phases wired, to turn A into W and back."""

    voltage_v: float = 230.0
    phases: int = 3


@dataclass(frozen=True)
class Transaction:
    """The transaction on the EVSE: TxProfiles bind to its id; Relative schedules start at `energy_from`.

    `energy_from` is the moment the EVSE became ready to deliver energy (driver authorized and EV
    connected; Edition 2 errata 2023-12 on ChargingProfileKindEnumType Relative).
    """

    id: str
    energy_from: datetime


@dataclass(frozen=True)
class Limit:
    """A limit outside the profiles (the EVSE's own rating, a local limit), with the phases it assumes."""

    value: float
    rate_unit: RateUnit
    number_phases: int | None = None


@dataclass(frozen=True)
class CompositePeriod:
    """One step of a composite: from `start_s` after the composite's start, `limit` on `number_phases`.

    `limit` None: no profile and no local limit constrains this span (the charger reports its own
    maximum there, which the harness does not know). `bound_by` names what set the limit.
    """

    start_s: float
    limit: float | None
    number_phases: int
    bound_by: str = ""


@dataclass(frozen=True)
class CompositeSchedule:
    """CompositeScheduleType: the steps over [start, start + duration_s)."""

    evse_id: int
    start: datetime
    duration_s: float
    rate_unit: RateUnit
    periods: tuple[CompositePeriod, ...]

    def at(self, offset_s: float) -> CompositePeriod | None:
        """The step in force `offset_s` after the start (None before the start or after the end)."""
        if not 0 <= offset_s < self.duration_s:
            return None
        current = None
        for p in self.periods:
            if p.start_s <= offset_s:
                current = p
        return current
