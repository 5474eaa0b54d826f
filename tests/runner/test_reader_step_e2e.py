"""`driver presents token` end to end: on the twin bench the idToken reaches the charger through the bench's
`reader` role (the charger's Authorize and the transaction are judged by the expectations that follow);
on a bench with no reader the scenario is broken, naming the missing role, never failed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SPEC = '''spec "Local authorization"
  setup
    charger booted

  scenario "token at the reader"
    ev plugs in
    driver presents token "04A2B3C4" of type ISO14443 on evse 1
    expect within 10 s: charger sends Authorize {idToken: {idToken: "04A2B3C4", type: "ISO14443"}}
    expect within 10 s: charger sends TransactionEvent {eventType: "Started", triggerReason: "Authorized", \
idToken: {idToken: "04A2B3C4"}}
    driver presents token "04A2B3C4"
    expect within 10 s: charger sends TransactionEvent {eventType: "Ended", triggerReason: "StopAuthorized", \
transactionInfo: {stoppedReason: "Local"}}
    ev unplugs
'''


def _run(pytester: pytest.Pytester, bench: str) -> tuple[dict[str, dict], Path]:
    pytester.makefile(".toml", bench=bench)
    pytester.makefile(".spec", auth=SPEC)
    alluredir, evidence = pytester.path / "allure", pytester.path / "evidence"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "30", "--bench", "bench.toml",
                                  f"--alluredir={alluredir}", f"--evidence={evidence}", timeout=300)
    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}
    return results, evidence


def test_the_token_reaches_the_charger_through_the_reader(pytester: pytest.Pytester) -> None:
    results, evidence = _run(pytester, (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8"))
    result = results["token at the reader"]
    assert result["status"] == "passed", result.get("statusDetails")
    notes = next(evidence.rglob("notes.txt")).read_text(encoding="utf-8")
    # The step says what it did; the idToken itself is redacted in the evidence, like every idToken.
    assert re.search(r"driver presented idToken '\[token#[0-9a-f]+\]' \(ISO14443\) for evse 1", notes), notes
    assert "04A2B3C4" not in notes


def test_a_bench_without_a_reader_is_broken_not_failed(pytester: pytest.Pytester) -> None:
    bench = (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8")
    start = bench.index("[stations.instruments.reader]")
    bench = bench[:start] + bench[bench.index("[twin]"):]
    results, _ = _run(pytester, bench)
    result = results["token at the reader"]
    assert result["status"] == "broken"
    message = result["statusDetails"]["message"]
    assert "has no token reader (instrument role 'reader')" in message
    assert "`driver presents token` needs one" in message
    assert "auth.spec:7:5" in message  # the statement's line
