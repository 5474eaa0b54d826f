"""A charger's meter readings are recorded at the time the charger took them, not at their frame's arrival.

A fake frame stream goes through the CSMS harness into the recorder as a charger's would (runner/csms/harness.py
`_on_frame`), and the accuracy judge reads the result. The charger's register is right and its timestamps are
right; the frames bracketing the window's end are held up on the way (a loaded harness loop at twin speed: CI
saw -3.48 % at 120x). Placed at arrival, the register was read short and the charger failed; placed at the
charger's time (its measured clock offset corrected) it passes, whatever its clock's offset. A charger whose
register is really short still fails, naming the line, the signal, the bound, the observed error and the window.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from dsl.plan import ExpectAccuracy, Quantity, ScenarioPlan, Signal, Source
from instruments.clock import Clock, iso_utc
from runner.context import ScenarioRun, Window
from runner.csms.harness import CsmsHarness
from runner.csms.meter_values import placed_samples
from runner.csms.reading_time import AT_ARRIVAL, ChargerClock, Placement, in_order, place
from runner.errors import BenchError, ExpectationFailed
from runner.judge import expect_accuracy
from runner.recorder import Frame, Recorder, parse_frame
from runner.signals import as_claimed

SRC = Source("specs/metering/energy-register-accuracy.spec", 16, 5,
             '    expect charger energy over "steady" within 2 % of analyzer energy over "steady"')
REGISTER = "charger.Energy.Active.Import.Register"
WH_PER_S = 3.0                       # 10.8 kW, steady
STALL = (574.0, 600.0)               # the harness's loop takes no frame in, then all of them at once


class Bench:
    """A recorder, a harness fed frames as a charger's connection would feed them, and a run to judge on."""

    def __init__(self) -> None:
        self.clock = Clock(speed=50.0)
        self.rec = Recorder(self.clock)
        self.rec.begin(None)
        self.harness = CsmsHarness(self.rec, self.clock)
        st = self.harness._station("CS1")
        self.rec.on_frame(lambda fr: self.harness._on_frame(st, fr))
        self.t0 = self.clock.now()
        self.seq = 0

    def charger_sends(self, payload: dict[str, Any], action: str, arrival: float) -> Frame:
        self.seq += 1
        return self.rec.frame(station="CS1", direction="rx", raw=json.dumps([2, str(self.seq), action, payload]),
                              t=self.t0 + arrival)

    def stamp(self, at: float, skew_s: float) -> str:
        """The charger's timestamp of bench second `at` (from t0), its clock `skew_s` ahead of the bench's."""
        return iso_utc(self.clock.wall(self.t0 + at) + timedelta(seconds=skew_s))

    def run(self) -> ScenarioRun:
        station = SimpleNamespace(id="CS1", analyzers={}, broken=[], state=None)
        session = SimpleNamespace(clock=self.clock, recorder=self.rec, harness=None)
        run = ScenarioRun(ScenarioPlan("spec", "scenario", {}, (), (), (), SRC), session, station)  # type: ignore[arg-type]
        session.harness = self.harness   # (after: a run opened on a harness reads the bench's values from it)
        run.windows["steady"] = Window("steady", self.t0 + 5, self.t0 + 595)
        return run


def arrival(taken: float) -> float:
    """When a frame sent at `taken` reaches the harness: 50 ms on the link, or at the stall's end."""
    sent = taken + 0.05
    return STALL[1] + (taken - STALL[0]) / 1000 if STALL[0] <= sent < STALL[1] else sent


def charging(gain: float = 1.0, skew_s: float = 0.0, *, meter_stamps: bool = True) -> Bench:
    """A session: the analyzer's energy every 5 s, the charger's register (times `gain`) every 10 s in its
    TransactionEvents, stamped by the charger's clock (`skew_s` ahead of the bench's)."""
    b = Bench()
    b.charger_sends({"eventType": "Started", "timestamp": b.stamp(-5, skew_s), "seqNo": 0, "triggerReason":
                     "CablePluggedIn", "transactionInfo": {"transactionId": "T1"}, "evse": {"id": 1}},
                    "TransactionEvent", arrival(-5))
    for i in range(0, 61):
        taken = i * 10.0
        mv: dict[str, Any] = {"sampledValue": [{"value": round(1000 + taken * WH_PER_S * gain, 3),
                                                "measurand": "Energy.Active.Import.Register",
                                                "unitOfMeasure": {"unit": "Wh"}, "context": "Sample.Periodic"}]}
        if meter_stamps:
            mv["timestamp"] = b.stamp(taken, skew_s)
        b.charger_sends({"eventType": "Updated", "timestamp": b.stamp(taken, skew_s), "seqNo": i + 1,
                         "triggerReason": "MeterValuePeriodic", "transactionInfo": {"transactionId": "T1"},
                         "meterValue": [mv]}, "TransactionEvent", arrival(taken))
    for k in range(0, 121):
        b.rec.sample("analyzer.energy", k * 5.0 * WH_PER_S, b.t0 + k * 5.0)
    return b


def accuracy() -> ExpectAccuracy:
    return ExpectAccuracy(Signal("charger", REGISTER, "energy", "charger energy"),
                          Signal("analyzer", "analyzer.energy", "energy", "analyzer energy"),
                          Quantity(0.02, "ratio", "2 %"), "steady", None, SRC, SRC.text)


@pytest.mark.parametrize("skew_s", [0.0, 30.0, -30.0])
def test_a_register_delivered_late_is_judged_at_the_time_the_charger_took_it(skew_s: float) -> None:
    """The frames taken from 580 s to 600 s arrive at 600 s (the one at 590 s, which the window's end at 595 s
    is read from, 10 s late): at arrival the charger read -2.8 % and failed; at its own time it is right. A
    charger clock 30 s off either way is measured on its live messages and corrected."""
    b = charging(skew_s=skew_s)
    expect_accuracy(b.run(), accuracy())
    ts, _ = b.rec.series(REGISTER)
    assert [t - b.t0 for t in ts[57:]] == pytest.approx([570.05, 580.05, 590.05, 600.05], abs=0.002)
    assert b.rec.events(AT_ARRIVAL) == []


def test_a_register_that_is_really_short_still_fails() -> None:
    b = charging(gain=0.95, skew_s=30.0)
    with pytest.raises(ExpectationFailed) as e:
        expect_accuracy(b.run(), accuracy())
    assert str(e.value).startswith(f"{SRC.file}:16:5: `{SRC.text.strip()}`")
    assert e.value.detail == ('charger energy over "steady" = 1.681 kWh, analyzer energy over "steady" = 1.770 kWh: '
                              "error -5.00 % (allowed ±2 %), window t=5.0 s … t=595.0 s")


def test_readings_without_a_timestamp_are_placed_at_arrival_and_the_verdict_says_so() -> None:
    """A charger whose meterValues carry no timestamp (a schema finding of its own) can only be placed at
    arrival: the stalled edge reads short, as before, and the verdict names the reading and why."""
    b = charging(meter_stamps=False)
    with pytest.raises(ExpectationFailed) as e:
        expect_accuracy(b.run(), accuracy())
    assert e.value.detail.endswith(
        "error -2.82 % (allowed ±2 %), window t=5.0 s … t=595.0 s; charger energy: its readings either side of the "
        "window's start (t=0.1 s, t=10.1 s) and end (t=570.1 s, t=600.0 s) are placed at their frames' arrival (its "
        "meterValue has no timestamp), so the window is read late there by their transit")
    # a spec naming the station (`charger "left" energy`) reads the same series through the recorder's alias
    b.rec.alias_stations({"left": ""})
    named = accuracy()
    named = ExpectAccuracy(Signal("charger", f"@left.{REGISTER}", "energy", 'charger "left" energy'), named.reference,
                           named.tolerance, named.window, named.measured_window, named.source, named.text)
    with pytest.raises(ExpectationFailed, match="are placed at their frames' arrival"):
        expect_accuracy(b.run(), named)


def test_a_window_until_the_session_ends_reads_the_register_at_the_transactions_end_reading() -> None:
    """A window closed by the session's end ends, for the reference, when the Ended event arrived (nothing flows
    after it); the charger's register is read at the Transaction.End reading that event carried. Recorded when
    the charger took it, that reading is before the event's arrival, and nothing of the register follows it to
    interpolate against: the check was broken ("not enough samples") until the end was read there."""
    b = Bench()
    tx = {"transactionInfo": {"transactionId": "T1"}}

    def reading(taken: float, context: str) -> list[dict[str, Any]]:
        return [{"timestamp": b.stamp(taken, 0), "sampledValue": [
            {"value": 1000 + min(taken, 300.0) * WH_PER_S, "context": context,
             "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}]}]

    b.charger_sends({"eventType": "Started", "timestamp": b.stamp(0, 0), "seqNo": 0, "triggerReason":
                     "CablePluggedIn", "evse": {"id": 1}, "meterValue": reading(0, "Transaction.Begin"), **tx},
                    "TransactionEvent", 0.05)

    for i in range(1, 30):
        b.charger_sends({"eventType": "Updated", "timestamp": b.stamp(i * 10, 0), "seqNo": i, "triggerReason":
                         "MeterValuePeriodic", "meterValue": reading(i * 10, "Sample.Periodic"), **tx},
                        "TransactionEvent", i * 10 + 0.05)
    b.charger_sends({"eventType": "Ended", "timestamp": b.stamp(300, 0), "seqNo": 30, "triggerReason": "StopAuthorized",
                     "meterValue": reading(300, "Transaction.End"), **tx}, "TransactionEvent", 312.0)  # held up
    for k in range(0, 71):
        b.rec.sample("analyzer.energy", min(k * 5.0, 300.0) * WH_PER_S, b.t0 + k * 5.0)
    run = b.run()
    run.windows["session"] = Window("session", b.t0 + 5, until="session ends")
    e = accuracy()
    e = ExpectAccuracy(e.measured, e.reference, e.tolerance, "session", None, e.source, e.text)
    expect_accuracy(run, e)
    [passed] = [ev for ev in b.rec.events("note") if "error" in ev["text"]]
    # (the 0.15 Wh: each reading is placed the 50 ms of the fastest message's transit after it was taken)
    assert passed["text"] == ('line 16: charger energy over "session" = 885.150 Wh, analyzer energy over "session" '
                              "= 885 Wh: error +0.02 % (allowed ±2 %), window t=5.0 s … t=312.0 s; charger energy to "
                              "the reading its transaction's Ended event carried (at t=300.1 s)")


# ---- placement, one reading at a time -------------------------------------------------------------------

NOW = "2025-01-01T12:00:00.000Z"


def rx(payload: dict[str, Any], action: str, t: float, wall: str = NOW) -> Frame:
    raw = json.dumps([2, "1", action, payload])
    mtype, uid, act, body, code = parse_frame(raw)
    return Frame(t, wall, "CS1", "rx", raw, mtype, uid, act, body, code)


def meter_values(stamp: Any, t: float) -> Frame:
    sv = {"value": 5.0, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}}
    mv: dict[str, Any] = {"sampledValue": [sv]} if stamp is None else {"timestamp": stamp, "sampledValue": [sv]}
    return rx({"evseId": 1, "meterValue": [mv]}, "MeterValues", t)


def status(stamp: str, t: float, **extra: Any) -> Frame:
    return rx({"timestamp": stamp, "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1, **extra},
              "StatusNotification", t)


def test_the_charger_clock_is_the_least_lag_of_its_live_messages_since_boot() -> None:
    clock = ChargerClock()
    assert clock.lag is None
    clock.observe(status("2025-01-01T11:59:58.000Z", 10.0))                 # 2 s: clock behind, or transit
    clock.observe(status("2025-01-01T11:59:59.500Z", 10.0))                 # 0.5 s: the least so far
    clock.observe(rx({"eventType": "Updated", "timestamp": "2025-01-01T12:00:05.000Z", "offline": True,
                      "seqNo": 1, "triggerReason": "Trigger", "transactionInfo": {"transactionId": "T"}},
                     "TransactionEvent", 10.0))                              # queued offline: not live, not counted
    clock.observe(meter_values("2025-01-01T12:00:09.000Z", 10.0))          # a reading is placed, never measured
    assert clock.lag == pytest.approx(0.5)
    clock.observe(rx({"chargingStation": {"model": "m", "vendorName": "v"}, "reason": "PowerUp"},
                     "BootNotification", 10.0))
    assert clock.lag is None                                                # a booted charger may set its clock
    window = ChargerClock(window=2)
    for stamp in ("11:59:59.900", "11:59:58.000", "11:59:57.000"):        # the 0.1 s one leaves the window
        window.observe(status(f"2025-01-01T{stamp}Z", 10.0))
    assert window.lag == pytest.approx(2.0)


def test_a_reading_is_placed_at_its_timestamp_corrected_never_after_its_arrival() -> None:
    f = meter_values("2025-01-01T11:59:40.000Z", 100.0)                     # taken 20 s before NOW by its clock
    assert place(f, "2025-01-01T11:59:40.000Z", 0.25) == Placement(pytest.approx(80.25), None)
    assert place(f, "2025-01-01T11:59:40.000Z", -30.0) == Placement(pytest.approx(50.0), None)  # clock ahead
    assert place(f, "2025-01-01T12:00:02.000Z", 0.25) == Placement(100.0, None)  # not in the future of arrival
    assert place(f, None, 0.25) == Placement(100.0, "its meterValue has no timestamp")
    assert place(f, "yesterday", 0.25) == Placement(100.0, "its meterValue timestamp 'yesterday' does not parse")
    assert place(f, "2025-01-01T11:59:40.000Z", None).at_arrival == (
        "no live timestamped message since the charger booted measured its clock")
    early = Placement(80.25, None)
    assert in_order(early, 100.0, 80.0) is early and in_order(early, 100.0, None) is early
    assert in_order(early, 100.0, 90.0) == Placement(100.0, "stamped before the signal's last reading: out of order",
                                                     claimed=80.25)  # (where its stamp put it: for the judges)


def test_a_frames_readings_come_in_time_order_and_statuses_at_arrival() -> None:
    sv = {"value": 1.0, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}}
    f = rx({"evseId": 1, "meterValue": [{"timestamp": "2025-01-01T11:59:50.000Z", "sampledValue": [sv]},
                                         {"timestamp": "2025-01-01T11:59:30.000Z", "sampledValue": [sv]}]},
           "MeterValues", 60.0)
    assert [p.t for _, _, p in placed_samples(f, lag=0.0)] == [pytest.approx(30.0), pytest.approx(50.0)]
    [(key, value, p)] = placed_samples(status("2025-01-01T11:59:00.000Z", 60.0), lag=0.0)
    assert (key, value, p) == ("charger.status.evse1", "Occupied", Placement(60.0, None))


def test_the_harness_keeps_a_signal_in_time_order_and_records_why_a_reading_is_at_arrival() -> None:
    """A reading stamped before the signal's last sample (out of order) goes to its arrival, as every reading
    did before: a judge may have read the series already, and its interpolation needs it sorted."""
    b = Bench()
    b.charger_sends({"timestamp": b.stamp(0, 0), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
                    "StatusNotification", 0.1)                               # the clock: 0.1 s lag
    for taken, at in ((20.0, 20.5), (10.0, 21.0), (30.0, 30.2)):
        b.charger_sends({"evseId": 1, "meterValue": [{"timestamp": b.stamp(taken, 0), "sampledValue": [
            {"value": taken, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}]}]},
            "MeterValues", at)
    ts, vs = b.rec.series(REGISTER)
    assert [(round(t - b.t0, 3), v) for t, v in zip(ts, vs, strict=True)] == [(20.1, 20.0), (21.0, 10.0),
                                                                               (30.1, 30.0)]
    [event] = b.rec.events(AT_ARRIVAL)
    assert (round(event["t"] - b.t0, 3), event["keys"], event["action"]) == (21.0, [REGISTER], "MeterValues")
    assert event["why"] == "stamped before the signal's last reading: out of order"


def test_a_verdict_that_flips_where_the_charger_stamped_its_late_readings_is_undecided() -> None:
    """The readings the window's end is read from came in late and out of order, so they sit at their arrival
    (-2.82 %: failed, before); where the charger's timestamps put them the register is right. Which is true the
    bench cannot tell: broken, giving both errors. A register short either way still fails."""
    b = charging(meter_stamps=False)
    late = [t for t in b.rec.series(REGISTER)[0] if 574 <= t - b.t0 <= 600.04]  # the ones the stall held
    for t, taken in zip(late, (580.05, 590.05), strict=True):
        b.rec.event(AT_ARRIVAL, t=t, station="CS1", action="TransactionEvent", keys=[REGISTER],
                    why="stamped before the signal's last reading: out of order", claimed={REGISTER: b.t0 + taken})
    with pytest.raises(BenchError) as e:
        expect_accuracy(b.run(), accuracy())
    assert e.value.detail.startswith('charger energy over "steady" = 1.720 kWh, analyzer energy over "steady" = '
                                     "1.770 kWh: error -2.82 % (allowed ±2 %)")
    assert e.value.detail.endswith("; undecided: placed where the charger's timestamps put them, those readings "
                                   "give an error of +0.00 %, on the other side of the bound: the verdict rests on "
                                   "when the charger took them, which the bench cannot tell")
    short = charging(gain=0.95, meter_stamps=False)
    for t, taken in zip([t for t in short.rec.series(REGISTER)[0] if 574 <= t - short.t0 <= 600.04],
                        (580.05, 590.05), strict=True):
        short.rec.event(AT_ARRIVAL, t=t, station="CS1", action="TransactionEvent", keys=[REGISTER],
                        why="stamped before the signal's last reading: out of order",
                        claimed={REGISTER: short.t0 + taken})
    with pytest.raises(ExpectationFailed, match=r"error -7\.\d\d % \(allowed ±2 %\)"):
        expect_accuracy(short.run(), accuracy())


def test_as_claimed_moves_readings_back_as_far_as_the_order_allows() -> None:
    ts, vs = [0.0, 10.0, 30.0, 31.0, 40.0], [0.0, 10.0, 20.0, 30.0, 40.0]
    assert as_claimed(ts, vs, {30.0: 20.0, 31.0: 15.0}) == ([0.0, 10.0, 20.0, math.nextafter(20.0, math.inf), 40.0],
                                                            vs)
    assert as_claimed(ts, vs, {}) == (ts, vs)
