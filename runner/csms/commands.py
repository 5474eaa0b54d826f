"""CSMS-initiated messages by name: each builds a schema-valid request and returns the charger's answer.

Every helper goes through `CsmsHarness.call`, so a CALLERROR is a `CallOutcome` to judge (never a silent
None) and the request is schema-checked and recorded like any other frame. Reports that arrive in parts
(GetBaseReport -> NotifyReport, GetChargingProfiles -> ReportChargingProfiles) are collected until the
part with `tbc` false:

    out = await harness.reset("CS1", "Immediate")
    out.response                                   # {"status": "Accepted"}
    report = await harness.get_base_report("CS1", "FullInventory", timeout_s=60)
    report.data[0]["component"]["name"]            # reportData entries of every part, in seqNo order
    await harness.set_variables("CS1", {"SampledDataCtrlr.TxUpdatedInterval": "60"})
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from instruments.clock import Clock, iso_utc
from runner.csms.session import CallOutcome

_request_ids = itertools.count(1)


@dataclass(frozen=True)
class Report:
    """A report request's answer and the message parts it produced."""
    outcome: CallOutcome
    parts: tuple[dict[str, Any], ...] = ()     # NotifyReport / ReportChargingProfiles payloads, in order
    list_field: str = "reportData"             # the list each part carries

    @property
    def accepted(self) -> bool:
        return self.outcome.ok and (self.outcome.response or {}).get("status") == "Accepted"

    @property
    def data(self) -> list[dict[str, Any]]:
        """The entries of every part, concatenated (reportData, or chargingProfile for profile reports)."""
        return [item for part in self.parts for item in (part.get(self.list_field) or [])]


def next_request_id() -> int:
    return next(_request_ids)


def variable_ref(ref: str | Mapping[str, Any], evse: int | None = None) -> dict[str, Any]:
    """`"Component.Variable"` or `"Component.Variable[instance]"`, of the component on `evse` if given (or
    an OCPP {component, variable} object, passed through) as a request item."""
    if isinstance(ref, Mapping):
        if "component" not in ref or "variable" not in ref:
            raise ValueError(f"a variable reference needs 'component' and 'variable' objects, "
                             f"got {dict(ref)}")
        return dict(ref)
    name, bracket, instance = ref.removesuffix("]").partition("[") if ref.endswith("]") else (ref, "", "")
    component, _, variable = name.rpartition(".")
    if not component or not variable or (bracket and not instance):
        raise ValueError(f"variable {ref!r} must be Component.Variable or Component.Variable[instance], "
                         "e.g. SampledDataCtrlr.TxUpdatedInterval")
    return {"component": {"name": component, **({"evse": {"id": evse}} if evse is not None else {})},
            "variable": {"name": variable, **({"instance": instance} if instance else {})}}


def _with(payload: dict[str, Any], **optional: Any) -> dict[str, Any]:
    payload.update({k: v for k, v in optional.items() if v is not None})
    return payload


class CsmsCommands:
    """Named CSMS-to-charger messages; mixed into CsmsHarness, which provides `call` and `_report`."""

    clock: Clock

    async def call(self, station_id: str, action: str, payload: dict[str, Any], timeout_s: float = 30, *,
                   validate: bool = True) -> CallOutcome:
        raise NotImplementedError

    async def _report(self, station_id: str, action: str, payload: dict[str, Any], report_action: str,
                      list_field: str, timeout_s: float) -> Report:
        raise NotImplementedError

    # ---- smart charging (K01, K08, K09, K10) --------------------------------------------------

    async def set_charging_profile(self, station_id: str, evse_id: int, profile: dict[str, Any],
                                   timeout_s: float = 30) -> CallOutcome:
        return await self.call(station_id, "SetChargingProfile",
                               {"evseId": evse_id, "chargingProfile": profile}, timeout_s)

    async def clear_charging_profile(self, station_id: str, *, profile_id: int | None = None,
                                     evse_id: int | None = None, purpose: str | None = None,
                                     stack_level: int | None = None, timeout_s: float = 30) -> CallOutcome:
        """Clear by id, or by criteria (evse, purpose, stack level); no argument clears every profile."""
        criteria = _with({}, evseId=evse_id, chargingProfilePurpose=purpose, stackLevel=stack_level)
        payload = _with({}, chargingProfileId=profile_id, chargingProfileCriteria=criteria or None)
        return await self.call(station_id, "ClearChargingProfile", payload, timeout_s)

    async def get_composite_schedule(self, station_id: str, evse_id: int, duration_s: int,
                                     rate_unit: str | None = None, timeout_s: float = 30) -> CallOutcome:
        payload = _with({"evseId": evse_id, "duration": int(duration_s)}, chargingRateUnit=rate_unit)
        return await self.call(station_id, "GetCompositeSchedule", payload, timeout_s)

    async def get_charging_profiles(self, station_id: str, criteria: Mapping[str, Any] | None = None, *,
                                    evse_id: int | None = None, timeout_s: float = 60) -> Report:
        """The profiles the charger reports (ReportChargingProfiles parts); criteria as in OCPP, e.g.
        {"chargingProfilePurpose": "TxDefaultProfile"}; none asks for every profile."""
        payload = _with({"requestId": next_request_id(), "chargingProfile": dict(criteria or {})},
                        evseId=evse_id)
        return await self._report(station_id, "GetChargingProfiles", payload, "ReportChargingProfiles",
                                  "chargingProfile", timeout_s)

    # ---- transactions (F01, F03) --------------------------------------------------------------

    async def request_start_transaction(self, station_id: str, id_token: str, *, token_type: str = "ISO14443",
                                        evse_id: int | None = None, remote_start_id: int | None = None,
                                        charging_profile: dict[str, Any] | None = None,
                                        timeout_s: float = 30) -> CallOutcome:
        payload = _with({"idToken": {"idToken": id_token, "type": token_type},
                         "remoteStartId": next_request_id() if remote_start_id is None else remote_start_id},
                        evseId=evse_id, chargingProfile=charging_profile)
        return await self.call(station_id, "RequestStartTransaction", payload, timeout_s)

    async def request_stop_transaction(self, station_id: str, transaction_id: str,
                                       timeout_s: float = 30) -> CallOutcome:
        return await self.call(station_id, "RequestStopTransaction", {"transactionId": transaction_id},
                               timeout_s)

    # ---- provisioning and control (B, C, F, G, L) ---------------------------------------------

    async def reset(self, station_id: str, kind: str = "Immediate", *, evse_id: int | None = None,
                    timeout_s: float = 30) -> CallOutcome:
        """`kind`: Immediate or OnIdle."""
        return await self.call(station_id, "Reset", _with({"type": kind}, evseId=evse_id), timeout_s)

    async def trigger_message(self, station_id: str, requested_message: str, *, evse_id: int | None = None,
                              connector_id: int | None = None, timeout_s: float = 30) -> CallOutcome:
        evse = None if evse_id is None else _with({"id": evse_id}, connectorId=connector_id)
        return await self.call(station_id, "TriggerMessage",
                               _with({"requestedMessage": requested_message}, evse=evse), timeout_s)

    async def get_variables(self, station_id: str, variables: Iterable[str | Mapping[str, Any]],
                            timeout_s: float = 30) -> CallOutcome:
        """Read variables, e.g. ["SampledDataCtrlr.TxUpdatedInterval"]; getVariableResult is in the answer."""
        items = [variable_ref(v) for v in variables]
        return await self.call(station_id, "GetVariables", {"getVariableData": items}, timeout_s)

    async def set_variables(self, station_id: str, values: Mapping[str, str] | Iterable[Mapping[str, Any]],
                            timeout_s: float = 30) -> CallOutcome:
        """{"Component.Variable": "value"} or OCPP setVariableData items; the answer has setVariableResult."""
        if isinstance(values, Mapping):
            items = [{**variable_ref(k), "attributeValue": str(v)} for k, v in values.items()]
        else:
            items = [dict(v) for v in values]
        return await self.call(station_id, "SetVariables", {"setVariableData": items}, timeout_s)

    async def get_base_report(self, station_id: str, report_base: str = "FullInventory",
                              timeout_s: float = 60) -> Report:
        """`report_base`: ConfigurationInventory, FullInventory or SummaryInventory; waits for every
        NotifyReport part (up to the one with tbc false) within `timeout_s` bench seconds."""
        return await self._report(station_id, "GetBaseReport",
                                  {"requestId": next_request_id(), "reportBase": report_base},
                                  "NotifyReport", "reportData", timeout_s)

    async def change_availability(self, station_id: str, operational_status: str, *,
                                  evse_id: int | None = None, connector_id: int | None = None,
                                  timeout_s: float = 30) -> CallOutcome:
        """`operational_status`: Operative or Inoperative; no evse means the whole station."""
        evse = None if evse_id is None else _with({"id": evse_id}, connectorId=connector_id)
        return await self.call(station_id, "ChangeAvailability",
                               _with({"operationalStatus": operational_status}, evse=evse), timeout_s)

    async def unlock_connector(self, station_id: str, evse_id: int, connector_id: int = 1,
                               timeout_s: float = 30) -> CallOutcome:
        payload = {"evseId": evse_id, "connectorId": connector_id}
        return await self.call(station_id, "UnlockConnector", payload, timeout_s)

    async def update_firmware(self, station_id: str, location: str, *,
                              retrieve_at: datetime | str | None = None, request_id: int | None = None,
                              signature: str | None = None, signing_certificate: str | None = None,
                              install_at: datetime | str | None = None,
                              retries: int | None = None, retry_interval_s: int | None = None,
                              timeout_s: float = 30) -> CallOutcome:
        """Retrieve now unless `retrieve_at` is given; signed firmware needs signature and certificate."""
        def stamp(moment: datetime | str | None) -> str | None:
            return iso_utc(moment) if isinstance(moment, datetime) else moment
        firmware = _with({"location": location,
                          "retrieveDateTime": stamp(retrieve_at) or iso_utc(self.clock.wall())},
                         installDateTime=stamp(install_at), signingCertificate=signing_certificate,
                         signature=signature)
        payload = _with({"requestId": next_request_id() if request_id is None else request_id,
                         "firmware": firmware}, retries=retries, retryInterval=retry_interval_s)
        return await self.call(station_id, "UpdateFirmware", payload, timeout_s)

    async def set_network_profile(self, station_id: str, configuration_slot: int,
                                  connection_data: Mapping[str, Any], timeout_s: float = 30) -> CallOutcome:
        """`connection_data`: an OCPP NetworkConnectionProfile (ocppVersion, ocppTransport, ocppCsmsUrl,
        messageTimeout, securityProfile, ocppInterface, ...)."""
        payload = {"configurationSlot": configuration_slot, "connectionData": dict(connection_data)}
        return await self.call(station_id, "SetNetworkProfile", payload, timeout_s)
