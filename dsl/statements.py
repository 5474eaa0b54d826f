"""The built-in statements (name -> pattern) and the rules of ``expect every <Action>: <rule>``.

The runner binds a Python implementation to each statement name; the names and parameter names here
are that contract. See :mod:`dsl.steps` for the pattern syntax.
"""

from __future__ import annotations

BUILTIN_STEPS: dict[str, str] = {
    "charger.booted": "charger booted",
    "charger.firmware_matches_bench": "charger firmware matches the bench file",
    "ev.plugs_in": "ev plugs in [on evse {evse:int}]",
    "ev.unplugs": "ev unplugs",
    "ev.requests": "ev requests {current:current}",
    "ev.draws": "ev draws {current:current}",
    "ev.stops_charging": "ev stops charging",
    "session.starts": "session starts with token {token:string}",
    "session.stops": "session stops",
    # A charging profile of up to four periods (`limit 16 A for 10 min, then 6 A`), each on its phases;
    # `starting in T` and `recurring daily` place it on the scenario's clock (runner/steps.py).
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
    "csms.sends": "csms sends {action:action} [{fields:fields}]",
    "csms.drops": "csms drops the connection",
    "csms.refuses": "csms refuses reconnects for {duration:time}",
    "csms.drops_and_refuses": "csms drops the connection and refuses reconnects for {duration:time}",
    "csms.accepts": "csms accepts reconnects",
    "csms.sets_variable": "csms sets variable {variable:word} [on evse {evse:int}] to {value:string}",
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
    "wait": "wait {duration:time}",
}

# ExpectRule.rule name -> the phrase after the colon. Parameters land in ExpectRule.params.
RULES: dict[str, str] = {
    "seqno_increments": "seqNo increases by 1",
    "offline_flagged": "offline is true when replayed",
    "timestamps_within": "timestamp within {tolerance:time} of bench time",
    "schema_valid": "matches the schema",
}

# `measure "w" until <event>`: the events the runner can close a window on.
WINDOW_EVENTS: tuple[str, ...] = ("session ends", "ev unplugs")

# `expect every <Action> of <scope>: ...`
RULE_SCOPES: dict[str, str] = {"the session": "session", "the scenario": "scenario"}

# `expect every message: ...` applies a rule to every message the charger sends.
ANY_MESSAGE = "message"

# Language versions this tool understands (`version 1` in a spec header; absent means the newest).
LANGUAGE_VERSIONS: tuple[str, ...] = ("1",)
