"""Exceptions the CSMS harness raises: each names the station, the action and what to do next.

A CALLERROR from the charger is never an exception (it is a `CallOutcome`); these are for waits that
ran out, calls on stations that are not connected, and connections lost while a call was outstanding.
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
