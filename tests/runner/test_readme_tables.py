"""The README's verdict and exit-code tables say what the code does.

Each row must begin with the phrase runner/exitcodes.py gives that verdict or code, every verdict and code
must have exactly one row, and the stated precedence must be the one `decide` applies. The behaviour behind
each code is proven by test_exit_codes_e2e.py and test_interrupt_e2e.py, against the same constants.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from runner.exitcodes import MEANINGS, VERDICTS, RunExit, Tally, decide

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _table(header: str) -> dict[str, str]:
    """The two-column markdown table whose header row is `| <header> | meaning |`, as {first: second}."""
    lines = README.splitlines()
    start = lines.index(f"| {header} | meaning |")
    rows: dict[str, str] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        first, second = (cell.strip() for cell in line.strip("|").split("|", 1))
        assert first not in rows, f"README: {header} {first!r} twice"
        rows[first] = second
    return rows


def test_the_verdict_table_names_every_verdict_as_the_code_does() -> None:
    rows = _table("verdict")
    assert set(rows) == set(VERDICTS)
    for verdict, phrase in VERDICTS.items():
        assert rows[verdict].startswith(phrase), (verdict, rows[verdict])


def test_the_exit_code_table_names_every_code_as_the_code_does() -> None:
    rows = _table("code")
    assert set(rows) == {str(int(c)) for c in RunExit}
    for code in RunExit:
        assert rows[str(int(code))].startswith(MEANINGS[code]), (code, rows[str(int(code))])


TRIGGERS = {
    RunExit.USAGE_ERROR: {"collection_errors": 1},
    RunExit.PREFLIGHT_FAILED: {"refused": True},
    RunExit.INTERRUPTED: {"interrupted": True},
    RunExit.CHARGER_FAILED: {"failed": 1},
    RunExit.BENCH_BROKEN: {"broken": 1},
}


def test_the_stated_precedence_is_the_one_applied() -> None:
    m = re.search(r"when several apply, the first of ([\d, ]+) wins", README)
    assert m, "README: the exit-code precedence sentence is missing"
    order = [RunExit(int(c)) for c in m.group(1).split(",")]
    assert set(order) == set(TRIGGERS)
    for before, after in itertools.combinations(order, 2):
        assert decide(RunExit.CHARGER_FAILED, Tally(**TRIGGERS[before], **TRIGGERS[after])) == before


def test_the_usage_error_row_says_when_scenarios_ran_all_the_same() -> None:
    """A spec file that does not compile is exit code 4 even when pytest's --continue-on-collection-errors ran
    the other spec files' scenarios, and even when one of them failed (test_summary_e2e.py runs it). The row
    said "nothing ran", unqualified: a reader of a 4 would not look for the verdicts that were written."""
    assert decide(RunExit.CHARGER_FAILED, Tally(failed=1, collection_errors=1)) == RunExit.USAGE_ERROR
    row = _table("code")[str(int(RunExit.USAGE_ERROR))]
    assert row.endswith("nothing ran, unless pytest's `--continue-on-collection-errors` was given: then the "
                        "scenarios of the spec files that compiled ran, their verdicts (failures too) are in "
                        "`verdicts.json`, and the run is INCOMPLETE"), row
