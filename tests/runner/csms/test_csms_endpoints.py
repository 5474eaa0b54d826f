"""The harness's endpoints (network connection profiles, B09/B10): csms and csms2 both serve a charger and
say which one it is on; an endpoint refuses all or the next N attempts; the invalid URL closes every
connection unanswered; every attempt is logged with its endpoint."""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from lab.bench import CsmsConfig
from runner.csms import CsmsHarness
from runner.csms.errors import CsmsError
from runner.recorder import Recorder

Run = Callable[..., Recorder]


def open_at(url: str, station: str = "CS1") -> connect:
    return connect(f"{url}/{station}", subprotocols=["ocpp2.0.1"], open_timeout=5)  # type: ignore[list-item]


def test_two_endpoints_listen_on_their_own_ports_and_name_the_connection(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        assert h.url == h.urls["csms"] and h.urls["csms2"].startswith("ws://127.0.0.1:")
        assert h.urls["csms"] != h.urls["csms2"]
        async with open_at(h.urls["csms2"]):
            await h.wait_connected("CS1", 5)
            assert h.endpoint("CS1") == "csms2"
        await h.wait_disconnected("CS1", 5)
        assert h.endpoint("CS1") is None
        async with open_at(h.url):
            await h.wait_connected("CS1", 5)
            assert h.endpoint("CS1") == "csms"
        assert [(a.endpoint, a.station, a.accepted) for a in h.attempts("CS1")] == [
            ("csms2", "CS1", True), ("csms", "CS1", True)]

    rec = run(test)
    connected = [e for e in rec.events() if e["kind"] == "csms.connected"]
    assert [e["endpoint"] for e in connected] == ["csms2", "csms"]


def test_an_endpoint_refuses_the_next_n_attempts_then_accepts(run: Run) -> None:
    async def test(h: CsmsHarness, _rec: Recorder) -> None:
        h.refuse_endpoint("csms", 2)
        for _ in range(2):
            with pytest.raises(InvalidStatus) as refused:
                async with open_at(h.url):
                    pass
            assert refused.value.response.status_code == 503
        async with open_at(h.urls["csms2"]):   # the other endpoint was never refusing
            await h.wait_connected("CS1", 5)
        async with open_at(h.url):
            await h.wait_connected("CS1", 5)
        got = [(a.endpoint, a.accepted) for a in h.attempts("CS1")]
        assert got == [("csms", False), ("csms", False), ("csms2", True), ("csms", True)]
        assert "connections to csms refused by the test" in h.attempts("CS1")[0].reason

    run(test)


def test_refusing_every_attempt_lasts_until_accepted_again(run: Run) -> None:
    async def test(h: CsmsHarness, _rec: Recorder) -> None:
        h.refuse_endpoint("csms2")
        for _ in range(3):
            with pytest.raises(InvalidStatus):
                async with open_at(h.urls["csms2"]):
                    pass
        h.accept_reconnects()   # the return to idle's call: every endpoint accepts again
        async with open_at(h.urls["csms2"]):
            await h.wait_connected("CS1", 5)

    run(test)


def test_the_invalid_url_closes_unanswered_and_logs_the_attempt(run: Run) -> None:
    async def test(h: CsmsHarness, _rec: Recorder) -> None:
        assert h.invalid_url.startswith("ws://127.0.0.1:") and h.invalid_url not in h.urls.values()
        with pytest.raises(Exception):  # noqa: B017  (the handshake fails however the client words it)
            async with open_at(h.invalid_url):
                pass
        attempts = h.attempts("CS1")
        assert [(a.endpoint, a.station, a.accepted) for a in attempts] == [("invalid", "", False)]
        assert not h.connected("CS1")

    run(test)


def test_attempts_since_a_time_and_unknown_endpoints(run: Run) -> None:
    async def test(h: CsmsHarness, _rec: Recorder) -> None:
        async with open_at(h.url):
            await h.wait_connected("CS1", 5)
        later = h.clock.now()
        await asyncio.sleep(0.01)
        assert h.attempts("CS1", since_t=later) == []
        assert len(h.attempts("CS1", since_t=-math.inf)) == 1
        with pytest.raises(CsmsError, match="no CSMS endpoint 'csms3'"):
            h.refuse_endpoint("csms3")

    run(test)


def test_the_second_port_comes_from_the_bench_file(run: Run) -> None:
    async def test(h: CsmsHarness, _rec: Recorder) -> None:
        assert h.urls["csms2"].endswith(f":{port}")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run(test, CsmsConfig(port2=port))


def test_the_bench_file_refuses_one_port_for_both_endpoints_and_one_slot_for_both() -> None:
    with pytest.raises(ValueError, match="port and port2 are both 9000"):
        CsmsConfig(port=9000, port2=9000)
    with pytest.raises(ValueError, match="configuration_slot and configuration_slot2 are both 1"):
        CsmsConfig(configuration_slot=1, configuration_slot2=1)


def test_csms2_presents_its_own_certificate_at_tls_profiles(run: Run, tmp_path: Path) -> None:
    """TC_B_50_CS: csms2 presents a certificate of the new CSMS root ([csms] certfile2), csms the old root's."""
    old = trustme.CA()
    new = old.create_child_ca()
    old.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(tmp_path / "csms.pem")
    new.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(tmp_path / "csms2.pem")
    cfg = CsmsConfig(security_profile=2, password="0123456789abcdefXYZ", certfile=str(tmp_path / "csms.pem"),
                     certfile2=str(tmp_path / "csms2.pem"))

    async def issuer(url: str) -> str:
        host, port = url.removeprefix("wss://").split(":")
        ctx = ssl.create_default_context()
        old.configure_trust(ctx)  # both chains end at the old root; read which CA signed the leaf
        _, writer = await asyncio.open_connection(host, int(port), ssl=ctx)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        return x509.load_der_x509_certificate(der).issuer.rfc4514_string()

    async def test(h: CsmsHarness, _rec: Recorder) -> None:
        assert h.urls["csms2"].startswith("wss://") and h.invalid_url.startswith("wss://")
        got = {name: await issuer(h.urls[name]) for name in ("csms", "csms2")}
        assert got["csms"] != got["csms2"]
        assert got["csms2"] == x509.load_pem_x509_certificate(new.cert_pem.bytes()).subject.rfc4514_string()

    run(test, cfg)


def test_a_taken_second_port_fails_the_start_and_leaves_nothing_listening() -> None:
    from instruments.clock import Clock

    async def main() -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            clock = Clock()
            harness = CsmsHarness(Recorder(clock), clock, CsmsConfig(port2=busy.getsockname()[1]))
            with pytest.raises(OSError):
                await harness.start()
            assert all(ep.server is None for ep in harness._endpoints.values())

    asyncio.run(main())
