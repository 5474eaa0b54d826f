"""Closed vocabularies from OCPP 2.0.1 that specs name: actions, measurands, phases, purposes, states.

Hard-coded on purpose: `dsl` must not import the `ocpp` package (a test in tests/dsl compares
:data:`OCPP_ACTIONS` with the JSON schemas the package ships).
"""

from __future__ import annotations

# The 64 OCPP 2.0.1 actions (each has a <Action>Request and <Action>Response schema).
OCPP_ACTIONS: frozenset[str] = frozenset(
    {
        "Authorize", "BootNotification", "CancelReservation", "CertificateSigned", "ChangeAvailability",
        "ClearCache", "ClearChargingProfile", "ClearDisplayMessage", "ClearVariableMonitoring",
        "ClearedChargingLimit", "CostUpdated", "CustomerInformation", "DataTransfer",
        "DeleteCertificate", "FirmwareStatusNotification", "Get15118EVCertificate", "GetBaseReport",
        "GetCertificateStatus", "GetChargingProfiles", "GetCompositeSchedule", "GetDisplayMessages",
        "GetInstalledCertificateIds", "GetLocalListVersion", "GetLog", "GetMonitoringReport",
        "GetReport", "GetTransactionStatus", "GetVariables", "Heartbeat", "InstallCertificate",
        "LogStatusNotification", "MeterValues", "NotifyChargingLimit", "NotifyCustomerInformation",
        "NotifyDisplayMessages", "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent",
        "NotifyMonitoringReport", "NotifyReport", "PublishFirmware",
        "PublishFirmwareStatusNotification", "ReportChargingProfiles", "RequestStartTransaction",
        "RequestStopTransaction", "ReservationStatusUpdate", "ReserveNow", "Reset",
        "SecurityEventNotification", "SendLocalList", "SetChargingProfile", "SetDisplayMessage",
        "SetMonitoringBase", "SetMonitoringLevel", "SetNetworkProfile", "SetVariableMonitoring",
        "SetVariables", "SignCertificate", "StatusNotification", "TransactionEvent", "TriggerMessage",
        "UnlockConnector", "UnpublishFirmware", "UpdateFirmware",
    }
)

# The charger-initiated actions: the calls a CSMS answers (`csms answers <Action> …`). DataTransfer goes
# both ways. (tests/runner/csms compares this with runner.csms.actions.CHARGER_TO_CSMS.)
CHARGER_CALLS: frozenset[str] = frozenset({
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer", "FirmwareStatusNotification",
    "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat", "LogStatusNotification", "MeterValues",
    "NotifyChargingLimit", "NotifyCustomerInformation", "NotifyDisplayMessages", "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport", "NotifyReport",
    "PublishFirmwareStatusNotification", "ReportChargingProfiles", "ReservationStatusUpdate",
    "SecurityEventNotification", "SignCertificate", "StatusNotification", "TransactionEvent",
})

# The standardized component names (OCPP 2.0.1 Part 2 Appendices v1.3, section 3: controller components
# 3.1, physical components 3.2): the features `charger supports <Component>[.<Variable>]` can name.
STANDARD_COMPONENTS: frozenset[str] = frozenset({
    "AlignedDataCtrlr", "AuthCtrlr", "AuthCacheCtrlr", "CHAdeMOCtrlr", "ClockCtrlr", "CustomizationCtrlr",
    "DeviceDataCtrlr", "DisplayMessageCtrlr", "ISO15118Ctrlr", "LocalAuthListCtrlr", "MonitoringCtrlr",
    "OCPPCommCtrlr", "ReservationCtrlr", "SampledDataCtrlr", "SecurityCtrlr", "SmartChargingCtrlr",
    "TariffCostCtrlr", "TxCtrlr", "AccessBarrier", "AcDcConverter", "AcPhaseSelector", "Actuator",
    "AirCoolingSystem", "AreaVentilation", "BayOccupancySensor", "BeaconLighting", "CableBreakawaySensor",
    "CaseAccessSensor", "ChargingStation", "ChargingStatusIndicator", "ConnectedEV", "Connector",
    "ConnectorHolsterRelease", "ConnectorHolsterSensor", "ConnectorPlugRetentionLock",
    "ConnectorProtectionRelease", "Controller", "ControlMetering", "CPPWMController", "DataLink", "Display",
    "DistributionPanel", "ElectricalFeed", "ELVSupply", "EmergencyStopSensor", "EnvironmentalLighting",
    "EVRetentionLock", "EVSE", "ExternalTemperatureSensor", "FiscalMetering", "FloodSensor",
    "GroundIsolationProtection", "Heater", "HumiditySensor", "LightSensor", "LiquidCoolingSystem",
    "LocalAvailabilitySensor", "LocalController", "LocalEnergyStorage", "OverCurrentProtection",
    "OverCurrentProtectionRecloser", "PowerContactor", "RCD", "RCDRecloser", "RealTimeClock", "ShockSensor",
    "SpacesCountSignage", "Switch", "TemperatureSensor", "TiltSensor", "TokenReader",
    "UpstreamProtectionTrigger", "UIInput", "VehicleIdSensor",
})

# Capabilities outside the device model (`charger supports capability NAME`, `charger lacks capability NAME`):
# facts about a charger that OCPP 2.0.1's device model does not carry and that catalogue cases take as
# prerequisites. The bench file declares them per station ([stations.capabilities], lab/bench.py).
CAPABILITIES: dict[str, str] = {
    "EnergyMeter": "an energy meter: meter values are measured (J01, J02)",
    "EvseReset": "Reset with an evseId resets that EVSE alone (B11, B12)",
    "SummaryInventory": "answers GetBaseReport SummaryInventory, the optional report base (B07)",
    "FixedCable": "a permanently attached cable (E10)",
    "CableLock": "a lock that keeps the EV from being connected before authorization (E02, E03)",
    "ConnectorLock": "a connector lock the CSMS can unlock (F05)",
    "SharedReader": "one idToken reader for several EVSEs (C01)",
    "UserInterface": "a display or other user interface (C01)",
    "TriggerMeterValues": "MeterValues sent on TriggerMessage (F06)",
    "TriggerTransactionEvent": "TransactionEvent sent on TriggerMessage (F06)",
    "TriggerStatusNotification": "StatusNotification sent on TriggerMessage (F06)",
    "TriggerHeartbeat": "Heartbeat sent on TriggerMessage (F06)",
    "TriggerBootNotification": "BootNotification sent on TriggerMessage (F06)",
    "TriggerFirmwareStatusNotification": "FirmwareStatusNotification sent on TriggerMessage (F06, L01)",
    "TriggerLogStatusNotification": "LogStatusNotification sent on TriggerMessage (F06, N01)",
    "TriggerSignCombinedCertificate": "SignCertificate for the combined certificate sent on TriggerMessage (F06, A02)",
    "PersistentAuthCache": "the authorization cache survives a reboot (C10)",
    "NetworkProfileFallback": "after NetworkProfileConnectionAttempts failed per NetworkConfigurationPriority "
                              "slot, reconnects with the previous network profile (B10; the catalogue's C-47)",
}

# MeasurandEnumType -> the dimension of its values once unit and multiplier are applied.
MEASURANDS: dict[str, str] = {
    "Current.Export": "current",
    "Current.Import": "current",
    "Current.Offered": "current",
    "Energy.Active.Export.Register": "energy",
    "Energy.Active.Import.Register": "energy",
    "Energy.Reactive.Export.Register": "reactive_energy",
    "Energy.Reactive.Import.Register": "reactive_energy",
    "Energy.Active.Export.Interval": "energy",
    "Energy.Active.Import.Interval": "energy",
    "Energy.Active.Net": "energy",
    "Energy.Reactive.Export.Interval": "reactive_energy",
    "Energy.Reactive.Import.Interval": "reactive_energy",
    "Energy.Reactive.Net": "reactive_energy",
    "Energy.Apparent.Net": "apparent_energy",
    "Energy.Apparent.Import": "apparent_energy",
    "Energy.Apparent.Export": "apparent_energy",
    "Frequency": "frequency",
    "Power.Active.Export": "power",
    "Power.Active.Import": "power",
    "Power.Factor": "count",
    "Power.Offered": "power",
    "Power.Reactive.Export": "reactive_power",
    "Power.Reactive.Import": "reactive_power",
    "SoC": "ratio",
    "Voltage": "voltage",
}

# PhaseEnumType.
OCPP_PHASES: tuple[str, ...] = ("L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1")

# ChargingProfilePurposeEnumType.
PROFILE_PURPOSES: tuple[str, ...] = (
    "ChargingStationExternalConstraints",
    "ChargingStationMaxProfile",
    "TxDefaultProfile",
    "TxProfile",
)

# ConnectorStatusEnumType: the states of `charger status evse N`.
CONNECTOR_STATES: tuple[str, ...] = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")

# IdTokenEnumType: the kinds of idToken a charger's reader (or the CSMS) names (`driver presents token "ID"
# of type <type>`).
# The harness's listening endpoints (runner/csms/harness.py): the charger's configured CSMS, a second one a
# network connection profile may point at (`charger connects to csms2`, OCPP B09/B10), and `invalid`, the
# catalogue's "invalid ocppCsmsUrl": it closes every connection unanswered (`bench.invalidCsmsUrl`).
CSMS_ENDPOINTS: tuple[str, ...] = ("csms", "csms2", "invalid")

ID_TOKEN_TYPES: tuple[str, ...] = (
    "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization",
)

# OCPP-J CALLERROR codes (Part 4, Table 8), for `expect charger replies error <code>`.
CALL_ERROR_CODES: tuple[str, ...] = (
    "FormatViolation",
    "GenericError",
    "InternalError",
    "MessageTypeNotSupported",
    "NotImplemented",
    "NotSupported",
    "OccurrenceConstraintViolation",
    "PropertyConstraintViolation",
    "ProtocolError",
    "RpcFrameworkError",
    "SecurityError",
    "TypeConstraintViolation",
)
