"""The recorder: frames correlated with their calls, samples streamed to disk as they arrive, redaction,
and memory bounded by what judging needs (a scenario whole, a window outside one)."""

from __future__ import annotations

import csv
import gc
import json
import re
from pathlib import Path

from instruments.clock import Clock
from runner import recorder
from runner.recorder import Recorder, redact_raw


def test_results_carry_the_action_of_the_call_they_answer(tmp_path: Path) -> None:
    rec = Recorder(Clock(speed=10))
    rec.begin(tmp_path)
    rec.frame(station="CS1", direction="rx",
              raw='[2,"a1","Authorize",{"idToken":{"idToken":"04A2B3C4","type":"ISO14443"}}]')
    res = rec.frame(station="CS1", direction="tx", raw='[3,"a1",{"idTokenInfo":{"status":"Accepted"}}]')
    bad = rec.frame(station="CS1", direction="rx", raw="{not json")
    assert res.action == "Authorize" and res.message_type == 3
    assert bad.message_type is None and bad.raw == "{not json"
    # on disk before end(): a killed run keeps what it had
    lines = (tmp_path / "ocpp.jsonl").read_text().splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert "04A2B3C4" not in first["frame"] and first["sender"] == "charger"
    rec.end()


def test_samples_are_streamed_as_csv(tmp_path: Path) -> None:
    rec = Recorder(Clock())
    rec.begin(tmp_path)
    t0 = rec.t_begin
    rec.sample("analyzer.current.L1", 16.02, t=t0 + 1.5)
    rec.sample("analyzer.current.L1", None, t=t0 + 2.0)
    # on disk: seconds since the scenario began, and an empty cell (never 0) for a missing value
    rows = list(csv.reader((tmp_path / "samples.csv").open()))
    assert rows == [["t_s", "signal", "value"], ["1.500000", "analyzer.current.L1", "16.02"],
                    ["2.000000", "analyzer.current.L1", ""]]
    assert rec.series("analyzer.current.L1") == ([t0 + 1.5, t0 + 2.0], [16.02, None])
    rec.begin(None)  # a new scenario starts from an empty record
    assert rec.series("analyzer.current.L1") == ([], [])


def test_redaction_keeps_structure() -> None:
    raw = '[2,"1","TransactionEvent",{"idToken":{"idToken":"DEADBEEF01","type":"ISO14443"},"seqNo":0}]'
    out = json.loads(redact_raw(raw))
    assert out[3]["idToken"]["type"] == "ISO14443"
    assert re.fullmatch(r"\[token#[0-9a-f]{6}\]", out[3]["idToken"]["idToken"])
    assert out[3]["seqNo"] == 0


HEARTBEAT = '[2,"{}","Heartbeat",{{}}]'


def test_a_scenario_keeps_its_whole_record_until_the_next_begin(tmp_path: Path) -> None:
    rec = Recorder(Clock())
    rec.begin(tmp_path / "a")
    n = recorder.WINDOW_FRAMES + 500
    for i in range(n):
        rec.frame(station="CS1", direction="rx", raw=HEARTBEAT.format(i))
    rec.sample("charger.status.evse1", "Occupied")
    assert len(rec.frames()) == n                      # an expectation may look back to the start
    rec.end()
    rec.frame(station="CS1", direction="rx", raw=HEARTBEAT.format("after"))
    # evidence is drawn after end(): the finished scenario is still there, followed by what came since
    assert len(rec.frames()) == n + 1 and rec.frames()[-1].unique_id == "after"
    assert rec.series("charger.status.evse1")[1] == ["Occupied"]
    rec.begin(tmp_path / "b")
    assert rec.frames() == [] and rec.series_keys() == []


def test_outside_a_scenario_only_a_window_is_kept_and_the_files_keep_everything(tmp_path: Path) -> None:
    rec = Recorder(Clock())
    rec.begin(tmp_path, scenario=False)                # chargespec csms: runs for days
    n = 3 * recorder.WINDOW_FRAMES
    for i in range(n):
        rec.frame(station="CS1", direction="rx", raw=HEARTBEAT.format(i))
        rec.sample("analyzer.current.L1", float(i))
        rec.finding("warning", f"finding {i}")
        rec.event("tick", i=i)
    frames = rec.frames()
    assert len(frames) == recorder.WINDOW_FRAMES and frames[-1].unique_id == str(n - 1)
    _, vs = rec.series("analyzer.current.L1")
    assert recorder.WINDOW_SAMPLES <= len(vs) <= 2 * recorder.WINDOW_SAMPLES and vs[-1] == n - 1
    assert len(rec.findings()) == len(rec.events("tick")) == recorder.WINDOW_RECORDS
    rec.end()
    assert len((tmp_path / "ocpp.jsonl").read_text().splitlines()) == n
    assert len((tmp_path / "samples.csv").read_text().splitlines()) == n + 1


def test_the_window_is_bounded_in_bytes_too(tmp_path: Path) -> None:
    rec = Recorder(Clock())
    big = '[2,"{}","DataTransfer",{{"vendorId":"V","data":"' + "x" * 2**20 + '"}}]'
    for i in range(20):
        rec.frame(station="CS1", direction="rx", raw=big.format(i))
    kept = rec.frames()
    assert sum(len(f.raw) for f in kept) <= recorder.WINDOW_BYTES and kept[-1].unique_id == "19"
    rec.finding("error", "bad frame", raw=big.format("x"))
    assert len(rec.findings()[-1].raw or "") < 3000    # in memory; events.jsonl keeps it whole


def test_frames_read_back_are_those_the_harness_saw(tmp_path: Path) -> None:
    rec = Recorder(Clock(speed=10))
    rec.begin(tmp_path)
    seen = [rec.frame(station="CS1", direction="tx", raw='[2,"r1","Reset",{"type":"Immediate"}]'),
            rec.frame(station="CS1", direction="rx", raw='[3,"r1",{"status":"Accepted"}]'),
            rec.frame(station="CS2", direction="rx", raw='[4,"x","NotSupported","no",{}]'),
            rec.frame(station="CS1", direction="rx", raw="{broken")]
    assert rec.frames() == seen
    assert rec.frames()[1].action == "Reset"           # the answer knows its call, as it did live
    assert rec.frames(station="CS2") == [seen[2]] and rec.frames(since=seen[3].t) == [seen[3]]


def test_a_long_record_gives_the_garbage_collector_nothing_to_walk(tmp_path: Path) -> None:
    """Full collections walk every tracked object: a record of parsed frames made them grow with the
    scenario (the harness's p99 latency doubled under load). Rows of text are not tracked."""
    rec = Recorder(Clock())
    rec.begin(tmp_path)
    raw = ('[2,"{}","TransactionEvent",{{"eventType":"Updated","seqNo":{},"meterValue":[{{"timestamp":'
           '"2025-01-01T00:00:00Z","sampledValue":[{{"value":{}}}]}}]}}]')
    gc.collect()
    before = len(gc.get_objects())
    for i in range(5000):
        rec.frame(station="CS1", direction="rx", raw=raw.format(i, i, i))
        rec.frame(station="CS1", direction="tx", raw=f'[3,"{i}",{{}}]')
        rec.sample("charger.Energy.Active.Import.Register", float(i))
    gc.collect()
    assert len(gc.get_objects()) - before < 100        # was ~6 per call: 30,000


def test_calls_never_answered_are_forgotten_oldest_first() -> None:
    rec = Recorder(Clock())
    for i in range(recorder.MAX_PENDING_CALLS + 100):       # a charger that never answers the CSMS
        rec.frame(station="CS1", direction="tx", raw=f'[2,"r{i}","Reset",{{"type":"Immediate"}}]')
    assert len(rec._pending_actions) == recorder.MAX_PENDING_CALLS
    late = rec.frame(station="CS1", direction="rx", raw=f'[3,"r{recorder.MAX_PENDING_CALLS + 99}",{{}}]')
    lost = rec.frame(station="CS1", direction="rx", raw='[3,"r0",{}]')
    assert (late.action, lost.action) == ("Reset", None)
