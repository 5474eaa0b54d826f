"""The feature matrix from NotifyReport payloads: controllers present / available / enabled, the variables the
catalogue requires (TC_B_53_CS), and the answer to `charger supports <feature>`."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

import dsl
from dsl.vocab import STANDARD_COMPONENTS
from runner.feature_matrix import CORE, matrix_from_report, required_variables


def entry(component: str, variable: str, value: str | None = None, *, evse: int | None = None,
          instance: str | None = None, data_type: str = "boolean") -> dict[str, Any]:
    comp: dict[str, Any] = {"name": component}
    if evse is not None:
        comp["evse"] = {"id": evse}
    var: dict[str, Any] = {"name": variable}
    if instance is not None:
        var["instance"] = instance
    attribute: dict[str, Any] = {"type": "Actual", "mutability": "ReadWrite"}
    if value is not None:
        attribute["value"] = value
    return {"component": comp, "variable": var, "variableAttribute": [attribute],
            "variableCharacteristics": {"dataType": data_type, "supportsMonitoring": False}}


def parts(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NotifyReport payloads, one per group, tbc on all but the last."""
    return [{"requestId": 7, "generatedAt": "2025-01-01T00:00:00Z", "seqNo": n, "reportData": g,
             **({"tbc": True} if n < len(groups) - 1 else {})} for n, g in enumerate(groups)]


REPORT = parts(
    [entry("SmartChargingCtrlr", "Enabled", "true"), entry("SmartChargingCtrlr", "Available", "true"),
     entry("SmartChargingCtrlr", "RateUnit", "A,W", data_type="MemberList"),
     entry("LocalAuthListCtrlr", "Enabled", "false"), entry("LocalAuthListCtrlr", "Entries", "0", data_type="integer")],
    [entry("ReservationCtrlr", "Available", "FALSE"), entry("ReservationCtrlr", "Enabled", "true"),
     entry("AuthCacheCtrlr", "LifeTime", "3600", data_type="integer"),
     entry("EVSE", "Available", "true", evse=1), entry("EVSE", "Available", "false", evse=2),
     entry("OCPPCommCtrlr", "MessageAttempts", "3", instance="TransactionEvent", data_type="integer"),
     entry("SecurityCtrlr", "BasicAuthPassword", None, data_type="string")],  # write-only: no value
)


def test_controllers_present_available_and_enabled_across_every_part() -> None:
    m = matrix_from_report(REPORT)
    assert m.parts == 2 and len(m.variables) == 12
    got = {name: (c.available, c.enabled, c.variables) for name, c in m.controllers.items()}
    assert got["SmartChargingCtrlr"] == (True, True, 3)
    assert got["LocalAuthListCtrlr"] == (None, False, 2)
    assert got["ReservationCtrlr"] == (False, True, 2)     # "FALSE": booleans read case-blind
    assert got["AuthCacheCtrlr"] == (None, None, 1)        # neither reported: present, no flag
    assert got["EVSE"] == (False, None, 2)                 # one EVSE of two unavailable
    assert m.find("SecurityCtrlr", "BasicAuthPassword")[0].actual is None


@pytest.mark.parametrize(("feature", "supported", "said"), [
    ("SmartChargingCtrlr", True, "SmartChargingCtrlr reports Available = true, Enabled = true"),
    ("LocalAuthListCtrlr", False, "LocalAuthListCtrlr reports Enabled = false"),
    ("ReservationCtrlr", False, "ReservationCtrlr reports Available = false, Enabled = true"),
    ("AuthCacheCtrlr", True, "AuthCacheCtrlr reports neither Available nor Enabled"),
    ("TariffCostCtrlr", False, "TariffCostCtrlr is not in the device model (a FullInventory report of 12 "
                               "variables of 7 components)"),
    ("SmartChargingCtrlr.Enabled", True, "SmartChargingCtrlr.Enabled = true"),
    ("LocalAuthListCtrlr.Enabled", False, "LocalAuthListCtrlr.Enabled = false"),
    ("SmartChargingCtrlr.RateUnit", True, "SmartChargingCtrlr.RateUnit = A,W"),
    ("OCPPCommCtrlr.MessageAttempts[TransactionEvent]", True, "OCPPCommCtrlr.MessageAttempts[TransactionEvent] = 3"),
    ("OCPPCommCtrlr.MessageAttempts[Default]", False, "OCPPCommCtrlr.MessageAttempts[Default] is not in the "
                                                      "device model (a FullInventory report of 12 variables of 7 "
                                                      "components)"),
    ("EVSE.Available", False, "EVSE.Available = false, true"),
])
def test_supports_says_what_the_device_model_said(feature: str, supported: bool, said: str) -> None:
    assert matrix_from_report(REPORT).supports(feature) == (supported, said)


def test_required_variables_come_from_tc_b_53_and_name_standard_components() -> None:
    rows = required_variables()
    assert len(rows) == 64
    assert sum(r.group == CORE for r in rows) == 48
    assert {r.group for r in rows} - {CORE} == {"DisplayMessageCtrlr", "ISO15118Ctrlr", "LocalAuthListCtrlr",
                                                "MonitoringCtrlr", "SmartChargingCtrlr", "TariffCostCtrlr"}
    assert {r.component for r in rows} <= STANDARD_COMPONENTS
    assert ("OCPPCommCtrlr", "MessageTimeout", "Default") in {(r.component, r.variable, r.instance) for r in rows}


def test_missing_required_are_the_core_ones_and_those_of_present_controllers() -> None:
    m = matrix_from_report(REPORT)
    missing = {(r.component, r.variable, r.instance) for r in m.missing_required()}
    assert ("ClockCtrlr", "DateTime", None) in missing                       # Core: always required
    assert ("SmartChargingCtrlr", "ProfileStackLevel", None) in missing      # the controller is there
    assert ("SmartChargingCtrlr", "RateUnit", None) not in missing           # reported
    assert ("LocalAuthListCtrlr", "ItemsPerMessage", None) in missing        # there, though disabled
    assert ("LocalAuthListCtrlr", "Entries", None) not in missing
    assert not any(c == "TariffCostCtrlr" for c, _, _ in missing)          # absent: not required
    assert ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent") not in missing
    assert ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent") in missing


def test_every_required_variable_reported_leaves_none_missing() -> None:
    report = parts([entry(r.component, r.variable, "1", instance=r.instance, evse=1 if r.component in (
        "EVSE", "Connector") else None) for r in required_variables() if r.group == CORE])
    assert matrix_from_report(report).missing_required() == []


def test_the_matrix_as_json_and_csv() -> None:
    m = matrix_from_report(REPORT)
    data = m.as_json()
    smart = next(c for c in data["controllers"] if c["component"] == "SmartChargingCtrlr")
    assert smart == {"component": "SmartChargingCtrlr", "present": True, "available": True, "enabled": True,
                     "variables": 3}
    assert "TC_B_53_CS" in data["required"]["source"]
    assert "ClockCtrlr.DateTime" in data["required"]["missing"]
    assert "OCPPCommCtrlr.MessageTimeout[Default]" in data["required"]["missing"]
    rows = {r["component"]: r for r in csv.DictReader(io.StringIO(m.as_csv("CS1")))}
    assert rows["TariffCostCtrlr"]["present"] == "False"      # a block the catalogue knows, absent
    assert rows["ClockCtrlr"]["present"] == "False" and "DateTime" in rows["ClockCtrlr"]["required_missing"]
    assert (rows["LocalAuthListCtrlr"]["enabled"], rows["LocalAuthListCtrlr"]["station"]) == ("false", "CS1")


def test_malformed_entries_are_passed_over_not_fatal() -> None:
    report = [{"seqNo": 0, "reportData": [None, {"component": {}}, {"component": {"name": "X"}},
                                          entry("SmartChargingCtrlr", "Enabled", "true")]}, {"seqNo": 1}]
    m = matrix_from_report(report)
    assert list(m.controllers) == ["SmartChargingCtrlr"] and m.parts == 2


def test_a_feature_names_a_standardized_component() -> None:
    spec = 'spec "s"\n  scenario "x"\n    charger supports {feature}\n'
    for ok in ("LocalAuthListCtrlr", "SmartChargingCtrlr.Enabled", "OCPPCommCtrlr.MessageAttempts[TransactionEvent]"):
        assert not dsl.check(dsl.parse(spec.format(feature=ok), "x.spec")), ok
    for bad in ("LocalAuthList", "SmartChargingCtrlr.Enabled.Actual", "smartchargingctrlr"):
        assert dsl.check(dsl.parse(spec.format(feature=bad), "x.spec")), bad


def test_characteristics_problems_name_each_variable() -> None:
    bare = entry("TxCtrlr", "TxStartPoint", "EVConnected", data_type="MemberList")       # no valuesList
    listed = entry("TxCtrlr", "TxStopPoint", "EVConnected", data_type="MemberList")
    listed["variableCharacteristics"]["valuesList"] = "EVConnected,Authorized"
    missing = entry("ClockCtrlr", "DateTime", "2025-01-01T00:00:00Z", data_type="dateTime")
    del missing["variableCharacteristics"]
    m = matrix_from_report(parts([bare, listed, missing]))
    assert m.characteristics_problems() == ["ClockCtrlr.DateTime: no variableCharacteristics",
                                            "TxCtrlr.TxStartPoint: dataType MemberList without a valuesList"]
    assert matrix_from_report(parts([listed])).characteristics_problems() == []


def test_a_change_the_charger_accepted_or_had_put_back_drops_the_matrix_read_before_it() -> None:
    """`charger supports variable X with value "V"` after a scenario set X (or set it and had it restored) decided
    on the value the matrix was read with, which the charger no longer held: a wrong skip or run. Any accepted
    change, and any restoration, now drops the station's matrix; the next prerequisite reads it again."""
    from types import SimpleNamespace

    from runner import features, restore
    from runner.feature_matrix import Matrix

    class Session:  # (weakly referable, as the bench session is)
        pass

    session = Session()
    run: Any = SimpleNamespace(session=session, station=SimpleNamespace(id="CS1"),
                               harness=SimpleNamespace(booted_t=lambda _sid: 1.0),
                               changes=restore.Changes())

    def kept() -> bool:
        return features._cache.get(session, {}).get("CS1") is not None

    features._cache.setdefault(session, {})["CS1"] = (1.0, Matrix(variables=()))
    assert features.read_already(run) is not None
    run.changes._pending.append(("variable", "TxCtrlr.TxStartPoint"))
    restore.commit(run, accepted=False)  # refused: the charger holds what was read
    assert kept()
    run.changes._pending.append(("variable", "TxCtrlr.TxStartPoint"))
    restore.commit(run, accepted=True)
    assert not kept() and features.read_already(run) is None
    features._cache.setdefault(session, {})["CS1"] = (1.0, Matrix(variables=()))
    run.changes.variables["TxCtrlr.TxStartPoint"] = restore.VariableOriginal(
        {"component": {"name": "TxCtrlr"}, "variable": {"name": "TxStartPoint"}}, None, "write-only")
    assert restore.restore(run) and not kept()  # (a line per restoration, even one it could not make)
