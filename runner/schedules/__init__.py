"""The harness's own composite schedule (OCPP 2.0.1 K08), computed from the profiles it sent.

    held = install((), profile_from_ocpp(1, sent["chargingProfile"]))
    expected = composite_schedule(held, evse_id=1, start=x, duration_s=3600, rate_unit="A",
                                  transaction=Transaction("tx-1", energy_from=plugged_and_authorized))
    verdict = compare(expected, composite_from_ocpp(response["schedule"]))

model: the typed data; parse: OCPP JSON in; installed: what the charger holds; frames: the same,
replayed from a scenario's record; composite: the rules; compare: a reported composite against the
expected one; exchange: every GetCompositeSchedule of a record judged that way.
"""

from runner.schedules.compare import Comparison, Mismatch, compare, in_unit
from runner.schedules.composite import composite_schedule, period_at
from runner.schedules.exchange import CompositeCheck, check_composites
from runner.schedules.frames import Held, held_from_frames
from runner.schedules.installed import bind, clear, end_transaction, install
from runner.schedules.model import (
    ChargingProfile,
    CompositePeriod,
    CompositeSchedule,
    Kind,
    Limit,
    Period,
    Purpose,
    Recurrency,
    Schedule,
    Supply,
    Transaction,
)
from runner.schedules.parse import ProfileError, composite_from_ocpp, parse_time, profile_from_ocpp

__all__ = [
    "ChargingProfile",
    "Comparison",
    "CompositeCheck",
    "CompositePeriod",
    "CompositeSchedule",
    "Held",
    "Kind",
    "Limit",
    "Mismatch",
    "Period",
    "ProfileError",
    "Purpose",
    "Recurrency",
    "Schedule",
    "Supply",
    "Transaction",
    "bind",
    "check_composites",
    "clear",
    "compare",
    "composite_from_ocpp",
    "composite_schedule",
    "end_transaction",
    "held_from_frames",
    "in_unit",
    "install",
    "parse_time",
    "period_at",
    "profile_from_ocpp",
]
