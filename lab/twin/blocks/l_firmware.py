"""OCPP 2.0.1 block L, firmware management: UpdateFirmware and the FirmwareStatusNotification sequence
(L01), installing only when no transaction runs, then rebooting; and the other file transfer the charger
makes, the log upload of GetLog (N01), with its LogStatusNotification sequence.

Neither transfer moves bytes: the twin plays their timing. What a TriggerMessage reports (F06) is the
transfer's state at that moment: the status last sent and its requestId while a transfer runs, Idle when
none does (F06.FR.14/15/16, L01.FR.25/26).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import datetime
from typing import Any

from ocpp.v201 import call
from ocpp.v201 import call_result as res

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import (
    FIRMWARE_STEP_S,
    POLL_S,
)
from lab.twin.smart_charging import ProfileRejected, parse_time

log = logging.getLogger("lab.twin.charger")

# Bench seconds a firmware download and a log upload take: long enough for a CSMS to ask about a transfer
# in progress (TriggerMessage while Downloading / Uploading: TC_F_19_CS, TC_F_16_CS), short beside a spec.
DOWNLOAD_S = 60.0
UPLOAD_S = 60.0
# The statuses from which an update can no longer be canceled by a newer UpdateFirmware (L01.FR.27).
UNCANCELABLE = ("Installing", "InstallRebooting")


def _moment(text: str | None) -> datetime | None:
    """A request's date-time; None when absent or unreadable (then the step is not deferred)."""
    with contextlib.suppress(ProfileRejected):
        return parse_time(text)
    return None


class Firmware(ChargerCore):
    # The transfer in progress as (status last sent, requestId); None: idle. Class defaults, so the
    # charger's __init__ need not know them.
    _firmware_state: tuple[str, int] | None = None
    _log_state: tuple[str, int] | None = None
    _log_task: asyncio.Task[None] | None = None
    _firmware_task: asyncio.Task[None] | None = None

    def on_update_firmware(self, request_id: int, firmware: dict[str, Any]) -> res.UpdateFirmware:
        """L01 (secure firmware update; the twin is a station that supports it): a request without
        signingCertificate and signature is Rejected (TC_L_18_CS). A request while an update is still
        downloading or waiting to install cancels that one and is answered AcceptedCanceled (L01.FR.24,
        TC_L_10_CS); once installing, the update cannot be cut short: Rejected."""
        assert self._loop is not None
        if not firmware.get("signing_certificate") or not firmware.get("signature"):
            return res.UpdateFirmware(
                status="Rejected",
                status_info={"reason_code": "InvalidValue",
                             "additional_info": "secure firmware update: signingCertificate and signature needed"},
            )
        running = self._firmware_task is not None and not self._firmware_task.done()
        if running and self._firmware_state is not None and self._firmware_state[0] in UNCANCELABLE:
            return res.UpdateFirmware(
                status="Rejected",
                status_info={"reason_code": "FwUpdateInProgress",
                             "additional_info": f"firmware update {self._firmware_state[1]} is installing"},
            )
        if running and self._firmware_task is not None:
            self._firmware_task.cancel()
        self._firmware_task = self._spawn(self._firmware_update(request_id, firmware), "firmware update")
        return res.UpdateFirmware(status="AcceptedCanceled" if running else "Accepted")

    def _firmware_status(self, name: str, request_id: int) -> Any:
        """A FirmwareStatusNotification of the update `request_id`; the state a trigger reports."""
        self._firmware_state = (name, request_id)
        return call.FirmwareStatusNotification(status=name, request_id=request_id)

    async def _firmware_update(self, request_id: int, firmware: dict[str, Any]) -> None:
        try:
            await self._firmware_steps(request_id, firmware)
        finally:  # over, canceled by a newer request, or failed: a trigger reports Idle again
            if self._firmware_state is not None and self._firmware_state[1] == request_id:
                self._firmware_state = None

    async def _until(self, moment: datetime | None) -> bool:
        """Sleep until the wall-clock `moment`; whether it lay in the future."""
        if moment is None:
            return False
        wait = (moment - self.clock.wall()).total_seconds()
        if wait <= 0:
            return False
        await self.clock.asleep(wait)
        return True

    async def _firmware_steps(self, request_id: int, firmware: dict[str, Any]) -> None:
        # A retrieveDateTime in the future: DownloadScheduled until then (TC_L_03_CS step 3).
        retrieve = _moment(firmware.get("retrieve_date_time"))
        if retrieve is not None and retrieve > self.clock.wall():
            self._send(self._firmware_status("DownloadScheduled", request_id))
            await self._until(retrieve)
        self._send(self._firmware_status("Downloading", request_id))
        await self.clock.asleep(DOWNLOAD_S)
        self._send(self._firmware_status("Downloaded", request_id))
        await self.clock.asleep(FIRMWARE_STEP_S)
        self._send(self._firmware_status("SignatureVerified", request_id))
        await self.clock.asleep(FIRMWARE_STEP_S)
        # Installation waits for an installDateTime in the future (TC_L_02_CS) and for every transaction to
        # end (L01.FR.06); either way the CSMS hears InstallScheduled first (TC_L_02_CS / TC_L_14_CS step 9).
        install = _moment(firmware.get("install_date_time"))
        scheduled = install is not None and install > self.clock.wall()
        if scheduled:
            self._send(self._firmware_status("InstallScheduled", request_id))
            await self._until(install)
        while any(e.tx is not None for e in self.evses.values()):
            if not scheduled:
                self._send(self._firmware_status("InstallScheduled", request_id))
                scheduled = True
            await self.clock.asleep(POLL_S)
        self._send(self._firmware_status("Installing", request_id))
        await self.clock.asleep(FIRMWARE_STEP_S)
        self._send(self._firmware_status("InstallRebooting", request_id))
        version = re.search(r"(\d+\.\d+(?:\.\d+)*)", str(firmware.get("location", "")))
        if version and not self.faults.firmware_version:
            self.firmware = version.group(1)
            self.device.put("Controller", "FirmwareVersion", self.firmware)
        await self._reboot("FirmwareUpdate", "Reboot")
        # After the reboot: BootNotification (FirmwareUpdate), SecurityEventNotification FirmwareUpdated, the
        # connectors' status, and then Installed, the update's last status (TC_L_01_CS steps 13-19); after it
        # a trigger reports Idle (L01.FR.25).
        while not (self.online and all(e.status is not None for e in self.evses.values())):
            await self.clock.asleep(POLL_S / 4)
        self._send(call.FirmwareStatusNotification(status="Installed", request_id=request_id))
        self._firmware_state = None

    def _trigger_firmware_status(self) -> None:
        """F06.FR.16, L01.FR.25/26: Idle when no update runs, else the update's status and requestId."""
        if self._firmware_state is None:
            self._send(call.FirmwareStatusNotification(status="Idle"))
        else:
            name, request_id = self._firmware_state
            self._send(call.FirmwareStatusNotification(status=name, request_id=request_id))

    def on_get_log(self, log_type: str, request_id: int, remote_location: str) -> res.GetLog:
        """N01: Accepted and the upload starts; a GetLog during an upload cancels that one: the answer is
        AcceptedCanceled and the old upload's last status too (UploadLogStatusEnumType)."""
        assert self._loop is not None
        canceled = self._log_task is not None and not self._log_task.done()
        if canceled and self._log_task is not None:
            self._log_task.cancel()
            if self._log_state is not None:
                self._send(call.LogStatusNotification(status="AcceptedCanceled", request_id=self._log_state[1]))
                self._log_state = None
        self._log_task = self._spawn(self._log_upload(request_id), "log upload")
        log.info("log upload %s (%s) to %s: played, nothing is sent", request_id, log_type, remote_location)
        filename = f"{self.station.id}-{log_type}-{request_id}.log"
        return res.GetLog(status="AcceptedCanceled" if canceled else "Accepted", filename=filename)

    async def _log_upload(self, request_id: int) -> None:
        try:
            self._log_state = ("Uploading", request_id)
            self._send(call.LogStatusNotification(status="Uploading", request_id=request_id))
            await self.clock.asleep(UPLOAD_S)
            self._send(call.LogStatusNotification(status="Uploaded", request_id=request_id))
        finally:
            if self._log_state is not None and self._log_state[1] == request_id:
                self._log_state = None

    def _trigger_log_status(self) -> None:
        """F06.FR.14/15: Uploading with the GetLog's requestId while an upload runs, else Idle."""
        if self._log_state is None:
            self._send(call.LogStatusNotification(status="Idle"))
        else:
            name, request_id = self._log_state
            self._send(call.LogStatusNotification(status=name, request_id=request_id))
