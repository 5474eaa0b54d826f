"""Which OCPP 2.0.1 actions travel in which direction.

A CSMS only ever receives the charger-initiated ones; a charger that sends a CSMS-initiated action
(say `Reset`) gets `NotSupported`, and an action that is not in 2.0.1 at all gets `NotImplemented`.
DataTransfer goes both ways.
"""

from __future__ import annotations

from ocpp.v201.enums import Action

ALL_ACTIONS: frozenset[str] = frozenset(a.value for a in Action)

CHARGER_TO_CSMS: frozenset[str] = frozenset({
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer", "FirmwareStatusNotification",
    "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat", "LogStatusNotification", "MeterValues",
    "NotifyChargingLimit", "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
    "PublishFirmwareStatusNotification", "ReportChargingProfiles", "ReservationStatusUpdate",
    "SecurityEventNotification", "SignCertificate", "StatusNotification", "TransactionEvent",
})

CSMS_TO_CHARGER: frozenset[str] = (ALL_ACTIONS - CHARGER_TO_CSMS) | {"DataTransfer"}
