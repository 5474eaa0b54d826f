"""The virtual charger's device model: the OCPP 2.0.1 components and variables it reports and accepts.

GetVariables / SetVariables / GetBaseReport go through :class:`DeviceModel`. Values are kept as the
strings OCPP carries; typed accessors read them. A SetVariables value is checked against the variable's
data type and value list, so a bad value is Rejected, not stored.

    dm = DeviceModel.for_station(station)
    dm.set("SampledDataCtrlr", "TxUpdatedInterval", "30")   # "Accepted"
    dm.int("SampledDataCtrlr", "TxUpdatedInterval")          # 30
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lab.bench import StationConfig

MEASURANDS = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
    "Voltage",
    "Current.Offered",
    "Power.Offered",
    "Frequency",
    "Power.Factor",
)
# The start and stop points the twin's firmware honours (its valuesList): a point it would ignore is Rejected
# rather than accepted and ignored. ParkingBayOccupancy follows the bay sensor (lab/twin/physics.py: a parked
# EV, or one plugged in, occupies the bay). DataSigned (the transaction starts on the meter's signed begin
# reading) is honoured only by a meter that signs (the bench file's signed_meter_values): see for_station.
TX_START_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer")
TX_STOP_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer")
# SecurityCtrlr.BasicAuthPassword (Part 2 appendix, errata 2023-12 2.17.3; TC_A_01_CS, TC_A_10_CS): 16 to 40
# characters of passwordString's set, a-z A-Z 0-9 and * - _ = : + | @ . ; anything else is Rejected and the old
# password stays in use.
PASSWORD_CHAR = r"[A-Za-z0-9*\-_=:+|@.]"
PASSWORD_PATTERN = PASSWORD_CHAR + "{16,40}"
LOCAL_LIST_MAX_ENTRIES = 1000  # LocalAuthListCtrlr.Entries maxLimit: the idTokens the list can hold


@dataclass(frozen=True)
class Variable:
    component: str
    name: str
    value: str
    data_type: str = "string"  # string | integer | decimal | boolean | MemberList | SequenceList | OptionList
    mutability: str = "ReadWrite"  # ReadOnly | ReadWrite | WriteOnly
    values_list: tuple[str, ...] = ()
    evse: int | None = None
    minimum: float | None = None
    maximum: float | None = None  # for strings: the longest value accepted; reported as maxLimit
    pattern: str | None = None  # strings: a regular expression the whole value must match
    instance: str | None = None
    connector: int | None = None  # Connector components: the connector id on `evse`
    unit: str | None = None  # variableCharacteristics.unit (TC_B_53_CS: "s" for times, W for EVSE.Power)


Key = tuple[str, int | None, str, str | None]  # component, evse, variable, instance


class DeviceModel:
    def __init__(self, variables: list[Variable], *, readonly_writable: bool = False) -> None:
        self.readonly_writable = readonly_writable  # fault knob: SetVariables writes ReadOnly variables too
        self._vars: dict[Key, Variable] = {(v.component, v.evse, v.name, v.instance): v for v in variables}
        # Variables whose value the charger computes when asked (ClockCtrlr.DateTime, profile counts, ...).
        self.live: dict[tuple[str, str], Callable[[], str]] = {}

    @classmethod
    def for_station(
        cls,
        station: StationConfig,
        firmware: str | None = None,
        *,
        security_profile: int = 0,
        password: str | None = None,
        readonly_writable: bool = False,
        network_slot: int = 1,
    ) -> DeviceModel:
        ro = "ReadOnly"
        vs: list[Variable] = [
            Variable("ChargingStation", "Model", station.model, mutability=ro),
            Variable("ChargingStation", "VendorName", station.vendor, mutability=ro),
            _availability("ChargingStation"),
            Variable(
                "Controller",
                "FirmwareVersion",
                firmware if firmware is not None else station.firmware,
                mutability=ro,
            ),
            Variable("SecurityCtrlr", "Identity", station.id, mutability=ro),
            Variable("SecurityCtrlr", "SecurityProfile", str(security_profile), "integer", ro),
            # WriteOnly, as OCPP has it: a CSMS may set the password but never read it back.
            Variable("SecurityCtrlr", "BasicAuthPassword", password or "", mutability="WriteOnly", maximum=40,
                     pattern=PASSWORD_PATTERN),
            Variable("OCPPCommCtrlr", "HeartbeatInterval", "300", "integer", minimum=1),
            Variable("OCPPCommCtrlr", "RetryBackOffWaitMinimum", "3", "integer", minimum=0),
            Variable("OCPPCommCtrlr", "RetryBackOffRandomRange", "2", "integer", minimum=0),
            Variable("OCPPCommCtrlr", "RetryBackOffRepeatTimes", "5", "integer", minimum=0),
            # ReadOnly as the catalogue's required variables list has it (TC_B_39_CS sets it and expects Rejected).
            Variable("OCPPCommCtrlr", "MessageTimeout", "30", "integer", ro, minimum=1, instance="Default"),
            Variable("OCPPCommCtrlr", "MessageAttempts", "3", "integer", minimum=1, instance="TransactionEvent"),
            Variable(
                "OCPPCommCtrlr", "MessageAttemptInterval", "10", "integer", minimum=0, instance="TransactionEvent"
            ),
            Variable("OCPPCommCtrlr", "OfflineThreshold", "60", "integer", minimum=0),
            Variable("OCPPCommCtrlr", "FileTransferProtocols", "HTTP,HTTPS", "MemberList", ro, ("HTTP", "HTTPS")),
            # Network profile slots 1..3, the bench's CSMS URL in [csms] configuration_slot (network_profiles.py).
            Variable("OCPPCommCtrlr", "NetworkConfigurationPriority", str(network_slot), "SequenceList",
                     values_list=tuple(str(n) for n in sorted({1, 2, 3, network_slot}))),
            Variable("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", "3", "integer", minimum=1),
            Variable("OCPPCommCtrlr", "ResetRetries", "2", "integer", minimum=0),
            Variable("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", "true", "boolean", ro),
            Variable("ChargingStation", "Available", "true", "boolean", ro),
            Variable("ChargingStation", "SupplyPhases", str(station.phases), "integer", ro),
            Variable("ClockCtrlr", "DateTime", "", "dateTime", ro),
            # The twin's time is the bench clock whatever the source; only Heartbeat is offered.
            Variable("ClockCtrlr", "TimeSource", "Heartbeat", "SequenceList", values_list=("Heartbeat",)),
            # Stored and reported (TC_B_11_CS sets dates here); the twin keeps UTC, no local-time offsets.
            Variable("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "2027-03-28T01:00:00Z", "dateTime"),
            Variable("SecurityCtrlr", "CertificateEntries", "0", "integer", ro),
            Variable("SecurityCtrlr", "OrganizationName", "chargespec", maximum=50),
            *(
                Variable("DeviceDataCtrlr", name, value, "integer", ro, instance=instance)
                for name, value in (("BytesPerMessage", "65536"), ("ItemsPerMessage", "1000"))
                for instance in ("GetReport", "GetVariables", "SetVariables")
            ),
            Variable("AuthCtrlr", "Enabled", "true", "boolean"),
            Variable("AuthCtrlr", "AuthorizeRemoteStart", "false", "boolean"),
            # Local authorization (lab/twin/blocks/c_authorization.py): the cache and the offline rules.
            Variable("AuthCtrlr", "LocalAuthorizeOffline", "false", "boolean"),
            Variable("AuthCtrlr", "LocalPreAuthorize", "false", "boolean"),
            Variable("AuthCtrlr", "OfflineTxForUnknownIdEnabled", "false", "boolean"),
            Variable("AuthCtrlr", "DisableRemoteAuthorization", "false", "boolean"),
            Variable("AuthCtrlr", "MasterPassGroupId", ""),
            Variable("AuthCacheCtrlr", "Enabled", "true", "boolean"),
            Variable("AuthCacheCtrlr", "Available", "true", "boolean", ro),
            Variable("AuthCacheCtrlr", "LifeTime", "86400", "integer", minimum=1, unit="s"),
            Variable("AuthCacheCtrlr", "Storage", "65536", "integer", ro),
            Variable("AuthCacheCtrlr", "Policy", "LRU", "OptionList", values_list=("LRU",)),
            Variable("AuthCacheCtrlr", "DisablePostAuthorize", "false", "boolean"),
            Variable("LocalAuthListCtrlr", "Enabled", "true", "boolean"),
            Variable("LocalAuthListCtrlr", "Available", "true", "boolean", ro),
            # Entries counts the list (computed when read); its maxLimit is the capacity, as the appendix asks.
            Variable("LocalAuthListCtrlr", "Entries", "0", "integer", ro, maximum=LOCAL_LIST_MAX_ENTRIES),
            Variable("LocalAuthListCtrlr", "ItemsPerMessage", "1000", "integer", ro),
            Variable("LocalAuthListCtrlr", "BytesPerMessage", "65536", "integer", ro),
            Variable("LocalAuthListCtrlr", "Storage", "0", "integer", ro),
            Variable("LocalAuthListCtrlr", "DisablePostAuthorize", "false", "boolean"),
            Variable("TxCtrlr", "TxStartPoint", "PowerPathClosed", "MemberList",
                     values_list=TX_START_POINTS + (("DataSigned",) if station.signed_meter_values else ())),
            Variable("TxCtrlr", "TxStopPoint", "EVConnected,Authorized", "MemberList", values_list=TX_STOP_POINTS),
            Variable("TxCtrlr", "EVConnectionTimeOut", "60", "integer", minimum=1),
            # True: the EV side disconnecting stops the transaction (E09); false suspends it (E10).
            Variable("TxCtrlr", "StopTxOnEVSideDisconnect", "true", "boolean"),
            Variable("TxCtrlr", "StopTxOnInvalidId", "true", "boolean"),
            Variable("TxCtrlr", "MaxEnergyOnInvalidId", "0", "integer", minimum=0, unit="Wh"),
            Variable("SampledDataCtrlr", "Enabled", "true", "boolean"),
            _measurands("SampledDataCtrlr", "TxStartedMeasurands"),
            _measurands(
                "SampledDataCtrlr",
                "TxUpdatedMeasurands",
                "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage",
            ),
            Variable("SampledDataCtrlr", "TxUpdatedInterval", "10", "integer", minimum=0),
            _measurands("SampledDataCtrlr", "TxEndedMeasurands"),
            Variable("SampledDataCtrlr", "TxEndedInterval", "0", "integer", minimum=0),
            Variable("AlignedDataCtrlr", "Enabled", "true", "boolean"),
            _measurands("AlignedDataCtrlr", "Measurands"),
            Variable("AlignedDataCtrlr", "Interval", "900", "integer", minimum=0),
            _measurands("AlignedDataCtrlr", "TxEndedMeasurands"),
            Variable("AlignedDataCtrlr", "TxEndedInterval", "0", "integer", minimum=0),
            # True: no clock-aligned values from an EVSE while it has a transaction (J01; TC_J_06_CS).
            Variable("AlignedDataCtrlr", "SendDuringIdle", "false", "boolean"),
            # A meter that signs (the bench file's signed_meter_values) signs what each controller's SignReadings
            # asks: sampled readings (transaction events, triggered MeterValues) and clock-aligned ones apart.
            # Without one, the variables are absent, as OCPP has it for a charger that cannot sign.
            *(
                Variable(component, "SignReadings", "true", "boolean")
                for component in ("SampledDataCtrlr", "AlignedDataCtrlr")
                if station.signed_meter_values
            ),
            Variable("SmartChargingCtrlr", "Enabled", "true", "boolean"),
            Variable("SmartChargingCtrlr", "RateUnit", "A,W", "MemberList", ro, ("A", "W")),
            Variable("SmartChargingCtrlr", "ProfileStackLevel", "10", "integer", ro),
            Variable("SmartChargingCtrlr", "PeriodsPerSchedule", "24", "integer", ro),
            Variable("SmartChargingCtrlr", "LimitChangeSignificance", "1.0", "decimal", minimum=0),
            Variable("SmartChargingCtrlr", "NotifyChargingLimitWithSchedules", "true", "boolean"),
            Variable("SmartChargingCtrlr", "Entries", "0", "integer", ro, instance="ChargingProfiles"),
        ]
        for n in range(1, station.evses + 1):
            vs.append(_availability("EVSE", evse=n))
            vs.append(Variable("EVSE", "Available", "true", "boolean", ro, evse=n))
            vs.append(Variable("EVSE", "SupplyPhases", str(station.phases), "integer", ro, evse=n))
            vs.append(replace(_availability("Connector", evse=n), connector=1))
            for name, value, kind in (("Available", "true", "boolean"), ("ConnectorType", "cType2", "string"),
                                      ("SupplyPhases", str(station.phases), "integer")):
                vs.append(Variable("Connector", name, value, kind, ro, evse=n, connector=1))
            vs.append(
                Variable(
                    "EVSE",
                    "Power",
                    f"{station.max_current_a * station.nominal_voltage_v * station.phases:.0f}",
                    "decimal",
                    ro,
                    evse=n,
                )
            )
        return cls([replace(v, unit=v.unit or _unit(v)) for v in vs], readonly_writable=readonly_writable)

    # ------------------------------------------------------------------ lookups
    def _find(self, component: str, name: str, evse: int | None = None, instance: str | None = None) -> Variable | None:
        """The variable; without an instance, the one variable of that name whatever its instance."""
        var = self._vars.get((component, evse, name, instance))
        if var is None and instance is None:
            found = [v for (c, e, n, _), v in self._vars.items() if (c, e, n) == (component, evse, name)]
            var = found[0] if len(found) == 1 else None
        return var

    def has_component(self, component: str, evse: int | None = None) -> bool:
        return any(c == component and e == evse for c, e, _, _ in self._vars)

    def _current(self, var: Variable) -> str:
        live = self.live.get((var.component, var.name))
        return live() if live is not None else var.value

    def value(self, component: str, name: str, evse: int | None = None, instance: str | None = None) -> str:
        var = self._find(component, name, evse, instance)
        if var is None:
            raise KeyError(f"device model has no {component}.{name}" + (f"[{instance}]" if instance else ""))
        return self._current(var)

    def int(self, component: str, name: str, instance: str | None = None) -> int:
        return int(float(self.value(component, name, instance=instance)))

    def bool(self, component: str, name: str) -> bool:
        return self.value(component, name).lower() == "true"

    def members(self, component: str, name: str) -> list[str]:
        return [m for m in self.value(component, name).split(",") if m]

    def variables(self) -> list[Variable]:
        return list(self._vars.values())

    def put(self, component: str, name: str, value: str, evse: int | None = None) -> None:
        """Set a value from inside the charger (ReadOnly variables too)."""
        var = self._find(component, name, evse)
        if var is None:
            raise KeyError(f"device model has no {component}.{name}")
        self._vars[(var.component, var.evse, var.name, var.instance)] = replace(var, value=value)

    # ------------------------------------------------------------------ OCPP operations
    def _attribute(
        self, component: str, name: str, evse: int | None, attribute: str | None, instance: str | None = None
    ) -> Variable | str:
        """The variable whose Actual attribute a Get/SetVariables request names, or the attributeStatus
        that refuses the request (UnknownComponent, UnknownVariable, NotSupportedAttributeType)."""
        if not self.has_component(component, evse):
            return "UnknownComponent"
        var = self._find(component, name, evse, instance)
        if var is None:
            return "UnknownVariable"
        if attribute not in (None, "Actual"):
            return "NotSupportedAttributeType"
        return var

    def get(
        self,
        component: str,
        name: str,
        evse: int | None = None,
        attribute: str | None = None,
        instance: str | None = None,
    ) -> tuple[str, str | None]:
        """(attributeStatus, value) as GetVariables reports them."""
        var = self._attribute(component, name, evse, attribute, instance)
        if isinstance(var, str):
            return var, None
        if var.mutability == "WriteOnly":
            return "Rejected", None
        return "Accepted", self._current(var)

    def set(
        self,
        component: str,
        name: str,
        value: str,
        evse: int | None = None,
        attribute: str | None = None,
        instance: str | None = None,
    ) -> str:
        """SetVariables attributeStatus: Accepted, Rejected, UnknownComponent, UnknownVariable, ...

        A ReadOnly variable is Rejected (B05.FR.09) unless the readonly_writable fault knob is on."""
        var = self._attribute(component, name, evse, attribute, instance)
        if isinstance(var, str):
            return var
        if (var.mutability == "ReadOnly" and not self.readonly_writable) or not _valid(var, value):
            return "Rejected"
        self._vars[(var.component, var.evse, var.name, var.instance)] = replace(var, value=value)
        return "Accepted"

    def report_data(self) -> list[dict[str, Any]]:
        """GetBaseReport entries (snake_case, as the `ocpp` library sends them)."""
        out = []
        for v in self._vars.values():
            component: dict[str, Any] = {"name": v.component}
            if v.evse is not None:
                component["evse"] = {"id": v.evse}
                if v.connector is not None:
                    component["evse"]["connector_id"] = v.connector
            variable: dict[str, Any] = {"name": v.name}
            if v.instance is not None:
                variable["instance"] = v.instance
            characteristics: dict[str, Any] = {"data_type": v.data_type, "supports_monitoring": False}
            if v.values_list:
                characteristics["values_list"] = ",".join(v.values_list)
            if v.unit:
                characteristics["unit"] = v.unit
            if v.maximum is not None:
                characteristics["max_limit"] = v.maximum
            attribute: dict[str, Any] = {"type": "Actual", "mutability": v.mutability}
            if v.mutability != "WriteOnly":
                attribute["value"] = self._current(v)
            out.append(
                {
                    "component": component,
                    "variable": variable,
                    "variable_attribute": [attribute],
                    "variable_characteristics": characteristics,
                }
            )
        return out


def _availability(component: str, evse: int | None = None) -> Variable:
    """AvailabilityState, as the station and each EVSE report it (read only: the charger sets it)."""
    return Variable(
        component,
        "AvailabilityState",
        "Available",
        "OptionList",
        "ReadOnly",
        ("Available", "Occupied", "Reserved", "Unavailable", "Faulted"),
        evse=evse,
    )


def _measurands(component: str, name: str, default: str = "Energy.Active.Import.Register") -> Variable:
    """A measurand list a CSMS may set to any subset of MEASURANDS."""
    return Variable(component, name, default, "MemberList", values_list=MEASURANDS)


# The written forms of OCPP's integer and decimal (ASCII digits, an optional sign, a decimal point, an exponent):
# Python's int() and float() also read "3_0", " 30", other scripts' digits and "inf", which a charger must refuse
# as invalidly formatted (B05.FR.07, TC_B_11_CS), not store and report back by GetVariables.
INT32 = (-2**31, 2**31 - 1)
_NUMBER = {"integer": re.compile(r"[+-]?[0-9]+"),
           "decimal": re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")}


def _valid(var: Variable, value: str) -> bool:
    if var.data_type in ("integer", "decimal"):
        if not _NUMBER[var.data_type].fullmatch(value):
            return False
        parse: Callable[[str], float] = int if var.data_type == "integer" else float
        number = parse(value)
        if isinstance(number, float) and not math.isfinite(number):
            return False  # "1e400": a decimal too large to hold
        if isinstance(number, int) and not INT32[0] <= number <= INT32[1]:
            # The twin holds an integer in 32 bits, as chargers commonly do (Part 2's primitive datatypes are not
            # at hand; a value a charger cannot hold may be Rejected, TC_B_11_CS). Unbounded, one stored would
            # break the firmware reading it: DeviceModel.int of a TxUpdatedInterval of 10**400 raises OverflowError.
            return False
        return (var.minimum is None or number >= var.minimum) and (var.maximum is None or number <= var.maximum)
    if var.data_type == "boolean":
        return value.lower() in ("true", "false")
    if var.data_type in ("MemberList", "SequenceList"):
        members = [m.strip() for m in value.split(",") if m.strip()]
        return all(m in var.values_list for m in members)
    if var.data_type == "OptionList":
        return value in var.values_list
    if var.data_type == "dateTime":
        return _date_time(value)
    if var.pattern is not None and not re.fullmatch(var.pattern, value):
        return False
    return len(value) <= (var.maximum if var.maximum is not None else 1000)


def _date_time(value: str) -> bool:
    """An RFC 3339 date and time with its offset ("2026-11-30T12:00:00Z"): OCPP's dateTime."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# Variables counted in seconds, by their names' endings (the catalogue's table gives them unit "s").
_SECONDS = ("Interval", "Timeout", "TimeOut", "Threshold", "WaitMinimum", "RandomRange")


def _unit(var: Variable) -> str | None:
    if var.data_type == "integer" and var.name.endswith(_SECONDS):
        return "s"
    if (var.component, var.name) == ("EVSE", "Power"):
        return "W"
    return None
