"""The energy integrator's state rules, shared by every analyzer driver.

Analyzers integrate energy in a small state machine: RESET -> START (running) -> STOP -> START
(continue) ... -> RESET. Starting is allowed only from RESET or STOP, stopping only while running
(START, or READY for a real-time integration waiting for its start time), and resetting only when not
running. Drivers check the state first and refuse with a message saying what to do, instead of letting
the instrument silently ignore the command (most queue an error nobody reads).

    cmds = IntegratorCommands(start=":INTEG:STAR", stop=":INTEG:STOP", reset=":INTEG:RES",
                              state_query=":INTEG:STAT?")
    parse_state(":INTEGRATE:STATE STOP", cmds.words)   # -> "STOP"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

Action = Literal["start", "stop", "reset"]
STATES = ("RESET", "READY", "START", "STOP", "ERROR", "TIMEUP")

#: Answers as Yokogawa, Hioki and ZES spell them (long or short form); matched on the word's prefix.
DEFAULT_WORDS: Mapping[str, str] = MappingProxyType({
    "RES": "RESET", "READ": "READY", "STAR": "START", "RUN": "START", "STOP": "STOP", "ERR": "ERROR",
    "TIM": "TIMEUP", "WAIT": "READY", "HOLD": "STOP",
})

ALLOWED_FROM: Mapping[Action, tuple[str, ...]] = MappingProxyType({
    "start": ("RESET", "STOP"),
    "stop": ("START", "READY"),
    "reset": ("RESET", "STOP", "TIMEUP", "ERROR"),
})
ADVICE: Mapping[Action, str] = MappingProxyType({
    "start": " (after a time-up or an error, reset first)",
    "stop": "",
    "reset": " (stop a running integration first)",
})
#: The state each accepted command leaves the integrator in, for analyzers that cannot report it.
AFTER: Mapping[Action, str] = MappingProxyType({"start": "START", "stop": "STOP", "reset": "RESET"})


@dataclass(frozen=True)
class IntegratorCommands:
    """An analyzer's integrator commands. Without `state_query` the driver tracks the state itself."""

    start: str
    stop: str
    reset: str
    state_query: str | None = None
    words: Mapping[str, str] = field(default_factory=lambda: DEFAULT_WORDS)

    def command(self, action: Action) -> str:
        return {"start": self.start, "stop": self.stop, "reset": self.reset}[action]


def parse_state(answer: str, words: Mapping[str, str] = DEFAULT_WORDS) -> str | None:
    """The canonical state in a state answer (the last word, so a header is ignored); None if unknown."""
    text = answer.strip()
    word = text.split()[-1].upper() if text else ""
    # Longest prefix first, so "READY" is not taken for "RE..." of another word.
    for prefix in sorted(words, key=len, reverse=True):
        if word.startswith(prefix.upper()):
            return words[prefix]
    return None
