"""OCPP 2.0.1 block B, provisioning: boot (B01-B04), Get/SetVariables (B05-B07), base reports (B07-B08)
and reset (B11-B12).

Reset without an evseId reboots the whole station. With one, the twin resets that EVSE alone (resetting an
individual EVSE is optional; the twin bench declares it, lab/benches/twin.toml `EvseReset`): the station
stays up and connected (Part 6 errata 2023-12, TC_B_26_CS: no reboot), the EVSE's transaction ends with
ResetCommand / ImmediateReset (Immediate, TC_B_27_CS) or the reset waits for it to end (OnIdle: Scheduled,
TC_B_26_CS), a pending remote start is void, and the EVSE reports its connector again once it is back.

The optional parts follow the bench file's declaration for the station ([stations.capabilities]): a twin
bench that declares `EvseReset = false` gets EVSE resets Rejected, `SummaryInventory = false` gets that
report NotSupported, so the cases for chargers without them (TC_B_28/29_CS, TC_B_15_CS) run on the twin too.
Undeclared, the twin has both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from typing import Any

from ocpp.exceptions import FormatViolationError, OccurrenceConstraintViolationError, OCPPError
from ocpp.v201 import call
from ocpp.v201 import call_result as res

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import (
    REPORT_CHUNK,
    EvseState,
)
from lab.twin.link import Link

log = logging.getLogger("lab.twin.charger")


class Provisioning(ChargerCore):
    async def _boot(self, link: Link, receiver: asyncio.Task[Any]) -> None:
        station = {
            "model": self.station.model,
            "vendor_name": self.station.vendor,
            "firmware_version": self.firmware,
            **({"serial_number": self.station.serial} if self.station.serial else {}),
        }
        self._boot_link = link  # answers to the CSMS's requests may go out while Pending
        try:
            await self._boot_loop(link, receiver, station)
        finally:
            self._boot_link = None

    async def _boot_loop(self, link: Link, receiver: asyncio.Task[Any], station: dict[str, Any]) -> None:
        startup = self._boot_reason  # why the charger (re)started; a Triggered retry does not change it
        while True:
            if receiver.done():
                receiver.result()  # re-raise why the connection closed
                raise ConnectionError("connection closed during boot")
            self.counters.sent["BootNotification"] = self.counters.sent.get("BootNotification", 0) + 1
            # Armed before the call, not after its reply: a TriggerMessage that comes right behind the Pending
            # answer can be handled before this coroutine resumes, and clearing then would lose it (seen under
            # load: the triggered boot went 300 s later, after the Pending interval).
            self._boot_now.clear()
            reply = await link.call(
                call.BootNotification(charging_station=station, reason=self._boot_reason), suppress=False
            )
            interval = float(reply.interval) if reply.interval else 0.0
            # While Rejected, every CSMS call is answered CALLERROR SecurityError (B03.FR.08; see Link).
            self.boot_rejected = reply.status == "Rejected"
            if reply.status == "Accepted":
                self.counters.boots += 1
                self._security_event_at_boot(startup)
                self._boot_reason = "PowerUp"
                if interval > 0:
                    self._heartbeat_s = interval
                    self.device.put("OCPPCommCtrlr", "HeartbeatInterval", str(int(interval)))
                return
            # Wait for the interval, or less if the CSMS triggers a BootNotification (F06.FR.17, TC_B_02_CS).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._boot_now.wait(), self.clock.real(interval or 10.0))

    def message_limit_error(self, action: str, payload: Any, frame_bytes: int) -> OCPPError | None:
        """The CALLERROR for a GetVariablesRequest beyond the limits the twin reports, or None.

        DeviceDataCtrlr.ItemsPerMessage[GetVariables] and BytesPerMessage[GetVariables] are what a CSMS may send
        (B06.FR.05, a CSMS requirement: errata 2023-12 withdrew TC_B_08_CS for it). A request beyond them may be
        refused whole: more getVariableData than ItemsPerMessage, OccurrenceConstraintViolation (B06.FR.16); a
        message longer than BytesPerMessage, FormatViolation (B06.FR.17). The twin refuses, so that a limit it
        reports is a limit it keeps. (Part 2's text is not among the documents this project holds: the ids and codes are
        as other implementations cite them, unchecked here.)"""
        if action != "GetVariables" or not isinstance(payload, dict):
            return None
        items = payload.get("getVariableData")
        most = self.device.int("DeviceDataCtrlr", "ItemsPerMessage", instance="GetVariables")
        if isinstance(items, list) and len(items) > most:
            return OccurrenceConstraintViolationError(
                description=f"GetVariables: {len(items)} getVariableData, more than "
                            f"DeviceDataCtrlr.ItemsPerMessage[GetVariables] = {most} (B06.FR.16)")
        largest = self.device.int("DeviceDataCtrlr", "BytesPerMessage", instance="GetVariables")
        if frame_bytes > largest:
            return FormatViolationError(
                description=f"GetVariables: a {frame_bytes}-byte message, longer than "
                            f"DeviceDataCtrlr.BytesPerMessage[GetVariables] = {largest} (B06.FR.17)")
        return None

    def on_get_variables(self, data: list[dict[str, Any]]) -> res.GetVariables:
        out = []
        for item in data:
            comp, var = item["component"], item["variable"]
            evse = (comp.get("evse") or {}).get("id")
            status, value = self.device.get(
                comp["name"], var["name"], evse, item.get("attribute_type"), var.get("instance")
            )
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
            value = str(item["attribute_value"])
            before = self.device.value("OCPPCommCtrlr", "NetworkConfigurationPriority")
            priority = (comp["name"], var["name"]) == ("OCPPCommCtrlr", "NetworkConfigurationPriority")
            if priority and self.network.check_priority(value) is not None:
                status = "Rejected"  # a slot without a profile (B10)
            else:
                status = self.device.set(comp["name"], var["name"], value, evse, item.get("attribute_type"),
                                         var.get("instance"))
            if status == "Accepted" and priority and value.replace(" ", "") != before.replace(" ", ""):
                status = "RebootRequired"  # the charger connects by the new priority from its next boot
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

    def _has(self, capability: str) -> bool:
        """An optional feature the bench file may switch off for this station (undeclared: on)."""
        return self.station.capabilities.get(capability, True)

    def on_get_base_report(self, request_id: int, report_base: str) -> res.GetBaseReport:
        bases = ("ConfigurationInventory", "FullInventory") + (("SummaryInventory",) if self._has("SummaryInventory")
                                                               else ())
        if report_base not in bases:
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

    def on_set_network_profile(self, configuration_slot: int,
                               connection_data: dict[str, Any]) -> res.SetNetworkProfile:
        """Accepted into a free slot of 1..3 with data the twin can use, else Rejected (B09.FR.01/02; the rules
        are in lab/twin/network_profiles.py)."""
        in_use = self.network.slot if self.online or self._ws is not None else None
        refused = self.network.set_profile(configuration_slot, connection_data, in_use=in_use)
        if refused is None:
            return res.SetNetworkProfile(status="Accepted")
        # reasonCode is string[0..20] in the schema; additionalInfo string[0..512].
        return res.SetNetworkProfile(status="Rejected", status_info={"reason_code": "InvalidNetworkConf",
                                                                     "additional_info": refused[:512]})

    def on_reset(self, kind: str, evse_id: int | None) -> res.Reset:
        if evse_id is not None and not self._has("EvseReset"):
            # reasonCode is string[0..20] in the schema; a longer one would break the reply itself.
            return res.Reset(
                status="Rejected",
                status_info={"reason_code": "UnsupportedRequest", "additional_info": "EVSE reset not supported"},
            )
        if evse_id is not None:
            e = self.evses.get(evse_id)
            if e is None:
                # reasonCode is string[0..20] in the schema; a longer one would break the reply itself.
                return res.Reset(
                    status="Rejected",
                    status_info={"reason_code": "UnknownEvse",
                                 "additional_info": f"EVSE {evse_id}: this station has EVSEs 1..{len(self.evses)}"},
                )
            if kind == "OnIdle" and e.tx is not None:
                e.reset_pending = True
                return res.Reset(status="Scheduled")
            return res.Reset(status="Accepted")
        if kind == "OnIdle" and any(e.tx is not None for e in self.evses.values()):
            self._reset_pending = "OnIdle"
            return res.Reset(status="Scheduled")
        return res.Reset(status="Accepted")

    def after_reset(self, kind: str, evse_id: int | None) -> None:
        assert self._loop is not None
        if evse_id is not None and not self._has("EvseReset"):
            return
        if evse_id is not None:
            e = self.evses.get(evse_id)
            if e is not None and not e.reset_pending:
                self._spawn(self._reset_evse(e), f"reset of EVSE {e.id}")
        elif self._reset_pending is None:
            self._spawn(self._reboot("RemoteReset", "ImmediateReset"), "reboot")

    async def _reset_evse(self, e: EvseState) -> None:
        """Reset one EVSE: its transaction ends (Immediate), energy stops, a waiting remote start is void."""
        await asyncio.sleep(0)  # let the Reset reply leave first
        if e.tx is not None:
            self._end_tx(e, "ResetCommand", "ImmediateReset")
        e.auth = None
        e.reset_pending = False
        self._drive(e, offering=False, snap_state="A", now=self.clock.now())
        e.status = None  # back from its reset, the EVSE reports its connector again (as after a boot)
        self._wake.set()

    def _maybe_reset(self) -> None:
        assert self._loop is not None
        for e in self.evses.values():
            if e.reset_pending and e.tx is None:  # OnIdle: the EVSE's transaction has ended (B12)
                e.reset_pending = False
                self._spawn(self._reset_evse(e), f"reset of EVSE {e.id}")
        if self._reset_pending and all(e.tx is None for e in self.evses.values()):
            self._reset_pending = None
            assert self._loop is not None
            # A reset that waited for the transactions to end boots as ScheduledReset (TC_B_21_CS step 7).
            self._spawn(self._reboot("ScheduledReset", "ImmediateReset"), "reboot")

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
