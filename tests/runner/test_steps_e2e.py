"""Steps do what they say, on the twin, end to end: `ev plugs in` while the charger is offline,
`charger booted` after a reset an earlier scenario left in progress, the return to idle putting back
what a scenario changed (and saying so in the evidence), every teardown line running and reported, and
the bench switch for the TriggerMessage at measurement-window edges.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runner.evidence import slug

REPO = Path(__file__).resolve().parents[2]

STEPS = '''spec "EV plugs in while the charger is offline"
  setup
    charger booted

  scenario "offline plug-in"
    csms refuses reconnects for 10 min
    csms drops the connection
    ev plugs in on evse 1
    csms accepts reconnects
    expect within 2 min: charger status evse 1 is Occupied

spec "A reboot in progress is waited for"
  scenario "a reset is left in progress"
    charger booted
    csms sends Reset {type: "Immediate"}
    expect charger replies {status: "Accepted"}

  scenario "the next scenario's charger booted waits for the boot"
    charger booted
    csms sends TriggerMessage {requestedMessage: "Heartbeat"}
    expect charger replies {status: "Accepted"}

spec "The return to idle restores what a scenario changed"
  setup
    charger booted

  scenario "variables and availability are changed"
    csms sets variable SampledDataCtrlr.TxUpdatedInterval to "20"
    SET_ALIGNED
    csms sends ChangeAvailability {operationalStatus: "Inoperative", evse: {id: 2}}
    expect charger replies {status: "Accepted"}
    expect within 30 s: charger status evse 2 is Unavailable

  scenario "the next scenario finds them restored"
    GET_BOTH
    expect charger replies {getVariableResult: [{attributeValue: "10"}, {attributeValue: "900"}]}
    expect charger status evse 2 is Available

spec "A reply is the answer to the last call a statement made"
  setup
    charger booted

  scenario "session starts and stops are calls"
    GET_ONE
    ev plugs in
    session starts with token "04A2B3C4"
    expect charger replies {status: "Accepted"}
    session stops
    expect charger replies {status: "Accepted"}

spec "Teardown runs every line"
  setup
    charger booted

  scenario "teardown alone fails"
    wait 1 s

  scenario "the scenario and its teardown fail"
    csms sends TriggerMessage {requestedMessage: "Heartbeat"}
    expect charger replies {status: "Rejected"}

  teardown
    session stops
    csms sets variable SampledDataCtrlr.TxUpdatedInterval to "-5"
    csms sets variable SampledDataCtrlr.TxUpdatedInterval to "30"
'''.replace("SET_ALIGNED", 'csms sends SetVariables {setVariableData: [{component: {name: "AlignedDataCtrlr"}, '
                           'variable: {name: "Interval"}, attributeValue: "60"}]}').replace(
    "GET_ONE", 'csms sends GetVariables {getVariableData: [{component: {name: "SampledDataCtrlr"}, variable: '
               '{name: "TxUpdatedInterval"}}]}').replace(
    "GET_BOTH", 'csms sends GetVariables {getVariableData: [{component: {name: "SampledDataCtrlr"}, variable: '
                '{name: "TxUpdatedInterval"}}, {component: {name: "AlignedDataCtrlr"}, variable: {name: "Interval"}}]}')


def _results(alluredir: Path) -> dict[str, dict]:
    return {r["name"]: r for r in (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}


def _evidence(evidence: Path, scenario: str, name: str) -> str:
    (path,) = [p for p in evidence.rglob(name) if p.parent.name == slug(scenario)]
    return path.read_text(encoding="utf-8")


def _notes(evidence: Path, scenario: str) -> str:
    return _evidence(evidence, scenario, "notes.txt")


# One worker runs this module (`make test` distributes by --dist loadgroup): its module fixture is a twin
# run, which every worker that took one of its tests would otherwise make again.
pytestmark = pytest.mark.xdist_group("steps-run")


@pytest.fixture(scope="module")
def steps_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], Path, str]:
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("steps")
    (base / "steps.spec").write_text(STEPS, encoding="utf-8")
    # A reboot long enough (60 bench s, 2 s real) that the next scenario surely starts while it goes on.
    bench = (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8") + "\n[twin.options]\nreboot_s = 60\n"
    (base / "bench.toml").write_text(bench, encoding="utf-8")
    alluredir, evidence = base / "allure", base / "evidence"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(base / "steps.spec"), "-p", "no:cacheprovider",
                           "-rA", "--speed", "30", "--bench", str(base / "bench.toml"),
                           f"--alluredir={alluredir}", f"--evidence={evidence}"],
                          cwd=base, capture_output=True, text=True, timeout=300, check=False)
    return _results(alluredir), evidence, proc.stdout + proc.stderr


def test_ev_plugs_in_while_the_charger_is_offline(steps_run: tuple[dict[str, dict], Path, str]) -> None:
    results, evidence, out = steps_run
    assert results["offline plug-in"]["status"] == "passed", out[-3000:]
    assert "EV plugged in on evse 1 while the charger is offline" in _notes(evidence, "offline plug-in")


def test_charger_booted_waits_for_a_reboot_in_progress(steps_run: tuple[dict[str, dict], Path, str]) -> None:
    results, evidence, out = steps_run
    name = "the next scenario's charger booted waits for the boot"
    assert results["a reset is left in progress"]["status"] == "passed", out[-3000:]
    assert results[name]["status"] == "passed", out[-3000:]
    frames = [json.loads(json.loads(line)["frame"]) for line in _evidence(evidence, name, "ocpp.jsonl").splitlines()]
    actions = [f[2] for f in frames if f[0] == 2]
    # The scenario's first OCPP exchange is the reboot's boot, not a call to a charger that is off the air.
    assert actions.index("BootNotification") < actions.index("TriggerMessage"), actions


def test_a_reply_after_session_starts_or_stops_is_the_answer_to_its_call(
        steps_run: tuple[dict[str, dict], Path, str]) -> None:
    """`session starts` and `session stops` send RequestStartTransaction / RequestStopTransaction: the reply
    judged after them is theirs, not the GetVariables answer of the `csms sends` before (which has no status,
    and which `expect charger replies {status: "Accepted"}` used to judge)."""
    results, evidence, out = steps_run
    assert results["session starts and stops are calls"]["status"] == "passed", out[-3000:]
    notes = _notes(evidence, "session starts and stops are calls")
    assert "charger's RequestStartTransaction response matches" in notes, notes
    assert "charger's RequestStopTransaction response matches" in notes, notes


def test_return_to_idle_restores_and_records_it(steps_run: tuple[dict[str, dict], Path, str]) -> None:
    results, evidence, out = steps_run
    assert results["variables and availability are changed"]["status"] == "passed", out[-3000:]
    assert results["the next scenario finds them restored"]["status"] == "passed", out[-3000:]
    notes = _notes(evidence, "variables and availability are changed")
    assert "return to idle: availability of evse 2 restored to Operative (Accepted; " \
           "EVSE.AvailabilityState was 'Available')" in notes
    assert "return to idle: AlignedDataCtrlr.Interval restored to '900' (Accepted)" in notes
    assert "return to idle: SampledDataCtrlr.TxUpdatedInterval restored to '10' (Accepted)" in notes
    # latest change first
    assert notes.index("AlignedDataCtrlr.Interval restored") < notes.index("TxUpdatedInterval restored")


def test_teardown_runs_every_line_and_reports_each_failure(steps_run: tuple[dict[str, dict], Path, str]) -> None:
    results, evidence, out = steps_run
    alone = results["teardown alone fails"]
    assert alone["status"] == "failed", out[-3000:]
    message = alone["statusDetails"]["message"]
    assert re.search(r"steps\.spec:\d+:5: `session stops`\n  teardown failed 2 time\(s\): line \d+: session "
                     r"stops: the charger has no active transaction; line \d+: charger did not accept "
                     r"SampledDataCtrlr\.TxUpdatedInterval = -5", message), message
    # the line after the failures ran: its change was made, then restored
    assert "SampledDataCtrlr.TxUpdatedInterval restored to '10'" in _notes(evidence, "teardown alone fails")
    both = results["the scenario and its teardown fail"]["statusDetails"]["message"]
    assert results["the scenario and its teardown fail"]["status"] == "failed"
    assert re.search(r"expect charger replies \{status: \"Rejected\"\}`\n .*Accepted.*\n  and teardown failed "
                     r"2 time\(s\): line \d+: session stops", both, re.DOTALL), both


WINDOW = '''spec "A measurement window"
  setup
    charger booted
    ev plugs in on evse 1
    session starts with token "04A2B3C4"
    ev draws 16 A

  scenario "window"
    measure "w" for 1 min

  teardown
    session stops
'''


@pytest.mark.parametrize("trigger", [True, False])
def test_window_edge_trigger_message_follows_the_bench_file(pytester: pytest.Pytester, trigger: bool) -> None:
    bench = (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8").replace(
        "strict_schema = true", f"strict_schema = true\ntrigger_meter_values_at_window_edges = {str(trigger).lower()}")
    pytester.makefile(".toml", bench=bench)
    pytester.makefile(".spec", window=WINDOW)
    evidence = pytester.path / "evidence"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "30", "--bench", "bench.toml",
                                           f"--evidence={evidence}", timeout=300)
    result.assert_outcomes(passed=1)
    trace = next(evidence.rglob("ocpp.jsonl")).read_text()
    triggers = trace.count('\\"TriggerMessage\\"')
    notes = next(evidence.rglob("notes.txt")).read_text() if next(evidence.rglob("notes.txt"), None) else ""
    if trigger:
        assert triggers == 2, trace  # one at each edge of the window
    else:
        assert triggers == 0
        assert "no TriggerMessage at window edges (csms.trigger_meter_values_at_window_edges = false)" in notes
