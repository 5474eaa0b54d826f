"""OCPP 2.0.1 block C, authorization: idTokens at the charger's own reader, the authorization cache, and what
the charger does with the CSMS's verdict on an idToken.

- An idToken presented at the reader (lab/twin/reader_server.py -> :meth:`Authorization.present_token`)
  is authorized (C01): from the authorization cache when AuthCtrlr.LocalPreAuthorize allows it, else with
  an AuthorizeRequest; offline from the cache (LocalAuthorizeOffline) or, for an unknown idToken, by
  OfflineTxForUnknownIdEnabled. Accepted, it starts a transaction on that EVSE (with the EV, or alone
  when TxStartPoint holds Authorized) or authorizes the one begun at plug-in; refused, nothing starts.
- The same idToken (or one of the same groupId, C09) presented again ends the transaction locally
  (E07: triggerReason StopAuthorized, stoppedReason Local).
- The authorization cache (C10): every idTokenInfo of an AuthorizeResponse or TransactionEventResponse is
  kept, with cacheExpiryDateTime or else AuthCacheCtrlr.LifeTime; it survives a reboot; ClearCache (C11)
  empties it (Rejected when the cache is disabled).
- AuthCtrlr.AuthorizeRemoteStart true: a RequestStartTransaction's idToken is authorized with an
  AuthorizeRequest before it may start a transaction (F01.FR.01, TC_F_02_CS); not Accepted, no transaction.
- A TransactionEventResponse whose idTokenInfo.status is not Accepted (Blocked, Invalid, Expired, ...)
  deauthorizes the transaction: energy stops at once (MaxEnergyOnInvalidId is 0). With
  TxCtrlr.StopTxOnInvalidId true the transaction ends with triggerReason Deauthorized when TxStopPoint
  holds Authorized, else an Updated event says Deauthorized; with it false the transaction goes on
  suspended (chargingState SuspendedEVSE) (C12.FR.02/04, E05; TC_C_16_CS .. TC_C_19_CS).
The energy_to_blocked_token fault knob ignores the verdict and goes on charging.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ocpp.v201 import call

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import AuthState, EvseState

log = logging.getLogger("lab.twin.charger")


@dataclass(frozen=True)
class CacheEntry:
    """One idToken's last known verdict (C10): its idTokenInfo and when it stops being valid (bench t)."""

    info: dict[str, Any]
    expires_t: float
    stored_t: float


def _key(id_token: dict[str, Any]) -> tuple[str, str]:
    return str(id_token.get("id_token", "")), str(id_token.get("type", ""))


class Authorization(ChargerCore):
    # ---- the reader ---------------------------------------------------------------------------------

    def present_token(self, evse_id: int, id_token: dict[str, str]) -> None:
        """An idToken at the charger's reader for `evse_id` (called on the loop by the reader server).
        Returns at once; the firmware authorizes and acts in the background. ValueError: no such EVSE."""
        e = self.evses.get(evse_id)
        if e is None:
            raise ValueError(f"no EVSE {evse_id}: this station has EVSEs 1..{len(self.evses)}")
        if self.is_down or self._loop is None:
            log.info("%s: idToken presented while the charger is off; nothing reads it", self.station.id)
            return
        self._loop.create_task(self._local_token(e, dict(id_token)))

    async def _local_token(self, e: EvseState, id_token: dict[str, Any]) -> None:
        tx = e.tx
        if tx is not None and e.authorized:
            if tx.id_token is not None and _key(tx.id_token) == _key(id_token):
                self._stop_locally(e)
                return
            info = await self._authorization_of(id_token)
            group = (info or {}).get("group_id_token")
            if group and tx.group_id and _key(group) == _key(tx.group_id) and info.get("status") == "Accepted":
                self._stop_locally(e)
            return
        if e.auth is not None:
            return  # already authorized and waiting for the EV
        info = await self._authorization_of(id_token)
        if info is None or info.get("status") != "Accepted":
            log.info("%s: idToken %s not authorized: %s", self.station.id, id_token.get("id_token"), info)
            return
        group = info.get("group_id_token")
        if e.tx is not None and not e.authorized:
            # A transaction begun at plug-in (TxStartPoint EVConnected) gets its authorization.
            e.authorized, e.deauthorized = True, False
            e.tx.id_token, e.tx.group_id = id_token, group
            self._tx_event(e, "Updated", "Authorized", id_token=id_token)
        elif e.tx is None and e.auth is None:
            timeout = self.device.int("TxCtrlr", "EVConnectionTimeOut")
            e.auth = AuthState(id_token, None, self.clock.now() + timeout,
                               ev_was_plugged=self.physics.snapshot(e.id).plugged, group_id=group)
        self._wake.set()

    def _stop_locally(self, e: EvseState) -> None:
        """E07: the transaction's own idToken (or its group) ends it: StopAuthorized, stoppedReason Local."""
        tx = e.tx
        assert tx is not None
        stops = set(self.device.members("TxCtrlr", "TxStopPoint"))
        plugged = self.physics.snapshot(e.id).plugged
        if stops & {"Authorized", "PowerPathClosed"} or not plugged:
            self._end_tx(e, "StopAuthorized", "Local")
        elif tx.stop_reason is None:
            # TxStopPoint EVConnected alone: deauthorized now, ended when the EV leaves.
            tx.stop_reason = "Local"
            e.authorized = False
            self._drive(e, offering=False, snap_state="A", now=self.clock.now())
            tx.charging_state = "EVConnected"
            self._tx_event(e, "Updated", "StopAuthorized")
        self._wake.set()

    # ---- deciding on an idToken -----------------------------------------------------------------------

    def _cache_on(self) -> bool:
        return self.device.bool("AuthCacheCtrlr", "Enabled")

    def _cached(self, id_token: dict[str, Any]) -> CacheEntry | None:
        if not self._cache_on():
            return None
        entry = self.auth_cache.get(_key(id_token))
        if entry is None:
            return None
        if self.clock.now() >= entry.expires_t:
            return CacheEntry({**entry.info, "status": "Expired"}, entry.expires_t, entry.stored_t)
        return entry

    def _remember(self, id_token: dict[str, Any] | None, info: dict[str, Any] | None) -> None:
        """C10: keep the CSMS's idTokenInfo for the idToken (cacheExpiryDateTime, else AuthCacheCtrlr.LifeTime)."""
        if not id_token or not info or not self._cache_on() or id_token.get("type") in ("Central", "NoAuthorization"):
            return
        now = self.clock.now()
        expires = now + self.device.int("AuthCacheCtrlr", "LifeTime")
        stamp = info.get("cache_expiry_date_time")
        if stamp:
            try:
                from datetime import datetime

                at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
                expires = now + (at - self.clock.wall(now)).total_seconds()
            except ValueError:
                pass
        self.auth_cache[_key(id_token)] = CacheEntry(dict(info), expires, now)

    async def _authorization_of(self, id_token: dict[str, Any]) -> dict[str, Any] | None:
        """The idTokenInfo the charger goes by for a locally presented idToken; None when nobody could say."""
        if id_token.get("type") == "NoAuthorization":
            return {"status": "Accepted"}
        if not self.device.bool("AuthCtrlr", "Enabled"):
            return {"status": "Accepted"}  # authorization off: every idToken is good
        cached = self._cached(id_token)
        online = self.online and self._link is not None
        if online:
            if cached is not None and cached.info.get("status") == "Accepted" and self.device.bool(
                    "AuthCtrlr", "LocalPreAuthorize"):
                return cached.info  # C12.FR.01: start at once from the cache
            info = await self._authorize_request(id_token)
            if info is not None:
                return info
        # Offline (or no answer): the cache, or the unknown-idToken rule (C13, C15).
        if cached is not None:
            if cached.info.get("status") == "Accepted" and self.device.bool("AuthCtrlr", "LocalAuthorizeOffline"):
                return cached.info
            return {**cached.info, "status": cached.info.get("status") if cached.info.get(
                "status") != "Accepted" else "Invalid"}
        if self.device.bool("AuthCtrlr", "OfflineTxForUnknownIdEnabled"):
            return {"status": "Accepted"}
        return None

    async def _authorize_request(self, id_token: dict[str, Any]) -> dict[str, Any] | None:
        link = self._link
        if link is None:
            return None
        try:
            reply = await link.call(call.Authorize(id_token=id_token), suppress=False)
        except Exception as err:  # no answer, a CALLERROR or a lost connection: the CSMS did not say
            log.info("%s: Authorize failed: %s", self.station.id, err)
            return None
        self.counters.sent["Authorize"] = self.counters.sent.get("Authorize", 0) + 1
        info = dict(reply.id_token_info or {})
        self._remember(id_token, info)
        return info

    # ---- the CSMS's verdicts --------------------------------------------------------------------------

    def _answered(self, request: Any, reply: Any) -> None:
        """The CSMS answered `request` with `reply` (called by the outbox)."""
        if not isinstance(request, call.TransactionEvent):
            return
        info = getattr(reply, "id_token_info", None)
        if info is not None and request.id_token:
            self._remember(request.id_token, dict(info))
        status = ((info or {}).get("status")) or "Accepted"
        if status != "Accepted":
            self._token_refused(request.transaction_info["transaction_id"], status)

    def on_clear_cache(self) -> str:
        """C11: empty the cache; Rejected when the cache is disabled (C11.FR.04)."""
        if not self._cache_on():
            return "Rejected"
        self.auth_cache.clear()
        return "Accepted"

    def _token_refused(self, transaction_id: str, status: str) -> None:
        e = next((x for x in self.evses.values() if x.tx is not None and x.tx.id == transaction_id), None)
        if e is None or not e.authorized or self.faults.energy_to_blocked_token:
            return
        log.info("%s: idToken of transaction %s is %s; stopping energy", self.station.id, transaction_id, status)
        e.authorized = False
        e.deauthorized = True
        self._drive(e, offering=False, snap_state="A", now=self.clock.now())  # energy stops now
        if self.device.bool("TxCtrlr", "StopTxOnInvalidId"):
            if "Authorized" in self.device.members("TxCtrlr", "TxStopPoint"):
                self._end_tx(e, "Deauthorized", "DeAuthorized")
            else:
                assert e.tx is not None
                e.tx.charging_state = "SuspendedEVSE"
                self._tx_event(e, "Updated", "Deauthorized")
        self._wake.set()

    # ---- remote start -----------------------------------------------------------------------------------

    def _authorize_remote_start(self, e: EvseState, auth: AuthState) -> None:
        """AuthorizeRemoteStart: ask the CSMS about the remote start's idToken before it counts."""
        assert self._loop is not None
        self._loop.create_task(self._authorize(e, auth))

    async def _authorize(self, e: EvseState, auth: AuthState) -> None:
        info = await self._authorize_request(auth.id_token)
        accepted = (info or {}).get("status") == "Accepted"
        if e.auth is auth:
            if accepted:
                auth.authorizing = False
                auth.group_id = (info or {}).get("group_id_token")
            else:
                e.auth = None
        self._wake.set()
