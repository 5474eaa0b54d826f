"""The twin charger's device model on its own: what GetVariables/SetVariables answer, and what is stored."""

from __future__ import annotations

import pytest

from lab.bench import StationConfig
from lab.twin.device_model import MEASURANDS, DeviceModel


@pytest.fixture
def dm() -> DeviceModel:
    station = StationConfig(id="CS1", vendor="ACME", model="AC22", firmware="1.0", evses=2, phases=3,
                            nominal_voltage_v=230.0, max_current_a=32.0)
    return DeviceModel.for_station(station, security_profile=1, password="secret")


@pytest.mark.parametrize(("component", "name", "evse", "attribute", "status"), [
    ("Nope", "Enabled", None, None, "UnknownComponent"),
    ("EVSE", "AvailabilityState", 3, None, "UnknownComponent"),  # only EVSEs 1 and 2 exist
    ("EVSE", "AvailabilityState", None, None, "UnknownComponent"),  # EVSE variables need an evse id
    ("AuthCtrlr", "Nope", None, None, "UnknownVariable"),
    ("AuthCtrlr", "Enabled", None, "Target", "NotSupportedAttributeType"),
])
def test_get_and_set_refuse_what_does_not_exist_alike(dm, component, name, evse, attribute, status) -> None:
    assert dm.get(component, name, evse, attribute) == (status, None)
    assert dm.set(component, name, "true", evse, attribute) == status


def test_get_reads_the_actual_value_but_never_a_write_only_one(dm) -> None:
    assert dm.get("AuthCtrlr", "Enabled", attribute="Actual") == ("Accepted", "true")
    assert dm.get("EVSE", "AvailabilityState", 2) == ("Accepted", "Available")
    assert dm.get("EVSE", "Power", 1) == ("Accepted", "22080")
    assert dm.get("SecurityCtrlr", "BasicAuthPassword") == ("Rejected", None)
    assert dm.set("SecurityCtrlr", "BasicAuthPassword", "x" * 40) == "Accepted"
    assert dm.set("SecurityCtrlr", "BasicAuthPassword", "x" * 41) == "Rejected"


@pytest.mark.parametrize(("component", "name", "value", "status"), [
    ("OCPPCommCtrlr", "HeartbeatInterval", "60", "Accepted"),
    ("OCPPCommCtrlr", "HeartbeatInterval", "0", "Rejected"),  # minimum 1
    ("OCPPCommCtrlr", "HeartbeatInterval", "1.5", "Rejected"),  # integer
    ("SmartChargingCtrlr", "LimitChangeSignificance", "0.5", "Accepted"),
    ("SmartChargingCtrlr", "LimitChangeSignificance", "-0.1", "Rejected"),  # minimum 0
    ("SmartChargingCtrlr", "LimitChangeSignificance", "much", "Rejected"),
    # B05.FR.07 (TC_B_11_CS): what Python's int()/float() would read but is no OCPP integer or decimal is Rejected,
    # not stored and then reported back by GetVariables as the variable's value
    ("OCPPCommCtrlr", "HeartbeatInterval", "3_0", "Rejected"),
    ("OCPPCommCtrlr", "HeartbeatInterval", " 30", "Rejected"),
    ("OCPPCommCtrlr", "HeartbeatInterval", "\u0663\u0660", "Rejected"),  # Arabic-Indic digits 30
    ("OCPPCommCtrlr", "HeartbeatInterval", "+30", "Accepted"),
    ("SampledDataCtrlr", "TxUpdatedInterval", "2147483647", "Accepted"),  # the twin's integers are 32-bit
    ("SampledDataCtrlr", "TxUpdatedInterval", "2147483648", "Rejected"),
    ("SampledDataCtrlr", "TxUpdatedInterval", "1" + "0" * 400, "Rejected"),  # was Accepted; reading it raised
    ("SmartChargingCtrlr", "LimitChangeSignificance", "inf", "Rejected"),
    ("SmartChargingCtrlr", "LimitChangeSignificance", "Infinity", "Rejected"),
    ("SmartChargingCtrlr", "LimitChangeSignificance", "1e400", "Rejected"),  # overflows to infinity
    ("SmartChargingCtrlr", "LimitChangeSignificance", "1_0.5", "Rejected"),
    ("SmartChargingCtrlr", "LimitChangeSignificance", ".5", "Accepted"),
    ("SmartChargingCtrlr", "LimitChangeSignificance", "60", "Accepted"),
    ("AuthCtrlr", "Enabled", "FALSE", "Accepted"),
    ("AuthCtrlr", "Enabled", "no", "Rejected"),
    ("SampledDataCtrlr", "TxUpdatedMeasurands", "Voltage, Frequency", "Accepted"),
    ("AlignedDataCtrlr", "TxEndedMeasurands", "Energy.Active.Import.Register,Power", "Rejected"),
    ("ChargingStation", "AvailabilityState", "Available", "Rejected"),  # ReadOnly, though a valid option
    ("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", "false", "Rejected"),  # ReadOnly (no cable lock is modelled)
    ("TxCtrlr", "StopTxOnEVSideDisconnect", "false", "Accepted"),  # honoured: E09 true, E10 false
    ("OCPPCommCtrlr", "MessageTimeout", "60", "Rejected"),  # ReadOnly in the required variables (TC_B_39_CS)
    ("OCPPCommCtrlr", "OfflineThreshold", "300", "Accepted"),  # known and ReadWrite (TC_B_06_CS .. TC_B_10_CS)
    ("TxCtrlr", "StopTxOnInvalidId", "false", "Accepted"),
    ("TxCtrlr", "TxStartPoint", "EnergyTransfer", "Accepted"),  # honoured since the EnergyTransfer start point (L-13)
    ("TxCtrlr", "TxStartPoint", "DataSigned", "Rejected"),  # this meter does not sign: refused, never ignored
    ("TxCtrlr", "TxStopPoint", "DataSigned", "Rejected"),
    ("TxCtrlr", "TxStopPoint", "PowerPathClosed", "Accepted"),
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "2026-11-30T12:00:00Z", "Accepted"),  # TC_B_11_CS
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "2026-11-30T12:00:00+01:00", "Accepted"),
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "true", "Rejected"),
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "1.1", "Rejected"),
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "2026-13-30T12:00:00Z", "Rejected"),  # no 13th month
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", "2026-11-30T12:00:00", "Rejected"),  # no offset
])
def test_set_checks_type_minimum_lists_and_mutability(dm, component, name, value, status) -> None:
    before = dm.value(component, name)
    assert dm.set(component, name, value) == status
    assert dm.value(component, name) == (value if status == "Accepted" else before)


def test_measurand_lists_and_availability_in_the_base_report(dm) -> None:
    report = {(r["component"]["name"], r["component"].get("evse", {}).get("id"), r["variable"]["name"]): r
              for r in dm.report_data()}
    for key in [("SampledDataCtrlr", None, "TxStartedMeasurands"), ("SampledDataCtrlr", None, "TxEndedMeasurands"),
                ("AlignedDataCtrlr", None, "Measurands"), ("AlignedDataCtrlr", None, "TxEndedMeasurands")]:
        entry = report[key]
        assert entry["variable_attribute"] == [{"type": "Actual", "mutability": "ReadWrite",
                                                "value": "Energy.Active.Import.Register"}]
        assert entry["variable_characteristics"] == {"data_type": "MemberList", "supports_monitoring": False,
                                                     "values_list": ",".join(MEASURANDS)}
    assert dm.members("SampledDataCtrlr", "TxUpdatedMeasurands") == [
        "Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage"]
    for key in [("ChargingStation", None, "AvailabilityState"), ("EVSE", 1, "AvailabilityState"),
                ("EVSE", 2, "AvailabilityState")]:
        entry = report[key]
        assert entry["variable_attribute"] == [{"type": "Actual", "mutability": "ReadOnly", "value": "Available"}]
        assert entry["variable_characteristics"]["values_list"] == "Available,Occupied,Reserved,Unavailable,Faulted"
    assert "value" not in report[("SecurityCtrlr", None, "BasicAuthPassword")]["variable_attribute"][0]


def test_every_read_only_variable_is_rejected_unless_the_knob_makes_it_writable() -> None:
    station = StationConfig(id="CS1", vendor="ACME", model="AC22", firmware="1.0", evses=1, phases=3,
                            nominal_voltage_v=230.0, max_current_a=32.0)
    healthy = DeviceModel.for_station(station)
    read_only = [v for v in healthy.variables() if v.mutability == "ReadOnly"]
    assert len(read_only) >= 10
    for v in read_only:
        assert healthy.set(v.component, v.name, v.value, v.evse, instance=v.instance) == "Rejected", v
    broken = DeviceModel.for_station(station, readonly_writable=True)
    assert broken.set("OCPPCommCtrlr", "MessageTimeout", "60") == "Accepted"
    assert broken.value("OCPPCommCtrlr", "MessageTimeout") == "60"


# The required Core components/variables of the catalogue's TC_B_53_CS table (Part 6), with their instances.
REQUIRED = [
    ("AlignedDataCtrlr", None, "Interval", None), ("AlignedDataCtrlr", None, "TxEndedInterval", None),
    ("AuthCtrlr", None, "AuthorizeRemoteStart", None), ("AuthCtrlr", None, "LocalAuthorizeOffline", None),
    ("AuthCtrlr", None, "LocalPreAuthorize", None), ("ChargingStation", None, "Available", None),
    ("ChargingStation", None, "SupplyPhases", None), ("ClockCtrlr", None, "DateTime", None),
    ("ClockCtrlr", None, "TimeSource", None), ("Connector", 1, "AvailabilityState", None),
    ("Connector", 1, "ConnectorType", None), ("Connector", 2, "SupplyPhases", None),
    ("DeviceDataCtrlr", None, "BytesPerMessage", "GetReport"),
    ("DeviceDataCtrlr", None, "ItemsPerMessage", "SetVariables"),
    ("EVSE", 1, "Available", None), ("EVSE", 2, "SupplyPhases", None),
    ("OCPPCommCtrlr", None, "FileTransferProtocols", None), ("OCPPCommCtrlr", None, "MessageTimeout", "Default"),
    ("OCPPCommCtrlr", None, "MessageAttemptInterval", "TransactionEvent"),
    ("OCPPCommCtrlr", None, "MessageAttempts", "TransactionEvent"),
    ("OCPPCommCtrlr", None, "NetworkConfigurationPriority", None),
    ("OCPPCommCtrlr", None, "NetworkProfileConnectionAttempts", None),
    ("OCPPCommCtrlr", None, "OfflineThreshold", None),
    ("OCPPCommCtrlr", None, "ResetRetries", None), ("OCPPCommCtrlr", None, "UnlockOnEVSideDisconnect", None),
    ("SecurityCtrlr", None, "CertificateEntries", None), ("SecurityCtrlr", None, "OrganizationName", None),
    ("SecurityCtrlr", None, "SecurityProfile", None), ("TxCtrlr", None, "StopTxOnInvalidId", None),
    ("SmartChargingCtrlr", None, "Entries", "ChargingProfiles"),
]


@pytest.mark.parametrize(("component", "evse", "name", "instance"), REQUIRED)
def test_required_variables_are_known_with_their_instances(dm, component, evse, name, instance) -> None:
    assert dm.get(component, name, evse, instance=instance)[0] == "Accepted"
    report = [r for r in dm.report_data() if (r["component"]["name"], r["variable"]["name"]) == (component, name)]
    assert instance in {r["variable"].get("instance") for r in report}
    if component == "Connector":
        assert {r["component"]["evse"]["connector_id"] for r in report} == {1}


def test_a_wrong_instance_is_an_unknown_variable_and_live_values_are_computed(dm) -> None:
    assert dm.get("OCPPCommCtrlr", "MessageTimeout", instance="Other") == ("UnknownVariable", None)
    assert dm.get("OCPPCommCtrlr", "MessageTimeout") == ("Accepted", "30")  # no instance: the only one
    dm.live[("ClockCtrlr", "DateTime")] = lambda: "2026-01-01T00:00:00Z"
    assert dm.get("ClockCtrlr", "DateTime") == ("Accepted", "2026-01-01T00:00:00Z")


def test_times_report_seconds_and_power_watts(dm) -> None:
    units = {(r["component"]["name"], r["variable"]["name"]): r["variable_characteristics"].get("unit")
             for r in dm.report_data()}
    for key in [("AlignedDataCtrlr", "Interval"), ("SampledDataCtrlr", "TxUpdatedInterval"),
                ("OCPPCommCtrlr", "MessageTimeout"), ("OCPPCommCtrlr", "OfflineThreshold"),
                ("OCPPCommCtrlr", "MessageAttemptInterval"), ("TxCtrlr", "EVConnectionTimeOut")]:
        assert units[key] == "s", key
    assert units[("EVSE", "Power")] == "W"
    assert units[("OCPPCommCtrlr", "MessageAttempts")] is None  # a count


def test_sign_readings_exist_only_for_a_meter_that_signs(dm) -> None:
    """SampledDataCtrlr/AlignedDataCtrlr.SignReadings: ReadWrite booleans, true, when the bench file says the
    meter signs (signed_meter_values); absent when it cannot (a charger that cannot sign has no such setting)."""
    for component in ("SampledDataCtrlr", "AlignedDataCtrlr"):
        assert dm.get(component, "SignReadings") == ("UnknownVariable", None)
    assert dm.set("TxCtrlr", "TxStartPoint", "DataSigned") == "Rejected"  # a point it could not honour
    station = StationConfig(id="CS1", vendor="ACME", model="AC22", firmware="1.0", signed_meter_values=True)
    signing = DeviceModel.for_station(station)
    for component in ("SampledDataCtrlr", "AlignedDataCtrlr"):
        assert signing.get(component, "SignReadings") == ("Accepted", "true")
        assert signing.set(component, "SignReadings", "maybe") == "Rejected"
        assert signing.set(component, "SignReadings", "false") == "Accepted"
        assert signing.get(component, "SignReadings") == ("Accepted", "false")
    assert signing.set("TxCtrlr", "TxStartPoint", "DataSigned") == "Accepted"
