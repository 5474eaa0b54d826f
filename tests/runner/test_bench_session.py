"""The bench session's evidence of its instruments: what an analyzer's error queue held when the run opened it."""

from __future__ import annotations

from types import SimpleNamespace

from runner.bench_session import errors_at_open_words


def test_errors_held_at_open_are_named_in_the_instruments_identity() -> None:
    held = SimpleNamespace(errors_at_open=((-113, "Undefined header; FOO?"), (-221, "Settings conflict")))
    assert errors_at_open_words(held) == ('; error queue at open, emptied: -113 "Undefined header; FOO?", '
                                          '-221 "Settings conflict"')
    assert errors_at_open_words(SimpleNamespace(errors_at_open=())) == ""
    assert errors_at_open_words(object()) == ""  # an instrument without an error queue (the EV emulator)
