"""Errors are for people: position, message, hint and the rendered caret, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsl
from dsl import SpecError, SpecErrors


def _errors(body: str, header: str = 'spec "S"\n  scenario "x"\n') -> list[SpecError]:
    """Errors of a scenario body (indented 4 spaces); parse errors included."""
    text = header + "".join(f"    {line}\n" for line in body.strip("\n").split("\n"))
    try:
        spec_file = dsl.parse(text, "specs/x.spec")
    except SpecErrors as e:
        return list(e.errors)
    return dsl.check(spec_file)


def _one(body: str, **kw: str) -> SpecError:
    errors = _errors(body, **kw)
    assert len(errors) == 1, [e.headline() for e in errors]
    return errors[0]


def test_misspelled_unit_renders_with_caret() -> None:
    text = ('spec "S"\n  scenario "x"\n    measure "steady" for 10 min\n'
            '    expect charger energy over "steady" within 2 kwh of analyzer energy\n')
    (error,) = dsl.check(dsl.parse(text, "specs/x.spec"))
    assert error.render() == (
        'specs/x.spec:4:50: unknown unit "kwh" — did you mean "kWh"?\n'
        '  expect charger energy over "steady" within 2 kwh of analyzer energy\n'
        "  " + " " * 45 + "^^^"
    )


def test_dimension_mismatch() -> None:
    e = _one("expect analyzer current L1 <= 7 kW")
    assert e.headline() == ("specs/x.spec:3:35: dimension mismatch: analyzer current L1 is a current (A), "
                            "but 7 kW is a power (W)")
    assert e.width == 4


def test_dimension_mismatch_per_example_names_the_example() -> None:
    (e,) = _errors("expect analyzer current L1 <= {limit} + 0.6 A",
                   header='spec "S"\n  scenario "l {limit}" for limit in 6 A, 7 kW\n')
    assert e.message == ("dimension mismatch: cannot add 0.6 A (a current) to 7 kW (a power) "
                         "(example limit = 7 kW)")
    assert (e.source.line, e.source.column) == (3, 35)


def test_unknown_statement_suggests_nearest_pattern() -> None:
    e = _one("ev plgs in on evse 1")
    assert e.headline() == ('specs/x.spec:3:5: unknown statement "ev plgs in on evse 1" — '
                            'did you mean "ev plugs in [on evse <evse>]"?')


def test_unknown_actor() -> None:
    e = _one("chargr booted")
    assert (e.message, e.hint) == ('unknown actor "chargr"', 'did you mean "charger"?')


def test_every_error_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "x.spec"
    path.write_text('''spec "S"
  scenario "x"
    ev requests 32 kwh
    csms sets TxProfil on evse 1: limit 16 A
    expect within 2 min: charger sends TransactionEvnt {eventType: "Updated"}
    expect within 15 s analyzer power > 1 kW
    expect charger status evse 1 is Avail
    expect analyzer curent L1 <= 16 A
''', encoding="utf-8")
    errors = dsl.check_paths([path])
    assert [(e.source.line, e.message) for e in errors] == [
        (3, 'unknown unit "kwh"'),
        (4, 'unknown charging profile purpose "TxProfil"'),
        (5, 'unknown OCPP action "TransactionEvnt"'),
        (6, 'unexpected "analyzer"'),
        (7, 'unknown connector status "Avail"'),
        (8, 'unknown analyzer signal "curent"'),
    ]


def test_syntax_error_has_expected_tokens_hint() -> None:
    e = _one("expect within 15 s analyzer power > 1 kW")
    assert e.message == 'unexpected "analyzer"'
    assert e.hint == 'expected one of ",", ":"'  # ",": the settle form


def test_physical_quantity_without_unit() -> None:
    e = _one("ev requests 32")
    assert (e.message, e.hint) == ("32 needs a unit: expected a current (A)", 'write "32 A"')


def test_undefined_example_variable_and_window() -> None:
    header = 'spec "S"\n  scenario "l {load}" for load in 6 A\n    measure "steady" for 1 min\n'
    errors = _errors('ev draws {lod}\nexpect charger energy over "stedy" within 1 % of analyzer energy',
                     header=header)
    assert [(e.message, e.hint) for e in errors] == [
        ("undefined example variable {lod}", "did you mean {load}?"),
        ('undefined measurement window "stedy"', 'did you mean "steady"?'),
    ]


@pytest.mark.parametrize(("text", "where"), [
    # (checking walks only the statements whose line may hold a placeholder: each place one can hide)
    ('spec "S"\n  scenario "l {load}" for load in 6 A\n    repeat 2 times\n      ev draws {lod}\n', (4, 16)),
    ('spec "S"\n  scenario "l {load}" for load in 6 A\n    csms sends DataTransfer {vendorId: "v{lod}"}\n',
     (3, 40)),
    ('spec "S"\n  scenario "l {load}" for load in 6 A\n    csms sends DataTransfer {data: {lod}}\n', (3, 36)),
    ('spec "S"\n  scenario "l"\n    csms sends DataTransfer {vendorId: "{lod}"}\n', (3, 40)),
])
def test_an_undefined_example_variable_is_found_wherever_it_stands(text: str, where: tuple[int, int]) -> None:
    errors = dsl.check(dsl.parse(text, "specs/x.spec"))
    assert [(e.message, (e.source.line, e.source.column)) for e in errors] == [
        ("undefined example variable {lod}", where)]


def test_a_placeholder_in_a_setup_is_refused() -> None:
    text = 'spec "S"\n  setup\n    ev draws {load}\n  scenario "l {load}" for load in 6 A\n    ev unplugs\n'
    errors = dsl.check(dsl.parse(text, "specs/x.spec"))
    assert [(e.message, e.source.line) for e in errors] == [
        ("{load} in the setup: example variables belong to scenarios", 3)]


def test_duplicate_scenario_names_and_unknown_version() -> None:
    text = 'spec "S"\n  version 2\n  scenario "a"\n    wait 1 s\n  scenario "a"\n    wait 2 s\n'
    errors = dsl.check(dsl.parse(text, "x.spec"))
    assert [(e.source.line, e.message) for e in errors] == [
        (2, "unknown language version 2"),
        (5, 'duplicate scenario name "a" (first on line 3)'),
    ]


def test_parse_errors_never_escape_as_lark_errors() -> None:
    broken = ["spec", 'spec "x"\n\tscenario "y"\n', '  spec "x"\n', 'spec "x"\n  scenario "y"\n    ev \x00\n',
              'spec "x"\n  scenario "y"\n    wait 1 s\n   wait 2 s\n', '"', 'spec "x\n']
    for text in broken:
        with pytest.raises(SpecErrors) as info:
            dsl.parse(text, "f.spec")
        lines = text.split("\n")
        for e in info.value:
            assert 1 <= e.source.line <= max(1, len(lines) - (lines[-1] == ""))
            assert 1 <= e.source.column <= len(lines[e.source.line - 1]) + 1


def test_tab_indentation_is_an_error() -> None:
    with pytest.raises(SpecErrors) as info:
        dsl.parse('spec "x"\n\tscenario "y"\n', "f.spec")
    (e,) = info.value
    assert (e.source.line, e.message, e.hint) == (2, "tab in indentation", "indent with spaces only")


def test_non_utf8_file_is_a_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.spec"
    path.write_bytes(b'spec "x"\n  scenario "caf\xe9"\n    wait 1 s\n')
    with pytest.raises(SpecErrors) as info:
        dsl.load(path)
    (e,) = info.value
    assert (e.source.line, e.source.column) == (2, 16)
    assert e.message == "byte 0xe9 is not UTF-8 text"
