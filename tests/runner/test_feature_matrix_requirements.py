"""The requirement forms beyond "present and not false": a variable reported at all, writable, with a value or
settable to one (answered by the feature matrix), and capabilities outside the device model (answered by the
bench file), with the skip reason each gives. The end-to-end run on the twin is in
tests/runner/test_feature_matrix_e2e.py; the checker's errors for them are goldens (tests/dsl/golden/req-*)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dsl
from dsl.vocab import CAPABILITIES
from lab.bench import BenchFileError, load_bench
from runner.errors import NotSupportedByCharger
from runner.feature_matrix import matrix_from_report

REPO = Path(__file__).resolve().parents[2]


def entry(component: str, variable: str, value: str | None, mutability: str | None = "ReadWrite", *,
          evse: int | None = None, values_list: str | None = None, data_type: str = "boolean") -> dict[str, Any]:
    comp: dict[str, Any] = {"name": component, **({"evse": {"id": evse}} if evse is not None else {})}
    attribute: dict[str, Any] = {"type": "Actual"}
    if mutability is not None:
        attribute["mutability"] = mutability
    if value is not None:
        attribute["value"] = value
    chars: dict[str, Any] = {"dataType": data_type, "supportsMonitoring": False}
    if values_list is not None:
        chars["valuesList"] = values_list
    return {"component": comp, "variable": {"name": variable}, "variableAttribute": [attribute],
            "variableCharacteristics": chars}


MATRIX = matrix_from_report([{"requestId": 1, "generatedAt": "2025-01-01T00:00:00Z", "seqNo": 0, "reportData": [
    entry("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", "true", "ReadOnly"),
    entry("TxCtrlr", "StopTxOnEVSideDisconnect", "TRUE", "ReadWrite"),
    entry("TxCtrlr", "EVConnectionTimeOut", "60", None, data_type="integer"),       # mutability left out: ReadWrite
    entry("TxCtrlr", "TxStartPoint", "PowerPathClosed", "ReadWrite", data_type="MemberList",
          values_list="EVConnected,Authorized,PowerPathClosed"),
    entry("TxCtrlr", "TxStopPoint", "EVConnected,Authorized", "ReadOnly", data_type="MemberList",
          values_list="EVConnected,Authorized"),
    entry("SecurityCtrlr", "BasicAuthPassword", None, "WriteOnly", data_type="string"),
    entry("EVSE", "AvailabilityState", "Available", "ReadOnly", evse=1, data_type="OptionList"),
    entry("EVSE", "AvailabilityState", "Occupied", "ReadOnly", evse=2, data_type="OptionList"),
]}])
ABSENT = "is not in the device model (a FullInventory report of 8 variables of 4 components)"


@pytest.mark.parametrize(("name", "form", "supported", "said"), [
    # reported at all: any value, any mutability
    ("OCPPCommCtrlr.UnlockOnEVSideDisconnect", {}, True, "OCPPCommCtrlr.UnlockOnEVSideDisconnect = true, ReadOnly"),
    ("AlignedDataCtrlr.SignReadings", {}, False, f"AlignedDataCtrlr.SignReadings {ABSENT}"),
    ("SecurityCtrlr.BasicAuthPassword", {}, True, "SecurityCtrlr.BasicAuthPassword no Actual value, WriteOnly"),
    # writable: ReadWrite or WriteOnly; mutability left out is ReadWrite
    ("OCPPCommCtrlr.UnlockOnEVSideDisconnect", {"writable": True}, False,
     "OCPPCommCtrlr.UnlockOnEVSideDisconnect = true, ReadOnly"),
    ("SecurityCtrlr.BasicAuthPassword", {"writable": True}, True,
     "SecurityCtrlr.BasicAuthPassword no Actual value, WriteOnly"),
    ("TxCtrlr.EVConnectionTimeOut", {"writable": True}, True,
     "TxCtrlr.EVConnectionTimeOut = 60, mutability not reported (ReadWrite)"),
    ("AlignedDataCtrlr.SignReadings", {"writable": True}, False, f"AlignedDataCtrlr.SignReadings {ABSENT}"),
    # with value: booleans without case, lists member by member
    ("TxCtrlr.StopTxOnEVSideDisconnect", {"value": "true"}, True, "TxCtrlr.StopTxOnEVSideDisconnect = TRUE, ReadWrite"),
    ("TxCtrlr.StopTxOnEVSideDisconnect", {"value": "false"}, False,
     "TxCtrlr.StopTxOnEVSideDisconnect = TRUE, ReadWrite"),
    ("TxCtrlr.TxStopPoint", {"value": "EVConnected, Authorized"}, True,
     "TxCtrlr.TxStopPoint = EVConnected,Authorized, ReadOnly, valuesList EVConnected,Authorized"),
    ("SecurityCtrlr.BasicAuthPassword", {"value": ""}, False,
     "SecurityCtrlr.BasicAuthPassword no Actual value, WriteOnly"),
    # settable to: writable (and in the valuesList where there is one), or already that value
    ("OCPPCommCtrlr.UnlockOnEVSideDisconnect", {"settable_to": "false"}, False,
     "OCPPCommCtrlr.UnlockOnEVSideDisconnect = true, ReadOnly"),
    ("OCPPCommCtrlr.UnlockOnEVSideDisconnect", {"settable_to": "true"}, True,
     "OCPPCommCtrlr.UnlockOnEVSideDisconnect = true, ReadOnly"),
    ("TxCtrlr.StopTxOnEVSideDisconnect", {"settable_to": "false"}, True,
     "TxCtrlr.StopTxOnEVSideDisconnect = TRUE, ReadWrite"),
    ("TxCtrlr.TxStartPoint", {"settable_to": "Authorized,EVConnected"}, True,
     "TxCtrlr.TxStartPoint = PowerPathClosed, ReadWrite, valuesList EVConnected,Authorized,PowerPathClosed"),
    ("TxCtrlr.TxStartPoint", {"settable_to": "DataSigned"}, False,
     "TxCtrlr.TxStartPoint = PowerPathClosed, ReadWrite, valuesList EVConnected,Authorized,PowerPathClosed"),
    ("TxCtrlr.TxStopPoint", {"settable_to": "EVConnected,Authorized"}, True,
     "TxCtrlr.TxStopPoint = EVConnected,Authorized, ReadOnly, valuesList EVConnected,Authorized"),
    ("TxCtrlr.TxStopPoint", {"settable_to": "Authorized"}, False,
     "TxCtrlr.TxStopPoint = EVConnected,Authorized, ReadOnly, valuesList EVConnected,Authorized"),
    # without value: reported with an Actual value that is not V (compared as `with value`: Part 6's "TxStartPoint
    # should not be EnergyTransfer"); a value not reported is not known not to be V
    ("TxCtrlr.TxStartPoint", {"without_value": "EnergyTransfer"}, True,
     "TxCtrlr.TxStartPoint = PowerPathClosed, ReadWrite, valuesList EVConnected,Authorized,PowerPathClosed"),
    ("TxCtrlr.TxStartPoint", {"without_value": "PowerPathClosed"}, False,
     "TxCtrlr.TxStartPoint = PowerPathClosed, ReadWrite, valuesList EVConnected,Authorized,PowerPathClosed"),
    ("TxCtrlr.TxStopPoint", {"without_value": "EVConnected, Authorized"}, False,
     "TxCtrlr.TxStopPoint = EVConnected,Authorized, ReadOnly, valuesList EVConnected,Authorized"),
    ("TxCtrlr.TxStopPoint", {"without_value": "Authorized"}, True,
     "TxCtrlr.TxStopPoint = EVConnected,Authorized, ReadOnly, valuesList EVConnected,Authorized"),
    ("TxCtrlr.StopTxOnEVSideDisconnect", {"without_value": "true"}, False,
     "TxCtrlr.StopTxOnEVSideDisconnect = TRUE, ReadWrite"),
    ("SecurityCtrlr.BasicAuthPassword", {"without_value": "secret"}, False,
     "SecurityCtrlr.BasicAuthPassword no Actual value, WriteOnly"),
    ("AlignedDataCtrlr.SignReadings", {"without_value": "true"}, False, f"AlignedDataCtrlr.SignReadings {ABSENT}"),
    ("EVSE.AvailabilityState", {"without_value": "Occupied"}, False,
     "EVSE.AvailabilityState (evse 1) = Available, ReadOnly; EVSE.AvailabilityState (evse 2) = Occupied, ReadOnly"),
    # a per-EVSE variable: every EVSE must satisfy the form
    ("EVSE.AvailabilityState", {"value": "Available"}, False,
     "EVSE.AvailabilityState (evse 1) = Available, ReadOnly; EVSE.AvailabilityState (evse 2) = Occupied, ReadOnly"),
])
def test_variable_forms_say_what_the_device_model_said(name: str, form: dict[str, Any], supported: bool,
                                                      said: str) -> None:
    assert MATRIX.variable(name, **form) == (supported, said)


def test_a_skip_names_the_feature_first_then_what_was_said() -> None:
    lacks = NotSupportedByCharger('variable TxCtrlr.StopTxOnEVSideDisconnect settable to "false"',
                                  "the device model says: TxCtrlr.StopTxOnEVSideDisconnect = true, ReadOnly")
    assert lacks.reason == ('charger lacks an optional feature: variable TxCtrlr.StopTxOnEVSideDisconnect settable '
                            'to "false" (the device model says: TxCtrlr.StopTxOnEVSideDisconnect = true, ReadOnly)')
    has = NotSupportedByCharger("capability EvseReset", "the bench file declares EvseReset = true", wanted_absent=True)
    assert has.reason == ("the case is for chargers without an optional feature: capability EvseReset (the bench "
                          "file declares EvseReset = true)")


def test_every_form_checks_and_lowers_to_its_statement() -> None:
    spec = dsl.parse('spec "s"\n  scenario "x"\n    charger booted\n'
                     '    charger supports variable TxCtrlr.StopTxOnEVSideDisconnect\n'
                     '    charger supports variable TxCtrlr.StopTxOnEVSideDisconnect writable\n'
                     '    charger supports variable OCPPCommCtrlr.MessageAttempts[TransactionEvent] with value "3"\n'
                     '    charger supports variable TxCtrlr.TxStartPoint settable to "EVConnected,Authorized"\n'
                     '    charger supports variable TxCtrlr.TxStartPoint without value "EnergyTransfer"\n'
                     '    charger supports capability EvseReset\n'
                     '    charger lacks capability SummaryInventory\n', "x.spec")
    assert not dsl.check(spec)
    (plan,) = dsl.compile(spec)
    assert [s.step for s in plan.scenarios[0].steps][4:6] == ["charger.supports_settable",
                                                              "charger.supports_without_value"]


def test_the_twin_bench_declares_what_its_firmware_does() -> None:
    """Each capability the twin bench declares is a standardized name, and EvseReset is declared because the
    twin resets one EVSE (tests/lab/test_twin_evse_reset.py)."""
    (station,) = load_bench(REPO / "lab" / "benches" / "twin.toml").stations
    assert set(station.capabilities) <= set(CAPABILITIES)
    assert station.capabilities["EvseReset"] is True and station.capabilities["SummaryInventory"] is True


def test_a_bench_file_capability_is_a_camel_case_name_and_a_boolean(tmp_path: Path) -> None:
    def problems(table: str) -> str:
        path = tmp_path / "bench.toml"
        path.write_text(f'name = "b"\nkind = "twin"\n[[stations]]\nid = "CS1"\n[stations.capabilities]\n{table}\n',
                        encoding="utf-8")
        with pytest.raises(BenchFileError) as e:
            load_bench(path)
        return str(e.value)

    assert "capability names are CamelCase words (EvseReset, FixedCable, ...), not ['evse reset']" in problems(
        '"evse reset" = true')
    assert "stations.0.capabilities.FixedCable: Input should be a valid boolean" in problems('FixedCable = "sometimes"')
