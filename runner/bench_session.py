"""Opening a bench for a run: clock, loop thread, recorder, CSMS harness, twin, instruments, samplers.

One :class:`BenchSession` per pytest process; it is opened on the first scenario and closed at the end of
the session. A station (charger + its analyzer and EV emulator) is what a scenario runs against.

    session = BenchSession(load_bench("lab/benches/twin.toml"), evidence=Path("out/evidence"))
    session.open()
    station = session.station()
    ...
    session.close()
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dsl.plan import Source
from dsl.signals import evse_key
from instruments.base import EvEmulator, PowerAnalyzer, PowerSwitch, PwmReading, TokenReader, UserInterface
from instruments.clock import Clock
from instruments.ems import EnergyManager
from instruments.errors import InstrumentError, InstrumentStateError
from instruments.iec61851 import current_for_duty
from instruments.registry import create
from instruments.sampler import Sampler, poll_interval_s
from lab.bench import BenchConfig, StationConfig
from lab.loop import LoopThread, LoopTimeout
from runner.csms.harness import CsmsHarness
from runner.errors import BenchError
from runner.recorder import CALL, CALLRESULT, Frame, Recorder
from runner.station_sum import StationSum
from runner.units import show_t

if TYPE_CHECKING:
    from runner.leftovers import Left

# Real seconds a bench-loop call may take on top of its bench-time budget (loopback latency, slow CI).
_REAL_GRACE_S = 5.0


@dataclass(frozen=True)
class BenchFault:
    """An instrument fault a background task (a sampler, the EMS heartbeat) hit, and the bench time it was seen:
    the scenario is broken, and its message says when."""

    t: float
    error: Exception


def recording_failed(source: Source | None, fault: BenchFault, t0: float) -> BenchError:
    """The broken verdict of `fault`: what failed and when, in the scenario's time (it began at bench t0)."""
    error = BenchError(source, f"the bench failed while recording, at {show_t(fault.t - t0)}: {fault.error}")
    error.__cause__ = fault.error
    return error


def twin_crashed(station_id: str, err: BaseException) -> Exception:
    """The fault a twin charger's stopped task (lab/twin/charger.py, `crashed`) is reported as."""
    fault = RuntimeError(f"the twin's charger {station_id} stopped working ({type(err).__name__}: {err}): a twin "
                         "bug, so nothing it did or failed to do since is the charger's")
    fault.__cause__ = err
    return fault


@dataclass
class Station:
    config: StationConfig
    session: BenchSession
    analyzers: dict[int, PowerAnalyzer] = field(default_factory=dict)  # by EVSE id
    evs: dict[int, EvEmulator] = field(default_factory=dict)
    readers: dict[int, TokenReader] = field(default_factory=dict)  # by EVSE id; 1 alone serves every EVSE
    samplers: list[Sampler] = field(default_factory=list)
    broken: list[BenchFault] = field(default_factory=list)  # (see fault())
    needs_recovery: bool = False  # an instrument failed in the last scenario: reopen before the next
    supply: PowerSwitch | None = None  # the `power` role: a switch on the charger's supply
    ui: UserInterface | None = None  # the `ui` role: works the charger's own user interface
    supply_off: bool = False  # a scenario cut the supply and has not restored it (the return to idle does)
    parked: set[int] = field(default_factory=set)  # EVSEs whose bay a scenario occupied (`ev parks`)
    ems_manager: EnergyManager | None = None  # the `ems` role: the site's energy manager
    ems_touched: bool = False  # a scenario spoke for the EMS; the return to idle resets it
    # What the last return to idle on this station could not put back, and by which scenario: tried again
    # before the next scenario on it, which is broken if it stays (runner/leftovers.py). None: nothing left.
    leftovers: Left | None = None

    @property
    def id(self) -> str:
        return self.config.id

    def fault(self, error: Exception) -> None:
        """A background task's instrument fault, seen now (called from its thread)."""
        self.broken.append(BenchFault(self.session.clock.now(), error))

    def analyzer(self, evse: int = 1) -> PowerAnalyzer:
        try:
            return self.analyzers[evse]
        except KeyError:
            raise BenchError(None, f"station {self.id!r} has no analyzer for EVSE {evse} in "
                                   f"{self.session.config.path}") from None

    def set_power(self, on: bool) -> None:
        """Switch the charger's supply: the bench's `power` instrument, or on a twin bench the twin's own
        supply (its charger loses power as a real one would: no closing handshake, RAM lost)."""
        twin = self.session.twin
        if not on:
            self.supply_off = True  # before the switch: one that fails half-way is switched on again too
            # The charger reboots when the supply returns: until a boot after this one is accepted it is not
            # booted, whatever the harness still holds of its old connection (a real charger's TCP connection
            # dies silently and stays "connected" until it times out; `charger booted` must not pass on it).
            self.session.supply_cut(self.id)
        if self.supply is not None:
            self.supply.set_on(on)
        elif twin is not None:
            charger = twin.station(self.id).charger
            self.session.run(charger.power_on() if on else charger.power_off(), bench_timeout=15,
                             what=f"switching the twin charger's supply {'on' if on else 'off'}")
        else:
            raise BenchError(None, f"station {self.id!r} has no `power` instrument in {self.session.config.path}: "
                                   "cutting or restoring the charger's supply needs a switch on it")
        self.supply_off = not on

    def ev(self, evse: int = 1) -> EvEmulator:
        try:
            return self.evs[evse]
        except KeyError:
            raise BenchError(None, f"station {self.id!r} has no EV emulator for EVSE {evse} in "
                                   f"{self.session.config.path}") from None

    def user_interface(self) -> UserInterface:
        """The station's `ui` instrument: what works the charger's own display and buttons."""
        if self.ui is None:
            raise BenchError(None, f"station {self.id!r} has no user-interface instrument (role 'ui') in "
                                   f"{self.session.config.path}: `driver selects … at the user interface` needs one")
        return self.ui

    def ems(self) -> EnergyManager:
        """The station's energy manager (instrument role `ems`)."""
        if self.ems_manager is None:
            raise BenchError(None, f"station {self.id!r} has no energy manager (instrument role 'ems') in "
                                   f"{self.session.config.path}: the `ems ...` statements need one (docs/ems.md)")
        return self.ems_manager

    def reader(self, evse: int = 1) -> TokenReader:
        """The token reader for `evse`: role reader<evse>, else the station's one reader (role `reader`)."""
        found = self.readers.get(evse)
        if found is not None:
            return found
        only = next(iter(self.readers.values())) if len(self.readers) == 1 else None
        if only is not None and only.name == "reader":
            return only  # the station's one reader, which names the EVSE in each request
        if not self.readers:
            raise BenchError(None, f"station {self.id!r} has no token reader (instrument role 'reader') in "
                                   f"{self.session.config.path}: `driver presents token` needs one")
        # Another EVSE's reader would present the token at that EVSE: the charger would be judged on the wrong one.
        roles = ", ".join(repr(r.name) for _, r in sorted(self.readers.items()))
        raise BenchError(None, f"station {self.id!r} has no token reader for EVSE {evse} (role 'reader{evse}') in "
                               f"{self.session.config.path}, only {roles}, each at its own EVSE: "
                               "`driver presents token` needs the EVSE's own reader or one role 'reader' for all")


@dataclass
class BootState:
    """A station's boots as the harness saw them (bench times), to tell whether one is in progress.

    A boot is in progress from an accepted station Reset (a firmware InstallRebooting, the bench cutting the
    supply) until a BootNotification is answered Accepted, and from a BootNotification answered Pending or
    Rejected until one is answered Accepted."""
    requested_t: float | None = None   # the last BootNotification the charger sent
    accepted_t: float | None = None    # the last one answered Accepted
    reboot_t: float | None = None      # the last announced reboot (Reset accepted, InstallRebooting, supply cut)
    reboot_why: str = ""

    @property
    def settled(self) -> bool:
        """Booted, and neither a reboot announced nor a boot answered since."""
        if self.accepted_t is None:
            return False
        return all(t is None or self.accepted_t >= t for t in (self.requested_t, self.reboot_t))


def _role_evse(role: str) -> tuple[str, int]:
    base = role.rstrip("0123456789")
    return base, int(role[len(base):] or 1)



def errors_at_open_words(inst: object) -> str:
    """'; error queue at open, emptied: -113 "Undefined header", …' for an instrument whose error queue held
    entries when the run opened it (the front panel's, an earlier program's: kept as evidence, not blamed on
    the run's first setting); '' otherwise."""
    held = getattr(inst, "errors_at_open", ())
    return "; error queue at open, emptied: " + ", ".join(f'{code} "{text}"' for code, text in held) if held else ""

class BenchSession:
    def __init__(self, config: BenchConfig, *, faults: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.clock = Clock(config.clock.speed if config.kind == "twin" else 1.0)
        self.recorder = Recorder(self.clock)
        self.loop: LoopThread | None = None
        self.harness: CsmsHarness | None = None
        self.twin: Any = None
        self.faults = dict(faults or {})
        self.stations: dict[str, Station] = {}
        # The station a scenario runs on unless a line names another (`on station B`): the bench file's
        # first. Its samples keep the plain keys (analyzer.power); another station's are "@<id>."-prefixed.
        # (A parallel run gives each worker its own: issue 15; docs/language.md "Several stations".)
        self.default_id = config.stations[0].id
        # How many stations the bench file has: more than `config.stations` when this process opens one of
        # them (`--station`, per-station mode). On a bench of several, verdicts name their station.
        self.bench_stations = len(config.stations)
        self.identity: dict[str, str] = {}
        self.idn: dict[str, str] = {}  # `station.role` -> the instrument's identification, as answered (preflight)
        self._boot: dict[str, dict[str, Any]] = {}
        self.boot_frames: dict[str, Frame] = {}  # each station's last BootNotification (the summary's proof)
        self._boots: dict[str, BootState] = {}
        self._resets: dict[tuple[str, str], bool] = {}  # (station, message id) -> a station-wide Reset
        self._lock = threading.Lock()

    def _on_frame(self, frame: Frame) -> None:
        """Every recorded frame: boots and reboots (for `charger booted`), the charger's identity."""
        self._track_boots(frame)
        if (frame.direction == "rx" and frame.message_type == CALL and frame.action == "BootNotification"
                and isinstance(frame.payload, dict)):
            with self._lock:
                self._boot[frame.station] = dict(frame.payload.get("chargingStation") or {})
                self.boot_frames[frame.station] = frame
            # A rebooted charger's connector statuses are unknown until it reports them again: the held
            # value must not carry a pre-reboot "Available" past the boot.
            station = next((sc for sc in self.config.stations if sc.id == frame.station), None)
            for evse in range(1, (station.evses if station else 0) + 1):
                self.recorder.sample(f"{self.key_prefix(frame.station)}charger.status.evse{evse}", None, frame.t)

    def _track_boots(self, frame: Frame) -> None:
        p = frame.payload if isinstance(frame.payload, dict) else {}
        with self._lock:
            boots = self._boots.setdefault(frame.station, BootState())
            if frame.direction == "rx" and frame.message_type == CALL:
                if frame.action == "BootNotification":
                    boots.requested_t = frame.t
                elif frame.action == "FirmwareStatusNotification" and p.get("status") == "InstallRebooting":
                    boots.reboot_t, boots.reboot_why = frame.t, "FirmwareStatusNotification InstallRebooting"
            elif frame.direction == "tx" and frame.message_type == CALL and frame.action == "Reset":
                # An EVSE reset (evseId) does not reboot the station: no BootNotification follows it.
                self._resets[(frame.station, frame.unique_id or "")] = p.get("evseId") in (None, 0)
            elif frame.direction == "rx" and frame.message_type == CALLRESULT and frame.action == "Reset":
                station_wide = self._resets.pop((frame.station, frame.unique_id or ""), False)
                if station_wide and p.get("status") in ("Accepted", "Scheduled"):
                    boots.reboot_t, boots.reboot_why = frame.t, f"Reset answered {p.get('status')}"
            elif (frame.direction == "tx" and frame.message_type == CALLRESULT
                  and frame.action == "BootNotification" and p.get("status") == "Accepted"):
                boots.accepted_t = frame.t

    def supply_cut(self, station_id: str) -> None:
        """The bench is cutting the station's supply now: a reboot it has not yet announced (see BootState)."""
        with self._lock:
            boots = self._boots.setdefault(station_id, BootState())
            boots.reboot_t, boots.reboot_why = self.clock.now(), "the bench cut its supply"

    def boot_state(self, station_id: str) -> BootState:
        """A copy of the station's boot record (see :class:`BootState`)."""
        with self._lock:
            return replace(self._boots.get(station_id) or BootState())

    def charger_identity_of(self, station_id: str) -> dict[str, Any]:
        """The chargingStation object of the station's last BootNotification ({} before one)."""
        with self._lock:
            return dict(self._boot.get(station_id, {}))

    def charger_identity(self) -> dict[str, str]:
        """What each charger said of itself in its BootNotification, next to what the bench file expects."""
        out: dict[str, str] = {}
        with self._lock:
            for sc in self.config.stations:
                cs = self._boot.get(sc.id, {})
                out[f"charger.{sc.id}"] = (f"{cs.get('vendorName', '?')} {cs.get('model', '?')}, serial "
                                           f"{cs.get('serialNumber', '-')}, firmware {cs.get('firmwareVersion', '?')}"
                                           f" (bench file expects firmware {sc.firmware or 'any'})")
        return out

    # ---- running coroutines on the bench loop --------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, Any], *, bench_timeout: float, what: str) -> Any:
        """Run a coroutine on the bench loop; the budget is bench seconds (plus real grace)."""
        assert self.loop is not None, "bench session is not open"
        try:
            return self.loop.run(coro, self.clock.real(bench_timeout) + _REAL_GRACE_S, what)
        except LoopTimeout as e:
            raise BenchError(None, str(e)) from None

    # ---- lifecycle ------------------------------------------------------------------------------

    def open(self) -> None:
        # The sampler thread must get the GIL back within ~1 ms of its deadline while the bench loop is busy
        # with OCPP traffic; Python's default 5 ms switch interval costs missed analyzer updates at 10 ms
        # rates (bench/bench_sampler.py measures it). The runner owns this process during a run.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self.loop = LoopThread("chargespec-bench")
        self.recorder.on_frame(self._on_frame)
        if self.config.proxy is not None:   # proxy mode: relay to the target CSMS (runner/proxy/)
            from runner.proxy import ProxyHarness
            self.harness = ProxyHarness(self.recorder, self.clock, config=self.config.csms, proxy=self.config.proxy)
        else:
            self.harness = CsmsHarness(self.recorder, self.clock, config=self.config.csms)
        self.harness.key_prefix = self.key_prefix
        url = self.run(self.harness.start(), bench_timeout=self.clock.bench(10), what="starting the CSMS harness")
        addresses: dict[str, dict[str, str]] = {}
        if self.config.kind == "twin":
            from lab.twin import Twin
            from lab.twin.faults import parse_faults

            faults = {**(self.config.twin.faults if self.config.twin else {}), **self.faults}
            self.twin = Twin(self.config, self.clock, parse_faults(faults))
            addresses = self.run(self.twin.start(url), bench_timeout=self.clock.bench(15), what="starting the twin")
        for sc in self.config.stations:
            station = Station(sc, self)
            self.stations[sc.id] = station
            if self.twin is not None:  # the twin's charger failing is the bench failing (broken), never the charger
                self.twin.station(sc.id).charger.on_crash.append(
                    lambda err, st=station: st.fault(twin_crashed(st.id, err)))
        for sc in self.config.stations:
            self._open_instruments(self.stations[sc.id], addresses.get(sc.id, {}))
        for sc in self.config.stations:
            self.run(self.harness.wait_connected(sc.id, sc_timeout := self.config.csms.connect_timeout_s),
                     bench_timeout=sc_timeout, what=f"waiting for charger {sc.id!r} to connect")

    def _open_instruments(self, station: Station, twin_addresses: Mapping[str, str]) -> None:
        for role, ic in station.config.instruments.items():
            kind, evse = _role_evse(role)
            address = twin_addresses.get(role, ic.address) if ic.address == "twin" else ic.address
            if address == "twin":
                raise BenchError(None, f"{self.config.path}: stations.{station.id}.instruments.{role}.address is "
                                       f"'twin' but bench kind is {self.config.kind!r}")
            options = {"timeout_s": ic.timeout_s, "reconnect_attempts": ic.reconnect_attempts, **ic.options}
            inst = create(ic.driver, name=role, address=address, clock=self.clock, **options)
            try:
                inst.open()
                idn = inst.identify()
            except InstrumentError as e:
                raise BenchError(None, f"cannot open {role} ({ic.driver}) of station {station.id!r}: {e}") from e
            self.idn[f"{station.id}.{role}"] = idn
            cal = ic.calibration_due.isoformat() if ic.calibration_due else "unknown"
            self.identity[f"{station.id}.{role}"] = f"{idn} (serial in bench file {ic.serial or '-'}, " \
                                                   f"calibration due {cal}{errors_at_open_words(inst)})"
            if kind == "power":
                assert isinstance(inst, PowerSwitch)
                station.supply = inst
            elif kind == "ui":
                assert isinstance(inst, UserInterface)
                station.ui = inst
            elif kind == "analyzer":
                assert isinstance(inst, PowerAnalyzer)
                inst.configure(phases=station.config.phases, update_interval_s=ic.update_interval_s)
                station.analyzers[evse] = inst
            elif kind == "reader":
                assert isinstance(inst, TokenReader)
                station.readers[evse] = inst
            elif kind == "ems":
                assert isinstance(inst, EnergyManager)
                station.ems_manager = inst
            else:
                assert isinstance(inst, EvEmulator)
                station.evs[evse] = inst

    def key_prefix(self, station_id: str) -> str:
        """The prefix of a station's sample keys: "" for the default station, "@<id>." for another."""
        return "" if station_id == self.default_id else f"@{station_id}."

    def named_station(self, name: str, source: Any = None) -> Station:
        """The station a spec line names (`on station NAME`: its id or alias); a BenchError (a usage error
        of the bench, never a verdict on the charger) naming the bench's stations when it has none such."""
        from dsl.suggest import did_you_mean

        found = self.config.find_station(name)
        if found is None:
            names = [n for sc in self.config.stations for n in (sc.id, sc.alias) if n]
            hint = did_you_mean(name, names)
            raise BenchError(source, f"bench {self.config.name!r} ({self.config.path or 'no file'}) has no station "
                                     f"{name!r}{'; ' + hint if hint else ''}; it has {self.config.station_names()}")
        return self.station(found.id)

    def station(self, station_id: str | None = None) -> Station:
        sid = station_id or self.default_id
        try:
            return self.stations[sid]
        except KeyError:
            raise BenchError(None, f"bench {self.config.name!r} has no station {sid!r}") from None

    def close(self) -> None:
        for station in self.stations.values():
            self.stop_sampling(station)
            for inst in [*station.analyzers.values(), *station.evs.values(), *station.readers.values(),
                         *([station.supply] if station.supply else []), *([station.ui] if station.ui else []),
                         *([station.ems_manager] if station.ems_manager else [])]:
                with contextlib.suppress(Exception):
                    inst.close()
        if self.loop is not None:
            if self.twin is not None:
                with contextlib.suppress(Exception):
                    self.loop.run(self.twin.stop(), 10, "stopping the twin")
            if self.harness is not None:
                with contextlib.suppress(Exception):
                    self.loop.run(self.harness.stop(), 10, "stopping the harness")
            self.loop.close()
            self.loop = None

    # ---- sampling -----------------------------------------------------------------------------

    def recover(self, station: Station) -> None:
        """Reopen every instrument of a station after a fault, so that a timeout or a dropped line in one
        scenario does not leave stale replies or a dead link to the next. Raises BenchError if one will
        not come back."""
        ems = [(1, station.ems_manager)] if station.ems_manager is not None else []
        for evse, inst in [*station.analyzers.items(), *station.evs.items(), *station.readers.items(), *ems]:
            with contextlib.suppress(Exception):
                inst.close()
            try:
                inst.open()
                if isinstance(inst, PowerAnalyzer):
                    inst.configure(phases=station.config.phases,
                                   update_interval_s=station.config.instruments[
                                       "analyzer" if evse == 1 else f"analyzer{evse}"].update_interval_s)
            except InstrumentError as e:
                raise BenchError(None, f"{inst.kind} for EVSE {evse} did not recover after a fault: {e}") from e
        station.needs_recovery = False

    def start_sampling(self, station: Station) -> None:
        """Reset and start each analyzer's integrator, then poll analyzers in the background."""
        if station.needs_recovery:
            self.recover(station)
        station.broken.clear()
        crashed = self.twin.station(station.id).charger.crashed if self.twin is not None else None
        if crashed is not None:  # a dead twin charger stays dead: every later scenario is broken too
            station.fault(twin_crashed(station.id, crashed))
        totals = self._station_sum(station)
        sp = self.key_prefix(station.id)
        for evse, analyzer in station.analyzers.items():
            try:
                with contextlib.suppress(InstrumentStateError):  # a running integrator must stop first
                    analyzer.integration_stop()
                analyzer.integration_reset()
                analyzer.integration_start()
            except InstrumentError as e:
                station.needs_recovery = True
                raise BenchError(None, f"analyzer for EVSE {evse}: {e}") from e
            prefix = "" if evse == 1 else f"evse{evse}."  # (the EV's PWM keys: as dsl.signals.evse_key scopes them)

            def on_sample(reading: Any, evse: int = evse) -> None:
                signals = reading.signals()
                for key, value in signals.items():
                    self.recorder.sample(sp + evse_key(key, evse), value, reading.t)
                with self._lock:  # the samplers of several EVSEs report from their own threads
                    for t, sums in totals.add(evse, reading.t, signals):
                        for key, value in sums.items():
                            self.recorder.sample(sp + key, value, t)

            ev = station.evs.get(evse)
            # The pilot is read in this analyzer's poll, so the judge allows its record this analyzer's max gap
            # (runner/judge.py sampling): a reading older than that when it comes in is no fresh sample.
            sampler = Sampler(analyzer, self.clock, on_sample, on_error=station.fault, ev=ev,
                              on_pwm=self._pwm_recorder(sp + "ev." + prefix) if ev is not None else None,
                              pwm_max_age_s=self._max_gap(self._poll_interval(analyzer)) if ev is not None
                              else None)
            sampler.start()
            station.samplers.append(sampler)

    def _poll_interval(self, analyzer: PowerAnalyzer) -> float:
        """Bench seconds between the sampler's polls of `analyzer` (instruments.sampler.poll_interval_s)."""
        return poll_interval_s(float(analyzer.update_interval_s), self.clock.speed)

    def _max_gap(self, interval_s: float) -> float:
        """The judge's max gap (runner/judge.py sampling) of a signal sampled every `interval_s` bench seconds."""
        from runner.judge import MAX_GAP_FLOOR_S, MAX_GAP_INTERVALS, MAX_GAP_REAL_S

        return max(MAX_GAP_INTERVALS * interval_s, MAX_GAP_FLOOR_S, MAX_GAP_REAL_S * self.clock.speed)

    def _station_sum(self, station: Station) -> StationSum:
        """The station.* totals over the station's analyzers, with the judge's rule for a stale reading."""
        interval = max((self._poll_interval(a) for a in station.analyzers.values()), default=1.0)
        # Every EVSE of the station, not just those with an analyzer: a total that left one out would not be
        # the station's, so without an analyzer on each EVSE no total is made (the judge says why).
        return StationSum(range(1, station.config.evses + 1), self._max_gap(interval))

    def _pwm_recorder(self, prefix: str) -> Callable[[PwmReading], None]:
        """Record the pilot as the EV sees it, at the bench time it was measured: duty (a fraction) and the
        current it offers (IEC 61851-1); a PWM that offers no charging (state B at 100 %, or off) offers 0 A."""

        def on_pwm(pwm: PwmReading) -> None:
            duty = pwm.duty_percent
            self.recorder.sample(f"{prefix}pwm_duty", None if duty is None else duty / 100.0, pwm.t)
            offered = None if duty is None else (current_for_duty(duty) or 0.0)
            self.recorder.sample(f"{prefix}offered_current", offered, pwm.t)

        return on_pwm

    def stop_sampling(self, station: Station) -> None:
        for s in station.samplers:
            with contextlib.suppress(Exception):
                s.stop()
        station.samplers.clear()
        for analyzer in station.analyzers.values():
            with contextlib.suppress(Exception):
                analyzer.integration_stop()
