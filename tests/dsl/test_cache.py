"""The plan cache: a hit returns the same plans without compiling; nothing stale is ever served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dsl
import dsl.cache

SPEC = 'spec "S"\n  scenario "a"\n    include setup "up" from "common.spec"\n    ev draws 16 A\n'
COMMON = 'setup "up"\n  charger booted\n'


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files dsl.load really compiled (a cache hit compiles nothing)."""
    calls: list[str] = []
    real = dsl.analyze

    def counting(spec_file: Any, *args: Any, **kw: Any) -> Any:
        calls.append(Path(spec_file.file).name)
        return real(spec_file, *args, **kw)

    monkeypatch.setattr(dsl, "analyze", counting)
    monkeypatch.delenv(dsl.PLAN_CACHE_ENV, raising=False)
    return calls


def write(tmp_path: Path) -> Path:
    (tmp_path / "common.spec").write_text(COMMON, encoding="utf-8")
    spec = tmp_path / "s.spec"
    spec.write_text(SPEC, encoding="utf-8")
    return spec


def test_hit_returns_equal_plans_without_compiling(tmp_path: Path, compiles: list[str]) -> None:
    spec, cache = write(tmp_path), tmp_path / "cache"
    first = dsl.load(spec, cache_dir=cache)
    second = dsl.load(spec, cache_dir=cache)
    assert second == first and compiles == ["s.spec"]
    assert dsl.load(spec) == first and compiles == ["s.spec", "s.spec"]  # no cache_dir: no cache


def test_environment_variable_names_the_cache(tmp_path: Path, compiles: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write(tmp_path)
    monkeypatch.setenv(dsl.PLAN_CACHE_ENV, str(tmp_path / "envcache"))
    dsl.load(spec)
    dsl.load(spec)
    assert compiles == ["s.spec"] and any((tmp_path / "envcache").rglob("*.pickle"))


def test_changed_file_included_file_registry_or_tool_invalidate(tmp_path: Path, compiles: list[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    spec, cache = write(tmp_path), tmp_path / "cache"
    dsl.load(spec, cache_dir=cache)

    spec.write_text(SPEC.replace("16 A", "10 A"), encoding="utf-8")
    (plan,) = dsl.load(spec, cache_dir=cache)
    assert plan.scenarios[0].steps[-1].args["current"].value == 10.0

    (tmp_path / "common.spec").write_text(COMMON + "  ev plugs in\n", encoding="utf-8")
    (plan,) = dsl.load(spec, cache_dir=cache)
    assert [s.step for s in plan.scenarios[0].steps] == ["charger.booted", "ev.plugs_in", "ev.draws"]

    registry = dsl.builtin_registry().copy()
    registry.define("relay opens", name="relay.opens")
    dsl.load(spec, registry, cache_dir=cache)

    monkeypatch.setattr(dsl.cache, "tool_fingerprint", lambda: "another chargespec")
    dsl.load(spec, cache_dir=cache)
    assert compiles == ["s.spec"] * 5


def test_files_with_errors_are_never_cached_and_bad_entries_are_misses(tmp_path: Path,
                                                                       compiles: list[str]) -> None:
    spec, cache = write(tmp_path), tmp_path / "cache"
    spec.write_text(SPEC.replace("16 A", "16 kwh"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(dsl.SpecErrors):
            dsl.load(spec, cache_dir=cache)
    assert not any(cache.rglob("*.pickle"))

    spec.write_text(SPEC, encoding="utf-8")
    first = dsl.load(spec, cache_dir=cache)
    for entry in cache.rglob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    assert dsl.load(spec, cache_dir=cache) == first
    assert len(compiles) == 4
