"""The CSMS harness: an OCPP 2.0.1 backend on websockets that records every frame and judges traffic.

    from runner.csms import CsmsHarness
    harness = CsmsHarness(recorder, clock, config=bench.csms)

Modules: harness (server, stations, waits, faults, status), session (one connection: record, judge,
answer), commands (named CSMS-initiated messages, reports in parts), security + tls_front (security
profiles 1-3), framing (OCPP-J frames), schemas (2.0.1 JSON schemas), responses (configured
answers), transactions (TransactionEvent book), meter_values (frames -> signals), expect (rules over
recorded frames), serve (`chargespec csms`). See docs/csms.md.
"""

from runner.csms.commands import Report
from runner.csms.errors import CsmsBenchFault, CsmsConnectionLost, CsmsError, CsmsNotConnected, CsmsTimeout
from runner.csms.harness import CsmsHarness
from runner.csms.responses import Responses
from runner.csms.security import SecurityConfigError
from runner.csms.session import CallOutcome
from runner.csms.transactions import TransactionState

__all__ = ["CallOutcome", "CsmsBenchFault", "CsmsConnectionLost", "CsmsError", "CsmsHarness", "CsmsNotConnected",
           "CsmsTimeout", "Report", "Responses", "SecurityConfigError", "TransactionState"]
