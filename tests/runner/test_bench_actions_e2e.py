"""Bench actions on the twin, end to end: the supply (`charger power cycles`, `charger loses power` left off
and switched back on by the return to idle), `charger reconnects` (after a drop; too soon fails; broken when
nothing was lost), `ev disconnects at the ev side` (the connector stays occupied), `ev parks` (the return to
idle drives the EV out) and `on evse 2`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SPEC = '''spec "Bench actions"
  scenario "a power cycle on EVSE 2's transaction"
    charger booted
    ev plugs in on evse 2
    session starts with token "04A2B3C4" on evse 2
    expect charger sends TransactionEvent {eventType: "Started", evse: {id: 2}}
    ev draws 16 A on evse 2
    expect within 30 s: charger sends TransactionEvent {transactionInfo: {chargingState: "Charging"}}
    charger power cycles
    expect within 120 s: charger sends BootNotification {reason: "PowerUp"}
    expect within 2 min: charger sends TransactionEvent {transactionInfo: {stoppedReason: "PowerLoss"}}

  scenario "the supply is left off"
    charger booted
    charger loses power
    wait 5 s

  scenario "the return to idle switched it back on"
    charger booted

  scenario "reconnects after a drop"
    charger booted
    csms drops the connection and refuses reconnects for 20 s
    charger reconnects within 2 min
    csms sends GetTransactionStatus {}
    expect charger replies {messagesInQueue: false}

  scenario "reconnects sooner than its back-off allows"
    charger booted
    csms sets variable OCPPCommCtrlr.RetryBackOffWaitMinimum to "3"
    csms drops the connection
    charger reconnects not before 30 s within 1 min

  scenario "reconnects with nothing lost"
    charger booted
    charger reconnects within 10 s

  scenario "an EV parks and is left in the bay"
    charger booted
    csms sets variable TxCtrlr.TxStartPoint to "ParkingBayOccupancy"
    ev parks
    expect within 30 s: charger sends TransactionEvent {eventType: "Started", triggerReason: "EVDetected"}

  scenario "the return to idle drove it out: a new arrival starts a transaction"
    charger booted
    csms sets variable TxCtrlr.TxStartPoint to "ParkingBayOccupancy"
    ev parks
    expect within 30 s: charger sends TransactionEvent {eventType: "Started", triggerReason: "EVDetected"}

  scenario "the EV side disconnects"
    charger booted
    ev plugs in on evse 1
    session starts with token "04A2B3C4"
    ev draws 16 A
    ev disconnects at the ev side
    expect within 30 s: charger sends TransactionEvent {eventType: "Ended", triggerReason: "EVCommunicationLost"}
    expect charger status evse 1 is Occupied
    ev unplugs
    expect within 30 s: charger status evse 1 is Available
'''


# One worker runs this module (`make test` distributes by --dist loadgroup): its module fixture is a twin
# run, which every worker that took one of its tests would otherwise make again.
pytestmark = pytest.mark.xdist_group("bench-actions-run")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], str]:
    base = tmp_path_factory.mktemp("bench-actions")
    (base / "actions.spec").write_text(SPEC, encoding="utf-8")
    alluredir = base / "allure"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(base / "actions.spec"), "-p", "no:cacheprovider",
                           "-rA", "--speed", "30", "--bench", str(REPO / "lab/benches/twin.toml"),
                           f"--alluredir={alluredir}", f"--evidence={base / 'evidence'}"],
                          cwd=base, capture_output=True, text=True, timeout=300, check=False)
    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}
    return results, proc.stdout + proc.stderr


@pytest.mark.parametrize("scenario", ["a power cycle on EVSE 2's transaction", "the supply is left off",
                                      "the return to idle switched it back on", "reconnects after a drop",
                                      "an EV parks and is left in the bay",
                                      "the return to idle drove it out: a new arrival starts a transaction",
                                      "the EV side disconnects"])
def test_scenario_passes(run: tuple[dict[str, dict], str], scenario: str) -> None:
    results, out = run
    assert results[scenario]["status"] == "passed", out[-4000:]


def test_reconnecting_too_soon_fails_and_says_when(run: tuple[dict[str, dict], str]) -> None:
    results, out = run
    r = results["reconnects sooner than its back-off allows"]
    assert r["status"] == "failed", out[-3000:]
    assert "after losing its connection" in r["statusDetails"]["message"]
    assert "not before 30 s is required" in r["statusDetails"]["message"]


def test_reconnects_with_nothing_lost_is_broken_and_says_why(run: tuple[dict[str, dict], str]) -> None:
    results, out = run
    r = results["reconnects with nothing lost"]
    assert r["status"] == "broken", out[-3000:]
    assert "connection was not lost in this scenario" in r["statusDetails"]["message"]
