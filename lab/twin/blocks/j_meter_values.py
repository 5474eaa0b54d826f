"""OCPP 2.0.1 block J, meter values: the sampled values the charger reports (J02 in transactions,
J01 clock-aligned MeterValues outside them)."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from ocpp.v201 import call

from instruments.clock import iso_utc
from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import EvseState
from lab.twin.ocmf import MeterSigner

log = logging.getLogger("lab.twin.charger")


class MeterValues(ChargerCore):
    def _meter_value(self, evse: int, context: str, measurands: list[str],
                     aligned: datetime | None = None) -> dict[str, Any]:
        """A meterValue element read now; a clock-aligned reading (`aligned`: its instant on the clock) carries
        that instant, not the moment the loop got round to reading it (J01: the values of the interval that
        ends there; the CSMS and the OCTT read the timestamp as the aligned time)."""
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
                if self._signs(context):  # the meter signs it (OCMF), as its controller's SignReadings asks
                    sampled[-1]["signed_meter_value"] = self._meter_signer().signed_meter_value(
                        snap.meter_wh, self.clock.wall(snap.t) if aligned is None else aligned, context)
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
        stamp = self._ts(snap.t) if aligned is None else iso_utc(aligned + timedelta(seconds=self.faults.clock_skew_s))
        return {"timestamp": stamp, "sampled_value": sampled}

    def _signs(self, context: str) -> bool:
        """Whether a reading in `context` is signed: the meter can (the bench file's signed_meter_values) and
        the controller of that kind of reading has SignReadings true (AlignedDataCtrlr for clock-aligned
        readings, SampledDataCtrlr for the others), or it is the begin reading of a DataSigned start."""
        if not self.station.signed_meter_values:
            return False
        if context == "Transaction.Begin" and "DataSigned" in self.device.members("TxCtrlr", "TxStartPoint"):
            return True  # (the signed begin reading is what a DataSigned transaction starts on)
        return self.device.bool("AlignedDataCtrlr" if context == "Sample.Clock" else "SampledDataCtrlr",
                                "SignReadings")

    def _meter_signer(self) -> MeterSigner:
        signer: MeterSigner | None = getattr(self, "_ocmf_signer", None)
        if signer is None:
            st = self.station
            signer = self._ocmf_signer = MeterSigner(f"{st.vendor} {st.model}", st.serial or st.id,
                                                     self.firmware, f"{st.serial or st.id}-M1")
        return signer

    def _schedule_aligned(self, now: float) -> None:
        interval = self.device.int("AlignedDataCtrlr", "Interval")
        if interval <= 0:
            self._next_aligned_t = math.inf
            return
        self._next_aligned_t = self._clock_grid_after(now, interval)

    def _clock_instant(self, at: float, interval: int) -> datetime:
        """The clock-aligned instant nearest bench time `at` (exact: `at` is one, give or take a float's
        rounding): midnight (the twin's clock is UTC) + k·interval, or the next midnight when the interval does
        not divide the day (the intervals of a day start at 00:00:00)."""
        wall = self.clock.wall(at)
        midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
        k = round((wall - midnight) / timedelta(seconds=interval))
        return min(midnight + timedelta(seconds=k * interval), midnight + timedelta(days=1))

    @staticmethod
    def _clock_next(instant: datetime, interval: int) -> datetime:
        """The clock-aligned instant after `instant` (one itself): an interval on, at most the next midnight."""
        midnight = instant.replace(hour=0, minute=0, second=0, microsecond=0)
        return min(instant + timedelta(seconds=interval), midnight + timedelta(days=1))

    def _clock_grid_after(self, now: float, interval: int) -> float:
        """The bench time of the first clock-aligned instant after `now`."""
        wall = self.clock.wall(now)
        midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
        k = math.floor((wall - midnight) / timedelta(seconds=interval)) + 1
        instant = min(midnight + timedelta(seconds=k * interval), midnight + timedelta(days=1))
        return now + (instant - wall).total_seconds()

    def _aligned(self, now: float) -> float:
        if now < self._next_aligned_t:
            return self._next_aligned_t
        measurands = self.device.members("AlignedDataCtrlr", "Measurands")
        # SendDuringIdle (Part 2 appendix, AlignedDataCtrlr): "the Charging Station SHALL not send clock
        # aligned meter values when a transaction is ongoing": none from any EVSE while one runs (TC_J_06_CS:
        # no MeterValuesRequest at all during the transaction).
        if self.device.bool("AlignedDataCtrlr", "SendDuringIdle") and any(
                e.tx is not None for e in self.evses.values()):
            self._schedule_aligned(now + 1e-6)
            return self._next_aligned_t
        instant = self._clock_instant(self._next_aligned_t, self.device.int("AlignedDataCtrlr", "Interval"))
        for e in self.evses.values():
            meter = self._meter_value(e.id, "Sample.Clock", measurands, aligned=instant)
            if e.tx is not None:
                self._tx_event(e, "Updated", "MeterValueClock", meter=meter)
            else:
                self._send(call.MeterValues(evse_id=e.id, meter_value=[meter]))
        self._schedule_aligned(now + 1e-6)
        return self._next_aligned_t

    def _tx_ended_samples(self, e: EvseState, now: float) -> float:
        """Collect the values the Ended event carries (J02): every SampledDataCtrlr.TxEndedInterval from the
        start (Sample.Periodic, TxEndedMeasurands) and at every multiple of AlignedDataCtrlr.TxEndedInterval
        on the clock (Sample.Clock, its TxEndedMeasurands). Returns the bench time of the next sample."""
        tx = e.tx
        if tx is None:
            return math.inf
        due = math.inf
        for kind, component, context in (
            ("sampled", "SampledDataCtrlr", "Sample.Periodic"),
            ("aligned", "AlignedDataCtrlr", "Sample.Clock"),
        ):
            interval = self.device.int(component, "TxEndedInterval")
            if interval <= 0:
                tx.ended_next.pop(kind, None)
                continue
            known, next_t = tx.ended_next.get(kind, (0, math.inf))
            if known != interval:
                next_t = now + interval if kind == "sampled" else self._clock_grid_after(now, interval)
            while now >= next_t:
                measurands = self.device.members(component, "TxEndedMeasurands")
                if kind == "sampled":
                    tx.ended_values.append(self._meter_value(e.id, context, measurands))
                    next_t += interval
                else:  # (stamped with its instant on the clock; the next one an interval on, or at midnight)
                    instant = self._clock_instant(next_t, interval)
                    tx.ended_values.append(self._meter_value(e.id, context, measurands, aligned=instant))
                    next_t += (self._clock_next(instant, interval) - instant).total_seconds()
            tx.ended_next[kind] = (interval, next_t)
            due = min(due, next_t)
        return due
