"""The bench's own values a spec may put into a message: `remembered "bench.csmsUrl"` and the other names of
dsl.statements.BENCH_VALUES, filled in at the start of every scenario from the bench file's [csms] table and
the running harness (its endpoints' URLs).

They are the catalogue's <Configured …> values: TC_B_43_CS sends the configured ocppCsmsUrl, messageTimeout,
ocppInterface and securityProfile with only the slot invalid; TC_B_45_CS points a free slot at "an
ocppCsmsUrl that is not currently active" (the harness's second endpoint, csms2)."""

from __future__ import annotations

from typing import Any

from dsl.statements import BENCH_VALUES
from lab.bench import CsmsConfig
from runner.csms.harness import CsmsHarness


def bench_values(config: CsmsConfig, harness: CsmsHarness) -> dict[str, Any]:
    slot, slot2 = config.configuration_slot, config.configuration_slot2
    values: dict[str, Any] = {
        "bench.csmsUrl": harness.urls.get("csms", harness.url),
        "bench.csmsUrl2": harness.urls.get("csms2", ""),
        "bench.invalidCsmsUrl": harness.invalid_url,
        "bench.securityProfile": config.security_profile,
        "bench.ocppInterface": config.ocpp_interface,
        "bench.messageTimeout": config.message_timeout_s,
        "bench.configurationSlot": slot,
        "bench.configurationSlot2": slot2,
        "bench.priority2": str(slot2),
        "bench.priority2then1": f"{slot2},{slot}",
        "bench.priority1": str(slot),
    }
    assert values.keys() == BENCH_VALUES.keys(), "runner/bench_values.py and dsl.statements.BENCH_VALUES disagree"
    return values
