"""Checks of a rule's parameters beyond their types (``expect every <Action>: <rule>``): what would make the rule
judge something other than what it says, or nothing at all, is an error at the words that say it."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from dsl import ast, plan
from dsl.errors import ErrorSink
from dsl.stations import word_text

# The meter-timestamp rules read meterValue[].timestamp: only these actions carry it.
METER_VALUE_ACTIONS: tuple[str, ...] = ("MeterValues", "TransactionEvent")
_METER_RULES: frozenset[str] = frozenset({"meter_timestamps_aligned", "meter_timestamps_every"})


def check_rule(rule: str, action: str | None, action_node: ast.Node, params: Mapping[str, Any],
               nodes: Mapping[str, ast.Node], sink: ErrorSink) -> bool:
    """False (errors reported) when the rule's parameters make no sense for it. `nodes`: each parameter's words."""
    if rule not in _METER_RULES:
        return True
    phrase = "meterValue timestamps"
    if action is not None and action not in METER_VALUE_ACTIONS:
        sink.at(action_node, f"`{phrase}` judges the timestamps inside meterValue, which {action} does not carry",
                "write `expect every MeterValues: …` or `expect every TransactionEvent {…}: …`")
        return False
    interval, tolerance = params.get("interval"), params.get("tolerance")
    if not isinstance(interval, plan.Quantity) or not isinstance(tolerance, plan.Quantity):
        return True  # (a parameter that did not convert was reported already)
    if interval.value <= 0:
        sink.at(nodes["interval"], f"the interval of `{phrase}` must be positive, not {interval.text}")
        return False
    if tolerance.value * 2 >= interval.value:
        # Every instant is within half an interval of an aligned one, and readings a tolerance apart are one
        # reading sent twice: a tolerance this wide would pass any timestamps.
        sink.at(nodes["tolerance"], f"the tolerance of `{phrase}` must be less than half the interval "
                                    f"({interval.text}), not {tolerance.text}: it would accept any timestamp",
                "the deviation the case allows, e.g. `within 2 s`")
        return False
    return True


def rule_windows(rule: ast.Atoms) -> set[str]:
    """The measurement windows a rule's words read (`… during "w"`): a line-at-a-time reader (dsl.quick) checks
    them against the windows its scenario opened, as it does a periodic check's."""
    return {b.value for a, b in itertools.pairwise(rule) if isinstance(b, ast.String) and word_text(a) == "during"}
