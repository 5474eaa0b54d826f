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

Fault knobs (lab.twin.faults) bend the firmware at the named places; docs/twin.md lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v201 import call
from ocpp.v201 import call_result as res
from websockets.asyncio.client import connect

from instruments.clock import Clock, iso_utc
from instruments.iec61851 import MIN_CURRENT_A
from lab.bench import StationConfig
from lab.twin.device_model import DeviceModel
from lab.twin.faults import Faults
from lab.twin.link import Link
from lab.twin.physics import DRAWING_STATES, Physics
from lab.twin.security import ChargerSecurity
from lab.twin.smart_charging import TX, ProfileRejected, ProfileStore, TxContext, parse_profile, parse_time

log = logging.getLogger(__name__)

POLL_S = 1.0  # bench seconds between looks at the EVs when nothing is due sooner
REBOOT_S = 10.0  # bench seconds a reboot keeps the charger off the air
FIRMWARE_STEP_S = 5.0  # bench seconds between firmware-update status steps
REPORT_CHUNK = 20  # device-model entries per NotifyReport
START_POINTS_PLUG = {"EVConnected", "ParkingBayOccupancy"}
START_POINTS_AUTH = {"Authorized"}


@dataclass
class _Tx:
    id: str
    evse: int
    started_wall: Any  # datetime
    id_token: dict[str, Any] | None = None
    remote_start_id: int | None = None
    seq: int = 0
    updated_sent: int = 0
    charging_state: str = "EVConnected"
    next_update_t: float = math.inf


@dataclass
class _Auth:
    id_token: dict[str, Any]
    remote_start_id: int | None
    expires_t: float
    profile: dict[str, Any] | None = None
    ev_was_plugged: bool = False  # the EV was already there when the authorization came


@dataclass
class _Evse:
    id: int
    status: str | None = None  # last StatusNotification sent (None: not yet reported)
    tx: _Tx | None = None
    auth: _Auth | None = None  # authorized (remote start) and not yet consumed by a transaction
    authorized: bool = False  # the transaction in progress is authorized
    limit_target: float | None = None  # what the firmware wants on the pilot
    limit_due_t: float = 0.0  # when the target reaches the pilot (limit_delay_s fault)
    applied_limit: float | None = None  # what is on the pilot
    reported_limit: float | None = None  # last limit a ChargingRateChanged event reported
    offering: bool = False
    energized: bool = False
    plug_used: bool = False  # this plug-in already had its transaction; a new one needs a new plug-in
    operative: bool = True  # ChangeAvailability; an inoperative EVSE finishes its transaction, then is Unavailable


@dataclass
class _Out:
    payload: Any
    transactional: bool  # kept while offline and replayed (TransactionEvent)
    skip_schema: bool = False
    attempts: int = 0


@dataclass
class ChargerCounters:
    """What the charger did, for tests and the twin's own diagnostics."""

    boots: int = 0
    connections: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    dropped_offline: int = 0
    refused: int = 0  # CALLERRORs the CSMS answered
    unlocks: int = 0  # UnlockConnector requests answered Unlocked
    connect_failures: int = 0  # connection attempts that failed (refused, TLS, network)
    last_error: str = ""  # why the last connection attempt failed or the last connection ended


class VirtualCharger:
    def __init__(
        self,
        station: StationConfig,
        physics: Physics,
        clock: Clock,
        faults: Faults | None = None,
        *,
        reboot_s: float = REBOOT_S,
        security: ChargerSecurity | None = None,
    ) -> None:
        self.station = station
        self.security = security or ChargerSecurity(0, station.id)
        self.physics = physics
        self.clock = clock
        self.faults = faults or Faults()
        self.reboot_s = reboot_s
        self.firmware = self.faults.firmware_version or station.firmware
        self.device = DeviceModel.for_station(
            station, self.firmware, security_profile=self.security.profile, password=self.security.password
        )
        self.profiles = ProfileStore(
            evses=station.evses,
            voltage_v=station.nominal_voltage_v,
            phases=station.phases,
            stack_level_bug=self.faults.stack_level_bug,
        )
        self.evses = {n: _Evse(n) for n in range(1, station.evses + 1)}
        self.counters = ChargerCounters()
        self.url = ""
        self.online = False  # connected and boot accepted
        self._link: Link | None = None
        self._ws: Any = None
        self._outbox: deque[_Out] = deque()
        self._wake = asyncio.Event()
        self._out_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_until = -math.inf  # bench t until which the charger is rebooting (off)
        self._boot_reason = "PowerUp"
        self._registered = False  # boot accepted since the last power-up; a reconnect does not boot again
        self._heartbeat_s = 300.0
        self._reset_pending: str | None = None  # "OnIdle" reset waiting for transactions to end
        self._after_boot: list[Any] = []  # payloads to send once the next boot is accepted
        self._next_aligned_t = math.inf
        self._rng = random.Random()
        self._stopping = False
        self._tls: Any = None  # ssl.SSLContext for profiles 2 and 3, made at start()
        physics.subscribe(self._physics_changed)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, csms_url: str) -> None:
        """Begin running (returns at once); the charger connects and reconnects on its own.

        Raises TwinSecurityError at once if the bench's security settings cannot work (wrong URL scheme for
        the profile, missing or unreadable certificate files), rather than retrying a hopeless connection.
        """
        self.security.check_url(csms_url)
        self._tls = self.security.tls_context()
        self._loop = asyncio.get_running_loop()
        self.url = f"{csms_url.rstrip('/')}/{self.station.id}"
        self._schedule_aligned(self.clock.now())
        self._tasks = [
            self._loop.create_task(self._run(), name=f"{self.station.id} connection"),
            self._loop.create_task(self._control(), name=f"{self.station.id} firmware"),
        ]

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

    def _physics_changed(self, evse: int) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def is_down(self) -> bool:
        return self.clock.now() < self._down_until

    def _ts(self, at: float | None = None) -> str:
        return iso_utc(self.clock.wall(at) + timedelta(seconds=self.faults.clock_skew_s))

    # ------------------------------------------------------------------ connection
    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            if self.is_down:
                await self.clock.asleep(self._down_until - self.clock.now())
                continue
            try:
                connecting = True
                async with connect(
                    self.url,
                    subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                    additional_headers=self.security.headers(self._password()),
                    ssl=self._tls,
                    open_timeout=10,
                    ping_interval=None,
                    close_timeout=2,
                ) as ws:
                    connecting = False
                    attempt = 0
                    self.counters.connections += 1
                    await self._session(ws)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if connecting:
                    self.counters.connect_failures += 1
                self.counters.last_error = f"{type(e).__name__}: {e}"
                log.info("%s: connection to %s ended: %s", self.station.id, self.url, e)
            finally:
                self.online = False
                self._link = None
                self._ws = None
            if self._stopping:
                break
            if self.is_down:
                continue
            await self.clock.asleep(self._backoff(attempt))
            attempt += 1

    def _password(self) -> str | None:
        """The Basic-auth password now: SecurityCtrlr.BasicAuthPassword, which the CSMS may have changed."""
        if not self.security.basic_auth:
            return None
        return self.device.value("SecurityCtrlr", "BasicAuthPassword") or None

    def _backoff(self, attempt: int) -> float:
        wait_min = self.device.int("OCPPCommCtrlr", "RetryBackOffWaitMinimum")
        spread = self.device.int("OCPPCommCtrlr", "RetryBackOffRandomRange")
        repeats = self.device.int("OCPPCommCtrlr", "RetryBackOffRepeatTimes")
        return wait_min * 2 ** min(attempt, repeats) + self._rng.uniform(0, spread)

    async def _session(self, ws: Any) -> None:
        self._ws = ws
        timeout = max(self.clock.real(self.device.int("OCPPCommCtrlr", "MessageTimeout")), 5.0)
        link = Link(self, ws, response_timeout=timeout)
        receiver = asyncio.get_running_loop().create_task(link.start())
        helpers: list[asyncio.Task[Any]] = []
        try:
            if not self._registered:
                await self._boot(link, receiver)
                self._registered = True
            self._link = link
            self.online = True
            for evse in self.evses.values():
                evse.status = None  # report every connector again after (re)connecting
            for payload in self._after_boot:
                self._send(payload)
            self._after_boot.clear()
            self._wake.set()
            helpers = [
                asyncio.get_running_loop().create_task(self._sender(link)),
                asyncio.get_running_loop().create_task(self._heartbeats()),
            ]
            await receiver
        finally:
            self.online = False
            for t in [receiver, *helpers]:
                t.cancel()
            for t in [receiver, *helpers]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    async def _boot(self, link: Link, receiver: asyncio.Task[Any]) -> None:
        station = {
            "model": self.station.model,
            "vendor_name": self.station.vendor,
            "firmware_version": self.firmware,
        }
        while True:
            if receiver.done():
                receiver.result()  # re-raise why the connection closed
                raise ConnectionError("connection closed during boot")
            self.counters.sent["BootNotification"] = self.counters.sent.get("BootNotification", 0) + 1
            reply = await link.call(
                call.BootNotification(charging_station=station, reason=self._boot_reason), suppress=False
            )
            interval = float(reply.interval) if reply.interval else 0.0
            if reply.status == "Accepted":
                self.counters.boots += 1
                self._boot_reason = "PowerUp"
                if interval > 0:
                    self._heartbeat_s = interval
                    self.device.put("OCPPCommCtrlr", "HeartbeatInterval", str(int(interval)))
                return
            await self.clock.asleep(interval or 10.0)

    async def _heartbeats(self) -> None:
        while not self._stopping:
            await self.clock.asleep(self._heartbeat_s)
            self._send(call.Heartbeat())

    async def _sender(self, link: Link) -> None:
        """Deliver the outbox in order; transaction events stay queued until the CSMS has them."""
        attempts = self.device.int("OCPPCommCtrlr", "MessageAttempts")
        while not self._stopping:
            while self._outbox and self.online:
                item = self._outbox[0]
                name = type(item.payload).__name__
                try:
                    await link.call(item.payload, suppress=False, skip_schema_validation=item.skip_schema)
                except OCPPError as e:
                    self.counters.refused += 1
                    log.info("%s: CSMS refused %s: %s", self.station.id, name, e)
                except TimeoutError:
                    item.attempts += 1
                    if item.transactional and item.attempts < attempts:
                        await self.clock.asleep(self.device.int("OCPPCommCtrlr", "MessageAttemptInterval"))
                        continue
                    log.info(
                        "%s: no answer to %s; giving up after %d attempt(s)",
                        self.station.id,
                        name,
                        item.attempts,
                    )
                except websockets.ConnectionClosed:
                    return  # the item stays at the head; the next session sends it
                else:
                    self.counters.sent[name] = self.counters.sent.get(name, 0) + 1
                if self._outbox and self._outbox[0] is item:
                    self._outbox.popleft()
            self._out_ready.clear()
            await self._out_ready.wait()

    def _send(self, payload: Any, *, transactional: bool = False, skip_schema: bool = False) -> None:
        """Queue a message. Only transaction events survive being offline (they are replayed)."""
        if not self.online and not transactional:
            return
        self._outbox.append(_Out(payload, transactional, skip_schema))
        self._out_ready.set()

    # ------------------------------------------------------------------ the firmware loop
    async def _control(self) -> None:
        while not self._stopping:
            now = self.clock.now()
            due = now + POLL_S
            if not self.is_down:
                for evse in self.evses.values():
                    due = min(due, self._step(evse, now))
                due = min(due, self._aligned(now))
                self._allocate(now)
                self._maybe_reset()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.clock.real(max(0.0, due - self.clock.now())))

    def _step(self, e: _Evse, now: float) -> float:
        """Advance one EVSE's state machine; the bench time something is next due."""
        snap = self.physics.snapshot(e.id)
        plugged = snap.plugged
        due = math.inf
        # Connector status from the pilot (status_stuck: never leaves Available).
        status = "Occupied" if plugged and not self.faults.status_stuck else "Available"
        if snap.pilot_state == "F":
            status = "Faulted"
        elif not e.operative and e.tx is None:
            status = "Unavailable"  # a scheduled Inoperative takes effect when the transaction has ended
        if self.online and status != e.status:
            e.status = status
            self._send(
                call.StatusNotification(timestamp=self._ts(), connector_status=status, evse_id=e.id, connector_id=1)
            )
            self.device.put("EVSE", "AvailabilityState", status, evse=e.id)
        # Authorization waiting for an EV, and the transaction start point.
        if e.auth is not None and e.tx is None and now >= e.auth.expires_t and not plugged:
            e.auth = None
        if not plugged:
            e.plug_used = False
        starts = set(self.device.members("TxCtrlr", "TxStartPoint"))
        if e.tx is None and e.operative:
            authorized = e.auth is not None
            fresh_plug = plugged and not e.plug_used
            if (
                (fresh_plug and authorized)
                or (fresh_plug and starts & START_POINTS_PLUG)
                or (authorized and not plugged and starts & START_POINTS_AUTH)
            ):
                self._start_tx(e, now, plugged)
        elif e.auth is not None:
            # A transaction begun at plug-in gets its authorization now.
            auth, e.auth = e.auth, None
            e.authorized = True
            e.tx.id_token, e.tx.remote_start_id = auth.id_token, auth.remote_start_id
            self._tx_event(e, "Updated", "RemoteStart", id_token=auth.id_token)
        if e.auth is not None:
            due = min(due, e.auth.expires_t)
        tx = e.tx
        if tx is None:
            self._drive(e, offering=False, snap_state=snap.ev_state, now=now)
            return due
        # EV gone: the transaction ends (TxStopPoint EVConnected).
        if (
            not plugged
            and tx.charging_state != "Idle"
            and "EVConnected" in self.device.members("TxCtrlr", "TxStopPoint")
        ):
            self._end_tx(e, "EVDeparted", "EVDisconnected")
            self._drive(e, offering=False, snap_state=snap.ev_state, now=now)
            return due
        offering = e.authorized and plugged and snap.pilot_state != "F"
        due = min(due, self._drive(e, offering=offering, snap_state=snap.ev_state, now=now))
        state = self._charging_state(e, plugged, snap.ev_state)
        if state != tx.charging_state:
            tx.charging_state = state
            self._tx_event(e, "Updated", "ChargingStateChanged")
        if e.applied_limit != e.reported_limit and e.offering:
            significance = float(self.device.value("SmartChargingCtrlr", "LimitChangeSignificance"))
            if (
                e.reported_limit is None
                or e.applied_limit is None
                or abs(e.applied_limit - e.reported_limit) >= significance
            ):
                if e.reported_limit is not None:
                    self._tx_event(e, "Updated", "ChargingRateChanged")
                e.reported_limit = e.applied_limit
        interval = self.device.int("SampledDataCtrlr", "TxUpdatedInterval")
        if interval > 0 and now >= tx.next_update_t:
            self._tx_event(
                e,
                "Updated",
                "MeterValuePeriodic",
                meter=self._meter_value(
                    e.id, "Sample.Periodic", self.device.members("SampledDataCtrlr", "TxUpdatedMeasurands")
                ),
            )
            tx.next_update_t = max(tx.next_update_t + interval, now + interval / 2)
        if interval > 0:
            due = min(due, tx.next_update_t)
        return due

    def _charging_state(self, e: _Evse, plugged: bool, ev_state: str) -> str:
        if not plugged:
            return "Idle"
        if not e.authorized:
            return "EVConnected"
        if not e.offering:
            return "SuspendedEVSE"
        return "Charging" if ev_state in DRAWING_STATES else "SuspendedEV"

    def _drive(self, e: _Evse, *, offering: bool, snap_state: str, now: float) -> float:
        """Put the firmware's limit on the pilot and open/close the contactor. Returns when next due."""
        due = math.inf
        if not offering:
            e.limit_target = e.applied_limit = None
        else:
            target = self._limit_for(e, now)
            if target != e.limit_target:
                # limit_delay_s: a changed limit reaches the pilot late (the first one never is).
                late = e.applied_limit is not None
                e.limit_target = target
                e.limit_due_t = now + (self.faults.limit_delay_s if late else 0.0)
            if now >= e.limit_due_t:
                e.applied_limit = e.limit_target
            else:
                due = e.limit_due_t
        amps = e.applied_limit if offering else None
        e.offering = amps is not None and amps >= MIN_CURRENT_A
        energize = e.offering and snap_state in DRAWING_STATES
        if self.physics.snapshot(e.id).offered_a != (amps if e.offering else None):
            self.physics.set_offered(e.id, amps if e.offering else None)
        if energize != e.energized:
            e.energized = energize
            self.physics.set_energized(e.id, energize)
        return due

    # ------------------------------------------------------------------ limits
    def _tx_context(self, e: _Evse) -> TxContext | None:
        return TxContext(e.tx.id, e.tx.started_wall) if e.tx is not None else None

    def _limit_for(self, e: _Evse, now: float) -> float:
        hardware = self.station.max_current_a
        if self.faults.ignore_profiles or not self.device.bool("SmartChargingCtrlr", "Enabled"):
            return hardware
        when = self.clock.wall(now)
        limits = [hardware]
        own = self.profiles.evse_limit_a(e.id, when, self._tx_context(e))
        if own is not None:
            limits.append(own)
        station = self.profiles.station_limit_a(when)
        if station is not None:
            # The station-wide limit is shared equally between the EVSEs that are offering.
            sharing = sum(1 for x in self.evses.values() if x.offering or x is e)
            limits.append(station / max(1, sharing))
        return round(min(limits), 1)

    def _allocate(self, now: float) -> None:
        """Re-run the limit of every offering EVSE when the number sharing a station limit changed."""
        for e in self.evses.values():
            if e.offering and e.limit_target is not None and self._limit_for(e, now) != e.limit_target:
                self._wake.set()

    # ------------------------------------------------------------------ transactions
    def _start_tx(self, e: _Evse, now: float, plugged: bool) -> None:
        auth, e.auth = e.auth, None
        tx = _Tx(id=str(uuid.uuid4()), evse=e.id, started_wall=self.clock.wall(now))
        e.tx = tx
        e.plug_used = plugged
        e.authorized = auth is not None
        e.reported_limit = None
        if auth is not None:
            tx.id_token, tx.remote_start_id = auth.id_token, auth.remote_start_id
            if auth.profile is not None:
                with contextlib.suppress(ProfileRejected):
                    profile = parse_profile(e.id, {**auth.profile, "transaction_id": tx.id})
                    self.profiles.add(profile, {e.id: tx.id})
        trigger = "CablePluggedIn" if auth is None or (plugged and not auth.ev_was_plugged) else "RemoteStart"
        tx.charging_state = "EVConnected" if plugged else "Idle"
        self._tx_event(
            e,
            "Started",
            trigger,
            id_token=tx.id_token,
            evse=True,
            meter=self._meter_value(
                e.id, "Transaction.Begin", self.device.members("SampledDataCtrlr", "TxStartedMeasurands")
            ),
        )
        interval = self.device.int("SampledDataCtrlr", "TxUpdatedInterval")
        tx.next_update_t = now + interval if interval > 0 else math.inf
        if self.faults.meter_offset_wh:
            # Phantom energy lands right after the start reading, so it shows inside the transaction.
            self.physics.add_meter_offset(e.id, self.faults.meter_offset_wh)

    def _end_tx(self, e: _Evse, trigger: str, reason: str, *, send: bool = True) -> None:
        tx = e.tx
        if tx is None:
            return
        if send:
            self._tx_event(
                e,
                "Ended",
                trigger,
                stopped_reason=reason,
                meter=self._meter_value(
                    e.id, "Transaction.End", self.device.members("SampledDataCtrlr", "TxEndedMeasurands")
                ),
            )
        self.profiles.end_tx(tx.id)
        e.tx = None
        e.authorized = False
        e.limit_target = None
        e.reported_limit = None
        self._drive(e, offering=False, snap_state="A", now=self.clock.now())
        self._wake.set()

    def _tx_event(
        self,
        e: _Evse,
        event_type: str,
        trigger: str,
        *,
        meter: dict[str, Any] | None = None,
        id_token: dict[str, Any] | None = None,
        evse: bool = False,
        stopped_reason: str | None = None,
        at: float | None = None,
    ) -> None:
        tx = e.tx
        assert tx is not None
        info: dict[str, Any] = {"transaction_id": tx.id, "charging_state": tx.charging_state}
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        if tx.remote_start_id is not None and (event_type == "Started" or trigger == "RemoteStart"):
            info["remote_start_id"] = tx.remote_start_id
        seq = tx.seq
        tx.seq += 1
        if event_type == "Updated":
            tx.updated_sent += 1
            if self.faults.seqno_gap and tx.updated_sent == 1:
                tx.seq += 1  # the next event skips a number
        offline = not self.online
        skip_schema = False
        if meter is not None and self.faults.schema_violation and event_type == "Updated":
            meter = {
                **meter,
                "sampled_value": [{**sv, "value": str(sv["value"])} for sv in meter["sampled_value"]],
            }
            skip_schema = True
        payload = call.TransactionEvent(
            event_type=event_type,
            timestamp=meter["timestamp"] if meter else self._ts(at),
            trigger_reason=trigger,
            seq_no=seq,
            transaction_info=info,
            meter_value=[meter] if meter else None,
            offline=True if offline and not self.faults.offline_unflagged else None,
            evse={"id": e.id, "connector_id": 1} if evse else None,
            id_token=id_token,
        )
        if offline and self.faults.offline_drop:
            self.counters.dropped_offline += 1
            return
        self._send(payload, transactional=True, skip_schema=skip_schema)

    def _meter_value(self, evse: int, context: str, measurands: list[str]) -> dict[str, Any]:
        snap = self.physics.snapshot(evse)
        gain = self.faults.meter_gain
        phases = [p.name for p in snap.phases]
        sampled: list[dict[str, Any]] = []

        def add(measurand: str, value: float, unit: str, phase: str | None = None) -> None:
            sv: dict[str, Any] = {
                "value": value,
                "context": context,
                "measurand": measurand,
                "unit_of_measure": {"unit": unit},
            }
            if phase is not None:
                sv["phase"] = phase
            sampled.append(sv)

        for m in measurands:
            if m == "Energy.Active.Import.Register":
                # meter_multiplier_bug: the register in Wh, labelled kWh.
                add(m, round(snap.meter_wh, 1), "kWh" if self.faults.meter_multiplier_bug else "Wh")
            elif m == "Power.Active.Import":
                add(m, round(snap.power_w * gain, 1), "W")
            elif m == "Current.Import":
                for name, amps in zip(phases, snap.currents, strict=True):
                    add(m, round(amps, 2), "A", name)
            elif m == "Voltage":
                for name, volts in zip(phases, snap.grid_voltages, strict=True):
                    add(m, round(volts, 1), "V", f"{name}-N")
            elif m == "Current.Offered":
                add(m, round(snap.offered_a or 0.0, 1), "A")
            elif m == "Power.Offered":
                add(
                    m,
                    round((snap.offered_a or 0.0) * self.station.nominal_voltage_v * self.station.phases, 1),
                    "W",
                )
            elif m == "Frequency":
                add(m, 50.0, "Hz")
            elif m == "Power.Factor":
                add(m, round(self.physics.power_factor, 2), "Percent")
        return {"timestamp": self._ts(snap.t), "sampled_value": sampled}

    # ------------------------------------------------------------------ clock-aligned data
    def _schedule_aligned(self, now: float) -> None:
        interval = self.device.int("AlignedDataCtrlr", "Interval")
        if interval <= 0:
            self._next_aligned_t = math.inf
            return
        epoch = self.clock.wall(now).timestamp()
        self._next_aligned_t = now + (math.floor(epoch / interval) + 1) * interval - epoch

    def _aligned(self, now: float) -> float:
        if now < self._next_aligned_t:
            return self._next_aligned_t
        measurands = self.device.members("AlignedDataCtrlr", "Measurands")
        for e in self.evses.values():
            meter = self._meter_value(e.id, "Sample.Clock", measurands)
            if e.tx is not None:
                self._tx_event(e, "Updated", "MeterValueClock", meter=meter)
            else:
                self._send(call.MeterValues(evse_id=e.id, meter_value=[meter]))
        self._schedule_aligned(now + 1e-6)
        return self._next_aligned_t

    # ------------------------------------------------------------------ CSMS -> charger
    def on_request_start(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None,
        charging_profile: dict[str, Any] | None,
    ) -> res.RequestStartTransaction:
        if evse_id is None:
            free = [
                e for e in self.evses.values() if e.operative and e.auth is None and (e.tx is None or not e.authorized)
            ]
            evse_id = free[0].id if free else None
        e = self.evses.get(evse_id) if evse_id is not None else None
        if e is not None and not e.operative:
            return res.RequestStartTransaction(status="Rejected", status_info={"reason_code": "Unavailable"})
        if e is None or e.auth is not None or (e.tx is not None and e.authorized):
            return res.RequestStartTransaction(
                status="Rejected", status_info={"reason_code": "Busy" if e is not None else "UnknownEvse"}
            )
        if charging_profile is not None:
            if charging_profile.get("charging_profile_purpose") != TX or charging_profile.get("transaction_id"):
                return res.RequestStartTransaction(status="Rejected", status_info={"reason_code": "InvalidProfile"})
            try:
                parse_profile(e.id, charging_profile)
            except ProfileRejected as err:
                return res.RequestStartTransaction(
                    status="Rejected",
                    status_info={"reason_code": "InvalidProfile", "additional_info": err.detail[:512]},
                )
        timeout = self.device.int("TxCtrlr", "EVConnectionTimeOut")
        e.auth = _Auth(
            id_token,
            remote_start_id,
            self.clock.now() + timeout,
            charging_profile,
            ev_was_plugged=self.physics.snapshot(e.id).plugged,
        )
        self._wake.set()
        return res.RequestStartTransaction(status="Accepted", transaction_id=e.tx.id if e.tx else None)

    def on_request_stop(self, transaction_id: str) -> res.RequestStopTransaction:
        for e in self.evses.values():
            if e.tx is not None and e.tx.id == transaction_id:
                self._end_tx(e, "RemoteStop", "Remote")
                return res.RequestStopTransaction(status="Accepted")
        return res.RequestStopTransaction(status="Rejected")

    def on_change_availability(self, operational_status: str, evse: dict[str, Any] | None) -> res.ChangeAvailability:
        """Operative / Inoperative for the station (no evse, or evse id 0) or one EVSE (and its connector).

        Going Inoperative while a transaction runs is Scheduled: the transaction goes on, and the EVSE
        reports Unavailable once it has ended. The state survives reboots.
        """
        operative = operational_status == "Operative"
        evse_id = (evse or {}).get("id") or 0
        connector = (evse or {}).get("connector_id")
        if evse_id == 0:
            targets = list(self.evses.values())
            self.device.put("ChargingStation", "AvailabilityState", "Available" if operative else "Unavailable")
        elif evse_id not in self.evses or connector not in (None, 1):
            what = f"EVSE {evse_id}" + (f" connector {connector}" if connector is not None else "")
            return res.ChangeAvailability(
                status="Rejected",
                status_info={
                    "reason_code": "UnknownEvse" if evse_id not in self.evses else "UnknownConnector",
                    "additional_info": f"{what} does not exist; this station has EVSEs 1..{len(self.evses)} "
                    "with connector 1 each",
                },
            )
        else:
            targets = [self.evses[evse_id]]
        scheduled = False
        for e in targets:
            e.operative = operative
            if not operative:
                e.auth = None  # a remote start still waiting for its EV is void
            if e.tx is not None:
                scheduled = scheduled or not operative
            else:
                e.status = None  # report the connector's state again (G03/G04), changed or not
        self._wake.set()
        return res.ChangeAvailability(status="Scheduled" if scheduled else "Accepted")

    def on_unlock_connector(self, evse_id: int, connector_id: int) -> res.UnlockConnector:
        """Unlocked, unless an authorized transaction runs there (F05); an unknown connector is said so."""
        e = self.evses.get(evse_id)
        if e is None or connector_id != 1:
            return res.UnlockConnector(
                status="UnknownConnector",
                status_info={
                    "reason_code": "UnknownConnector",
                    "additional_info": f"EVSE {evse_id} connector {connector_id} does not exist; this station "
                    f"has EVSEs 1..{len(self.evses)} with connector 1 each",
                },
            )
        if e.tx is not None and e.authorized:
            return res.UnlockConnector(status="OngoingAuthorizedTransaction")
        self.counters.unlocks += 1
        return res.UnlockConnector(status="Unlocked")

    def _active_tx(self) -> dict[int, str | None]:
        return {n: (e.tx.id if e.tx else None) for n, e in self.evses.items()}

    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any]) -> res.SetChargingProfile:
        if not self.device.bool("SmartChargingCtrlr", "Enabled"):
            return res.SetChargingProfile(status="Rejected", status_info={"reason_code": "NotEnabled"})
        try:
            self.profiles.add(parse_profile(evse_id, charging_profile), self._active_tx())
        except ProfileRejected as err:
            return res.SetChargingProfile(
                status="Rejected",
                status_info={"reason_code": err.reason, "additional_info": err.detail[:512]},
            )
        except (KeyError, TypeError, ValueError) as err:
            return res.SetChargingProfile(
                status="Rejected",
                status_info={"reason_code": "InvalidValue", "additional_info": str(err)[:512]},
            )
        self._wake.set()
        return res.SetChargingProfile(status="Accepted")

    def on_clear_charging_profile(
        self, profile_id: int | None, criteria: dict[str, Any] | None
    ) -> res.ClearChargingProfile:
        criteria = criteria or {}
        removed = self.profiles.clear(
            profile_id=profile_id,
            evse_id=criteria.get("evse_id"),
            purpose=criteria.get("charging_profile_purpose"),
            stack_level=criteria.get("stack_level"),
        )
        self._wake.set()
        return res.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    def on_get_charging_profiles(
        self, request_id: int, criteria: dict[str, Any], evse_id: int | None
    ) -> res.GetChargingProfiles:
        ids = criteria.get("charging_profile_id")
        found = [
            p
            for p in self.profiles.profiles
            if (evse_id is None or p.evse_id == evse_id)
            and (criteria.get("charging_profile_purpose") in (None, p.purpose))
            and (criteria.get("stack_level") in (None, p.stack_level))
            and (not ids or p.id in ids)
        ]
        if not found:
            return res.GetChargingProfiles(status="NoProfiles")
        by_evse: dict[int, list[Any]] = {}
        for p in found:
            by_evse.setdefault(p.evse_id, []).append(dict(p.raw or {}))
        groups = list(by_evse.items())
        for k, (evse, profiles) in enumerate(groups):
            self._send(
                call.ReportChargingProfiles(
                    request_id=request_id,
                    charging_limit_source="CSO",
                    charging_profile=profiles,
                    evse_id=evse,
                    tbc=k < len(groups) - 1 or None,
                )
            )
        return res.GetChargingProfiles(status="Accepted")

    def on_get_composite_schedule(self, duration: int, evse_id: int, unit: str | None) -> res.GetCompositeSchedule:
        if not 0 <= evse_id <= self.station.evses:
            return res.GetCompositeSchedule(status="Rejected", status_info={"reason_code": "UnknownEVSE"})
        unit = unit or "A"
        if unit not in ("A", "W"):
            return res.GetCompositeSchedule(status="Rejected", status_info={"reason_code": "UnsupportedRateUnit"})
        start = self.clock.wall()
        tx = self._tx_context(self.evses[evse_id]) if evse_id else None
        steps = self.profiles.composite(evse_id, start, float(duration), tx, self.station.max_current_a)
        factor = self.station.nominal_voltage_v * self.station.phases if unit == "W" else 1.0
        periods = [{"start_period": int(offset), "limit": round(limit * factor, 1)} for offset, limit in steps]
        schedule = {
            "evse_id": evse_id,
            "duration": int(duration),
            "schedule_start": iso_utc(start),
            "charging_rate_unit": unit,
            "charging_schedule_period": periods,
        }
        return res.GetCompositeSchedule(status="Accepted", schedule=schedule)

    def on_get_variables(self, data: list[dict[str, Any]]) -> res.GetVariables:
        out = []
        for item in data:
            comp, var = item["component"], item["variable"]
            evse = (comp.get("evse") or {}).get("id")
            status, value = self.device.get(comp["name"], var["name"], evse, item.get("attribute_type"))
            entry: dict[str, Any] = {"attribute_status": status, "component": comp, "variable": var}
            if item.get("attribute_type"):
                entry["attribute_type"] = item["attribute_type"]
            if value is not None:
                entry["attribute_value"] = value
            out.append(entry)
        return res.GetVariables(get_variable_result=out)

    def on_set_variables(self, data: list[dict[str, Any]]) -> res.SetVariables:
        out = []
        now = self.clock.now()
        for item in data:
            comp, var = item["component"], item["variable"]
            evse = (comp.get("evse") or {}).get("id")
            status = self.device.set(
                comp["name"], var["name"], str(item["attribute_value"]), evse, item.get("attribute_type")
            )
            if status == "Accepted":
                self._variable_changed(comp["name"], var["name"], now)
            entry: dict[str, Any] = {"attribute_status": status, "component": comp, "variable": var}
            if item.get("attribute_type"):
                entry["attribute_type"] = item["attribute_type"]
            out.append(entry)
        self._wake.set()
        return res.SetVariables(set_variable_result=out)

    def _variable_changed(self, component: str, name: str, now: float) -> None:
        if (component, name) == ("SampledDataCtrlr", "TxUpdatedInterval"):
            interval = self.device.int(component, name)
            for e in self.evses.values():
                if e.tx is not None:
                    e.tx.next_update_t = now + interval if interval > 0 else math.inf
        elif (component, name) == ("AlignedDataCtrlr", "Interval"):
            self._schedule_aligned(now)
        elif (component, name) == ("OCPPCommCtrlr", "HeartbeatInterval"):
            self._heartbeat_s = float(self.device.int(component, name))

    def on_get_base_report(self, request_id: int, report_base: str) -> res.GetBaseReport:
        if report_base not in ("ConfigurationInventory", "FullInventory", "SummaryInventory"):
            return res.GetBaseReport(status="NotSupported")
        entries = self.device.report_data()
        if report_base == "ConfigurationInventory":
            entries = [x for x in entries if x["variable_attribute"][0]["mutability"] != "ReadOnly"]
        elif report_base == "SummaryInventory":
            entries = [x for x in entries if x["variable"]["name"] == "AvailabilityState"]
        chunks = [entries[k : k + REPORT_CHUNK] for k in range(0, len(entries), REPORT_CHUNK)] or [[]]
        generated = self._ts()
        for seq, chunk in enumerate(chunks):
            self._send(
                call.NotifyReport(
                    request_id=request_id,
                    generated_at=generated,
                    seq_no=seq,
                    report_data=chunk or None,
                    tbc=True if seq < len(chunks) - 1 else None,
                )
            )
        return res.GetBaseReport(status="Accepted")

    def on_trigger_message(self, requested: str, evse: dict[str, Any] | None) -> res.TriggerMessage:
        evse_ids = [evse["id"]] if evse and evse.get("id") else list(self.evses)
        if any(n not in self.evses for n in evse_ids):
            return res.TriggerMessage(status="Rejected")
        if requested == "Heartbeat":
            self._send(call.Heartbeat())
        elif requested == "StatusNotification":
            for n in evse_ids:
                status = self.evses[n].status or "Available"
                self._send(
                    call.StatusNotification(timestamp=self._ts(), connector_status=status, evse_id=n, connector_id=1)
                )
        elif requested == "MeterValues":
            measurands = self.device.members("AlignedDataCtrlr", "Measurands")
            for n in evse_ids:
                self._send(call.MeterValues(evse_id=n, meter_value=[self._meter_value(n, "Trigger", measurands)]))
        elif requested == "TransactionEvent":
            for n in evse_ids:
                e = self.evses[n]
                if e.tx is not None:
                    measurands = self.device.members("SampledDataCtrlr", "TxUpdatedMeasurands")
                    self._tx_event(e, "Updated", "Trigger", meter=self._meter_value(n, "Trigger", measurands))
        elif requested == "FirmwareStatusNotification":
            self._send(call.FirmwareStatusNotification(status="Idle"))
        elif requested == "BootNotification":
            return res.TriggerMessage(status="Rejected")  # already accepted (B01)
        else:
            return res.TriggerMessage(status="NotImplemented")
        return res.TriggerMessage(status="Accepted")

    # ------------------------------------------------------------------ reset and firmware
    def on_reset(self, kind: str, evse_id: int | None) -> res.Reset:
        if evse_id is not None:
            return res.Reset(status="Rejected", status_info={"reason_code": "EVSEResetNotSupported"})
        if kind == "OnIdle" and any(e.tx is not None for e in self.evses.values()):
            self._reset_pending = "OnIdle"
            return res.Reset(status="Scheduled")
        return res.Reset(status="Accepted")

    def after_reset(self, kind: str, evse_id: int | None) -> None:
        if evse_id is None and self._reset_pending is None:
            assert self._loop is not None
            self._loop.create_task(self._reboot("RemoteReset", "ImmediateReset"))

    def _maybe_reset(self) -> None:
        if self._reset_pending and all(e.tx is None for e in self.evses.values()):
            self._reset_pending = None
            assert self._loop is not None
            self._loop.create_task(self._reboot("RemoteReset", "ImmediateReset"))

    async def _reboot(self, boot_reason: str, stopped_reason: str) -> None:
        """End transactions, drop the connection, stay off for reboot_s, then boot with `boot_reason`."""
        await asyncio.sleep(0)  # let the Reset reply leave first
        for e in self.evses.values():
            if e.tx is not None:
                # reboot_loses_tx: the transaction vanishes with the RAM it lived in.
                self._end_tx(e, "ResetCommand", stopped_reason, send=not self.faults.reboot_loses_tx)
            e.auth = None
            self._drive(e, offering=False, snap_state="A", now=self.clock.now())
        # A charger flushes what it can before it goes down; what is left stays in its persistent queue.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained(), self.clock.real(5.0) + 1.0)
        self._outbox = deque(o for o in self._outbox if o.transactional)
        self._down_until = self.clock.now() + self.reboot_s
        self._boot_reason = boot_reason
        self._registered = False
        self.online = False
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        self._wake.set()

    async def _drained(self) -> None:
        while self._outbox and self.online:
            await asyncio.sleep(0.01)

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
