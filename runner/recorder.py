"""The recorder: every OCPP frame, instrument sample, step and finding, timestamped on the bench clock.

It is the only state shared between threads (the bench loop, the sampler, the test thread): append-only
and guarded by one lock. Data is written to the scenario's evidence directory as it arrives (JSON lines
and CSV, flushed per record), so a killed run keeps everything up to the kill. Expectations judge what is
recorded here, never what Python happened to see when it looked.

    rec = Recorder(clock)
    rec.begin(Path("out/evidence/limit-6A"))
    rec.sample("analyzer.current.L1", 6.2)
    rec.frame(station="CS1", direction="rx", raw='[2,"1","Heartbeat",{}]')
    rec.end()
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from instruments.clock import Clock, iso_utc
from runner import redact as _redact

Direction = Literal["rx", "tx"]  # seen from the harness: rx = charger -> CSMS, tx = CSMS -> charger

CALL, CALLRESULT, CALLERROR = 2, 3, 4


@dataclass(frozen=True)
class Frame:
    t: float
    wall: str
    station: str
    direction: Direction
    raw: str
    message_type: int | None = None
    unique_id: str | None = None
    action: str | None = None  # for results and errors: the action of the call they answer
    payload: Any = None
    error_code: str | None = None

    @property
    def sender(self) -> str:
        return "charger" if self.direction == "rx" else "csms"


@dataclass(frozen=True)
class Finding:
    t: float
    severity: Literal["error", "warning", "info"]
    message: str
    station: str | None = None
    raw: str | None = None


@dataclass
class Series:
    t: list[float] = field(default_factory=list)
    v: list[Any] = field(default_factory=list)


def parse_frame(raw: str) -> tuple[int | None, str | None, str | None, Any, str | None]:
    """(message type, unique id, action, payload, error code) of an OCPP-J frame; Nones where unreadable."""
    try:
        msg = json.loads(raw)
    except (ValueError, TypeError):
        return None, None, None, None, None
    if not isinstance(msg, list) or not msg or not isinstance(msg[0], int):
        return None, None, None, None, None
    mtype = msg[0]
    uid = msg[1] if len(msg) > 1 and isinstance(msg[1], str) else None
    if mtype == CALL and len(msg) == 4 and isinstance(msg[2], str):
        return mtype, uid, msg[2], msg[3], None
    if mtype == CALLRESULT and len(msg) == 3:
        return mtype, uid, None, msg[2], None
    if mtype == CALLERROR and len(msg) >= 4:
        details = msg[4] if len(msg) > 4 else None
        return mtype, uid, None, {"description": msg[3], "details": details}, str(msg[2])
    return mtype, uid, None, None, None


def redact(payload: Any) -> Any:
    """The payload with its secrets masked: the one rule of :mod:`runner.redact`."""
    return _redact.payload(payload)


def redact_raw(raw: str) -> str:
    return _redact.raw(raw)


class Recorder:
    """Thread-safe, append-only store of everything that happens on a bench, streamed to disk."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Condition()
        self._series: dict[str, Series] = {}
        self._frames: list[Frame] = []
        self._findings: list[Finding] = []
        self._events: list[dict[str, Any]] = []
        self._pending_actions: dict[tuple[str, str, str], str] = {}  # (station, caller dir, id) -> action
        self._listeners: list[Callable[[Frame], None]] = []
        self.directory: Path | None = None
        self._files: dict[str, IO[str]] = {}
        self._csv: Any = None
        self.t_begin = 0.0

    # ---- scenario lifecycle -------------------------------------------------------------------

    def begin(self, directory: Path | None) -> None:
        """Start a scenario: clear the in-memory record and open its evidence files."""
        with self._lock:
            self._close_files()
            self._series.clear()
            self._frames.clear()
            self._findings.clear()
            self._events.clear()
            self.t_begin = self.clock.now()
            self.directory = directory
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
                for name in ("ocpp.jsonl", "samples.csv", "events.jsonl"):
                    self._files[name] = (directory / name).open("w", buffering=1, encoding="utf-8")
                self._csv = csv.writer(self._files["samples.csv"])
                self._csv.writerow(["t_s", "signal", "value"])

    def end(self) -> None:
        with self._lock:
            self._close_files()

    def _close_files(self) -> None:
        for f in self._files.values():
            with suppress(OSError):
                f.close()
        self._files.clear()
        self._csv = None

    def _write(self, name: str, line: str) -> None:
        f = self._files.get(name)
        if f is not None:
            f.write(_redact.text(line) + "\n")  # the boundary: every evidence line leaves masked
            f.flush()

    # ---- appending ----------------------------------------------------------------------------

    def frame(self, *, station: str, direction: Direction, raw: str, t: float | None = None) -> Frame:
        """Record one websocket text frame exactly as it crossed the wire."""
        t = self.clock.now() if t is None else t
        mtype, uid, action, payload, code = parse_frame(raw)
        with self._lock:
            if mtype == CALL and uid is not None and action is not None:
                self._pending_actions[(station, direction, uid)] = action
            elif mtype in (CALLRESULT, CALLERROR) and uid is not None:
                caller = "tx" if direction == "rx" else "rx"
                action = self._pending_actions.pop((station, caller, uid), None)
            fr = Frame(t, iso_utc(self.clock.wall(t)), station, direction, raw, mtype, uid, action, payload, code)
            self._frames.append(fr)
            self._write("ocpp.jsonl", json.dumps({
                "t": round(t - self.t_begin, 6), "wall": fr.wall, "station": station, "direction": direction,
                "sender": fr.sender, "frame": redact_raw(raw)}))
            listeners = list(self._listeners)
            self._lock.notify_all()
        for cb in listeners:
            cb(fr)
        return fr

    def sample(self, key: str, value: Any, t: float | None = None) -> None:
        t = self.clock.now() if t is None else t
        with self._lock:
            s = self._series.setdefault(key, Series())
            s.t.append(t)
            s.v.append(value)
            if self._csv is not None:
                self._csv.writerow([f"{t - self.t_begin:.6f}", key, "" if value is None else
                                   _redact.text(value) if isinstance(value, str) else value])
                self._files["samples.csv"].flush()
            self._lock.notify_all()

    def samples(self, values: dict[str, Any], t: float | None = None) -> None:
        t = self.clock.now() if t is None else t
        for k, v in values.items():
            self.sample(k, v, t)

    def event(self, kind: str, **data: Any) -> dict[str, Any]:
        t = data.pop("t", None)
        ev = {"t": self.clock.now() if t is None else t, "kind": kind, **data}
        with self._lock:
            self._events.append(ev)
            self._write("events.jsonl", json.dumps({**ev, "t": ev["t"] - self.t_begin}, default=str))
            self._lock.notify_all()
        return ev

    def finding(self, severity: Literal["error", "warning", "info"], message: str, *,
                station: str | None = None, raw: str | None = None) -> Finding:
        f = Finding(self.clock.now(), severity, message, station, raw)
        with self._lock:
            self._findings.append(f)
            self._write("events.jsonl", json.dumps({"kind": "finding", **asdict(f), "t": f.t - self.t_begin}))
            self._lock.notify_all()
        return f

    def on_frame(self, callback: Callable[[Frame], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    # ---- reading ------------------------------------------------------------------------------

    def series(self, key: str) -> tuple[list[float], list[Any]]:
        with self._lock:
            s = self._series.get(key)
            return (list(s.t), list(s.v)) if s else ([], [])

    def series_keys(self) -> list[str]:
        with self._lock:
            return sorted(self._series)

    def last(self, key: str) -> tuple[float, Any] | None:
        with self._lock:
            s = self._series.get(key)
            return (s.t[-1], s.v[-1]) if s and s.t else None

    def frames(self, *, station: str | None = None, since: float | None = None) -> list[Frame]:
        with self._lock:
            return [f for f in self._frames
                    if (station is None or f.station == station) and (since is None or f.t >= since)]

    def findings(self) -> list[Finding]:
        with self._lock:
            return list(self._findings)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._events if kind is None or e["kind"] == kind]

    def wait(self, predicate: Callable[[], Any], timeout_real_s: float) -> Any:
        """Block until `predicate()` is truthy (re-checked on every new record) or the real timeout passes."""
        with self._lock:
            return self._lock.wait_for(predicate, timeout_real_s)

    def iter_frames(self) -> Iterator[Frame]:
        return iter(self.frames())
