"""Lazy cache hits: names and tags at once, steps read when used, and always the plans a full load gives."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

import dsl
from dsl.lazy import LazyScenarioPlan, LazySpecPlan
from dsl.plan import ScenarioPlan, SpecPlan

SPEC = '''spec "S"
  tags ac, slow
  setup
    charger booted
  scenario "limit {l}" for l in 6 A, 10 A
    ev draws {l}
    expect within 30 s: analyzer current L1 <= {l} + 0.6 A

spec "T"
  scenario "one"
    ev draws 16 A
'''


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(dsl.PLAN_CACHE_ENV, raising=False)
    path = tmp_path / "s.spec"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_lazy_hit_defers_steps_and_equals_the_full_plans(spec: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    full = dsl.load(spec, cache_dir=cache)
    assert all(type(s) is ScenarioPlan for p in full for s in p.scenarios)  # a miss is never lazy
    lazy = dsl.load(spec, cache_dir=cache, lazy=True)
    first = lazy[0].scenarios[0]
    assert isinstance(first, LazyScenarioPlan) and isinstance(first, ScenarioPlan)
    assert (first.name, first.tags, lazy[0].title, lazy[1].scenarios[0].name) == ("limit 6 A", ("ac", "slow"),
                                                                                   "S", "one")
    assert "steps" not in vars(first) and "_entry" in vars(first)
    assert [type(s).__name__ for s in first.steps] == ["Action", "ExpectWithin"]  # read now
    assert first.params == {"l": "6 A"} and first.source.line == 5
    assert "steps" in vars(first) and "_entry" not in vars(first)
    assert lazy == full and full == lazy
    assert dsl.load(spec, cache_dir=cache, lazy=True)[0].scenarios[1] == full[0].scenarios[1]


def test_lazy_plans_pickle_and_copy_as_plain_plans(spec: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    full = dsl.load(spec, cache_dir=cache)
    lazy = dsl.load(spec, cache_dir=cache, lazy=True)[0].scenarios[1]
    again = pickle.loads(pickle.dumps(lazy))
    assert type(again) is ScenarioPlan and again == full[0].scenarios[1]
    assert copy.deepcopy(dsl.load(spec, cache_dir=cache, lazy=True)) == full
    with pytest.raises(AttributeError):
        _ = lazy.no_such_field


def test_cleared_cache_compiles_again_and_an_edited_file_is_an_error(spec: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    full = dsl.load(spec, cache_dir=cache)
    lazy = dsl.load(spec, cache_dir=cache, lazy=True)
    for entry in cache.rglob("*.pickle"):
        entry.unlink()
    assert lazy[0].scenarios[0].steps == full[0].scenarios[0].steps
    assert lazy[1].excerpt == full[1].excerpt  # the spec's text too, read after the entry went

    dsl.load(spec, cache_dir=cache)
    stale = dsl.load(spec, cache_dir=cache, lazy=True)
    for entry in cache.rglob("*.pickle"):
        entry.write_bytes(b"truncated")
    spec.write_text(SPEC.replace("16 A", "10 A"), encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"s\.spec: the spec file changed after it was collected"):
        _ = stale[1].scenarios[0].steps


def test_lazy_hit_reads_the_excerpt_when_used(spec: Path, tmp_path: Path) -> None:
    """The spec's text (evidence) is not in the outline a collection reads; it comes with the full plans."""
    cache = tmp_path / "cache"
    full = dsl.load(spec, cache_dir=cache)
    lazy = dsl.load(spec, cache_dir=cache, lazy=True)
    assert all(isinstance(p, LazySpecPlan) and isinstance(p, SpecPlan) for p in lazy)
    assert "excerpt" not in vars(lazy[0]) and "_entry" in vars(lazy[0])
    assert lazy[0].excerpt == full[0].excerpt and lazy[0].excerpt.startswith('spec "S"\n  tags ac, slow')
    assert "_entry" not in vars(lazy[0])  # read once, then held
    assert lazy[1].excerpt == full[1].excerpt == 'spec "T"\n  scenario "one"\n    ev draws 16 A'
    again = dsl.load(spec, cache_dir=cache, lazy=True)
    assert again == full and full == again  # equality reads it too
    plain = pickle.loads(pickle.dumps(dsl.load(spec, cache_dir=cache, lazy=True)[0]))
    assert type(plain) is SpecPlan and plain == full[0] and plain.excerpt == full[0].excerpt
    with pytest.raises(AttributeError):
        _ = again[0].no_such_field
