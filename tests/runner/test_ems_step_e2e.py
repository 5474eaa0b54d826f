"""The `ems …` statements end to end: on the twin bench they reach the charger through the bench's `ems`
role (Modbus TCP); the return to idle hands the next scenario a fresh EMS (no limit, heartbeat running);
on a bench with no `ems` the scenario is broken, naming the missing role, never failed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SPEC = '''spec "Energy manager"
  setup
    charger booted
    ev plugs in
    ev requests 32 A
    session starts with token "04A2B3C4"
    expect within 60 s: analyzer power > 20 kW

  scenario "the EMS left silent under a limit"
    ems sets the fallback to 4 kW after 30 s of silence
    ems limits the site to 32 A
    ems limits the site to 8 kW
    expect within 20 s: analyzer power <= 8 kW + 3 %
    ems goes silent
    expect within 50 s: analyzer power <= 4 kW + 3 %

  scenario "the next scenario finds a fresh EMS"
    wait 45 s
    expect analyzer power > 20 kW

  scenario "a watchdog too short for the bench's speed"
    ems sets the fallback to 4 kW after 2 s of silence

  scenario "a short watchdog under a live EMS"
    ems sets the fallback to 4 kW after 6 s of silence
    ems limits the site to 8 kW
    expect within 20 s, then for 60 s: analyzer power > 6 kW

  scenario "the composite cannot be judged under an EMS limit"
    ems limits the site to 8 kW
    expect charger composite schedule on evse 1

  teardown
    session stops
'''


def _run(pytester: pytest.Pytester, bench: str) -> tuple[dict[str, dict], Path]:
    pytester.makefile(".toml", bench=bench)
    pytester.makefile(".spec", ems=SPEC)
    alluredir, evidence = pytester.path / "allure", pytester.path / "evidence"
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "30", "--bench", "bench.toml",
                                  f"--alluredir={alluredir}", f"--evidence={evidence}", timeout=300)
    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}
    return results, evidence


def test_the_ems_limits_the_charger_and_is_reset_between_scenarios(pytester: pytest.Pytester) -> None:
    results, evidence = _run(pytester, (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8"))
    for name in ("the EMS left silent under a limit", "the next scenario finds a fresh EMS"):
        assert results[name]["status"] == "passed", (name, results[name].get("statusDetails"))
    notes = "\n".join(p.read_text(encoding="utf-8") for p in sorted(evidence.rglob("notes.txt")))
    for line in ("EMS: fallback 4 kW after 30 s without a heartbeat", "EMS: site limit 32 A",
                 "EMS: site limit 8 kW", "EMS: heartbeat stopped",
                 "return to idle: the EMS is back to no site limit, no fallback, heartbeat running"):
        assert line in notes, line
    # 2 s of watchdog is 67 ms real at 30x: the heartbeat could not keep it and the charger's fallback would be
    # judged as its own. 6 s (200 ms real) it keeps: the charger never falls back under the live EMS.
    result = results["a watchdog too short for the bench's speed"]
    assert result["status"] == "broken"
    assert ("a watchdog of 2 s is 67 ms real at the bench's 30x speed, shorter than this EMS's heartbeat can keep"
            in result["statusDetails"]["message"])
    result = results["a short watchdog under a live EMS"]
    assert result["status"] == "passed", result.get("statusDetails")
    # The harness's own composite leaves out the EMS's limit: broken, never a verdict against it.
    result = results["the composite cannot be judged under an EMS limit"]
    assert result["status"] == "broken"
    assert "it cannot know the EMS's site limit the charger holds" in result["statusDetails"]["message"]


def test_a_bench_without_an_ems_is_broken_not_failed(pytester: pytest.Pytester) -> None:
    bench = (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8")
    start = bench.index("[stations.instruments.ems]")
    bench = bench[:start] + bench[bench.index("[twin]"):]
    results, _ = _run(pytester, bench)
    result = results["the EMS left silent under a limit"]
    assert result["status"] == "broken"
    message = result["statusDetails"]["message"]
    assert "has no energy manager (instrument role 'ems')" in message
    assert "the `ems ...` statements need one (docs/ems.md)" in message
    assert "ems.spec:10:5" in message  # the statement's line


def test_a_heartbeat_fault_after_the_last_ems_statement_makes_the_scenario_broken() -> None:
    """The heartbeat runs on between statements: a fault of it while an expectation judges (the charger's
    watchdog may run out and bring in the fallback) must reach the station's bench faults, which make the
    scenario broken, not wait for an `ems ...` statement that may never come."""
    from types import SimpleNamespace

    from instruments.errors import InstrumentConnectionLost
    from runner import ems_steps

    class Ems:
        on_error = None

        def set_limit(self, limit: object) -> None:
            pass

    ems = Ems()
    faults: list[Exception] = []
    station = SimpleNamespace(ems=lambda: ems, ems_touched=False, fault=faults.append)
    run = SimpleNamespace(station=station, note=lambda text: None)
    ems_steps.ems_releases_site(run)  # type: ignore[arg-type]
    fault = InstrumentConnectionLost("ems", "modbus-tcp://127.0.0.1:502", "connection lost",
                                     last_command="write HEARTBEAT")
    assert ems.on_error is not None
    ems.on_error(fault)
    assert faults == [fault]
    station.ems_touched = False  # reset by the return to idle: a later scenario that leaves the EMS alone
    ems.on_error(fault)
    assert faults == [fault]


@pytest.mark.parametrize(("text", "value", "message"), [
    ("2.5 s", 2.5, r"an EMS watchdog of 2\.5 s \(2\.5 s\) cannot be written exactly: WATCHDOG_S \(register 6\) holds "
                   r"whole seconds from 1 to 65535; the nearest it holds are 2 s and 3 s"),
    ("1e400 s", math.inf, r"an EMS watchdog of 1e400 s: WATCHDOG_S \(register 6\) holds whole seconds from 1 to "
                          r"65535"),
    ("nan s", math.nan, r"an EMS watchdog of nan s: WATCHDOG_S"),
    ("0.4 s", 0.4, r"an EMS watchdog of 0\.4 s: WATCHDOG_S"),
    ("19 h", 68400.0, r"an EMS watchdog of 19 h: WATCHDOG_S"),
])
def test_a_watchdog_the_register_cannot_hold_is_broken_before_the_ems_is_touched(
        text: str, value: float, message: str) -> None:
    from types import SimpleNamespace

    from dsl.plan import Quantity
    from runner import ems_steps
    from runner.errors import BenchError

    sent: list[object] = []
    ems = SimpleNamespace(on_error=None, set_fallback=lambda *args: sent.append(args))
    faults: list[Exception] = []
    station = SimpleNamespace(ems=lambda: ems, ems_touched=False, fault=faults.append)
    run = SimpleNamespace(station=station, note=lambda text: None)
    with pytest.raises(BenchError, match=message):
        ems_steps.ems_sets_fallback(run, Quantity(6000, "power", "6 kW"),  # type: ignore[arg-type]
                                    Quantity(value, "time", text))
    assert sent == []
