"""Bench values (`remembered "bench.…"`, runner/bench_values.py): the harness's URLs and the [csms] table's
connection data, the CSMS root certificates of a TLS bench, and what a spec is told when the bench file
does not give one."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import trustme
from cryptography import x509

from dsl.statements import BENCH_VALUES
from instruments.clock import Clock
from lab.bench import CsmsConfig
from runner.bench_values import bench_values, certificate_hash_data, unavailable
from runner.csms import CsmsHarness
from runner.recorder import Recorder


def values_of(config: CsmsConfig) -> dict[str, object]:
    async def main() -> dict[str, object]:
        clock = Clock()
        harness = CsmsHarness(Recorder(clock), clock, config)
        await harness.start()
        try:
            return bench_values(config, harness) | {"_urls": dict(harness.urls), "_invalid": harness.invalid_url}
        finally:
            await harness.stop()

    return asyncio.run(main())


def test_the_connection_data_and_urls_of_a_plain_bench() -> None:
    v = values_of(CsmsConfig(ocpp_interface="Wireless0", message_timeout_s=45, configuration_slot=2,
                             configuration_slot2=3))
    urls = v.pop("_urls")
    assert v.pop("_invalid") == v["bench.invalidCsmsUrl"]
    assert v["bench.csmsUrl"] == urls["csms"] and v["bench.csmsUrl2"] == urls["csms2"]  # type: ignore[index]
    assert {k: v[k] for k in ("bench.securityProfile", "bench.ocppInterface", "bench.messageTimeout",
                              "bench.configurationSlot", "bench.configurationSlot2", "bench.priority1",
                              "bench.priority2", "bench.priority2then1")} == {
        "bench.securityProfile": 0, "bench.ocppInterface": "Wireless0", "bench.messageTimeout": 45,
        "bench.configurationSlot": 2, "bench.configurationSlot2": 3, "bench.priority1": "2",
        "bench.priority2": "3", "bench.priority2then1": "3,2"}
    # Without root certificate files those two are left out; every other name of the checker's list is there.
    assert set(v) == set(BENCH_VALUES) - {"bench.csmsRootCertificate2", "bench.csmsRootHashData"}


def test_a_missing_bench_value_names_the_bench_file_key() -> None:
    assert "gives no [csms] root_certfile2, so bench.csmsRootCertificate2 has no value" in unavailable(
        "bench.csmsRootCertificate2")
    assert "[csms] root_certfile," in unavailable("bench.csmsRootHashData")


def test_root_certificates_from_the_bench_file(tmp_path: Path) -> None:
    old = trustme.CA()
    new = old.create_child_ca()   # "new CSMS root certificate 2, signed by the old root" (TC_B_47/50_CS)
    old.cert_pem.write_to_path(tmp_path / "old.pem")
    new.cert_pem.write_to_path(tmp_path / "new.pem")
    v = values_of(CsmsConfig(root_certfile=str(tmp_path / "old.pem"), root_certfile2=str(tmp_path / "new.pem")))
    assert v["bench.csmsRootCertificate2"] == (tmp_path / "new.pem").read_text()
    assert v["bench.csmsRootHashData"] == certificate_hash_data(old.cert_pem.bytes())


def test_hash_data_of_a_root_hashes_its_own_name_and_key() -> None:
    ca = trustme.CA()
    cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    data = certificate_hash_data(ca.cert_pem.bytes())
    assert data["hashAlgorithm"] == "SHA256"
    assert data["issuerNameHash"] == hashlib.sha256(cert.issuer.public_bytes()).hexdigest()
    assert data["serialNumber"] == format(cert.serial_number, "x") and not data["serialNumber"].startswith("0")
    # The key hash covers the same bits as the subject key identifier's SHA-1 (RFC 5280 4.2.1.2, method 1).
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from runner.bench_values import _bit_string_contents
    bits = _bit_string_contents(cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
    assert hashlib.sha1(bits).digest() == x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    assert data["issuerKeyHash"] == hashlib.sha256(bits).hexdigest()
