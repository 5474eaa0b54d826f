"""The charger's BootNotification, kept in the run folder as proof of the device under test.

The acceptance summary names the charger by what it said of itself (vendor, model, serial number, firmware)
and attaches the frame that said it. The plugin calls :func:`keep` for every BootNotification request a
charger sends; the newest one per station is kept as ``boot/<station>.json`` in the run folder (beside
evidence/, whose folders are named by spec titles, so that no spec can collide with it):

    {"station": "TWIN-AC22-001", "t": 0.41, "wall": "2026-11-30T13:07:40.102Z", "frame": "[2,\"…\",…]",
     "chargingStation": {"model": "…", "vendorName": "…", "serialNumber": "…", "firmwareVersion": "…"},
     "boots": 1}

``boots`` counts the BootNotifications of the run: a charger that rebooted shows it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from runner import runs

FOLDER = "boot"


def path(folder: Path, station: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", station) or "_"
    return folder / FOLDER / f"{safe}.json"


def keep(folder: Path, frame: Any) -> None:
    """Keep a BootNotification request frame (runner.recorder.Frame) as the station's boot proof."""
    p = path(folder, frame.station)
    boots = 1
    try:
        kept = json.loads(p.read_text(encoding="utf-8"))
        # the same frame offered twice (seen while the bench opened, then by the recorder) is one boot
        boots = int(kept.get("boots", 0)) + (0 if kept.get("t") == frame.t else 1)
    except (OSError, ValueError, AttributeError):
        pass
    payload = frame.payload if isinstance(frame.payload, dict) else {}
    runs.write_json(p, {"station": frame.station, "t": frame.t, "wall": frame.wall, "frame": frame.raw,
                        "chargingStation": dict(payload.get("chargingStation") or {}),
                        "reason": payload.get("reason"), "boots": boots})


def read_all(folder: Path) -> dict[str, dict[str, Any]]:
    """Every kept boot proof of a run folder, by station id."""
    out: dict[str, dict[str, Any]] = {}
    for p in sorted((folder / FOLDER).glob("*.json")):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("station"), str):
            data["file"] = p.relative_to(folder).as_posix()
            out[data["station"]] = data
    return out
