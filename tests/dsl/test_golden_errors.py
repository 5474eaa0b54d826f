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


@pytest.mark.parametrize("cached", [False, True], ids=["plain", "plan-cache"])
def test_collection_reports_what_check_reports(cached: bool, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    """pytest collection loads each file (dsl.load, with the plan cache, lazily) and shows SpecErrors.render();
    `chargespec check` shows check_paths: the same errors, rendered alike, for every golden mistake."""
    monkeypatch.chdir(GOLDEN)
    for case in CASES:
        checked = [e.render() for e in dsl.check_paths([case.name], include_root=GOLDEN)]  # (as the CLI: cwd)
        with pytest.raises(dsl.SpecErrors) as raised:
            dsl.load(case.name, cache_dir=tmp_path if cached else None, lazy=True, include_root=GOLDEN)
        assert [e.render() for e in raised.value.errors] == checked, case.name
