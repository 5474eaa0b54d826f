"""Turn charger MeterValues / TransactionEvent / StatusNotification / NotifyEvent frames into recorder signals.

Keys are what expectations read: `charger.<measurand>` for totals, `charger.<measurand>.<phase>` per
phase, `charger.status.evse<N>` for connector status (by StatusNotification, or by NotifyEvent
Connector.AvailabilityState: runner/csms/connector_status.py). Values are normalised on arrival: the multiplier
applied (value x 10^multiplier) and kilo-units brought to canonical ones (kWh -> Wh, kW -> W, ...), so
a charger that reports kWh where it means Wh shows up as a 1000x energy error, not a unit mismatch.

    for key, value, t in samples_from_frame(frame, lag=charger_clock.lag):
        recorder.sample(key, value, t)

A meter reading's sample is placed at the time the charger took it (its meterValue.timestamp, the charger's
measured clock offset corrected, never after the frame's arrival: runner/csms/reading_time.py); a status at
its arrival. `readings_from_frame` keeps the charger's own timestamp and context for the rules that need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.csms.connector_status import statuses_from_frame
from runner.csms.framing import charger_call
from runner.csms.reading_time import Placement, place
from runner.recorder import Frame

DEFAULT_MEASURAND = "Energy.Active.Import.Register"

# unit -> (canonical unit, factor). Units not listed (A, V, Hz, Percent, Celsius, ...) pass unchanged.
_CANONICAL: dict[str, tuple[str, float]] = {
    "kWh": ("Wh", 1e3), "kW": ("W", 1e3), "kVA": ("VA", 1e3), "kvar": ("var", 1e3),
    "kvarh": ("varh", 1e3), "kVAh": ("VAh", 1e3), "kV": ("V", 1e3), "kA": ("A", 1e3),
    "mA": ("A", 1e-3), "kHz": ("Hz", 1e3),
}


@dataclass(frozen=True)
class Reading:
    key: str
    value: float | str
    t: float                       # bench time the frame arrived (its sample's place: placed_samples)
    timestamp: str | None          # the charger's own timestamp of this reading (meterValue.timestamp)
    measurand: str
    phase: str | None
    unit: str | None               # canonical unit after normalisation
    context: str | None = None     # Sample.Periodic, Transaction.Begin, ...
    evse_id: int | None = None
    action: str = ""


def normalise(value: float, unit: str | None, multiplier: int = 0) -> tuple[float, str | None]:
    """(value in canonical units, canonical unit)."""
    value = value * 10 ** multiplier
    if unit in _CANONICAL:
        canonical, factor = _CANONICAL[unit]
        return value * factor, canonical
    return value, unit


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):  # 1.6 habit; the 2.0.1 schema flags it, the signal is still useful
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _meter_readings(frame: Frame, payload: dict[str, Any], evse_id: int | None) -> list[Reading]:
    out: list[Reading] = []
    meter_values = payload.get("meterValue")
    if not isinstance(meter_values, list):
        return out
    for mv in meter_values:
        if not isinstance(mv, dict) or not isinstance(mv.get("sampledValue"), list):
            continue
        stamp = mv.get("timestamp") if isinstance(mv.get("timestamp"), str) else None
        for sv in mv["sampledValue"]:
            if not isinstance(sv, dict):
                continue
            raw = _number(sv.get("value"))
            if raw is None:
                continue
            uom = sv.get("unitOfMeasure") if isinstance(sv.get("unitOfMeasure"), dict) else {}
            unit = uom.get("unit") if isinstance(uom.get("unit"), str) else None
            mult = uom.get("multiplier") if isinstance(uom.get("multiplier"), int) else 0
            measurand = sv.get("measurand") if isinstance(sv.get("measurand"), str) else DEFAULT_MEASURAND
            if unit is None and measurand.startswith("Energy.Active"):
                unit = "Wh"  # the schema's default unit
            phase = sv.get("phase") if isinstance(sv.get("phase"), str) else None
            value, unit = normalise(raw, unit, mult)
            # EVSE 1 (or an EVSE only the transaction knows) keeps the plain key; others are prefixed, as
            # analyzer signals are: charger.evse2.Energy.Active.Import.Register, charger.evse0.* (main meter).
            scope = f"evse{evse_id}." if evse_id is not None and evse_id != 1 else ""
            # Voltage comes per phase to neutral (L1-N) or between phases (L1-L2): the key keeps the
            # line a spec names (`charger Voltage L1`) for phase-to-neutral, the pair otherwise.
            line = phase[:-2] if phase and phase.endswith("-N") else phase
            key = f"charger.{scope}{measurand}" + (f".{line}" if line else "")
            out.append(Reading(key, value, frame.t, stamp, measurand, phase, unit,
                               sv.get("context") if isinstance(sv.get("context"), str) else None,
                               evse_id, frame.action or ""))
    return out


def readings_from_frame(frame: Frame, tx_evse: int | None = None) -> list[Reading]:
    """Every signal reading in one recorded frame (charger CALLs only; anything else gives []).

    `tx_evse`: the EVSE of the frame's transaction as the harness's book knows it. A TransactionEvent names
    its EVSE only in its first event (E01: `evse` is required only on the first after it is known), so
    the Updated events of EVSE 2's transaction are EVSE 2's readings, not EVSE 1's."""
    if not charger_call(frame):
        return []
    p = frame.payload
    if frame.action == "MeterValues":
        evse_id = p.get("evseId") if isinstance(p.get("evseId"), int) else None
        return _meter_readings(frame, p, evse_id)
    if frame.action == "TransactionEvent":
        evse = p.get("evse")
        evse_id = evse.get("id") if isinstance(evse, dict) and isinstance(evse.get("id"), int) else tx_evse
        return _meter_readings(frame, p, evse_id)
    if frame.action in ("StatusNotification", "NotifyEvent"):
        # (the problems of malformed entries are the harness's findings, recorded once there)
        statuses, _problems = statuses_from_frame(frame)
        return [Reading(f"charger.status.evse{s.evse}", s.status, frame.t, s.timestamp, "status", None, None,
                        None, s.evse, s.action) for s in statuses]
    return []


def samples_from_frame(frame: Frame, tx_evse: int | None = None, lag: float | None = None
                       ) -> list[tuple[str, float | str, float]]:
    """(key, value, bench time) for each signal in the frame, ready for `recorder.sample`; see
    :func:`placed_samples`."""
    return [(key, value, p.t) for key, value, p in placed_samples(frame, tx_evse, lag)]


def placed_samples(frame: Frame, tx_evse: int | None = None, lag: float | None = None
                   ) -> list[tuple[str, float | str, Placement]]:
    """(key, value, placement) for each signal in the frame, in time order. A meter reading is placed at the
    time the charger took it: its meterValue.timestamp, corrected by `lag` (the charger's clock as its live
    messages show it, :class:`runner.csms.reading_time.ChargerClock`), never after the frame's arrival; at
    the arrival when it has no usable timestamp or no lag is known (the placement says why). A status is
    placed at its arrival.

    A TransactionEvent the charger queued while offline (`offline: true`, sent on reconnecting, minutes late)
    gives none: its readings are minutes old, stamped before samples recorded since, which judges may already
    have read (a series stays in time order: the out-of-order rule would put them at their arrival, as the
    present: a power from before a limit, a register behind the analyzer's). The frame stays in the trace,
    and :func:`readings_from_frame` gives them with the charger's timestamps to the rules."""
    if frame.action == "TransactionEvent" and isinstance(frame.payload, dict) and frame.payload.get("offline") is True:
        return []
    out = [(r.key, r.value, place(frame, r.timestamp, lag) if r.measurand != "status" else Placement(r.t, None))
           for r in readings_from_frame(frame, tx_evse)]
    return sorted(out, key=lambda s: s[2].t)   # (stable: readings of one instant keep the frame's order)
