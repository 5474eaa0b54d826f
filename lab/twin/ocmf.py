"""The twin's signed meter values: its energy register as OCMF records (Open Charge Metering Format, S.A.F.E.
e.V.), signed as a calibration-law meter would sign them, for a bench whose station says
`signed_meter_values = true`.

A record is `OCMF|{payload}|{signature}`: the payload is a JSON object naming the gateway (the charger), the
meter and its readings (RD: time with its status, the transaction stage B/T/E, value, OBIS code, unit,
meter status); the signature object holds the algorithm (SA) and the signature data (SD: the hex DER ECDSA
signature over the payload's exact bytes). OCPP 2.0.1 carries it in a sampled value's `signedMeterValue`:
`signedMeterData` (the record, base64), `signingMethod`, `encodingMethod` ("OCMF") and `publicKey` (the DER
public key, base64). Each twin charger makes its own P-256 key when it starts.

`tampered=True` signs the true reading and then reports 1 Wh more in the signed payload: a record whose
signature no longer matches, as a meter or gateway that altered it would send (for the verifier's tests; no
fault knob exposes it, as no spec judges signatures and a knob costs a run of the whole library).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNING_METHOD = "ECDSA-secp256r1-SHA256"
ENCODING = "OCMF"
OBIS_IMPORT = "1-b:1.8.0"  # active energy import, total
# OCPP reading context -> OCMF reading reason: B(egin), E(nd), C (charging: a reading during the transaction;
# T is a tariff change)
_STAGE = {"Transaction.Begin": "B", "Transaction.End": "E"}


def ocmf_time(when: datetime) -> str:
    """OCMF's time format: milliseconds after a comma, the offset without a colon, then the time status
    (S: synchronised; the twin's clock is the bench's)."""
    text = when.isoformat(timespec="milliseconds").replace(".", ",")
    if text.endswith("+00:00"):
        text = text[:-6] + "+0000"
    return f"{text} S"


@dataclass
class MeterSigner:
    """One charger's meter: its identity and its private key (made fresh, never written anywhere)."""

    gateway: str
    serial: str
    firmware: str
    meter_serial: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    pages: int = 0

    @property
    def public_key_der(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def record(self, wh: float, when: datetime, context: str, *, tampered: bool = False) -> str:
        """The register reading `wh` at `when` as a signed OCMF record."""
        self.pages += 1
        reading = {"TM": ocmf_time(when), "TX": _STAGE.get(context, "C"), "RV": round(wh / 1000.0, 4),
                   "RI": OBIS_IMPORT, "RU": "kWh", "RT": "AC", "ST": "G"}
        payload: dict[str, Any] = {
            "FV": "1.0", "GI": self.gateway, "GS": self.serial, "GV": self.firmware, "PG": f"T{self.pages}",
            "MV": "chargespec", "MM": "twin meter", "MS": self.meter_serial, "MF": "1.0",
            "IS": False, "IT": "NONE", "ID": "", "RD": [reading],
        }
        text = json.dumps(payload, separators=(",", ":"))
        sd = self.key.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256())).hex().upper()
        if tampered:  # altered after signing: the signature no longer matches what is reported
            reading["RV"] = round(wh / 1000.0 + 0.001, 4)
            text = json.dumps(payload, separators=(",", ":"))
        return f"OCMF|{text}|{json.dumps({'SA': SIGNING_METHOD, 'SD': sd}, separators=(',', ':'))}"

    def signed_meter_value(self, wh: float, when: datetime, context: str, *, tampered: bool = False
                           ) -> dict[str, str]:
        """A SignedMeterValueType (snake_case, as the ocpp library sends it camelCased)."""
        record = self.record(wh, when, context, tampered=tampered)
        return {"signed_meter_data": base64.b64encode(record.encode("utf-8")).decode("ascii"),
                "signing_method": SIGNING_METHOD, "encoding_method": ENCODING,
                "public_key": base64.b64encode(self.public_key_der).decode("ascii")}
