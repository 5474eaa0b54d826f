"""A window opened in a `repeat` body is each trial's own (docs/language.md, "repeat and trials"): lines of the
same trial after its `measure` read it; no line after the block may name it (the golden cases
repeat-window-*.spec pin those errors). The runner's half is tests/runner/test_repeat_windows.py."""

from __future__ import annotations

import dsl
from dsl.limits import MAX_EVSE, MAX_REPEAT_TIMES


def _errors(body: str) -> list[str]:
    text = 'spec "S"\n  scenario "x"\n' + "".join(f"    {line}\n" for line in body.strip("\n").split("\n"))
    return [e.message for e in dsl.check(dsl.parse(text, "x.spec"))]


def test_a_window_opened_in_a_trial_is_read_later_in_that_trial_and_in_nested_repeats() -> None:
    assert _errors('''
measure "before" for 1 min
repeat 3 times
  measure "w" for 1 min
  expect charger energy over "w" within 2 % of analyzer energy over "w"
  expect charger energy over "before" within 2 % of analyzer energy over "before"
  repeat 2 times
    measure "inner" for 10 s
    expect charger energy over "inner" within 2 % of analyzer energy over "w"
  expect charger sends MeterValues every 60 s ± 2 s during "w"
expect at least 90 % of trials pass
''') == []


def test_an_inner_trials_window_is_not_the_outer_trials() -> None:
    (message,) = _errors('''
repeat 3 times
  repeat 2 times
    measure "inner" for 10 s
  expect charger energy over "inner" within 2 % of analyzer energy over "inner"
''')[:1]
    assert message.startswith('measurement window "inner" is opened inside the repeat block on line 4: each '
                              "trial measures its own")


def test_a_window_before_the_repeat_is_not_opened_again_inside_it() -> None:
    assert _errors('measure "w" for 1 min\nrepeat 2 times\n  measure "w" for 1 min') == [
        'measurement window "w" is already measured in this scenario']


def test_repeat_and_evse_bounds_are_inclusive() -> None:
    assert _errors(f"repeat {MAX_REPEAT_TIMES} times\n  wait 1 s\nrepeat 0{MAX_REPEAT_TIMES} times\n  wait 1 s") == []
    assert _errors(f"ev plugs in on evse {MAX_EVSE}\nexpect charger status evse 0{MAX_EVSE} is Occupied\n"
                   f"expect analyzer power on evse {MAX_EVSE} <= 3 kW") == []
    assert _errors(f"repeat {MAX_REPEAT_TIMES + 1} times\n  wait 1 s") == [
        f"repeat runs at most {MAX_REPEAT_TIMES:,} trials, not {MAX_REPEAT_TIMES + 1}"]


def test_a_repeat_with_too_many_trials_still_has_its_body_checked() -> None:
    assert _errors(f'''
repeat {MAX_REPEAT_TIMES + 1} times
  measure "w" for 1 min
  ev draws 16 kW
  expect charger energy over "w" within 2 % of analyzer energy over "w"
''') == [f"repeat runs at most {MAX_REPEAT_TIMES:,} trials, not {MAX_REPEAT_TIMES + 1}",
         "dimension mismatch: <current> is a current (A), but 16 kW is a power (W)"]
