"""What the acceptance summary says, read from a run folder: frozen data, no layout.

Sources, all in the run folder (runner/runs.py): run.json (status, times, bench, instruments' answers to
their identification queries, spec digests), verdicts.json (every scenario with its measurements,
runner/verdicts.py), feature-matrix.json (runner/features.py), boot/<station>.json (the charger's
BootNotification, runner/summary/boot.py), and the bench file run.json names (the header's lab, customer,
order, operator and zone; the serials and calibration the lab declares). Nothing is judged here that the
run did not judge; the summary only adds the checks a signature rests on: the device is the one the bench
file names, each instrument was in calibration on the test date.

The overall verdict:
- INCOMPLETE: the run did not finish (interrupted, killed, crashed: as verdicts.json says, whatever failed
  before the stop, which the reasons list);
- NOT ACCEPTED: a scenario failed (the charger did not meet a criterion);
- INCOMPLETE: else, a scenario is broken (the bench could not judge), no scenario ran (or every one was
  skipped: nothing was judged), an instrument was out of calibration, or the charger is not the one the
  bench file names;
- ACCEPTED: none of those. Skipped scenarios are listed under deviations: their requirements were not judged.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runner import ocmf, octt, runs
from runner.summary import boot

ACCEPTED, NOT_ACCEPTED, INCOMPLETE = "ACCEPTED", "NOT ACCEPTED", "INCOMPLETE"
NO_REF = "(no requirement reference)"
_RANK = {"passed": 0, "skipped": 1, "broken": 2, "failed": 3}


SIMULATION_NOTE = ("A simulation: the verdict says what this run found on a simulated bench or with an injected "
                   "fault; it is not valid for acceptance.")


@dataclass(frozen=True)
class Header:
    title: str
    report_number: str
    lab: str
    customer: str
    order: str
    operator: str
    started: str
    finished: str
    zone: str
    bench: str
    run: str
    status: str
    ambient: str


@dataclass(frozen=True)
class Device:
    station: str
    vendor: str
    model: str
    serial: str
    firmware: str
    expected: str            # what the bench file says, in words
    checks: tuple[str, ...]  # mismatches (empty: matches the bench file)
    proof: str               # the BootNotification frame, as received
    proof_file: str          # its path in the run folder


@dataclass(frozen=True)
class Instrument:
    station: str
    role: str
    identity: str            # as the instrument answered (*IDN? or the driver's equivalent)
    model: str
    serial: str
    calibrated: str
    certificate: str
    due: str
    uncertainty: str
    status: str              # "in calibration", "EXPIRED …", "not stated", "not calibrated (simulation)"
    ok: bool


@dataclass(frozen=True)
class Check:
    """One row of a scenario's results: a judged criterion."""
    criterion: str
    limit: str
    measured: str
    margin: str
    verdict: str
    line: int | None
    when: str = ""       # the window judged: scenario time and wall time (bench clock on a twin)


@dataclass(frozen=True)
class Attempt:
    """One attempt of a campaign's merged result (runner/campaign.py), oldest first; the last is the result's."""
    run: str
    verdict: str
    message: str


@dataclass(frozen=True)
class Result:
    spec: str
    version: str
    sha256: str
    scenario: str
    refs: tuple[str, ...]
    verdict: str
    message: str
    checks: tuple[Check, ...]
    evidence: str
    attempts: tuple[Attempt, ...] = ()  # a campaign's merged result: every attempt that ran it


@dataclass(frozen=True)
class Requirement:
    ref: str
    title: str
    verdict: str
    scenarios: tuple[str, ...]


@dataclass(frozen=True)
class Feature:
    station: str
    feature: str
    state: str


@dataclass(frozen=True)
class Summary:
    header: Header
    devices: tuple[Device, ...]
    instruments: tuple[Instrument, ...]
    features: tuple[Feature, ...]
    requirements: tuple[Requirement, ...]
    results: tuple[Result, ...]
    deviations: tuple[str, ...]
    verdict: str
    verdict_reasons: tuple[str, ...]
    simulation: str          # the banner's text; "" on a physical bench without faults
    counts: dict[str, int] = field(default_factory=dict)
    billing: tuple[ocmf.TransactionCheck, ...] = ()  # signed meter values per transaction (runner/ocmf.py)


def _identity(folder: Path) -> dict[str, Any]:
    """run.json, with the pytest-xdist workers' bench identity (run-gw0.json) when the controller has none:
    in per-station mode (runner/per_station.py) each worker opened a station of its own; the summary names
    every worker's charger and instruments (on a twin of one station they are the same station)."""
    return runs.read_identity(folder)


def _bench_file(identity: dict[str, Any]) -> dict[str, Any]:
    """The bench file as written (TOML), or {} when it is gone: the summary says what it could not check.
    Read raw rather than validated: a password the bench file takes from the environment is not needed here."""
    name = identity.get("bench.file")
    if not name:
        return {}
    try:
        with open(name, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _when(text: Any, zone: ZoneInfo) -> str:
    if not text:
        return "—"
    try:
        t = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    local = t.astimezone(zone)
    utc = t.astimezone(ZoneInfo("UTC"))
    s = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"
    return s if local.utcoffset() == utc.utcoffset() else f"{s} ({utc:%H:%M:%S} UTC)"


def _test_date(identity: dict[str, Any]) -> date:
    """The last day of the run: an instrument must be in calibration until its last reading."""
    for key in ("finished", "started"):
        try:
            return datetime.fromisoformat(str(identity[key])).date()
        except (KeyError, ValueError):
            continue
    return datetime.now().date()


_IDN = re.compile(r"^(?P<idn>[^(]*?)\s*\((?P<rest>.*)\)\s*$")


def _stations(identity: dict[str, Any], bench: dict[str, Any]) -> list[dict[str, Any]]:
    """The bench file's stations this run opened (`chargespec run --station`, a campaign's unit: one)."""
    stations = [s for s in bench.get("stations") or [] if isinstance(s, dict)]
    opened = {k.split(".", 1)[1] for k in identity if k.startswith("charger.")}
    return [s for s in stations if str(s.get("id")) in opened] if opened else stations


def _instruments(identity: dict[str, Any], bench: dict[str, Any], on: date, simulated: bool) -> list[Instrument]:
    answered: dict[str, str] = identity.get("instruments") or {}
    out: list[Instrument] = []
    for station in _stations(identity, bench):
        sid = str(station.get("id", "?"))
        for role, ic in (station.get("instruments") or {}).items():
            said = str(answered.get(f"{sid}.{role}", ""))
            m = _IDN.match(said)
            idn = (m.group("idn") if m else said).strip()
            parts = [p.strip() for p in idn.split(",")]
            model = " ".join(parts[:2]) if len(parts) >= 2 else (idn or str(ic.get("driver", "?")))
            read_serial = parts[2] if len(parts) >= 3 else ""
            serial = str(ic.get("serial", ""))
            due, calibrated = ic.get("calibration_due"), ic.get("calibrated")
            problems: list[str] = []
            if read_serial and serial and read_serial != serial:
                problems.append(f"serial read {read_serial}, bench file says {serial}")
            if isinstance(due, date) and due < on:
                problems.append(f"EXPIRED: calibration was due {due}, tested {on}")
            if isinstance(calibrated, date) and calibrated > on:
                problems.append(f"calibrated {calibrated}, after the test date {on}")
            if problems:
                status, ok = "; ".join(problems), False
            elif isinstance(due, date):
                status, ok = f"in calibration on {on}", True
            elif role.startswith(("reader", "power")):  # no measuring function: nothing to calibrate
                status, ok = "no measuring function", True
            else:
                status, ok = "calibration not stated", simulated
            out.append(Instrument(
                station=sid, role=role, identity=", ".join(parts) if idn else "not identified", model=model,
                serial=read_serial or serial or "—", calibrated=str(calibrated or "—"),
                certificate=str(ic.get("certificate") or "—"), due=str(due or "—"),
                uncertainty=str(ic.get("uncertainty") or "—"), status=status, ok=ok))
    return out


def _devices(folder: Path, identity: dict[str, Any], bench: dict[str, Any]) -> list[Device]:
    boots = boot.read_all(folder)
    out: list[Device] = []
    stations = _stations(identity, bench) or [{"id": k.split(".", 1)[1]} for k in identity
                                              if k.startswith("charger.")]
    for station in stations:
        sid = str(station.get("id", "?"))
        proof = boots.get(sid, {})
        cs = proof.get("chargingStation") or {}
        checks: list[str] = []
        if not proof:
            checks.append("no BootNotification recorded in this run: the device is not identified")
        for key, said_key, what in (("vendor", "vendorName", "vendor"), ("model", "model", "model"),
                                    ("serial", "serialNumber", "serial number"),
                                    ("firmware", "firmwareVersion", "firmware")):
            want = str(station.get(key) or "")
            if not proof or not want or want == "unknown":
                continue
            got = str(cs.get(said_key) or "")
            if got != want:
                checks.append(f"{what}: the charger says {got or 'nothing'}, the bench file expects {want}")
        expected = ", ".join(f"{k} {station[k]}" for k in ("vendor", "model", "serial", "firmware")
                             if station.get(k) and station.get(k) != "unknown") or "nothing stated"
        out.append(Device(
            station=sid, vendor=str(cs.get("vendorName") or "—"), model=str(cs.get("model") or "—"),
            serial=str(cs.get("serialNumber") or "not reported"), firmware=str(cs.get("firmwareVersion") or "—"),
            expected=expected, checks=tuple(checks), proof=str(proof.get("frame") or ""),
            proof_file=str(proof.get("file") or "")))
    return out


def _features(folder: Path) -> list[Feature]:
    """feature-matrix.json (runner/features.py): per station, the controllers its device model reported, the
    catalogue's required variables it lacks, and the capabilities the bench file declares."""
    data = runs.read_json(folder / "feature-matrix.json")
    out: list[Feature] = []
    for sid, entry in sorted(data.items()):
        if not isinstance(entry, dict):
            continue
        for c in entry.get("controllers") or []:
            if isinstance(c, dict):
                out.append(Feature(sid, str(c.get("component", "?")), _feature_state(c)))
        missing = (entry.get("required") or {}).get("missing")
        if isinstance(missing, list) and "controllers" in entry:
            out.append(Feature(sid, "required variables (TC_B_53_CS)",
                               "all reported" if not missing else f"{len(missing)} missing: {', '.join(missing)}"))
        declared = (entry.get("capabilities") or {}).get("declared")
        if isinstance(declared, dict):
            for name, v in sorted(declared.items()):
                out.append(Feature(sid, f"{name} (declared in the bench file)", "yes" if v else "no"))
    return out


def _feature_state(c: Any) -> str:
    if not isinstance(c, dict):
        return str(c)
    available, enabled = c.get("available"), c.get("enabled")
    words = ["present"]
    if available is not None:
        words.append("available" if available else "not available")
    if enabled is not None:
        words.append("enabled" if enabled else "disabled")
    return ", ".join(words)


def _figure(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:.4g}"
    return f"{value} {unit}".strip()


_OPS = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}


def _limit(lim: dict[str, Any]) -> str:
    op = _OPS.get(str(lim.get("op", "")), str(lim.get("op", "")))
    text = str(lim.get("text") or _figure(lim.get("value"), str(lim.get("unit", ""))))
    return f"{op} {text}".strip()


def _window(m: dict[str, Any], zone: ZoneInfo, twin: bool) -> str:
    """Scenario seconds, and the same instants as wall time: in the report's zone on a physical bench; on a
    twin the twin's own clock, which runs faster than the day, labelled so (runner/measurements.py Span)."""
    w = m.get("window")
    if not isinstance(w, dict) or w.get("start_s") is None:
        return ""
    text = f"window t={w['start_s']:.1f} s … {w.get('end_s', 0):.1f} s (scenario time)"
    try:
        a, b = (datetime.fromisoformat(str(w[k]).replace("Z", "+00:00")) for k in ("start_wall", "end_wall"))
    except (KeyError, ValueError):
        return text
    if twin:
        return text + f"; {a:%H:%M:%S}–{b:%H:%M:%S} UTC by the twin's clock (bench time, not time of day)"
    a, b = a.astimezone(zone), b.astimezone(zone)
    return text + f"; {a:%Y-%m-%d %H:%M:%S}–{b:%H:%M:%S} {b.tzname()}"


def _check(m: dict[str, Any], zone: ZoneInfo, twin: bool) -> Check:
    limits = " and ".join(_limit(lim) for lim in m.get("limits") or [] if isinstance(lim, dict))
    obs = m.get("observed") or {}
    measured = str(obs.get("text") or _figure(obs.get("value"), obs.get("unit", ""))) if obs else "—"
    figures = [f for f in m.get("figures") or [] if isinstance(f, dict)]
    if figures:  # what an accuracy error was computed from
        measured += " (" + "; ".join(f"{f.get('name')} = {f.get('text') or _figure(f.get('value'), f.get('unit', ''))}"
                                     for f in figures) + ")"
    mg = m.get("margin") or {}
    margin = "—"
    if mg.get("value") is not None:
        margin = _figure(mg["value"], mg.get("unit", ""))
        if mg.get("percent_of_limit") is not None:
            margin += f" ({mg['percent_of_limit']:.3g} % of limit)"
    return Check(criterion=str(m.get("criterion") or m.get("subject") or "?"), limit=limits or "—",
                 measured=measured, margin=margin, verdict=str(m.get("verdict") or "?"), line=m.get("line"),
                 when=_window(m, zone, twin))


def _for_people(text: str, folder: Path) -> str:
    """A message as a reader of the summary needs it: paths inside the run folder or the working directory
    given relative to them (an absolute path of the test machine says nothing on paper)."""
    for base in (folder.resolve(), Path.cwd().resolve()):
        text = text.replace(f"{base}{os.sep}", "")
    return text


def _results(verdicts: dict[str, Any], identity: dict[str, Any], zone: ZoneInfo, folder: Path) -> list[Result]:
    twin = str(identity.get("bench.kind", "")) == "twin"
    digests = {Path(k).as_posix(): v for k, v in (identity.get("specs") or {}).items()}
    out: list[Result] = []
    for r in verdicts.get("results") or []:
        spec = str(r.get("spec") or "?")
        sha = str(r.get("spec sha256") or next((v for k, v in digests.items() if k.endswith(spec)), ""))
        out.append(Result(
            spec=spec, version=str(r.get("spec version") or "—"), sha256=sha or "—",
            # per-station mode (runner/per_station.py): one result per scenario and station, named by it
            scenario=str(r.get("scenario") or "?") + (f" @ station {r['station']}" if r.get("station") else ""),
            refs=tuple(r.get("refs") or ()),
            verdict=str(r.get("verdict") or "broken"), message=_for_people(str(r.get("message") or ""), folder),
            checks=tuple(_check(m, zone, twin) for m in r.get("measurements") or [] if isinstance(m, dict)),
            evidence=str(r.get("evidence") or ""),
            attempts=tuple(Attempt(run=str(a.get("run") or "?"), verdict=str(a.get("verdict") or "broken"),
                                   message=_for_people(str(a.get("message") or ""), folder))
                           for a in r.get("attempts") or [] if isinstance(a, dict))))
    stations = [str(r.get("station") or "") for r in verdicts.get("results") or []]
    if any(stations):  # grouped by unit, each unit's results in the order they ran
        out = [res for _, res in sorted(zip(stations, out, strict=True), key=lambda pair: pair[0])]  # (stable)
    return out


def _rerun(r: Result) -> str:
    """A campaign's result that another attempt judged otherwise first (broken then passed: the bench could not
    judge it until a re-run): every attempt, for the deviations; "" when there is none such."""
    if len(r.attempts) < 2 or all(a.verdict == r.verdict for a in r.attempts[:-1]):
        return ""
    tries = "; ".join(f"attempt {i} (run {a.run}): {a.verdict}" + (f" — {a.message}" if a.message else "")
                      for i, a in enumerate(r.attempts[:-1], 1))
    return (f"{r.verdict} only on a re-run: {r.spec} · {r.scenario}: {tries}; attempt {len(r.attempts)} "
            f"(run {r.attempts[-1].run}): {r.verdict}")


def _title(ref: str) -> str:
    ids = octt.cited(ref)
    if not ids:
        return ""
    case = octt.case(ids[0])
    return case.name if case is not None else ""


def _requirements(results: list[Result]) -> list[Requirement]:
    by_ref: dict[str, list[Result]] = {}
    for r in results:
        for ref in r.refs or (NO_REF,):
            by_ref.setdefault(ref, []).append(r)
    out = []
    for ref, rs in by_ref.items():
        worst = max((r.verdict for r in rs), key=lambda v: _RANK.get(v, 2))
        out.append(Requirement(ref=ref, title=_title(ref) if ref != NO_REF else "", verdict=worst,
                               scenarios=tuple(f"{r.spec} · {r.scenario}" for r in rs)))
    return sorted(out, key=lambda q: (q.ref == NO_REF, q.ref))


def _frames(folder: Path, verdicts: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The charger's frames the billing evidence is read from: the run's evidence folders, and those of its
    results kept elsewhere (a campaign's merged folder has no evidence of its own: each result names its
    attempt's folder, runner/campaign.py)."""
    yield from ocmf.run_frames(folder)
    inside = (folder / runs.EVIDENCE).resolve()
    seen: set[Path] = set()
    for r in verdicts.get("results") or []:
        if not isinstance(r, dict) or not r.get("evidence"):
            continue
        where = (folder / str(r["evidence"])).resolve()
        if where in seen or where.is_relative_to(inside):
            continue
        seen.add(where)
        yield from ocmf.trace_frames(where / "ocpp.jsonl")


def simulation_banner(identity: dict[str, Any]) -> str:
    """The banner a twin run or a run with fault knobs carries on every page ("" for neither)."""
    why = []
    if str(identity.get("bench.kind", "")) == "twin":
        why.append(f"twin bench {identity.get('bench', '')}".strip())
    if identity.get("faults"):
        why.append(f"fault injected: {identity['faults']}")
    if not identity.get("bench.kind"):
        why.append("bench unknown (the run did not open one)")
    # a campaign's merged results: an attempt on a simulation makes them all one (runner/campaign.py)
    why += [w for w in identity.get(runs.SIMULATED_ATTEMPTS) or [] if isinstance(w, str)]
    return f"SIMULATION — NOT VALID FOR ACCEPTANCE ({'; '.join(why)})" if why else ""


def read(folder: Path) -> Summary:
    """The summary of a run folder (a folder that is not one gives a summary that says INCOMPLETE)."""
    folder = Path(folder)
    identity = _identity(folder)
    verdicts = runs.read_json(folder / "verdicts.json")
    bench = _bench_file(identity)
    rep = bench.get("report") or {}
    zone = _zone(str(rep.get("timezone") or "UTC"))
    status = str(identity.get("status") or verdicts.get("status") or runs.INCOMPLETE)
    complete = status.lower() == runs.COMPLETE
    simulated = simulation_banner(identity)
    on = _test_date(identity)

    results = _results(verdicts, identity, zone, folder)
    devices = _devices(folder, identity, bench)
    instruments = _instruments(identity, bench, on, bool(simulated))
    counts = {v: sum(r.verdict == v for r in results) for v in ("passed", "failed", "broken", "skipped")}
    billing = ocmf.check(_frames(folder, verdicts), ocmf.stations_of(bench))

    reasons: list[str] = []
    deviations: list[str] = []
    if not complete:
        reasons.append(f"the run did not finish: {identity.get('status.reason') or 'no identity file'}")
    if counts["failed"]:
        reasons.append(f"{counts['failed']} scenario(s) failed: the charger did not meet a criterion")
    if counts["broken"]:
        reasons.append(f"{counts['broken']} scenario(s) broken: the bench could not judge them")
    if not results:
        reasons.append("no scenario ran")
    elif counts["skipped"] == len(results):  # nothing was judged: no requirement met, none failed
        reasons.append("no scenario was judged: each one was skipped (the charger lacks the feature it is for)")
    for i in instruments:
        if not i.ok:
            reasons.append(f"instrument {i.station}.{i.role}: {i.status}")
    for d in devices:
        reasons += [f"device {d.station}: {c}" for c in d.checks]
    # a campaign's merged results measured on different setups: the device and equipment named above are only
    # the newest attempt's (runner/campaign.py)
    reasons += [f"the merged attempts were not measured on one setup: {c}"
                for c in identity.get(runs.ATTEMPTS_DIFFER) or [] if isinstance(c, str)]
    for r in results:
        if r.verdict == "skipped":
            deviations.append(f"not judged: {r.spec} · {r.scenario}: {r.message or 'skipped'}")
        elif r.verdict in ("failed", "broken"):
            deviations.append(f"{r.verdict}: {r.spec} · {r.scenario}: {r.message}")
        rerun = _rerun(r)
        if rerun and r.verdict not in ("failed", "broken"):  # (theirs name the earlier attempts in the message)
            deviations.append(rerun)
    for b in billing:
        if b.counts_against:  # evidence the bench file says the charger gives, missing or not verifiable
            reasons.append(f"billing evidence of {b.station} transaction {b.transaction}: {b.status}: {b.reason}")
    if identity.get("faults"):
        deviations.append(f"fault knobs set on the twin: {identity['faults']}")
    left = identity.get(runs.LEFT_CHANGED)
    if isinstance(left, dict):  # the last return to idle on a station could not put it back (runner/leftovers.py)
        deviations += [f"the charger was left changed at the end of the run: station {sid} {what}"
                       for sid, what in sorted(left.items())]
    apart = [a for a in verdicts.get(runs.NO_LONGER_SELECTED) or [] if isinstance(a, dict)]
    if apart:  # a campaign's earlier results for scenarios it no longer selects: not part of this verdict
        deviations.append(
            f"not counted: {len(apart)} result(s) of earlier attempts for scenarios the campaign no longer selects "
            "(renamed, deleted or deselected since): " + "; ".join(
                f"{a.get('spec')} · {a.get('scenario')}: {a.get('verdict')} (run {a.get('run')})" for a in apart))
    if identity.get("deselected"):  # the verdict is the selection's; say what it left out
        how = f" ({identity['selection']})" if identity.get("selection") else ""
        deviations.append(f"not selected: {identity['deselected']} scenario(s) of the spec files given{how}, not "
                          "judged in this run")
    if not complete:  # as verdicts.json says: a run that did not finish has no verdict, failures or not
        verdict = INCOMPLETE
    elif counts["failed"]:
        verdict = NOT_ACCEPTED
    elif reasons:
        verdict = INCOMPLETE
    else:
        verdict = ACCEPTED

    run = str(identity.get("run") or verdicts.get("run") or folder.name)
    charger = ", ".join(f"{d.vendor} {d.model} ({d.serial})" for d in devices if d.proof) or "charger not identified"
    header = Header(
        title=f"Acceptance summary — {charger} on bench {identity.get('bench', '?')}",
        report_number=str(rep.get("report_number") or run), lab=str(rep.get("lab") or "—"),
        customer=str(rep.get("customer") or "—"), order=str(rep.get("order") or "—"),
        operator=str(rep.get("operator") or "—"), started=_when(identity.get("started"), zone),
        finished=_when(identity.get("finished"), zone), zone=zone.key, bench=str(identity.get("bench") or "—"),
        run=run, status=status.upper() if not complete else "complete",
        ambient=str(rep.get("ambient") or "not recorded by the bench"))
    return Summary(header=header, devices=tuple(devices), instruments=tuple(instruments),
                   features=tuple(_features(folder)), requirements=tuple(_requirements(results)),
                   results=tuple(results), deviations=tuple(deviations), verdict=verdict,
                   verdict_reasons=tuple(reasons), simulation=simulated, counts=counts, billing=billing)
