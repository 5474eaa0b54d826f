"""A fault of the bench is *broken*, never the charger's failure, end to end on the twin: the CSMS harness
failing on the charger's traffic (while a call waits for its answer, or on the TransactionEvent a step waits
for), a call to a charger the bench cut off (`csms drops the connection`, `charger loses power`), and the
bench's event loop stalled across a call's deadline, a boot or a reconnection the bench itself refuses (boots
answered Pending, reconnects refused), a message due while the bench refuses the connection. Each message
names what the bench did. And the reverse:
a charger that does not answer a call *fails*, never reads as the bench's timeout.

The faults are put in through statements the test's conftest adds in Python (`runner.steps.step`), as a lab
would; each lasts one scenario.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CONFTEST = '''
import asyncio
import time

from runner.csms.harness import CsmsHarness
from runner.plugin import bench_session
from runner.steps import step

PATCHED = []


def _fail_on(run, action, message_type):
    """The harness's frame bookkeeping raises on the charger's `action` frames of `message_type` (2 a CALL,
    3 a CALLRESULT): a bug of chargespec's own, as the one that closed connections 1011 on NotifyReport."""
    harness = run.harness

    def on_frame(st, frame):
        if frame.direction == "rx" and frame.action == action and frame.message_type == message_type:
            raise RuntimeError(f"a bug of the harness on {action}")
        return CsmsHarness._on_frame(harness, st, frame)

    harness._on_frame = on_frame
    PATCHED.append((harness, "_on_frame"))


@step("bench harness fails on trigger answers", name="test.harness_fails_on_answers")
def harness_fails_on_answers(run):
    _fail_on(run, "TriggerMessage", 3)


@step("bench harness fails on transaction events", name="test.harness_fails_on_tx")
def harness_fails_on_tx(run):
    _fail_on(run, "TransactionEvent", 2)


@step("bench loop stalls after the next call", name="test.loop_stalls")
def loop_stalls(run):
    """The bench loop blocks for 4 s (real) right after the harness sent its next call: longer than the
    call's wait (2 s real at the least, runner/csms/harness.py REPLY_WAIT_FLOOR_S), with the charger's
    answer unread meanwhile."""
    session = run.harness._stations[run.station.id].session
    send = session.send_raw

    async def send_raw(raw):
        await send(raw)
        if raw.startswith("[2,"):
            session.__dict__.pop("send_raw", None)
            asyncio.get_running_loop().call_soon(time.sleep, 4.0)

    session.send_raw = send_raw
    PATCHED.append((session, "send_raw"))


@step("charger ignores trigger messages", name="test.charger_ignores_triggers")
def charger_ignores_triggers(run):
    """The twin (the charger) never answers a TriggerMessage: the charger's own silence."""
    from lab.twin.link import Link

    handle = Link._handle_call

    async def handle_call(self, msg):
        if msg.action != "TriggerMessage":
            await handle(self, msg)

    Link._handle_call = handle_call
    PATCHED.append((Link, "_handle_call", handle))


def pytest_runtest_teardown(item):
    while PATCHED:
        obj, name, *old = PATCHED.pop()
        if old:
            setattr(obj, name, old[0])
        else:
            obj.__dict__.pop(name, None)
'''

SETUP = '''spec "Bench faults are broken"
  setup
    charger booted

'''

# case -> (its scenario, what its broken verdict's message says: each part, in order)
CASES = {
    "harness-fault-during-call": ('''  scenario "the harness faults while a call waits"
    bench harness fails on trigger answers
    csms sends TriggerMessage {requestedMessage: "Heartbeat"}
''', ["faults.spec:7:", "the bench, not the charger, kept this exchange from happening",
       "before the charger answered TriggerMessage", "the CSMS harness closed it after a fault of its own "
       "(RuntimeError: a bug of the harness on TriggerMessage); not the charger's failure"]),
    "bench-dropped-connection": ('''  scenario "the bench cut the connection"
    csms refuses reconnects for 10 min
    csms drops the connection
    csms sends TriggerMessage {requestedMessage: "Heartbeat"}
''', ["faults.spec:8:", "the bench, not the charger, kept this exchange from happening",
       "cannot send TriggerMessage to", "it is not connected, and its last connection closed at t=",
       "the bench cut it (`csms drops the connection`); the bench refuses its reconnects (`csms refuses "
       "reconnects`); its absence is no evidence against the charger"]),
    "bench-cut-supply": ('''  scenario "the bench cut the supply"
    charger loses power
    csms sends TriggerMessage {requestedMessage: "Heartbeat"}
''', ["faults.spec:7:", "TriggerMessage", "the bench cut the charger's supply in this scenario and has not "
       "restored it, so its absence is no evidence"]),
    "bench-loop-stall": ('''  scenario "the bench loop stalls"
    bench loop stalls after the next call
    csms sends TriggerMessage {requestedMessage: "Heartbeat"}
''', ["faults.spec:7:", "the bench, not the charger, kept this exchange from happening",
       "waiting for the answer to TriggerMessage", "the bench's event loop was stalled, and reached the deadline",
       "the bench's fault, not the charger's silence"]),
    "harness-answers-boots-pending": ('''  scenario "the harness answers boots Pending"
    csms answers BootNotification with Pending every 10 s
    charger power cycles
    charger booted
''', ["faults.spec:8:", "has not booted 120 s after this step began", "the harness answers boots Pending",
       "; the harness answers its boots Pending, as the spec asked: not the charger's failure"]),
    "bench-refuses-then-booted": ('''  scenario "the bench refuses while the charger should boot"
    csms refuses reconnects for 10 min
    csms drops the connection
    charger booted
''', ["faults.spec:8:", "has not booted 120 s after this step began: connected: no",
       "; the bench refuses its reconnects (`csms refuses reconnects`): not the charger's failure"]),
    "bench-refuses-then-reconnects": ('''  scenario "the bench refuses while the charger should reconnect"
    csms refuses reconnects for 10 min
    csms drops the connection
    charger reconnects within 30 s
''', ["faults.spec:8:", "the charger did not reconnect within 30 s (connection lost at t=",
       "; at the deadline the bench refuses its reconnects (`csms refuses reconnects`): not the charger's failure"]),
    "bench-refuses-while-a-message-is-due": ('''  scenario "the bench refuses while a message is due"
    csms refuses reconnects for 10 min
    csms drops the connection
    expect within 20 s: charger sends Heartbeat
''', ["faults.spec:8:", "charger did not send Heartbeat within 20 s", "; the charger was not connected t=",
       "; and at the end the bench refuses its reconnects (`csms refuses reconnects`), so it could not have sent it: "
       "not the charger's failure"]),
    "harness-fault-books-no-transaction": ('''  scenario "the harness books no transaction"
    bench harness fails on transaction events
    ev plugs in on evse 1
    session starts with token "04A2B3C4" on evse 1
''', ["chargespec failed on the charger's traffic", "(its own fault, not the charger's; the scenario is not "
       "judged)", "RuntimeError: a bug of the harness on TransactionEvent",
       "what looked like the charger's failure is not judged: line 8: no TransactionEvent Started"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bench_fault_breaks_the_scenario_and_says_what_the_bench_did(pytester: pytest.Pytester, case: str) -> None:
    scenario, parts = CASES[case]
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".spec", faults=SETUP + scenario)
    alluredir = pytester.path / "allure"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "20",
                                           f"--alluredir={alluredir}", f"--out={pytester.path / 'out'}", timeout=300)
    assert "FAILED (the charger" not in result.stdout.str(), result.stdout.str()
    # No record of the run holds a line against the charger either (measurements are read per line).
    [verdicts] = (pytester.path / "out" / "runs").glob("*/verdicts.json")
    records = [m for r in json.loads(verdicts.read_text())["results"] for m in r["measurements"]]
    assert records and not [m for m in records if m["verdict"] == "failed"], records
    [(status, message)] = [(r["status"], r.get("statusDetails", {}).get("message", "")) for r in
                           (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))]
    assert status == "broken", (status, message)
    at = 0
    for part in parts:
        found = message.find(part, at)
        assert found >= 0, (part, message)
        at = found + len(part)


def test_a_charger_that_does_not_answer_a_call_fails(pytester: pytest.Pytester) -> None:
    """The harness's CsmsTimeout is a TimeoutError, as is concurrent.futures' own: the bench loop's wait read
    the charger's silence as its own time running out ("did not finish within 6.8 s (real time)", broken)."""
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".spec", faults=SETUP + '''  scenario "the charger ignores a call"
    charger ignores trigger messages
    csms sends TriggerMessage {requestedMessage: "Heartbeat"}
''')
    alluredir = pytester.path / "allure"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "20", f"--alluredir={alluredir}",
                                  timeout=300)
    [(status, message)] = [(r["status"], r.get("statusDetails", {}).get("message", "")) for r in
                           (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))]
    assert status == "failed", (status, message)
    assert re.search(r"faults\.spec:7:5: .*\n  the charger did not respond as OCPP requires: TWIN-AC22-001: no "
                     r"answer to TriggerMessage \(message id \S+\) within 40\.0 s bench time", message), message


def test_a_harness_fault_on_a_named_stations_traffic_breaks_the_scenario(pytester: pytest.Pytester) -> None:
    """On a bench of two, chargespec's own fault on the traffic of the station a line names (`on station right`)
    breaks the scenario as one on the first station's: it failed ("no TransactionEvent Started")."""
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".spec", faults='''spec "Bench faults are broken"
  setup
    bench has station right
    charger booted on station right

  scenario "the harness books no transaction on station right"
    bench harness fails on transaction events
    ev plugs in on station right
    session starts with token "04A2B3C5" on station right
''')
    alluredir = pytester.path / "allure"
    bench = Path(__file__).resolve().parents[2] / "lab" / "benches" / "twin-2station.toml"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "20", "--bench", str(bench),
                                  f"--alluredir={alluredir}", timeout=300)
    [(status, message)] = [(r["status"], r.get("statusDetails", {}).get("message", "")) for r in
                           (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))]
    assert status == "broken", (status, message)
    assert re.search(r"chargespec failed on the charger's traffic \d+ time\(s\) \(its own fault, not the charger's; "
                     r"the scenario is not judged\): TWIN-B: CSMS harness fault while serving the connection: "
                     r"RuntimeError: a bug of the harness on TransactionEvent; .*what looked like the charger's "
                     r"failure is not judged: line 9: no TransactionEvent Started", message), message
