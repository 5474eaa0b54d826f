"""Billing evidence: signed meter values (OCMF) as the twin signs them, verified per transaction by
runner/ocmf.py with pyocmf; each way a transaction's evidence can fail says why."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from lab.twin.ocmf import MeterSigner
from runner import ocmf
from runner.ocmf import StationSigning

WHEN = datetime(2026, 11, 30, 13, 7, 39, tzinfo=UTC)
SIGNER = MeterSigner("chargespec Twin AC22", "SN-1", "1.4.2", "SN-1-M1")


def _event(uid: str, tx: str, wh: float, *, signed: dict[str, Any] | None = None, sign: bool = True,
           context: str = "Sample.Periodic", unit: str = "Wh") -> tuple[str, str]:
    sv: dict[str, Any] = {"value": wh if unit == "Wh" else wh / 1000, "measurand": ocmf.ENERGY,
                          "unitOfMeasure": {"unit": unit}, "context": context}
    if sign:
        smv = signed or SIGNER.signed_meter_value(wh, WHEN, context)
        sv["signedMeterValue"] = {"signedMeterData": smv["signed_meter_data"], "signingMethod": smv["signing_method"],
                                  "encodingMethod": smv["encoding_method"], "publicKey": smv["public_key"]}
    payload = {"eventType": "Updated", "transactionInfo": {"transactionId": tx},
               "meterValue": [{"timestamp": "2026-11-30T13:07:39Z", "sampledValue": [sv]}]}
    return "CS1", json.dumps([2, uid, "TransactionEvent", payload])


SIGNS = {"CS1": StationSigning(True)}


def test_a_transaction_whose_readings_all_verify() -> None:
    again = _event("b", "tx1", 1500.4)
    frames = [_event("a", "tx1", 1000.0, context="Transaction.Begin"), again,
              again]  # the same frame in two scenario folders counts once
    [c] = ocmf.check(frames, SIGNS)
    assert (c.status, c.signed, c.readings, c.counts_against) == ("verified", 2, 2, False)
    assert "the key the records carry" in c.reason  # no meter_public_key: integrity, not origin


def test_a_tampered_record_is_not_verified() -> None:
    bad = SIGNER.signed_meter_value(2000.0, WHEN, "Sample.Periodic", tampered=True)
    [c] = ocmf.check([_event("a", "tx1", 1000.0), _event("b", "tx1", 2000.0, signed=bad)], SIGNS)
    assert c.status == "not verified" and c.counts_against
    assert c.reason.startswith("signed reading 2 of 2: the signature does not match the signed data")


def test_a_signed_value_that_is_not_the_reported_one_is_not_verified() -> None:
    other = SIGNER.signed_meter_value(1990.0, WHEN, "Sample.Periodic")
    [c] = ocmf.check([_event("a", "tx1", 2000.0, signed=other)], SIGNS)
    assert c.reason == "signed reading 1 of 1: the signed reading 1990.0 Wh is not the reported 2000.0 Wh"


def test_a_key_other_than_the_bench_files_is_not_verified() -> None:
    pinned = base64.b64encode(MeterSigner("x", "y", "z", "m").public_key_der).decode()
    [c] = ocmf.check([_event("a", "tx1", 2000.0)], {"CS1": StationSigning(True, pinned)})
    assert c.status == "not verified" and "other than the bench file's meter_public_key" in c.reason
    [c] = ocmf.check([_event("a", "tx1", 2000.0)], {"CS1": StationSigning(True, SIGNER.public_key_der.hex())})
    assert c.status == "verified" and "the bench file's meter key" in c.reason


def test_unsigned_readings_are_absent_or_a_gap() -> None:
    [c] = ocmf.check([_event("a", "tx1", 1000.0, sign=False)], SIGNS)
    assert c.status == "absent" and c.counts_against and "none of its 1 energy register readings" in c.reason
    [c] = ocmf.check([_event("a", "tx1", 1000.0), _event("b", "tx1", 1100.0, sign=False)], SIGNS)
    assert c.status == "not verified" and c.reason == "1 of its 2 energy register readings came unsigned"
    # a charger the bench file does not say signs, and that sends nothing signed: no billing evidence row
    assert ocmf.check([_event("a", "tx1", 1000.0, sign=False)], {}) == ()


def test_a_message_id_used_again_after_a_reconnect_is_another_reading() -> None:
    # OCPP-J: a message id is unique on one connection; a charger that starts again at "1" sends new readings
    bad = SIGNER.signed_meter_value(2000.0, WHEN, "Sample.Periodic", tampered=True)
    [c] = ocmf.check([_event("1", "tx1", 1000.0), _event("1", "tx1", 2000.0, signed=bad)], SIGNS)
    assert (c.status, c.readings) == ("not verified", 2)
    assert c.reason.startswith("signed reading 2 of 2: the signature does not match")


def _record(wh: float, **changes: Any) -> dict[str, str]:
    """A record the twin's meter signs, with fields of its reading changed before signing (the signature
    matches: what is judged is what the meter says)."""
    import json as _json

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    text = SIGNER.record(wh, WHEN, "Sample.Periodic").split("|")[1]
    payload = _json.loads(text)
    for key, value in changes.items():
        if value is None:
            payload["RD"][0].pop(key)
        else:
            payload["RD"][0][key] = value
    text = _json.dumps(payload, separators=(",", ":"))
    sd = SIGNER.key.sign(text.encode(), ec.ECDSA(hashes.SHA256())).hex().upper()
    record = f'OCMF|{text}|{{"SA":"ECDSA-secp256r1-SHA256","SD":"{sd}"}}'
    smv = SIGNER.signed_meter_value(wh, WHEN, "Sample.Periodic")
    return {**smv, "signed_meter_data": base64.b64encode(record.encode()).decode()}


def test_a_reading_the_meter_marks_not_good_is_not_verified() -> None:
    [c] = ocmf.check([_event("a", "tx1", 2000.0, signed=_record(2000.0, ST="M"))], SIGNS)
    assert c.status == "not verified"
    assert c.reason == "signed reading 1 of 1: the meter marks its signed reading 'M', not G (good)"


def test_a_signed_record_that_cannot_be_compared_with_the_reported_value_is_not_verified() -> None:
    cases = {
        (("RV", None),): "the signed record holds no reading value to compare with the reported one",
        (("RU", "varh"),): "the signed reading is in 'varh', not an energy unit (Wh, kWh, MWh)",
        (("RI", "1-b:2.8.0"),): "none of its signed readings is the active energy import register (OBIS 1.8.0): "
                                "1-b:2.8.0",
    }
    for changes, why in cases.items():
        [c] = ocmf.check([_event("a", "tx1", 2000.0, signed=_record(2000.0, **dict(changes)))], SIGNS)
        assert (c.status, c.reason) == ("not verified", f"signed reading 1 of 1: {why}"), changes
    # the register written other ways is still the register
    for obis in ("01-00:01.08.00", "1-0:1.8.0", "1.8.0*255"):
        [c] = ocmf.check([_event("a", "tx1", 2000.0, signed=_record(2000.0, RI=obis))], SIGNS)
        assert c.status == "verified", (obis, c.reason)


def test_the_twins_reading_during_a_transaction_is_charging_not_a_tariff_change() -> None:
    import json as _json

    stages = [_json.loads(SIGNER.record(1.0, WHEN, ctx).split("|")[1])["RD"][0]["TX"]
              for ctx in ("Transaction.Begin", "Sample.Periodic", "Transaction.End")]
    assert stages == ["B", "C", "E"]


def test_a_register_in_kwh_is_compared_in_wh() -> None:
    [c] = ocmf.check([_event("a", "tx1", 2345.6, unit="kWh")], SIGNS)
    assert c.status == "verified", c.reason


def test_the_summary_shows_each_transactions_billing_evidence_and_withholds_acceptance(tmp_path) -> None:
    from runner.summary import html as summary_html
    from runner.summary import model
    from tests.runner.test_summary import make_run

    folder = make_run(tmp_path, results=[])
    bench = tmp_path / "bench.toml"
    bench.write_text(bench.read_text(encoding="utf-8").replace('firmware = "2.0.1"\n',
                                                                'firmware = "2.0.1"\nsigned_meter_values = true\n'),
                     encoding="utf-8")
    bad = SIGNER.signed_meter_value(2000.0, WHEN, "Sample.Periodic", tampered=True)
    frames = [_event("a", "tx-good", 1000.0), _event("b", "tx-bad", 2000.0, signed=bad),
              _event("c", "tx-none", 3000.0, sign=False)]
    (folder / "evidence" / "spec" / "scenario").mkdir(parents=True)
    (folder / "evidence" / "spec" / "scenario" / "ocpp.jsonl").write_text("".join(
        json.dumps({"t": 1.0, "station": "CS-1", "direction": "rx", "frame": raw}) + "\n" for _, raw in frames),
        encoding="utf-8")
    s = model.read(folder)
    assert [(b.transaction, b.status) for b in s.billing] == [
        ("tx-bad", "not verified"), ("tx-good", "verified"), ("tx-none", "absent")]
    assert any(r.startswith("billing evidence of CS-1 transaction tx-bad: not verified: signed reading 1 of 1: "
                            "the signature does not match") for r in s.verdict_reasons)
    html = summary_html.render(s)
    assert "Billing evidence (signed meter values, OCMF)" in html and "tx-none" in html
