"""The bench's own values a spec may put into a message: `remembered "bench.csmsUrl"` and the other names of
dsl.statements.BENCH_VALUES, filled in at the start of every scenario from the bench file's [csms] table and
the running harness (its endpoints' URLs).

They are the catalogue's <Configured …> values: TC_B_43_CS sends the configured ocppCsmsUrl, messageTimeout,
ocppInterface and securityProfile with only the slot invalid; TC_B_45_CS points a free slot at "an
ocppCsmsUrl that is not currently active" (the harness's second endpoint, csms2); TC_B_47/50_CS install a new
CSMS root (`bench.csmsRootCertificate2`) and look for the old one's hash data (`bench.csmsRootHashData`).
A value the bench file does not give (no root_certfile) is left out: a line that uses it is broken, and
`unavailable` says which bench file key to set."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dsl.statements import BENCH_VALUES
from lab.bench import CsmsConfig
from runner.csms.harness import CsmsHarness

# Bench values that come from an optional bench file key: name -> the key.
_FROM_FILE = {"bench.csmsRootCertificate2": "root_certfile2", "bench.csmsRootHashData": "root_certfile"}


def bench_values(config: CsmsConfig, harness: CsmsHarness) -> dict[str, Any]:
    slot, slot2 = config.configuration_slot, config.configuration_slot2
    values: dict[str, Any] = {
        "bench.csmsUrl": harness.urls.get("csms", harness.url),
        "bench.csmsUrl2": harness.urls.get("csms2", ""),
        "bench.invalidCsmsUrl": harness.invalid_url,
        "bench.securityProfile": config.security_profile,
        "bench.ocppInterface": config.ocpp_interface,
        "bench.messageTimeout": config.message_timeout_s,
        "bench.configurationSlot": slot,
        "bench.configurationSlot2": slot2,
        "bench.priority2": str(slot2),
        "bench.priority2then1": f"{slot2},{slot}",
        "bench.priority1": str(slot),
    }
    if config.root_certfile2:
        values["bench.csmsRootCertificate2"] = Path(config.root_certfile2).read_text(encoding="ascii")
    if config.root_certfile:
        values["bench.csmsRootHashData"] = certificate_hash_data(Path(config.root_certfile).read_bytes())
    assert values.keys() <= BENCH_VALUES.keys(), "runner/bench_values.py and dsl.statements.BENCH_VALUES disagree"
    return values


def unavailable(name: str) -> str:
    """Why a `remembered "bench.…"` has no value in this scenario."""
    key = _FROM_FILE.get(name)
    if key is None:
        return f"the bench has no value {name}"
    return f"the bench file gives no [csms] {key}, so {name} has no value (docs/language.md, \"Bench values\")"


def certificate_hash_data(pem: bytes) -> dict[str, str]:
    """OCPP's CertificateHashDataType (SHA256) of the first certificate in `pem`: the hashes of its issuer's
    DER-encoded name and of its issuer's public key (for a root, its own), and its serial number in hex
    without leading zeroes (Part 2's CertificateHashDataType, as OCPP 2.0.1 implementations print it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    cert = x509.load_pem_x509_certificate(pem)
    # The key hash covers the public key's BIT STRING contents: the DER SubjectPublicKeyInfo minus its header.
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    key_bits = _bit_string_contents(spki)
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": hashlib.sha256(cert.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": hashlib.sha256(key_bits).hexdigest(),
        "serialNumber": format(cert.serial_number, "x"),
    }


def _bit_string_contents(spki: bytes) -> bytes:
    """The subjectPublicKey bits of a DER SubjectPublicKeyInfo (SEQUENCE { AlgorithmIdentifier, BIT STRING })."""
    def header(data: bytes, at: int) -> tuple[int, int]:
        """(start of contents, length) of the DER element at `at`."""
        length, at = data[at + 1], at + 2
        if length & 0x80:
            n = length & 0x7F
            length, at = int.from_bytes(data[at:at + n], "big"), at + n
        return at, length

    body, _ = header(spki, 0)                 # the outer SEQUENCE
    algo, algo_len = header(spki, body)       # AlgorithmIdentifier
    bits, bits_len = header(spki, algo + algo_len)
    return spki[bits + 1:bits + bits_len]     # skip the unused-bits byte
