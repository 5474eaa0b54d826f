"""The recorder: frames correlated with their calls, samples streamed to disk as they arrive, redaction."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from instruments.clock import Clock
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
