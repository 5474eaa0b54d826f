"""Evidence: what a contract manager signs. Allure metadata and attachments per scenario, a plot of the
recorded signals against the bounds and windows, and the run's identity (charger, firmware, instruments,
calibration, spec hashes, chargespec version).

Data files are written by the recorder as it goes; attachments are made from those files when the scenario
ends, so a killed run still leaves its evidence on disk.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import allure

from dsl.plan import Comparison, ExpectFor, ExpectWithin, ScenarioPlan, SpecPlan, Step
from runner import redact
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
            allure.dynamic.label("requirement", ref)
            allure.dynamic.link(ref, link_type="requirement", name=ref)
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


def attach_evidence(run: ScenarioRun | None, recorder: Recorder, spec: SpecPlan | None) -> None:
    d = recorder.directory
    if d is None:
        return
    if spec is not None:
        (d / "spec.txt").write_text(redact.text(spec.excerpt), encoding="utf-8")
    if run is not None:
        (d / "notes.txt").write_text(redact.text("\n".join(run.notes) + "\n"), encoding="utf-8")
        with contextlib.suppress(Exception):  # a plot is a convenience; the CSV is the evidence
            plot(run, d / "signals.png")
    kinds = {
        "ocpp.jsonl": ("OCPP trace (id tokens redacted)", "application/json", "jsonl"),
        "samples.csv": ("instrument and charger samples", allure.attachment_type.CSV, None),
        "events.jsonl": ("steps, windows and findings", "application/json", "jsonl"),
        "signals.png": ("signals against bounds", allure.attachment_type.PNG, None),
        "spec.txt": ("spec excerpt", allure.attachment_type.TEXT, None),
        "notes.txt": ("measured figures", allure.attachment_type.TEXT, None),
    }
    for name, (title, kind, ext) in kinds.items():
        path = d / name
        if path.exists():
            allure.attach.file(str(path), name=title, attachment_type=kind, extension=ext)


def _bounds(steps: tuple[Step, ...]) -> list[tuple[str, float, str]]:
    out = []
    for s in steps:
        if isinstance(s, ExpectWithin | ExpectFor) and isinstance(s.condition, Comparison):
            out.append((s.condition.signal.key, s.condition.bound.value, s.condition.bound.text))
    return out


def plot(run: ScenarioRun, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rec = run.recorder
    t0 = rec.t_begin
    panels = [("current", "A", [k for k in rec.series_keys() if ".current." in k or k.startswith("charger.Current")]),
              ("power", "kW", [k for k in rec.series_keys() if k in ("analyzer.power", "charger.Power.Active.Import")])]
    panels = [p for p in panels if p[2]]
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 * len(panels)), sharex=True, squeeze=False)
    bounds = _bounds((*run.plan.setup, *run.plan.steps))
    for ax, (title, unit, keys) in zip(axes[:, 0], panels, strict=True):
        scale = 1000.0 if unit == "kW" else 1.0
        for k in keys:
            ts, vs = rec.series(k)
            pts = [(t - t0, v / scale) for t, v in zip(ts, vs, strict=True) if isinstance(v, int | float)]
            if pts:
                ax.plot(*zip(*pts, strict=True), label=k, linewidth=1)
        for key, value, text in bounds:
            if key in keys:
                ax.axhline(value / scale, linestyle="--", color="red", linewidth=0.8)
                ax.annotate(f"bound {text}", (0, value / scale), fontsize=7, color="red")
        for w in run.windows.values():
            ax.axvspan(w.start - t0, (w.end or run.clock.now()) - t0, alpha=0.1, color="green")
        ax.set_ylabel(f"{title} [{unit}]")
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("bench time since scenario start [s]")
    fig.suptitle(run.plan.name, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_run_identity(alluredir: Path | None, out_dir: Path, identity: dict[str, Any],
                       worker: str | None = None) -> None:
    """run.json; under pytest-xdist each worker runs its own bench, so each writes run-<worker>.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"run-{worker}.json" if worker else "run.json"
    (out_dir / name).write_text(json.dumps(identity, indent=2, default=str), encoding="utf-8")
    if alluredir is not None:
        alluredir.mkdir(parents=True, exist_ok=True)
        lines = [f"{k}={str(v).replace(chr(10), ' ')}" for k, v in identity.items() if not isinstance(v, dict)]
        for k, v in identity.items():
            if isinstance(v, dict):
                lines += [f"{k}.{kk}={vv}" for kk, vv in v.items()]
        (alluredir / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
