"""A charger that reports connector status by NotifyEvent (Connector.AvailabilityState) instead of
StatusNotification is conformant (OCPP 2.0.1; Part 6 accepts either in every reusable state): on the twin
with `[twin.options] status_report = "NotifyEvent"`, `charger booted`, `charger status evse N is S` (a
window and a hold) and the library's status specs pass, and the trace holds no StatusNotification at all.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SPEC = '''spec "Status by NotifyEvent"
  setup
    charger booted

  scenario "plug in, held Occupied, unplug"
    ev plugs in on evse 1
    expect within 30 s: charger status evse 1 is Occupied
    expect for 20 s: charger status evse 1 is Occupied
    expect charger status evse 2 is Available
    ev unplugs
    expect within 30 s, then for 10 s: charger status evse 1 is Available
'''
LIBRARY = ("specs/status/connector-status.spec", "specs/site/multi-evse-status.spec", "specs/octt/G/TC_G_01_CS.spec",
           "specs/octt/G/TC_G_03_CS.spec")

pytestmark = pytest.mark.xdist_group("status-by-notify-event")


def _results(alluredir: Path) -> dict[str, dict]:
    return {r["name"]: r for r in (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}


def _run(tmp_path: Path, specs: list[str], *args: str) -> tuple[dict[str, dict], Path, str]:
    """Run `specs` on the twin with `status_report = "NotifyEvent"`: (results by scenario, evidence, output)."""
    bench = (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8")
    (tmp_path / "bench.toml").write_text(bench + '\n[twin.options]\nstatus_report = "NotifyEvent"\n',
                                         encoding="utf-8")
    alluredir, evidence = tmp_path / "allure", tmp_path / "evidence"
    proc = subprocess.run([sys.executable, "-m", "pytest", *specs, "-p", "no:cacheprovider", "-rA", "--speed", "60",
                           "--bench", str(tmp_path / "bench.toml"), f"--alluredir={alluredir}",
                           f"--evidence={evidence}", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    return _results(alluredir), evidence, proc.stdout + proc.stderr


def test_a_charger_reporting_status_by_notify_event_passes_the_status_lines(tmp_path: Path) -> None:
    (tmp_path / "status.spec").write_text(SPEC, encoding="utf-8")
    results, evidence, out = _run(tmp_path, [str(tmp_path / "status.spec"), *(str(REPO / s) for s in LIBRARY)])
    assert len(results) == 6, out[-3000:]
    for name, result in results.items():
        assert result["status"] == "passed", f"{name}: {result.get('statusDetails')}\n{out[-3000:]}"
    # The verdicts rest on NotifyEvents: the twin sent no StatusNotification in any scenario.
    frames = [json.loads(json.loads(line)["frame"]) for p in evidence.rglob("ocpp.jsonl")
              for line in p.read_text(encoding="utf-8").splitlines()]
    actions = [f[2] for f in frames if f[0] == 2]
    assert "NotifyEvent" in actions and "StatusNotification" not in actions


STUCK = '''spec "Stuck status by NotifyEvent"
  scenario "plug in"
    charger booted
    ev plugs in on evse 1
    expect within 30 s: charger status evse 1 is Occupied
'''


def test_a_stuck_status_reported_by_notify_event_still_fails_and_names_its_message(tmp_path: Path) -> None:
    """The other side: a charger whose connector stays Available when an EV plugs in (`status_stuck`) fails
    however it reports, and the step's note names the report it saw, by message."""
    (tmp_path / "stuck.spec").write_text(STUCK, encoding="utf-8")
    results, evidence, out = _run(tmp_path, [str(tmp_path / "stuck.spec")], "--fault", "status_stuck=true")
    result = results["plug in"]
    assert result["status"] == "failed", out[-3000:]
    assert "charger status evse 1 never is Occupied within 30 s" in result["statusDetails"]["message"]
    (notes,) = [p for p in evidence.rglob("notes.txt") if p.parent.name == "plug-in"]
    text = notes.read_text(encoding="utf-8")
    assert re.search(r"charger status evse 1 was 'Available' by NotifyEvent \(message id [^,]+, eventId \d+, "
                     r"evse 1 connector 1, charger time \S+Z, received at t=-?[\d.]+ s\) 10 s after the EV plugged in "
                     r"\(not judged by this step\)", text), text
