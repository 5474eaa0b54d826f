"""One OCPP 2.0.1 websocket connection of the virtual charger: routes the CSMS's calls to it.

Handlers only answer; anything the charger sends in consequence goes through its outbox, so a handler
never awaits a call inside the library's receive loop (which would deadlock it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import ocpp.messages
from ocpp.exceptions import NotImplementedError as NotImplementedCallError
from ocpp.exceptions import NotSupportedError, OCPPError, SecurityError
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint
from ocpp.v201 import call_result as res
from ocpp.v201.enums import Action

if TYPE_CHECKING:
    from lab.twin.charger import VirtualCharger

# The library validates every payload in a thread pool unless told not to (its ASYNC_VALIDATION knob): four
# thread hand-offs per round trip, which on a loaded 2-core host cost the twin tens of ms each, so at 120x
# its periodic TransactionEvents came faster than it could deliver them and the outbox fell minutes behind
# (site/depot.spec: the Ended of a remote stop arrived 8 bench minutes after it was queued). Validated on the
# loop instead: ~2.6 ms for a TransactionEvent with 8 sampled values, and no hand-off.
ocpp.messages.ASYNC_VALIDATION = False


def _unhandled(action: str) -> OCPPError:
    """The CALLERROR for a call the twin has no handler for, by OCPP-J's table (Part 4): an OCPP 2.0.1 action
    the twin does not implement (InstallCertificate, CertificateSigned, ReserveNow, ...) is recognized but not
    supported, NotSupported; a name that is no 2.0.1 action is not known, NotImplemented. (The `ocpp` library
    answers the other way round: its two codes' descriptions are swapped.)"""
    known = action in {a.value for a in Action}
    error = NotSupportedError if known else NotImplementedCallError
    what = "an OCPP 2.0.1 action the twin does not support" if known else "not an OCPP 2.0.1 action"
    return error(description=f"{action}: {what}")


class Link(ChargePoint):
    def __init__(self, charger: VirtualCharger, connection: Any, response_timeout: float) -> None:
        super().__init__(charger.station.id, connection, response_timeout=response_timeout)
        self.charger = charger
        self._frame_bytes = 0

    async def route_message(self, raw_msg: str) -> None:
        # B03.FR.08 in wire order: a BootNotification answer takes effect before the next frame is routed, so a
        # CSMS call right behind a Rejected answer is refused (the boot loop, woken later, would be too late).
        try:
            frame = json.loads(raw_msg)
        except ValueError:
            frame = None
        if isinstance(frame, list) and len(frame) == 3 and frame[0] == 3 and isinstance(frame[2], dict) \
                and {"currentTime", "interval", "status"} <= frame[2].keys():  # a BootNotificationResponse
            self.charger.boot_rejected = frame[2]["status"] == "Rejected"
        # The size of the frame as it came (B06.FR.17 weighs a request against BytesPerMessage); calls are handled
        # one at a time, inside route_message, so _handle_call reads this frame's.
        self._frame_bytes = len(raw_msg.encode("utf-8")) if isinstance(raw_msg, str) else len(raw_msg)
        await super().route_message(raw_msg)

    async def _handle_call(self, msg: Any) -> None:
        # B03.FR.08: while the CSMS has Rejected the boot, the charger answers every call with SecurityError.
        if self.charger.boot_rejected:
            error = SecurityError(description="BootNotification was Rejected; boot first")
            await self._send(msg.create_call_error(error).to_json())
            return
        if msg.action not in self.route_map:
            await self._send(msg.create_call_error(_unhandled(msg.action)).to_json())
            return
        # A request beyond the ItemsPerMessage / BytesPerMessage the twin reports is refused whole (B06.FR.16/17).
        refused = self.charger.message_limit_error(msg.action, msg.payload, self._frame_bytes)
        if refused is not None:
            await self._send(msg.create_call_error(refused).to_json())
            return
        await super()._handle_call(msg)

    @on(Action.set_network_profile)
    def _set_network_profile(self, configuration_slot: int, connection_data: dict[str, Any],
                             **_: Any) -> res.SetNetworkProfile:
        return self.charger.on_set_network_profile(configuration_slot, connection_data)

    @on(Action.request_start_transaction)
    def _request_start(
        self,
        id_token: dict[str, Any],
        remote_start_id: int,
        evse_id: int | None = None,
        charging_profile: dict[str, Any] | None = None,
        **_: Any,
    ) -> res.RequestStartTransaction:
        return self.charger.on_request_start(id_token, remote_start_id, evse_id, charging_profile)

    @on(Action.send_local_list)
    def _send_local_list(self, version_number: int, update_type: str,
                         local_authorization_list: list[dict[str, Any]] | None = None,
                         **_: Any) -> res.SendLocalList:
        status, reason, info = self.charger.on_send_local_list(version_number, update_type, local_authorization_list)
        if reason is None:
            return res.SendLocalList(status=status)
        # reasonCode is string[0..20] in the schema, additionalInfo string[0..512].
        return res.SendLocalList(status=status, status_info={"reason_code": reason,
                                                             **({"additional_info": info[:512]} if info else {})})

    @on(Action.get_local_list_version)
    def _get_local_list_version(self, **_: Any) -> res.GetLocalListVersion:
        return res.GetLocalListVersion(version_number=self.charger.on_get_local_list_version())

    @on(Action.clear_cache)
    def _clear_cache(self, **_: Any) -> res.ClearCache:
        return res.ClearCache(status=self.charger.on_clear_cache())

    @on(Action.get_transaction_status)
    def _get_transaction_status(self, transaction_id: str | None = None, **_: Any) -> res.GetTransactionStatus:
        return self.charger.on_get_transaction_status(transaction_id)

    @on(Action.request_stop_transaction)
    def _request_stop(self, transaction_id: str, **_: Any) -> res.RequestStopTransaction:
        return self.charger.on_request_stop(transaction_id)

    @on(Action.set_charging_profile)
    def _set_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> res.SetChargingProfile:
        return self.charger.on_set_charging_profile(evse_id, charging_profile)

    @on(Action.clear_charging_profile)
    def _clear_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
        **_: Any,
    ) -> res.ClearChargingProfile:
        return self.charger.on_clear_charging_profile(charging_profile_id, charging_profile_criteria)

    @on(Action.get_charging_profiles)
    def _get_profiles(
        self, request_id: int, charging_profile: dict[str, Any], evse_id: int | None = None, **_: Any
    ) -> res.GetChargingProfiles:
        return self.charger.on_get_charging_profiles(request_id, charging_profile, evse_id)

    @on(Action.get_composite_schedule)
    def _composite(
        self, duration: int, evse_id: int, charging_rate_unit: str | None = None, **_: Any
    ) -> res.GetCompositeSchedule:
        return self.charger.on_get_composite_schedule(duration, evse_id, charging_rate_unit)

    @on(Action.get_variables)
    def _get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> res.GetVariables:
        return self.charger.on_get_variables(get_variable_data)

    @on(Action.set_variables)
    def _set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> res.SetVariables:
        return self.charger.on_set_variables(set_variable_data)

    @on(Action.get_base_report)
    def _get_base_report(self, request_id: int, report_base: str, **_: Any) -> res.GetBaseReport:
        return self.charger.on_get_base_report(request_id, report_base)

    @on(Action.trigger_message)
    def _trigger(self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any) -> res.TriggerMessage:
        return self.charger.on_trigger_message(requested_message, evse)

    @on(Action.reset)
    def _reset(self, type: str, evse_id: int | None = None, **_: Any) -> res.Reset:
        return self.charger.on_reset(type, evse_id)

    @after(Action.reset)
    def _after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        self.charger.after_reset(type, evse_id)

    @on(Action.change_availability)
    def _change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> res.ChangeAvailability:
        return self.charger.on_change_availability(operational_status, evse)

    @on(Action.unlock_connector)
    def _unlock(self, evse_id: int, connector_id: int, **_: Any) -> res.UnlockConnector:
        return self.charger.on_unlock_connector(evse_id, connector_id)

    @on(Action.get_log)
    def _get_log(self, log: dict[str, Any], log_type: str, request_id: int, **_: Any) -> res.GetLog:
        return self.charger.on_get_log(log_type, request_id, log["remote_location"])

    @on(Action.update_firmware)
    def _update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> res.UpdateFirmware:
        return self.charger.on_update_firmware(request_id, firmware)
