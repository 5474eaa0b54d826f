"""`when charger variable …:` end to end on the twin (a pytester subprocess at 60x): the branch decided from the
charger's own value at run time, both ways, and recorded on the `when` line.

- as configured (AuthorizeRemoteStart false): the Authorize lines are reported not applicable, with the value
  read and when, and the scenario passes on the lines that ran (a TxStartPoint that holds PowerPathClosed);
- set true by the scenario (SetVariables): the lines apply and the charger's Authorize passes them;
- set true, with AuthCtrlr.Enabled false (the twin then starts remotely without an AuthorizeRequest): the
  branch's expectation fails the scenario at its own line, not at the `when`;
- a variable the charger does not have (UnknownVariable, not required): broken at the `when` line, never a
  silent skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.evidence import slug

SPEC = '''spec "Lines that depend on the configuration"
  setup
    charger booted

  scenario "as configured"
    csms sends RequestStartTransaction {idToken: {idToken: "04A2B3C4", type: "ISO14443"}, evseId: 1, remoteStartId: 7}
    expect charger replies {status: "Accepted"}
    when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":
      expect within 10 s: charger sends Authorize {idToken: {idToken: "04A2B3C4", type: "ISO14443"}}
      wait 1 s
    ev plugs in on evse 1
    when charger variable TxCtrlr.TxStartPoint holds "PowerPathClosed":
      expect within 30 s: charger sends TransactionEvent {eventType: "Started", triggerReason: "RemoteStart"}

  scenario "authorized first"
    csms sets variable AuthCtrlr.AuthorizeRemoteStart to "true"
    csms sends RequestStartTransaction {idToken: {idToken: "04A2B3C4", type: "ISO14443"}, evseId: 1, remoteStartId: 8}
    expect charger replies {status: "Accepted"}
    when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":
      expect within 10 s: charger sends Authorize {idToken: {idToken: "04A2B3C4", type: "ISO14443"}}
    ev plugs in on evse 1

  scenario "a variable the charger lacks"
    when charger variable AuthCtrlr.NoSuchVariable is "true":
      wait 1 s

  scenario "authorize due, not sent"
    csms sets variable AuthCtrlr.AuthorizeRemoteStart to "true"
    csms sets variable AuthCtrlr.Enabled to "false"
    csms sends RequestStartTransaction {idToken: {idToken: "04A2B3C4", type: "ISO14443"}, evseId: 1, remoteStartId: 9}
    expect charger replies {status: "Accepted"}
    when charger variable AuthCtrlr.AuthorizeRemoteStart is "true":
      expect within 10 s: charger sends Authorize {idToken: {idToken: "04A2B3C4", type: "ISO14443"}}
'''
# (the last scenario leaves a remote start waiting for its EV, which the return to idle does not clear: the twin
# would answer a later RequestStartTransaction on EVSE 1 Busy, so it runs last)


def _records(evidence: Path, scenario: str) -> dict[int, dict[str, object]]:
    (path,) = [p for p in evidence.rglob("measurements.json") if p.parent.name == slug(scenario)]
    return {m["line"]: m for m in json.loads(path.read_text(encoding="utf-8"))}


def _events(evidence: Path, scenario: str, kind: str) -> list[dict[str, object]]:
    (path,) = [p for p in evidence.rglob("events.jsonl") if p.parent.name == slug(scenario)]
    events = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return [e for e in events if e["kind"] == kind]


def test_both_branches_are_decided_from_the_charger_and_recorded(pytester: pytest.Pytester) -> None:
    (pytester.path / "conditions.spec").write_text(SPEC, encoding="utf-8")
    twin = Path(__file__).resolve().parents[2] / "lab" / "benches" / "twin.toml"
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "60", "--bench", str(twin),
                                           f"--out={out}", timeout=300)
    result.assert_outcomes(passed=2, failed=2)
    text = result.stdout.str()
    # the branch's own expectation fails the scenario at its line (33), the charger having said "true"
    assert "conditions.spec:33:7: `expect within 10 s: charger sends Authorize" in text
    assert "no Authorize arrived" in text
    assert ('(it applied: line 32: AuthCtrlr.AuthorizeRemoteStart is "true" (read by GetVariables at t=' in text
            and "): line 33 applies)" in text)  # the failure says why the line was judged
    # a value the charger does not give: broken at the when line, naming why
    assert "conditions.spec:24:5: `when charger variable AuthCtrlr.NoSuchVariable is \"true\":`" in text
    assert ("the charger gives no value of AuthCtrlr.NoSuchVariable (GetVariables answered UnknownVariable): "
            "whether line 25 applies is unknown") in text

    (run,) = (out / "runs").iterdir()
    evidence = run / "evidence"
    configured = _records(evidence, "as configured")
    assert configured[8]["kind"] == "condition" and configured[8]["verdict"] == "passed"
    assert configured[8]["observed"]["value"] == "false"
    message = str(configured[8]["message"])
    assert message.startswith('AuthCtrlr.AuthorizeRemoteStart is "false" (read by GetVariables at t=')
    assert message.endswith('), not "true": lines 9-10 not applicable')
    assert 9 not in configured and 10 not in configured  # not judged, not run
    assert [e["line"] for e in _events(evidence, "as configured", "not_applicable")] == [9, 10]
    assert str(configured[12]["message"]).endswith('which holds "PowerPathClosed": line 13 applies')
    assert configured[13]["verdict"] == "passed"  # the Started event, judged

    authorized = _records(evidence, "authorized first")
    assert authorized[19]["observed"]["value"] == "true"  # as the scenario set it, read back at the when line
    assert str(authorized[19]["message"]).endswith("): line 20 applies")
    assert authorized[20]["verdict"] == "passed" and authorized[20]["kind"] == "message"

    due = _records(evidence, "authorize due, not sent")
    assert due[32]["verdict"] == "passed" and str(due[32]["message"]).endswith("line 33 applies")
    assert due[33]["verdict"] == "failed"
    lacking = _records(evidence, "a variable the charger lacks")
    assert lacking[24]["verdict"] == "broken" and lacking[24]["kind"] == "condition"
    verdicts = json.loads((run / "verdicts.json").read_text(encoding="utf-8"))
    assert {r["scenario"]: r["verdict"] for r in verdicts["results"]} == {
        "as configured": "passed", "authorized first": "passed", "a variable the charger lacks": "broken",
        "authorize due, not sent": "failed"}
