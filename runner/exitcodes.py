"""Exit codes a campaign script can act on, for `chargespec run` and for plain `pytest` with the plugin.

pytest's numbers are kept where they mean the same; 3 (pytest's "internal error") becomes "the bench could
not judge", which an internal error also is. When several apply, the first in this order wins: a usage
error, an interruption (the run is incomplete, whatever it found so far), a charger failure, a broken
scenario. The README's exit-code table is checked against this module by tests/runner/test_readme_tables.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class RunExit(IntEnum):
    PASSED = 0  # every selected scenario passed (or was skipped: the charger lacks an optional feature)
    CHARGER_FAILED = 1  # a charger did not meet a criterion in at least one scenario
    INTERRUPTED = 2  # SIGINT/SIGTERM (Ctrl-C): the run is incomplete
    BENCH_BROKEN = 3  # a scenario was broken (the bench could not judge) and no charger failed
    USAGE_ERROR = 4  # command line, bench file or spec file error: nothing ran
    NO_SPECS = 5  # no scenario was selected
    NO_REPORT = 6  # `chargespec run --html`: every scenario passed but the HTML report could not be made


@dataclass(frozen=True)
class Tally:
    """What a run did, as the plugin counted it."""

    failed: int = 0  # scenarios whose charger did not meet a criterion
    broken: int = 0  # scenarios the bench could not judge (including an interrupted one)
    collection_errors: int = 0  # spec files that did not parse or check
    interrupted: bool = False  # SIGINT or SIGTERM reached the run


def decide(pytest_status: int, tally: Tally) -> RunExit | int:
    """The exit code of a chargespec session from pytest's own status and the plugin's tally."""
    if pytest_status == RunExit.USAGE_ERROR or tally.collection_errors:
        return RunExit.USAGE_ERROR
    if tally.interrupted or pytest_status == RunExit.INTERRUPTED:
        return RunExit.INTERRUPTED
    if tally.failed:
        return RunExit.CHARGER_FAILED
    if tally.broken or pytest_status == RunExit.BENCH_BROKEN:  # pytest's internal error: nothing judged
        return RunExit.BENCH_BROKEN
    if pytest_status == RunExit.NO_SPECS:
        return RunExit.NO_SPECS
    if pytest_status == RunExit.CHARGER_FAILED:
        # pytest counted a failure the plugin did not classify (e.g. a plain Python test in the same run):
        # it is a failure, not a pass.
        return RunExit.CHARGER_FAILED
    return pytest_status
