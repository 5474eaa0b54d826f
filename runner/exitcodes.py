"""Verdicts and exit codes: what a scenario and a run can end as, named once for the code and the README.

Exit codes a campaign script can act on, for `chargespec run` and for plain `pytest` with the plugin.

pytest's numbers are kept where they mean the same; 3 (pytest's "internal error") becomes "the bench could
not judge", which an internal error also is. When several apply, the first in this order wins: a usage
error, a preflight refusal (nothing ran), an interruption (the run is incomplete, whatever it found so far),
a charger failure, a broken scenario. The README's verdict and exit-code tables are checked against this module by
tests/runner/test_readme_tables.py: each row's meaning begins with the phrase given here.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from enum import IntEnum
from typing import NoReturn

# A scenario's verdict (also its Allure status), from best to worst: the worst phase of a scenario counts.
VERDICTS: dict[str, str] = {
    "passed": "every expectation held",
    "skipped": "the charger lacks an optional feature",
    "broken": "the bench could not judge",
    "failed": "the charger did not meet a criterion",
}


class RunExit(IntEnum):
    PASSED = 0  # every selected scenario passed (or was skipped: the charger lacks an optional feature)
    CHARGER_FAILED = 1  # a charger did not meet a criterion in at least one scenario
    INTERRUPTED = 2  # SIGINT/SIGTERM (Ctrl-C): the run is incomplete
    BENCH_BROKEN = 3  # a scenario was broken (the bench could not judge) and no charger failed
    USAGE_ERROR = 4  # command line, bench file or spec file error: nothing ran (with pytest's
    # --continue-on-collection-errors the other spec files' scenarios ran; the run is incomplete)
    NO_SPECS = 5  # no scenario was selected
    NO_REPORT = 6  # every scenario passed but the acceptance summary (or, with --html, the HTML report) was not made
    PREFLIGHT_FAILED = 7  # the preflight found the bench or a charger not as the bench file says: nothing ran


MEANINGS: dict[RunExit, str] = {
    RunExit.PASSED: "every selected scenario passed",
    RunExit.CHARGER_FAILED: "a charger failed a criterion",
    RunExit.INTERRUPTED: "interrupted",
    RunExit.BENCH_BROKEN: "the bench broke and no charger failed",
    RunExit.USAGE_ERROR: "usage error",
    RunExit.NO_SPECS: "no scenario selected",
    RunExit.NO_REPORT: "the acceptance summary or the HTML report could not be made",
    RunExit.PREFLIGHT_FAILED: "the preflight found the bench or a charger not as the bench file says",
}


@dataclass(frozen=True)
class Tally:
    """What a run did, as the plugin counted it."""

    failed: int = 0  # scenarios whose charger did not meet a criterion
    broken: int = 0  # scenarios the bench could not judge (including an interrupted one)
    collection_errors: int = 0  # spec files that did not parse or check
    interrupted: bool = False  # SIGINT or SIGTERM reached the run
    refused: bool = False  # the preflight found the bench not as the bench file says, and no scenario ran


def decide(pytest_status: int, tally: Tally) -> RunExit | int:
    """The exit code of a chargespec session from pytest's own status and the plugin's tally."""
    if pytest_status == RunExit.USAGE_ERROR or tally.collection_errors:
        return RunExit.USAGE_ERROR
    if tally.refused:
        return RunExit.PREFLIGHT_FAILED
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


class UsageParser(argparse.ArgumentParser):
    """The command line of `chargespec` and its subcommands: a mistake in it is a usage error, exit 4, as the
    table says. (argparse's own is 2, which here means "interrupted": a campaign script would take a typo in
    an option for a Ctrl-C.) Subparsers made by add_subparsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(int(RunExit.USAGE_ERROR), f"{self.prog}: error: {message}\n")
