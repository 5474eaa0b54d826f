"""The twin bench: a virtual charger, analyzer and EV emulator on loopback, speaking the real protocols.

One :class:`~lab.twin.physics.Physics` per station couples them; one shared Clock times them all. The
runner starts it on the bench loop and opens the instruments at the addresses it returns:

    twin = Twin(bench, clock, faults=parse_faults({"meter_gain": "1.03"}))
    endpoints = loop.run(twin.start(csms_url), timeout=10)
    endpoints["TWIN-AC22-001"]["analyzer"]   # "TCPIP0::127.0.0.1::40123::SOCKET"
    endpoints["TWIN-AC22-001"]["ev2"]        # "socket://127.0.0.1:40127"
    loop.run(twin.stop(), timeout=10)

Each EVSE n gets an analyzer (role ``analyzer`` for EVSE 1, ``analyzer<n>`` after) and an EV emulator
(``ev``, ``ev<n>``); each station gets one token reader (``reader``, its requests name the EVSE); each
station's charger connects to ``<csms_url>/<station id>``. Each station also has a local energy manager
(``ems``: a Modbus TCP register file, lab/twin/ems_server.py) that its charger polls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from instruments.clock import Clock
from lab.bench import BenchConfig, StationConfig
from lab.twin.analyzer_server import AnalyzerServer
from lab.twin.charger import VirtualCharger
from lab.twin.ems_server import EmsServer
from lab.twin.ev_server import EvServer
from lab.twin.faults import FaultError, Faults, parse_fault_args, parse_faults, valid_knobs
from lab.twin.lineserver import LINE_FAULTS
from lab.twin.options import TwinOptionError, check_options, meter_start_wh, reboot_s, status_report
from lab.twin.physics import Physics
from lab.twin.reader_server import ReaderServer
from lab.twin.security import ChargerSecurity, TwinSecurityError

__all__ = [
    "FaultError",
    "Faults",
    "Twin",
    "TwinOptionError",
    "TwinSecurityError",
    "TwinStation",
    "parse_fault_args",
    "parse_faults",
    "valid_knobs",
]


def role(kind: str, evse: int) -> str:
    """Instrument role of `kind` ("analyzer" or "ev") on EVSE `evse`: analyzer, analyzer2, ..."""
    return kind if evse == 1 else f"{kind}{evse}"


@dataclass
class TwinStation:
    """One station of the twin: its physics, charger and instrument servers."""

    config: StationConfig
    physics: Physics
    charger: VirtualCharger
    analyzers: dict[int, AnalyzerServer] = field(default_factory=dict)
    evs: dict[int, EvServer] = field(default_factory=dict)
    reader: ReaderServer | None = None
    ems: EmsServer | None = None

    def servers(self) -> dict[str, AnalyzerServer | EvServer | ReaderServer | EmsServer]:
        """Every instrument server of the station by role."""
        out: dict[str, AnalyzerServer | EvServer | ReaderServer | EmsServer] = {
            role("analyzer", n): a for n, a in self.analyzers.items()}
        out.update({role("ev", n): e for n, e in self.evs.items()})
        if self.reader is not None:
            out["reader"] = self.reader
        if self.ems is not None:
            out["ems"] = self.ems
        return out

    def endpoints(self) -> dict[str, str]:
        return {name: server.address for name, server in self.servers().items()}


class Twin:
    def __init__(self, bench: BenchConfig, clock: Clock, faults: Faults | None = None) -> None:
        self.bench = bench
        self.clock = clock
        twin_cfg = bench.twin
        self.faults = faults if faults is not None else parse_faults(twin_cfg.faults if twin_cfg else {})
        options = dict(twin_cfg.options) if twin_cfg else {}
        check_options(options)   # (as the bench file loads; TwinOptionError names the option)
        reports = status_report(options)
        self.stations: dict[str, TwinStation] = {}
        for cfg in bench.stations:
            physics = Physics(
                cfg,
                clock,
                ev_lag_s=twin_cfg.ev_lag_s if twin_cfg else 3.0,
                noise=twin_cfg.noise if twin_cfg else 0.0005,
                faults=self.faults,
                meter_start_wh=meter_start_wh(options),
            )
            charger = VirtualCharger(
                cfg,
                physics,
                clock,
                self.faults,
                reboot_s=reboot_s(options),
                security=ChargerSecurity.from_bench(bench.csms, cfg.id),
                network_slot=bench.csms.configuration_slot,
                status_report=reports,
            )
            station = TwinStation(cfg, physics, charger)
            for n in range(1, cfg.evses + 1):
                model = "WT333" if cfg.phases == 3 else "WT310"
                station.analyzers[n] = AnalyzerServer(
                    physics, n, serial=self._serial(cfg, role("analyzer", n), f"TWIN-{model}-{n:04d}")
                )
                station.evs[n] = EvServer(physics, n, serial=self._serial(cfg, role("ev", n), f"TWIN-EVE-{n:04d}"))
            # The reader is the charger's own: dead without its supply, reading nothing while it boots.
            station.reader = ReaderServer(charger.present_token, serial=self._serial(cfg, "reader", "TWIN-RDR-0001"),
                                          powered=lambda c=charger: c.powered,
                                          running=lambda c=charger: not c.is_down)
            station.ems = charger.ems = EmsServer()
            self.stations[cfg.id] = station
        self._started = False

    @staticmethod
    def _serial(cfg: StationConfig, role_name: str, default: str) -> str:
        inst = cfg.instruments.get(role_name)
        return inst.serial if inst is not None and inst.serial else default

    @property
    def physics(self) -> Physics:
        """The first station's physics (the usual one-station twin)."""
        return next(iter(self.stations.values())).physics

    @property
    def charger(self) -> VirtualCharger:
        return next(iter(self.stations.values())).charger

    def station(self, station_id: str | None = None) -> TwinStation:
        if station_id is None:
            return next(iter(self.stations.values()))
        try:
            return self.stations[station_id]
        except KeyError:
            raise KeyError(f"the twin has no station {station_id!r}; it has {list(self.stations)}") from None

    def instrument_fault(self, station_id: str | None, role_name: str, fault: str | None) -> None:
        """Make one twin instrument's line fail (`silent`, `garbage`, `drop`; see lineserver.LINE_FAULTS), or
        heal it with None: a rehearsal of the bench faults a run must report as broken, never as failed."""
        if fault is not None and fault not in LINE_FAULTS:
            raise ValueError(f"unknown instrument fault {fault!r}; one of {', '.join(LINE_FAULTS)}")
        st = self.station(station_id)
        servers = st.servers()
        try:
            servers[role_name].line_fault = fault
        except KeyError:
            raise KeyError(f"the twin station {st.config.id!r} has no instrument {role_name!r}; it has "
                           f"{sorted(servers)}") from None

    def heal_instruments(self) -> None:
        for st in self.stations.values():
            for server in st.servers().values():
                server.line_fault = None

    async def start(self, csms_url: str) -> dict[str, dict[str, str]]:
        """Open the instrument servers, start the chargers; the instrument addresses per station and role."""
        if self._started:
            raise RuntimeError("the twin is already running; stop() it before starting it again")
        self._started = True
        out: dict[str, dict[str, str]] = {}
        try:
            for sid, st in self.stations.items():
                for server in st.servers().values():
                    await server.start("127.0.0.1", 0)
                await st.charger.start(csms_url)
                out[sid] = st.endpoints()
        except BaseException:
            await self.stop()  # a half-started twin would hold its ports until the process ends
            raise
        return out

    async def stop(self) -> None:
        for st in self.stations.values():
            await st.charger.stop()
            for server in st.servers().values():
                await server.stop()
        self._started = False
