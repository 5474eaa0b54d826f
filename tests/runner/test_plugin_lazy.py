"""Collection from a warm plan cache: the same items, ids and marks, and each item's plan (read when used)
equal to the plan a fresh compile gives."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsl
from dsl.lazy import LazyScenarioPlan

SPEC = '''spec "Limits"
  tags ac
  setup
    charger booted
  scenario "limit {l}" for l in 6 A, 10 A
    ev draws {l}
    expect within 30 s: analyzer current L1 <= {l} + 0.6 A
'''


def test_warm_cache_items_equal_cold_ones(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = pytester.path / "limits.spec"
    spec.write_text(SPEC, encoding="utf-8")
    monkeypatch.setenv(dsl.PLAN_CACHE_ENV, str(pytester.path / "plans"))
    cold, _ = pytester.inline_genitems("-p", "no:cacheprovider", str(spec))
    warm, _ = pytester.inline_genitems("-p", "no:cacheprovider", str(spec))
    assert [i.nodeid for i in warm] == [i.nodeid for i in cold] == [
        "limits.spec::Limits::limit 6 A", "limits.spec::Limits::limit 10 A"]
    assert all(type(i.plan) is LazyScenarioPlan for i in warm)
    assert [m.name for m in warm[0].iter_markers()] == ["ac"]
    assert "steps" not in vars(warm[0].plan)  # collection read no steps
    fresh = dsl.load(spec)[0]
    assert [i.plan for i in warm] == list(fresh.scenarios) and warm[0].spec == fresh
    assert warm[1].reportinfo() == (Path(spec), 4, "Limits :: limit 10 A")
