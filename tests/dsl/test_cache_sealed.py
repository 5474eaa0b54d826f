"""The plan cache holds a spec's id tokens and passwords only sealed: not readable without the spec."""

from __future__ import annotations

from pathlib import Path

import dsl

TOKEN = "C0FFEE4711"
PASSWORD = "rotated-secret-0042"
SPEC = f'''spec "Secrets in a spec"
  scenario "rotate"
    session starts with token "{TOKEN}"
    csms sets variable SecurityCtrlr.BasicAuthPassword to "{PASSWORD}"
'''


def test_cache_entries_hold_no_secret_in_clear_and_still_hit(tmp_path: Path) -> None:
    path = tmp_path / "s.spec"
    path.write_text(SPEC, encoding="utf-8")
    cache = tmp_path / "cache"
    first = dsl.load(path, cache_dir=cache)
    entries = list(cache.rglob("*.pickle"))
    assert entries
    for entry in entries:
        data = entry.read_bytes()
        for secret in (TOKEN, PASSWORD, "Secrets in a spec"):
            assert secret.encode() not in data and secret.encode("utf-16-le") not in data
    for lazy in (False, True):
        again = dsl.load(path, cache_dir=cache, lazy=lazy)  # a hit, opened with the spec's own digest
        assert again == first
        assert again[0].scenarios[0].steps[0].args["token"] == TOKEN
