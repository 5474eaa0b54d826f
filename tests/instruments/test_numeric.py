"""Numbers as analyzers and emulators send them: garbage never becomes a value."""

from __future__ import annotations

import pytest

from instruments.numeric import NotANumber, parse_value, parse_values


@pytest.mark.parametrize(("token", "value"), [
    ("230.1", 230.1), ("+2.3012E+02", 230.12), ("-1.5e-3", -0.0015), ("16", 16.0), (".5", 0.5), ("5.", 5.0),
    (" 1.0E+00 ", 1.0), ("NAN", None), ("nan", None), ("INF", None), ("-INF", None), ("9.9E+37", None),
    ("9.91E+37", None), ("-9.9E+37", None), ("-OL-", None), ("+9999.9E+99", None),
])
def test_numbers_and_no_data_markers(token: str, value: float | None) -> None:
    assert parse_value(token) == value


@pytest.mark.parametrize("token", ["", " ", "2_30", "1_6.0", "0x10", "Infinity-", "16A", "1.6.0", "١٦", "e5",
                                   "--1", "1e", "+", "."])
def test_garbage_is_not_a_number(token: str) -> None:
    """Python's float() takes "2_30" (230), "١٦" (16, Arabic-Indic digits): a garbled line must not."""
    with pytest.raises(NotANumber):
        parse_value(token)


def test_an_empty_field_names_its_position() -> None:
    with pytest.raises(NotANumber, match="item 2: '' is not a number"):
        parse_values("230.1,,16.0")
