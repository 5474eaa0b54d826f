"""When a charger's meter reading was taken, on the bench's clock: the time the recorder places its sample at.

A reading's frame arrives after the charger took it: the link's latency, plus whatever held it on the way
(the charger's send loop, the network, the harness's own loop under load: at 120x twin speed 0.17 s of real
delay is 21 bench seconds). Placed at its arrival, an energy register is attributed late, and an accuracy
window (the register's change against the analyzer's integrated energy) reads the charger short by what
flowed in the delay at one edge and not the other. So a reading is placed where the charger says it was
taken, its meterValue.timestamp on the bench's clock, corrected by how far the charger's clock is off:

    placed = min(arrival, stamp + lag)

- `stamp`: the timestamp as bench time (:func:`runner.csms.expect.bench_time_of`: the recorder's wall time
  is the bench time plus a fixed anchor, so bench t = frame.t + (timestamp − frame.wall)).
- `lag` (:class:`ChargerClock`): the least (arrival − timestamp) over the charger's recent *live* messages
  that carry a top-level ``timestamp`` (TransactionEvent, StatusNotification, ...). No message arrives
  before the charger stamped it, so each such difference is at least the charger's true clock offset, and
  so is the least: **a reading is never placed before the time the charger claims for it**. Placing a
  register early would credit the charger with energy it had not yet counted (a short register passing);
  placing it late, as arrival does, is the bias this corrects. The placement lies between the charger's
  claim and the arrival, and is off from the claim by at most the fastest recent message's transit.
- Not circular: the lag is measured on the messages' own timestamps, never on the readings it places, and
  offline-queued TransactionEvents (``offline: true``: not live, minutes late) neither count nor give samples
  (:func:`runner.csms.meter_values.samples_from_frame`). A delay every recent message shares cannot be told
  from a clock offset: it is taken as one, and the placement falls back toward arrival (late, never early).
- Recent: the least over the last :data:`LAG_WINDOW` such messages, forgotten at each BootNotification (a
  charger sets its clock from the CSMS's currentTime at boot). The window is the one trade-off: a clock the
  charger steps back mid-connection (one that ran ahead, set again from a HeartbeatResponse) places its
  readings early by the step until the messages from before it have left the window; a delay longer than
  the window is taken for clock offset, which places late (safe). So the window is short: 16 messages, a
  few minutes of TransactionEvents.
- Never in the future: a stamp later than its own arrival on the measured clock (a meter's clock ahead of
  the charger's messages') is placed at arrival, which is then the nearer of the two to the truth.

A reading is placed at its arrival instead (the way every reading was before), with a recorder event
(:data:`AT_ARRIVAL`) that the accuracy judge names in its verdict when such a reading is at a window's edge:
- no timestamp or one that does not parse (the schema check reports the frame: a finding);
- no live timestamped message yet since boot, so the charger's clock is unmeasured;
- stamped before the signal's last recorded sample (readings out of order): the recorder's series stay in
  time order, which the judges' interpolation relies on (a window's edge is read between the readings
  either side of it, found by bisection: runner/signals.py), and a sample may never land behind one a
  judge has already read. That is the old arrival-order behaviour, late not early. The event keeps where
  the stamp would have put it (`claimed`), and the accuracy judge's verdict must be the same there as at
  the arrival, or it is broken (undecided: it would rest on the transit).

Connector statuses stay at their arrival: a status is judged as the CSMS learned it, not as a measurement.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from runner.csms.expect import bench_time_of
from runner.csms.framing import charger_call
from runner.recorder import Frame

LAG_WINDOW = 16             # live timestamped messages the least lag is taken over
AT_ARRIVAL = "charger.reading_at_arrival"   # recorder event: readings placed at their arrival, and why


class ChargerClock:
    """How far one charger's clock is behind the bench's, plus the transit of its fastest recent message
    (seconds; negative: its clock is ahead), measured on arrival of its live timestamped messages."""

    def __init__(self, window: int = LAG_WINDOW) -> None:
        self._lags: deque[float] = deque(maxlen=window)

    def observe(self, frame: Frame) -> None:
        """Take one recorded frame into the measure (the charger's CALLs; anything else is ignored)."""
        if not charger_call(frame) or not isinstance(frame.payload, dict):
            return
        if frame.action == "BootNotification":
            self._lags.clear()
            return
        stamp = frame.payload.get("timestamp")
        if frame.payload.get("offline") is True or not isinstance(stamp, str):
            return
        stamped = bench_time_of(frame, stamp)
        if stamped is not None:
            self._lags.append(frame.t - stamped)

    @property
    def lag(self) -> float | None:
        """None until a live timestamped message has come since the charger's last boot."""
        return min(self._lags) if self._lags else None


@dataclass(frozen=True)
class Placement:
    t: float                  # bench time of the sample
    at_arrival: str | None    # why it is the frame's arrival instead of the charger's time; None when it is not
    claimed: float | None = None  # at arrival: where the charger's stamp would have put it, when that is known


def place(frame: Frame, timestamp: str | None, lag: float | None) -> Placement:
    """Where a reading of `frame` stamped `timestamp` goes (see the module docstring); the order check against
    the signal's earlier samples is the caller's (:func:`in_order`)."""
    if timestamp is None:
        return Placement(frame.t, "its meterValue has no timestamp")
    stamped = bench_time_of(frame, timestamp)
    if stamped is None:
        return Placement(frame.t, f"its meterValue timestamp {timestamp!r} does not parse")
    if lag is None:
        return Placement(frame.t, "no live timestamped message since the charger booted measured its clock")
    return Placement(min(frame.t, stamped + lag), None)


def in_order(p: Placement, arrival: float, last_t: float | None) -> Placement:
    """`p`, or the arrival when `p` would land before the signal's last recorded sample (at `last_t`)."""
    if last_t is None or p.t >= last_t:
        return p
    return Placement(arrival, "stamped before the signal's last reading: out of order", claimed=p.t)
