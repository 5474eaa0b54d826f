"""The twin's charger at security profiles 1-3 against the real CSMS harness, with trustme certificates:
it boots with the right credentials, and with a wrong password or certificate it is refused and the
harness records why."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from ocpp.v201 import call

import lab
from instruments.clock import Clock
from lab.bench import BenchConfig, load_bench
from lab.loop import LoopThread
from lab.twin import Twin, TwinSecurityError
from lab.twin.faults import Faults
from lab.twin.security import ChargerSecurity
from runner.csms.harness import CsmsHarness
from runner.recorder import Recorder

PASSWORD = "0123456789abcdefXYZ"
STATION = "TWIN-AC22-001"
TWIN_TOML = Path(lab.__file__).parent / "benches" / "twin.toml"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CSMS certificate for 127.0.0.1, the charger's certificate from the same CA, and one from a stranger."""
    d = tmp_path_factory.mktemp("pki")
    ca, rogue = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    rogue.cert_pem.write_to_path(str(d / "rogue-ca.pem"))
    files = {"ca": str(d / "ca.pem"), "rogue_ca": str(d / "rogue-ca.pem")}
    leaves = {
        "csms": ca.issue_cert("127.0.0.1"),
        "charger": ca.issue_cert("charger.example", common_name=STATION, organization_name="Lab CSO"),
        "rogue": rogue.issue_cert("charger.example", common_name=STATION),
    }
    for name, leaf in leaves.items():
        leaf.cert_chain_pems[0].write_to_path(str(d / f"{name}.pem"))
        leaf.private_key_pem.write_to_path(str(d / f"{name}.key"))
        files |= {name: str(d / f"{name}.pem"), f"{name}_key": str(d / f"{name}.key")}
    return files


def eventually(probe: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, f"timed out after {timeout} s"
        time.sleep(0.01)
    return value


def bench(pki: dict[str, str], profile: int, **csms: Any) -> BenchConfig:
    settings: dict[str, Any] = {"csms.security_profile": profile}
    if profile in (1, 2):
        settings["csms.password"] = PASSWORD
    if profile in (2, 3):
        settings |= {"csms.certfile": pki["csms"], "csms.keyfile": pki["csms_key"], "csms.cafile": pki["ca"]}
    if profile == 3:
        settings |= {"csms.client_certfile": pki["charger"], "csms.client_keyfile": pki["charger_key"]}
    settings |= {f"csms.{k}": v for k, v in csms.items()}
    return load_bench(TWIN_TOML, overrides={"clock.speed": 60, **settings})


class Rig:
    """The harness with the CSMS's bench file, the twin with the charger's (they differ in the refusal tests)."""

    def __init__(self, loop: LoopThread, csms_bench: BenchConfig, twin_bench: BenchConfig) -> None:
        self.loop = loop
        self.clock = Clock(speed=csms_bench.clock.speed)
        self.recorder = Recorder(self.clock)
        self.harness = CsmsHarness(self.recorder, self.clock, csms_bench.csms, stations=[STATION])
        self.url = loop.run(self.harness.start(), timeout=5)
        self.twin = Twin(twin_bench, self.clock, Faults())

    def start(self) -> None:
        self.loop.run(self.twin.start(self.url), timeout=10)

    def close(self) -> None:
        self.loop.run(self.twin.stop(), timeout=10)
        self.loop.run(self.harness.stop(), timeout=10)


@pytest.fixture
def rigs(loop: LoopThread) -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.close()


@pytest.mark.parametrize("profile", [1, 2, 3])
def test_charger_boots_at_each_security_profile(profile: int, pki: dict[str, str], loop: LoopThread,
                                                rigs: list[Rig]) -> None:
    b = bench(pki, profile)
    rig = Rig(loop, b, b)
    rigs.append(rig)
    assert rig.url.startswith("wss://" if profile >= 2 else "ws://")
    rig.start()
    loop.run(rig.harness.wait_booted(STATION, 300), timeout=10)
    [connected] = rig.recorder.events("csms.connected")
    assert connected["security_profile"] == profile
    assert ("auth" in connected) == (profile in (1, 2))
    if profile >= 2:
        assert connected["tls"].startswith("TLSv1.")
    if profile == 3:
        assert connected["client_certificate"]["subject_cn"] == STATION
    assert rig.twin.charger.device.value("SecurityCtrlr", "SecurityProfile") == str(profile)
    assert not rig.recorder.findings(), rig.recorder.findings()


@pytest.mark.parametrize("profile", [1, 2])
def test_wrong_password_is_refused_and_recorded(profile: int, pki: dict[str, str], loop: LoopThread,
                                                rigs: list[Rig]) -> None:
    rig = Rig(loop, bench(pki, profile), bench(pki, profile, passwords={STATION: "not-the-right-one-at-all"}))
    rigs.append(rig)
    rig.start()
    refused = eventually(lambda: rig.recorder.events("csms.refused"))
    assert refused[0]["status"] == 401 and refused[0]["station"] == STATION
    assert f"wrong password for '{STATION}' (24 characters sent)" in refused[0]["reason"]
    assert any(f.severity == "error" and "401" in f.message for f in rig.recorder.findings())
    assert rig.harness.booted_t(STATION) is None and rig.twin.charger.counters.boots == 0
    eventually(lambda: rig.twin.charger.counters.connect_failures >= 1)
    assert "401" in rig.twin.charger.counters.last_error


def test_untrusted_charger_certificate_is_refused_at_the_tls_layer(pki: dict[str, str], loop: LoopThread,
                                                                    rigs: list[Rig]) -> None:
    rogue = bench(pki, 3, client_certfile=pki["rogue"], client_keyfile=pki["rogue_key"])
    rig = Rig(loop, bench(pki, 3), rogue)
    rigs.append(rig)
    rig.start()
    refused = eventually(lambda: rig.recorder.events("csms.refused"))
    assert refused[0]["layer"] == "tls" and "certificate" in refused[0]["reason"]
    assert rig.twin.charger.counters.boots == 0


def test_a_csms_password_change_is_used_at_the_next_connection(pki: dict[str, str], loop: LoopThread,
                                                               rigs: list[Rig]) -> None:
    b = bench(pki, 1)
    rig = Rig(loop, b, b)
    rigs.append(rig)
    rig.start()
    loop.run(rig.harness.wait_booted(STATION, 300), timeout=10)
    out = loop.run(rig.harness.set_variables(STATION, {"SecurityCtrlr.BasicAuthPassword": "another-password-42"}),
                   timeout=10)
    assert out.response["setVariableResult"][0]["attributeStatus"] == "Accepted"
    got = loop.run(rig.harness.get_variables(STATION, ["SecurityCtrlr.BasicAuthPassword"]), timeout=10)
    assert got.response["getVariableResult"][0]["attributeStatus"] == "Rejected"  # WriteOnly
    loop.run(rig.harness.drop(STATION), timeout=10)
    # The harness still expects the old password: the charger's next attempt is refused.
    refused = eventually(lambda: rig.recorder.events("csms.refused"))
    assert "wrong password" in refused[0]["reason"] and "(19 characters sent)" in refused[0]["reason"]


@pytest.mark.parametrize(("profile", "url", "message"), [
    (2, "ws://127.0.0.1:1", "security profile 2 connects over wss://"),
    (0, "wss://127.0.0.1:1", "security profile 0 connects over ws://"),
])
def test_url_scheme_must_match_the_profile(profile: int, url: str, message: str, pki: dict[str, str],
                                           loop: LoopThread) -> None:
    twin = Twin(bench(pki, profile), Clock(speed=60), Faults())
    with pytest.raises(TwinSecurityError, match=message):
        loop.run(twin.start(url), timeout=10)
    # The instrument servers it had opened are closed again.
    assert all(server._server is None for st in twin.stations.values() for server in [*st.analyzers.values(),
                                                                                        *st.evs.values()])


def test_profile3_without_a_client_certificate_says_which_setting_is_missing(pki: dict[str, str],
                                                                            loop: LoopThread) -> None:
    b = bench(pki, 3, client_certfile=None)
    twin = Twin(b, Clock(speed=60), Faults())
    with pytest.raises(TwinSecurityError, match=r"needs \[csms\] client_certfile"):
        loop.run(twin.start("wss://127.0.0.1:1"), timeout=10)
    missing = bench(pki, 2, cafile=str(Path(pki["ca"]).with_name("nope.pem")))
    with pytest.raises(TwinSecurityError, match=r"cafile = .*nope.pem.*: no such file"):
        loop.run(Twin(missing, Clock(speed=60), Faults()).start("wss://127.0.0.1:1"), timeout=10)


def security_events(rig: Rig) -> list[str]:
    return [f.payload["type"] for f in rig.recorder.frames(station=STATION)
            if f.action == "SecurityEventNotification" and f.message_type == 2]


@pytest.mark.parametrize("password", ["fifteen-chars15", "sixteen-chars-ok!", "x" * 41])
def test_tc_a_10_cs_a_password_outside_the_rules_is_rejected_and_the_old_one_stays(
        password: str, pki: dict[str, str], loop: LoopThread, rigs: list[Rig]) -> None:
    """TC_A_10_CS: a BasicAuthPassword under 16 characters is Rejected and the charger reconnects with the old one
    (post-scenario validation); so is one over 40 or with a character passwordString lacks ('!'). Before the fix
    the twin stored the 15-character and the '!' one and was refused (401) at the next connection."""
    b = bench(pki, 1)
    rig = Rig(loop, b, b)
    rigs.append(rig)
    rig.start()
    loop.run(rig.harness.wait_booted(STATION, 300), timeout=10)
    out = loop.run(rig.harness.set_variables(STATION, {"SecurityCtrlr.BasicAuthPassword": password}), timeout=10)
    assert out.response["setVariableResult"][0]["attributeStatus"] == "Rejected"
    loop.run(rig.harness.drop(STATION), timeout=10)
    eventually(lambda: len(rig.recorder.events("csms.connected")) >= 2)
    assert rig.recorder.events("csms.refused") == []
    assert rig.twin.charger.counters.connect_failures == 0


def test_tc_a_09_cs_every_character_passwordstring_allows_is_accepted(pki: dict[str, str], loop: LoopThread,
                                                                       rigs: list[Rig]) -> None:
    """TC_A_09_CS: 16 to 40 characters of a-z A-Z 0-9 * - _ = : + | @ . are Accepted (the rule of TC_A_10_CS
    must not refuse a good one)."""
    b = bench(pki, 1)
    rig = Rig(loop, b, b)
    rigs.append(rig)
    rig.start()
    loop.run(rig.harness.wait_booted(STATION, 300), timeout=10)
    for password in ("aZ09*-_=:+|@.aaa", "A" * 40):
        out = loop.run(rig.harness.set_variables(STATION, {"SecurityCtrlr.BasicAuthPassword": password}), timeout=10)
        assert out.response["setVariableResult"][0]["attributeStatus"] == "Accepted", password


def test_tc_a_05_cs_an_invalid_csms_certificate_is_reported_once_connected(pki: dict[str, str], loop: LoopThread,
                                                                           rigs: list[Rig]) -> None:
    """TC_A_05_CS: the charger ends the handshake on a CSMS certificate it cannot verify (here: signed by a CA it
    does not trust), and once it connects with a valid one it sends SecurityEventNotification
    InvalidCsmsCertificate (critical, A04), once for the run of refused attempts. Before the fix it sent none."""
    twin_bench = bench(pki, 2, cafile=pki["rogue_ca"])
    rig = Rig(loop, bench(pki, 2), twin_bench)
    rigs.append(rig)
    rig.start()
    charger = rig.twin.charger
    eventually(lambda: charger.counters.connect_failures >= 2, timeout=10)
    assert "CERTIFICATE_VERIFY_FAILED" in charger.counters.last_error
    # The CSMS now presents a certificate the charger trusts (TC_A_05_CS step 5): the twin's trust store is swapped.
    charger._tls = ChargerSecurity.from_bench(bench(pki, 2).csms, STATION).tls_context()
    loop.run(rig.harness.wait_booted(STATION, 300), timeout=10)
    eventually(lambda: "InvalidCsmsCertificate" in security_events(rig))
    eventually(lambda: "StartupOfTheDevice" in security_events(rig))
    assert security_events(rig).count("InvalidCsmsCertificate") == 1
    [frame] = [f for f in rig.recorder.frames(station=STATION) if f.action == "SecurityEventNotification"
               and f.message_type == 2 and f.payload["type"] == "InvalidCsmsCertificate"]
    assert frame.payload["techInfo"].startswith("TLS handshake ended: ")
    assert not [f for f in rig.recorder.findings() if "schema" in f.message], rig.recorder.findings()


def test_tc_a_20_cs_upgrade_without_a_csms_root_certificate(twin_factory: Callable[..., Any]) -> None:
    """TC_A_20_CS through the charger: SetNetworkProfile for security profile 2 is Accepted (step 2), the
    NetworkConfigurationPriority naming it Rejected (step 4); the charger stays on its own profile."""
    env = twin_factory()
    env.csms.wait_for(lambda: env.csms.find("BootNotification"), 5, "boot")
    profile = {"ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": "wss://127.0.0.1:9443/",
               "message_timeout": 30, "security_profile": 2, "ocpp_interface": "Wired0"}
    reply = env.csms.call(env.station_id, call.SetNetworkProfile(configuration_slot=2, connection_data=profile))
    assert reply.status == "Accepted"
    reply = env.csms.call(env.station_id, call.SetVariables(set_variable_data=[{
        "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "NetworkConfigurationPriority"},
        "attribute_value": "2,1"}]))
    assert reply.set_variable_result[0]["attribute_status"] == "Rejected"
    assert env.twin.charger.device.value("OCPPCommCtrlr", "NetworkConfigurationPriority") == "1"


@pytest.mark.parametrize(("password", "why"), [
    ("short-pw", "it has 8 characters"),
    ("sixteen-chars-ok!", "it has 17 characters, and '!' is not allowed"),
    ("a" * 41, "it has 41 characters"),
])
def test_tc_a_01_cs_the_twin_presents_only_a_password_a_charger_may_have(
        password: str, why: str, pki: dict[str, str], loop: LoopThread) -> None:
    """TC_A_01_CS's tool validation: the Basic-auth password is 16 to 40 characters of passwordString's set. The
    twin used to present whatever the bench file said; now start() names the rule (and never the password)."""
    twin = Twin(bench(pki, 1, password=password), Clock(speed=60), Faults())
    with pytest.raises(TwinSecurityError) as refused:
        loop.run(twin.start("ws://127.0.0.1:1"), timeout=10)
    assert str(refused.value) == (
        f"station {STATION}: the Basic-auth password for security profile 1 must be 16 to 40 characters of a-z A-Z "
        f"0-9 * - _ = : + | @ . (OCPP 2.0.1 BasicAuthPassword); {why}")
    assert password not in str(refused.value)


@pytest.mark.parametrize("profile", [2, 3])
def test_tc_a_04_07_cs_tls_1_2_and_the_ecdsa_gcm_cipher_suites(profile: int, pki: dict[str, str]) -> None:
    """TC_A_04_CS / TC_A_07_CS step validations: TLS 1.2 or above, and at least the pair
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 and _AES_256_GCM_SHA384 (or the TLS_RSA pair) offered."""
    ctx = ChargerSecurity.from_bench(bench(pki, profile).csms, STATION).tls_context()
    assert ctx is not None and ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    offered = {c["name"] for c in ctx.get_ciphers()}
    assert {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"} <= offered
