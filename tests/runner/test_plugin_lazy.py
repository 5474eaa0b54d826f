"""Collection from a warm plan cache: the same items, ids and marks, and each item's plan (read when used)
equal to the plan a fresh compile gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import dsl
from dsl.lazy import LazyScenarioPlan

REPO = Path(__file__).resolve().parents[2]

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
    assert "excerpt" not in vars(warm[0].spec)  # nor the spec's text (evidence reads it when it runs)
    fresh = dsl.load(spec)[0]
    assert [i.plan for i in warm] == list(fresh.scenarios) and warm[0].spec == fresh
    assert warm[1].reportinfo() == (Path(spec), 4, "Limits :: limit 10 A")


EVIDENCE_SPEC = '''# Not in the excerpt: a top-level comment before the spec.
spec "Excerpt from a warm cache"
  tags ac

  scenario "booted"
    charger booted
    wait 2 s
'''


def test_a_run_from_a_warm_cache_writes_the_spec_text_into_the_evidence(tmp_path: Path) -> None:
    """The second run collects from the plan cache the first wrote (no spec text in what collection reads);
    its evidence still holds the spec's text, read with the steps when the scenario runs."""
    (tmp_path / "x.spec").write_text(EVIDENCE_SPEC, encoding="utf-8")
    texts = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "runner.cli", "run", "x.spec", "--speed", "60", "--out", "out"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        texts.append(next((tmp_path / "out" / "latest" / "evidence").rglob("spec.txt")).read_text(encoding="utf-8"))
    assert any((tmp_path / "out").rglob("*.pickle")), "no plan cache was written: the second run was not warm"
    assert texts[0] == texts[1] == EVIDENCE_SPEC.split("\n", 1)[1].rstrip("\n")
