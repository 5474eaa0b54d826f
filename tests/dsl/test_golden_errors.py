"""Golden tests of error messages: each tests/dsl/golden/*.spec holds one mistake a person makes, and the
*.expected next to it the exact rendered output of `chargespec check` (headline, source line, carets).

Regenerate after an intended change of wording: CHARGESPEC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/dsl
(then read the diff: every changed message is a change users see).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dsl

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.spec"))
UPDATE = os.environ.get("CHARGESPEC_UPDATE_GOLDEN") == "1"


def rendered(case: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(GOLDEN)  # messages name the file as a person passed it: "03-x.spec:3:5: ..."
    return "\n".join(e.render() for e in dsl.check_paths([case.name])) + "\n"


def test_there_are_at_least_twenty_distinct_mistakes() -> None:
    assert len(CASES) >= 20
    messages = set()
    for case in CASES:
        expected = case.with_suffix(".expected")
        if expected.exists():
            messages.add(expected.read_text(encoding="utf-8").split("\n")[0].split(": ", 1)[1])
    assert len(messages) >= 20


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_error_message_matches_golden(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = rendered(case, monkeypatch)
    assert got.strip(), f"{case.name} has no error: a golden case must hold a mistake"
    expected_path = case.with_suffix(".expected")
    if UPDATE:
        expected_path.write_text(got, encoding="utf-8")
    assert expected_path.exists(), f"no {expected_path.name}: run with CHARGESPEC_UPDATE_GOLDEN=1"
    assert got == expected_path.read_text(encoding="utf-8")
