"""`[twin.options]` (lab/twin/options.py): every option is known or an error, as the bench file loads and when a
twin is built from a config that did not come through load_bench. The messages are golden
(tests/lab/golden_bench/23-*, 24-*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.clock import Clock
from lab.bench import BenchConfig, BenchFileError, load_bench
from lab.twin import Twin
from lab.twin.options import (
    TwinOptionError,
    check_options,
    meter_start_wh,
    option_problems,
    reboot_s,
    status_report,
)

TWIN_BENCH = Path(__file__).resolve().parents[2] / "lab" / "benches" / "twin.toml"


def test_known_options_load_with_their_values() -> None:
    bench = load_bench(TWIN_BENCH, overrides={"twin.options": {
        "reboot_s": 60, "meter_start_wh": 2500.5, "status_report": "NotifyEvent"}})
    assert bench.twin is not None
    options = bench.twin.options
    assert (reboot_s(options), meter_start_wh(options), status_report(options)) == (60.0, 2500.5, "NotifyEvent")
    assert (reboot_s({}), meter_start_wh({}), status_report({})) == (10.0, 1000.0, "StatusNotification")


def test_an_unknown_option_is_a_bench_file_error_with_the_near_miss() -> None:
    with pytest.raises(BenchFileError) as err:
        load_bench(TWIN_BENCH, overrides={"twin.options": {"Reboot_S": 60}})
    assert str(err.value) == (f"{TWIN_BENCH}: twin.options.Reboot_S: unknown twin option — did you mean 'reboot_s'? "
                              "(the twin's options: meter_start_wh, reboot_s, status_report)")


def test_every_problem_at_once_and_no_near_miss_for_a_stranger() -> None:
    problems = option_problems({"meter_start": 1.0, "speed": 2, "reboot_s": True, "meter_start_wh": float("nan")})
    assert [name for name, _ in problems] == ["meter_start", "speed", "reboot_s", "meter_start_wh"]
    assert "did you mean 'meter_start_wh'?" in problems[0][1]
    assert "did you mean" not in problems[1][1]
    assert problems[2][1] == "expected a number of bench seconds, 0 or more; got True"


def test_a_twin_refuses_an_unknown_option_that_bypassed_the_bench_file() -> None:
    """A BenchConfig made in code (not by load_bench) with a misspelt option: the twin refuses to start on it
    rather than run on the default."""
    data = load_bench(TWIN_BENCH).model_dump()
    data["twin"]["options"] = {"reboot_S": 60}
    bench = BenchConfig.model_validate(data)
    with pytest.raises(TwinOptionError, match=r"\[twin.options\] reboot_S: unknown twin option — did you mean"):
        Twin(bench, Clock(speed=1.0))
    with pytest.raises(TwinOptionError, match="status_report"):
        check_options({"status_report": "SecurityEvent"})
