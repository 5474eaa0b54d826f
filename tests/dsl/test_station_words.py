"""`on station NAME` on statements and signals (dsl/stations.py): what a line means once the station is named,
and that a line naming none means what it meant before (the wording of the mistakes: tests/dsl/golden/station-*)."""

from __future__ import annotations

from pathlib import Path

import dsl
from dsl.plan import Action, ExpectNow
from dsl.stations import named_stations, required_stations

SPEC = '''spec "x"
  scenario "y"
    bench has station right
    ev plugs in on evse 2 of station right
    session starts with token "04A2B3C4" on station "TWIN-B"
    ev plugs in
    expect analyzer power on evse 2 of station right > 1 kW
    expect station power on station right <= 22 kW
    expect charger status evse 1 on station right is Occupied
    expect analyzer power on evse 2 > 1 kW
'''


def test_named_stations_reach_the_plan(tmp_path: Path) -> None:
    (tmp_path / "x.spec").write_text(SPEC, encoding="utf-8")
    (scenario,) = dsl.load(tmp_path / "x.spec")[0].scenarios
    steps = scenario.steps
    actions = [s for s in steps if isinstance(s, Action)]
    assert [(a.step, a.station) for a in actions] == [
        ("bench.has_station", None), ("ev.plugs_in", "right"), ("session.starts", "TWIN-B"), ("ev.plugs_in", None)]
    assert actions[1].args["evse"] == 2
    assert actions[2].args["token"] == "04A2B3C4"
    keys = [(s.condition.signal.key, s.condition.signal.station, s.condition.signal.evse)
            for s in steps if isinstance(s, ExpectNow)]
    assert keys == [("@right.analyzer.evse2.power", "right", 2), ("@right.station.power", "right", None),
                    ("@right.charger.status.evse1", "right", 1), ("analyzer.evse2.power", None, 2)]
    assert [n for n, _ in named_stations(steps)] == ["right", "TWIN-B"]
    assert required_stations(steps) == {"right"}
