"""The fields of each OCPP 2.0.1 request, for checking the field objects a spec matches messages with.

A pattern naming a field no conformant message has, or a value its enumeration does not hold, never
matches: `expect charger sends …` would fail the charger for the spec's typo, and `expect no …`,
`expect every … {filter}: …` would pass without judging anything. Generated from the ocpp package's
JSON schemas (each object there is closed: `additionalProperties: false`, but CustomDataType), by
tests/dsl/test_message_fields.py, which compares it with them: `dsl` must not import `ocpp` (see
:mod:`dsl.vocab`). Regenerate: CHARGESPEC_UPDATE_MESSAGES=1 .venv/bin/pytest tests/dsl/test_message_fields.py

A field's entry: None (any value: a string, number or open object), a frozenset (an enumeration's values),
a dict (a closed object: its fields) or a one-item list (an array of that).
"""

from __future__ import annotations

from typing import Any

_APNAuthentication = frozenset({"AUTO", "CHAP", "NONE", "PAP"})
_Attribute = frozenset({"Actual", "MaxSet", "MinSet", "Target"})
_AuthorizationStatus = frozenset({"Accepted", "Blocked", "ConcurrentTx", "Expired", "Invalid", "NoCredit",
    "NotAllowedTypeEVSE", "NotAtThisLocation", "NotAtThisTime", "Unknown"})
_BootReason = frozenset({"ApplicationReset", "FirmwareUpdate", "LocalReset", "PowerUp", "RemoteReset",
    "ScheduledReset", "Triggered", "Unknown", "Watchdog"})
_CertificateAction = frozenset({"Install", "Update"})
_CertificateSigningUse = frozenset({"ChargingStationCertificate", "V2GCertificate"})
_ChargingLimitSource = frozenset({"CSO", "EMS", "Other", "SO"})
_ChargingProfileKind = frozenset({"Absolute", "Recurring", "Relative"})
_ChargingProfilePurpose = frozenset({"ChargingStationExternalConstraints", "ChargingStationMaxProfile",
    "TxDefaultProfile", "TxProfile"})
_ChargingRateUnit = frozenset({"A", "W"})
_ChargingState = frozenset({"Charging", "EVConnected", "Idle", "SuspendedEV", "SuspendedEVSE"})
_ComponentCriterion = frozenset({"Active", "Available", "Enabled", "Problem"})
_Connector = frozenset({"Other1PhMax16A", "Other1PhOver16A", "Other3Ph", "Pan", "Undetermined", "Unknown", "cCCS1",
    "cCCS2", "cG105", "cTesla", "cType1", "cType2", "s309-1P-16A", "s309-1P-32A", "s309-3P-16A", "s309-3P-32A",
    "sBS1361", "sCEE-7-7", "sType2", "sType3", "wInductive", "wResonant"})
_ConnectorStatus = frozenset({"Available", "Faulted", "Occupied", "Reserved", "Unavailable"})
_CostKind = frozenset({"CarbonDioxideEmission", "RelativePricePercentage", "RenewableGenerationPercentage"})
_Data = frozenset({"MemberList", "OptionList", "SequenceList", "boolean", "dateTime", "decimal", "integer",
    "string"})
_EnergyTransferMode = frozenset({"AC_single_phase", "AC_three_phase", "AC_two_phase", "DC"})
_EventNotification = frozenset({"CustomMonitor", "HardWiredMonitor", "HardWiredNotification",
    "PreconfiguredMonitor"})
_EventTrigger = frozenset({"Alerting", "Delta", "Periodic"})
_FirmwareStatus = frozenset({"DownloadFailed", "DownloadPaused", "DownloadScheduled", "Downloaded", "Downloading",
    "Idle", "InstallRebooting", "InstallScheduled", "InstallVerificationFailed", "InstallationFailed", "Installed",
    "Installing", "InvalidSignature", "SignatureVerified"})
_GetCertificateIdUse = frozenset({"CSMSRootCertificate", "MORootCertificate", "ManufacturerRootCertificate",
    "V2GCertificateChain", "V2GRootCertificate"})
_HashAlgorithm = frozenset({"SHA256", "SHA384", "SHA512"})
_IdToken = frozenset({"Central", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization",
    "eMAID"})
_InstallCertificateUse = frozenset({"CSMSRootCertificate", "MORootCertificate", "ManufacturerRootCertificate",
    "V2GRootCertificate"})
_Location = frozenset({"Body", "Cable", "EV", "Inlet", "Outlet"})
_Log = frozenset({"DiagnosticsLog", "SecurityLog"})
_Measurand = frozenset({"Current.Export", "Current.Import", "Current.Offered", "Energy.Active.Export.Interval",
    "Energy.Active.Export.Register", "Energy.Active.Import.Interval", "Energy.Active.Import.Register",
    "Energy.Active.Net", "Energy.Apparent.Export", "Energy.Apparent.Import", "Energy.Apparent.Net",
    "Energy.Reactive.Export.Interval", "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Interval",
    "Energy.Reactive.Import.Register", "Energy.Reactive.Net", "Frequency", "Power.Active.Export",
    "Power.Active.Import", "Power.Factor", "Power.Offered", "Power.Reactive.Export", "Power.Reactive.Import",
    "SoC", "Voltage"})
_MessageFormat = frozenset({"ASCII", "HTML", "URI", "UTF8"})
_MessagePriority = frozenset({"AlwaysFront", "InFront", "NormalCycle"})
_MessageState = frozenset({"Charging", "Faulted", "Idle", "Unavailable"})
_MessageTrigger = frozenset({"BootNotification", "FirmwareStatusNotification", "Heartbeat",
    "LogStatusNotification", "MeterValues", "PublishFirmwareStatusNotification", "SignChargingStationCertificate",
    "SignCombinedCertificate", "SignV2GCertificate", "StatusNotification", "TransactionEvent"})
_Monitor = frozenset({"Delta", "LowerThreshold", "Periodic", "PeriodicClockAligned", "UpperThreshold"})
_MonitoringBase = frozenset({"All", "FactoryDefault", "HardWiredOnly"})
_MonitoringCriterion = frozenset({"DeltaMonitoring", "PeriodicMonitoring", "ThresholdMonitoring"})
_Mutability = frozenset({"ReadOnly", "ReadWrite", "WriteOnly"})
_OCPPInterface = frozenset({"Wired0", "Wired1", "Wired2", "Wired3", "Wireless0", "Wireless1", "Wireless2",
    "Wireless3"})
_OCPPTransport = frozenset({"JSON", "SOAP"})
_OCPPVersion = frozenset({"OCPP12", "OCPP15", "OCPP16", "OCPP20"})
_OperationalStatus = frozenset({"Inoperative", "Operative"})
_Phase = frozenset({"L1", "L1-L2", "L1-N", "L2", "L2-L3", "L2-N", "L3", "L3-L1", "L3-N", "N"})
_PublishFirmwareStatus = frozenset({"ChecksumVerified", "DownloadFailed", "DownloadPaused", "DownloadScheduled",
    "Downloaded", "Downloading", "Idle", "InvalidChecksum", "PublishFailed", "Published"})
_ReadingContext = frozenset({"Interruption.Begin", "Interruption.End", "Other", "Sample.Clock", "Sample.Periodic",
    "Transaction.Begin", "Transaction.End", "Trigger"})
_Reason = frozenset({"DeAuthorized", "EVDisconnected", "EmergencyStop", "EnergyLimitReached", "GroundFault",
    "ImmediateReset", "Local", "LocalOutOfCredit", "MasterPass", "Other", "OvercurrentFault", "PowerLoss",
    "PowerQuality", "Reboot", "Remote", "SOCLimitReached", "StoppedByEV", "TimeLimitReached", "Timeout"})
_RecurrencyKind = frozenset({"Daily", "Weekly"})
_ReportBase = frozenset({"ConfigurationInventory", "FullInventory", "SummaryInventory"})
_ReservationUpdateStatus = frozenset({"Expired", "Removed"})
_Reset = frozenset({"Immediate", "OnIdle"})
_TransactionEvent = frozenset({"Ended", "Started", "Updated"})
_TriggerReason = frozenset({"AbnormalCondition", "Authorized", "CablePluggedIn", "ChargingRateChanged",
    "ChargingStateChanged", "Deauthorized", "EVCommunicationLost", "EVConnectTimeout", "EVDeparted", "EVDetected",
    "EnergyLimitReached", "MeterValueClock", "MeterValuePeriodic", "RemoteStart", "RemoteStop", "ResetCommand",
    "SignedDataReceived", "StopAuthorized", "TimeLimitReached", "Trigger", "UnlockCommand"})
_Update = frozenset({"Differential", "Full"})
_UploadLogStatus = frozenset({"AcceptedCanceled", "BadMessage", "Idle", "NotSupportedOperation",
    "PermissionDenied", "UploadFailure", "Uploaded", "Uploading"})
_VPN = frozenset({"IKEv2", "IPSec", "L2TP", "PPTP"})

_AdditionalInfoType: dict[str, Any] = {
    "additionalIdToken": None,
    "customData": None,
    "type": None,
}
_IdTokenType: dict[str, Any] = {
    "additionalInfo": [_AdditionalInfoType],
    "customData": None,
    "idToken": None,
    "type": _IdToken,
}
_OCSPRequestDataType: dict[str, Any] = {
    "customData": None,
    "hashAlgorithm": _HashAlgorithm,
    "issuerKeyHash": None,
    "issuerNameHash": None,
    "responderURL": None,
    "serialNumber": None,
}
_ModemType: dict[str, Any] = {
    "customData": None,
    "iccid": None,
    "imsi": None,
}
_ChargingStationType: dict[str, Any] = {
    "customData": None,
    "firmwareVersion": None,
    "model": None,
    "modem": _ModemType,
    "serialNumber": None,
    "vendorName": None,
}
_EVSEType: dict[str, Any] = {
    "connectorId": None,
    "customData": None,
    "id": None,
}
_ClearChargingProfileType: dict[str, Any] = {
    "chargingProfilePurpose": _ChargingProfilePurpose,
    "customData": None,
    "evseId": None,
    "stackLevel": None,
}
_CertificateHashDataType: dict[str, Any] = {
    "customData": None,
    "hashAlgorithm": _HashAlgorithm,
    "issuerKeyHash": None,
    "issuerNameHash": None,
    "serialNumber": None,
}
_ChargingProfileCriterionType: dict[str, Any] = {
    "chargingLimitSource": [_ChargingLimitSource],
    "chargingProfileId": [None],
    "chargingProfilePurpose": _ChargingProfilePurpose,
    "customData": None,
    "stackLevel": None,
}
_LogParametersType: dict[str, Any] = {
    "customData": None,
    "latestTimestamp": None,
    "oldestTimestamp": None,
    "remoteLocation": None,
}
_ComponentType: dict[str, Any] = {
    "customData": None,
    "evse": _EVSEType,
    "instance": None,
    "name": None,
}
_VariableType: dict[str, Any] = {
    "customData": None,
    "instance": None,
    "name": None,
}
_ComponentVariableType: dict[str, Any] = {
    "component": _ComponentType,
    "customData": None,
    "variable": _VariableType,
}
_GetVariableDataType: dict[str, Any] = {
    "attributeType": _Attribute,
    "component": _ComponentType,
    "customData": None,
    "variable": _VariableType,
}
_SignedMeterValueType: dict[str, Any] = {
    "customData": None,
    "encodingMethod": None,
    "publicKey": None,
    "signedMeterData": None,
    "signingMethod": None,
}
_UnitOfMeasureType: dict[str, Any] = {
    "customData": None,
    "multiplier": None,
    "unit": None,
}
_SampledValueType: dict[str, Any] = {
    "context": _ReadingContext,
    "customData": None,
    "location": _Location,
    "measurand": _Measurand,
    "phase": _Phase,
    "signedMeterValue": _SignedMeterValueType,
    "unitOfMeasure": _UnitOfMeasureType,
    "value": None,
}
_MeterValueType: dict[str, Any] = {
    "customData": None,
    "sampledValue": [_SampledValueType],
    "timestamp": None,
}
_ChargingLimitType: dict[str, Any] = {
    "chargingLimitSource": _ChargingLimitSource,
    "customData": None,
    "isGridCritical": None,
}
_ChargingSchedulePeriodType: dict[str, Any] = {
    "customData": None,
    "limit": None,
    "numberPhases": None,
    "phaseToUse": None,
    "startPeriod": None,
}
_CostType: dict[str, Any] = {
    "amount": None,
    "amountMultiplier": None,
    "costKind": _CostKind,
    "customData": None,
}
_ConsumptionCostType: dict[str, Any] = {
    "cost": [_CostType],
    "customData": None,
    "startValue": None,
}
_RelativeTimeIntervalType: dict[str, Any] = {
    "customData": None,
    "duration": None,
    "start": None,
}
_SalesTariffEntryType: dict[str, Any] = {
    "consumptionCost": [_ConsumptionCostType],
    "customData": None,
    "ePriceLevel": None,
    "relativeTimeInterval": _RelativeTimeIntervalType,
}
_SalesTariffType: dict[str, Any] = {
    "customData": None,
    "id": None,
    "numEPriceLevels": None,
    "salesTariffDescription": None,
    "salesTariffEntry": [_SalesTariffEntryType],
}
_ChargingScheduleType: dict[str, Any] = {
    "chargingRateUnit": _ChargingRateUnit,
    "chargingSchedulePeriod": [_ChargingSchedulePeriodType],
    "customData": None,
    "duration": None,
    "id": None,
    "minChargingRate": None,
    "salesTariff": _SalesTariffType,
    "startSchedule": None,
}
_MessageContentType: dict[str, Any] = {
    "content": None,
    "customData": None,
    "format": _MessageFormat,
    "language": None,
}
_MessageInfoType: dict[str, Any] = {
    "customData": None,
    "display": _ComponentType,
    "endDateTime": None,
    "id": None,
    "message": _MessageContentType,
    "priority": _MessagePriority,
    "startDateTime": None,
    "state": _MessageState,
    "transactionId": None,
}
_ACChargingParametersType: dict[str, Any] = {
    "customData": None,
    "energyAmount": None,
    "evMaxCurrent": None,
    "evMaxVoltage": None,
    "evMinCurrent": None,
}
_DCChargingParametersType: dict[str, Any] = {
    "bulkSoC": None,
    "customData": None,
    "energyAmount": None,
    "evEnergyCapacity": None,
    "evMaxCurrent": None,
    "evMaxPower": None,
    "evMaxVoltage": None,
    "fullSoC": None,
    "stateOfCharge": None,
}
_ChargingNeedsType: dict[str, Any] = {
    "acChargingParameters": _ACChargingParametersType,
    "customData": None,
    "dcChargingParameters": _DCChargingParametersType,
    "departureTime": None,
    "requestedEnergyTransfer": _EnergyTransferMode,
}
_EventDataType: dict[str, Any] = {
    "actualValue": None,
    "cause": None,
    "cleared": None,
    "component": _ComponentType,
    "customData": None,
    "eventId": None,
    "eventNotificationType": _EventNotification,
    "techCode": None,
    "techInfo": None,
    "timestamp": None,
    "transactionId": None,
    "trigger": _EventTrigger,
    "variable": _VariableType,
    "variableMonitoringId": None,
}
_VariableMonitoringType: dict[str, Any] = {
    "customData": None,
    "id": None,
    "severity": None,
    "transaction": None,
    "type": _Monitor,
    "value": None,
}
_MonitoringDataType: dict[str, Any] = {
    "component": _ComponentType,
    "customData": None,
    "variable": _VariableType,
    "variableMonitoring": [_VariableMonitoringType],
}
_VariableAttributeType: dict[str, Any] = {
    "constant": None,
    "customData": None,
    "mutability": _Mutability,
    "persistent": None,
    "type": _Attribute,
    "value": None,
}
_VariableCharacteristicsType: dict[str, Any] = {
    "customData": None,
    "dataType": _Data,
    "maxLimit": None,
    "minLimit": None,
    "supportsMonitoring": None,
    "unit": None,
    "valuesList": None,
}
_ReportDataType: dict[str, Any] = {
    "component": _ComponentType,
    "customData": None,
    "variable": _VariableType,
    "variableAttribute": [_VariableAttributeType],
    "variableCharacteristics": _VariableCharacteristicsType,
}
_ChargingProfileType: dict[str, Any] = {
    "chargingProfileKind": _ChargingProfileKind,
    "chargingProfilePurpose": _ChargingProfilePurpose,
    "chargingSchedule": [_ChargingScheduleType],
    "customData": None,
    "id": None,
    "recurrencyKind": _RecurrencyKind,
    "stackLevel": None,
    "transactionId": None,
    "validFrom": None,
    "validTo": None,
}
_IdTokenInfoType: dict[str, Any] = {
    "cacheExpiryDateTime": None,
    "chargingPriority": None,
    "customData": None,
    "evseId": [None],
    "groupIdToken": _IdTokenType,
    "language1": None,
    "language2": None,
    "personalMessage": _MessageContentType,
    "status": _AuthorizationStatus,
}
_AuthorizationData: dict[str, Any] = {
    "customData": None,
    "idToken": _IdTokenType,
    "idTokenInfo": _IdTokenInfoType,
}
_APNType: dict[str, Any] = {
    "apn": None,
    "apnAuthentication": _APNAuthentication,
    "apnPassword": None,
    "apnUserName": None,
    "customData": None,
    "preferredNetwork": None,
    "simPin": None,
    "useOnlyPreferredNetwork": None,
}
_VPNType: dict[str, Any] = {
    "customData": None,
    "group": None,
    "key": None,
    "password": None,
    "server": None,
    "type": _VPN,
    "user": None,
}
_NetworkConnectionProfileType: dict[str, Any] = {
    "apn": _APNType,
    "customData": None,
    "messageTimeout": None,
    "ocppCsmsUrl": None,
    "ocppInterface": _OCPPInterface,
    "ocppTransport": _OCPPTransport,
    "ocppVersion": _OCPPVersion,
    "securityProfile": None,
    "vpn": _VPNType,
}
_SetMonitoringDataType: dict[str, Any] = {
    "component": _ComponentType,
    "customData": None,
    "id": None,
    "severity": None,
    "transaction": None,
    "type": _Monitor,
    "value": None,
    "variable": _VariableType,
}
_SetVariableDataType: dict[str, Any] = {
    "attributeType": _Attribute,
    "attributeValue": None,
    "component": _ComponentType,
    "customData": None,
    "variable": _VariableType,
}
_TransactionType: dict[str, Any] = {
    "chargingState": _ChargingState,
    "customData": None,
    "remoteStartId": None,
    "stoppedReason": _Reason,
    "timeSpentCharging": None,
    "transactionId": None,
}
_FirmwareType: dict[str, Any] = {
    "customData": None,
    "installDateTime": None,
    "location": None,
    "retrieveDateTime": None,
    "signature": None,
    "signingCertificate": None,
}

REQUESTS: dict[str, dict[str, Any]] = {
    "Authorize": {
        "certificate": None,
        "customData": None,
        "idToken": _IdTokenType,
        "iso15118CertificateHashData": [_OCSPRequestDataType],
    },
    "BootNotification": {
        "chargingStation": _ChargingStationType,
        "customData": None,
        "reason": _BootReason,
    },
    "CancelReservation": {
        "customData": None,
        "reservationId": None,
    },
    "CertificateSigned": {
        "certificateChain": None,
        "certificateType": _CertificateSigningUse,
        "customData": None,
    },
    "ChangeAvailability": {
        "customData": None,
        "evse": _EVSEType,
        "operationalStatus": _OperationalStatus,
    },
    "ClearCache": {
        "customData": None,
    },
    "ClearChargingProfile": {
        "chargingProfileCriteria": _ClearChargingProfileType,
        "chargingProfileId": None,
        "customData": None,
    },
    "ClearDisplayMessage": {
        "customData": None,
        "id": None,
    },
    "ClearVariableMonitoring": {
        "customData": None,
        "id": [None],
    },
    "ClearedChargingLimit": {
        "chargingLimitSource": _ChargingLimitSource,
        "customData": None,
        "evseId": None,
    },
    "CostUpdated": {
        "customData": None,
        "totalCost": None,
        "transactionId": None,
    },
    "CustomerInformation": {
        "clear": None,
        "customData": None,
        "customerCertificate": _CertificateHashDataType,
        "customerIdentifier": None,
        "idToken": _IdTokenType,
        "report": None,
        "requestId": None,
    },
    "DataTransfer": {
        "customData": None,
        "data": None,
        "messageId": None,
        "vendorId": None,
    },
    "DeleteCertificate": {
        "certificateHashData": _CertificateHashDataType,
        "customData": None,
    },
    "FirmwareStatusNotification": {
        "customData": None,
        "requestId": None,
        "status": _FirmwareStatus,
    },
    "Get15118EVCertificate": {
        "action": _CertificateAction,
        "customData": None,
        "exiRequest": None,
        "iso15118SchemaVersion": None,
    },
    "GetBaseReport": {
        "customData": None,
        "reportBase": _ReportBase,
        "requestId": None,
    },
    "GetCertificateStatus": {
        "customData": None,
        "ocspRequestData": _OCSPRequestDataType,
    },
    "GetChargingProfiles": {
        "chargingProfile": _ChargingProfileCriterionType,
        "customData": None,
        "evseId": None,
        "requestId": None,
    },
    "GetCompositeSchedule": {
        "chargingRateUnit": _ChargingRateUnit,
        "customData": None,
        "duration": None,
        "evseId": None,
    },
    "GetDisplayMessages": {
        "customData": None,
        "id": [None],
        "priority": _MessagePriority,
        "requestId": None,
        "state": _MessageState,
    },
    "GetInstalledCertificateIds": {
        "certificateType": [_GetCertificateIdUse],
        "customData": None,
    },
    "GetLocalListVersion": {
        "customData": None,
    },
    "GetLog": {
        "customData": None,
        "log": _LogParametersType,
        "logType": _Log,
        "requestId": None,
        "retries": None,
        "retryInterval": None,
    },
    "GetMonitoringReport": {
        "componentVariable": [_ComponentVariableType],
        "customData": None,
        "monitoringCriteria": [_MonitoringCriterion],
        "requestId": None,
    },
    "GetReport": {
        "componentCriteria": [_ComponentCriterion],
        "componentVariable": [_ComponentVariableType],
        "customData": None,
        "requestId": None,
    },
    "GetTransactionStatus": {
        "customData": None,
        "transactionId": None,
    },
    "GetVariables": {
        "customData": None,
        "getVariableData": [_GetVariableDataType],
    },
    "Heartbeat": {
        "customData": None,
    },
    "InstallCertificate": {
        "certificate": None,
        "certificateType": _InstallCertificateUse,
        "customData": None,
    },
    "LogStatusNotification": {
        "customData": None,
        "requestId": None,
        "status": _UploadLogStatus,
    },
    "MeterValues": {
        "customData": None,
        "evseId": None,
        "meterValue": [_MeterValueType],
    },
    "NotifyChargingLimit": {
        "chargingLimit": _ChargingLimitType,
        "chargingSchedule": [_ChargingScheduleType],
        "customData": None,
        "evseId": None,
    },
    "NotifyCustomerInformation": {
        "customData": None,
        "data": None,
        "generatedAt": None,
        "requestId": None,
        "seqNo": None,
        "tbc": None,
    },
    "NotifyDisplayMessages": {
        "customData": None,
        "messageInfo": [_MessageInfoType],
        "requestId": None,
        "tbc": None,
    },
    "NotifyEVChargingNeeds": {
        "chargingNeeds": _ChargingNeedsType,
        "customData": None,
        "evseId": None,
        "maxScheduleTuples": None,
    },
    "NotifyEVChargingSchedule": {
        "chargingSchedule": _ChargingScheduleType,
        "customData": None,
        "evseId": None,
        "timeBase": None,
    },
    "NotifyEvent": {
        "customData": None,
        "eventData": [_EventDataType],
        "generatedAt": None,
        "seqNo": None,
        "tbc": None,
    },
    "NotifyMonitoringReport": {
        "customData": None,
        "generatedAt": None,
        "monitor": [_MonitoringDataType],
        "requestId": None,
        "seqNo": None,
        "tbc": None,
    },
    "NotifyReport": {
        "customData": None,
        "generatedAt": None,
        "reportData": [_ReportDataType],
        "requestId": None,
        "seqNo": None,
        "tbc": None,
    },
    "PublishFirmware": {
        "checksum": None,
        "customData": None,
        "location": None,
        "requestId": None,
        "retries": None,
        "retryInterval": None,
    },
    "PublishFirmwareStatusNotification": {
        "customData": None,
        "location": [None],
        "requestId": None,
        "status": _PublishFirmwareStatus,
    },
    "ReportChargingProfiles": {
        "chargingLimitSource": _ChargingLimitSource,
        "chargingProfile": [_ChargingProfileType],
        "customData": None,
        "evseId": None,
        "requestId": None,
        "tbc": None,
    },
    "RequestStartTransaction": {
        "chargingProfile": _ChargingProfileType,
        "customData": None,
        "evseId": None,
        "groupIdToken": _IdTokenType,
        "idToken": _IdTokenType,
        "remoteStartId": None,
    },
    "RequestStopTransaction": {
        "customData": None,
        "transactionId": None,
    },
    "ReservationStatusUpdate": {
        "customData": None,
        "reservationId": None,
        "reservationUpdateStatus": _ReservationUpdateStatus,
    },
    "ReserveNow": {
        "connectorType": _Connector,
        "customData": None,
        "evseId": None,
        "expiryDateTime": None,
        "groupIdToken": _IdTokenType,
        "id": None,
        "idToken": _IdTokenType,
    },
    "Reset": {
        "customData": None,
        "evseId": None,
        "type": _Reset,
    },
    "SecurityEventNotification": {
        "customData": None,
        "techInfo": None,
        "timestamp": None,
        "type": None,
    },
    "SendLocalList": {
        "customData": None,
        "localAuthorizationList": [_AuthorizationData],
        "updateType": _Update,
        "versionNumber": None,
    },
    "SetChargingProfile": {
        "chargingProfile": _ChargingProfileType,
        "customData": None,
        "evseId": None,
    },
    "SetDisplayMessage": {
        "customData": None,
        "message": _MessageInfoType,
    },
    "SetMonitoringBase": {
        "customData": None,
        "monitoringBase": _MonitoringBase,
    },
    "SetMonitoringLevel": {
        "customData": None,
        "severity": None,
    },
    "SetNetworkProfile": {
        "configurationSlot": None,
        "connectionData": _NetworkConnectionProfileType,
        "customData": None,
    },
    "SetVariableMonitoring": {
        "customData": None,
        "setMonitoringData": [_SetMonitoringDataType],
    },
    "SetVariables": {
        "customData": None,
        "setVariableData": [_SetVariableDataType],
    },
    "SignCertificate": {
        "certificateType": _CertificateSigningUse,
        "csr": None,
        "customData": None,
    },
    "StatusNotification": {
        "connectorId": None,
        "connectorStatus": _ConnectorStatus,
        "customData": None,
        "evseId": None,
        "timestamp": None,
    },
    "TransactionEvent": {
        "cableMaxCurrent": None,
        "customData": None,
        "eventType": _TransactionEvent,
        "evse": _EVSEType,
        "idToken": _IdTokenType,
        "meterValue": [_MeterValueType],
        "numberOfPhasesUsed": None,
        "offline": None,
        "reservationId": None,
        "seqNo": None,
        "timestamp": None,
        "transactionInfo": _TransactionType,
        "triggerReason": _TriggerReason,
    },
    "TriggerMessage": {
        "customData": None,
        "evse": _EVSEType,
        "requestedMessage": _MessageTrigger,
    },
    "UnlockConnector": {
        "connectorId": None,
        "customData": None,
        "evseId": None,
    },
    "UnpublishFirmware": {
        "checksum": None,
        "customData": None,
    },
    "UpdateFirmware": {
        "customData": None,
        "firmware": _FirmwareType,
        "requestId": None,
        "retries": None,
        "retryInterval": None,
    },
}
