"""Silence is evidence only while the charger is connected, on the twin (a pytester subprocess at 60x). Over a
window in which the bench had dropped it, no message came because none could: `expect no …` and `exactly 0 …`
are broken, naming the gap, and never a pass; so is a hold on a status the charger reports (no report is no
evidence that it held)."""

from __future__ import annotations

import json

import pytest

SPEC = '''spec "Silence is judged while the charger is connected"
  setup
    charger booted

  scenario "silent while connected"
    ev plugs in on evse 1
    expect no StatusNotification {connectorStatus: "Faulted"} for 10 s

  scenario "silent while dropped"
    csms refuses reconnects for 5 min
    csms drops the connection
    expect no StatusNotification {connectorStatus: "Faulted"} for 10 s

  scenario "none counted while dropped"
    csms refuses reconnects for 5 min
    csms drops the connection
    expect within 10 s: charger sends exactly 0 StatusNotification {connectorStatus: "Faulted"}

  scenario "status held while dropped"
    expect charger status evse 1 is Available
    csms refuses reconnects for 5 min
    csms drops the connection
    expect for 10 s: charger status evse 1 is Available
'''


def test_silence_while_dropped_is_broken_and_silence_while_connected_passes(pytester: pytest.Pytester) -> None:
    pytester.makefile(".spec", silence=SPEC)
    alluredir = pytester.path / "allure"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "60",
                                           f"--alluredir={alluredir}", timeout=300)
    result.assert_outcomes(failed=3, passed=1)
    result.stdout.fnmatch_lines([
        "*BROKEN (a bench fault, not a charger failure)*",
        "*silence.spec:12:5: `expect no StatusNotification {connectorStatus: \"Faulted\"} for 10 s`*",
        "*no StatusNotification came, but the charger was not connected for 10.0 s of the 10 s (t=* s … t=* s): "
        "its silence then is not evidence; judge a window in which it is connected*",
        "*silence.spec:17:5: `expect within 10 s: charger sends exactly 0 StatusNotification*",
        "*0 StatusNotification {connectorStatus: \"Faulted\"} came (exactly 0), but the charger was not connected "
        "for * s of the window (t=* s … t=* s): its silence then is not evidence*",
        "*silence.spec:23:5: `expect for 10 s: charger status evse 1 is Available`*",
        "*charger status evse 1 is what the charger reports, and the charger was not connected for 10.0 s "
        "(t=* s … t=* s): the 10 s hold (t=* s … t=* s) cannot be judged; judge a span in which it is connected*",
    ])
    statuses = {r["name"]: r["status"] for r in
                (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}
    assert statuses == {"silent while connected": "passed", "silent while dropped": "broken",
                        "none counted while dropped": "broken", "status held while dropped": "broken"}
