"""Transactions as the charger reported them, built from TransactionEvent frames one at a time.

The harness keeps one book per station across scenarios (a transaction may outlive the scenario that
started it); `TransactionState` snapshots are frozen, safe to hand to the test thread.

    book = TransactionBook()
    book.apply(frame)                 # any recorded frame; only charger TransactionEvent CALLs count
    book.active(evse_id=1)            # "TX-1" or None
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from runner.recorder import CALL, Frame


@dataclass(frozen=True)
class TransactionState:
    transaction_id: str
    evse_id: int | None          # from the first event that named an EVSE (normally Started)
    started_t: float | None      # bench time the Started event arrived
    ended_t: float | None        # bench time the Ended event arrived
    seq_nos: tuple[int, ...]     # in arrival order
    event_types: tuple[str, ...]  # in arrival order, parallel to seq_nos
    id_token: str | None = None
    last_t: float = 0.0
    offline_events: int = 0
    stopped_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_t is None


def transaction_event(frame: Frame) -> dict[str, Any] | None:
    """The payload of a charger TransactionEvent request, else None."""
    if (frame.direction == "rx" and frame.message_type == CALL and frame.action == "TransactionEvent"
            and isinstance(frame.payload, dict)):
        return frame.payload
    return None


class TransactionBook:
    def __init__(self) -> None:
        self._tx: dict[str, TransactionState] = {}

    def apply(self, frame: Frame) -> TransactionState | None:
        p = transaction_event(frame)
        info = p.get("transactionInfo") if p else None
        if p is None or not isinstance(info, dict) or not isinstance(info.get("transactionId"), str):
            return None
        tid = info["transactionId"]
        event_type = str(p.get("eventType", ""))
        seq = p.get("seqNo")
        evse = p.get("evse")
        evse_id = evse.get("id") if isinstance(evse, dict) and isinstance(evse.get("id"), int) else None
        token = p.get("idToken")
        token_id = token.get("idToken") if isinstance(token, dict) else None
        old = self._tx.get(tid) or TransactionState(tid, None, None, None, (), ())
        new = replace(
            old,
            evse_id=old.evse_id if old.evse_id is not None else evse_id,
            started_t=frame.t if event_type == "Started" and old.started_t is None else old.started_t,
            ended_t=frame.t if event_type == "Ended" else old.ended_t,
            seq_nos=old.seq_nos + ((seq,) if isinstance(seq, int) else ()),
            event_types=old.event_types + ((event_type,) if isinstance(seq, int) else ()),
            id_token=old.id_token or token_id,
            last_t=frame.t,
            offline_events=old.offline_events + (1 if p.get("offline") is True else 0),
            stopped_reason=info.get("stoppedReason", old.stopped_reason),
        )
        self._tx[tid] = new
        return new

    def snapshot(self) -> dict[str, TransactionState]:
        return dict(self._tx)

    def active(self, evse_id: int | None = 1) -> str | None:
        """The most recently started transaction on `evse_id` (None: any EVSE) that has not ended."""
        open_tx = [s for s in self._tx.values()
                   if s.active and (evse_id is None or s.evse_id == evse_id)]
        if not open_tx:
            return None
        newest = max(open_tx, key=lambda s: s.started_t if s.started_t is not None else s.last_t)
        return newest.transaction_id
