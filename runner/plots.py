"""The signals plot of a scenario: what was judged, drawn as it was judged.

Two steps, so that tests can check what a plot says without reading pixels:
- :func:`plot_data` turns the recorder's samples, frames and the judges' evidence events into frozen
  :class:`PlotData` (times relative to the scenario start, values in display units);
- :func:`render` draws it with matplotlib.

What it shows, and why:
- only the signals a judge looked at (a "bound" event from a comparison, a "band" event from an accuracy
  check), one panel per dimension; a scenario that judged no sampled signal has no plot at all;
- a bound from the moment its expectation started (not from t=0: the current before a limit was sent is
  not a violation), the deadline dotted, the hold window shaded;
- for an accuracy check, both energies as their change over the window and the tolerance band around the
  reference: a reading outside the band is what failed;
- the phases of a current or voltage in fixed colours and line styles (L1 brown solid, L2 black dashed,
  L3 grey dash-dotted), with the other phases of a judged phase drawn too;
- OCPP events as vertical markers: what the CSMS sent (a limit, a start or stop request) and what the
  charger answered (Accepted / Rejected), transactions started and ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.context import ScenarioRun

# dimension -> (panel title, display unit, canonical units per display unit)
_DISPLAY: dict[str, tuple[str, str, float]] = {
    "current": ("current", "A", 1.0), "power": ("power", "kW", 1000.0), "energy": ("energy", "kWh", 1000.0),
    "voltage": ("voltage", "V", 1.0), "frequency": ("frequency", "Hz", 1.0),
}
# IEC 60445 conductor colours, and a line style each, so phases stay apart in black-and-white print too
PHASE_STYLE: dict[str, tuple[str, str]] = {"L1": ("#8B4513", "-"), "L2": ("#000000", "--"), "L3": ("#808080", "-.")}
_PHASE = re.compile(r"(?:^|[._])(L[123])(?:$|[._-])")
# Frames worth a marker: what the CSMS asks that changes what the charger may draw, and the answers
MARKED_CALLS = frozenset({"SetChargingProfile", "ClearChargingProfile", "RequestStartTransaction",
                          "RequestStopTransaction", "ChangeAvailability", "Reset", "UnlockConnector"})
MAX_MARKERS = 24  # past that the labels overlap into noise; the OCPP trace has them all


@dataclass(frozen=True)
class Trace:
    key: str
    label: str
    t: tuple[float, ...]
    v: tuple[float, ...]
    color: str | None = None
    linestyle: str = "-"


@dataclass(frozen=True)
class BoundLine:
    """A comparison's bound over the span it applied (scenario seconds)."""
    line: int
    label: str
    y: float
    t_start: float
    t_end: float
    t_deadline: float | None = None
    hold: tuple[float, float] | None = None


@dataclass(frozen=True)
class Band:
    """An accuracy check's tolerance band around the reference's change over the window."""
    line: int
    label: str
    t: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    traces: tuple[Trace, ...]
    bounds: tuple[BoundLine, ...] = ()
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class Marker:
    t: float
    label: str
    sender: str  # "charger", "csms", or in proxy mode "backend" / "chargespec (injected)"


@dataclass(frozen=True)
class PlotData:
    title: str
    panels: tuple[Panel, ...]
    markers: tuple[Marker, ...]
    windows: tuple[tuple[str, float, float], ...]
    x_label: str


def phase_of(key: str) -> str | None:
    m = _PHASE.search(key)
    return m.group(1) if m else None


def _dimension(key: str, given: Any) -> str:
    if isinstance(given, str) and given:
        return given
    if ".current." in key or key.startswith("charger.Current"):
        return "current"
    if "power" in key.lower():
        return "power"
    if "energy" in key.lower():
        return "energy"
    return "value"


def _display(dimension: str) -> tuple[str, str, float]:
    return _DISPLAY.get(dimension, (dimension, "", 1.0))


def _numeric(run: ScenarioRun, key: str, t0: float, scale: float, *, lo: float | None = None,
             hi: float | None = None) -> list[tuple[float, float]]:
    ts, vs = run.recorder.series(key)
    return [(t - t0, v / scale) for t, v in zip(ts, vs, strict=True)
            if isinstance(v, int | float) and not isinstance(v, bool)
            and (lo is None or t >= lo) and (hi is None or t <= hi)]


def _trace(key: str, pts: list[tuple[float, float]], label: str | None = None) -> Trace:
    phase = phase_of(key)
    color, style = PHASE_STYLE.get(phase, (None, "-")) if phase else (None, "-")
    return Trace(key, label or key, tuple(p[0] for p in pts), tuple(p[1] for p in pts), color, style)


def _siblings(key: str, keys: list[str]) -> list[str]:
    """`key` and its other phases (analyzer.current.L1 -> .L2, .L3 where recorded)."""
    phase = phase_of(key)
    if phase is None:
        return [key]
    return [k for k in keys if k == key or (phase_of(k) and k == key.replace(phase, phase_of(k) or phase))]


def _bound_line(e: dict[str, Any], scale: float) -> BoundLine:
    hold = ((e["t_settled"], e["t_hold_end"]) if "t_hold_end" in e and "t_settled" in e else
            (e["t_start"], e["t_end"]) if e.get("expectation") == "for" else None)
    label = f"line {e.get('line')}: {e.get('expectation')} {e.get('op')} {e.get('text')}"
    return BoundLine(int(e.get("line", 0)), label,
                     float(e["bound"]) / scale, float(e["t_start"]), float(e["t_end"]),
                     # a `within` that complied is judged by when it did; its deadline would only mislead
                     float(e["t_deadline"]) if "t_deadline" in e and "t_complied" not in e else None, hold)


def _energy_panel(run: ScenarioRun, bands: list[dict[str, Any]], t0: float) -> Panel:
    _, unit, scale = _display("energy")
    traces: list[Trace] = []
    out: list[Band] = []
    for e in bands:
        a, b = e["t_start"] + t0, e["t_end"] + t0
        ma, mb = e.get("m_start", e["t_start"]) + t0, e.get("m_end", e["t_end"]) + t0
        ref = _numeric(run, e["reference"], t0, scale, lo=a, hi=b)
        meas = _numeric(run, e["measured"], t0, scale, lo=ma, hi=mb)
        if not ref:
            continue
        r0 = ref[0][1]
        ref = [(t, v - r0) for t, v in ref]
        traces.append(_trace(e["reference"], ref, f"{e['reference']} (reference), change over the window"))
        if meas:
            m0 = meas[0][1]
            traces.append(_trace(e["measured"], [(t, v - m0) for t, v in meas],
                                 f"{e['measured']}, change over the window"))
        tol = float(e["tolerance"])
        if e.get("relative", True):
            lower = tuple(v * (1 - tol) for _, v in ref)
            upper = tuple(v * (1 + tol) for _, v in ref)
        else:
            lower = tuple(v - tol / scale for _, v in ref)
            upper = tuple(v + tol / scale for _, v in ref)
        out.append(Band(int(e.get("line", 0)), f"line {e.get('line')}: within {e.get('text')} of the reference",
                        tuple(t for t, _ in ref), lower, upper))
    return Panel("energy", unit, tuple(traces), (), tuple(out))


def _markers(run: ScenarioRun, t0: float, t_end: float) -> list[Marker]:
    out: list[Marker] = []
    asked: dict[tuple[str, str | None], str] = {}
    stations = {f.station for f in run.recorder.frames(since=t0)}
    # Proxy mode (docs/proxy.md): the tx calls are the backend's, or chargespec's own injected ones.
    tx_sender = run.recorder.senders.get("tx", "csms")
    injected = {e.get("unique_id") for e in run.recorder.events("proxy.injected")}
    for f in run.recorder.frames(since=t0):
        if f.t > t_end:
            break
        who = f" ({f.station})" if len(stations) > 1 else ""
        if f.direction == "tx" and f.message_type == 2 and f.action in MARKED_CALLS:
            asked[(f.station, f.unique_id)] = f.action or ""
            sender = "chargespec (injected)" if f.unique_id in injected else tx_sender
            by = "" if sender == "csms" else f" by {sender}"
            out.append(Marker(f.t - t0, f"{f.action} sent{by}{who}", sender))
        elif f.direction == "rx" and f.message_type in (3, 4) and (f.station, f.unique_id) in asked:
            status = (f.payload or {}).get("status") if isinstance(f.payload, dict) else None
            answer = status or (f"CALLERROR {f.error_code}" if f.message_type == 4 else "answered")
            out.append(Marker(f.t - t0, f"{asked[(f.station, f.unique_id)]} {answer}{who}", "charger"))
        elif (f.direction == "rx" and f.message_type == 2 and f.action == "TransactionEvent"
              and isinstance(f.payload, dict) and f.payload.get("eventType") in ("Started", "Ended")):
            out.append(Marker(f.t - t0, f"transaction {f.payload['eventType'].lower()}{who}", "charger"))
    return out[:MAX_MARKERS]


def plot_data(run: ScenarioRun) -> PlotData | None:
    """What the plot of this scenario shows, or None when it judged no sampled signal."""
    rec = run.recorder
    t0 = rec.t_begin
    bounds = [e for e in rec.events("bound") if isinstance(e.get("bound"), int | float)]
    bands = [e for e in rec.events("band") if isinstance(e.get("tolerance"), int | float)]
    if not bounds and not bands:
        return None
    keys = rec.series_keys()
    by_dim: dict[str, list[dict[str, Any]]] = {}
    for e in bounds:
        by_dim.setdefault(_dimension(e["signal"], e.get("dimension")), []).append(e)
    panels: list[Panel] = []
    for dim, events in by_dim.items():
        title, unit, scale = _display(dim)
        shown: list[str] = []
        for e in events:
            shown += [k for k in _siblings(e["signal"], keys) if k not in shown]
        traces = tuple(_trace(k, pts) for k in shown if (pts := _numeric(run, k, t0, scale)))
        panels.append(Panel(title, unit, traces, tuple(_bound_line(e, scale) for e in events)))
    if bands:
        panels.append(_energy_panel(run, bands, t0))
    end = run.clock.now()
    windows = tuple((name, w.start - t0, (w.end or end) - t0) for name, w in run.windows.items())
    return PlotData(run.plan.name, tuple(panels), tuple(_markers(run, t0, end)), windows,
                    "bench time since scenario start [s]" + (" (twin clock)" if _is_twin(run) else ""))


def _is_twin(run: ScenarioRun) -> bool:
    config = getattr(run.session, "config", None)
    return getattr(config, "kind", None) == "twin"


def render(data: PlotData) -> Any:
    """`data` as a matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(data.panels)
    key_rows = (len(data.markers) + 2) // 3  # the markers' key, three to a line, under the plot
    fig, axes = plt.subplots(n, 1, figsize=(10, 3.2 * n + 0.4 + 0.22 * key_rows), sharex=True, squeeze=False)
    for ax, panel in zip(axes[:, 0], data.panels, strict=True):
        for tr in panel.traces:
            ax.plot(tr.t, tr.v, label=tr.label, linewidth=1, color=tr.color, linestyle=tr.linestyle)
        for b in panel.bounds:
            ax.hlines(b.y, b.t_start, b.t_end, linestyles="--", colors="red", linewidth=0.9)
            ax.annotate(b.label, (b.t_start, b.y), fontsize=7, color="red", va="bottom")
            if b.t_deadline is not None:
                ax.axvline(b.t_deadline, linestyle=":", color="red", linewidth=0.9)
                ax.annotate(f"deadline, line {b.line}", (b.t_deadline, b.y), fontsize=7, color="red",
                            rotation=90, va="bottom", ha="right")
            if b.hold is not None:
                ax.axvspan(*b.hold, alpha=0.12, color="orange", label=f"hold window, line {b.line}")
        for band in panel.bands:
            ax.fill_between(band.t, band.lower, band.upper, alpha=0.2, color="tab:blue", label=band.label)
        for _, a, z in data.windows:
            ax.axvspan(a, z, alpha=0.06, color="green")
        for m in data.markers:
            ax.axvline(m.t, color=_marker_colour(m), linewidth=0.7, alpha=0.8)
        ax.set_ylabel(f"{panel.title} [{panel.unit}]" if panel.unit else panel.title)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    # Markers are numbered along the top panel's upper edge (staggered where they crowd) and named in a key
    # under the plot: events a second apart would otherwise print over each other.
    top = axes[0, 0]
    x0, x1 = top.get_xlim()
    last_t, level = None, 0
    for i, m in enumerate(data.markers, 1):
        level = (level + 1) % 3 if last_t is not None and m.t - last_t < 0.02 * (x1 - x0) else 0
        last_t = m.t
        top.annotate(str(i), (m.t, 1.0 - 0.07 * level), xycoords=("data", "axes fraction"), fontsize=7,
                     va="top", ha="center", color=_marker_colour(m), fontweight="bold",
                     bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    for i, m in enumerate(data.markers):
        row, col = divmod(i, 3)
        fig.text(0.02 + col * 0.33, 0.01 + 0.22 * (key_rows - 1 - row) / fig.get_figheight(),
                 f"{i + 1}  {m.t:.1f} s  {m.label}", fontsize=7, color=_marker_colour(m))
    axes[-1, 0].set_xlabel(data.x_label)
    fig.suptitle(data.title, fontsize=10)
    fig.tight_layout(rect=(0, 0.22 * key_rows / fig.get_figheight() + 0.01 if key_rows else 0, 1, 1))
    return fig


def _marker_colour(m: Marker) -> str:
    return "tab:olive" if m.sender == "charger" else "tab:purple"


def save(run: ScenarioRun, path: Path, *, dpi: int = 90) -> bool:
    """Write the plot to `path`; False (and no file) when the scenario judged no sampled signal."""
    data = plot_data(run)
    if data is None:
        return False
    import matplotlib.pyplot as plt

    fig = render(data)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return True
