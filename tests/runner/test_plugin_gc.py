"""The plugin's garbage-collection setting while collecting: off then, on again after, nothing left frozen,
and cyclic garbage made while collecting still collected (in a process of its own: the setting applies
only where nothing else froze objects first)."""

from __future__ import annotations

import json

import pytest

CONFTEST = '''
import gc
import json
import weakref

import pytest

seen = {}


class Cycle:
    pass


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".spec":
        seen["collecting"] = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0}
        cycle = Cycle()
        cycle.me = cycle  # garbage once this returns, freed only by the cycle collector
        seen["cycle"] = weakref.ref(cycle)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):  # (after pytest_collection, and its wrappers, returned)
    seen["after"] = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
    gc.collect()
    seen["cycle_collected"] = seen.pop("cycle")() is None
    with open("gc.json", "w") as f:
        json.dump(seen, f)
'''


def test_collector_off_while_collecting_and_everything_collectable_after(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    (pytester.path / "one.spec").write_text('spec "One"\n  scenario "s"\n    charger booted\n', encoding="utf-8")
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    seen = json.loads((pytester.path / "gc.json").read_text())
    assert seen == {"collecting": {"enabled": False, "frozen": True},
                    "after": {"enabled": True, "frozen": 0},
                    "cycle_collected": True}
