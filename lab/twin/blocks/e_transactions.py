"""OCPP 2.0.1 block E, transactions: the per-EVSE state machine, TxStartPoint / TxStopPoint, and the
TransactionEvent Started / Updated / Ended messages (seqNo, trigger reasons, charging state)."""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from typing import Any

from ocpp.v201 import call

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import (
    START_POINTS_AUTH,
    START_POINTS_EARLY,
    START_POINTS_PLUG,
    EvseState,
    TxState,
)
from lab.twin.physics import DRAWING_STATES
from lab.twin.smart_charging import ProfileRejected, parse_profile

log = logging.getLogger("lab.twin.charger")


class Transactions(ChargerCore):
    def _step(self, e: EvseState, now: float) -> float:
        """Advance one EVSE's state machine; the bench time something is next due."""
        snap = self.physics.snapshot(e.id)
        plugged = snap.plugged
        due = math.inf
        self._report_status(e, snap)
        # Authorization waiting for an EV, and the transaction start point.
        if e.auth is not None and e.tx is None and now >= e.auth.expires_t and not plugged:
            e.auth = None
        if e.auth is not None and e.tx is None and e.auth.at_occupied and not plugged and not snap.cable_in_socket:
            # Authorized at a connector an EV or a cable held (TC_E_17_CS: the idToken shown for the ended
            # session's cable), and the connector is free again: the incipient transaction is cancelled and the
            # EVSE back to its original state, Available (TxCtrlr.EVConnectionTimeOut, Part 2 appendix 3), so
            # the next EV does not start on that driver's idToken.
            log.info("%s: EVSE %d free again: the authorization of %s lapses", self.station.id, e.id,
                     e.auth.id_token.get("id_token"))
            e.auth = None
        if not plugged:
            e.plug_used = False
        if not snap.bay_occupied:
            e.bay_used = False
        starts = set(self.device.members("TxCtrlr", "TxStartPoint"))
        if e.tx is None and e.operative:
            authorized = e.auth is not None and not e.auth.authorizing
            fresh_plug = plugged and not e.plug_used
            # TxStartPoint EnergyTransfer alone (no earlier point configured): the EVSE offers energy to an
            # authorized EV before any transaction exists, and the transaction starts once energy flows
            # (E01.FR.06, TC_E_02_CS); every earlier point starts it at that point instead.
            energy_only = "EnergyTransfer" in starts and not starts & START_POINTS_EARLY
            if energy_only:
                self._drive(e, offering=fresh_plug and authorized and not snap.pilot_fault,
                            snap_state=snap.ev_state, now=now)
                if fresh_plug and authorized and e.energized:
                    self._start_tx(e, now, plugged, state="Charging")
            elif (
                (fresh_plug and authorized)
                or (fresh_plug and starts & START_POINTS_PLUG)
                or (authorized and not plugged and starts & START_POINTS_AUTH)
            ):
                # DataSigned without an earlier point: the meter's signed begin reading, taken once the EV is
                # connected and authorized, is what starts it (E01; TC_E_11_CS: SignedDataReceived).
                signed = "DataSigned" in starts and not starts & START_POINTS_EARLY
                self._start_tx(e, now, plugged, trigger="SignedDataReceived" if signed else None)
            elif snap.bay_occupied and not e.bay_used and "ParkingBayOccupancy" in starts:
                # The bay sensor saw an EV arrive: the transaction starts before any cable (E01.FR.01).
                self._start_tx(e, now, plugged, trigger="EVDetected")
        elif e.tx is not None and e.auth is not None and not e.auth.authorizing:
            # A transaction begun at plug-in gets its authorization now. (Not an Inoperative EVSE's pending
            # authorization with no transaction: this pass once took that for one, and the firmware task died.)
            auth, e.auth = e.auth, None
            e.authorized, e.deauthorized = True, False
            e.tx.id_token, e.tx.remote_start_id = auth.id_token, auth.remote_start_id
            e.tx.group_id = auth.group_id
            trigger = "RemoteStart" if auth.remote_start_id is not None else "Authorized"
            self._tx_event(e, "Updated", trigger, id_token=auth.id_token)
        if e.auth is not None:
            due = min(due, e.auth.expires_t)
        due = min(due, self._auth_step(e, now, plugged))  # EV connection timeout, MaxEnergyOnInvalidId
        tx = e.tx
        if tx is None:
            if not (e.operative and "EnergyTransfer" in starts and not starts & START_POINTS_EARLY):
                self._drive(e, offering=False, snap_state=snap.ev_state, now=now)
            return due
        stops = set(self.device.members("TxCtrlr", "TxStopPoint"))
        # The EV left the parking bay: with TxStopPoint ParkingBayOccupancy the transaction ends now, the
        # reason of an earlier stop (Remote) or Local (E06.FR.01, TC_E_19_CS).
        if e.bay_seen and not snap.bay_occupied and "ParkingBayOccupancy" in stops:
            self._end_tx(e, "EVDeparted", tx.stop_reason or "Local")
            self._drive(e, offering=False, snap_state=snap.ev_state, now=now)
            return due
        e.bay_seen = e.bay_seen or snap.bay_occupied
        # EV gone: the transaction ends (TxStopPoint EVConnected, or PowerPathClosed: the power path opens
        # when the EV leaves, TC_E_37_CS). The charger lost the EV's pilot: the catalogue's cable-unplugged
        # cases want EVCommunicationLost (EVDeparted is the parking bay's). With a later stop point,
        # StopTxOnEVSideDisconnect true stops the transaction administratively (E09): it is deauthorized, so
        # with TxStopPoint Authorized it ends too (E06.FR.04, TC_E_17_CS), with another (the parking bay) it
        # goes on without energy. False suspends it: the EV may come back and charge on (E10, TC_E_26_CS).
        ev_gone = not plugged and tx.charging_state != "Idle"
        deauthorize = ev_gone and e.authorized and self.device.bool("TxCtrlr", "StopTxOnEVSideDisconnect")
        if ev_gone and (stops & {"EVConnected", "PowerPathClosed", "EnergyTransfer"}
                        or (deauthorize and "Authorized" in stops)):
            self._end_tx(e, "EVCommunicationLost", tx.stop_reason or "EVDisconnected")
            self._drive(e, offering=False, snap_state=snap.ev_state, now=now)
            return due
        if deauthorize:
            e.authorized = False
        offering = e.authorized and plugged and not snap.pilot_fault
        due = min(due, self._drive(e, offering=offering, snap_state=snap.ev_state, now=now))
        state = self._charging_state(e, plugged, snap.ev_state)
        if tx.evse_pending and plugged:
            # A transaction started with no EVSE known: the plug-in names it, with the begin reading.
            # The event reports the plug-in itself (EVConnected); a further change to SuspendedEV or Charging is a
            # ChargingStateChanged on the next pass (Part 6 EnergyTransferStarted part 1 step 3, TC_J_08_CS).
            tx.evse_pending = False
            tx.charging_state = "EVConnected"
            begin = self.device.members("SampledDataCtrlr", "TxStartedMeasurands")
            self._tx_event(
                e, "Updated", "CablePluggedIn", evse=True, meter=self._meter_value(e.id, "Transaction.Begin", begin)
            )
            due = min(due, now)
        elif state != tx.charging_state and tx.charging_state == "Idle" and plugged:
            # The EV arrives for a transaction begun without it: CablePluggedIn, EVConnected; any further change
            # is a ChargingStateChanged on the next pass (Part 6 EnergyTransferStarted part 1, TC_C_13_CS). The first
            # TransactionEvent after the EV connected names the EVSE and connector (TransactionEventRequest.evse).
            tx.charging_state = "EVConnected"
            self._tx_event(e, "Updated", "CablePluggedIn", evse=True)
            due = min(due, now)
        elif state != tx.charging_state:
            if tx.charging_state == "Charging" and state == "SuspendedEV" and "EnergyTransfer" in stops:
                # TxStopPoint EnergyTransfer: the EV ended the energy transfer, so the transaction ends
                # (E06.FR.07; TC_E_22_CS's Ended branch: chargingState EVConnected, StoppedByEV).
                self._end_tx(e, "ChargingStateChanged", "StoppedByEV")
                e.plug_used = True  # this plug-in had its transaction
                return due
            tx.charging_state = state
            # The EV left while the transaction goes on (a later stop point): the charger lost the EV's
            # pilot (Reusable State EVDisconnected: EVCommunicationLost, chargingState Idle).
            lost = state == "Idle" and not plugged
            self._tx_event(e, "Updated", "EVCommunicationLost" if lost else "ChargingStateChanged")
        if e.applied_limit != e.reported_limit and e.offering:
            significance = float(self.device.value("SmartChargingCtrlr", "LimitChangeSignificance"))
            if (
                e.reported_limit is None
                or e.applied_limit is None
                or abs(e.applied_limit - e.reported_limit) >= significance
            ):
                if e.reported_limit is not None:
                    self._tx_event(e, "Updated", "ChargingRateChanged")
                e.reported_limit = e.applied_limit
        interval = self.device.int("SampledDataCtrlr", "TxUpdatedInterval")
        if interval > 0 and now >= tx.next_update_t:
            self._tx_event(
                e,
                "Updated",
                "MeterValuePeriodic",
                meter=self._meter_value(
                    e.id, "Sample.Periodic", self.device.members("SampledDataCtrlr", "TxUpdatedMeasurands")
                ),
            )
            tx.next_update_t = max(tx.next_update_t + interval, now + interval / 2)
        if interval > 0:
            due = min(due, tx.next_update_t)
        return min(due, self._tx_ended_samples(e, now))

    def _charging_state(self, e: EvseState, plugged: bool, ev_state: str) -> str:
        if not plugged:
            return "Idle"
        if not e.authorized:
            return "SuspendedEVSE" if e.deauthorized else "EVConnected"
        if not e.offering:
            return "SuspendedEVSE"
        return "Charging" if ev_state in DRAWING_STATES else "SuspendedEV"

    def _start_tx(
        self, e: EvseState, now: float, plugged: bool, *, state: str | None = None, trigger: str | None = None
    ) -> None:
        auth, e.auth = e.auth, None
        tx = TxState(id=str(uuid.uuid4()), evse=e.id, started_wall=self.clock.wall(now),
                     begin_wh=self.physics.energy_wh(e.id))
        e.tx = tx
        e.plug_used = plugged
        e.bay_used = e.bay_seen = self.physics.snapshot(e.id).bay_occupied
        e.authorized = auth is not None
        e.deauthorized = False
        e.reported_limit = None
        if auth is not None:
            tx.id_token, tx.remote_start_id = auth.id_token, auth.remote_start_id
            tx.group_id = auth.group_id
            # A profile of a remote start is stored only while smart charging is enabled (K01, K05).
            if auth.profile is not None and self.device.bool("SmartChargingCtrlr", "Enabled"):
                with contextlib.suppress(ProfileRejected):
                    profile = parse_profile(e.id, {**auth.profile, "transaction_id": tx.id})
                    self.profiles.add(profile, {e.id: tx.id})
        # The first event after a RequestStartTransaction says RemoteStart, whichever came first, the EV or
        # the request (Part 6's general tool rules; TC_F_01_CS .. TC_F_03_CS).
        # A local authorization is the trigger when it came last (the EV was there, or need not be: TxStartPoint
        # Authorized); else the plug-in is (E02, E03), unless the start point names its own trigger.
        if auth is not None and auth.remote_start_id is not None:
            trigger = "RemoteStart"
        elif trigger is None and auth is not None and (auth.ev_was_plugged or not plugged):
            trigger = "Authorized"
        elif trigger is None:
            trigger = "CablePluggedIn"
        tx.charging_state = state or ("EVConnected" if plugged else "Idle")
        tx.evse_pending = auth is not None and auth.unbound and not plugged
        if auth is not None and not plugged:  # begun by the authorization (TxStartPoint Authorized)
            tx.connect_deadline_t = auth.expires_t
        self._tx_event(
            e,
            "Started",
            trigger,
            id_token=tx.id_token,
            evse=not tx.evse_pending,
            meter=None
            if tx.evse_pending
            else self._meter_value(
                e.id, "Transaction.Begin", self.device.members("SampledDataCtrlr", "TxStartedMeasurands")
            ),
        )
        interval = self.device.int("SampledDataCtrlr", "TxUpdatedInterval")
        tx.next_update_t = now + interval if interval > 0 else math.inf
        self._tx_ended_samples(e, now)
        if self.faults.meter_offset_wh:
            # Phantom energy lands right after the start reading, so it shows inside the transaction.
            self.physics.add_meter_offset(e.id, self.faults.meter_offset_wh)

    def _end_tx(
        self, e: EvseState, trigger: str, reason: str, *, send: bool = True, id_token: dict[str, Any] | None = None
    ) -> None:
        tx = e.tx
        if tx is None:
            return
        if send:
            # chargingState in Ended is the state at the end: energy has stopped; the EV is there or not
            # (TC_B_22_CS: EVConnected after an Immediate reset while charging; TC_E_20_CS: Idle after unplug).
            tx.charging_state = "EVConnected" if self.physics.snapshot(e.id).plugged else "Idle"
            self._tx_event(
                e,
                "Ended",
                trigger,
                stopped_reason=reason,
                id_token=id_token,
                meter=self._meter_value(
                    e.id, "Transaction.End", self.device.members("SampledDataCtrlr", "TxEndedMeasurands")
                ),
                earlier=tx.ended_values,
            )
        self.profiles.end_tx(tx.id)
        e.tx = None
        e.authorized = e.deauthorized = False
        e.limit_target = None
        e.reported_limit = None
        self._drive(e, offering=False, snap_state="A", now=self.clock.now())
        self._wake.set()

    def _tx_event(
        self,
        e: EvseState,
        event_type: str,
        trigger: str,
        *,
        meter: dict[str, Any] | None = None,
        id_token: dict[str, Any] | None = None,
        evse: bool = False,
        stopped_reason: str | None = None,
        at: float | None = None,
        earlier: list[dict[str, Any]] | None = None,
    ) -> None:
        tx = e.tx
        assert tx is not None
        info: dict[str, Any] = {"transaction_id": tx.id, "charging_state": tx.charging_state}
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        if tx.remote_start_id is not None and (event_type == "Started" or trigger == "RemoteStart"):
            info["remote_start_id"] = tx.remote_start_id
        seq = tx.seq
        tx.seq += 1
        if event_type == "Updated":
            tx.updated_sent += 1
            if self.faults.seqno_gap and tx.updated_sent == 1:
                tx.seq += 1  # the next event skips a number
        offline = not self.online
        skip_schema = False
        if meter is not None and self.faults.schema_violation and event_type == "Updated":
            meter = {
                **meter,
                "sampled_value": [{**sv, "value": str(sv["value"])} for sv in meter["sampled_value"]],
            }
            skip_schema = True
        payload = call.TransactionEvent(
            event_type=event_type,
            # when the event happens, which orders it with the others (seqNo); a clock-aligned reading inside
            # keeps its own instant, which the twin's loop may reach a little late
            timestamp=self._ts(at),
            trigger_reason=trigger,
            seq_no=seq,
            transaction_info=info,
            meter_value=[*(earlier or []), meter] if meter else None,
            offline=True if offline and not self.faults.offline_unflagged else None,
            evse={"id": e.id, "connector_id": 1} if evse else None,
            id_token=id_token,
        )
        if offline and self.faults.offline_drop:
            self.counters.dropped_offline += 1
            return
        limit = self.faults.offline_queue_limit  # a small persistent queue: once full, new events are lost
        if offline and limit and sum(1 for o in self._outbox if o.transactional) >= limit:
            self.counters.dropped_offline += 1
            return
        self._send(payload, transactional=True, skip_schema=skip_schema)
