"""Periodic MeterValues are owed by every EVSE the charger has, on the three-EVSE twin (a pytester subprocess
at 60x, lab/benches/twin-3evse.toml). Clock-aligned every 60 s (OCPP 2.0.1 J01): while EVSE 1 charges, its
values go in TransactionEvent (MeterValueClock, TC_J_02_CS) and EVSEs 2 and 3 keep sending MeterValues. The
check passes, naming the EVSEs it judged and the transaction in which EVSE 1 was not held (it failed before:
EVSE 1's MeterValues stopped for the transaction); EVSE 1 alone, judged while it charged throughout, owed
none: broken, never a pass."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SPEC = '''spec "Clock-aligned MeterValues per EVSE"
  setup
    charger booted
    csms sets variable AlignedDataCtrlr.Measurands to "Energy.Active.Import.Register"
    csms sets variable AlignedDataCtrlr.Interval to "60"

  scenario "EVSE 1 charges, 2 and 3 idle"
    measure "w"
    wait 130 s
    ev plugs in on evse 1
    session starts with token "04A2B3C4" on evse 1
    wait 150 s
    session stops on evse 1
    wait 130 s
    expect charger sends MeterValues {CLOCK} every 60 s ± 15 s during "w"

  scenario "EVSE 1 alone while it charges"
    ev plugs in on evse 1
    session starts with token "04A2B3C4" on evse 1
    measure "tx" for 150 s
    expect charger sends MeterValues {evseId: 1, CLOCK} every 60 s ± 15 s during "tx"
    session stops on evse 1
'''.replace("CLOCK}", 'meterValue: [{sampledValue: [{context: "Sample.Clock"}]}]}')  # (clock-aligned only)


def test_meter_values_are_judged_per_evse_of_the_station(pytester: pytest.Pytester) -> None:
    pytester.makefile(".spec", evses=SPEC)
    alluredir = pytester.path / "allure"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60", "--bench",
                                           str(REPO / "lab/benches/twin-3evse.toml"), f"--alluredir={alluredir}",
                                           f"--evidence={pytester.path / 'evidence'}", timeout=300)
    out = result.stdout.str()
    statuses = {r["name"]: r["status"] for r in
                (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}
    assert statuses == {"EVSE 1 charges, 2 and 3 idle": "passed", "EVSE 1 alone while it charges": "broken"}, out
    result.stdout.fnmatch_lines([
        "*evses.spec:21:5: `expect charger sends MeterValues {evseId: 1, *`*",
        "*no MeterValues was due in the window (t=* s … t=* s): every EVSE held to it was in a transaction "
        "throughout (EVSE 1 during transaction * (from t=* s on)), and meter values go in TransactionEvent then "
        "(OCPP 2.0.1 J01, TC_J_02_CS): nothing to judge*",
    ])
    notes = "".join(p.read_text() for p in (pytester.path / "evidence").rglob("notes.txt"))
    assert re.search(r"MeterValues every 60 s ± 15 s \(t=[\d.]+ s … t=[\d.]+ s\); per EVSE: 1, 2, 3 \(the bench "
                     r"file's evses = 3; the charger reported EVSEs 1, 2, 3; the main meter \(EVSE 0\) sent none in "
                     r"this scenario: not judged\); not held while a transaction ran \(meter values go in "
                     r"TransactionEvent then\): EVSE 1 during transaction \S+ \(from t=[\d.]+ s to t=[\d.]+ s\)$",
                     notes, re.M), notes
