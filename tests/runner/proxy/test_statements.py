"""Statements and modes: every line that cannot run in the bench's mode is named before the bench is touched."""

from __future__ import annotations

from pathlib import Path

import dsl
import runner.steps  # noqa: F401  (the proxy statements register with the step library)
from runner.proxy.statements import mode_problems

SPEC = '''spec "Both modes"
  setup
    charger booted

  scenario "one"
    csms sends Reset {type: "OnIdle"}
    repeat 2 times
      session starts with token "04A2B3C4"
    csms injects TriggerMessage {requestedMessage: "Heartbeat"}
    wait up to 2 min for backend to send SetChargingProfile {evseId: 1}
    expect charger replies {status: "Accepted"}
    ev plugs in on evse 1
'''


def test_each_mode_names_every_line_it_cannot_run(tmp_path: Path) -> None:
    path = tmp_path / "both.spec"
    path.write_text(SPEC)
    [spec] = dsl.load(path)
    [plan] = spec.scenarios
    proxy = mode_problems(plan, proxy=True)
    assert [p.split(": `")[0].rsplit(":", 2)[-2] for p in proxy] == ["6", "8"]
    assert "6:5: `csms sends Reset {type: \"OnIdle\"}` needs chargespec to be the CSMS — in proxy mode use " \
           "`csms injects …`" in proxy[0]
    harness = mode_problems(plan, proxy=False)
    assert [p.split(": `")[0].rsplit(":", 2)[-2] for p in harness] == ["9", "10"]
    assert "`csms injects TriggerMessage {requestedMessage: \"Heartbeat\"}` needs proxy mode — on the harness " \
           "chargespec is the CSMS: write `csms sends …`" in harness[0]
