"""OCPP 2.0.1 block G, availability: connector status from the pilot (G01), by StatusNotification or, with the
twin option `status_report = "NotifyEvent"`, by NotifyEvent Connector.AvailabilityState (lab/twin/options.py);
ChangeAvailability (G03-G04)."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v201 import call
from ocpp.v201 import call_result as res

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import EvseState
from lab.twin.physics import EvseSnapshot

log = logging.getLogger("lab.twin.charger")


class Availability(ChargerCore):
    def on_change_availability(self, operational_status: str, evse: dict[str, Any] | None) -> res.ChangeAvailability:
        """Operative / Inoperative for the station (no evse, or evse id 0) or one EVSE (and its connector).

        Going Inoperative while a transaction runs is Scheduled: the transaction goes on, and the EVSE
        reports Unavailable once it has ended. The state survives reboots.
        """
        operative = operational_status == "Operative"
        evse_id = (evse or {}).get("id") or 0
        connector = (evse or {}).get("connector_id")
        if evse_id == 0:
            targets = list(self.evses.values())
            self.device.put("ChargingStation", "AvailabilityState", "Available" if operative else "Unavailable")
        elif evse_id not in self.evses or connector not in (None, 1):
            what = f"EVSE {evse_id}" + (f" connector {connector}" if connector is not None else "")
            return res.ChangeAvailability(
                status="Rejected",
                status_info={
                    "reason_code": "UnknownEvse" if evse_id not in self.evses else "UnknownConnectorId",
                    "additional_info": f"{what} does not exist; this station has EVSEs 1..{len(self.evses)} "
                    "with connector 1 each",
                },
            )
        else:
            targets = [self.evses[evse_id]]
        scheduled = False
        for e in targets:
            e.operative = operative
            if not operative:
                e.auth = None  # a remote start still waiting for its EV is void
            if e.tx is not None:
                scheduled = scheduled or not operative
            else:
                e.status = None  # report the connector's state again (G03/G04), changed or not
        self._wake.set()
        return res.ChangeAvailability(status="Scheduled" if scheduled else "Accepted")

    def _report_status(self, e: EvseState, snap: EvseSnapshot) -> None:
        """StatusNotification when the connector's status changed (G01): from the pilot, Unavailable when
        the EVSE is inoperative and idle; AvailabilityState follows."""
        # Connector status from the pilot (status_stuck: never leaves Available).
        # A cable left in the socket after the EV side disconnected still occupies the connector.
        occupied = snap.plugged or snap.cable_in_socket
        status = "Occupied" if occupied and not self.faults.status_stuck else "Available"
        if snap.pilot_fault:  # IEC 61851-1 state E (pilot shorted to PE) or F: an error, not a connector in use
            status = "Faulted"
        elif not e.operative and e.tx is None:
            status = "Unavailable"  # a scheduled Inoperative takes effect when the transaction has ended
        if self.online and status != e.status:
            e.status = status
            if self.status_report == "NotifyEvent":
                self._send(self._availability_event(e.id, status))
            else:
                self._send(
                    call.StatusNotification(timestamp=self._ts(), connector_status=status, evse_id=e.id, connector_id=1)
                )
            self.device.put("EVSE", "AvailabilityState", status, evse=e.id)
            self.device.put("Connector", "AvailabilityState", status, evse=e.id)

    def _availability_event(self, evse_id: int, status: str) -> call.NotifyEvent:
        """The connector's new status as a device-model event (Part 6: trigger Delta, component Connector with
        evse.id and evse.connectorId, variable AvailabilityState, actualValue the ConnectorStatusEnumType
        value); no monitor raised it, so it is a HardWiredNotification. One event per message, which is
        complete (seqNo 0, no tbc)."""
        self._event_id += 1
        now = self._ts()
        return call.NotifyEvent(
            generated_at=now,
            seq_no=0,
            event_data=[
                {
                    "event_id": self._event_id,
                    "timestamp": now,
                    "trigger": "Delta",
                    "actual_value": status,
                    "event_notification_type": "HardWiredNotification",
                    "component": {"name": "Connector", "evse": {"id": evse_id, "connector_id": 1}},
                    "variable": {"name": "AvailabilityState"},
                }
            ],
        )
