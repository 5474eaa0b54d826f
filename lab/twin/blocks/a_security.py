"""OCPP 2.0.1 block A, security: the security events the charger reports (A04).

The security profiles themselves (Basic auth, TLS, client certificates) are lab.twin.security. Events of
the appendices' security events list that the twin can raise: StartupOfTheDevice after a power-up boot,
ResetOrReboot after a boot that a reset or a firmware update caused, FirmwareUpdated (first) after the boot
that completes a firmware installation, InvalidCsmsCertificate after a connection attempt the charger ended
because the CSMS's certificate did not verify (A00.FR.311/413, TC_A_05_CS). All are critical, so they wait
for a connection (and an accepted boot) rather than being lost; a certificate refused on every retry is
reported once (errata 2023-12 on A00.FR.316). The no_security_event fault knob suppresses them.

Not raised: InvalidTLSVersion (TC_A_06_CS lets a charger that cannot tell skip it: a CSMS offering only
TLS < 1.2 ends the twin's handshake without saying why), InvalidTLSCipherSuite, and the certificate
management events (no A02/A03/M).
"""

from __future__ import annotations

import ssl

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

    def _connection_failed(self, error: BaseException) -> None:
        """A connection attempt failed with `error`: queue the security event it is, if any (A04)."""
        if not isinstance(error, ssl.SSLCertVerificationError):
            return
        kind = "InvalidCsmsCertificate"
        if any(isinstance(p, call.SecurityEventNotification) and p.type == kind for p in self._after_boot):
            return  # already waiting to be reported: once for a run of refused attempts
        # techInfo is string[0..255] in the schema.
        self._security_event(kind, f"TLS handshake ended: {error.verify_message or error}"[:255], after_boot=True)
