"""Which OCPP 2.0.1 actions travel in which direction.

A CSMS only ever receives the charger-initiated ones; a charger that sends a CSMS-initiated action
(say `Reset`) gets `NotSupported`, and an action that is not in 2.0.1 at all gets `NotImplemented`.
DataTransfer goes both ways.
"""

from __future__ import annotations

from ocpp.v201.enums import Action

from dsl.vocab import CHARGER_CALLS

ALL_ACTIONS: frozenset[str] = frozenset(a.value for a in Action)

# One list for the language and the harness: dsl.vocab names the calls a CSMS answers.
CHARGER_TO_CSMS: frozenset[str] = CHARGER_CALLS

CSMS_TO_CHARGER: frozenset[str] = (ALL_ACTIONS - CHARGER_TO_CSMS) | {"DataTransfer"}
