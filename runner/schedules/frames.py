"""What the charger holds, rebuilt from the recorded OCPP exchange of a scenario.

The composite the harness expects is computed over the profiles the charger accepted, so they are read
back from the frames, not from what a step meant to send: a SetChargingProfile counts once its answer
is Accepted; an accepted ClearChargingProfile removes (K10); a TxProfile sent inside an accepted
RequestStartTransaction binds to the transaction whose TransactionEvent carries its remoteStartId; a
transaction's TxProfiles end with it. A Relative schedule counts from the charger's own timestamp of
the first TransactionEvent that reports power offered (chargingState Charging or SuspendedEV: the
EVSE is ready to deliver energy), else from the transaction's first event.

Only this record is known: profiles a charger had before the scenario (a physical charger configured
by someone else) are not. Specs that compare composites start from a cleared charger (the bench's
return to idle clears what a scenario set).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from runner.schedules.installed import bind, clear, end_transaction, install
from runner.schedules.model import ChargingProfile, Purpose, Transaction
from runner.schedules.parse import ProfileError, parse_time, profile_from_ocpp

CALL, RESULT = 2, 3
_POWER_OFFERED = ("Charging", "SuspendedEV")


class FrameLike(Protocol):
    """The fields of runner.recorder.Frame this module reads."""

    @property
    def t(self) -> float: ...
    @property
    def wall(self) -> str: ...  # ISO UTC time the frame crossed the harness
    @property
    def direction(self) -> str: ...  # "tx": the harness sent it; "rx": the charger did
    @property
    def message_type(self) -> int | None: ...
    @property
    def unique_id(self) -> str | None: ...
    @property
    def action(self) -> str | None: ...
    @property
    def payload(self) -> Any: ...


@dataclass(frozen=True)
class Held:
    """The charger's profiles and its transactions by EVSE, as the record shows them."""

    profiles: tuple[ChargingProfile, ...]
    transactions: Mapping[int, Transaction] = field(default_factory=dict)


@dataclass
class _Tx:
    evse: int | None
    first_seen: Any
    energy_from: Any = None


def held_from_frames(frames: Iterable[FrameLike]) -> Held:
    """Replay `frames` (oldest first, one station) into the profiles and transactions the charger holds."""
    profiles: tuple[ChargingProfile, ...] = ()
    asked: dict[str, FrameLike] = {}
    remote: dict[int, tuple[int, ChargingProfile]] = {}  # remoteStartId -> (evseId, unbound TxProfile)
    txs: dict[str, _Tx] = {}
    ended: set[str] = set()
    for f in frames:
        body = f.payload if isinstance(f.payload, Mapping) else {}
        if f.direction == "tx" and f.message_type == CALL and f.unique_id is not None:
            asked[f.unique_id] = f
        elif f.direction == "rx" and f.message_type == RESULT and f.unique_id in asked:
            call = asked.pop(f.unique_id)  # type: ignore[arg-type]
            profiles = _answered(profiles, remote, call, body, txs)
        elif f.direction == "rx" and f.message_type == CALL and f.action == "TransactionEvent":
            profiles = _transaction_event(profiles, remote, txs, ended, body)
    active = {
        tx.evse: Transaction(tx_id, tx.energy_from or tx.first_seen)
        for tx_id, tx in txs.items()
        if tx.evse is not None and tx.first_seen is not None
    }
    return Held(profiles, active)


def _answered(
    profiles: tuple[ChargingProfile, ...],
    remote: dict[int, tuple[int, ChargingProfile]],
    call: FrameLike,
    answer: Mapping[str, Any],
    txs: Mapping[str, _Tx],
) -> tuple[ChargingProfile, ...]:
    if answer.get("status") != "Accepted":
        return profiles
    request = call.payload if isinstance(call.payload, Mapping) else {}
    if call.action == "SetChargingProfile":
        try:
            new = profile_from_ocpp(int(request.get("evseId", 0)), request.get("chargingProfile") or {})
        except (ProfileError, KeyError, TypeError, ValueError) as e:
            raise ProfileError(
                f"the charger accepted a SetChargingProfile it must refuse (sent at t={call.t:.1f} s): {e}"
            ) from None
        return install(profiles, new)
    if call.action == "ClearChargingProfile":
        criteria = request.get("chargingProfileCriteria") or {}
        purpose = criteria.get("chargingProfilePurpose")
        return clear(
            profiles,
            profile_id=request.get("chargingProfileId"),
            evse_id=criteria.get("evseId"),
            purpose=None if purpose is None else Purpose(purpose),
            stack_level=criteria.get("stackLevel"),
        )
    if call.action == "RequestStartTransaction" and request.get("chargingProfile"):
        evse = int(request.get("evseId") or 1)  # placeholder when absent: set to the transaction's EVSE later
        profile = profile_from_ocpp(evse, request["chargingProfile"])
        running = answer.get("transactionId")
        if running in txs:  # a transaction was already running: the profile is for it
            return install(profiles, bind(profile, str(running)))
        remote[int(request["remoteStartId"])] = (evse, profile)
    return profiles


def _transaction_event(
    profiles: tuple[ChargingProfile, ...],
    remote: dict[int, tuple[int, ChargingProfile]],
    txs: dict[str, _Tx],
    ended: set[str],
    event: Mapping[str, Any],
) -> tuple[ChargingProfile, ...]:
    info = event.get("transactionInfo") or {}
    tx_id = info.get("transactionId")
    if tx_id is None or tx_id in ended:  # a late (offline) event of a finished transaction changes nothing
        return profiles
    when = parse_time(event.get("timestamp"))
    tx = txs.get(tx_id)
    if tx is None:
        evse = (event.get("evse") or {}).get("id")
        tx = txs[tx_id] = _Tx(None if evse is None else int(evse), when)
    if info.get("chargingState") in _POWER_OFFERED and tx.energy_from is None:
        tx.energy_from = when
    start_id = info.get("remoteStartId")
    if start_id in remote:
        evse, profile = remote.pop(start_id)
        tx.evse = tx.evse if tx.evse is not None else evse
        # Without evseId in the request the charger chose the EVSE: the profile is on the transaction's.
        profiles = install(profiles, replace(bind(profile, str(tx_id)), evse_id=tx.evse))
    if event.get("eventType") == "Ended":
        del txs[tx_id]
        ended.add(str(tx_id))
        profiles = end_transaction(profiles, str(tx_id))
    return profiles
