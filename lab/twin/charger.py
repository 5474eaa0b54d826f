"""The virtual charger: an OCPP 2.0.1 charging station whose firmware runs against the physics model.

It connects to ``<csms_url>/<station id>`` with subprotocol ``ocpp2.0.1``, boots (identity and firmware
from the bench), reports connector status from the EV's pilot, runs transactions (Started / Updated /
Ended with seqNo, trigger reasons and meter values per SampledDataCtrlr and AlignedDataCtrlr), obeys
remote start/stop, stores and validates charging profiles and drives the pilot from the composite limit
(station-wide limits shared between its EVSEs), queues transaction events while offline and replays them
with ``offline: true``, reboots on Reset and walks the firmware-update status sequence. Every timer runs
on the shared bench clock; every timestamp is the clock's wall time (plus ``clock_skew_s``).

    charger = VirtualCharger(station, physics, clock, faults)
    await charger.start("ws://127.0.0.1:9000")
    ...
    await charger.stop()

The firmware is split by OCPP functional block, one module each under lab/twin/blocks/ (the file name
starts with the block letter); the connection, outbox and retries are lab/twin/connection.py. This
module composes them and runs the firmware loop. Fault knobs (lab.twin.faults) bend the firmware at the
named places; docs/twin.md lists them and the blocks' coverage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from instruments.clock import Clock, iso_utc
from lab.bench import StationConfig
from lab.twin.blocks.a_security import SecurityEvents
from lab.twin.blocks.b_provisioning import Provisioning
from lab.twin.blocks.c_authorization import Authorization
from lab.twin.blocks.d_local_list import LocalList
from lab.twin.blocks.e_transactions import Transactions
from lab.twin.blocks.f_remote_control import RemoteControl
from lab.twin.blocks.g_availability import Availability
from lab.twin.blocks.j_meter_values import MeterValues
from lab.twin.blocks.k_smart_charging import SmartCharging
from lab.twin.blocks.l_firmware import Firmware
from lab.twin.blocks.state import POLL_S, REBOOT_S, ChargerCounters, EvseState, Outgoing
from lab.twin.connection import Connection
from lab.twin.device_model import DeviceModel
from lab.twin.faults import Faults
from lab.twin.link import Link
from lab.twin.network_profiles import NetworkProfiles
from lab.twin.physics import Physics
from lab.twin.security import ChargerSecurity
from lab.twin.smart_charging import ProfileStore

log = logging.getLogger("lab.twin.charger")

__all__ = ["ChargerCounters", "VirtualCharger"]


class VirtualCharger(
    Connection,
    SecurityEvents,
    Provisioning,
    Authorization,
    LocalList,
    Transactions,
    RemoteControl,
    Availability,
    MeterValues,
    SmartCharging,
    Firmware,
):
    def __init__(
        self,
        station: StationConfig,
        physics: Physics,
        clock: Clock,
        faults: Faults | None = None,
        *,
        reboot_s: float = REBOOT_S,
        security: ChargerSecurity | None = None,
        network_slot: int = 1,
        status_report: str = "StatusNotification",
    ) -> None:
        self.station = station
        # StatusNotification or NotifyEvent: how connectors report their status (lab/twin/options.py)
        self.status_report = status_report
        self._event_id = 0  # the last NotifyEvent eventId given
        self.network_slot = network_slot  # the slot the bench's CSMS URL is in (lab/twin/network_profiles.py)
        self.security = security or ChargerSecurity(0, station.id)
        self.physics = physics
        self.clock = clock
        self.faults = faults or Faults()
        self.reboot_s = reboot_s
        self.firmware = self.faults.firmware_version or station.firmware
        self.device = DeviceModel.for_station(
            station,
            self.firmware,
            security_profile=self.security.profile,
            password=self.security.password,
            readonly_writable=self.faults.readonly_writable,
            network_slot=network_slot,
        )
        self.profiles = ProfileStore(
            evses=station.evses,
            voltage_v=station.nominal_voltage_v,
            phases=station.phases,
            stack_level_bug=self.faults.stack_level_bug,
            boundary_late_s=self.faults.schedule_boundary_late_s,
        )
        self.device.live[("ClockCtrlr", "DateTime")] = lambda: self._ts()
        self.device.live[("SmartChargingCtrlr", "Entries")] = lambda: str(len(self.profiles.profiles))
        self.device.live[("LocalAuthListCtrlr", "Entries")] = lambda: str(len(self.local_list))
        self.device.live[("LocalAuthListCtrlr", "Storage")] = self._list_storage
        self.evses = {n: EvseState(n) for n in range(1, station.evses + 1)}
        self.counters = ChargerCounters()
        self.url = ""
        self.online = False  # connected and boot accepted
        # A task of the charger (its connection, its firmware) that stopped on an error: the twin is broken from
        # then on (a twin bug, never the charger's behaviour). Listeners (the runner) are told at once.
        self.crashed: BaseException | None = None
        self.on_crash: list[Callable[[BaseException], None]] = []
        self._link: Link | None = None
        self._ws: Any = None
        self._outbox: deque[Outgoing] = deque()
        self._wake = asyncio.Event()
        self._out_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_until = -math.inf  # bench t until which the charger is rebooting (off)
        self._boot_reason = "PowerUp"
        self.boot_rejected = False  # the last BootNotification was answered Rejected
        self._boot_now = asyncio.Event()  # a TriggerMessage BootNotification cuts the Pending wait short
        self._boot_link: Link | None = None  # the connection while a boot is not yet accepted
        self._boot_sending: asyncio.Task[None] | None = None  # the last report sent during boot
        self._registered = False  # boot accepted since the last power-up; a reconnect does not boot again
        self._heartbeat_s = 300.0
        self._reset_pending: str | None = None  # "OnIdle" reset waiting for transactions to end
        self._after_boot: list[Any] = []  # payloads to send once the next boot is accepted
        self._next_aligned_t = math.inf
        self._rng = random.Random()
        self._stopping = False
        self._tls: Any = None  # ssl.SSLContext for profiles 2 and 3, made at start()
        self.auth_cache: dict[tuple[str, str], Any] = {}  # C10: non-volatile, survives reboots
        self.local_list: dict[tuple[str, str], dict[str, Any]] = {}  # D01: the CSMS's list, non-volatile
        self.local_list_version = 0
        physics.subscribe(self._physics_changed)

    async def start(self, csms_url: str) -> None:
        """Begin running (returns at once); the charger connects and reconnects on its own.

        Raises TwinSecurityError at once if the bench's security settings cannot work (wrong URL scheme for
        the profile, missing or unreadable certificate files), rather than retrying a hopeless connection.
        """
        self.security.check_url(csms_url)
        self.security.check_password()
        self._tls = self.security.tls_context()
        self._loop = asyncio.get_running_loop()
        self.url = f"{csms_url.rstrip('/')}/{self.station.id}"
        self.network = NetworkProfiles(slot=self.network_slot, url=csms_url, security_profile=self.security.profile)
        self._schedule_aligned(self.clock.now())
        self._tasks = [
            self._loop.create_task(self._run(), name=f"{self.station.id} connection"),
            self._loop.create_task(self._control(), name=f"{self.station.id} firmware"),
        ]
        for task in self._tasks:
            task.add_done_callback(self._task_ended)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """A task of the firmware's own (a reset, a token at the reader, a firmware update): one that ends on an
        error is a twin bug too, and breaks the twin as a dead firmware pass does (_task_ended)."""
        assert self._loop is not None
        task = self._loop.create_task(coro, name=f"{self.station.id} {name}")
        task.add_done_callback(self._task_ended)
        return task

    def _task_ended(self, task: asyncio.Task[Any]) -> None:
        """The connection and the firmware run until stop(); the others (_spawn) until done. One that ends on an
        error leaves a charger that no longer connects, acts or does what it took on, silently. Kept in
        `crashed`, logged, and told to the listeners, so that what follows is judged broken (the bench failed),
        not failed (runner/bench_session.py)."""
        if task.cancelled() or task.exception() is None:
            return
        err = task.exception()
        assert err is not None
        self.crashed = err
        log.error("%s: the twin's %s task stopped on %s: %s", self.station.id, task.get_name(), type(err).__name__,
                  err, exc_info=err)
        for listener in self.on_crash:
            listener(err)

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2.0)
        # Python 3.11's wait_for can swallow a cancel that races a wake-up, so every loop also checks
        # _stopping, and stop() waits a bounded time instead of forever.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5.0)
        self._tasks = []

    # ---- the supply (the bench's `power` role on the twin) -------------------------------------------------

    @property
    def powered(self) -> bool:
        return self._down_until != math.inf

    async def power_off(self) -> None:
        """The supply is cut: the firmware stops at once. The contactors open, the connection is gone
        without a closing handshake (the TCP stream just ends), and what lived in RAM is lost: queued
        non-transaction messages, authorizations waiting for an EV, a pending reset. What a charger keeps
        in flash stays: the device model, availability, the transaction queue and the journal of the
        transactions in progress (ended at power return, stoppedReason PowerLoss)."""
        if not self.powered:
            return
        self._down_until = math.inf
        self.online = False
        self._registered = False
        self._reset_pending = None
        for e in self.evses.values():
            e.auth = None
            e.status = None
            self._drive(e, offering=False, snap_state="A", now=self.clock.now())
            if e.tx is not None and self.faults.reboot_loses_tx:
                self._end_tx(e, "AbnormalCondition", "PowerLoss", send=False)
        self._outbox = deque(o for o in self._outbox if o.transactional)
        ws, self._ws = self._ws, None
        transport = getattr(ws, "transport", None)
        if transport is not None:
            transport.abort()  # no close frame: the CSMS sees the stream end
        self._wake.set()

    async def power_on(self) -> None:
        """The supply returns: the charger boots (BootNotification reason PowerUp) after its boot time; a
        transaction the power loss interrupted ends first (TransactionEvent Ended, triggerReason
        AbnormalCondition, stoppedReason PowerLoss), queued for delivery once the boot is accepted."""
        if self.powered:
            return
        for e in self.evses.values():
            if e.tx is not None:
                self._end_tx(e, "AbnormalCondition", "PowerLoss")
        self._boot_reason = "PowerUp"
        self._down_until = self.clock.now() + self.reboot_s
        self._wake.set()

    def _physics_changed(self, evse: int) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def is_down(self) -> bool:
        return self.clock.now() < self._down_until

    def _ts(self, at: float | None = None) -> str:
        return iso_utc(self.clock.wall(at) + timedelta(seconds=self.faults.clock_skew_s))

    async def _control(self) -> None:
        while not self._stopping:
            now = self.clock.now()
            due = now + POLL_S
            if not self.is_down:
                for evse in self.evses.values():
                    due = min(due, self._step(evse, now))
                due = min(due, self._aligned(now))
                due = min(due, self._ems_poll(now))
                self._allocate(now)
                self._maybe_reset()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.clock.real(max(0.0, due - self.clock.now())))
