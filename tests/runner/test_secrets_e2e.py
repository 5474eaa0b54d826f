"""Secrets stay secret, end to end: a real run on the twin, then a grep of everything it left behind.

The spec uses an id token, blocks another, rotates the Basic-auth password with `csms sets variable
SecurityCtrlr.BasicAuthPassword`, and fails an expectation that quotes the token. After the run no file
under the output folder (evidence, Allure results, the plan cache) and nothing the console printed
(debug logs included) holds any of them in clear; the masks are there instead, one per value.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN, BLOCKED, PASSWORD = "C0FFEE4711", "BADC0DE99", "Rotated-Secret-0042"
SPEC = f'''spec "Secrets stay secret"
  tags security

  setup
    charger booted
    ev plugs in on evse 1

  scenario "a token, a rotated password and a failing expectation"
    csms blocks token "{BLOCKED}"
    session starts with token "{TOKEN}"
    csms sets variable SecurityCtrlr.BasicAuthPassword to "{PASSWORD}"
    expect charger replies {{setVariableResult: [{{attributeStatus: "Accepted"}}]}}
    expect within 10 s: charger sends Authorize {{idToken: {{idToken: "{TOKEN}", type: "ISO14443"}}}}
'''
MASK = re.compile(r"\[(token|password)#[0-9a-f]{6}\]")


def _forms(secret: str) -> list[bytes]:
    return [secret.encode(), secret.encode("utf-16-le"), json.dumps(secret).encode()[1:-1]]


def test_no_token_or_password_in_clear_anywhere_after_a_run(tmp_path: Path) -> None:
    (tmp_path / "secrets.spec").write_text(SPEC, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "runner.cli", "run", "secrets.spec", "--speed", "30", "--out", "out",
         "--", "--log-level=DEBUG"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    console = proc.stdout + proc.stderr
    out = tmp_path / "out"
    run = out / "latest"  # this run's folder (runner/runs.py)
    results = [json.loads(p.read_text()) for p in (run / "allure-results").glob("*-result.json")]
    # The run did what the test needs: the scenario ran, set the password, and failed on the token.
    assert [r["status"] for r in results] == ["failed"], console
    message = results[0]["statusDetails"]["message"]
    assert "charger sends Authorize" in message and MASK.search(message), message
    trace = next((run / "evidence").rglob("ocpp.jsonl")).read_text(encoding="utf-8")
    assert '\\"SetVariables\\"' in trace and "[password#" in trace and "[token#" in trace

    files = [p for p in out.rglob("*") if p.is_file()]
    assert any("chargespec-plans" in str(p) for p in files), "the plan cache was not written under out/"
    assert len(files) >= 10
    for secret in (TOKEN, BLOCKED, PASSWORD):
        assert secret not in console, f"{secret} printed on the console"
        for p in files:
            data = p.read_bytes()
            assert not any(form in data for form in _forms(secret)), f"{secret} in clear in {p.relative_to(out)}"
    # A reader can still tell the values apart: three distinct masks, each used consistently.
    spec_txt = next((run / "evidence").rglob("spec.txt")).read_text(encoding="utf-8")
    masks = MASK.findall(spec_txt)
    assert len(set(re.findall(r"\[\w+#[0-9a-f]{6}\]", spec_txt))) == 3 and len(masks) == 4
