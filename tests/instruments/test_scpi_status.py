"""Parsing what an instrument reports as errors: queue entries (with or without a header) and *ESR? bits."""

from __future__ import annotations

import pytest

from instruments.scpi_status import esr_errors, is_query_error, parse_entry, parse_esr


@pytest.mark.parametrize(("answer", "entry"), [
    ('0,"No error"', (0, "No error")),
    ('-113,"Undefined header"', (-113, "Undefined header")),
    ('113,"Undefined header"', (113, "Undefined header")),  # Yokogawa numbers its errors without a sign
    (':STATUS:ERROR 221,"Setting conflict"', (221, "Setting conflict")),  # :COMM:HEAD ON
    ('-221,"Settings conflict; Integration in progress"\n', (-221, "Settings conflict; Integration in progress")),
    ("ERROR", None), ("2.3012E+02", None), ("", None),
])
def test_queue_entries(answer: str, entry: tuple[int, str] | None) -> None:
    assert parse_entry(answer) == entry


def test_event_status_register() -> None:
    assert parse_esr("0") == 0 and parse_esr("*ESR 36") == 36 and parse_esr("+4") == 4
    assert parse_esr("ERROR") is None and parse_esr("300") is None
    assert esr_errors(36) == ((32, "command error (CME)"), (4, "query error (QYE)"))
    assert esr_errors(1) == ()  # operation complete is not an error


@pytest.mark.parametrize(("code", "esr", "query_error"), [
    (-410, False, True), (410, False, True), (-420, False, True), (-113, False, False), (-221, False, False),
    (4, True, True), (32, True, False),
])
def test_query_errors_are_the_trace_of_a_timeout(code: int, esr: bool, query_error: bool) -> None:
    assert is_query_error(code, esr=esr) is query_error
