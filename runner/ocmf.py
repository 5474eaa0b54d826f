"""Billing evidence: the charger's signed meter values (OCMF), parsed and verified per transaction.

A charger under calibration law signs its energy register; OCPP 2.0.1 carries the signed record in a sampled
value's `signedMeterValue` (signedMeterData: the OCMF record, base64; publicKey: the meter's DER key,
base64). For each transaction of the run this module says:

- **verified**: every energy register reading of the transaction came signed, each signature verifies
  (pyocmf) with the meter's key, the meter marks each signed reading good (OCMF status G), and each signed
  active-import reading is the value the charger reported beside it;
- **not verified**: the first reason one did not (not OCMF, a signature that does not match, a key other
  than the bench file's `meter_public_key`, a reading the meter itself marks not good (manipulated, out of
  range, ...), a signed value that is not the reported one or cannot be compared with it, readings unsigned);
- **absent**: the bench file says the charger signs (`signed_meter_values = true`) and none came signed.

Without `meter_public_key` in the bench file a record is checked against the key it carries: that proves
the record was not altered after signing, not whose meter signed it (the result says so).
Frames come from the run's evidence folders (each scenario's `ocpp.jsonl`), so `chargespec report` gives the
same answer for any run folder later.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ENERGY = "Energy.Active.Import.Register"
VALUE_TOLERANCE_WH = 1.0  # a signed reading and the reported one may differ by rounding, no more
_TO_WH = {"Wh": 1.0, "kWh": 1000.0, "MWh": 1e6}
# OBIS active energy import, total (C.D.E = 1.8.0), however the groups are padded or the channel written:
# "1-b:1.8.0", "1-0:1.8.0", "01-00:01.08.00", "1.8.0*255"
_OBIS_IMPORT = re.compile(r"(?:[0-9]+-[0-9a-z]+:)?0*1\.0*8\.0*0(?:\*[0-9]+)?", re.IGNORECASE)

Status = Literal["verified", "not verified", "absent"]


@dataclass(frozen=True)
class StationSigning:
    """What the bench file says of one station's meter."""
    signs: bool
    public_key: str = ""  # hex or base64 DER; "" = check against the key each record carries


@dataclass(frozen=True)
class TransactionCheck:
    station: str
    transaction: str
    status: Status
    reason: str
    signed: int          # energy readings that came signed
    readings: int        # energy readings in all
    counts_against: bool  # whether it keeps the run from ACCEPTED (evidence the bench said would be there)


@dataclass(frozen=True)
class _Reading:
    value_wh: float | None
    signed: dict[str, Any] | None


def _wh(sv: dict[str, Any]) -> float | None:
    unit = ((sv.get("unitOfMeasure") or {}).get("unit")) or "Wh"
    try:
        value = float(sv.get("value"))  # (a string value is the charger's schema violation, judged elsewhere)
    except (TypeError, ValueError):
        return None
    scale = _TO_WH.get(unit)
    return value * scale * 10 ** int((sv.get("unitOfMeasure") or {}).get("multiplier") or 0) if scale else None


def _readings(frames: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[_Reading]]:
    """Energy register readings per (station, transaction), from raw frames (charger -> CSMS calls), each
    frame once however many scenario folders recorded it (the same text; a message id alone is no key: it is
    unique on one connection only, and a charger may use it again after reconnecting)."""
    seen: set[tuple[str, str]] = set()
    out: dict[tuple[str, str], list[_Reading]] = {}
    for station, raw in frames:
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        if not (isinstance(msg, list) and len(msg) == 4 and msg[0] == 2 and isinstance(msg[3], dict)):
            continue
        _, _uid, action, payload = msg
        # (billing is per transaction: a clock-aligned MeterValues outside one bills nothing)
        if action != "TransactionEvent" or (station, raw) in seen:
            continue
        seen.add((station, raw))
        tx = str((payload.get("transactionInfo") or {}).get("transactionId") or "?")
        for mv in payload.get("meterValue") or []:
            for sv in mv.get("sampledValue") or []:
                if (sv.get("measurand") or ENERGY) == ENERGY:
                    out.setdefault((station, tx), []).append(_Reading(_wh(sv), sv.get("signedMeterValue")))
    return out


def _verify_one(r: _Reading, key: str) -> str | None:
    """Why this signed reading does not verify, or None when it does."""
    from pyocmf import OCMF, PyOCMFError

    smv = r.signed or {}
    if str(smv.get("encodingMethod", "")).upper() != "OCMF":
        return f"encoded as {smv.get('encodingMethod')!r}, not OCMF: this bench verifies OCMF only"
    try:
        record = base64.b64decode(str(smv.get("signedMeterData", "")), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        return f"signedMeterData is not base64 text ({e})"
    carried = str(smv.get("publicKey") or "")
    if key and carried and _key_bytes(carried) != _key_bytes(key):
        return "the record carries a public key other than the bench file's meter_public_key"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a deviation the Transparenzsoftware accepts is not our verdict
            ocmf = OCMF.from_string(record)
            ok = ocmf.verify_signature(key or carried or None)
    except PyOCMFError as e:
        return f"cannot be checked: {e}"
    if not ok:
        return f"the signature does not match the signed data (page {ocmf.payload.PG or '?'})"
    return _signed_value_problem(ocmf.payload.RD, r.value_wh)


def _signed_value_problem(rd: list[Any], reported_wh: float | None) -> str | None:
    """Why the record's readings do not vouch for the reported value, or None when they do: every reading
    the meter marks good (status G), and its active-import reading equal to the reported one."""
    for reading in rd:
        status = str(getattr(reading.ST, "value", reading.ST) or "")
        if status != "G":
            return f"the meter marks its signed reading {status or 'without a status'!r}, not G (good)"
    valued = [x for x in rd if x.RV is not None]
    named = [x for x in valued if x.RI is not None]
    if named:  # (readings that name their register: the active-import one is the register reported)
        valued = [x for x in named if _OBIS_IMPORT.fullmatch(str(x.RI).strip())]
        if not valued:
            return ("none of its signed readings is the active energy import register (OBIS 1.8.0): "
                    + ", ".join(sorted({str(x.RI) for x in named})))
    if not valued:
        return "the signed record holds no reading value to compare with the reported one"
    if reported_wh is None:
        return "the reported register value beside it cannot be read as energy, so it cannot be compared"
    last = valued[-1]
    unit = str(getattr(last.RU, "value", last.RU) or "")
    if unit not in _TO_WH:
        return f"the signed reading is in {unit!r}, not an energy unit (Wh, kWh, MWh)"
    wh = float(last.RV) * _TO_WH[unit]
    if abs(wh - reported_wh) > VALUE_TOLERANCE_WH:
        return f"the signed reading {wh:.1f} Wh is not the reported {reported_wh:.1f} Wh"
    return None


def _key_bytes(key: str) -> bytes:
    try:
        return bytes.fromhex(key)
    except ValueError:
        try:
            return base64.b64decode(key)
        except binascii.Error:
            return key.encode()


def check(frames: Iterable[tuple[str, str]], stations: dict[str, StationSigning]) -> tuple[TransactionCheck, ...]:
    """Each transaction's billing evidence, for the stations that sign and any that sent signed values."""
    out: list[TransactionCheck] = []
    for (station, tx), readings in sorted(_readings(frames).items()):
        cfg = stations.get(station, StationSigning(False))
        signed = [r for r in readings if r.signed]
        if not signed and not cfg.signs:
            continue
        n, s = len(readings), len(signed)
        if not signed:
            out.append(TransactionCheck(station, tx, "absent", f"none of its {n} energy register readings came "
                                        "signed; the bench file says this charger signs them", 0, n, True))
            continue
        problem = next(((i, why) for i, r in enumerate(signed, 1) if (why := _verify_one(r, cfg.public_key))),
                       None)
        if problem is not None:
            reason = f"signed reading {problem[0]} of {s}: {problem[1]}"
        elif s < n:
            reason = f"{n - s} of its {n} energy register readings came unsigned"
        else:
            whose = ("the bench file's meter key" if cfg.public_key else
                     "the key the records carry (no meter_public_key in the bench file: proves the records "
                     "unaltered, not whose meter signed them)")
            out.append(TransactionCheck(station, tx, "verified", f"{s} signed reading(s), each verified with {whose} "
                                        "and equal to the reported value", s, n, False))
            continue
        out.append(TransactionCheck(station, tx, "not verified", reason, s, n, True))
    return tuple(out)


def run_frames(folder: Path) -> Iterator[tuple[str, str]]:
    """(station, raw frame) of every charger-to-CSMS frame the run's evidence folders recorded."""
    for path in sorted((folder / "evidence").rglob("ocpp.jsonl")):
        yield from trace_frames(path)


def trace_frames(path: Path) -> Iterator[tuple[str, str]]:
    """(station, raw frame) of every charger-to-CSMS frame of one scenario's trace (ocpp.jsonl)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("direction") == "rx" and isinstance(rec.get("frame"), str):
            yield str(rec.get("station", "?")), rec["frame"]


def stations_of(bench: dict[str, Any]) -> dict[str, StationSigning]:
    """What a bench file (as TOML data) says of each station's signing."""
    return {str(s.get("id")): StationSigning(bool(s.get("signed_meter_values", False)),
                                             str(s.get("meter_public_key") or ""))
            for s in bench.get("stations") or [] if isinstance(s, dict)}
