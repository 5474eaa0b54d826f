"""Network connection profiles on the twin, end to end: the bench's values in a SetNetworkProfile, a migration
to the harness's second endpoint judged by `charger connects to csms2`, and the statements' failures — the
charger reaching another endpoint, coming back sooner than `not before`, never trying an endpoint — each a
failure (the charger), with the attempts it made; refusing the invalid URL is broken (the spec asks the bench
for the impossible); a case that needs TLS is skipped on a plain bench."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PRIORITY = ('{setVariableData: [{component: {name: "OCPPCommCtrlr"}, variable: {name: '
            '"NetworkConfigurationPriority"}, attributeValue: remembered "bench.%s"}]}')
PROFILE = ('{configurationSlot: %s, connectionData: {messageTimeout: remembered "bench.messageTimeout", '
           'ocppCsmsUrl: remembered "bench.%s", ocppInterface: remembered "bench.ocppInterface", '
           'ocppTransport: "JSON", ocppVersion: "OCPP20", securityProfile: remembered "bench.securityProfile"}}')

SPEC = f'''spec "Network profiles"
  setup
    charger booted

  scenario "migrates to csms2 and back"
    csms sends SetNetworkProfile {PROFILE % ('remembered "bench.configurationSlot2"', "csmsUrl2")}
    expect charger replies {{status: "Accepted"}}
    csms sends SetVariables {PRIORITY % "priority2then1"}
    expect charger replies {{setVariableResult: [{{attributeStatus: "RebootRequired"}}]}}
    csms sends Reset {{type: "OnIdle"}}
    charger connects to csms2 within 3 min
    expect within 60 s: charger sends BootNotification
    csms sends SetVariables {PRIORITY % "priority1"}
    csms sends Reset {{type: "OnIdle"}}
    charger connects to csms within 3 min
    charger booted

  scenario "the configured data into slot 999"
    csms sends SetNetworkProfile {PROFILE % ("999", "csmsUrl")}
    expect charger replies {{status: "Rejected", statusInfo: {{reasonCode: "InvalidNetworkConf"}}}}

  scenario "expects csms2, the charger comes back to csms"
    csms sends Reset {{type: "Immediate"}}
    charger connects to csms2 within 3 min

  scenario "back sooner than not before"
    csms refuses connections to csms once
    csms sends Reset {{type: "Immediate"}}
    charger attempts to connect to csms within 3 min
    charger connects to csms not before 60 s within 3 min

  scenario "never tries csms2"
    csms sends Reset {{type: "Immediate"}}
    charger attempts to connect to csms2 within 40 s

  scenario "the invalid URL refuses already"
    csms refuses connections to invalid

  scenario "needs TLS"
    charger connects over tls
'''


# One worker runs this module (`make test` distributes by --dist loadgroup): its module fixture is a twin
# run, which every worker that took one of its tests would otherwise make again.
pytestmark = pytest.mark.xdist_group("network-run")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], str]:
    base = tmp_path_factory.mktemp("network")
    (base / "network.spec").write_text(SPEC, encoding="utf-8")
    alluredir = base / "allure"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(base / "network.spec"), "-p", "no:cacheprovider",
                           "-rA", "--speed", "30", "--bench", str(REPO / "lab/benches/twin.toml"),
                           f"--alluredir={alluredir}", f"--evidence={base / 'evidence'}"],
                          cwd=base, capture_output=True, text=True, timeout=300, check=False)
    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in alluredir.glob("*-result.json"))}
    return results, proc.stdout + proc.stderr


@pytest.mark.parametrize("scenario", ["migrates to csms2 and back", "the configured data into slot 999"])
def test_scenario_passes(run: tuple[dict[str, dict], str], scenario: str) -> None:
    results, out = run
    assert results[scenario]["status"] == "passed", out[-4000:]


def test_reaching_another_endpoint_fails_naming_it(run: tuple[dict[str, dict], str]) -> None:
    results, out = run
    r = results["expects csms2, the charger comes back to csms"]
    assert r["status"] == "failed", out[-3000:]
    message = r["statusDetails"]["message"]
    assert "the charger connected to csms at t=" in message and ", not to csms2;" in message
    assert "csms accepted" in message   # the attempts it made


def test_coming_back_before_the_back_off_fails_saying_when(run: tuple[dict[str, dict], str]) -> None:
    results, out = run
    r = results["back sooner than not before"]
    assert r["status"] == "failed", out[-3000:]
    message = r["statusDetails"]["message"]
    assert "after its refused attempt at csms" in message and "not before 60 s is required" in message


def test_an_endpoint_never_tried_fails_with_the_attempts_seen(run: tuple[dict[str, dict], str]) -> None:
    results, out = run
    r = results["never tries csms2"]
    assert r["status"] == "failed", out[-3000:]
    message = r["statusDetails"]["message"]
    assert "no connection attempt at csms2 within 40 s; attempts seen:" in message and "csms accepted" in message


def test_refusing_at_the_invalid_url_is_broken(run: tuple[dict[str, dict], str]) -> None:
    results, out = run
    r = results["the invalid URL refuses already"]
    assert r["status"] == "broken", out[-3000:]
    assert "invalid is no CSMS" in r["statusDetails"]["message"]


def test_a_case_that_needs_tls_is_skipped_on_a_plain_bench_naming_it(run: tuple[dict[str, dict], str]) -> None:
    results, out = run
    r = results["needs TLS"]
    assert r["status"] == "skipped", out[-3000:]
    assert ("TLS to the CSMS (security profile 2 or 3) (the bench file's [csms] security_profile is 0)"
            in r["statusDetails"]["message"])
