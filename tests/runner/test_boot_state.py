"""`charger booted` knows a boot is in progress from the frames alone: a station Reset answered Accepted or
Scheduled (not an EVSE reset), a firmware InstallRebooting, or a BootNotification answered Pending, until
a BootNotification is answered Accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

from lab.bench import load_bench
from runner.bench_session import BenchSession
from runner.recorder import Direction

BENCH = Path(__file__).resolve().parents[2] / "lab" / "benches" / "twin.toml"
SID = "TWIN-AC22-001"


class Wire:
    """Frames through the session's recorder, as the harness records them."""

    def __init__(self) -> None:
        self.session = BenchSession(load_bench(BENCH))
        self.session.recorder.on_frame(self.session._on_frame)
        self.n = 0

    def call(self, direction: Direction, action: str, payload: dict) -> str:
        self.n += 1
        uid = f"m{self.n}"
        self.session.recorder.frame(station=SID, direction=direction, raw=json.dumps([2, uid, action, payload]))
        return uid

    def result(self, direction: Direction, uid: str, payload: dict) -> None:
        self.session.recorder.frame(station=SID, direction=direction, raw=json.dumps([3, uid, payload]))

    def boot(self, status: str) -> None:
        uid = self.call("rx", "BootNotification", {"reason": "PowerUp", "chargingStation": {"model": "m",
                                                                                          "vendorName": "v"}})
        self.result("tx", uid, {"currentTime": "2025-01-01T00:00:00Z", "interval": 300, "status": status})

    def reset(self, answer: str, **extra: object) -> None:
        self.result("rx", self.call("tx", "Reset", {"type": "Immediate", **extra}), {"status": answer})

    @property
    def settled(self) -> bool:
        return self.session.boot_state(SID).settled


def test_not_booted_until_a_boot_is_accepted() -> None:
    w = Wire()
    assert not w.settled
    w.boot("Pending")
    assert not w.settled
    w.boot("Accepted")
    assert w.settled
    w.boot("Rejected")  # a new boot in progress: the earlier acceptance no longer counts
    assert not w.settled


def test_an_accepted_station_reset_is_a_boot_in_progress() -> None:
    w = Wire()
    w.boot("Accepted")
    w.reset("Rejected")
    assert w.settled
    w.reset("Accepted", evseId=1)  # an EVSE reset does not reboot the station
    assert w.settled
    w.reset("Scheduled")
    state = w.session.boot_state(SID)
    assert not state.settled and state.reboot_why == "Reset answered Scheduled"
    w.boot("Accepted")
    assert w.settled


def test_install_rebooting_is_a_boot_in_progress() -> None:
    w = Wire()
    w.boot("Accepted")
    w.result("tx", w.call("rx", "FirmwareStatusNotification", {"status": "InstallRebooting"}), {})
    assert not w.settled
    w.boot("Accepted")
    assert w.settled


def test_the_bench_cutting_the_supply_is_a_boot_in_progress() -> None:
    """`charger power cycles` then `charger booted`: the harness may still hold the old connection (a real
    charger's dies silently; the twin's closes a moment later), and the boot accepted before the cut passed the
    step before the charger had booted again (the e2e case of tests/runner/test_bench_faults_e2e.py with boots
    answered Pending passed one run in three)."""
    from types import SimpleNamespace

    from runner.bench_session import Station

    w = Wire()
    w.boot("Accepted")
    assert w.settled
    station = Station(w.session.config.stations[0], w.session)
    station.supply = SimpleNamespace(set_on=lambda on: None)  # type: ignore[assignment]
    station.set_power(False)
    assert not w.settled and w.session.boot_state(SID).reboot_why == "the bench cut its supply"
    station.set_power(True)
    assert not w.settled
    w.boot("Accepted")
    assert w.settled
