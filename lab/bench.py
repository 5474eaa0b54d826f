"""The bench file: what exists on a bench and where, validated with pydantic.

A bench holds one or more stations (a charger with its analyzer and EV emulator). Tests ask a station
for roles (``analyzer``, ``ev``), never for addresses. Errors name the file and the key:

    lab/benches/x.toml: stations.0.instruments.analyzer.driver: Field required

The whole file is checked before anything starts, and every problem is reported at once: unknown keys
(with the valid ones), unknown drivers (with the known ones), a driver in the wrong role, VISA resource
strings (pyvisa's own parser), pyserial URLs, `[twin.faults]` knobs (type and range, lab/twin/faults.py),
and the Basic-auth passwords' sources. A password can come from the environment or a file instead of
clear text in the bench file (`password_env`, `password_file`; per station `passwords_env`,
`passwords_file`); a relative file is relative to the bench file. They are read here, once, into
`password` / `passwords`, which are kept out of the config's repr.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lab.addresses import address_problem


class BenchFileError(Exception):
    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.path}: {p}" for p in self.problems)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentConfig(_Model):
    driver: str
    address: str = Field(description='VISA resource string, pyserial URL, or "twin" (filled in by the twin)')
    serial: str = ""
    model: str = ""  # the model its identification names (`*IDN?`'s second field); checked by preflight
    calibration_due: date | None = None
    # For the acceptance summary's equipment table (runner/summary/): the last calibration, its certificate
    # and the uncertainty the certificate states (free text: "±0.05 % of reading + 0.05 % of range").
    calibrated: date | None = None
    certificate: str = ""
    uncertainty: str = ""
    timeout_s: float = Field(default=2.0, gt=0)
    update_interval_s: float = Field(default=0.5, gt=0)
    reconnect_attempts: int = Field(default=1, ge=0)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, v: str) -> str:
        from instruments.registry import drivers

        known = drivers()
        if v not in known:
            raise ValueError(f"unknown driver {v!r}; known drivers: {', '.join(sorted(known))}")
        return v

    @field_validator("address")
    @classmethod
    def _address_form(cls, v: str, info: ValidationInfo) -> str:
        kind = _driver_kind(info.data.get("driver"))
        problem = address_problem(v, kind) if kind else None
        if problem:
            raise ValueError(problem)
        return v


    @field_validator("options")
    @classmethod
    def _driver_options(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """The driver's own check of its options (instruments/options.py), made here rather than at open."""
        from instruments.errors import InstrumentConfigError
        from instruments.options import DriverOptions
        from instruments.registry import drivers

        extra = getattr(drivers().get(info.data.get("driver") or ""), "extra_options", None)
        if extra is not None:
            try:
                DriverOptions.parse("", "", v, extra=extra)
            except InstrumentConfigError as e:
                raise ValueError(e.detail) from None
        return v


def _driver_kind(name: str | None) -> str | None:
    """'analyzer', 'ev', 'reader', 'power' or 'ems' for a known driver name, else None."""
    from instruments.registry import drivers

    cls = drivers().get(name or "")
    return getattr(cls, "kind", None) if cls is not None else None


_KIND_NAMES = {"analyzer": "a power analyzer", "ev": "an EV emulator", "reader": "a token reader",
               "power": "a supply switch", "ui": "a user-interface",
               "ems": "an energy manager"}


class StationConfig(_Model):
    id: str = Field(min_length=1, max_length=48)
    # A short name specs use on a bench of several stations (`ev plugs in on station right`; docs/language.md):
    # a word, so that signals can carry it too (an id such as TWIN-AC22-001 is no word).
    alias: str = Field(default="", max_length=32)
    vendor: str = "unknown"
    model: str = "unknown"
    serial: str = ""    # the charger's serial number as the order names it; checked against its BootNotification
    firmware: str = ""
    evses: int = Field(default=1, ge=1, le=8)
    phases: Literal[1, 3] = 3
    nominal_voltage_v: float = Field(default=230.0, gt=0)
    max_current_a: float = Field(default=32.0, gt=0)
    # The charger signs its energy register (OCMF in sampledValue.signedMeterValue): the acceptance summary
    # verifies every transaction's signed values (runner/ocmf.py). meter_public_key: the meter's public key
    # (hex or base64 DER) as its maker publishes it; without it, values are checked against the key they carry.
    signed_meter_values: bool = False
    meter_public_key: str = ""
    instruments: dict[str, InstrumentConfig] = Field(default_factory=dict)
    # Facts the device model does not carry (`charger supports capability NAME`; names: dsl/vocab.py
    # CAPABILITIES, checked where a spec uses them): NAME = true / false. Undeclared: the bench cannot say.
    capabilities: dict[str, bool] = Field(default_factory=dict)

    @field_validator("alias")
    @classmethod
    def _alias_is_a_word(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*", v):
            raise ValueError(f"a station alias is one word (letters, digits, _ and - between words, not first: "
                             f"left, TWIN-B, bay_2), as specs write it in `on station NAME`; not {v!r}")
        return v

    @field_validator("capabilities")
    @classmethod
    def _capability_names(cls, v: dict[str, bool]) -> dict[str, bool]:
        bad = [k for k in v if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", k)]
        if bad:
            raise ValueError(f"capability names are CamelCase words (EvseReset, FixedCable, ...), not {bad}")
        return v

    @field_validator("instruments")
    @classmethod
    def _roles(cls, v: dict[str, InstrumentConfig]) -> dict[str, InstrumentConfig]:
        unknown = [r for r in v if not re.fullmatch(r"(analyzer|ev|reader)([2-8])?|power|ui|ems", r)]
        if unknown:
            raise ValueError(f"unknown instrument role(s) {unknown}; roles are 'analyzer', 'ev' and 'reader' for "
                             "EVSE 1, 'analyzer2', 'ev2', ... for further EVSEs (a lone 'reader' serves every EVSE), "
                             "'power' (the charger's supply), 'ui' (its user interface) and 'ems' (the site's "
                             "energy manager)")
        for role, ic in v.items():
            want, got = role.rstrip("0123456789"), _driver_kind(ic.driver)
            if got is not None and got != want:
                raise ValueError(f"{role}: driver {ic.driver!r} is {_KIND_NAMES[got]}; the {role} role needs "
                                 f"{_KIND_NAMES[want]} driver")
        return v


class CsmsConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    security_profile: Literal[0, 1, 2, 3] = 0
    # Resolved by load_bench from password / password_env / password_file; never in the repr.
    password: str | None = Field(default=None, repr=False)
    password_env: str | None = None
    password_file: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    strict_schema: bool = True
    # TriggerMessage MeterValues at each `measure` window edge (docs/language.md, "Measurement windows").
    trigger_meter_values_at_window_edges: bool = True
    connect_timeout_s: float = Field(default=60.0, gt=0)
    # Basic-auth password per station identity (profiles 1 and 2); `password` is for the others.
    passwords: dict[str, str] = Field(default_factory=dict, repr=False)
    passwords_env: dict[str, str] = Field(default_factory=dict)
    passwords_file: dict[str, str] = Field(default_factory=dict)
    tls_handshake_timeout_s: float = Field(default=10.0, gt=0)
    # Largest websocket message accepted from a charger; a bigger one closes the connection with 1009.
    max_frame_bytes: int = Field(default=4 * 2**20, ge=1024)
    # The twin's virtual charger: its client certificate and key for profile 3 (a physical charger has its
    # own). It trusts `cafile` for the CSMS certificate at profiles 2 and 3.
    client_certfile: str | None = None
    client_keyfile: str | None = None
    # The harness's second endpoint, `csms2`: where a charger migrates to another network profile (B09/B10).
    port2: int = Field(default=0, ge=0, le=65535)
    # How the charger is configured to reach this CSMS: the catalogue's <Configured ocppInterface>,
    # <Configured messageTimeout>, <Configured configurationSlot> (the slot in use) and
    # <Configured configurationSlot2> (a free slot the cases may write); a spec reads them as
    # `remembered "bench.…"` values (runner/bench_values.py).
    ocpp_interface: Literal["Wired0", "Wired1", "Wired2", "Wired3", "Wireless0", "Wireless1", "Wireless2",
                            "Wireless3"] = "Wired0"
    message_timeout_s: int = Field(default=30, ge=1)
    configuration_slot: int = Field(default=1, ge=0)
    configuration_slot2: int = Field(default=2, ge=0)
    # TLS benches, for TC_B_47/50_CS (M05): the CSMS root the charger trusts now (the "old" root; its hash data
    # is `bench.csmsRootHashData`), a new root signed by it (`bench.csmsRootCertificate2`, to install), and
    # the certificate csms2 presents (default: certfile/keyfile, a certificate of the old root).
    root_certfile: str | None = None
    root_certfile2: str | None = None
    certfile2: str | None = None
    keyfile2: str | None = None

    @model_validator(mode="after")
    def _security(self) -> CsmsConfig:
        p = self.security_profile
        given = self.password_env or self.password_file or self.passwords_env or self.passwords_file
        if p in (1, 2) and self.password is None and not self.passwords and not given:
            raise ValueError(f"security_profile {p} uses HTTP Basic auth: set password (or passwords)")
        if p in (2, 3) and not self.certfile:
            raise ValueError(f"security_profile {p} uses TLS: set certfile (and keyfile) for the CSMS")
        if p == 3 and not self.cafile:
            raise ValueError("security_profile 3 verifies charger certificates: set cafile")
        if self.configuration_slot == self.configuration_slot2:
            raise ValueError(f"configuration_slot and configuration_slot2 are both {self.configuration_slot}; "
                             "the second network profile slot must be another")
        if self.port and self.port == self.port2:
            raise ValueError(f"port and port2 are both {self.port}; the second endpoint needs its own port")
        return self


class ProxyConfig(_Model):
    """Proxy mode (runner/proxy/, docs/proxy.md): chargespec relays the charger's connection to the target CSMS.

    The charger still connects to chargespec ([csms] sets how: port, security profile 0-3); chargespec opens
    `to`/<identity> under the charger's identity. Upstream TLS (wss://) trusts `cafile` (default: the system's
    roots); security profile 3 upstream presents `client_certfile`/`client_keyfile`, a certificate the
    operator issues for the bench (the charger's own key cannot be borrowed). Basic auth upstream forwards
    the charger's own Authorization header, or sends `password` when it is set."""
    to: str
    cafile: str | None = None
    client_certfile: str | None = None
    client_keyfile: str | None = None
    password: str | None = Field(default=None, repr=False)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    # Opt-in: an injected TriggerMessage MeterValues at each `measure` window edge (docs/proxy.md, "Measurement
    # windows"); off, chargespec sends the charger nothing the spec does not say, and edges are interpolated.
    trigger_meter_values_at_window_edges: bool = False

    @model_validator(mode="after")
    def _pairs(self) -> ProxyConfig:
        if not self.to.startswith(("ws://", "wss://")):
            raise ValueError(f"to = {self.to!r}: the target CSMS URL starts with ws:// or wss://")
        if bool(self.client_certfile) != bool(self.client_keyfile):
            raise ValueError("client_certfile and client_keyfile go together (profile 3 upstream)")
        if self.client_certfile and not self.to.startswith("wss://"):
            raise ValueError("a client certificate (security profile 3) needs a wss:// target")
        return self


TWIN_MAX_EVSES = 4  # the twin models stations of up to 4 EVSEs (lab/twin/allocation.py shares their maximum)
MAX_SPEED = 1000.0  # bench seconds per real second; beyond it the loopback cannot keep up


class ClockConfig(_Model):
    speed: float = Field(default=1.0, gt=0, le=MAX_SPEED)


class TwinConfig(_Model):
    ev_lag_s: float = Field(default=3.0, ge=0)
    noise: float = Field(default=0.0005, ge=0, le=0.1)
    faults: dict[str, Any] = Field(default_factory=dict)
    # Checked as the bench file loads, each problem against its key (load_bench, lab/twin/options.py).
    options: dict[str, Any] = Field(default_factory=dict)


class ReportConfig(_Model):
    """The acceptance summary's header (runner/summary/): who tested what for whom. All optional."""
    lab: str = ""
    customer: str = ""
    order: str = ""
    operator: str = ""
    report_number: str = ""
    timezone: str = Field(default="UTC", description="IANA zone the summary gives times in")
    ambient: str = ""   # conditions the lab records for the bench ("23 °C ± 2 °C, 45 % RH")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}: give an IANA name such as 'Europe/Berlin' or 'UTC'") from None
        return v


class BenchConfig(_Model):
    name: str
    kind: Literal["twin", "physical"]
    clock: ClockConfig = ClockConfig()
    csms: CsmsConfig = CsmsConfig()
    stations: tuple[StationConfig, ...] = Field(min_length=1)
    twin: TwinConfig | None = None
    report: ReportConfig = ReportConfig()
    proxy: ProxyConfig | None = None  # proxy mode: relay to this target CSMS (docs/proxy.md)
    path: str = ""

    def find_station(self, name: str) -> StationConfig | None:
        """The station a spec names (`on station NAME`): by id, else by alias."""
        return next((s for s in self.stations if s.id == name), None) or next(
            (s for s in self.stations if s.alias == name), None)

    def station_names(self) -> str:
        """The stations as a person names them: ``TWIN-A (alias left), TWIN-B (alias right)``."""
        return ", ".join(s.id + (f" (alias {s.alias})" if s.alias else "") for s in self.stations)

    @model_validator(mode="after")
    def _consistent(self) -> BenchConfig:
        ids = [s.id for s in self.stations]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"station ids must be unique; repeated: {sorted(dup)}")
        names = [*ids, *(s.alias for s in self.stations if s.alias and s.alias != s.id)]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"station aliases must differ from each other and from every station id; "
                             f"repeated: {sorted(dup)}")
        if self.kind == "physical" and self.clock.speed != 1:
            raise ValueError("clock.speed: a physical bench runs at 1x real time")
        if self.kind == "physical" and self.twin is not None:
            raise ValueError("twin: only a twin bench has a [twin] table")
        if self.kind == "twin":
            for i, sc in enumerate(self.stations):
                if sc.evses > TWIN_MAX_EVSES:
                    raise ValueError(f"stations.{i}.evses: a twin station has at most {TWIN_MAX_EVSES} EVSEs, "
                                     f"not {sc.evses}")
                beyond = sorted(r for r in sc.instruments
                                if r[-1:].isdigit() and r != "power" and int(r[-1]) > sc.evses)
                if beyond:
                    raise ValueError(f"stations.{i}.instruments: {beyond} name an EVSE the station does not have "
                                     f"(evses = {sc.evses})")
        if self.kind == "physical":
            for i, sc in enumerate(self.stations):
                for role, ic in sc.instruments.items():
                    if ic.address == "twin":
                        raise ValueError(f"stations.{i}.instruments.{role}.address: 'twin' is filled in by the "
                                         "twin; a physical bench names the instrument's VISA resource or serial port")
        for i, sc in enumerate(self.stations):
            for role, ic in sc.instruments.items():
                if ic.calibrated and ic.calibration_due and ic.calibrated > ic.calibration_due:
                    raise ValueError(f"stations.{i}.instruments.{role}: calibrated {ic.calibrated} is after "
                                     f"calibration_due {ic.calibration_due}")
        return self

    def station(self, station_id: str | None = None) -> StationConfig:
        if station_id is None:
            return self.stations[0]
        for s in self.stations:
            if s.id == station_id:
                return s
        raise KeyError(f"bench {self.name!r} has no station {station_id!r}; it has {[s.id for s in self.stations]}")


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose keys live at `loc` (list indexes and dict keys step into their items)."""
    model: type[BaseModel] | None = BenchConfig
    for part in loc:
        if model is None:
            return None
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            continue  # an index or a dict key: same item model
        model = _first_model(field.annotation)
    return model


def _first_model(annotation: Any) -> type[BaseModel] | None:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _message(err: Any) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = f"; valid keys here: {', '.join(model.model_fields)}" if model is not None else ""
        return f"{_loc(loc)}: unknown key{valid}"
    msg = str(err["ctx"]["error"]) if err["type"] == "value_error" and "error" in err.get("ctx", {}) else err["msg"]
    if not loc and re.match(r"^[\w.]+: ", msg):
        return msg  # a cross-field check names its own key
    return f"{_loc(loc)}: {msg}"


def _read(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise BenchFileError(path, ["is a directory; give the bench file (TOML) itself, e.g. lab/benches/twin.toml"])
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BenchFileError(path, ["no such bench file"]) from None
    except OSError as e:
        raise BenchFileError(path, [f"cannot read: {e.strerror or e}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise BenchFileError(path, [f"not UTF-8 text: byte 0x{raw[e.start]:02x} on line {line} "
                                    "(save the file as UTF-8)"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BenchFileError(path, [f"not valid TOML: {e}"]) from None


def load_bench(path: Path | str, *, overrides: dict[str, Any] | None = None,
               environ: Mapping[str, str] | None = None) -> BenchConfig:
    """Read and validate a bench file. `overrides` are merged into the top level first (e.g. twin faults).

    `environ` is where ``password_env`` names are looked up (default: the process environment).
    """
    path = Path(path)
    data = _read(path)
    for key, value in (overrides or {}).items():
        _merge(data, key.split("."), value)
    data["path"] = str(path)
    problems = _resolve_passwords(data, path.parent, os.environ if environ is None else environ)
    problems += _fault_problems(data)
    problems += _option_problems(data)
    try:
        cfg = BenchConfig.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        # A list whose only item was invalid also reports "should have at least 1 item": keep the cause.
        locs = [tuple(err["loc"]) for err in errors]
        errors = [err for err in errors
                  if not any(len(other) > len(err["loc"]) and other[:len(err["loc"])] == tuple(err["loc"])
                             for other in locs)]
        raise BenchFileError(path, [_message(err) for err in errors] + problems) from None
    if problems:
        raise BenchFileError(path, problems)
    return cfg


def _fault_problems(data: dict[str, Any]) -> list[str]:
    twin = data.get("twin")
    faults = twin.get("faults") if isinstance(twin, dict) else None
    if not isinstance(faults, dict) or not faults:
        return []  # (a [twin.faults] that is not a table is pydantic's to report)
    from lab.twin.faults import fault_problems, valid_knobs

    problems = fault_problems(faults)
    if any(why.startswith("unknown") for _, why in problems):
        problems.append(("", "valid faults are:\n" + valid_knobs()))
    return [f"twin.faults{'.' + knob if knob else ''}: {why}" for knob, why in problems]


def _option_problems(data: dict[str, Any]) -> list[str]:
    """`[twin.options]`: an unknown option (a typo would leave the twin on a default) or a value it cannot take."""
    twin = data.get("twin")
    options = twin.get("options") if isinstance(twin, dict) else None
    if not isinstance(options, dict):
        return []  # (an [twin.options] that is not a table is pydantic's to report)
    from lab.twin.options import option_problems

    return [f"twin.options.{name}: {why}" for name, why in option_problems(options)]


_PASSWORD_FILE_MAX = 4096


def _resolve_passwords(data: dict[str, Any], base: Path, environ: Mapping[str, str]) -> list[str]:
    """Fill csms.password / csms.passwords from their _env and _file sources; problems name the key."""
    csms = data.get("csms")
    if not isinstance(csms, dict):
        return []
    problems: list[str] = []
    sources = [k for k in ("password", "password_env", "password_file") if csms.get(k) is not None]
    if len(sources) > 1:
        problems.append(f"csms: set one of {', '.join(sources)}, not several")
    elif sources and sources[0] != "password":
        value, problem = _secret(sources[0].split("_")[1], csms[sources[0]], base, environ)
        if problem:
            problems.append(f"csms.{sources[0]}: {problem}")
        else:
            csms["password"] = value
    passwords = csms.get("passwords", {})
    for kind in ("passwords_env", "passwords_file"):
        table = csms.get(kind, {})
        if not isinstance(table, dict) or not isinstance(passwords, dict):
            continue  # pydantic reports the type
        resolved = dict(passwords)
        for station, ref in table.items():
            if station in resolved:
                problems.append(f"csms.{kind}.{station}: station {station!r} already has a password in "
                                "csms.passwords or the other source; give it one")
                continue
            value, problem = _secret(kind.split("_")[1], ref, base, environ)
            if problem:
                problems.append(f"csms.{kind}.{station}: {problem}")
            else:
                resolved[station] = value
        passwords = resolved
    if passwords:
        csms["passwords"] = passwords
    return problems


def _secret(kind: str, ref: Any, base: Path, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """(the secret, None), or ("", why not) for an env var name (`kind` "env") or a file path ("file")."""
    if not isinstance(ref, str) or not ref.strip():
        return "", "expected the name of " + ("an environment variable" if kind == "env" else "a file")
    if kind == "env":
        value = environ.get(ref)
        if value is None:
            return "", f"environment variable {ref} is not set"
        if not value:
            return "", f"environment variable {ref} is empty"
        return value, None
    file = Path(ref).expanduser()
    file = file if file.is_absolute() else base / file
    if not file.is_file():
        return "", f"no such file: {file}" if not file.exists() else f"{file} is not a regular file"
    try:
        raw = file.read_bytes()[:_PASSWORD_FILE_MAX + 1]
        value = raw.decode("utf-8").rstrip("\r\n")
    except OSError as e:
        return "", f"cannot read {file}: {e.strerror or e}"
    except UnicodeDecodeError:
        return "", f"{file} is not UTF-8 text"
    if len(raw) > _PASSWORD_FILE_MAX:
        return "", f"{file} is larger than {_PASSWORD_FILE_MAX} bytes; it should hold only the password"
    if not value:
        return "", f"{file} is empty"
    return value, None


def speed_problem(speed: float) -> str | None:
    """Why a clock speed cannot be used (the same bounds as [clock] speed), or None."""
    if not math.isfinite(speed) or speed <= 0:
        return f"must be a number greater than 0, got {speed:g}"
    if speed > MAX_SPEED:
        return f"must be at most {MAX_SPEED:g}, got {speed:g}"
    return None


def _merge(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        data = data.setdefault(k, {})
    data[keys[-1]] = value
