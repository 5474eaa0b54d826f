"""OCPP 2.0.1 block F, remote control: RequestStart/StopTransaction (F01-F04), UnlockConnector (F05) and
TriggerMessage (F06)."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v201 import call
from ocpp.v201 import call_result as res

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import (
    AuthState,
)
from lab.twin.smart_charging import TX, ProfileRejected, parse_profile

log = logging.getLogger("lab.twin.charger")


class RemoteControl(ChargerCore):
    def on_request_start(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None,
        charging_profile: dict[str, Any] | None,
    ) -> res.RequestStartTransaction:
        if not self.online:  # boot not yet accepted (Pending): no transactions (B02, TC_B_02_CS step 12)
            return res.RequestStartTransaction(status="Rejected", status_info={"reason_code": "CSNotAccepted"})
        if evse_id is None:
            free = [
                e for e in self.evses.values() if e.operative and e.auth is None and (e.tx is None or not e.authorized)
            ]
            evse_id = free[0].id if free else None
            unbound = True  # the EVSE is known only once the EV connects (E01.FR.17)
        else:
            unbound = False
        e = self.evses.get(evse_id) if evse_id is not None else None
        if e is not None and not e.operative:
            return res.RequestStartTransaction(status="Rejected", status_info={"reason_code": "Unavailable"})
        if e is None or e.auth is not None or (e.tx is not None and e.authorized):
            # Part 2 Appendix 5's codes where one fits (TxInProgress, UnknownEvse); a pending authorization has none
            code = "UnknownEvse" if e is None else "TxInProgress" if e.tx is not None else "Unspecified"
            pending = f"an authorization is pending at EVSE {evse_id}"
            info = {"additional_info": pending} if code == "Unspecified" else {}
            return res.RequestStartTransaction(status="Rejected", status_info={"reason_code": code, **info})
        if charging_profile is not None:
            if charging_profile.get("charging_profile_purpose") != TX or charging_profile.get("transaction_id"):
                return res.RequestStartTransaction(status="Rejected", status_info={"reason_code": "InvalidProfile"})
            try:
                self._within_capacity(parse_profile(e.id, charging_profile))
            except ProfileRejected as err:
                return res.RequestStartTransaction(
                    status="Rejected",
                    status_info={"reason_code": "InvalidProfile", "additional_info": err.detail[:512]},
                )
        timeout = self.device.int("TxCtrlr", "EVConnectionTimeOut")
        # AuthorizeRemoteStart (F01.FR.01): the idToken counts only once an AuthorizeRequest accepted it.
        authorize = self.device.bool("AuthCtrlr", "AuthorizeRemoteStart") and self.device.bool("AuthCtrlr", "Enabled")
        e.auth = AuthState(
            id_token,
            remote_start_id,
            self.clock.now() + timeout,
            charging_profile,
            ev_was_plugged=self.physics.snapshot(e.id).plugged,
            authorizing=authorize,
            unbound=unbound,
        )
        if authorize:
            self._authorize_remote_start(e, e.auth)
        self._wake.set()
        return res.RequestStartTransaction(status="Accepted", transaction_id=e.tx.id if e.tx else None)

    def on_request_stop(self, transaction_id: str) -> res.RequestStopTransaction:
        """The transaction ends now when a stop point follows the authorization (Authorized, or the power
        path / energy transfer that stop with it) or no EV is there; else (TxStopPoint EVConnected alone)
        it is deauthorized now and ends, stoppedReason Remote, when the EV leaves (E06.FR.02, TC_E_14_CS)."""
        for e in self.evses.values():
            tx = e.tx
            if tx is not None and tx.id == transaction_id:
                stops = set(self.device.members("TxCtrlr", "TxStopPoint"))
                plugged = self.physics.snapshot(e.id).plugged
                if stops & {"Authorized", "PowerPathClosed", "EnergyTransfer"} or not plugged:
                    self._end_tx(e, "RemoteStop", "Remote")
                elif tx.stop_reason is None:
                    tx.stop_reason = "Remote"
                    e.authorized = False
                    self._drive(e, offering=False, snap_state="A", now=self.clock.now())
                    # The RemoteStop event reports the state the transaction had; the change to EVConnected is a
                    # ChargingStateChanged of its own on the next pass (Part 6 EVConnectedPostSession step 1;
                    # errata 2023-12 E07 figure: two events).
                    self._tx_event(e, "Updated", "RemoteStop")
                    self._wake.set()
                return res.RequestStopTransaction(status="Accepted")
        return res.RequestStopTransaction(status="Rejected")

    def on_get_transaction_status(self, transaction_id: str | None) -> res.GetTransactionStatus:
        """E14: is the transaction still going, and are messages of it (of any, without an id) queued?"""
        def queued(item: Any) -> bool:
            info = getattr(item.payload, "transaction_info", None) or {}
            return item.transactional and (transaction_id is None or info.get("transaction_id") == transaction_id)

        in_queue = any(queued(o) for o in self._outbox)
        if transaction_id is None:
            return res.GetTransactionStatus(messages_in_queue=in_queue)
        ongoing = any(e.tx is not None and e.tx.id == transaction_id for e in self.evses.values())
        return res.GetTransactionStatus(messages_in_queue=in_queue, ongoing_indicator=ongoing)

    def on_unlock_connector(self, evse_id: int, connector_id: int) -> res.UnlockConnector:
        """Unlocked, unless an authorized transaction runs there (F05); an unknown connector is said so."""
        e = self.evses.get(evse_id)
        if e is None or connector_id != 1:
            return res.UnlockConnector(
                status="UnknownConnector",
                status_info={
                    "reason_code": "UnknownConnectorId",
                    "additional_info": f"EVSE {evse_id} connector {connector_id} does not exist; this station "
                    f"has EVSEs 1..{len(self.evses)} with connector 1 each",
                },
            )
        if e.tx is not None and e.authorized:
            return res.UnlockConnector(status="OngoingAuthorizedTransaction")
        self.counters.unlocks += 1
        return res.UnlockConnector(status="Unlocked")

    def on_trigger_message(self, requested: str, evse: dict[str, Any] | None) -> res.TriggerMessage:
        """F06: the response first, then the requested message (the outbox sends it after the reply). An
        EVSE is looked at only by the messages it concerns (F06.FR.03: ignored by the others); without one,
        those are sent for every EVSE (F06.FR.11). Messages the twin cannot send are NotImplemented
        (F06.FR.08)."""
        per_evse = requested in ("MeterValues", "TransactionEvent", "StatusNotification")
        evse_id = evse.get("id") if evse and per_evse else None
        connector_id = evse.get("connector_id") if evse and per_evse else None
        if evse_id is not None and (evse_id not in self.evses or connector_id not in (None, 1)):
            return res.TriggerMessage(
                status="Rejected",
                status_info={
                    "reason_code": "UnknownEvse",
                    "additional_info": f"EVSE {evse_id} connector {connector_id} does not exist; this station "
                    f"has EVSEs 1..{len(self.evses)} with connector 1 each",
                },
            )
        evse_ids = [evse_id] if evse_id else list(self.evses)
        if requested == "Heartbeat":
            self._send(call.Heartbeat())
        elif requested == "StatusNotification":
            for n in evse_ids:
                status = self.evses[n].status or "Available"
                self._send(
                    call.StatusNotification(timestamp=self._ts(), connector_status=status, evse_id=n, connector_id=1)
                )
        elif requested == "MeterValues":
            # F06.FR.06: the AlignedDataCtrlr measurands (the register when none is configured: a MeterValues
            # holds at least one sampled value).
            measurands = self.device.members("AlignedDataCtrlr", "Measurands") or ["Energy.Active.Import.Register"]
            for n in evse_ids:
                self._send(call.MeterValues(evse_id=n, meter_value=[self._meter_value(n, "Trigger", measurands)]))
        elif requested == "TransactionEvent":
            # F06.FR.07: an Updated event, triggerReason Trigger, of each transaction; it names its EVSE so
            # that the events of a trigger for every EVSE can be told apart (TC_F_14_CS).
            for n in evse_ids:
                e = self.evses[n]
                if e.tx is not None:
                    measurands = self.device.members("SampledDataCtrlr", "TxUpdatedMeasurands") or [
                        "Energy.Active.Import.Register"
                    ]
                    meter = self._meter_value(n, "Trigger", measurands)
                    self._tx_event(e, "Updated", "Trigger", evse=True, meter=meter)
        elif requested == "FirmwareStatusNotification":
            self._trigger_firmware_status()
        elif requested == "LogStatusNotification":
            self._trigger_log_status()
        elif requested == "BootNotification":
            if self.online:
                return res.TriggerMessage(status="Rejected")  # already accepted (F06.FR.17)
            self._boot_reason = "Triggered"  # the next BootNotification goes now (Pending: B02)
            self._boot_now.set()
        else:
            return res.TriggerMessage(status="NotImplemented")
        return res.TriggerMessage(status="Accepted")
