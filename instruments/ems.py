"""The abstract local energy manager (bench role ``ems``): what the bench tells a charger about the site.

An EMS sets a site limit (W in total or A per phase), keeps a heartbeat going so the charger knows it is
alive, and tells the charger what to fall back to when the heartbeat stops. On a physical bench the
driver writes a real EMS's or a PLC simulator's registers, which the charger polls; on the twin it writes
the twin EMS server's (lab/twin/ems_server.py). Drivers register by name like every instrument:

    ems = create("modbus-ems", name="ems", address="modbus-tcp://10.0.0.7:502", clock=clock)
    ems.open()                                     # the heartbeat starts
    ems.set_limit(SiteLimit(11000, "W"))
    ems.set_fallback(SiteLimit(6000, "W"), watchdog_s=60)
    ems.go_silent()                                # the heartbeat stops; the charger's watchdog runs out
    ems.come_back()
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from instruments.base import Instrument
from instruments.ems_map import EmsRegisters, SiteLimit

__all__ = ["EnergyManager", "SiteLimit"]


class EnergyManager(Instrument):
    kind = "ems"
    #: Told of a fault of the background heartbeat as it happens (the bench: the scenario is broken); the
    #: next call raises it as well.
    on_error: Callable[[Exception], None] | None = None

    @abstractmethod
    def set_limit(self, limit: SiteLimit | None) -> None:
        """The site limit the charger must hold to; None releases it."""

    @abstractmethod
    def set_fallback(self, limit: SiteLimit | None, watchdog_s: int) -> None:
        """What the charger applies once `watchdog_s` seconds pass without a heartbeat (None: no limit)."""

    @abstractmethod
    def go_silent(self) -> None:
        """Stop the heartbeat (a crashed EMS, a cut cable): the charger's watchdog starts running out."""

    @abstractmethod
    def come_back(self) -> None:
        """Resume the heartbeat at once."""

    @property
    @abstractmethod
    def silent(self) -> bool: ...

    @abstractmethod
    def read(self) -> EmsRegisters:
        """The EMS's registers as the charger sees them (its CHARGER_STATE included)."""

    def reset(self) -> None:
        """Back to a fresh EMS between scenarios: no limit, no fallback, no watchdog, heartbeat running."""
        self.set_limit(None)
        self.set_fallback(None, 0)
        self.come_back()
