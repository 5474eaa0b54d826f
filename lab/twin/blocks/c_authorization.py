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

import contextlib
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ocpp.v201 import call

from lab.twin.blocks.core import ChargerCore
from lab.twin.blocks.state import AuthState, EvseState, token_key

log = logging.getLogger("lab.twin.charger")


@dataclass(frozen=True)
class CacheEntry:
    """One idToken's last known verdict (C10): its idTokenInfo and when it stops being valid (bench t)."""

    info: dict[str, Any]
    expires_t: float | None  # cacheExpiryDateTime as bench t (None: none given)
    used_t: float  # stored or last used: AuthCacheCtrlr.LifeTime counts from here


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
        self._spawn(self._local_token(e, dict(id_token)), f"idToken at EVSE {e.id}")

    async def _local_token(self, e: EvseState, id_token: dict[str, Any]) -> None:
        tx = e.tx
        if tx is not None and tx.id_token is not None and token_key(tx.id_token) == token_key(id_token):
            # The idToken that started the transaction ends it, with no new authorization (E07.FR.02).
            self._stop_locally(e, id_token, "Local")
            return
        info = await self._authorization_of(id_token)
        accepted = info is not None and info.get("status") == "Accepted"
        group = (info or {}).get("group_id_token")
        if accepted and self._master_pass(group):
            # C16: a master pass stops every transaction (the twin has no UI to pick one) and starts none.
            for other in self.evses.values():
                if other.tx is not None and other.authorized:
                    self._stop_locally(other, id_token, "MasterPass")
            return
        tx = e.tx
        if tx is not None and e.authorized:
            # Another idToken of the transaction's group ends it (C09.FR.03, E07); any other does nothing.
            if accepted and group and tx.group_id and token_key(group) == token_key(tx.group_id):
                self._stop_locally(e, id_token, "Local")
            return
        if not accepted:
            log.info("%s: idToken %s not authorized: %s", self.station.id, id_token.get("id_token"), info)
            return
        if tx is not None and not e.deauthorized:
            # A transaction begun at plug-in (TxStartPoint EVConnected) gets its authorization.
            e.authorized = True
            tx.id_token, tx.group_id = id_token, group
            tx.connect_deadline_t = math.inf
            self._tx_event(e, "Updated", "Authorized", id_token=id_token)
        elif tx is None and not e.operative:
            # An Inoperative EVSE is unavailable for charging (G03/G04; a remote start there is Rejected): the
            # idToken is not kept waiting for it to come back, when the EV there would start on it unasked.
            log.info("%s: EVSE %d is Inoperative; idToken %s starts nothing", self.station.id, e.id,
                     id_token.get("id_token"))
        elif tx is None and e.auth is None:
            timeout = self.device.int("TxCtrlr", "EVConnectionTimeOut")
            snap = self.physics.snapshot(e.id)
            e.auth = AuthState(id_token, None, self.clock.now() + timeout, ev_was_plugged=snap.plugged,
                               group_id=group, at_occupied=snap.plugged or snap.cable_in_socket)
        self._wake.set()

    def _master_pass(self, group: dict[str, Any] | None) -> bool:
        master = self.device.value("AuthCtrlr", "MasterPassGroupId")
        return bool(master) and group is not None and group.get("id_token") == master

    def _stop_locally(self, e: EvseState, id_token: dict[str, Any], reason: str) -> None:
        """E07 / C16: an idToken at the reader ends the transaction, triggerReason StopAuthorized.

        TxStopPoint Authorized: Ended at once. PowerPathClosed: the authorization ends (Updated
        StopAuthorized), the power path opens and the transaction ends with it (Ended ChargingStateChanged).
        EVConnected alone: the authorization ends, energy stops, and the transaction ends when the EV leaves."""
        tx = e.tx
        assert tx is not None
        stops = set(self.device.members("TxCtrlr", "TxStopPoint"))
        plugged = self.physics.snapshot(e.id).plugged
        if "Authorized" in stops or not plugged:
            tx.stop_reason = reason
            self._end_tx(e, "StopAuthorized", reason, id_token=id_token)
        elif tx.stop_reason is None:
            tx.stop_reason = reason
            self._tx_event(e, "Updated", "StopAuthorized", id_token=id_token)
            e.authorized, e.deauthorized = False, False
            self._drive(e, offering=False, snap_state="A", now=self.clock.now())
            if "PowerPathClosed" in stops:
                self._end_tx(e, "ChargingStateChanged", reason)
        self._wake.set()

    def _auth_step(self, e: EvseState, now: float, plugged: bool) -> float:
        """Per EVSE, each firmware pass: with AuthCtrlr.Enabled false an EV is authorized as it comes; a
        transaction begun by an authorization alone whose EV did not come within EVConnectionTimeOut
        (E03.FR.05, E06.FR.04: EVConnectTimeout); a deauthorized one that used up MaxEnergyOnInvalidId.
        Returns when next due."""
        tx = e.tx
        if not self.device.bool("AuthCtrlr", "Enabled") and plugged and e.auth is None and e.operative and (
                (tx is None and not e.plug_used)
                or (tx is not None and not e.authorized and not e.deauthorized and tx.stop_reason is None)):
            # AuthCtrlr.Enabled false: no authorization before a transaction; the EV alone is enough, and the
            # transaction's idToken is the empty one of type NoAuthorization (Part 2 appendix, AuthCtrlr).
            timeout = self.device.int("TxCtrlr", "EVConnectionTimeOut")
            # (ev_was_plugged False: the Started event's trigger is the plug-in, CablePluggedIn.)
            e.auth = AuthState({"id_token": "", "type": "NoAuthorization"}, None, now + timeout,
                               ev_was_plugged=tx is not None)
            self._wake.set()
            return now
        if tx is None:
            return math.inf
        if plugged:
            tx.connect_deadline_t = math.inf
        elif now >= tx.connect_deadline_t:
            tx.connect_deadline_t = math.inf
            e.authorized = False
            if "Authorized" in self.device.members("TxCtrlr", "TxStopPoint"):
                self._end_tx(e, "EVConnectTimeout", "Timeout")
            else:
                self._tx_event(e, "Updated", "EVConnectTimeout")
            return math.inf
        if tx.energy_cap_wh is not None and self.physics.energy_wh(e.id) >= tx.energy_cap_wh:
            log.info("%s: MaxEnergyOnInvalidId used up on EVSE %d", self.station.id, e.id)
            tx.energy_cap_wh = None
            e.authorized, e.deauthorized = False, True  # suspended (SuspendedEVSE), as StopTxOnInvalidId false
        return tx.connect_deadline_t

    # ---- deciding on an idToken -----------------------------------------------------------------------

    def _cache_on(self) -> bool:
        return self.device.bool("AuthCacheCtrlr", "Enabled")

    def _cached(self, id_token: dict[str, Any]) -> CacheEntry | None:
        if not self._cache_on():
            return None
        entry = self.auth_cache.get(token_key(id_token))
        if entry is None:
            return None
        now = self.clock.now()
        if now >= entry.used_t + self.device.int("AuthCacheCtrlr", "LifeTime"):
            del self.auth_cache[token_key(id_token)]  # C10.FR.08: unused for LifeTime: gone
            return None
        if entry.expires_t is not None and now >= entry.expires_t:
            return replace(entry, info={**entry.info, "status": "Expired"})  # past its cacheExpiryDateTime
        return entry

    def _touch(self, id_token: dict[str, Any]) -> None:
        entry = self.auth_cache.get(token_key(id_token))
        if entry is not None:
            self.auth_cache[token_key(id_token)] = replace(entry, used_t=self.clock.now())

    def _remember(self, id_token: dict[str, Any] | None, info: dict[str, Any] | None) -> None:
        """C10.FR.04/05: keep the CSMS's idTokenInfo for the idToken, with its cacheExpiryDateTime if any."""
        if not id_token or not info or not self._cache_on() or id_token.get("type") == "NoAuthorization":
            return
        now = self.clock.now()
        expires: float | None = None
        stamp = info.get("cache_expiry_date_time")
        if stamp:
            with contextlib.suppress(ValueError):
                at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
                expires = now + (at - self.clock.wall(now)).total_seconds()
        self.auth_cache[token_key(id_token)] = CacheEntry(dict(info), expires, now)

    async def _authorization_of(self, id_token: dict[str, Any]) -> dict[str, Any] | None:
        """The idTokenInfo the charger goes by for a locally presented idToken; None when nobody could say.

        What the charger knows locally comes from the Local Authorization List first, else the cache (C13,
        C14: the list wins); each has its own DisablePostAuthorize."""
        if id_token.get("type") == "NoAuthorization" or not self.device.bool("AuthCtrlr", "Enabled"):
            return {"status": "Accepted"}  # no authorization to do (AuthCtrlr.Enabled false)
        known = self._listed(id_token)
        post_authorize_off = self.device.bool("LocalAuthListCtrlr", "DisablePostAuthorize")
        if known is None:
            cached = self._cached(id_token)
            if cached is not None:
                self._touch(id_token)
                known = cached.info
            post_authorize_off = self.device.bool("AuthCacheCtrlr", "DisablePostAuthorize")
        status = known.get("status") if known is not None else None
        online = self.online and self._link is not None
        if online:
            if status == "Accepted" and self.device.bool("AuthCtrlr", "LocalPreAuthorize"):
                return known  # C12.FR.01/02, C14: no AuthorizeRequest
            if status not in (None, "Accepted") and post_authorize_off:
                return known  # C10.FR.03, C12.FR.05, C14.FR.03: refused as known, unasked
            if self.device.bool("AuthCtrlr", "DisableRemoteAuthorization"):
                return known  # the list and cache alone decide (C01.FR.05, TC_E_52_CS)
            info = await self._authorize_request(id_token)
            if info is not None:
                return info
        # Offline (or no answer): what is known locally, then the unknown-idToken rule (C13, C15). A known
        # refusal stands (C15: only an idToken unknown to the charger may start offline); a known Accepted
        # authorizes only with LocalAuthorizeOffline, else the idToken counts as not locally authorized, i.e.
        # unknown, and OfflineTxForUnknownIdEnabled decides (C15.FR.02; TC_C_17_CS, TC_E_16_CS: finding N-1).
        if known is not None and status != "Accepted":
            return known
        if known is not None and self.device.bool("AuthCtrlr", "LocalAuthorizeOffline"):
            return known
        if self.device.bool("AuthCtrlr", "OfflineTxForUnknownIdEnabled"):
            return {**(known or {}), "status": "Accepted"}
        return {**known, "status": "Unknown"} if known is not None else None

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
        if info is None or not request.id_token:
            return  # no idToken in the request: nothing was judged
        self._remember(request.id_token, dict(info))
        tx_id = request.transaction_info["transaction_id"]
        e = next((x for x in self.evses.values() if x.tx is not None and x.tx.id == tx_id), None)
        if e is not None and e.tx is not None and info.get("group_id_token") and e.tx.id_token is not None and (
                token_key(e.tx.id_token) == token_key(request.id_token)):
            e.tx.group_id = dict(info["group_id_token"])  # the transaction's group, as the CSMS names it
        status = info.get("status") or "Accepted"
        if status != "Accepted" and e is not None and e.tx is not None and e.tx.id_token is not None and (
                token_key(e.tx.id_token) == token_key(request.id_token)):
            self._token_refused(tx_id, status)

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
        stop = self.device.bool("TxCtrlr", "StopTxOnInvalidId")
        max_wh = self.device.int("TxCtrlr", "MaxEnergyOnInvalidId")
        assert e.tx is not None
        if not stop and max_wh > 0:
            # C12.FR.?/E05: energy goes on until the transaction has delivered MaxEnergyOnInvalidId, then suspends.
            log.info("%s: idToken of transaction %s is %s; charging on up to %d Wh", self.station.id,
                     transaction_id, status, max_wh)
            e.tx.energy_cap_wh = e.tx.begin_wh + max_wh
            self._wake.set()
            return
        log.info("%s: idToken of transaction %s is %s; stopping energy", self.station.id, transaction_id, status)
        e.authorized = False
        e.deauthorized = True
        self._drive(e, offering=False, snap_state="A", now=self.clock.now())  # energy stops now
        if stop:
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
        self._spawn(self._authorize(e, auth), f"remote start authorization at EVSE {e.id}")

    async def _authorize(self, e: EvseState, auth: AuthState) -> None:
        # "Authorized beforehand like a local action" (AuthCtrlr.AuthorizeRemoteStart): the list and cache
        # rules apply (LocalPreAuthorize, DisableRemoteAuthorization), as for an idToken at the reader.
        info = await self._authorization_of(auth.id_token)
        accepted = (info or {}).get("status") == "Accepted"
        if e.auth is auth:
            if accepted:
                auth.authorizing = False
                auth.group_id = (info or {}).get("group_id_token")
            else:
                e.auth = None
        self._wake.set()
