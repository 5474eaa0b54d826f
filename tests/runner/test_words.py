"""Failure messages in words for people, against a golden file: what the console and Allure show for a
charger failure, a bench fault and an unexpected error; no Python class name, no absolute path; t=0 as
wall-clock time with its zone, and bench time labelled as such on the twin.

To accept a deliberate change: CHARGESPEC_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/runner/test_words.py
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from allure_commons.utils import format_exception

from dsl.plan import Source
from runner import errors, words
from runner.errors import BenchError, ExpectationFailed
from runner.judge import clock_note

GOLDEN = Path(__file__).parent / "golden" / "failure-messages.expected"
ROOT = Path("/home/lab/chargespec")
SRC = Source(str(ROOT / "specs/metering/energy-register-accuracy.spec"), 17, 5,
             '    expect charger energy over "steady" within 2 % of analyzer energy over "steady"')
WALL0 = datetime(2026, 11, 30, 13, 7, 39, tzinfo=UTC)


def _run(kind: str, speed: float) -> SimpleNamespace:
    """A scenario that began 12 bench seconds after the bench clock started, judged 612 bench seconds in."""
    clock = SimpleNamespace(speed=speed, now=lambda: 612.0, wall=lambda t: WALL0 + timedelta(seconds=t),
                            real=lambda s: s / speed)
    return SimpleNamespace(clock=clock, recorder=SimpleNamespace(t_begin=12.0),
                           session=SimpleNamespace(config=SimpleNamespace(kind=kind)))


def _allure(e: BaseException) -> str:
    """The status message allure-pytest writes for `e`, then as chargespec rewrites it."""
    return words.message(format_exception(type(e), e), [ROOT]) or ""


def _render() -> str:
    errors.show_from(ROOT)
    real_now = datetime(2026, 11, 30, 13, 1, 0, tzinfo=UTC)
    failed = ExpectationFailed(SRC, 'charger energy over "steady" = 1.878 kWh, analyzer energy over "steady" = '
                                    "1.823 kWh: error +3.01 % (allowed ±2 %), window t=11.2 s … t=611.2 s")
    failed.add_note_line(clock_note(_run("twin", 30.0), real_now))  # type: ignore[arg-type]
    broken = BenchError(SRC, "not enough samples of analyzer energy (analyzer.energy) to span the window")
    broken.add_note_line(clock_note(_run("physical", 1.0), real_now))  # type: ignore[arg-type]
    unexpected = KeyError("evse")
    outside = ExpectationFailed(Source("/srv/other/site/depot.spec", 9, 5, "    expect x"), "observed y")
    parts = [
        ("charger failure: console", str(failed)),
        ("charger failure: Allure", _allure(failed)),
        ("bench fault: Allure", _allure(broken)),
        ("unexpected error: Allure", _allure(unexpected)),
        ("a spec outside the project", _allure(outside)),
        ("a traceback, relative", words.without_roots(f'  File "{ROOT}/runner/judge.py", line 70, in judge', [ROOT])),
    ]
    return "".join(f"== {title}\n{text}\n" for title, text in parts)


def test_failure_messages_read_as_the_golden_file() -> None:
    text = _render()
    if os.environ.get("CHARGESPEC_GOLDEN_UPDATE"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
    assert "/home/lab" not in text and "/srv" not in text
    assert "Error:" not in text and "ExpectationFailed" not in text and "runner." not in text


@pytest.mark.parametrize(("text", "keeps"), [
    ("runner.errors.ExpectationFailed: specs/x.spec:1:1: y", False),
    ("runner.errors.BenchError: specs/x.spec:1:1: y", False),
    ("KeyError: 'evse'", True),
])
def test_only_an_unexpected_error_keeps_its_python_traceback(text: str, keeps: bool) -> None:
    assert words.keeps_trace(text) is keeps


def test_a_message_that_is_not_an_exception_is_left_as_it_is() -> None:
    assert words.message("did not finish: the run stopped", []) == "did not finish: the run stopped"
    assert words.message("Note: the limit applies", []) == "Note: the limit applies"


def test_the_allure_description_names_each_requirement_by_catalogue_id_and_title(monkeypatch) -> None:
    import allure

    from dsl.plan import ScenarioPlan, SpecPlan
    from runner import evidence

    said: dict[str, list] = {}
    for name in ("title", "feature", "suite", "label", "link", "parameter", "description"):
        monkeypatch.setattr(allure.dynamic, name, lambda *a, _n=name, **k: said.setdefault(_n, []).append((a, k)))
    errors.show_from(ROOT)
    plan = ScenarioPlan("Offline", "loss", {}, (), (), (), SRC, refs=("OCPP 2.0.1 TC_E_40_CS", "OCPP 2.0.1 E04"))
    spec = SpecPlan("Offline", SRC.file, "1", plan.refs, (), (plan,), SRC, excerpt='spec "Offline"')
    evidence.label_scenario(spec, plan)
    [((description,), _)] = said["description"]
    assert description.startswith("Requirements:\n\n- OCPP 2.0.1 TC_E_40_CS (Offline Behaviour - Connection loss "
                                  "during transaction)\n- OCPP 2.0.1 E04\n\nspecs/metering/energy-register-accuracy"
                                  ".spec:17\n"), description
    assert (("requirement", "OCPP 2.0.1 TC_E_40_CS"), {}) in said["label"]  # the label as written: filters
