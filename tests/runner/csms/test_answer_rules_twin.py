"""Answer rules end to end on the twin (a pytester subprocess at 30x, tests/runner/fixtures/answers.spec):
the charger's reaction is the twin's, the proof here is the harness's side, read from the evidence — a call
left unanswered has no answer frame and the twin's retry does; a late answer goes out by the call's own
message id, after the delay; a payload rule answers the matching call only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "answers.spec"


def trace(folder: Path) -> list[dict[str, Any]]:
    out = []
    for line in (folder / "ocpp.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        out.append({**record, "msg": json.loads(record["frame"])})
    return out


def started(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["direction"] == "rx" and f["msg"][0] == 2 and f["msg"][2] == "TransactionEvent"
            and f["msg"][3].get("eventType") == "Started"]


def answers(frames: list[dict[str, Any]], uid: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["direction"] == "tx" and f["msg"][0] in (3, 4) and f["msg"][1] == uid]


def test_answer_rules_on_the_twin(pytester: pytest.Pytester) -> None:
    shutil.copy(SPEC, pytester.path / "answers.spec")
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", "--speed", "30", f"--out={out}",
                                           timeout=300)
    result.assert_outcomes(passed=3)
    (run,) = (out / "runs").iterdir()
    spec = run / "evidence" / "CSMS-answer-rules-on-the-twin"

    # not answered: the harness sent nothing for the first Started; the twin sent it again (a new message id,
    # after its own MessageTimeout of 30 s) and that one was answered
    frames = trace(spec / "an-unanswered-Started-is-sent-again")
    first, retry, *_ = started(frames)
    assert answers(frames, first["msg"][1]) == []
    assert retry["msg"][1] != first["msg"][1] and retry["t"] - first["t"] >= 30
    assert [a["msg"][0] for a in answers(frames, retry["msg"][1])] == [3]
    events = [json.loads(x) for x in (spec / "an-unanswered-Started-is-sent-again" / "events.jsonl")
              .read_text(encoding="utf-8").splitlines()]
    (rule,) = [e for e in events if e["kind"] == "csms_answer_rule"]
    assert (rule["unique_id"], rule["answer"]) == (first["msg"][1], "no answer")
    assert rule["rule"].startswith("line 6: csms does not answer the 1st TransactionEvent")

    # late: one Started, answered by its own message id 20 s (bench) after it arrived; the twin waited
    frames = trace(spec / "a-late-answer-is-not-retried")
    (only,) = started(frames)
    (late,) = answers(frames, only["msg"][1])
    assert late["msg"][0] == 3 and 20 <= late["t"] - only["t"] < 60  # (slack: scheduling under load, at 30x)

    # a payload rule for the matching call only: the Started got Invalid, the other events the default
    frames = trace(spec / "an-Invalid-answer-to-a-matching-call")
    (call,) = started(frames)
    assert answers(frames, call["msg"][1])[0]["msg"][2] == {"idTokenInfo": {"status": "Invalid"}}
    others = [f for f in frames if f["direction"] == "rx" and f["msg"][0] == 2 and f["msg"][2] == "TransactionEvent"
              and f is not call]
    assert others and all(answers(frames, f["msg"][1])[0]["msg"][2] != {"idTokenInfo": {"status": "Invalid"}}
                          for f in others)
