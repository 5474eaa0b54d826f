"""OCPP 2.0.1 block A, security: the security events the charger reports (A04).

The security profiles themselves (Basic auth, TLS, client certificates) are lab.twin.security. Events of
the appendices' security events list that the twin can raise: StartupOfTheDevice after a power-up boot,
ResetOrReboot after a boot that a reset or a firmware update caused, FirmwareUpdated (first) after the boot
that completes a firmware installation (all critical, so they wait for the boot to be accepted rather than
being lost). The no_security_event fault knob suppresses them.
"""

from __future__ import annotations

from ocpp.v201 import call

from lab.twin.blocks.core import ChargerCore

# BootNotification reasons after which the charger reports StartupOfTheDevice; any other reason (RemoteReset,
# FirmwareUpdate, ScheduledReset, Watchdog, ...) is a reboot the charger did not come to from power-up.
POWER_UP_REASONS = {"PowerUp", "ApplicationReset", "Unknown"}


class SecurityEvents(ChargerCore):
    def _security_event_at_boot(self, boot_reason: str) -> None:
        """Queue the boot's security event, sent once the boot is accepted (A04.FR.01, critical)."""
        kind = "StartupOfTheDevice" if boot_reason in POWER_UP_REASONS else "ResetOrReboot"
        if boot_reason == "FirmwareUpdate":  # the boot that completes an installation (TC_L_01_CS step 15)
            self._security_event("FirmwareUpdated", "firmware installed", after_boot=True)
        self._security_event(kind, f"BootNotification reason {boot_reason}", after_boot=True)

    def _security_event(self, kind: str, tech_info: str | None = None, *, after_boot: bool = False) -> None:
        if self.faults.no_security_event:
            return
        payload = call.SecurityEventNotification(type=kind, timestamp=self._ts(), tech_info=tech_info)
        if after_boot:
            self._after_boot.append(payload)
        else:
            self._send(payload)
