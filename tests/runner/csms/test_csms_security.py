"""Security profiles 1-3 against real websocket clients with trustme certificates: who gets in, who is
refused, and that both are recorded with the reason."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from lab.bench import CsmsConfig
from runner.csms import CsmsHarness
from runner.csms.security import SecurityConfigError, check_basic_auth, server_tls_context
from runner.recorder import Recorder

Run = Callable[..., Recorder]  # the `run` fixture (conftest.py)

PASSWORD = "0123456789abcdefXYZ"          # 19 characters: inside OCPP's 16..40


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CSMS certificate and two charger certificates: one from the trusted CA, one from a stranger."""
    d = tmp_path_factory.mktemp("pki")
    ca, rogue = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(d / "csms.pem")
    server.private_key_pem.write_to_path(d / "csms.key")
    ca.cert_pem.write_to_path(d / "ca.pem")
    good = ca.issue_cert("cs1.example", common_name="CS1", organization_name="Lab CSO")
    bad = rogue.issue_cert("cs1.example", common_name="CS1")
    return {"dir": d, "ca": ca, "good": good, "bad": bad}


def config(pki: dict[str, Any], profile: int, **extra: Any) -> CsmsConfig:
    d: Path = pki["dir"]
    tls = {"certfile": str(d / "csms.pem"), "keyfile": str(d / "csms.key")} if profile >= 2 else {}
    ca = {"cafile": str(d / "ca.pem")} if profile == 3 else {}
    auth = {"password": PASSWORD} if profile in (1, 2) else {}
    return CsmsConfig(security_profile=profile, **{**tls, **ca, **auth, **extra})



def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def client_tls(pki: dict[str, Any], cert: trustme.LeafCert | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    pki["ca"].configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    return ctx


async def heartbeat(ws: Any) -> list[Any]:
    await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def until(predicate: Callable[[], Any], seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def refusals(rec: Recorder) -> list[dict[str, Any]]:
    return rec.events("csms.refused")


# ---- profile 1: basic auth over ws:// ---------------------------------------------------------

def test_profile1_good_password_connects_and_bad_ones_are_refused_with_reasons(pki: dict[str, Any], run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        assert h.url.startswith("ws://")
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"],
                           additional_headers=basic("CS1", PASSWORD)) as ws:
            assert (await heartbeat(ws))[0] == 3
        for headers in (basic("CS1", "not-the-password-at-all"), basic("CS2", PASSWORD), {}):
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers)
            assert refused.value.response.status_code == 401
            assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic")

    rec = run(test, config(pki, 1))
    [connected] = rec.events("csms.connected")
    assert connected["auth"] == "basic" and connected["security_profile"] == 1
    assert [e["status"] for e in refusals(rec)] == [401, 401, 401]
    messages = [f.message for f in rec.findings()]
    assert len(messages) == 3 and all(f.severity == "error" for f in rec.findings())
    assert "wrong password for 'CS1' (23 characters sent)" in messages[0]
    assert "user name 'CS2' is not the charging station identity 'CS1'" in messages[1]
    assert "no Authorization header" in messages[2]
    assert all("refused (401 Unauthorized)" in m and "127.0.0.1:" in m for m in messages)


def test_profile1_per_station_passwords_and_a_short_password_is_a_warning(pki: dict[str, Any], run: Run) -> None:
    cfg = config(pki, 1, passwords={"CS7": "short7"})

    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS7", subprotocols=["ocpp2.0.1"],
                           additional_headers=basic("CS7", "short7")) as ws:
            assert (await heartbeat(ws))[0] == 3
        with pytest.raises(InvalidStatus):   # CS7 has its own password; the shared one is not it
            await connect(f"{h.url}/CS7", subprotocols=["ocpp2.0.1"],
                          additional_headers=basic("CS7", PASSWORD))

    rec = run(test, cfg)
    severities = [(f.severity, f.message) for f in rec.findings()]
    assert severities[0][0] == "warning"
    assert "6 characters" in severities[0][1] and "16 to 40" in severities[0][1]
    assert severities[1][0] == "error" and "wrong password for 'CS7'" in severities[1][1]


# ---- profile 2: TLS + basic auth --------------------------------------------------------------

def test_profile2_tls_basic_auth_plain_and_old_clients_refused_at_tls_layer(pki: dict[str, Any], run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        assert h.url.startswith("wss://")
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], ssl=client_tls(pki),
                           additional_headers=basic("CS1", PASSWORD)) as ws:
            await h.wait_connected("CS1", 5)
            reset = asyncio.create_task(h.reset("CS1", "OnIdle"))
            request = json.loads(await ws.recv())
            assert request[2:] == ["Reset", {"type": "OnIdle"}]
            await ws.send(json.dumps([3, request[1], {"status": "Scheduled"}]))
            assert (await reset).response == {"status": "Scheduled"}
        with pytest.raises(InvalidStatus) as wrong:
            await connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], ssl=client_tls(pki),
                          additional_headers=basic("CS1", "x" * 20))
        assert wrong.value.response.status_code == 401
        plain = h.url.replace("wss://", "ws://")
        with pytest.raises((InvalidHandshake, OSError, asyncio.TimeoutError)):
            await connect(f"{plain}/CS1", subprotocols=["ocpp2.0.1"], open_timeout=3,
                          additional_headers=basic("CS1", PASSWORD))
        await until(lambda: any(e.get("layer") == "tls" for e in refusals(rec)))
        old = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
        old.set_ciphers("DEFAULT:@SECLEVEL=0")     # let this client really offer TLS 1.1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises(OSError):
            await connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], ssl=old, open_timeout=3)
        await until(lambda: len(refusals(rec)) == 3)

    rec = run(test, config(pki, 2, tls_handshake_timeout_s=2))
    [connected] = rec.events("csms.connected")
    assert connected["tls"].startswith("TLSv1.") and connected["auth"] == "basic"
    assert connected["remote"].startswith("127.0.0.1:")
    http, tls, old_tls = refusals(rec)
    assert http["status"] == 401 and "wrong password" in http["reason"]
    assert tls["status"] is None and tls["remote"].startswith("127.0.0.1:")
    assert "plain HTTP to the TLS port" in tls["reason"], tls["reason"]
    assert "TLS versions below 1.2" in old_tls["reason"], old_tls["reason"]
    assert any("refused during the TLS handshake" in f.message for f in rec.findings())


# ---- profile 3: mutual TLS --------------------------------------------------------------------

def test_profile3_trusted_client_cert_connects_untrusted_or_missing_refused(pki: dict[str, Any], run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        trusted = client_tls(pki, pki["good"])
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], ssl=trusted) as ws:
            assert (await heartbeat(ws))[0] == 3
        for cert in (pki["bad"], None):
            n = len(refusals(rec))
            # TLS 1.3 finishes the client's side of the handshake before the server judges the
            # certificate, so the refusal reaches the client as a failed upgrade, not a failed connect.
            with pytest.raises((InvalidHandshake, OSError, ConnectionClosed)):
                async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], open_timeout=3,
                                   ssl=client_tls(pki, cert)) as ws:
                    await heartbeat(ws)
            await until(lambda n=n: len(refusals(rec)) > n)

    rec = run(test, config(pki, 3))
    [connected] = rec.events("csms.connected")
    assert connected["client_certificate"]["subject_cn"] == "CS1"
    assert connected["client_certificate"]["subject_o"] == "Lab CSO"
    assert "auth" not in connected
    untrusted, missing = refusals(rec)
    assert untrusted["reason"] == ("client certificate rejected: unable to get local issuer certificate "
                                  "(CERTIFICATE_VERIFY_FAILED)")
    assert missing["reason"] == ("TLS handshake failed: the charger sent no client certificate (security "
                                 "profile 3 needs one) (PEER_DID_NOT_RETURN_A_CERTIFICATE)")
    messages = [f.message for f in rec.findings()]
    assert len(messages) == 2 and all("security profile 3" in m for m in messages)


def test_drop_over_tls_reaches_the_charger_and_it_can_reconnect(pki: dict[str, Any], run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        ctx = client_tls(pki, pki["good"])
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], ssl=ctx) as ws:
            await h.wait_connected("CS1", 5)
            await h.drop("CS1")
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"], ssl=ctx) as ws:
            assert (await heartbeat(ws))[0] == 3
        assert len(h.offline_periods("CS1")) == 2

    rec = run(test, config(pki, 3))
    assert rec.findings() == []


# ---- configuration ----------------------------------------------------------------------------

def test_bench_settings_are_checked_before_anything_listens(pki: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="security_profile 1 uses HTTP Basic auth"):
        CsmsConfig(security_profile=1)
    with pytest.raises(ValidationError, match="set certfile"):
        CsmsConfig(security_profile=2, password=PASSWORD)
    with pytest.raises(ValidationError, match="set cafile"):
        CsmsConfig(security_profile=3, certfile="x.pem")
    missing = CsmsConfig(security_profile=3, certfile=str(tmp_path / "nope.pem"), cafile="ca.pem")
    with pytest.raises(SecurityConfigError, match=r"nope\.pem'?: no such file"):
        server_tls_context(missing)
    assert server_tls_context(config(pki, 1)) is None
    ctx = server_tls_context(config(pki, 3))
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(("header", "reason"), [
    ("Bearer abc", "scheme 'Bearer' is not Basic"),
    ("Basic %%%", "not base64"),
    ("Basic " + base64.b64encode(b"no-colon").decode(), "no ':'"),
])
def test_malformed_authorization_headers_are_named(pki: dict[str, Any], header: str, reason: str) -> None:
    check = check_basic_auth(config(pki, 1), "CS1", header)
    assert not check.ok and reason in check.reason
