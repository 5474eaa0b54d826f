"""`driver presents token "ID" [of type TYPE] [on evse N]`: what it compiles to, its closed list of types
(IdTokenEnumType, compared with the ocpp package's schema) and example rows that fill it in."""

from __future__ import annotations

import json
from pathlib import Path

import ocpp
import pytest

import dsl
from dsl.parser import parse
from dsl.vocab import ID_TOKEN_TYPES


def steps(body: str) -> list[tuple[str, dict[str, object]]]:
    (spec,) = dsl.compile(parse(f'spec "s"\n  scenario "x"\n{body}', "t.spec"), dsl.builtin_registry())
    return [(a.step, dict(a.args)) for sc in spec.scenarios for a in sc.steps]


def test_the_statement_compiles_with_its_defaults_left_to_the_step() -> None:
    assert steps('    driver presents token "04A2B3C4"\n'
                 '    driver presents token "MASTER" of type KeyCode on evse 2\n'
                 '    driver presents token "" of type NoAuthorization\n'
                 '    driver presents token "AB" on evse 2\n') == [
        ("driver.presents_token", {"token": "04A2B3C4"}),
        ("driver.presents_token", {"token": "MASTER", "type": "KeyCode", "evse": 2}),
        ("driver.presents_token", {"token": "", "type": "NoAuthorization"}),
        ("driver.presents_token", {"token": "AB", "evse": 2}),
    ]


def test_example_rows_fill_in_token_type_and_evse() -> None:
    body = ('    examples\n      | tok | kind | n |\n      | "A1" | ISO15693 | 2 |\n'
            '    driver presents token {tok} of type {kind} on evse {n}\n')
    assert steps(body) == [("driver.presents_token", {"token": "A1", "type": "ISO15693", "evse": 2})]


def test_token_types_are_the_schemas_id_token_enum() -> None:
    schema = Path(ocpp.__file__).parent / "v201" / "schemas" / "AuthorizeRequest.json"
    enum = json.loads(schema.read_text(encoding="utf-8"))["definitions"]["IdTokenEnumType"]["enum"]
    assert set(ID_TOKEN_TYPES) == set(enum)


@pytest.mark.parametrize(("line", "message"), [
    ('driver presents token "A" of type Mifare', 'unknown idToken type (IdTokenEnumType) "Mifare"'),
    ('driver presents token "A" on evse 1.5', "<evse> must be a whole number, not 1.5"),
    ("driver presents token A", "<token> is a quoted string"),
])
def test_mistakes_are_named(line: str, message: str) -> None:
    errors = dsl.check(parse(f'spec "s"\n  scenario "x"\n    {line}\n', "t.spec"))
    assert [e.message for e in errors] == [message]
