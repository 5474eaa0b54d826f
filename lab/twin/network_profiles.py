"""The virtual charger's network connection profiles (OCPP 2.0.1 B09, B10): slots, the priority the charger
connects by, and the fallback when a profile cannot be reached.

Slots 1 to 3 hold a profile each; the bench's CSMS URL is in the bench file's [csms] configuration_slot (1)
from the start. SetNetworkProfile fills a slot (B09): Accepted for a slot of 1..3 that the current
connection does not use, with ocppVersion OCPP20, ocppTransport JSON, a security profile not below the one
the charger runs (B09.FR.04, TC_A_22_CS) and a URL of that profile's scheme, else Rejected.
OCPPCommCtrlr.NetworkConfigurationPriority lists the slots to connect by; a new list must name filled
slots of the charger's own security profile only (a higher one needs certificates the twin never holds: it
is Rejected, A05.FR.02/03, TC_A_20/21_CS) and takes effect at the next boot (SetVariables answers
RebootRequired, as TC_B_45_CS allows).

Connecting (B10; the order rests on my reading of Part 6's TC_B_46/47/49_CS, Part 2 is not at hand): the
charger tries the slots in priority order, each OCPPCommCtrlr.NetworkProfileConnectionAttempts times with
the reconnection back-off between attempts at one slot, and moves to the next slot at once. After the list
comes the profile it was last connected with, when the list does not name it (the "previous network
profile configuration"); once there it stays with it, retrying with back-off (TC_B_49_CS steps 9 to 12).
Past the last slot of a list that names it, it starts the list again after a back-off. A lost connection
is retried on the slot that worked first.

    net = NetworkProfiles(slot=1, url="ws://127.0.0.1:9000", security_profile=0)
    net.set_profile(2, {"ocpp_csms_url": ..., "security_profile": 0, ...}, in_use=1)  # None: accepted
    net.check_priority("2,1")     # None: acceptable
    net.begin("2,1")              # at boot: the order 2, 1
    net.slot                      # 2: the slot to try now
    net.failed(attempts=2)        # False: try it again after a back-off; True: moved on, try at once
    net.connected()               # the slot worked: it is the fallback from now on
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SLOTS = (1, 2, 3)
SECURITY_PROFILES = (0, 1, 2, 3)


@dataclass(frozen=True)
class NetworkProfile:
    url: str  # ocppCsmsUrl: the charger appends "/<identity>"
    security_profile: int
    ocpp_interface: str = "Wired0"
    message_timeout: int = 30


class NetworkProfiles:
    def __init__(self, *, slot: int, url: str, security_profile: int) -> None:
        self.slots = tuple(sorted({*SLOTS, slot}))
        self.profiles: dict[int, NetworkProfile] = {slot: NetworkProfile(url, security_profile)}
        self.security_profile = security_profile
        self.last_good = slot  # the profile of the last connection that opened
        self._order: list[int] = [slot]
        self._fallback = False
        self._index = 0
        self._tries = 0

    # ---- configuration (B09, SetVariables NetworkConfigurationPriority) --------------------------------

    def set_profile(self, slot: int, data: dict[str, Any], *, in_use: int | None) -> str | None:
        """Store `data` (SetNetworkProfile's connectionData, snake_case) in `slot`; the reason it is refused,
        or None when stored."""
        if slot not in self.slots:
            return f"slot {slot}: the twin has slots {', '.join(map(str, self.slots))}"
        if slot == in_use:
            return f"slot {slot} holds the profile of the current connection"
        if data.get("ocpp_version") != "OCPP20" or data.get("ocpp_transport") != "JSON":
            return f"{data.get('ocpp_version')}/{data.get('ocpp_transport')}: the twin speaks OCPP20 over JSON"
        profile = data.get("security_profile")
        if not isinstance(profile, int) or profile not in SECURITY_PROFILES:
            return f"securityProfile {profile}: OCPP 2.0.1 has security profiles 0 to 3"
        if profile < self.security_profile:  # B09.FR.04, TC_A_22_CS
            return (f"securityProfile {profile}: the twin runs security profile {self.security_profile}"
                    " and may not go lower")
        url = str(data.get("ocpp_csms_url", ""))
        want = "wss" if profile in (2, 3) else "ws"
        parts = urlsplit(url)
        if parts.scheme != want or not parts.hostname:
            return f"ocppCsmsUrl {url!r}: security profile {profile} needs a {want}:// URL"
        self.profiles[slot] = NetworkProfile(url, profile, str(data.get("ocpp_interface", "")),
                                             int(data.get("message_timeout", 30)))
        return None

    def check_priority(self, value: str) -> str | None:
        """Why NetworkConfigurationPriority may not be `value`, or None."""
        try:
            slots = [int(x) for x in value.split(",") if x.strip()]
        except ValueError:
            return f"{value!r} is not a list of slot numbers"
        empty = [s for s in slots if s not in self.profiles]
        if not slots or empty or len(set(slots)) != len(slots):
            return f"{value!r}: every entry must be a filled slot, once ({sorted(self.profiles)} are filled)"
        higher = [s for s in slots if self.profiles[s].security_profile != self.security_profile]
        if higher:
            # A05.FR.02/03 (TC_A_20/21_CS): without the certificates a higher profile needs, the charger refuses
            # to connect by it. The twin has no certificate management, so it never holds them.
            slot = higher[0]
            return (f"slot {slot} is for security profile {self.profiles[slot].security_profile}; the twin has no "
                    f"certificates to connect at it (it runs security profile {self.security_profile})")
        return None

    # ---- connecting (B10) ---------------------------------------------------------------------------

    def begin(self, priority: str) -> None:
        """At boot: connect by `priority` (NetworkConfigurationPriority), the last good profile after it."""
        order = [s for s in (int(x) for x in priority.split(",") if x.strip().isdigit()) if s in self.profiles]
        self._fallback = self.last_good not in order  # the last entry is the previous profile, not the list's
        if self._fallback:
            order.append(self.last_good)
        self._order, self._index, self._tries = order, 0, 0

    @property
    def slot(self) -> int:
        return self._order[self._index]

    def url(self, identity: str) -> str:
        return f"{self.profiles[self.slot].url.rstrip('/')}/{identity}"

    def connected(self) -> None:
        self.last_good, self._tries = self.slot, 0

    def failed(self, attempts: int) -> bool:
        """One attempt at the current slot failed. True: the charger moved to another slot and tries it at
        once; False: it waits its back-off first (the same slot again, or the list from its start)."""
        self._tries += 1
        if self._tries < max(attempts, 1):
            return False
        self._tries = 0
        if self._fallback and self._index == len(self._order) - 1:
            return False  # the previous profile is the last resort: stay with it
        self._index = (self._index + 1) % len(self._order)
        return self._index != 0
