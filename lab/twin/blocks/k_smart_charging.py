"""OCPP 2.0.1 block K, smart charging: Set/Clear/GetChargingProfiles, GetCompositeSchedule, the limit the
firmware puts on the pilot (station-wide limits shared between offering EVSEs), and the local energy
manager (EMS) as an external system: its site limit becomes a ChargingStationExternalConstraints profile.

The EMS (lab/twin/ems_server.py; the map is instruments/ems_map.py) is polled every EMS_POLL_S bench
seconds. Its limit is installed on EVSE 0 and reported with NotifyChargingLimit (chargingLimitSource EMS,
the one-period schedule, no evseId: it caps the station), its release with ClearedChargingLimit (K11/K12, K13;
reading of Part 2's message descriptions, which are not among the documents here). The composite is then
the lowest of the backend's profiles and the EMS limit (lab/twin/smart_charging.py). When the heartbeat
register has not changed for WATCHDOG_S seconds, the EMS is lost: the fallback limit replaces its limit
(reported the same way) until the heartbeat changes again. CHARGER_STATE tells the EMS which applies.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ocpp.v201 import call
from ocpp.v201 import call_result as res

from instruments import ems_map
from instruments.clock import iso_utc
from instruments.iec61851 import MIN_CURRENT_A
from lab.twin.allocation import Cap, Claim, offer_for
from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import (
    EvseState,
)
from lab.twin.ems_server import EmsServer
from lab.twin.physics import DRAWING_STATES
from lab.twin.smart_charging import EXTERNAL, EXTERNAL_ID, Profile, ProfileRejected, TxContext, parse_profile

log = logging.getLogger("lab.twin.charger")

EMS_POLL_S = 1.0  # bench seconds between the charger's reads of the EMS registers


class SmartCharging(ChargerCore):
    ems: EmsServer | None = None  # the station's EMS (bench role `ems`), set by the twin
    _ems_beat: int | None = None  # the heartbeat register as last seen, and when it last changed
    _ems_beat_t = 0.0
    _ems_applied: tuple[ems_map.SiteLimit | None, int] = (None, ems_map.STATE_NONE)

    def _ems_poll(self, now: float) -> float:
        """Read the EMS, apply its limit or the fallback; the bench time the next read is due."""
        server = self.ems
        if server is None:
            return math.inf
        regs = server.registers
        try:
            ems = ems_map.EmsRegisters.decode(regs)
        except ValueError:  # the server refuses writes that would make it so; a charger would ignore it
            return now + EMS_POLL_S
        if ems.heartbeat != self._ems_beat:
            self._ems_beat, self._ems_beat_t = ems.heartbeat, now
        expires = self._ems_beat_t + ems.watchdog_s if ems.watchdog_s else math.inf
        if now >= expires:
            # no_fallback_on_ems_loss: the charger forgets the lost EMS's limit and applies nothing instead.
            wanted = (None, ems_map.STATE_NONE) if self.faults.no_fallback_on_ems_loss else (
                ems.fallback, ems_map.STATE_FALLBACK)
        else:
            wanted = (ems.limit, ems_map.STATE_LIMIT if ems.limit is not None else ems_map.STATE_NONE)
        if wanted != self._ems_applied:
            self._apply_ems(wanted[0], now)
            self._ems_applied = wanted
        regs[ems_map.CHARGER_STATE] = wanted[1]
        # Once the watchdog has run out, `expires` lies in the past: the next read is a poll period away, never
        # "now" again (that made the firmware loop spin and starved the twin's instruments of the event loop).
        return now + EMS_POLL_S if now >= expires else min(now + EMS_POLL_S, expires)

    def _apply_ems(self, limit: ems_map.SiteLimit | None, now: float) -> None:
        """Install (or clear) the external constraint and tell the CSMS (NotifyChargingLimit /
        ClearedChargingLimit). external_constraint_ignored reports the limit but never installs it."""
        if limit is None:
            had = self.profiles.clear_external()
            if had and not self.faults.no_notify_charging_limit:
                self._send(call.ClearedChargingLimit(charging_limit_source="EMS"))
        else:
            since = self.clock.wall(now)
            if not self.faults.external_constraint_ignored:
                self.profiles.set_external(limit.value, limit.unit, since)
            if not self.faults.no_notify_charging_limit:
                # The schedule goes along only when SmartChargingCtrlr.NotifyChargingLimitWithSchedules says so
                # (appendices: false when omitted).
                schedule = {"id": EXTERNAL_ID, "charging_rate_unit": limit.unit, "start_schedule": iso_utc(since),
                            "charging_schedule_period": [{"start_period": 0, "limit": round(limit.value, 1)}]}
                with_schedule = self.device.bool("SmartChargingCtrlr", "NotifyChargingLimitWithSchedules")
                self._send(call.NotifyChargingLimit(
                    charging_limit={"charging_limit_source": "EMS", "is_grid_critical": False},
                    charging_schedule=[schedule] if with_schedule else None))
        self._wake.set()

    def _drive(self, e: EvseState, *, offering: bool, snap_state: str, now: float) -> float:
        """Put the firmware's limit on the pilot and open/close the contactor. Returns when next due."""
        due = math.inf
        e.eligible = offering
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

    def _tx_context(self, e: EvseState) -> TxContext | None:
        return TxContext(e.tx.id, e.tx.started_wall) if e.tx is not None else None

    def _claim(self, x: EvseState, when: Any, now: float) -> Claim:
        """EVSE `x`'s part in the station allocation (lab/twin/allocation.py)."""
        snap = self.physics.snapshot(x.id)
        wants = x.eligible and snap.ev_state in DRAWING_STATES
        if not wants:
            x.wants_since = None
        elif x.wants_since is None:
            x.wants_since = now
        own = self.station.max_current_a
        profile = self.profiles.evse_limit_a(x.id, when, self._tx_context(x))
        if profile is not None:
            own = min(own, profile)
        phases = min(snap.ev_phases, self.station.phases)
        return Claim(x.id, own, phases, wants, x.wants_since if x.wants_since is not None else now)

    def _limit_for(self, e: EvseState, now: float) -> float:
        hardware = self.station.max_current_a
        if self.faults.ignore_profiles or not self.device.bool("SmartChargingCtrlr", "Enabled"):
            return hardware
        when = self.clock.wall(now)
        claims = [self._claim(x, when, now) for x in self.evses.values() if x.eligible or x is e]
        mine = next(c for c in claims if c.evse == e.id)
        caps = [Cap(v, "A" if u == "A" else "W")
                for v, u in self.profiles.station_caps(when, with_max=not self.faults.station_max_ignored)]
        if not caps:
            return math.floor(mine.own_a * 10) / 10
        amps = offer_for(mine, claims, caps, self.station.nominal_voltage_v,
                         unfair=self.faults.unfair_allocation, now=now)
        # Down to 0.1 A, never up: a rounded share must not take the station over its cap.
        return math.floor(amps * 10 + 1e-9) / 10

    def _allocate(self, now: float) -> None:
        """Wake the firmware when an EVSE's share of the station changed (an EV began or stopped asking)."""
        for e in self.evses.values():
            if e.eligible and e.limit_target is not None and self._limit_for(e, now) != e.limit_target:
                self._wake.set()

    def _active_tx(self) -> dict[int, str | None]:
        return {n: (e.tx.id if e.tx else None) for n, e in self.evses.items()}

    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any]) -> res.SetChargingProfile:
        if not self.device.bool("SmartChargingCtrlr", "Enabled"):
            return res.SetChargingProfile(status="Rejected", status_info={"reason_code": "NotEnabled"})
        try:
            profile = parse_profile(evse_id, charging_profile)
            self._within_capacity(profile)
            self.profiles.add(profile, self._active_tx())
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

    def _within_capacity(self, profile: Profile) -> None:
        """The station's declared limits (appendices, SmartChargingCtrlr): stackLevel at most
        ProfileStackLevel, at most PeriodsPerSchedule periods in the schedule."""
        top = self.device.int("SmartChargingCtrlr", "ProfileStackLevel")
        if profile.stack_level > top:
            raise ProfileRejected(
                "InvalidStackLevel",
                f"stackLevel {profile.stack_level} is above SmartChargingCtrlr.ProfileStackLevel {top}")
        most = self.device.int("SmartChargingCtrlr", "PeriodsPerSchedule")
        if len(profile.schedule.periods) > most:
            raise ProfileRejected(
                "InvalidSchedule",
                f"{len(profile.schedule.periods)} periods; SmartChargingCtrlr.PeriodsPerSchedule is {most}")

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
        sources = criteria.get("charging_limit_source")

        def source(p: Any) -> str:  # the EMS's external constraints are the EMS's; the rest the CSMS's
            return "EMS" if p.purpose == EXTERNAL else "CSO"

        found = [
            p
            for p in self.profiles.profiles
            if (evse_id is None or p.evse_id == evse_id)
            and (criteria.get("charging_profile_purpose") in (None, p.purpose))
            and (criteria.get("stack_level") in (None, p.stack_level))
            and (not ids or p.id in ids)
            and (not sources or source(p) in sources)
        ]
        if not found:
            return res.GetChargingProfiles(status="NoProfiles")
        by_evse: dict[tuple[int, str], list[Any]] = {}
        for p in found:
            by_evse.setdefault((p.evse_id, source(p)), []).append(dict(p.raw or {}))
        groups = list(by_evse.items())
        for k, ((evse, limit_source), profiles) in enumerate(groups):
            self._send(
                call.ReportChargingProfiles(
                    request_id=request_id,
                    charging_limit_source=limit_source,
                    charging_profile=profiles,
                    evse_id=evse,
                    tbc=k < len(groups) - 1 or None,
                )
            )
        return res.GetChargingProfiles(status="Accepted")

    def on_get_composite_schedule(self, duration: int, evse_id: int, unit: str | None) -> res.GetCompositeSchedule:
        if not 0 <= evse_id <= self.station.evses:
            return res.GetCompositeSchedule(status="Rejected", status_info={"reason_code": "UnknownEvse"})
        unit = unit or "A"
        if unit not in ("A", "W"):
            return res.GetCompositeSchedule(status="Rejected", status_info={"reason_code": "UnsupportedRateUnit"})
        start = self.clock.wall()
        tx = self._tx_context(self.evses[evse_id]) if evse_id else None
        # Each step in the unit asked for, on the phases it allows, computed in that unit: a W limit is
        # reported to the watt, not rounded through 0.1 A (lab/twin/smart_charging.py). numberPhases is
        # given where it is not the 3 an absent one means (ChargingSchedulePeriodType).
        steps = self.profiles.composite_in(evse_id, start, float(duration), tx, self.station.max_current_a, unit)
        periods = [{"start_period": int(offset), "limit": limit, **({"number_phases": phases} if phases != 3 else {})}
                   for offset, limit, phases in steps]
        schedule = {
            "evse_id": evse_id,
            "duration": int(duration),
            "schedule_start": iso_utc(start),
            "charging_rate_unit": unit,
            "charging_schedule_period": periods,
        }
        return res.GetCompositeSchedule(status="Accepted", schedule=schedule)
