"""The feature matrix: what a charger's device model says it has, read from a FullInventory base report.

A buyer's first question is which OCPP functional blocks a charger implements. OCPP 2.0.1 answers it in
the device model: a controller component (`SmartChargingCtrlr`, `LocalAuthListCtrlr`, …) is there or
not, and reports `Available` (the feature is supported) and `Enabled` (it is switched on) where it has
them. This module turns the NotifyReport parts of one GetBaseReport(FullInventory) into that matrix,
checks it against the variables the catalogue requires (runner/data/dm-required-2.0.1.tsv, from
TC_B_53_CS), and answers `charger supports <feature>` for the runner's skip decision. Pure functions, no
bench: the step library (runner/features.py) reads the report and writes the matrix into the run folder.

    m = matrix_from_report(parts)              # parts: NotifyReport request payloads, in seqNo order
    m.controllers["SmartChargingCtrlr"].enabled   # True / False / None (not reported)
    ok, said = m.supports("LocalAuthListCtrlr")  # (False, "LocalAuthListCtrlr is not in the device model …")
    ok, said = m.variable("TxCtrlr.StopTxOnEVSideDisconnect", settable_to="false")   # the other forms
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

REQUIRED_FILE = Path(__file__).resolve().parent / "data" / "dm-required-2.0.1.tsv"
CORE = "Core"
LIST_TYPES = ("OptionList", "SequenceList", "MemberList")


@dataclass(frozen=True)
class Required:
    """One variable the catalogue requires (TC_B_53_CS): always (group Core) or with its controller."""
    group: str
    component: str
    variable: str
    instance: str | None


@cache
def required_variables() -> tuple[Required, ...]:
    rows = []
    with REQUIRED_FILE.open(encoding="utf-8", newline="") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            group, component, variable, instance, *_ = line.rstrip("\n").split("\t")
            rows.append(Required(group, component, variable, instance or None))
    return tuple(rows)


@dataclass(frozen=True)
class Reported:
    """One reported variable: where it is, its Actual value (None: write-only or no Actual attribute)."""
    component: str
    variable: str
    component_instance: str | None = None
    variable_instance: str | None = None
    evse: int | None = None
    connector: int | None = None
    actual: str | None = None
    data_type: str | None = None
    characteristics: bool = True       # variableCharacteristics reported
    values_list: bool = False          # variableCharacteristics.valuesList given
    mutability: str | None = None      # the Actual attribute's (None: not reported; OCPP's default ReadWrite)
    values: tuple[str, ...] = ()       # the valuesList's members, as reported

    @property
    def writable(self) -> bool:
        """ReadWrite or WriteOnly; an attribute without mutability is ReadWrite (VariableAttributeType's default)."""
        return (self.mutability or "ReadWrite") in ("ReadWrite", "WriteOnly")

    @property
    def name(self) -> str:
        inst = f"[{self.variable_instance}]" if self.variable_instance else ""
        where = f" (evse {self.evse})" if self.evse is not None else ""
        return f"{self.component}.{self.variable}{inst}{where}"


@dataclass(frozen=True)
class Controller:
    """A component as the matrix shows it: present, and its Available / Enabled values where reported."""
    component: str
    variables: int
    available: bool | None
    enabled: bool | None

    @property
    def usable(self) -> bool:
        return self.available is not False and self.enabled is not False


@dataclass(frozen=True)
class Matrix:
    variables: tuple[Reported, ...]
    controllers: Mapping[str, Controller] = field(default_factory=dict)
    parts: int = 0

    def missing_required(self) -> list[Required]:
        """Required variables not reported: the Core ones, and those of each controller that is present."""
        have = {(v.component, v.variable, v.variable_instance) for v in self.variables}
        return [r for r in required_variables()
                if (r.group == CORE or r.group in self.controllers)
                and (r.component, r.variable, r.instance) not in have]

    def characteristics_problems(self) -> list[str]:
        """TC_B_13_CS's checks of a FullInventory report: every variable with its variableCharacteristics,
        and a valuesList for every OptionList, SequenceList and MemberList."""
        out = [f"{v.name}: no variableCharacteristics" for v in self.variables if not v.characteristics]
        out += [f"{v.name}: dataType {v.data_type} without a valuesList" for v in self.variables
                if v.data_type in LIST_TYPES and not v.values_list]
        return out

    def find(self, component: str, variable: str, instance: str | None = None) -> list[Reported]:
        return [v for v in self.variables if v.component == component and v.variable == variable
                and (instance is None or v.variable_instance == instance)]

    def supports(self, feature: str) -> tuple[bool, str]:
        """Whether the device model says the charger has `feature`, and what it said.

        `Component`: reported, and neither its Available nor its Enabled variable reports false.
        `Component.Variable[instance]`: reported, and (a boolean) not false."""
        component, _, rest = feature.partition(".")
        summary = f"a FullInventory report of {len(self.variables)} variables of {len(self.controllers)} components"
        if not rest:
            c = self.controllers.get(component)
            if c is None:
                return False, f"{component} is not in the device model ({summary})"
            flags = [f"{name} = {str(value).lower()}" for name, value
                     in (("Available", c.available), ("Enabled", c.enabled)) if value is not None]
            said = f"{component} reports " + (", ".join(flags) if flags else "neither Available nor Enabled")
            return c.usable, said
        variable, _, inst = rest.partition("[")
        instance = inst.rstrip("]") or None
        found = self.find(component, variable, instance)
        if not found:
            return False, f"{feature} is not in the device model ({summary})"
        values = sorted({str(v.actual) for v in found})
        said = f"{feature} = {', '.join(values)}"
        return all((v.actual or "").lower() != "false" for v in found), said

    def variable(self, name: str, *, writable: bool = False, value: str | None = None,
                 settable_to: str | None = None, without_value: str | None = None) -> tuple[bool, str]:
        """`charger supports variable NAME [writable | with value V | settable to V | without value V]`: whether
        the device model has `Component.Variable[instance]` (at every place it is reported: each EVSE of a
        per-EVSE variable), and what it said.

        writable: mutability ReadWrite or WriteOnly. value: the Actual value is V (booleans without case).
        settable_to: writable with every comma-separated member of V in its valuesList (where one is
        reported), or its Actual value already V: the catalogue's "set where writable, else it must be V".
        without_value: an Actual value is reported and is not V (compared as `value` compares): a variable
        whose value is not reported (WriteOnly, no Actual) cannot be said not to be V, and does not hold."""
        component, _, rest = name.partition(".")
        variable, _, inst = rest.partition("[")
        found = self.find(component, variable, inst.rstrip("]") or None)
        if not found:
            return False, (f"{name} is not in the device model (a FullInventory report of {len(self.variables)} "
                           f"variables of {len(self.controllers)} components)")
        said = "; ".join(_described(v) for v in found)
        if writable:
            return all(v.writable for v in found), said
        if value is not None:
            return all(_same(v.actual, value) for v in found), said
        if without_value is not None:
            return all(v.actual is not None and not _same(v.actual, without_value) for v in found), said
        if settable_to is not None:
            wanted = [m.strip() for m in settable_to.split(",") if m.strip()]
            return all(_same(v.actual, settable_to)
                       or (v.writable and (not v.values or all(m in v.values for m in wanted)))
                       for v in found), said
        return True, said

    def as_json(self) -> dict[str, Any]:
        missing = self.missing_required()
        return {
            "report_parts": self.parts,
            "variables": len(self.variables),
            "controllers": [{"component": c.component, "present": True, "available": c.available,
                             "enabled": c.enabled, "variables": c.variables}
                            for c in sorted(self.controllers.values(), key=lambda c: c.component)],
            "required": {
                "source": "OCPP 2.0.1 Part 6, TC_B_53_CS post scenario validations (runner/data/dm-required-2.0.1.tsv)",
                "checked": sum(1 for r in required_variables() if r.group == CORE or r.group in self.controllers),
                "missing": [_required_name(r) for r in missing],
            },
        }

    def as_csv(self, station: str) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["station", "component", "present", "available", "enabled", "variables",
                    "required_missing"])
        missing = self.missing_required()
        names = sorted({*self.controllers, *(r.component for r in required_variables())})
        for name in names:
            c = self.controllers.get(name)
            lost = [r for r in missing if r.component == name]
            w.writerow([station, name, c is not None, _cell(c.available if c else None),
                        _cell(c.enabled if c else None), c.variables if c else 0,
                        " ".join(f"{r.variable}[{r.instance}]" if r.instance else r.variable for r in lost)])
        return out.getvalue()


def _cell(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def same_value(actual: str, wanted: str) -> bool:
    """A variable's value equals a wanted one, as `with value` compares them (for the steps)."""
    return _same(actual, wanted)


def _same(actual: str | None, wanted: str) -> bool:
    """An Actual value equals a wanted one: booleans without case, lists member by member in order."""
    if actual is None:
        return False
    if _boolean(actual) is not None and _boolean(wanted) is not None:
        return _boolean(actual) == _boolean(wanted)
    return [m.strip() for m in actual.split(",")] == [m.strip() for m in wanted.split(",")]


def _described(v: Reported) -> str:
    """`TxCtrlr.StopTxOnEVSideDisconnect = true, ReadOnly` (with its valuesList where it has one)."""
    value = "no Actual value" if v.actual is None else f"= {v.actual}"
    mutability = v.mutability or "mutability not reported (ReadWrite)"
    listed = f", valuesList {','.join(v.values)}" if v.values else ""
    return f"{v.name} {value}, {mutability}{listed}"


def _required_name(r: Required) -> str:
    return f"{r.component}.{r.variable}" + (f"[{r.instance}]" if r.instance else "")


def _boolean(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    return True if text == "true" else False if text == "false" else None


def reported_variables(parts: Iterable[Mapping[str, Any]]) -> list[Reported]:
    """Every reportData entry of NotifyReport payloads (camelCase, as on the wire)."""
    out = []
    for part in parts:
        for entry in part.get("reportData") or []:
            if not isinstance(entry, Mapping):
                continue
            comp, var = entry.get("component") or {}, entry.get("variable") or {}
            if not isinstance(comp, Mapping) or not isinstance(var, Mapping) or not comp.get("name") \
                    or not var.get("name"):
                continue
            evse = comp.get("evse") if isinstance(comp.get("evse"), Mapping) else {}
            attrs = [a for a in entry.get("variableAttribute") or [] if isinstance(a, Mapping)]
            actual = next((a for a in attrs if a.get("type", "Actual") == "Actual"), None)
            chars = entry.get("variableCharacteristics")
            listed = chars.get("valuesList") if isinstance(chars, Mapping) else None
            out.append(Reported(
                component=str(comp["name"]), variable=str(var["name"]),
                component_instance=comp.get("instance"), variable_instance=var.get("instance"),
                evse=evse.get("id"), connector=evse.get("connectorId"),
                actual=None if actual is None or actual.get("value") is None else str(actual["value"]),
                data_type=chars.get("dataType") if isinstance(chars, Mapping) else None,
                characteristics=isinstance(chars, Mapping),
                values_list=bool(listed),
                mutability=actual.get("mutability") if actual is not None else None,
                values=tuple(m.strip() for m in listed.split(",") if m.strip()) if isinstance(listed, str) else ()))
    return out


def matrix_from_report(parts: Iterable[Mapping[str, Any]]) -> Matrix:
    """The matrix of one FullInventory report (its NotifyReport parts)."""
    parts = list(parts)
    variables = tuple(reported_variables(parts))
    by_component: dict[str, list[Reported]] = {}
    for v in variables:
        by_component.setdefault(v.component, []).append(v)

    def flag(vs: list[Reported], name: str) -> bool | None:
        # A controller is one component; EVSE and Connector repeat per EVSE: any false counts.
        values = [_boolean(v.actual) for v in vs if v.variable == name and v.variable_instance is None]
        values = [x for x in values if x is not None]
        return None if not values else all(values)

    controllers = {name: Controller(name, len(vs), flag(vs, "Available"), flag(vs, "Enabled"))
                   for name, vs in by_component.items()}
    return Matrix(variables, controllers, len(parts))
