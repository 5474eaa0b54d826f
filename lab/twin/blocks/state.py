"""State the charger's blocks share: timing constants, per-EVSE firmware state, transactions in progress,
authorizations waiting for an EV, the outbox's items and the charger's counters."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

POLL_S = 1.0  # bench seconds between looks at the EVs when nothing is due sooner
REBOOT_S = 10.0  # bench seconds a reboot keeps the charger off the air
FIRMWARE_STEP_S = 5.0  # bench seconds between firmware-update status steps
REPORT_CHUNK = 20  # device-model entries per NotifyReport
START_POINTS_PLUG = {"EVConnected"}
START_POINTS_AUTH = {"Authorized"}
# Start points reached before energy flows: with any of them configured, EnergyTransfer adds nothing.
START_POINTS_EARLY = {"ParkingBayOccupancy", "EVConnected", "Authorized", "PowerPathClosed"}


def token_key(id_token: dict[str, Any]) -> tuple[str, str]:
    """What tells idTokens apart: the value without regard to case (IdTokenType: "a case insensitive
    identifier", OCPP 2.0.1 schemas) and the type."""
    return str(id_token.get("id_token", "")).casefold(), str(id_token.get("type", ""))


@dataclass
class TxState:
    id: str
    evse: int
    started_wall: Any  # datetime
    id_token: dict[str, Any] | None = None
    remote_start_id: int | None = None
    group_id: dict[str, Any] | None = None  # the idToken's groupIdToken (C09: a token of the group may stop it)
    begin_wh: float = 0.0  # true energy on the EVSE when the transaction began (MaxEnergyOnInvalidId counts from it)
    energy_cap_wh: float | None = None  # deauthorized with MaxEnergyOnInvalidId > 0: energy stops at this reading
    connect_deadline_t: float = math.inf  # started by an authorization alone: the EV must come by then (E03.FR.05)
    seq: int = 0
    updated_sent: int = 0
    charging_state: str = "EVConnected"
    next_update_t: float = math.inf
    evse_pending: bool = False  # started without an EVSE: the EV's plug-in names it (E01.FR.17, J02.FR.03)
    stop_reason: str | None = None  # stopped (e.g. remotely) but waiting for a stop point: the Ended reason
    # Values for the Ended event (SampledDataCtrlr / AlignedDataCtrlr.TxEndedInterval): collected samples and,
    # per kind, (interval in force, bench t of the next sample).
    ended_values: list[dict[str, Any]] = field(default_factory=list)
    ended_next: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass
class AuthState:
    id_token: dict[str, Any]
    remote_start_id: int | None
    expires_t: float
    profile: dict[str, Any] | None = None
    ev_was_plugged: bool = False  # the EV was already there when the authorization came
    authorizing: bool = False  # AuthorizeRemoteStart: waiting for the CSMS's AuthorizeResponse
    unbound: bool = False  # RequestStartTransaction named no EVSE (the twin reserved the first free one)
    group_id: dict[str, Any] | None = None  # the idToken's groupIdToken, once known
    # Taken at a connector with an EV or a cable there and no transaction to use it (an ended session's cable
    # still in the socket, TC_E_17_CS): it lapses when the connector comes free (Transactions._step).
    at_occupied: bool = False


@dataclass
class EvseState:
    id: int
    status: str | None = None  # last StatusNotification sent (None: not yet reported)
    tx: TxState | None = None
    auth: AuthState | None = None  # authorized (remote start) and not yet consumed by a transaction
    authorized: bool = False  # the transaction in progress is authorized
    deauthorized: bool = False  # the CSMS refused its idToken (idTokenInfo not Accepted): no energy
    limit_target: float | None = None  # what the firmware wants on the pilot
    limit_due_t: float = 0.0  # when the target reaches the pilot (limit_delay_s fault)
    applied_limit: float | None = None  # what is on the pilot
    reported_limit: float | None = None  # last limit a ChargingRateChanged event reported
    offering: bool = False
    eligible: bool = False  # the firmware would offer energy (authorized, plugged); the allocation may pause it
    wants_since: float | None = None  # bench t its EV began asking for current (allocation order)
    energized: bool = False
    plug_used: bool = False  # this plug-in already had its transaction; a new one needs a new plug-in
    bay_used: bool = False  # this stay in the parking bay already had its transaction
    bay_seen: bool = False  # the transaction in progress has seen the bay occupied (its stop point can fire)
    operative: bool = True  # ChangeAvailability; an inoperative EVSE finishes its transaction, then is Unavailable
    reset_pending: bool = False  # a Reset OnIdle of this EVSE alone, waiting for its transaction to end (B12)


@dataclass
class Outgoing:
    payload: Any
    transactional: bool  # kept while offline and replayed (TransactionEvent)
    skip_schema: bool = False
    attempts: int = 0


@dataclass
class ChargerCounters:
    """What the charger did, for tests and the twin's own diagnostics."""

    boots: int = 0
    connections: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    dropped_offline: int = 0
    refused: int = 0  # CALLERRORs the CSMS answered
    unlocks: int = 0  # UnlockConnector requests answered Unlocked
    connect_failures: int = 0  # connection attempts that failed (refused, TLS, network)
    last_error: str = ""  # why the last connection attempt failed or the last connection ended
