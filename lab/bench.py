"""The bench file: what exists on a bench and where, validated with pydantic.

A bench holds one or more stations (a charger with its analyzer and EV emulator). Tests ask a station
for roles (``analyzer``, ``ev``), never for addresses. Errors name the file and the key:

    lab/benches/x.toml: stations.0.instruments.analyzer.driver: field required
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


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
    calibration_due: date | None = None
    timeout_s: float = Field(default=2.0, gt=0)
    update_interval_s: float = Field(default=0.5, gt=0)
    reconnect_attempts: int = Field(default=0, ge=0)
    options: dict[str, Any] = Field(default_factory=dict)


class StationConfig(_Model):
    id: str = Field(min_length=1, max_length=48)
    vendor: str = "unknown"
    model: str = "unknown"
    firmware: str = ""
    evses: int = Field(default=1, ge=1, le=8)
    phases: Literal[1, 3] = 3
    nominal_voltage_v: float = Field(default=230.0, gt=0)
    max_current_a: float = Field(default=32.0, gt=0)
    instruments: dict[str, InstrumentConfig] = Field(default_factory=dict)

    @field_validator("instruments")
    @classmethod
    def _roles(cls, v: dict[str, InstrumentConfig]) -> dict[str, InstrumentConfig]:
        unknown = [r for r in v if not re.fullmatch(r"(analyzer|ev)([2-8])?", r)]
        if unknown:
            raise ValueError(f"unknown instrument role(s) {unknown}; roles are 'analyzer' and 'ev' for EVSE 1, "
                             "'analyzer2', 'ev2', ... for further EVSEs")
        return v


class CsmsConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    security_profile: Literal[0, 1, 2, 3] = 0
    password: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    strict_schema: bool = True
    # TriggerMessage MeterValues at each `measure` window edge (docs/language.md, "Measurement windows").
    trigger_meter_values_at_window_edges: bool = True
    connect_timeout_s: float = Field(default=60.0, gt=0)
    # Basic-auth password per station identity (profiles 1 and 2); `password` is for the others.
    passwords: dict[str, str] = Field(default_factory=dict)
    tls_handshake_timeout_s: float = Field(default=10.0, gt=0)
    # The twin's virtual charger: its client certificate and key for profile 3 (a physical charger has its
    # own). It trusts `cafile` for the CSMS certificate at profiles 2 and 3.
    client_certfile: str | None = None
    client_keyfile: str | None = None

    @model_validator(mode="after")
    def _security(self) -> CsmsConfig:
        p = self.security_profile
        if p in (1, 2) and self.password is None and not self.passwords:
            raise ValueError(f"security_profile {p} uses HTTP Basic auth: set password (or passwords)")
        if p in (2, 3) and not self.certfile:
            raise ValueError(f"security_profile {p} uses TLS: set certfile (and keyfile) for the CSMS")
        if p == 3 and not self.cafile:
            raise ValueError("security_profile 3 verifies charger certificates: set cafile")
        return self


class ClockConfig(_Model):
    speed: float = Field(default=1.0, gt=0, le=1000)


class TwinConfig(_Model):
    ev_lag_s: float = Field(default=3.0, ge=0)
    noise: float = Field(default=0.0005, ge=0, le=0.1)
    faults: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)


class BenchConfig(_Model):
    name: str
    kind: Literal["twin", "physical"]
    clock: ClockConfig = ClockConfig()
    csms: CsmsConfig = CsmsConfig()
    stations: tuple[StationConfig, ...] = Field(min_length=1)
    twin: TwinConfig | None = None
    path: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> BenchConfig:
        ids = [s.id for s in self.stations]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"station ids must be unique; repeated: {sorted(dup)}")
        if self.kind == "physical" and self.clock.speed != 1:
            raise ValueError("clock.speed: a physical bench runs at 1x real time")
        if self.kind == "physical" and self.twin is not None:
            raise ValueError("twin: only a twin bench has a [twin] table")
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


def load_bench(path: Path | str, *, overrides: dict[str, Any] | None = None) -> BenchConfig:
    """Read and validate a bench file. `overrides` are merged into the top level first (e.g. twin faults)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchFileError(path, ["no such bench file"]) from None
    except tomllib.TOMLDecodeError as e:
        raise BenchFileError(path, [f"not valid TOML: {e}"]) from None
    for key, value in (overrides or {}).items():
        _merge(data, key.split("."), value)
    data["path"] = str(path)
    try:
        return BenchConfig.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        # A list whose only item was invalid also reports "should have at least 1 item": keep the cause.
        locs = [tuple(err["loc"]) for err in errors]
        errors = [err for err in errors
                  if not any(len(other) > len(err["loc"]) and other[:len(err["loc"])] == tuple(err["loc"])
                             for other in locs)]
        raise BenchFileError(path, [f"{_loc(err['loc'])}: {err['msg']}" for err in errors]) from None


def _merge(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        data = data.setdefault(k, {})
    data[keys[-1]] = value
