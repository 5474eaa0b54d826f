"""Transactions as the charger reported them, built from TransactionEvent frames one at a time.

The harness keeps one book per station across scenarios (a transaction may outlive the scenario that
started it); `TransactionState` snapshots are frozen, safe to hand to the test thread. Each state is a
summary of constant size (counts and the last seqNo, not every event: the seqNo rule in expect.py judges
the frames); the book keeps the last MAX_TRANSACTIONS, forgetting finished ones first.

    book = TransactionBook()
    book.apply(frame)                 # any recorded frame; only charger TransactionEvent CALLs count
    book.active(evse_id=1)            # "TX-1" or None
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from runner.csms.framing import charger_call
from runner.recorder import Frame


@dataclass(frozen=True)
class TransactionState:
    transaction_id: str
    evse_id: int | None          # from the first event that named an EVSE (normally Started)
    started_t: float | None      # bench time the Started event arrived
    ended_t: float | None        # bench time the Ended event arrived
    events: int = 0                      # TransactionEvents with an integer seqNo received so far
    last_seq_no: int | None = None       # in arrival order
    last_event_type: str | None = None
    id_token: str | None = None
    last_t: float = 0.0
    offline_events: int = 0
    stopped_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_t is None


def transaction_event(frame: Frame) -> dict[str, Any] | None:
    """The payload of a charger TransactionEvent request, else None."""
    if charger_call(frame) and frame.action == "TransactionEvent":
        return frame.payload
    return None


MAX_TRANSACTIONS = 1000


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
        old = self._tx.get(tid)
        if old is None:
            if len(self._tx) >= MAX_TRANSACTIONS:
                self._forget_one()
            old = TransactionState(tid, None, None, None)
        counted = isinstance(seq, int) and not isinstance(seq, bool)
        new = replace(
            old,
            evse_id=old.evse_id if old.evse_id is not None else evse_id,
            started_t=frame.t if event_type == "Started" and old.started_t is None else old.started_t,
            ended_t=frame.t if event_type == "Ended" else old.ended_t,
            events=old.events + counted,
            last_seq_no=seq if counted else old.last_seq_no,
            last_event_type=event_type if counted else old.last_event_type,
            id_token=old.id_token or token_id,
            last_t=frame.t,
            offline_events=old.offline_events + (1 if p.get("offline") is True else 0),
            stopped_reason=info.get("stoppedReason", old.stopped_reason),
        )
        self._tx[tid] = new
        return new

    def _forget_one(self) -> None:
        """Drop the transaction finished longest ago, else (a charger that never ends any) the stalest."""
        gone = min(self._tx.values(), key=lambda s: (s.active, s.last_t))
        del self._tx[gone.transaction_id]

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
