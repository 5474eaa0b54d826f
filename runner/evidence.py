"""Evidence: what a contract manager signs. Allure metadata and attachments per scenario, a plot of the
recorded signals against the bounds and windows, and the run's identity (charger, firmware, instruments,
calibration, spec hashes, chargespec version: written by runner/runs.py into the run's folder).

Data files are written by the recorder as it goes; attachments are made from those files when the scenario
ends, so a killed run still leaves its evidence on disk.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import allure

from dsl.plan import ScenarioPlan, SpecPlan, Step
from runner import measurements, octt, redact
from runner.context import ScenarioRun
from runner.recorder import Recorder

_URL = re.compile(r"^https?://")


def chargespec_version() -> str:
    try:
        return version("chargespec")
    except PackageNotFoundError:
        return "unknown"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:120] or "scenario"


def label_scenario(spec: SpecPlan | None, plan: ScenarioPlan) -> None:
    # Every text given to Allure passes the redaction rule (runner/redact.py).
    allure.dynamic.title(redact.text(plan.name))
    allure.dynamic.feature(redact.text(plan.spec_title))
    allure.dynamic.suite(redact.text(plan.spec_title))
    # (tags need no label here: they are pytest markers, and allure-pytest labels every marker a tag)
    for ref in plan.refs:
        if _URL.match(ref):
            allure.dynamic.link(ref, name=ref)
        else:
            # the label stays the ref as written (filters, history); the link also says what a catalogue id is
            allure.dynamic.label("requirement", ref)
            allure.dynamic.link(ref, link_type="requirement", name=octt.describe(ref))
    for k, v in plan.params.items():
        allure.dynamic.parameter(k, redact.text(v))
    if spec is not None:
        allure.dynamic.description(redact.text(f"{spec.file}:{plan.source.line}\n\n```\n{spec.excerpt}\n```"))


@contextlib.contextmanager
def allure_step(step: Step) -> Iterator[None]:
    with allure.step(redact.text(f"line {step.source.line}: {step.text}")):
        try:
            yield
        except BaseException as e:
            redact.exception(e)  # Allure records the step's failure message as it leaves the step
            raise


def attach_measurement(m: measurements.Measurement) -> None:
    """A record on the Allure step it was judged in (the step is still open): its figures in one line each."""
    allure.attach(redact.text(measurements.describe(m)), name=f"measurement: {m.verdict}",
                  attachment_type=allure.attachment_type.TEXT)


def attach_evidence(run: ScenarioRun | None, recorder: Recorder, spec: SpecPlan | None) -> None:
    d = recorder.directory
    if d is None:
        return
    if spec is not None:
        (d / "spec.txt").write_text(redact.text(spec.excerpt), encoding="utf-8")
    if run is not None:
        (d / "notes.txt").write_text(redact.text("\n".join(run.notes) + "\n"), encoding="utf-8")
        # (written at every judgement; an empty list when nothing was judged: its absence never needs reading)
        measurements.write(d, run.measurements)
        with contextlib.suppress(Exception):  # a plot is a convenience; the CSV is the evidence
            plot(run, d / "signals.png")
    kinds = {
        "ocpp.jsonl": ("OCPP trace (id tokens redacted)", "application/json", "jsonl"),
        "samples.csv": ("instrument and charger samples", allure.attachment_type.CSV, None),
        "events.jsonl": ("steps, windows and findings", "application/json", "jsonl"),
        "signals.png": ("signals against bounds", allure.attachment_type.PNG, None),
        "spec.txt": ("spec excerpt", allure.attachment_type.TEXT, None),
        "notes.txt": ("measured figures", allure.attachment_type.TEXT, None),
        measurements.TABLE: ("measurements", allure.attachment_type.CSV, None),
        measurements.FILE: ("measurements (JSON)", allure.attachment_type.JSON, None),
    }
    for name, (title, kind, ext) in kinds.items():
        path = d / name
        if path.exists():
            allure.attach.file(str(path), name=title, attachment_type=kind, extension=ext)


def _bounds(run: ScenarioRun) -> list[dict[str, Any]]:
    """The bounds the judged expectations applied, each with when it applied (the judges' "bound" events,
    times relative to the scenario start): a bound is drawn from the moment its expectation started, not
    from t=0, so what the charger did before a limit was sent never looks like a violation."""
    return [e for e in run.recorder.events("bound") if isinstance(e.get("bound"), int | float)]


def plot(run: ScenarioRun, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig = figure(run)
    if fig is None:
        return
    fig.savefig(path, dpi=90)
    plt.close(fig)


def figure(run: ScenarioRun) -> Any:
    """The signals plot as a matplotlib figure (None without current or power samples): each bound from
    the moment its expectation started, deadlines dotted, hold windows shaded, measurement windows green."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rec = run.recorder
    t0 = rec.t_begin
    panels = [("current", "A", [k for k in rec.series_keys() if ".current." in k or k.startswith("charger.Current")]),
              ("power", "kW", [k for k in rec.series_keys() if k in ("analyzer.power", "charger.Power.Active.Import",
                                                                     "station.power")
                               or re.fullmatch(r"analyzer\.evse\d+\.power", k)])]
    panels = [p for p in panels if p[2]]
    if not panels:
        return None
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), sharex=True, squeeze=False)
    bounds = _bounds(run)
    for ax, (title, unit, keys) in zip(axes[:, 0], panels, strict=True):
        scale = 1000.0 if unit == "kW" else 1.0
        for k in keys:
            ts, vs = rec.series(k)
            pts = [(t - t0, v / scale) for t, v in zip(ts, vs, strict=True) if isinstance(v, int | float)]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=k, linewidth=1)
        for b in bounds:
            if b["signal"] not in keys:
                continue
            y = b["bound"] / scale
            ax.hlines(y, b["t_start"], b["t_end"], linestyles="--", colors="red", linewidth=0.8)
            ax.annotate(f"line {b['line']}: {b['expectation']} {b['op']} {b['text']}", (b["t_start"], y),
                        fontsize=7, color="red")
            if "t_deadline" in b and "t_complied" not in b:  # the latest moment C may start to hold
                ax.axvline(b["t_deadline"], linestyle=":", color="red", linewidth=0.8)
                ax.annotate(f"deadline line {b['line']}", (b["t_deadline"], y), fontsize=7, color="red",
                            rotation=90, va="bottom")
            hold = ((b["t_settled"], b["t_hold_end"]) if "t_hold_end" in b else
                    (b["t_start"], b["t_end"]) if b["expectation"] == "for" else None)
            if hold is not None:  # the hold window the condition was judged over
                ax.axvspan(*hold, alpha=0.12, color="orange")
        for w in run.windows.values():
            ax.axvspan(w.start - t0, (w.end or run.clock.now()) - t0, alpha=0.1, color="green")
        ax.set_ylabel(f"{title} [{unit}]")
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("bench time since scenario start [s]")
    fig.suptitle(run.plan.name, fontsize=10)
    fig.tight_layout()
    return fig
