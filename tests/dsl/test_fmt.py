"""`chargespec fmt`: canonical layout, comments kept, idempotent, never touches a file with errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import SpecErrors
from dsl.fmt import format_paths, format_text

REPO = Path(__file__).resolve().parents[2]
LIBRARY = sorted((REPO / "specs").rglob("*.spec"))

MESSY = '''\
# header comment


# second
spec   "Messy"   # on the spec line
    refs "a" ,"b"
    tags x,y
    # about setup
    setup
        charger booted
        ev requests 32A   # amps


        ev plugs in on evse 1
    scenario "l {limit}" for limit in 6A,10 A

        csms sets TxProfile on evse 1 : limit {limit}
        expect within 15s : analyzer current L1≤{limit}+0.6 A
        repeat 3 times
            csms sends Reset {type:"Immediate"}
            expect charger replies {status : "Accepted"}
        # after the repeat
        expect at least 95% of trials pass
    scenario "table"
        examples
            | p | limit |
            | TxProfile | 16 A | # row
        csms sets {p} on evse 1: limit {limit}
        expect charger sends MeterValues every 60 s +- 2 s
# tail
setup "plugged"
    charger booted
'''

CANONICAL = '''\
# header comment

# second
spec "Messy"  # on the spec line
  refs "a", "b"
  tags x, y

  # about setup
  setup
    charger booted
    ev requests 32 A  # amps

    ev plugs in on evse 1

  scenario "l {limit}" for limit in 6 A, 10 A
    csms sets TxProfile on evse 1: limit {limit}
    expect within 15 s: analyzer current L1 <= {limit} + 0.6 A
    repeat 3 times
      csms sends Reset {type: "Immediate"}
      expect charger replies {status: "Accepted"}
    # after the repeat
    expect at least 95 % of trials pass

  scenario "table"
    examples
      | p         | limit |
      | TxProfile | 16 A  |  # row
    csms sets {p} on evse 1: limit {limit}
    expect charger sends MeterValues every 60 s ± 2 s

# tail
setup "plugged"
  charger booted
'''


def test_messy_file_gets_the_canonical_layout() -> None:
    assert format_text(MESSY, "m.spec") == CANONICAL


def test_formatting_is_idempotent_and_keeps_every_comment() -> None:
    once = format_text(MESSY, "m.spec")
    assert format_text(once, "m.spec") == once
    comments = [line.split("#", 1)[1] for line in MESSY.splitlines() if "#" in line]
    assert [line.split("#", 1)[1] for line in once.splitlines() if "#" in line] == comments


@pytest.mark.parametrize("path", LIBRARY, ids=[p.name for p in LIBRARY])
def test_the_spec_library_is_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


def test_comment_indentation_goes_to_the_nearest_block_depth() -> None:
    text = ('spec "s"\n  scenario "a"\n    wait 1 s\n        # deep: stays in the scenario body\n'
            '# shallow: before the next spec\nspec "t"\n  scenario "b"\n    wait 1 s\n')
    out = format_text(text, "c.spec")
    assert "    # deep: stays in the scenario body\n\n# shallow: before the next spec\nspec \"t\"" in out
    assert format_text(out, "c.spec") == out


def test_crlf_bom_and_missing_final_newline_are_normalised() -> None:
    text = '\ufeffspec "s"\r\n  scenario "a"\r\n    wait 1 s'
    assert format_text(text, "c.spec") == 'spec "s"\n  scenario "a"\n    wait 1 s\n'


def test_a_file_with_errors_is_refused(tmp_path: Path) -> None:
    for text in ('spec "s"\n  scenario "a"\n    ev requests 32 kwh\n',  # a check error
                 'spec "s"\n  scenario "a"\n    expect within 15 s analyzer power > 1 kW\n'):  # syntax
        with pytest.raises(SpecErrors) as info:
            format_text(text, "bad.spec")
        assert info.value.errors and info.value.errors[0].source.line == 3


def test_format_paths_reports_rewrites_and_is_all_or_nothing(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    messy, clean = tmp_path / "sub" / "messy.spec", tmp_path / "clean.spec"
    messy.write_text(MESSY, encoding="utf-8")
    clean.write_text(CANONICAL, encoding="utf-8")
    assert format_paths([tmp_path], check=True) == [messy]
    assert messy.read_text(encoding="utf-8") == MESSY  # --check writes nothing

    broken = tmp_path / "broken.spec"
    broken.write_text('spec "s"\n  scenario "a"\n    ev requests 32 kwh\n', encoding="utf-8")
    with pytest.raises(SpecErrors) as info:
        format_paths([tmp_path], check=False)
    assert [Path(e.source.file).name for e in info.value] == ["broken.spec"]
    assert messy.read_text(encoding="utf-8") == MESSY  # nothing written while any file has errors

    broken.unlink()
    assert format_paths([tmp_path], check=False) == [messy]
    assert messy.read_text(encoding="utf-8") == CANONICAL
    assert format_paths([tmp_path], check=True) == []


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.spec"
    path.write_bytes(b'spec "x"\n  scenario "caf\xe9"\n    wait 1 s\n')
    with pytest.raises(SpecErrors, match="not UTF-8"):
        format_paths([path], check=False)
    assert path.read_bytes().endswith(b"1 s\n")


def test_settle_form_and_field_filters_get_the_canonical_layout() -> None:
    messy = ('spec "s"\n  scenario "x"\n    csms sets TxProfile on evse 1: limit 6 A\n'
             "    expect within 15s ,then for 1 min:analyzer current L1≤6 A+0.6 A\n"
             '    measure "w" for 5 min\n'
             '    expect charger sends MeterValues {evseId:1} every 60s +- 2s during "w"\n'
             '    expect every TransactionEvent {eventType:"Updated"} of the session : seqNo increases by 1\n')
    assert format_text(messy, "x.spec") == (
        'spec "s"\n  scenario "x"\n    csms sets TxProfile on evse 1: limit 6 A\n'
        "    expect within 15 s, then for 1 min: analyzer current L1 <= 6 A + 0.6 A\n"
        '    measure "w" for 5 min\n'
        '    expect charger sends MeterValues {evseId: 1} every 60 s ± 2 s during "w"\n'
        '    expect every TransactionEvent {eventType: "Updated"} of the session: seqNo increases by 1\n')


def test_message_patterns_counts_and_remember_get_the_canonical_layout() -> None:
    messy = ('spec "s"\n  scenario "x"\n'
             '    expect   charger sends  StatusNotification {connectorStatus:"Available"or "Occupied",'
             'evseId:not 2 ,timestamp : absent}  or  NotifyEvent\n'
             '    remember  transactionInfo.transactionId   of the last TransactionEvent{eventType:"Started"} as "tx"\n'
             '    expect within 5 s:charger sends   at   least 2 TransactionEvent '
             '{transactionInfo:{transactionId:remembered"tx"}} within 3 s  after MeterValues\n'
             '    csms sets variable  OCPPCommCtrlr.MessageAttempts[TransactionEvent]  on evse 1 to "3"\n')
    canonical = (
        'spec "s"\n  scenario "x"\n'
        '    expect charger sends StatusNotification {connectorStatus: "Available" or "Occupied", evseId: not 2, '
        'timestamp: absent} or NotifyEvent\n'
        '    remember transactionInfo.transactionId of the last TransactionEvent {eventType: "Started"} as "tx"\n'
        '    expect within 5 s: charger sends at least 2 TransactionEvent {transactionInfo: {transactionId: '
        'remembered "tx"}} within 3 s after MeterValues\n'
        '    csms sets variable OCPPCommCtrlr.MessageAttempts[TransactionEvent] on evse 1 to "3"\n')
    assert format_text(messy, "x.spec") == canonical
    assert format_text(canonical, "x.spec") == canonical
    trailing = 'spec "s"\n  scenario "x"\n    expect charger sends exactly 1 TransactionEvent within 30 s\n'
    assert format_text(trailing, "x.spec") == (
        'spec "s"\n  scenario "x"\n    expect within 30 s: charger sends exactly 1 TransactionEvent\n')


def test_answer_rules_and_features_get_the_canonical_layout() -> None:
    messy = ('spec "s"\n  scenario "x"\n'
             '    csms answers the 2 nd  TransactionEvent{eventType:"Ended"or "Updated"}with error InternalError once\n'
             '    csms does not answer   the 11th Authorize  3 times\n'
             '    csms answers Authorize with{idTokenInfo:{status:"Invalid"}}after 40 s\n'
             '    charger supports  OCPPCommCtrlr.MessageAttempts[TransactionEvent]\n')
    canonical = (
        'spec "s"\n  scenario "x"\n'
        '    csms answers the 2nd TransactionEvent {eventType: "Ended" or "Updated"} with error InternalError once\n'
        '    csms does not answer the 11th Authorize 3 times\n'
        '    csms answers Authorize with {idTokenInfo: {status: "Invalid"}} after 40 s\n'
        '    charger supports OCPPCommCtrlr.MessageAttempts[TransactionEvent]\n')
    assert format_text(messy, "x.spec") == canonical
    assert format_text(canonical, "x.spec") == canonical
