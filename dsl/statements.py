"""The built-in statements (name -> pattern) and the rules of ``expect every <Action>: <rule>``.

The runner binds a Python implementation to each statement name; the names and parameter names here
are that contract. See :mod:`dsl.steps` for the pattern syntax.
"""

from __future__ import annotations

BUILTIN_STEPS: dict[str, str] = {
    "charger.booted": "charger booted",
    "charger.firmware_matches_bench": "charger firmware matches the bench file",
    # Bench actions on the charger's supply (the bench's `power` role; on the twin, the twin's supply).
    "charger.loses_power": "charger loses power",
    "charger.power_returns": "charger power returns",
    "charger.power_cycles": "charger power cycles",
    "charger.reconnects": "charger reconnects [not before {earliest:time}] [within {timeout:time}]",
    # Network connection profiles (B09/B10): which of the harness's endpoints the charger tries and reaches
    # (runner/network_steps.py). They judge, so they are no "previous action" (`expect.` names).
    "expect.connection_attempt": "charger attempts to connect to {endpoint:endpoint} [within {timeout:time}]",
    "expect.connects_to": "charger connects to {endpoint:endpoint} [not before {earliest:time}] "
                          "[within {timeout:time}]",
    # EV and session statements act on EVSE 1 unless `on evse N` names another.
    "ev.plugs_in": "ev plugs in [on evse {evse:int}]",
    "ev.unplugs": "ev unplugs [on evse {evse:int}]",
    "ev.disconnects_ev_side": "ev disconnects at the ev side [on evse {evse:int}]",
    "ev.parks": "ev parks [on evse {evse:int}]",
    "ev.leaves_bay": "ev leaves the bay [on evse {evse:int}]",
    # `on 1 phase`: a 1-phase EV (on a 3-phase station it draws on L1 alone); the station's phases by default.
    "ev.requests": "ev requests {current:current} [on {phases:phases}] [on evse {evse:int}]",
    "ev.draws": "ev draws {current:current} [on {phases:phases}] [on evse {evse:int}]",
    "ev.stops_charging": "ev stops charging [on evse {evse:int}]",
    "session.starts": "session starts with token {token:string} [on evse {evse:int}]",
    # Local authorization: an idToken at the charger's own reader (bench role `reader`); the charger's
    # reaction (Authorize, a transaction starting or stopping) is judged by expectations.
    "driver.presents_token": "driver presents token {token:string} [of type {type:tokentype}] [on evse {evse:int}]",
    # The charger's own user interface (bench role `ui`): the driver selects what the spec says; the charger's
    # reaction is judged by expectations. Cases that need it state `charger supports capability UserInterface`.
    "driver.selects": "driver selects {choice:string} at the user interface",
    "session.stops": "session stops [on evse {evse:int}]",
    # A charging profile of up to four periods (`limit 16 A for 10 min, then 6 A`), each on its phases;
    # `starting in T` and `recurring daily` place it on the scenario's clock (runner/schedule_steps.py).
    "csms.sets_profile": "csms sets {purpose:purpose} on evse {evse:int}: limit {limit:current|power} "
                         "[on {phases:phases}] [for {for1:time}, then {limit2:current|power} [on {phases2:phases}] "
                         "[for {for2:time}, then {limit3:current|power} [on {phases3:phases}] "
                         "[for {for3:time}, then {limit4:current|power} [on {phases4:phases}]]]] "
                         "[at stack level {stack:int}] [, starting in {start:time}] "
                         "[, recurring {recurrency:recurrency}]",
    # GetCompositeSchedule, judged against the composite the harness computes from the profiles it sent.
    "expect.composite_schedule": "expect charger composite schedule on evse {evse:int} [for {duration:time}] "
                                 "[in {unit:rate}]",
    "wait.schedule_period": "wait for the next schedule period on evse {evse:int}",
    "csms.clears_profiles": "csms clears charging profiles",
    # The site's local energy manager (bench role `ems`, docs/ems.md): a site limit in W (total) or A (per
    # phase), what the charger falls back to when the EMS's heartbeat stops, and the heartbeat itself.
    "ems.limits_site": "ems limits the site to {limit:current|power}",
    "ems.releases_site": "ems releases the site limit",
    "ems.sets_fallback": "ems sets the fallback to {limit:current|power} after {timeout:time} of silence",
    "ems.goes_silent": "ems goes silent",
    "ems.comes_back": "ems comes back",
    "csms.sends": "csms sends {action:action} [{fields:fields}]",
    # Proxy mode (docs/proxy.md): chargespec's own call to the charger, and the backend's call with the charger's
    # answer (both judged by `expect charger replies`).
    "proxy.injects": "csms injects {action:action} [{fields:fields}]",
    "proxy.backend_sends": "wait [up to {timeout:time}] for backend to send {action:action} [{match:pattern}]",
    # Response-time bounds over the scenario's relayed calls so far (every one, or at the Nth percentile).
    "proxy.backend_answers_within": "backend answers {action:call} within {bound:time} "
                                    "[at the {percentile:ordinal} percentile]",
    "proxy.charger_answers_within": "charger answers {action:action} within {bound:time} "
                                    "[at the {percentile:ordinal} percentile]",
    "csms.drops": "csms drops the connection",
    "csms.refuses": "csms refuses reconnects for {duration:time}",
    "csms.drops_and_refuses": "csms drops the connection and refuses reconnects for {duration:time}",
    "csms.accepts": "csms accepts reconnects",
    # One endpoint refuses every connection attempt, or the next N (`once`, `2 times`), until `csms accepts
    # connections to E`, `csms accepts reconnects` or the return to idle.
    # A case that needs TLS between charger and CSMS (security profile 2 or 3 in the bench file): skipped else.
    "charger.connects_over_tls": "charger connects over tls",
    # A scenario for a bench of several stations (docs/language.md "Several stations"): skipped on a bench
    # without the station (a line naming a station the bench lacks, without this requirement, is a usage error).
    "bench.has_station": "bench has station {name:word}",
    "bench.has_station_id": "bench has station {name:string}",
    # A scenario for a station of several EVSEs (`bench has evse 2`, or `… on station NAME`): skipped on a bench
    # whose station has fewer (the bench file's `evses`), as a station it lacks is.
    "bench.has_evse": "bench has evse {evse:int}",
    "csms.refuses_endpoint": "csms refuses connections to {endpoint:endpoint} [{count:count}]",
    "csms.accepts_endpoint": "csms accepts connections to {endpoint:endpoint}",
    "csms.sets_variable": "csms sets variable {variable:word} [on evse {evse:int}] to {value:string}",
    # The catalogue's "set where writable": Accepted, or Rejected by a read-only variable that already holds it.
    "csms.sets_variable_where_writable": "csms sets variable {variable:word} [on evse {evse:int}] to {value:string} "
                                         "where writable",
    "csms.answers_boot": "csms answers BootNotification with {status:word} [every {interval:time}]",
    "csms.blocks_token": "csms blocks token {token:string}",
    # Answer rules (runner/csms/responses.py): for the Nth and/or a matching call only, once, N times or
    # until the return to idle; an error, a payload merged into the default answer, late, or no answer.
    "csms.answers_error": "csms answers [the {nth:ordinal}] {action:call} [{match:pattern}] with error {code:code} "
                          "[after {delay:time}] [{count:count}]",
    "csms.answers_with": "csms answers [the {nth:ordinal}] {action:call} [{match:pattern}] with {payload:fields} "
                         "[after {delay:time}] [{count:count}]",
    "csms.answers_late": "csms answers [the {nth:ordinal}] {action:call} [{match:pattern}] after {delay:time} "
                         "[{count:count}]",
    "csms.does_not_answer": "csms does not answer [the {nth:ordinal}] {action:call} [{match:pattern}] "
                            "[{count:count}]",
    # The feature matrix (runner/features.py): read the device model (GetBaseReport FullInventory), judge
    # the required variables, and skip a scenario whose optional feature the charger lacks.
    "csms.reads_device_model": "csms reads the device model",
    "charger.reports_required_variables": "charger reports every required variable",
    "charger.reports_characteristics": "charger reports every variable with its characteristics",
    "charger.supports": "charger supports {feature:feature}",
    # What a case takes as given beyond "present and not false" (runner/features.py): a variable reported at
    # all, writable, with a value, or settable to one; a capability outside the device model (bench file).
    "charger.supports_variable": "charger supports variable {variable:variable}",
    "charger.supports_writable": "charger supports variable {variable:variable} writable",
    "charger.supports_value": "charger supports variable {variable:variable} with value {value:string}",
    "charger.supports_settable": "charger supports variable {variable:variable} settable to {value:string}",
    # A prerequisite in the negative (Part 6's "TxStartPoint should not be EnergyTransfer"): reported, and its
    # Actual value is not the one written.
    "charger.supports_without_value": "charger supports variable {variable:variable} without value {value:string}",
    "charger.supports_capability": "charger supports capability {capability:capability}",
    "charger.lacks_capability": "charger lacks capability {capability:capability}",
    "wait": "wait {duration:time}",
}

# ExpectRule.rule name -> the phrase after the colon. Parameters land in ExpectRule.params.
RULES: dict[str, str] = {
    "seqno_increments": "seqNo increases by 1",
    "offline_flagged": "offline is true when replayed",
    "timestamps_within": "timestamp within {tolerance:time} of bench time",
    "schema_valid": "matches the schema",
    # The timestamps inside MeterValues (meterValue[].timestamp) of the readings taken on an interval: clock-aligned
    # ones (Sample.Clock) on midnight + k·interval, sampled ones (Sample.Periodic) an interval apart (J01, J02);
    # `during "w"`: those of the messages that arrived in window w (not those of a setup's earlier interval).
    "meter_timestamps_aligned": "meterValue timestamps every {interval:time} aligned to the clock "
                                "within {tolerance:time} [during {window:string}]",
    "meter_timestamps_every": "meterValue timestamps every {interval:time} within {tolerance:time} "
                              "[during {window:string}]",
}

# `measure "w" until <event>`: the events the runner can close a window on.
WINDOW_EVENTS: tuple[str, ...] = ("session ends", "ev unplugs")

# `expect every <Action> of <scope>: ...`
RULE_SCOPES: dict[str, str] = {"the session": "session", "the scenario": "scenario"}

# `expect every message: ...` applies a rule to every message the charger sends.
ANY_MESSAGE = "message"

# Language versions this tool understands (`version 1` in a spec header; absent means the newest).
LANGUAGE_VERSIONS: tuple[str, ...] = ("1",)

# Values a spec reads from the bench as `remembered "bench.…"` (runner/bench_values.py fills them in at each
# scenario's start): the catalogue's <Configured …> connection data, for messages such as SetNetworkProfile.
BENCH_VALUES: dict[str, str] = {
    "bench.csmsUrl": "the URL of the harness's endpoint csms, the one the charger is configured with",
    "bench.csmsUrl2": "the URL of the harness's second endpoint, csms2 (another CSMS, the same root)",
    "bench.invalidCsmsUrl": "a URL on which no CSMS answers (endpoint invalid: it closes every connection)",
    "bench.securityProfile": "the bench's [csms] security_profile (a number)",
    "bench.ocppInterface": "[csms] ocpp_interface (Wired0 by default)",
    "bench.messageTimeout": "[csms] message_timeout_s (a number, 30 by default)",
    "bench.configurationSlot": "[csms] configuration_slot: the network profile slot the charger uses (1)",
    "bench.configurationSlot2": "[csms] configuration_slot2: a second slot the cases may write (2)",
    "bench.priority2": "NetworkConfigurationPriority naming configuration_slot2 alone (\"2\")",
    "bench.priority2then1": "NetworkConfigurationPriority, configuration_slot2 first, then configuration_slot "
                            "(\"2,1\")",
    "bench.priority1": "NetworkConfigurationPriority naming configuration_slot alone (\"1\")",
    "bench.csmsRootCertificate2": "the PEM text of [csms] root_certfile2, a new CSMS root certificate",
    "bench.csmsRootHashData": "certificateHashData (SHA256) of [csms] root_certfile, the CSMS root in use",
}
