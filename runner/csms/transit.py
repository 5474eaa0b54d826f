"""Messages in flight at a window's end: when a message that arrived just after it was sent.

A charger's message reaches the harness a moment after the charger sent it (the link, the charger's send
loop, the harness's own loop under load), and the harness stamps its arrival. A message judged by its
arrival alone is judged late: one sent just before a deadline that arrives just after it would fail
`expect within T: charger sends X`, and one sent just before the end of `expect no X for T` would be
missed (a pass that did not measure the end of its window). At twin speeds that moment is bench seconds:
0.1 s of real time is 6 bench seconds at 60x.

So a message judge keeps listening past a window's end for the transit allowance (:func:`allowance`:
TRANSIT_REAL_S of real time at the clock's speed; 0.1 s at 1x, every physical bench), and a matching
message that arrives in (end, end + allowance] is placed (:func:`send_time`):

- where it carries a live timestamp (top-level `timestamp`, or `generatedAt`; else a MeterValues' latest
  `meterValue[].timestamp`, its reading taken before it was sent), at the time that timestamp
  stands for on the bench's clock, corrected by the charger's measured clock lag as
  :mod:`runner.csms.reading_time` places readings: min(arrival, stamp + lag), the lag being the least
  (arrival − timestamp) over the charger's other live timestamped messages of the scenario since its last
  boot. That is never before the time the charger claims, and late by at most the transit of the fastest
  of those messages (the lag cannot tell clock offset from transit);
- else it cannot be placed (no timestamp, one that does not parse, a replayed event's `offline: true`
  timestamp, which is the event's, queued while offline, or a charger clock not yet measured): the judge
  does not pretend to know. `within` and `at least` give the charger the benefit and say so; `expect no`,
  `at most` and the upper side of `exactly` do not pass on it (docs/language.md, "Matching messages").

A live message's timestamp is the time of the event or reading it reports, which the charger sends at once:
a message placed inside the window is taken as sent in it (a TransactionEvent of an event inside the window
is the charger acting inside it, however long its frame took on the way).

The frame itself never measures the lag it is placed by: its own (arrival − timestamp) would place it at
its arrival, after the end, however early it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from runner.csms.expect import bench_time_of, parse_timestamp
from runner.csms.framing import charger_call
from runner.csms.reading_time import ChargerClock
from runner.recorder import Frame

# A charger timestamp is taken before its message leaves; the message reaches the harness, which stamps its
# arrival, up to TRANSIT_REAL_S of real time later: network and the harness's own scheduling under load.
# A healthy twin at 60x on a loaded 2-core machine showed timestamps 2.345 bench s (39 ms real) behind their
# arrival; 0.1 s is about 2.5 times that (6 s at 60x, 3 s at 30x, 0.1 s at 1x). The same allowance is how long
# a message judge listens past a window's end for a message sent inside it (see the module docstring).
TRANSIT_REAL_S = 0.1

_STAMPS = ("timestamp", "generatedAt")


def allowance(speed: float) -> float:
    """Bench seconds a message may take from the charger to the harness: TRANSIT_REAL_S at the clock's speed."""
    return TRANSIT_REAL_S * speed


@dataclass(frozen=True)
class Late:
    """A matching message that arrived after a window's end, inside the transit allowance."""

    frame: Frame
    sent: float | None  # bench time its timestamp places it at; None: it cannot be placed
    why: str            # how it was placed, or why it could not be ("its timestamp … places it at …")


def send_time(frames: Sequence[Frame], frame: Frame, t0: float = 0.0) -> Late:
    """Place `frame` (see the module docstring); `frames`: its station's recorded frames, which measure the
    charger's clock. `t0`: the scenario's start, for the scenario times in `why`."""
    payload = frame.payload if isinstance(frame.payload, dict) else {}
    name = next((n for n in _STAMPS if isinstance(payload.get(n), str)), None)
    stamp = payload.get(name) if name is not None else _latest_reading(payload)
    if stamp is None:
        return Late(frame, None, "it carries no timestamp")
    name = name or "latest meterValue timestamp"
    if payload.get("offline") is True:
        return Late(frame, None, f"it is a replayed event (offline: true): its {name} {stamp} is the event's, "
                                 "queued while offline, not when it was sent")
    stamped = bench_time_of(frame, stamp)
    if stamped is None:
        return Late(frame, None, f"its {name} {stamp!r} does not parse")
    clock = ChargerClock()
    for f in frames:
        if f.t <= frame.t and f is not frame and f.raw != frame.raw:
            clock.observe(f)
    lag = clock.lag
    if lag is None:
        return Late(frame, None, f"it carries a {name} ({stamp}), but no other live timestamped message of the "
                                 "charger's since its boot measured its clock")
    sent = min(frame.t, stamped + lag)
    return Late(frame, sent, f"its {name} {stamp}, on the bench's clock with the charger's measured lag of "
                             f"{lag:+.3f} s, places it at t={sent - t0:.3f} s")


def _latest_reading(payload: dict[str, Any]) -> str | None:
    """A MeterValues' (or any message's) latest meterValue[].timestamp: its message was sent after the reading
    was taken, as a TransactionEvent is sent after its event. None when none parses."""
    values = payload.get("meterValue")
    stamps = [(moment, v["timestamp"]) for v in values if isinstance(v, dict)
              and (moment := parse_timestamp(v.get("timestamp"))) is not None] if isinstance(values, list) else []
    return max(stamps)[1] if stamps else None


def late_arrivals(frames: Sequence[Frame], hits: Sequence[Frame], end: float, until: float,
                  t0: float = 0.0) -> list[Late]:
    """The `hits` that arrived in (end, until], each placed (:func:`send_time`)."""
    return [send_time(frames, f, t0) for f in hits if end < f.t <= until and charger_call(f)]
