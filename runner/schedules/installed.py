"""Which profiles a charger holds, as the harness tracks them from what it sent and what was accepted.

The composite is computed over these. Rules (OCPP 2.0.1 Part 2, block K): a profile with the id of
an installed one replaces it (K01.FR.05); ClearChargingProfile removes by id, or by every criterion
given (evseId, purpose, stackLevel; K10); a TxProfile lives as long as its transaction.
"""

from __future__ import annotations

from dataclasses import replace

from runner.schedules.model import ChargingProfile, Purpose


def install(held: tuple[ChargingProfile, ...], new: ChargingProfile) -> tuple[ChargingProfile, ...]:
    """`held` after the charger accepted `new` (same id: replaced, K01.FR.05)."""
    return (*(p for p in held if p.id != new.id), new)


def bind(profile: ChargingProfile, transaction_id: str) -> ChargingProfile:
    """A TxProfile sent inside RequestStartTransaction, bound to the transaction it started."""
    return replace(profile, transaction_id=transaction_id)


def clear(
    held: tuple[ChargingProfile, ...],
    *,
    profile_id: int | None = None,
    evse_id: int | None = None,
    purpose: Purpose | None = None,
    stack_level: int | None = None,
) -> tuple[ChargingProfile, ...]:
    """`held` after an accepted ClearChargingProfileRequest; no criterion clears every profile except
    the external constraints, which the CSMS does not own (only the station installs them)."""

    def hit(p: ChargingProfile) -> bool:
        if p.purpose is Purpose.EXTERNAL:
            return False
        if profile_id is not None:
            return p.id == profile_id
        return (
            (evse_id is None or p.evse_id == evse_id)
            and (purpose is None or p.purpose is purpose)
            and (stack_level is None or p.stack_level == stack_level)
        )

    return tuple(p for p in held if not hit(p))


def end_transaction(held: tuple[ChargingProfile, ...], transaction_id: str) -> tuple[ChargingProfile, ...]:
    """`held` once the transaction ended: its TxProfiles are gone."""
    return tuple(p for p in held if not (p.purpose is Purpose.TX and p.transaction_id == transaction_id))
