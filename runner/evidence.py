"""Evidence: what a contract manager signs. Allure metadata and attachments per scenario, a plot of what
was judged (runner/plots.py), and the run's identity (charger, firmware, instruments,
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
import allure_commons

from dsl.plan import ScenarioPlan, SpecPlan, Step
from runner import errors, measurements, octt, redact, words
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


_MAX_SAME_NAME = 1000


def scenario_dir(parent: Path, name: str) -> Path:
    """A scenario's evidence folder, ``parent/<slug(name)>``, made here and its own. Two scenarios of one run
    whose spec titles and names give the same folder (two spec files both titled "Boot" with a scenario
    "current"; "a/b" and "a-b") would write into one folder, the second's files replacing the first's, whose
    verdict would then point at another scenario's trace and measurements: the second gets ``-2`` (then
    ``-3``, ...). An exclusive mkdir, so that two pytest-xdist workers cannot both take one folder."""
    parent.mkdir(parents=True, exist_ok=True)
    base = slug(name)
    for n in range(1, _MAX_SAME_NAME + 1):
        folder = parent / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise OSError(f"{parent}: {_MAX_SAME_NAME} scenarios already named {base!r} in this run")


_WORDS_KEY = "chargespec-words"


def words_for_people(config: Any) -> None:
    """Once per process: spec files shown relative to the project in failure messages, and Allure's status
    messages in words for people (runner/words.py) before its results are written."""
    errors.show_from(config.rootpath)
    if not getattr(config.option, "allure_report_dir", None) or config.pluginmanager.has_plugin(_WORDS_KEY):
        return
    import allure_commons

    plugin = _AllureWords([Path(config.rootpath), Path.cwd()])
    allure_commons.plugin_manager.register(plugin, _WORDS_KEY)
    config.pluginmanager.register(object(), _WORDS_KEY)  # (a marker: installed once per process)
    config.add_cleanup(lambda: allure_commons.plugin_manager.unregister(plugin))


class _AllureWords:
    """An allure_commons plugin: rewrites a result's status messages just before the file logger writes it."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        self._top: Any = None

    def _fix(self, item: Any) -> None:
        d = getattr(item, "statusDetails", None)
        if d is not None:
            keep = words.keeps_trace(d.message)
            d.message = words.message(d.message, self.roots)
            if d.trace:
                d.trace = words.without_roots(d.trace, self.roots) if keep or item is self._top else None
        for step in getattr(item, "steps", None) or []:
            self._fix(step)

    @allure_commons.hookimpl(tryfirst=True)  # before AllureFileLogger writes the result
    def report_result(self, result: Any) -> None:
        self._top = result  # the scenario's trace is the plugin's own failure text: kept
        self._fix(result)


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
        # the requirements by catalogue id and title first (what the scenario is evidence for), then where
        # the spec is (relative to the project) and its text
        reqs = "".join(f"- {octt.describe(ref)}\n" for ref in plan.refs)
        where = f"{errors.shown_file(spec.file)}:{plan.source.line}"
        allure.dynamic.description(redact.text((f"Requirements:\n\n{reqs}\n" if reqs else "")
                                               + f"{where}\n\n```\n{spec.excerpt}\n```"))


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


def plot(run: ScenarioRun, path: Path) -> bool:
    """The scenario's signals plot (runner/plots.py): only when it judged a sampled signal."""
    from runner import plots

    return plots.save(run, path)
