"""OCPP 2.0.1 block C, authorization: what the charger does with the CSMS's verdict on an idToken.

- AuthCtrlr.AuthorizeRemoteStart true: a RequestStartTransaction's idToken is authorized with an
  AuthorizeRequest before it may start a transaction (F01.FR.01, TC_F_02_CS); not Accepted, no transaction.
- A TransactionEventResponse whose idTokenInfo.status is not Accepted (Blocked, Invalid, Expired, ...)
  deauthorizes the transaction: energy stops at once (MaxEnergyOnInvalidId is 0). With
  TxCtrlr.StopTxOnInvalidId true the transaction ends with triggerReason Deauthorized when TxStopPoint
  holds Authorized, else an Updated event says Deauthorized; with it false the transaction goes on
  suspended (chargingState SuspendedEVSE) (C12.FR.02/04, E05; TC_C_16_CS .. TC_C_19_CS).
The energy_to_blocked_token fault knob ignores the verdict and goes on charging.
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v201 import call

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import AuthState, EvseState

log = logging.getLogger("lab.twin.charger")


class Authorization(ChargerCore):
    def _answered(self, request: Any, reply: Any) -> None:
        """The CSMS answered `request` with `reply` (called by the outbox)."""
        if not isinstance(request, call.TransactionEvent):
            return
        status = ((getattr(reply, "id_token_info", None) or {}).get("status")) or "Accepted"
        if status != "Accepted":
            self._token_refused(request.transaction_info["transaction_id"], status)

    def _token_refused(self, transaction_id: str, status: str) -> None:
        e = next((x for x in self.evses.values() if x.tx is not None and x.tx.id == transaction_id), None)
        if e is None or not e.authorized or self.faults.energy_to_blocked_token:
            return
        log.info("%s: idToken of transaction %s is %s; stopping energy", self.station.id, transaction_id, status)
        e.authorized = False
        e.deauthorized = True
        self._drive(e, offering=False, snap_state="A", now=self.clock.now())  # energy stops now
        if self.device.bool("TxCtrlr", "StopTxOnInvalidId"):
            if "Authorized" in self.device.members("TxCtrlr", "TxStopPoint"):
                self._end_tx(e, "Deauthorized", "DeAuthorized")
            else:
                assert e.tx is not None
                e.tx.charging_state = "SuspendedEVSE"
                self._tx_event(e, "Updated", "Deauthorized")
        self._wake.set()

    def _authorize_remote_start(self, e: EvseState, auth: AuthState) -> None:
        """AuthorizeRemoteStart: ask the CSMS about the remote start's idToken before it counts."""
        assert self._loop is not None
        self._loop.create_task(self._authorize(e, auth))

    async def _authorize(self, e: EvseState, auth: AuthState) -> None:
        accepted = False
        link = self._link
        if link is not None:
            try:
                reply = await link.call(call.Authorize(id_token=auth.id_token), suppress=False)
                accepted = (reply.id_token_info or {}).get("status") == "Accepted"
                self.counters.sent["Authorize"] = self.counters.sent.get("Authorize", 0) + 1
            except Exception as err:  # no answer, a CALLERROR or a lost connection: not authorized
                log.info("%s: Authorize for a remote start failed: %s", self.station.id, err)
        if e.auth is auth:
            if accepted:
                auth.authorizing = False
            else:
                e.auth = None
        self._wake.set()
