"""Preflight: is this the bench, and the charger, the bench file names, before hours go into a campaign?

    findings = preflight.check_session(session, on=date.today())   # an open BenchSession
    print(preflight.render(findings))
    if preflight.invalidating(findings): ...                         # the campaign would not be valid

What is checked, each a :class:`Finding`:
- every instrument answers its identification query (``*IDN?`` or the driver's own); the model and serial
  number it gives are the bench file's (`model`, when the bench file states one, and `serial`);
- every measuring instrument (analyzers, EV emulators) is in calibration on the campaign date: a due date
  before it, or a calibration after it, invalidates the campaign (on a twin bench, whose instruments are
  simulated, it is a warning); a due date within :data:`DUE_SOON_DAYS` or none stated (on a physical
  bench) is a warning;
- every charger connects and boots; its vendor, model, serial number and firmware (from its
  BootNotification) are what the bench file expects. Firmware drift between the tested and the shipped
  unit is the classic failure: the finding names both versions.

A finding whose severity is ``invalid`` would invalidate the campaign: `chargespec preflight` exits
non-zero, and `chargespec run` (``--preflight=strict``, runner/plugin.py) refuses to start unless told
``--accept-preflight-warnings``. The findings are kept in the run folder as ``preflight.json``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lab.bench import BenchConfig
    from runner.bench_session import BenchSession

Severity = Literal["ok", "warning", "invalid"]
FILE = "preflight.json"
DUE_SOON_DAYS = 30
_MEASURING = ("analyzer", "ev")  # roles whose readings a verdict rests on: they need a calibration
# The charger's identity: bench file key, BootNotification chargingStation key, words.
_CHARGER_KEYS = (("vendor", "vendorName", "vendor"), ("model", "model", "model"),
                 ("serial", "serialNumber", "serial number"), ("firmware", "firmwareVersion", "firmware"))


@dataclass(frozen=True)
class Finding:
    subject: str      # "charger TWIN-AC22-001", "TWIN-AC22-001.analyzer"
    check: str        # "firmware", "serial number", "calibration", "identity", ...
    expected: str     # what the bench file (or the campaign date) says
    observed: str     # what the bench said
    severity: Severity
    note: str = ""

    def line(self) -> str:
        """One line for a refusal or a log: `charger X firmware: the charger reports 9.9.9, the bench file
        expects 1.4.2`."""
        return f"{self.subject} {self.check}: {self.note or f'observed {self.observed}, expected {self.expected}'}"


def invalidating(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "invalid"]


def warnings(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "warning"]


# ---- instruments ---------------------------------------------------------------------------------


def _idn_parts(idn: str) -> tuple[str, str]:
    """(model, serial) from an IEEE 488.2 identification `MAKER,MODEL,SERIAL,FIRMWARE` ('' where absent)."""
    parts = [p.strip() for p in idn.split(",")]
    return (parts[1] if len(parts) >= 2 else ""), (parts[2] if len(parts) >= 3 else "")


def instrument_findings(cfg: BenchConfig, answers: Mapping[str, str], on: date) -> list[Finding]:
    """Identity and calibration of every instrument of the bench file; `answers` maps `station.role` to
    what the instrument answered to its identification query (absent: it was not reached)."""
    out: list[Finding] = []
    twin = cfg.kind == "twin"
    for sc in cfg.stations:
        for role, ic in sc.instruments.items():
            subject = f"{sc.id}.{role}"
            idn = answers.get(subject)
            if idn is None:
                out.append(Finding(subject, "identity", f"{ic.driver} at {ic.address}", "no answer", "invalid",
                                   "the instrument was not reached"))
                continue
            model, serial = _idn_parts(idn)
            out.append(Finding(subject, "identity", ic.driver, idn, "ok"))
            if getattr(ic, "model", ""):
                want = ic.model
                sev: Severity = "ok" if model == want else "invalid"
                out.append(Finding(subject, "model", want, model or "not stated", sev,
                                   "" if sev == "ok" else f"the instrument says {model or 'no model'}, "
                                                          f"the bench file expects {want}"))
            if ic.serial and serial:
                sev = "ok" if serial == ic.serial else "invalid"
                out.append(Finding(subject, "serial number", ic.serial, serial, sev,
                                   "" if sev == "ok" else f"the instrument says {serial}, the bench file "
                                                          f"expects {ic.serial}"))
            elif ic.serial:
                out.append(Finding(subject, "serial number", ic.serial, "not stated by the instrument", "warning",
                                   f"the identification {idn!r} gives no serial number to compare"))
            if role.rstrip("0123456789") in _MEASURING:
                out.append(_calibration(subject, ic.calibration_due, ic.calibrated, on, twin))
    return out


def _calibration(subject: str, due: date | None, calibrated: date | None, on: date, twin: bool) -> Finding:
    # A twin's instruments are simulated: their dates are examples, and a twin run is never valid for
    # acceptance anyway (the summary's banner), so an out-of-date one is a warning there, not a refusal.
    out_of_date: Severity = "warning" if twin else "invalid"
    sim = " (simulation)" if twin else ""
    if calibrated is not None and calibrated > on:
        return Finding(subject, "calibration", f"calibrated on or before {on}", f"calibrated {calibrated}",
                       out_of_date, f"calibrated {calibrated}, after the campaign date {on}{sim}")
    if due is None:
        return Finding(subject, "calibration", "a calibration due date", "not stated", "ok" if twin else "warning",
                       "calibration due date not stated in the bench file" + (" (simulation)" if twin else ""))
    if due < on:
        return Finding(subject, "calibration", f"due on or after {on}", f"due {due}", out_of_date,
                       f"EXPIRED: calibration was due {due}, the campaign date is {on}{sim}")
    days = (due - on).days
    if days <= DUE_SOON_DAYS:
        return Finding(subject, "calibration", f"due on or after {on}", f"due {due}", "warning",
                       f"calibration due {due}, {days} day(s) after the campaign date {on}")
    return Finding(subject, "calibration", f"due on or after {on}", f"due {due}", "ok")


# ---- chargers ------------------------------------------------------------------------------------


def charger_findings(cfg: BenchConfig, said: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Each station's charger as it identified itself (its BootNotification's chargingStation, by station
    id; absent: it did not boot) against the bench file's vendor, model, serial number and firmware."""
    out: list[Finding] = []
    for sc in cfg.stations:
        subject = f"charger {sc.id}"
        cs = said.get(sc.id)
        if not cs:
            out.append(Finding(subject, "boot", "a BootNotification", "none", "invalid",
                               "the charger did not connect and boot: its identity is unknown"))
            continue
        for key, said_key, words in _CHARGER_KEYS:
            want = str(getattr(sc, key) or "")
            got = str(cs.get(said_key) or "")
            if not want or want == "unknown":
                out.append(Finding(subject, words, "not stated", got or "not reported", "ok"))
                continue
            if got == want:
                out.append(Finding(subject, words, want, got, "ok"))
            else:
                out.append(Finding(subject, words, want, got or "not reported", "invalid",
                                   f"the charger reports {got or 'none'}, the bench file expects {want}"))
    return out


# ---- on an open bench ----------------------------------------------------------------------------


def check_session(session: BenchSession, *, on: date, boot_timeout_s: float | None = None) -> list[Finding]:
    """The preflight of an open bench (its instruments open, its chargers connected): waits (bench time) for
    every charger's BootNotification, then judges identities and calibration."""
    cfg = session.config
    budget = boot_timeout_s if boot_timeout_s is not None else cfg.csms.connect_timeout_s
    ids = [sc.id for sc in cfg.stations]
    session.recorder.wait(lambda: all(session.charger_identity_of(i) for i in ids), session.clock.real(budget))
    said = {i: session.charger_identity_of(i) for i in ids}
    return instrument_findings(cfg, getattr(session, "idn", {}), on) + charger_findings(cfg, said)


def run_standalone(cfg: BenchConfig, *, faults: Mapping[str, Any] | None = None, on: date) -> list[Finding]:
    """Open the bench, check it, close it (`chargespec preflight`). A bench that will not open is one
    invalidating finding naming why."""
    from runner.bench_session import BenchSession

    session = BenchSession(cfg, faults=faults)
    try:
        session.open()
    except Exception as e:
        with contextlib.suppress(Exception):
            session.close()
        return [Finding("bench", "open", f"bench {cfg.name} opens", "failed", "invalid",
                        f"the bench could not be opened: {e}")]
    try:
        return check_session(session, on=on)
    finally:
        session.close()


# ---- output --------------------------------------------------------------------------------------

_MARK = {"ok": "ok", "warning": "WARNING", "invalid": "INVALID"}


def verdict_line(findings: list[Finding]) -> str:
    bad, warn = invalidating(findings), warnings(findings)
    if bad:
        return f"preflight: {len(bad)} finding(s) invalidate the campaign, {len(warn)} warning(s)"
    return f"preflight: the bench is as the bench file says ({len(warn)} warning(s))"


def render_plain(findings: list[Finding]) -> str:
    rows = [("subject", "check", "expected", "observed", "result")]
    rows += [(f.subject, f.check, f.expected, f.observed,
              _MARK[f.severity] + (f": {f.note}" if f.note and f.severity != "ok" else "")) for f in findings]
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows]
    return "\n".join([*lines, verdict_line(findings)])


def render_rich(findings: list[Finding], file: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    style = {"ok": "green", "warning": "yellow", "invalid": "bold red"}
    table = Table(title="chargespec preflight")
    for col in ("subject", "check", "expected", "observed", "result"):
        table.add_column(col)
    for f in findings:
        result = _MARK[f.severity] + (f": {f.note}" if f.note and f.severity != "ok" else "")
        table.add_row(f.subject, f.check, f.expected, f.observed, f"[{style[f.severity]}]{result}[/]")
    console = Console(file=file or sys.stdout)
    console.print(table)
    console.print(verdict_line(findings))


def show(findings: list[Finding], file: Any = None) -> None:
    """The table: rich on a terminal, plain text otherwise (logs, CI)."""
    out = file or sys.stdout
    if hasattr(out, "isatty") and out.isatty():
        render_rich(findings, out)
    else:
        print(render_plain(findings), file=out, flush=True)


def refusal(findings: list[Finding]) -> str:
    """Why a run refuses to start: every invalidating finding, one per line."""
    bad = invalidating(findings)
    return ("preflight found the bench or the charger not as the bench file says; the campaign would not be "
            "valid (--accept-preflight-warnings runs it anyway):\n" + "\n".join(f"  {f.line()}" for f in bad))


def write(folder: Path, findings: list[Finding], on: date, *, accepted: bool = False) -> Path:
    """preflight.json in the run folder: the campaign date, every finding, and whether the run went on
    despite invalidating findings (--accept-preflight-warnings)."""
    from runner import runs

    path = folder / FILE
    runs.write_json(path, {"date": on.isoformat(), "invalidating": len(invalidating(findings)),
                           "warnings": len(warnings(findings)), "accepted despite findings": accepted,
                           "findings": [asdict(f) for f in findings]})
    return path
