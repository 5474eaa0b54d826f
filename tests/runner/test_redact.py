"""The redaction rule: what it masks in OCPP payloads and in any text, and how the masks read."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

import dsl
from lab.bench import load_bench
from runner import redact
from runner.redact import Redactor

MASK = r"\[(token|password|secret|key)#[0-9a-f]{6}\]"


@pytest.fixture
def r() -> Redactor:
    return Redactor(b"test salt")


def test_masks_tell_values_apart_and_are_stable_within_a_run(r: Redactor) -> None:
    a, b = r.mask("04A2B3C4"), r.mask("04A2B3C5")
    assert re.fullmatch(MASK, a) and a != b and r.mask("04A2B3C4") == a
    assert Redactor(b"another run").mask("04A2B3C4") != a  # per-run salt: not a dictionary of tokens


def test_id_tokens_in_payloads_are_masked_and_learnt(r: Redactor) -> None:
    frame = ('[2,"1","TransactionEvent",{"idToken":{"idToken":"DEADBEEF01","type":"ISO14443",'
             '"additionalInfo":[{"additionalIdToken":"CONTRACT-42","type":"x"}]},'
             '"groupIdToken":{"idToken":"GROUP-7","type":"Central"},"seqNo":0}]')
    out = json.loads(r.raw(frame))
    assert out[3]["seqNo"] == 0 and out[3]["idToken"]["type"] == "ISO14443"
    assert out[3]["idToken"]["idToken"] == r.mask("DEADBEEF01", "token")
    assert out[3]["idToken"]["additionalInfo"][0]["additionalIdToken"] == r.mask("CONTRACT-42", "token")
    assert out[3]["groupIdToken"]["idToken"] == r.mask("GROUP-7", "token")
    # Learnt: the same values are masked wherever they turn up later, e.g. in a failure message.
    msg = r.text("nearest: {'idToken': {'idToken': 'DEADBEEF01'}}, group GROUP-7")
    assert "DEADBEEF01" not in msg and "GROUP-7" not in msg and r.mask("DEADBEEF01") in msg


def test_passwords_in_set_get_and_report_payloads(r: Redactor) -> None:
    set_vars = {"setVariableData": [
        {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}, "attributeValue": "pw-1"},
        {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}, "attributeValue": "10"},
        {"component": {"name": "ISO15118Ctrlr"}, "variable": {"name": "PrivateKeyPass"}, "attributeValue": "k"},
    ]}
    out = r.payload(set_vars)["setVariableData"]
    assert re.fullmatch(MASK, out[0]["attributeValue"]) and out[1]["attributeValue"] == "10"
    assert re.fullmatch(MASK, out[2]["attributeValue"])  # short, but the structure says it is secret
    report = {"reportData": [{"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
                              "variableAttribute": [{"type": "Actual", "value": "pw-2", "mutability": "WriteOnly"}]}]}
    attr = r.payload(report)["reportData"][0]["variableAttribute"][0]
    assert re.fullmatch(MASK, attr["value"]) and attr["mutability"] == "WriteOnly"
    assert re.fullmatch(MASK, r.payload({"apiSecret": "s3cr3t!"})["apiSecret"])
    assert r.payload({"publicKey": "MFkw", "keyUsage": "x"}) == {"publicKey": "MFkw", "keyUsage": "x"}


def test_text_masks_learnt_values_in_every_form_private_keys_and_basic_credentials(r: Redactor) -> None:
    r.learn('pa"ss\\word', "password")
    assert re.fullmatch("value = " + MASK, r.text('value = pa"ss\\word'))
    assert re.fullmatch('{"v": "' + MASK + '"}', r.text(json.dumps({"v": 'pa"ss\\word'})))  # JSON-escaped
    r.learn("abc")  # too short to search for in free text: masked only where the structure says so
    assert r.text("abc") == "abc"
    pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----"
    assert re.fullmatch(r"key: " + MASK, r.text("key: " + pem))
    assert re.fullmatch(r"Authorization: Basic " + MASK, r.text("Authorization: Basic Q1MxOnNlY3JldHBhc3N3b3Jk"))


def test_a_plans_tokens_and_password_values_are_learnt(tmp_path: Path) -> None:
    spec = tmp_path / "s.spec"
    spec.write_text('spec "s"\n  scenario "x"\n    session starts with token "PLAN-TOKEN-1"\n'
                    '    csms blocks token "PLAN-TOKEN-2"\n'
                    '    csms sets variable SecurityCtrlr.BasicAuthPassword to "plan-password-16ch"\n'
                    '    csms sets variable SampledDataCtrlr.TxUpdatedInterval to "1234"\n', encoding="utf-8")
    (plan,) = dsl.load(spec)[0].scenarios
    redact.register_plan(plan)
    text = redact.text("PLAN-TOKEN-1 PLAN-TOKEN-2 plan-password-16ch 1234")
    assert re.fullmatch(f"{MASK} {MASK} {MASK} 1234", text), text


def test_a_benchs_passwords_are_learnt(tmp_path: Path) -> None:
    f = tmp_path / "bench.toml"
    f.write_text('name = "x"\nkind = "twin"\n[csms]\nsecurity_profile = 1\npassword_env = "PW"\n'
                 '[[stations]]\nid = "A"\n', encoding="utf-8")
    redact.register_bench(load_bench(f, environ={"PW": "bench-password-from-env"}))
    assert "bench-password" not in redact.text("Basic auth with bench-password-from-env")


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    # The pytest plugin installed the record factory for this process (runner.redact.install).
    assert logging.getLogRecordFactory() is redact._RedactedRecord
    redact.learn("LOGGED-TOKEN-9")
    with caplog.at_level(logging.INFO):
        logging.getLogger("lab.twin.charger").info("sent %s", {"idToken": "LOGGED-TOKEN-9"})
    assert "LOGGED-TOKEN-9" not in caplog.text and "[token#" in caplog.text


def test_tokens_named_in_message_patterns_are_learnt_before_anything_leaves() -> None:
    import dsl
    from runner import redact

    spec = ('spec "s"\n  scenario "x"\n'
            '    expect charger sends Authorize {idToken: {idToken: "PATTERN-TOKEN-1" or "PATTERN-TOKEN-2"}} '
            'or TransactionEvent {idToken: {idToken: not "PATTERN-TOKEN-3"}}\n'
            '    remember seqNo of the last TransactionEvent {idToken: {idToken: "PATTERN-TOKEN-4"}} as "n"\n')
    (plan,) = dsl.compile(dsl.parse(spec, "s.spec"))
    redact.register_plan(plan.scenarios[0])
    shown = redact.text("PATTERN-TOKEN-1 PATTERN-TOKEN-2 PATTERN-TOKEN-3 PATTERN-TOKEN-4")
    assert "PATTERN-TOKEN" not in shown, shown
