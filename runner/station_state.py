"""What the runner knows of a charger's state, derived from the frames it sends.

Fed by the recorder's frame listener, it survives from one scenario to the next (the recorder's in-memory
record does not), so that `charger booted` in a later scenario knows the boot already happened.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from runner.recorder import CALL, Frame


@dataclass
class TransactionInfo:
    transaction_id: str
    evse_id: int | None
    started_t: float
    ended_t: float | None = None
    stopped_reason: str | None = None
    seq_nos: list[int] = field(default_factory=list)


@dataclass
class StationState:
    station: str
    booted_t: float | None = None
    status: dict[int, str] = field(default_factory=dict)  # evse id -> connectorStatus
    transactions: dict[str, TransactionInfo] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_frame(self, frame: Frame) -> None:
        if frame.station != self.station or frame.direction != "rx" or frame.message_type != CALL:
            return
        p = frame.payload if isinstance(frame.payload, dict) else {}
        with self._lock:
            if frame.action == "BootNotification":
                self.booted_t = frame.t
                self.status.clear()
            elif frame.action == "StatusNotification":
                evse = p.get("evseId")
                if isinstance(evse, int) and isinstance(p.get("connectorStatus"), str):
                    self.status[evse] = p["connectorStatus"]
            elif frame.action == "TransactionEvent":
                info = p.get("transactionInfo") or {}
                tx_id = info.get("transactionId")
                if not isinstance(tx_id, str):
                    return
                tx = self.transactions.get(tx_id)
                if tx is None:
                    evse = (p.get("evse") or {}).get("id")
                    tx = self.transactions[tx_id] = TransactionInfo(tx_id, evse if isinstance(evse, int) else None,
                                                                    frame.t)
                if isinstance(p.get("seqNo"), int):
                    tx.seq_nos.append(p["seqNo"])
                if p.get("eventType") == "Ended":
                    tx.ended_t = frame.t
                    tx.stopped_reason = info.get("stoppedReason")

    def active_transaction(self, evse_id: int | None = None) -> TransactionInfo | None:
        with self._lock:
            active = [t for t in self.transactions.values()
                      if t.ended_t is None and (evse_id is None or t.evse_id in (None, evse_id))]
            return active[-1] if active else None

    def status_of(self, evse_id: int) -> str | None:
        with self._lock:
            return self.status.get(evse_id)
