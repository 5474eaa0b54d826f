"""The signals plot's call markers name the sender in proxy mode: the backend's calls, chargespec's injected ones."""

from __future__ import annotations

import json
from types import SimpleNamespace

from instruments.clock import Clock
from lab.bench import CsmsConfig, ProxyConfig
from runner import plots
from runner.proxy import ProxyHarness
from runner.recorder import Recorder

RESET = json.dumps([2, "b1", "Reset", {"type": "OnIdle"}])
LIMIT = json.dumps([2, "chargespec-1", "SetChargingProfile", {"evseId": 1, "chargingProfile": {}}])


def _markers(recorder: Recorder) -> list[tuple[str, str]]:
    recorder.frame(station="CS1", direction="tx", raw=RESET)
    recorder.frame(station="CS1", direction="tx", raw=LIMIT)
    return [(m.label, m.sender) for m in plots._markers(SimpleNamespace(recorder=recorder), 0.0, 1e9)]


def test_on_the_harness_chargespec_is_the_csms() -> None:
    assert _markers(Recorder(Clock(1.0))) == [("Reset sent", "csms"), ("SetChargingProfile sent", "csms")]


def test_in_proxy_mode_the_backends_calls_and_chargespecs_injected_ones_are_told_apart() -> None:
    clock = Clock(1.0)
    recorder = Recorder(clock)
    ProxyHarness(recorder, clock, CsmsConfig(), proxy=ProxyConfig(to="ws://127.0.0.1:9/ocpp"))
    recorder.event("proxy.injected", station="CS1", unique_id="chargespec-1", action="SetChargingProfile")
    assert _markers(recorder) == [("Reset sent by backend", "backend"),
                                  ("SetChargingProfile sent by chargespec (injected)", "chargespec (injected)")]
