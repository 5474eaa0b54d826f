"""OCPP 2.0.1 block L, firmware management: UpdateFirmware and the FirmwareStatusNotification sequence
(L01), installing only when no transaction runs, then rebooting."""

from __future__ import annotations

import contextlib
import logging
import re
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


class Firmware(ChargerCore):
    def on_update_firmware(self, request_id: int, firmware: dict[str, Any]) -> res.UpdateFirmware:
        assert self._loop is not None
        self._loop.create_task(self._firmware_update(request_id, firmware))
        return res.UpdateFirmware(status="Accepted")

    async def _firmware_update(self, request_id: int, firmware: dict[str, Any]) -> None:
        def status(name: str) -> Any:
            return call.FirmwareStatusNotification(status=name, request_id=request_id)

        retrieve = firmware.get("retrieve_date_time")
        if retrieve:
            with contextlib.suppress(ProfileRejected):
                when = parse_time(retrieve)
                if when is not None:
                    await self.clock.asleep((when - self.clock.wall()).total_seconds())
        for name in ("Downloading", "Downloaded"):
            self._send(status(name))
            await self.clock.asleep(FIRMWARE_STEP_S)
        if firmware.get("signature"):
            self._send(status("SignatureVerified"))
            await self.clock.asleep(FIRMWARE_STEP_S)
        while any(e.tx is not None for e in self.evses.values()):
            await self.clock.asleep(POLL_S)  # install only when idle
        self._send(status("Installing"))
        await self.clock.asleep(FIRMWARE_STEP_S)
        self._send(status("InstallRebooting"))
        version = re.search(r"(\d+\.\d+(?:\.\d+)*)", str(firmware.get("location", "")))
        if version and not self.faults.firmware_version:
            self.firmware = version.group(1)
            self.device.put("Controller", "FirmwareVersion", self.firmware)
        self._after_boot.append(status("Installed"))
        await self._reboot("FirmwareUpdate", "Reboot")
