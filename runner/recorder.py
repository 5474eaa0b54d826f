"""The recorder: every OCPP frame, instrument sample, step and finding, timestamped on the bench clock.

It is the only state shared between threads (the bench loop, the sampler, the test thread): append-only
and guarded by one lock. Data is written to the evidence directory as it arrives (JSON lines and CSV,
flushed per record, all through `_write`), so a killed run keeps everything up to the kill. Expectations
judge what is recorded here, never what Python happened to see when it looked.

Memory is bounded by what judging needs. A scenario (`begin(dir)` .. `end()`) keeps its whole record:
an expectation may look at anything since the scenario began. The finished scenario stays readable
(evidence is drawn from it after `end()`) until the next `begin()` drops it. Outside a scenario (between
scenarios, and `chargespec csms`, which streams with `begin(dir, scenario=False)`) only a window is kept:
the last `WINDOW_FRAMES` frames (at most `WINDOW_BYTES` of frame text), `WINDOW_SAMPLES` samples per
signal, `WINDOW_RECORDS` events and findings. Frames are kept as compact rows of text, not as parsed
payloads, so a long record costs little memory and nothing for the garbage collector to walk; a frame
is parsed again (once) when an expectation first reads it.

    rec = Recorder(clock)
    rec.begin(Path("out/evidence/limit-6A"))
    rec.sample("analyzer.current.L1", 6.2)
    rec.frame(station="CS1", direction="rx", raw='[2,"1","Heartbeat",{}]')
    rec.end()
"""

from __future__ import annotations

import csv
import io
import json
import sys
import threading
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any, Literal

from instruments.clock import Clock, iso_utc
from runner import redact as _redact

Direction = Literal["rx", "tx"]  # seen from the harness: rx = charger -> CSMS, tx = CSMS -> charger

CALL, CALLRESULT, CALLERROR = 2, 3, 4

# The window kept outside a scenario (see the module docstring). A frame may be up to the harness's
# max_frame_bytes, so the window is bounded in bytes as well as in count.
WINDOW_FRAMES = 1000
WINDOW_BYTES = 8 * 2**20
WINDOW_SAMPLES = 1000
WINDOW_RECORDS = 1000
MAX_FINDING_RAW = 2000          # characters of a finding's frame kept in memory; the files keep it whole
MAX_PENDING_CALLS = 1024        # calls awaiting their answer, to name the action of a late one


def finding_station(station: str, side: str) -> str:
    """The station a finding is filed under: the charger's identity for the charger's, else marked by side
    ("CS1 (backend)" in proxy mode, "CS1 (chargespec)" for a fault of chargespec's own): strict mode holds
    only the charger's against it."""
    return station if side == "charger" else f"{station} ({side})"


@dataclass(frozen=True, slots=True)
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
        """Normal mode's name of the sender (ocpp.jsonl uses `Recorder.senders`, which proxy mode changes)."""
        return "charger" if self.direction == "rx" else "csms"


@dataclass(frozen=True)
class Finding:
    t: float
    severity: Literal["error", "warning", "info"]
    message: str
    station: str | None = None
    raw: str | None = None


# (bench time, station, direction, frame text, action): all atomic, so the garbage collector stops
# tracking each row after its first collection, however long the record grows.
_Row = tuple[float, str, str, str, "str | None"]


def parse_frame(raw: str) -> tuple[int | None, str | None, str | None, Any, str | None]:
    """(message type, unique id, action, payload, error code) of an OCPP-J frame; Nones where unreadable."""
    try:
        msg = json.loads(raw)
    except (ValueError, TypeError, RecursionError):  # RecursionError: arrays nested thousands deep
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


class _Series:
    """One signal's samples: float arrays while every value is a float (8 bytes each), a list once a
    value is not (None, a status text). With a `cap`, only the last `cap` to 2 x `cap` samples are kept."""

    __slots__ = ("cap", "t", "v")

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self.t = array("d")
        self.v: array[float] | list[Any] = array("d")

    def append(self, t: float, value: Any) -> None:
        self.t.append(t)
        if isinstance(self.v, array) and type(value) is not float:
            self.v = list(self.v)
        self.v.append(value)
        if self.cap is not None and len(self.t) > 2 * self.cap:
            del self.t[:-self.cap]
            del self.v[:-self.cap]


class _Store:
    """What was recorded over one stretch: a whole scenario (`bounded=False`) or a window of idle time."""

    def __init__(self, *, bounded: bool) -> None:
        self.bounded = bounded
        cap = WINDOW_RECORDS if bounded else None
        self.rows: deque[_Row] = deque()
        self.row_bytes = 0
        self.parsed: dict[int, Frame] = {}   # unbounded stores: rows an expectation has read, by index
        self.series: dict[str, _Series] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=cap)
        self.findings: deque[Finding] = deque(maxlen=cap)

    def add_row(self, row: _Row) -> None:
        self.rows.append(row)
        if self.bounded:
            self.row_bytes += len(row[3])
            while len(self.rows) > 1 and (len(self.rows) > WINDOW_FRAMES or self.row_bytes > WINDOW_BYTES):
                self.row_bytes -= len(self.rows.popleft()[3])

    def add_sample(self, key: str, t: float, value: Any) -> None:
        s = self.series.get(key)
        if s is None:
            if self.bounded and len(self.series) >= WINDOW_RECORDS:
                del self.series[next(iter(self.series))]   # a charger inventing signal names
            s = self.series[key] = _Series(WINDOW_SAMPLES if self.bounded else None)
        s.append(t, value)


class Recorder:
    """Thread-safe, append-only store of everything that happens on a bench, streamed to disk."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Condition()
        # Reads see these in order; appends go to the last. [idle window], [scenario], or, after end(),
        # [finished scenario, idle window].
        self._stores: list[_Store] = [_Store(bounded=True)]
        self._pending_actions: OrderedDict[tuple[str, str, str], str] = OrderedDict()  # (station, caller dir, id)
        self._listeners: list[Callable[[Frame], None]] = []
        self._station_keys: dict[str, str] = {}  # station name -> its samples' key prefix (alias_stations)
        self.directory: Path | None = None
        self._files: dict[str, IO[str]] = {}
        self.t_begin = 0.0
        # Who sent a frame of each direction, as ocpp.jsonl names it. Proxy mode (runner/proxy/) names the
        # tx side "backend": the target CSMS sent those frames, not chargespec.
        self.senders: dict[str, str] = {"rx": "charger", "tx": "csms"}

    # ---- scenario lifecycle -------------------------------------------------------------------

    def begin(self, directory: Path | None, *, scenario: bool = True) -> None:
        """Start recording into `directory` (None: memory only), dropping the previous record.

        `scenario=True` keeps everything until the next begin(), for expectations to judge;
        `scenario=False` (a long-running harness) keeps only the window, the files keep everything."""
        with self._lock:
            self._close_files()
            self._stores = [_Store(bounded=not scenario)]
            self.t_begin = self.clock.now()
            self.directory = directory
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
                for name in ("ocpp.jsonl", "samples.csv", "events.jsonl"):
                    self._files[name] = (directory / name).open("w", buffering=1, encoding="utf-8")
                self._write("samples.csv", ["t_s", "signal", "value"])

    def end(self) -> None:
        """Close the evidence files. The scenario's record stays readable until the next begin(); what
        is recorded from now on is kept as a window only."""
        with self._lock:
            self._close_files()
            if not self._stores[-1].bounded:
                self._stores.append(_Store(bounded=True))

    def _close_files(self) -> None:
        for f in self._files.values():
            with suppress(OSError):
                f.close()
        self._files.clear()

    def _write(self, name: str, record: dict[str, Any] | list[Any]) -> None:
        """The one way anything reaches the evidence files: a JSON line, or a CSV row for samples.csv."""
        f = self._files.get(name)
        if f is None:
            return
        if isinstance(record, list):
            buf = io.StringIO()
            csv.writer(buf).writerow(record)
            line = buf.getvalue()
        else:
            if "frame" in record:
                record = {**record, "frame": redact_raw(record["frame"])}
            line = json.dumps(record, default=str) + "\n"
        f.write(_redact.text(line))  # the boundary: every evidence line leaves masked
        f.flush()

    # ---- appending ----------------------------------------------------------------------------

    def frame(self, *, station: str, direction: Direction, raw: str, t: float | None = None,
              sender: str | None = None, injected: bool = False) -> Frame:
        """Record one websocket text frame exactly as it crossed the wire. ocpp.jsonl names its `sender`
        (default: `senders[direction]`) and marks a frame of a call chargespec injected in proxy mode."""
        t = self.clock.now() if t is None else t
        mtype, uid, action, payload, code = parse_frame(raw)
        with self._lock:
            if mtype == CALL and uid is not None and action is not None:
                action = sys.intern(action)
                self._pending_actions[(station, direction, uid)] = action
                if len(self._pending_actions) > MAX_PENDING_CALLS:
                    self._pending_actions.popitem(last=False)   # never answered: its answer is long overdue
            elif mtype in (CALLRESULT, CALLERROR) and uid is not None:
                caller = "tx" if direction == "rx" else "rx"
                action = self._pending_actions.pop((station, caller, uid), None)
            fr = Frame(t, iso_utc(self.clock.wall(t)), station, direction, raw, mtype, uid, action, payload, code)
            self._stores[-1].add_row((t, station, direction, raw, action))
            line = {"t": round(t - self.t_begin, 6), "wall": fr.wall, "station": station, "direction": direction,
                    "sender": sender or self.senders[direction], "frame": raw}
            self._write("ocpp.jsonl", {**line, "injected": True} if injected else line)
            listeners = list(self._listeners)
            self._lock.notify_all()
        for cb in listeners:
            cb(fr)
        return fr

    def sample(self, key: str, value: Any, t: float | None = None) -> None:
        t = self.clock.now() if t is None else t
        with self._lock:
            self._stores[-1].add_sample(key, t, value)
            self._write("samples.csv", [f"{t - self.t_begin:.6f}", key, "" if value is None else value])
            self._lock.notify_all()

    def samples(self, values: dict[str, Any], t: float | None = None) -> None:
        t = self.clock.now() if t is None else t
        for k, v in values.items():
            self.sample(k, v, t)

    def event(self, kind: str, **data: Any) -> dict[str, Any]:
        t = data.pop("t", None)
        ev = {"t": self.clock.now() if t is None else t, "kind": kind, **data}
        with self._lock:
            self._stores[-1].events.append(ev)
            self._write("events.jsonl", {**ev, "t": ev["t"] - self.t_begin})
            self._lock.notify_all()
        return ev

    def finding(self, severity: Literal["error", "warning", "info"], message: str, *,
                station: str | None = None, raw: str | None = None) -> Finding:
        f = Finding(self.clock.now(), severity, message, station, raw)
        with self._lock:
            kept = f if raw is None or len(raw) <= MAX_FINDING_RAW else replace(
                f, raw=raw[:MAX_FINDING_RAW] + f"… ({len(raw)} characters; whole in the evidence files)")
            self._stores[-1].findings.append(kept)
            self._write("events.jsonl", {"kind": "finding", **asdict(f), "t": f.t - self.t_begin})
            self._lock.notify_all()
        return f

    def on_frame(self, callback: Callable[[Frame], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    # ---- reading ------------------------------------------------------------------------------

    def alias_stations(self, prefixes: dict[str, str]) -> None:
        """Read ``@NAME.<key>`` (a signal of a station a spec named; dsl/stations.py) as ``<prefix><key>``,
        where that station's samples are recorded: "" for the scenario's station, ``@<id>.`` for another.
        Set by the runner for each scenario (replacing the last scenario's)."""
        with self._lock:
            self._station_keys = dict(prefixes)

    def resolve(self, key: str) -> str:
        """The key `key`'s samples are recorded under (a station's alias read as its prefix)."""
        with self._lock:
            return self._key(key)

    def _key(self, key: str) -> str:
        if key.startswith("@"):
            head, _, rest = key.partition(".")
            prefix = self._station_keys.get(head[1:])
            if prefix is not None:
                return prefix + rest
        return key

    def _series(self, key: str) -> list[_Series]:
        key = self._key(key)
        return [s for store in self._stores if (s := store.series.get(key)) is not None]

    def series(self, key: str) -> tuple[list[float], list[Any]]:
        with self._lock:
            ts: list[float] = []
            vs: list[Any] = []
            for s in self._series(key):
                ts.extend(s.t)
                vs.extend(s.v)
            return ts, vs

    def series_keys(self) -> list[str]:
        with self._lock:
            return sorted({k for store in self._stores for k in store.series})

    def last(self, key: str) -> tuple[float, Any] | None:
        with self._lock:
            found = [s for s in self._series(key) if len(s.t)]
            return (found[-1].t[-1], found[-1].v[-1]) if found else None

    def _materialise(self, row: _Row) -> Frame:
        t, station, direction, raw, action = row
        mtype, uid, parsed_action, payload, code = parse_frame(raw)
        return Frame(t, iso_utc(self.clock.wall(t)), station, direction, raw,  # type: ignore[arg-type]
                     mtype, uid, action if action is not None else parsed_action, payload, code)

    def frames(self, *, station: str | None = None, since: float | None = None) -> list[Frame]:
        """Recorded frames (see the module docstring for how far back), oldest first."""
        out: list[Frame] = []
        with self._lock:
            for store in self._stores:
                for i, row in enumerate(store.rows):
                    if (station is not None and row[1] != station) or (since is not None and row[0] < since):
                        continue
                    if store.bounded:
                        out.append(self._materialise(row))
                        continue
                    fr = store.parsed.get(i)
                    if fr is None:
                        fr = store.parsed[i] = self._materialise(row)
                    out.append(fr)
        return out

    def findings(self) -> list[Finding]:
        with self._lock:
            return [f for store in self._stores for f in store.findings]

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [e for store in self._stores for e in store.events if kind is None or e["kind"] == kind]

    def wait(self, predicate: Callable[[], Any], timeout_real_s: float) -> Any:
        """Block until `predicate()` is truthy (re-checked on every new record) or the real timeout passes."""
        with self._lock:
            return self._lock.wait_for(predicate, timeout_real_s)

    def iter_frames(self) -> Iterator[Frame]:
        return iter(self.frames())
