"""`on station NAME` on statements and signals (dsl/stations.py): what a line means once the station is named,
and that a line naming none means what it meant before (the wording of the mistakes: tests/dsl/golden/station-*)."""

from __future__ import annotations

from pathlib import Path

import msgspec

import dsl
from dsl.plan import Action, ExpectNow
from dsl.stations import named_stations, required_evses, required_stations

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



def test_a_required_evse_is_read_with_the_station_it_names(tmp_path: Path) -> None:
    (tmp_path / "x.spec").write_text('spec "x"\n  setup\n    bench has evse 2\n  scenario "y"\n'
                                     "    bench has evse 3 on station right\n    ev plugs in on evse 2\n",
                                     encoding="utf-8")
    (scenario,) = dsl.load(tmp_path / "x.spec")[0].scenarios
    steps = (*scenario.setup, *scenario.steps)
    assert [(s.step, s.station) for s in steps if isinstance(s, Action)][:2] == [
        ("bench.has_evse", None), ("bench.has_evse", "right")]
    assert required_evses(steps) == {(None, 2), ("right", 3)}
    assert required_evses(scenario.steps[1:]) == set()  # (a line that uses an EVSE requires nothing)

MESSAGES = '''spec "x"
  scenario "y"
    csms sets TxProfile on evse 1: limit 6 A on station right
    csms sends Reset {type: "OnIdle"} on station right
    expect within 30 s: charger sends StatusNotification {connectorStatus: "Occupied"} on station right
    expect charger sends at least 1 TransactionEvent {eventType: "Started"} within 30 s on station "TWIN-B"
    expect no TransactionEvent {eventType: "Ended"} for 10 s on station right
    remember transactionInfo.transactionId of the last TransactionEvent {} as "tx" on station right
    expect within 30 s: charger sends StatusNotification {connectorStatus: "Occupied"}
    expect charger sends at least 1 TransactionEvent {eventType: "Started"} within 30 s
    expect no TransactionEvent {eventType: "Ended"} for 10 s
    remember transactionInfo.transactionId of the last TransactionEvent {} as "tx"
'''


def test_message_lines_and_csms_statements_name_a_station(tmp_path: Path) -> None:
    """A message expectation, `expect no`, `remember` and the CSMS's statements take the same trailing
    `on station NAME` (id or alias, the id quoted): the step carries the name, its text keeps the suffix, and
    the runner resolves it like any other name; the same lines without it mean exactly what they meant."""
    (tmp_path / "x.spec").write_text(MESSAGES, encoding="utf-8")
    (scenario,) = dsl.load(tmp_path / "x.spec")[0].scenarios
    steps = scenario.steps
    assert [type(s).__name__ for s in steps[2:6]] == ["ExpectMessage", "ExpectMessage", "ExpectNoMessage", "Remember"]
    assert [s.station for s in steps] == ["right", "right", "right", "TWIN-B", "right", "right", None, None, None, None]
    assert [s.step for s in steps[:2]] == ["csms.sets_profile", "csms.sends"]
    assert steps[2].text.endswith('{connectorStatus: "Occupied"} on station right')
    assert steps[3].text == ('expect within 30 s: charger sends at least 1 TransactionEvent {eventType: "Started"} '
                             'on station "TWIN-B"')  # (a trailing `within T` is written first, as ever)
    assert [(n, src.line) for n, src in named_stations(steps) if src is not None] == [("right", 3), ("TWIN-B", 6)]
    for named, plain in zip(steps[2:6], steps[6:], strict=True):  # the suffix is all that differs
        assert msgspec.structs.replace(named, station=None, text=plain.text, source=plain.source) == plain


def test_message_line_words_that_name_no_station_are_errors(tmp_path: Path) -> None:
    """Near misses are errors with the right form (tests/dsl/golden/station-message-*); words that say
    nothing of a station are the syntax error they were before the suffix existed."""
    lines = ['expect charger sends StatusNotification {} at station right',
             'expect no TransactionEvent for 10 s on station 2',
             'remember idToken.idToken of the last Authorize {} as "t" on station',
             'expect charger sends TransactionEvent {eventType: "Ended"} after StatusNotification']
    got = []
    for i, line in enumerate(lines):
        (tmp_path / f"{i}.spec").write_text(f'spec "x"\n  scenario "y"\n    {line}\n', encoding="utf-8")
        (e,) = dsl.check_paths([tmp_path / f"{i}.spec"])
        got.append((e.message, e.hint))
    assert got == [
        ('a station is named with "on station", not "at station"', "write on station right"),
        ('"on station 2" does not name a station',
         'end the line with on station "TWIN-B": the station\'s id or its alias from the bench file'),
        ('"on station" does not name a station',
         'end the line with on station "TWIN-B": the station\'s id or its alias from the bench file'),
        ('unexpected "after"', 'expected one of "every", "or", "within", the end of the line'),
    ]


RULES = '''spec "x"
  scenario "y"
    measure "w" for 1 min
    expect charger sends TransactionEvent every 10 s ± 2 s during "w" on station right
    expect every TransactionEvent: seqNo increases by 1 on station "TWIN-B"
    expect every message: timestamp within 2 s of bench time on station right
    expect charger sends TransactionEvent every 10 s ± 2 s during "w"
    expect every TransactionEvent: seqNo increases by 1
    expect every message: timestamp within 2 s of bench time
'''


def test_intervals_and_rules_name_a_station(tmp_path: Path) -> None:
    """`… every T ± D [during "w"] on station NAME` ends as a message line does; a rule over the trace names its
    station after the rule, as an action does. The step carries the name, its text the line as written; without
    the suffix each means what it meant; the lazy (collection) path and the full one agree."""
    (tmp_path / "x.spec").write_text(RULES, encoding="utf-8")
    for lazy in (False, True):
        (scenario,) = dsl.load(tmp_path / "x.spec", lazy=lazy)[0].scenarios
        steps = scenario.steps[1:]
        assert [s.station for s in steps] == ["right", "TWIN-B", "right", None, None, None]
        assert steps[0].text.endswith('during "w" on station right')
        assert steps[1].text == 'expect every TransactionEvent: seqNo increases by 1 on station "TWIN-B"'
        assert steps[2].params["tolerance"].value == 2.0  # the rule's own parameter, the station taken off
        for named, plain in zip(steps[:3], steps[3:], strict=True):
            assert msgspec.structs.replace(named, station=None, text=plain.text, source=plain.source) == plain
