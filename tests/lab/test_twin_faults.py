"""Fault knobs: parsing from strings and typed values, and errors that list the valid knobs."""

from __future__ import annotations

import dataclasses

import pytest

from lab.twin.faults import FaultError, Faults, parse_fault_args, parse_faults


def test_healthy_defaults() -> None:
    f = parse_faults({})
    assert f == Faults()
    assert f.meter_gain == 1.0 and not f.ignore_profiles and f.firmware_version == ""


def test_strings_and_typed_values() -> None:
    f = parse_faults(
        {
            "meter_gain": "1.03",
            "ignore_profiles": "true",
            "limit_delay_s": 20,
            "seqno_gap": True,
            "firmware_version": "1.4.3",
            "offline_drop": "off",
        }
    )
    assert f.meter_gain == pytest.approx(1.03)
    assert f.ignore_profiles is True and f.seqno_gap is True and f.offline_drop is False
    assert f.limit_delay_s == 20.0
    assert f.firmware_version == "1.4.3"


def test_unknown_knob_lists_every_valid_one() -> None:
    with pytest.raises(FaultError) as err:
        parse_faults({"meter_gian": "1.03"})
    text = str(err.value)
    assert "unknown twin fault 'meter_gian'" in text
    for f in dataclasses.fields(Faults):
        assert f.name in text
    assert "meter_gain (number in (0, 10], healthy 1.0)" in text
    assert "ignore_profiles (true/false, healthy False)" in text


@pytest.mark.parametrize(
    ("knob", "value", "why"),
    [
        ("meter_gain", "abc", "expected a number"),
        ("meter_gain", "0", "greater than 0"),
        ("meter_gain", "nan", "finite"),
        ("limit_delay_s", "-1", "at least 0 and at most 86400"),
        ("meter_gain", "11", "at most 10 (a ratio; 1 is healthy)"),
        ("firmware_version", "x" * 51, "at most 50 characters"),
        ("ignore_profiles", "maybe", "expected true or false"),
        ("clock_skew_s", True, "expected a number"),
    ],
)
def test_bad_value_names_knob_and_reason(knob: str, value: object, why: str) -> None:
    with pytest.raises(FaultError) as err:
        parse_faults({knob: value})
    assert f"fault {knob}=" in str(err.value)
    assert why in str(err.value)
    assert "valid faults are" in str(err.value)


def test_command_line_form() -> None:
    assert parse_fault_args(["meter_gain=1.03", " status_stuck = true "]) == {
        "meter_gain": "1.03",
        "status_stuck": "true",
    }
    with pytest.raises(FaultError, match="expected NAME=VALUE"):
        parse_fault_args(["meter_gain"])


def test_serve_refuses_bad_knobs_and_defaults_to_the_csms_command(capsys: pytest.CaptureFixture[str]) -> None:
    from lab.twin.serve import DEFAULT_CSMS_PORT, build_parser, main

    assert main(["--csms", "ws://127.0.0.1:9", "--fault", "meter_gian=1.03"]) == 4  # (a usage error)
    err = capsys.readouterr().err
    assert "unknown twin fault 'meter_gian'" in err and "meter_gain (number" in err
    # alone, the twin meets `chargespec csms` where that listens by default
    assert DEFAULT_CSMS_PORT == 9000
    assert "ws://127.0.0.1:9000" in build_parser().format_help()
