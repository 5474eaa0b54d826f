"""Proxy mode end to end: the twin charger through `chargespec run --proxy-to` to an independent target CSMS.

The target (conftest.py, on the `ocpp` package) runs on a loop thread of this process; `chargespec run`
runs as a subprocess. The target acts as a backend would: after the TransactionEvent Started it sends a
TxProfile of 10 A; a few seconds later it goes down for a while (an outage) and comes back on its port.
The spec judges what the charger does with that backend's messages: the limit enforced on the twin's
analyzer, the charger's answer to the backend's call, the events queued while the backend was down and
replayed offline; a harness-only statement is a usage error (broken); an injected call is answered to
chargespec and never reaches the backend.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from lab.loop import LoopThread
from tests.runner.proxy.conftest import TargetCsms

REPO = Path(__file__).resolve().parents[3]
OUTAGE_AFTER_S = 1.0    # real seconds after the profile was accepted
OUTAGE_FOR_S = 2.5      # real seconds the backend is down (x speed 60: 150 bench seconds)
BAD_FRAME = '[2,"bad-1","TriggerMessage",{"requestedMessage":"Nonsense"}]'   # an enum value 2.0.1 lacks

SPEC = '''spec "Proxy mode"
  setup
    charger booted

  scenario "the backend's limit and its outage"
    ev plugs in on evse 1
    ev requests 32 A
    driver presents token "04A2B3C4"
    wait up to 5 min for backend to send SetChargingProfile {chargingProfile: {chargingProfilePurpose: "TxProfile"}}
    expect charger replies {status: "Accepted"}
    expect within 60 s: analyzer current L1 <= 10.6 A
    expect within 10 min: charger sends TransactionEvent {eventType: "Updated", offline: true}
    expect every TransactionEvent: seqNo increases by 1
    expect analyzer current L1 <= 10.6 A
    backend answers TransactionEvent within 30 s at the 95th percentile
    charger answers SetChargingProfile within 30 s

  scenario "a bound the backend misses"
    csms injects TriggerMessage {requestedMessage: "Heartbeat"}
    expect within 60 s: charger sends Heartbeat
    backend answers Heartbeat within 1 ms

  scenario "an injected call"
    csms injects TriggerMessage {requestedMessage: "Heartbeat"}
    expect charger replies {status: "Accepted"}
    expect within 60 s: charger sends Heartbeat

  scenario "the harness cannot answer for the backend"
    csms sends Reset {type: "Immediate"}

  scenario "a measured window"
    measure "w" for 30 s
    expect charger energy over "w" within 10 Wh of analyzer energy over "w"
'''
# The twin's bench with a [proxy] table opting in to injected window-edge triggers; --proxy-to sets its `to`.
PROXY_TABLE = '\n[proxy]\nto = "ws://127.0.0.1:9/unused"\ntrigger_meter_values_at_window_edges = true\n'


# One worker runs this module (`make test` distributes by --dist loadgroup): its module fixture is a twin
# run, which every worker that took one of its tests would otherwise make again.
pytestmark = pytest.mark.xdist_group("proxy-twin-run")


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    lt = LoopThread("target-csms")
    yield lt
    lt.close()


@pytest.fixture(scope="module")
def outcome(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = TargetCsms()
    url = loop.run(target.start(), 5, "starting the target CSMS")
    outage: list[str] = []

    async def backend_script(station: str, event: dict[str, Any]) -> None:
        if event.get("event_type") != "Started" or outage:
            return
        outage.append("profile")
        tx = event["transaction_info"]["transaction_id"]
        await asyncio.sleep(0.2)
        await target.call(station, call.SetChargingProfile(evse_id=1, charging_profile={
            "id": 7, "stack_level": 0, "charging_profile_purpose": "TxProfile", "charging_profile_kind": "Relative",
            "transaction_id": tx, "charging_schedule": [{"id": 1, "charging_rate_unit": "A",
                                                         "charging_schedule_period": [{"start_period": 0,
                                                                                       "limit": 10}]}]}))
        # A backend that breaks the protocol: an enum value OCPP 2.0.1 does not have.
        await target.send_raw(station, BAD_FRAME)
        await asyncio.sleep(OUTAGE_AFTER_S)
        outage.append("down")
        await target.go_down()
        await asyncio.sleep(OUTAGE_FOR_S)
        await target.come_back()
        outage.append("up")

    target.after_transaction_event = backend_script
    tmp = tmp_path_factory.mktemp("proxy")
    (tmp / "proxy.spec").write_text(SPEC)
    (tmp / "bench.toml").write_text((REPO / "lab" / "benches" / "twin.toml").read_text() + PROXY_TABLE)
    try:
        proc = subprocess.run([sys.executable, "-m", "runner.cli", "run", str(tmp / "proxy.spec"), "--speed", "60",
                               "--bench", str(tmp / "bench.toml"),
                               "--proxy-to", url, "--out", str(tmp / "out"), "--", "-p", "no:cacheprovider"],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        loop.run(target.stop(), 10, "stopping the target CSMS")
    verdicts = json.loads((tmp / "out" / "latest" / "verdicts.json").read_text())
    return {"proc": proc, "target": target, "verdicts": verdicts, "outage": outage, "out": tmp / "out" / "latest"}


def _verdict(outcome: dict[str, Any], name: str) -> dict[str, Any]:
    found = [v for v in outcome["verdicts"]["results"] if name in v["scenario"]]
    assert found, (name, outcome["proc"].stdout[-3000:], outcome["proc"].stderr[-3000:])
    return found[0]


def test_the_targets_txprofile_is_enforced_and_the_outage_replayed_offline(outcome: dict[str, Any]) -> None:
    assert outcome["outage"] == ["profile", "down", "up"]
    v = _verdict(outcome, "the backend's limit and its outage")
    assert v["verdict"] == "passed", (v, outcome["proc"].stdout[-4000:])
    received = [json.loads(r) for r in outcome["target"].received]
    assert any(m[0] == 2 and m[2] == "TransactionEvent" and m[3].get("offline") is True for m in received)


def test_a_schema_violation_by_the_target_is_the_backends_not_the_chargers(outcome: dict[str, Any]) -> None:
    v = _verdict(outcome, "the backend's limit and its outage")
    assert v["verdict"] == "passed"   # strict mode, yet the backend's error is not held against the charger
    evidence = outcome["out"] / v["evidence"]
    events = [json.loads(line) for line in (evidence / "events.jsonl").read_text().splitlines()]
    findings = [e for e in events if e["kind"] == "finding" and e["severity"] == "error"]
    assert [f["station"] for f in findings] == ["TWIN-AC22-001 (backend)"], findings
    assert "the backend's TriggerMessage request" in findings[0]["message"]
    assert "'Nonsense'" in findings[0]["message"]
    assert "the backend broke the OCPP 2.0.1 protocol 1 time(s)" in (evidence / "notes.txt").read_text()


def test_an_injected_call_is_answered_to_chargespec_not_the_backend(outcome: dict[str, Any]) -> None:
    v = _verdict(outcome, "an injected call")
    assert v["verdict"] == "passed", (v, outcome["proc"].stdout[-4000:])
    target: TargetCsms = outcome["target"]
    assert not any("chargespec-" in raw for raw in target.sent + target.received)
    assert [raw for raw in target.sent if "TriggerMessage" in raw] == [BAD_FRAME]   # its own, not the injected
    # The evidence names who sent what: the injected call is chargespec's, marked with the charger's answer.
    lines = [json.loads(line) for line in (outcome["out"] / v["evidence"] / "ocpp.jsonl").read_text().splitlines()]
    injected = [(r["direction"], r["sender"]) for r in lines if r.get("injected")]
    assert injected == [("tx", "chargespec (injected)"), ("rx", "charger")], injected
    assert {(r["direction"], r["sender"]) for r in lines if not r.get("injected")} == {("rx", "charger"),
                                                                                      ("tx", "backend")}


def test_a_harness_only_statement_is_a_usage_error(outcome: dict[str, Any]) -> None:
    v = _verdict(outcome, "the harness cannot answer")
    assert v["verdict"] == "broken", v
    # Before the bench is touched, naming the line and the way out.
    assert 'proxy.spec:29:5: `csms sends Reset {type: "Immediate"}` needs chargespec to be the CSMS' in v["message"]
    assert "csms injects" in v["message"]


def test_response_times_of_both_sides_are_in_the_evidence(outcome: dict[str, Any]) -> None:
    v = _verdict(outcome, "the backend's limit and its outage")
    rows = json.loads((outcome["out"] / v["evidence"] / "response_times.json").read_text())
    by = {(r["side"], r["action"]): r for r in rows}
    assert by[("backend", "TransactionEvent")]["count"] >= 2      # the backend answered the charger's events
    assert by[("charger", "SetChargingProfile")]["count"] == 1    # the charger answered the backend's profile
    for r in rows:
        if r["count"]:
            assert 0 <= r["p50_ms"] <= r["p95_ms"] <= r["max_ms"]


def _in_order(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(any(x == y for y in it) for x in part)


def test_the_twins_frames_reach_the_target_unchanged_and_back(outcome: dict[str, Any]) -> None:
    """What the proxy read from and wrote to the charger's socket is what the target got and sent, byte for
    byte and in order (frames whose id tokens the evidence masks are left out of the comparison)."""
    target: TargetCsms = outcome["target"]
    v = _verdict(outcome, "the backend's limit and its outage")
    lines = [json.loads(line) for line in (outcome["out"] / v["evidence"] / "ocpp.jsonl").read_text().splitlines()]
    clear = [r for r in lines if "[token#" not in r["frame"]]
    rx = [r["frame"] for r in clear if r["direction"] == "rx"]
    tx = [r["frame"] for r in clear if r["direction"] == "tx"]
    assert len(rx) > 10 and len(tx) > 10
    assert _in_order(rx, target.received)
    assert _in_order(tx, target.sent)
    assert set(rx) <= set(target.received) and set(tx) <= set(target.sent)


def test_response_time_bounds_are_judged(outcome: dict[str, Any]) -> None:
    v = _verdict(outcome, "a bound the backend misses")
    assert v["verdict"] == "failed", v
    assert "backend answers Heartbeat within 1 ms" in v["message"]
    assert re.search(r"the backend \(a criterion this spec sets for it\) answered Heartbeat in [0-9.]+ s at every "
                     r"response, over the bound of 1 ms \(n=1, p50", v["message"]), v["message"]
    notes = (outcome["out"] / _verdict(outcome, "the backend's limit")["evidence"] / "notes.txt").read_text()
    assert "backend answers TransactionEvent within 30 s at the 95th percentile:" in notes


def test_window_edges_inject_a_meter_trigger_when_the_bench_opts_in(outcome: dict[str, Any]) -> None:
    v = _verdict(outcome, "a measured window")
    assert v["verdict"] == "passed", (v, outcome["proc"].stdout[-4000:])
    evidence = outcome["out"] / v["evidence"]
    lines = [json.loads(line) for line in (evidence / "ocpp.jsonl").read_text().splitlines()]
    triggers = [json.loads(r["frame"]) for r in lines if r.get("injected") and r["direction"] == "tx"]
    assert [(m[2], m[3]["requestedMessage"]) for m in triggers] == [("TriggerMessage", "MeterValues")] * 2
    answered = {json.loads(r["frame"])[1] for r in lines if r.get("injected") and r["direction"] == "rx"}
    assert answered == {m[1] for m in triggers}          # both answered to chargespec (consumed, not relayed)
    # The charger's MeterValues in answer are relayed to the backend like any other.
    metered = [r for r in lines if r["direction"] == "rx" and '"MeterValues"' in r["frame"]]
    assert len(metered) >= 2 and all(r["frame"] in outcome["target"].received for r in metered)
    assert "TriggerMessage MeterValues injected at each window edge" in (evidence / "notes.txt").read_text()
