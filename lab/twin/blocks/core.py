"""What every block of the virtual charger may use: the charger's shared state and the helpers other
blocks define (declared here so a reader of one block module knows where each name comes from).

VirtualCharger (lab.twin.charger) sets the state in its __init__; the helpers live in the modules named
beside them.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from instruments.clock import Clock
    from lab.bench import StationConfig
    from lab.twin.blocks.state import ChargerCounters, EvseState, Outgoing
    from lab.twin.device_model import DeviceModel
    from lab.twin.faults import Faults
    from lab.twin.link import Link
    from lab.twin.network_profiles import NetworkProfiles
    from lab.twin.physics import Physics
    from lab.twin.security import ChargerSecurity
    from lab.twin.smart_charging import ProfileStore


class ChargerCore:
    station: StationConfig
    security: ChargerSecurity
    physics: Physics
    clock: Clock
    faults: Faults
    reboot_s: float
    status_report: str  # "StatusNotification" or "NotifyEvent" (lab/twin/options.py)
    _event_id: int  # the last NotifyEvent eventId given
    firmware: str
    device: DeviceModel
    profiles: ProfileStore
    evses: dict[int, EvseState]
    counters: ChargerCounters
    url: str
    network: NetworkProfiles  # the network connection profiles (B09/B10), made at start()
    online: bool  # connected and boot accepted
    _link: Link | None
    _ws: Any
    _outbox: deque[Outgoing]
    _wake: asyncio.Event
    _out_ready: asyncio.Event
    _tasks: list[asyncio.Task[Any]]
    _loop: asyncio.AbstractEventLoop | None
    _down_until: float  # bench t until which the charger is rebooting (off)
    _boot_reason: str
    boot_rejected: bool
    _boot_link: Link | None
    _boot_now: asyncio.Event
    _boot_sending: asyncio.Task[None] | None
    _registered: bool  # boot accepted since the last power-up; a reconnect does not boot again
    _heartbeat_s: float
    _reset_pending: str | None  # "OnIdle" reset waiting for transactions to end
    _after_boot: list[Any]  # payloads to send once the next boot is accepted
    _next_aligned_t: float
    _rng: random.Random
    _stopping: bool
    _tls: Any
    auth_cache: dict[tuple[str, str], Any]  # (idToken, type) -> c_authorization.CacheEntry; kept over reboots
    local_list: dict[tuple[str, str], dict[str, Any]]  # (idToken, type) -> idTokenInfo (d_local_list); kept too
    local_list_version: int

    if TYPE_CHECKING:  # helpers, by the module that defines them

        @property
        def is_down(self) -> bool: ...  # charger
        def _ts(self, at: float | None = None) -> str: ...  # charger
        def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]: ...  # charger

        def _send(self, payload: Any, *, transactional: bool = False, skip_schema: bool = False) -> None: ...

        def _security_event_at_boot(self, boot_reason: str) -> None: ...  # a_security

        def _connection_failed(self, error: BaseException) -> None: ...  # a_security

        def _answered(self, request: Any, reply: Any) -> None: ...  # c_authorization

        def _auth_step(self, e: EvseState, now: float, plugged: bool) -> float: ...  # c_authorization

        def _listed(self, id_token: dict[str, Any]) -> dict[str, Any] | None: ...  # d_local_list

        def _within_capacity(self, profile: Any) -> None: ...  # k_smart_charging

        def _trigger_firmware_status(self) -> None: ...  # l_firmware

        def _trigger_log_status(self) -> None: ...  # l_firmware
