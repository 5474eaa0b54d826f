"""Drivers by name. A bench file names a driver; the registry builds it.

    @register("yokogawa-wt300")
    class WT300(PowerAnalyzer): ...

    analyzer = create("yokogawa-wt300", name="analyzer", address="TCPIP0::...::SOCKET", clock=clock)

Registering a name twice is a programming error and fails loudly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from instruments.base import Instrument

T = TypeVar("T", bound=type[Instrument])

_DRIVERS: dict[str, type[Instrument]] = {}
# Modules that register the built-in drivers when imported; loaded on first lookup.
_BUILTIN_MODULES: tuple[str, ...] = ("instruments.drivers",)
_loaded = False


class DuplicateDriver(ValueError):
    pass


class UnknownDriver(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown instrument driver {self.name!r}; known drivers: {', '.join(self.known) or '(none)'}"


def register(name: str) -> Callable[[T], T]:
    def deco(cls: T) -> T:
        if name in _DRIVERS and _DRIVERS[name] is not cls:
            raise DuplicateDriver(
                f"instrument driver {name!r} is already registered by {_DRIVERS[name].__module__}."
                f"{_DRIVERS[name].__qualname__}; {cls.__module__}.{cls.__qualname__} cannot take the name"
            )
        _DRIVERS[name] = cls
        cls.driver_name = name  # type: ignore[attr-defined]
        return cls

    return deco


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)


def driver(name: str) -> type[Instrument]:
    _load_builtins()
    try:
        return _DRIVERS[name]
    except KeyError:
        raise UnknownDriver(name, sorted(_DRIVERS)) from None


def drivers() -> dict[str, type[Instrument]]:
    _load_builtins()
    return dict(_DRIVERS)


def create(driver_name: str, *, name: str, address: str, **options: Any) -> Instrument:
    return driver(driver_name)(name=name, address=address, **options)
