"""Verdict-bearing exceptions of the runner.

- :class:`ExpectationFailed` is an ``AssertionError``: the charger did not meet a criterion (*failed*).
- :class:`BenchError` is anything else: the bench could not judge (*broken*), never a charger failure.
Both render with the spec line they belong to.
"""

from __future__ import annotations

from dsl.plan import Source


def _where(source: Source | None) -> str:
    if source is None:
        return ""
    line = source.text.strip()
    return f"{source}: " + (f"`{line}`\n  " if line else "")


class ExpectationFailed(AssertionError):
    """The charger did not meet a criterion. The message names the line, signal, bound, value and time."""

    def __init__(self, source: Source | None, message: str) -> None:
        self.source = source
        self.detail = message
        super().__init__(_where(source) + message)


class BenchError(RuntimeError):
    """The bench could not do or judge what a step asked (instrument, harness, twin)."""

    def __init__(self, source: Source | None, message: str) -> None:
        self.source = source
        self.detail = message
        super().__init__(_where(source) + message)


class NotSupportedByCharger(Exception):
    """The charger declares it lacks an optional feature (or, `wanted_absent`, has one the case is for chargers
    without): the scenario is skipped with `reason`, which names the feature first, then what was said."""

    def __init__(self, feature: str, said: str, *, wanted_absent: bool = False) -> None:
        self.feature = feature
        self.said = said
        self.wanted_absent = wanted_absent
        super().__init__(f"{feature} ({said})")

    @property
    def reason(self) -> str:
        lead = ("the case is for chargers without an optional feature" if self.wanted_absent
                else "charger lacks an optional feature")
        return f"{lead}: {self}"


class StationNotOnBench(NotSupportedByCharger):
    """A scenario requires a station (`bench has station NAME`) this bench lacks: skipped, not broken."""

    @property
    def reason(self) -> str:
        return f"the bench lacks a station the scenario requires: {self}"

