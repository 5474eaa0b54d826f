"""The driver registry: built-in names, unknown names, duplicates failing loudly."""

from __future__ import annotations

import pytest

from instruments import registry
from instruments.base import EvEmulator, PowerAnalyzer
from instruments.drivers.yokogawa_wt300 import YokogawaWT300


def test_builtin_drivers_are_registered_with_their_protocols() -> None:
    for name in ("yokogawa-wt300", "yokogawa-wt1800", "yokogawa-wt5000", "hioki-pw3390", "zes-lmg600",
                 "generic-scpi"):
        assert issubclass(registry.driver(name), PowerAnalyzer), name
    for name in ("chargespec-ev", "abcd-ev"):
        assert issubclass(registry.driver(name), EvEmulator), name
    for name, cls in registry.drivers().items():
        assert cls.driver_name == name  # type: ignore[attr-defined]


def test_unknown_driver_lists_the_known_ones() -> None:
    with pytest.raises(registry.UnknownDriver) as e:
        registry.driver("yokogawa-wt3000")
    assert "unknown instrument driver 'yokogawa-wt3000'" in str(e.value)
    assert "yokogawa-wt300" in str(e.value)


def test_registering_a_taken_name_fails_loudly() -> None:
    with pytest.raises(registry.DuplicateDriver) as e:
        @registry.register("yokogawa-wt300")
        class Impostor(YokogawaWT300):
            pass
    taken_by = "instruments.drivers.yokogawa_wt300.YokogawaWT300"
    assert f"'yokogawa-wt300' is already registered by {taken_by}" in str(e.value)
    assert registry.driver("yokogawa-wt300") is YokogawaWT300


def test_create_builds_a_closed_driver() -> None:
    ev = registry.create("chargespec-ev", name="ev", address="socket://127.0.0.1:9")
    assert ev.name == "ev" and ev.address == "socket://127.0.0.1:9" and not ev.is_open
