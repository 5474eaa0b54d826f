"""The twin's secure firmware update (L01) against Part 6's charging-station cases TC_L_01/02/03/10/14/18_CS:
what it answers, which FirmwareStatusNotifications it sends and in what order around the reboot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ocpp.v201 import call

from instruments.clock import iso_utc

TwinEnv = Any  # the conftest's (conftest modules are not importable under pytest's importlib mode)

PAST = "2020-01-01T00:00:00Z"
SIGNED = {"signing_certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
          "signature": "c2lnbmF0dXJl"}


TOKEN = {"id_token": "04A2B3C4", "type": "ISO14443"}


def start_session(env: TwinEnv) -> tuple[Any, str]:
    """Plug in, remote start, EV charging; the EV line and the transaction id."""
    csms, sid = env.csms, env.station_id
    ev = env.line("ev")
    ev.value("LOAD:CURR 16")
    ev.value("CP:STATE B")
    csms.wait_for(lambda: csms.find("StatusNotification", evse_id=1, connector_status="Occupied"), 5, "Occupied")
    reply = csms.call(sid, call.RequestStartTransaction(id_token=TOKEN, remote_start_id=42, evse_id=1))
    assert reply.status == "Accepted"
    started = csms.wait_for(lambda: csms.find("TransactionEvent", event_type="Started"), 5, "Started")[0]
    ev.value("CP:STATE C")
    return ev, started.payload["transaction_info"]["transaction_id"]


def booted(env: TwinEnv) -> None:
    env.csms.wait_for(lambda: len(env.csms.find("StatusNotification")) >= 2, 5, "boot and statuses")


def update(env: TwinEnv, request_id: int, *, signed: bool = True, **firmware: Any) -> Any:
    body = {"location": "https://fw.example/twin-ac22-1.5.0.bin", "retrieve_date_time": PAST, **firmware}
    if signed:
        body.update(SIGNED)
    return env.csms.call(env.station_id, call.UpdateFirmware(request_id=request_id, firmware=body))


def statuses(env: TwinEnv, request_id: int) -> list[str]:
    return [r.payload["status"] for r in env.csms.find("FirmwareStatusNotification", request_id=request_id)]


def in_the_future(env: TwinEnv, seconds: float) -> str:
    return iso_utc(env.clock.wall() + timedelta(seconds=seconds))


def test_an_update_without_signature_and_certificate_is_rejected(twin_factory: Callable[..., TwinEnv]) -> None:
    """TC_L_18_CS: a station supporting secure firmware update answers Rejected or InvalidCertificate."""
    env = twin_factory()
    booted(env)
    assert update(env, 18, signed=False).status in ("Rejected", "InvalidCertificate")
    assert update(env, 19, signed=False, signature="c2lnbmF0dXJl").status in ("Rejected", "InvalidCertificate")
    env.clock.sleep(10)
    assert env.csms.find("FirmwareStatusNotification") == []


def test_installation_reports_firmware_updated_and_the_connectors_before_installed(
    twin_factory: Callable[..., TwinEnv],
) -> None:
    """TC_L_01_CS: Downloading, Downloaded, SignatureVerified, Installing, InstallRebooting; then
    BootNotification (FirmwareUpdate), SecurityEventNotification FirmwareUpdated, the connectors' status,
    and only then Installed."""
    env = twin_factory()
    csms = env.csms
    booted(env)
    assert update(env, 1).status == "Accepted"
    csms.wait_for(lambda: csms.find("FirmwareStatusNotification", status="Installed"), 10, "Installed")
    assert statuses(env, 1) == ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
                                "Installed"]
    got = list(csms.received)
    boot = got.index(csms.find("BootNotification", reason="FirmwareUpdate")[0])
    after = [r for r in got[boot + 1:] if r.action != "Heartbeat"]
    kinds = [r.payload["type"] for r in after if r.action == "SecurityEventNotification"]
    assert kinds and kinds[0] == "FirmwareUpdated"
    installed = next(i for i, r in enumerate(after) if r.action == "FirmwareStatusNotification")
    assert after[installed].payload["status"] == "Installed"
    first_firmware_updated = next(i for i, r in enumerate(after) if r.payload.get("type") == "FirmwareUpdated")
    reported = [r for r in after[:installed] if r.action == "StatusNotification"]
    assert first_firmware_updated < installed
    assert {(r.payload["evse_id"], r.payload["connector_status"]) for r in reported} == {
        (n, "Available") for n in env.twin.charger.evses}


def scheduled_until(env: TwinEnv, request_id: int, when: str, in_s: float, status: str) -> float:
    """Ask for an update whose `when` (retrieve_date_time, install_date_time) is `in_s` bench seconds ahead; the
    bench seconds from the request to the FirmwareStatusNotification `status`."""
    csms = env.csms
    booted(env)
    asked = env.clock.now()
    assert update(env, request_id, **{when: in_the_future(env, in_s)}).status == "Accepted"
    reached = csms.wait_for(lambda: csms.find("FirmwareStatusNotification", status=status), 10, status)[0]
    return reached.t - asked


def test_a_future_retrieve_date_time_is_announced_as_download_scheduled(
    twin_factory: Callable[..., TwinEnv],
) -> None:
    """TC_L_03_CS step 3: DownloadScheduled, and Downloading only once retrieveDateTime is reached."""
    env = twin_factory()
    waited = scheduled_until(env, 3, "retrieve_date_time", 120, "Downloading")
    assert waited >= 115
    assert statuses(env, 3)[:2] == ["DownloadScheduled", "Downloading"]


def test_a_future_install_date_time_is_announced_as_install_scheduled(twin_factory: Callable[..., TwinEnv]) -> None:
    """TC_L_02_CS step 9: InstallScheduled after SignatureVerified; Installing once installDateTime is reached."""
    env = twin_factory()
    waited = scheduled_until(env, 2, "install_date_time", 200, "Installing")
    assert waited >= 195
    assert statuses(env, 2)[:5] == ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled",
                                    "Installing"]


def test_installation_waits_for_the_transaction_and_says_install_scheduled(
    twin_factory: Callable[..., TwinEnv],
) -> None:
    """TC_L_14_CS step 9 (L01.FR.06): with a transaction running the update stops at InstallScheduled."""
    env = twin_factory()
    csms, sid = env.csms, env.station_id
    ev, tx_id = start_session(env)
    assert update(env, 14).status == "Accepted"
    csms.wait_for(lambda: csms.find("FirmwareStatusNotification", status="InstallScheduled"), 10, "InstallScheduled")
    env.clock.sleep(30)
    assert statuses(env, 14) == ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled"]
    assert csms.call(sid, call.RequestStopTransaction(transaction_id=tx_id)).status == "Accepted"
    csms.wait_for(lambda: csms.find("FirmwareStatusNotification", status="Installed"), 10, "Installed")
    assert statuses(env, 14)[4:] == ["Installing", "InstallRebooting", "Installed"]
    ev.close()


def test_a_second_update_while_downloading_cancels_the_first(twin_factory: Callable[..., TwinEnv]) -> None:
    """TC_L_10_CS: AcceptedCanceled; the first update goes no further, the second one runs to Installed."""
    env = twin_factory()
    csms = env.csms
    booted(env)
    assert update(env, 10).status == "Accepted"
    csms.wait_for(lambda: csms.find("FirmwareStatusNotification", request_id=10, status="Downloading"), 5,
                  "Downloading")
    assert update(env, 11).status == "AcceptedCanceled"
    csms.wait_for(lambda: csms.find("FirmwareStatusNotification", status="Installed"), 10, "Installed")
    assert statuses(env, 10) == ["Downloading"]
    assert statuses(env, 11) == ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting",
                                 "Installed"]
    assert len(csms.find("BootNotification", reason="FirmwareUpdate")) == 1
