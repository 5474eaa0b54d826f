"""Exceptions the CSMS harness raises: each names the station, the action and what to do next.

A CALLERROR from the charger is never an exception (it is a `CallOutcome`); these are for waits that
ran out, calls on stations that are not connected, and connections lost while a call was outstanding.
Each is the charger's failure (a step reads it as *failed*) except :class:`CsmsBenchFault`: the bench itself
(the harness, its event loop, a network fault the spec asked for) is why the exchange did not happen, and
the scenario is *broken* (runner/steps.py `run_action`).
"""

from __future__ import annotations


class CsmsError(Exception):
    """Base class of every harness error."""


class CsmsTimeout(CsmsError, TimeoutError):
    """A wait (connection, boot, answer) did not finish within its bench-time budget."""


class CsmsNotConnected(CsmsError):
    """A call was made to a station that has no open connection."""


class CsmsConnectionLost(CsmsError):
    """The charger's connection closed while a CSMS-initiated call waited for its answer."""


class CsmsBenchFault(CsmsError):
    """The bench, not the charger, is why a wait or a call did not finish: the harness is not started or was
    asked for what it does not have, it failed on the charger's traffic and closed the connection itself, its
    event loop was stalled past the deadline, or the bench cut or refuses the charger's connection. The
    message names what the bench did."""
