"""Integrator state answers as analyzers spell them, and the state rules table."""

from __future__ import annotations

import pytest

from instruments.integrator import ALLOWED_FROM, IntegratorCommands, parse_state


@pytest.mark.parametrize(("answer", "state"), [
    ("RESET", "RESET"), ("RES", "RESET"), ("RESet", "RESET"), ("READY", "READY"), ("START", "START"),
    ("STARt", "START"), ("STOP", "STOP"), ("ERROR", "ERROR"), ("TIMEUP", "TIMEUP"), ("TIM", "TIMEUP"),
    (":INTEGRATE:STATE STOP", "STOP"), (" start\n", "START"), ("BUSY", None), ("", None),
])
def test_parse_state(answer: str, state: str | None) -> None:
    assert parse_state(answer) == state


def test_custom_words_replace_the_defaults() -> None:
    assert parse_state("GO", {"GO": "START"}) == "START"
    assert parse_state("RESET", {"GO": "START"}) is None


def test_rules() -> None:
    assert ALLOWED_FROM["start"] == ("RESET", "STOP")
    assert "START" not in ALLOWED_FROM["reset"]
    cmds = IntegratorCommands(start="S", stop="T", reset="R")
    assert [cmds.command(a) for a in ("start", "stop", "reset")] == ["S", "T", "R"]  # type: ignore[arg-type]
