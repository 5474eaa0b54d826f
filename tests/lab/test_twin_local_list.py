"""The twin's Local Authorization List (OCPP 2.0.1 block D: SendLocalList D01, GetLocalListVersion D02) and
how it answers what it does not implement. Part 6 (2023-06) has no charging-station case for block D, so each
test names the requirement whose behaviour it pins. The healthy paths (Full, Differential, VersionMismatch,
disabled) are in test_twin_authorization.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v201 import call

TwinEnv = Any  # the conftest's (conftest modules are not importable under pytest's importlib mode)


@pytest.fixture
def env(twin_factory: Callable[..., TwinEnv]) -> Iterator[TwinEnv]:
    e = twin_factory()
    e.csms.wait_for(lambda: len(e.csms.find("StatusNotification")) >= 2, 5, "boot and statuses")
    yield e


def send_list(env: TwinEnv, version: int, update: str, tokens: list[str], status: str | None = "Accepted") -> Any:
    info = {"id_token_info": {"status": status}} if status else {}
    data = [{"id_token": {"id_token": t, "type": "ISO14443"}, **info} for t in tokens]
    return env.csms.call(env.station_id, call.SendLocalList(version_number=version, update_type=update,
                                                           local_authorization_list=data or None))


def list_version(env: TwinEnv) -> int:
    return env.csms.call(env.station_id, call.GetLocalListVersion()).version_number


def variable(env: TwinEnv, component: str, name: str) -> str:
    reply = env.csms.call(env.station_id, call.GetVariables(get_variable_data=[
        {"component": {"name": component}, "variable": {"name": name}}]))
    return reply.get_variable_result[0]["attribute_value"]


@pytest.mark.parametrize(("version", "update"), [(0, "Full"), (-3, "Full"), (0, "Differential"), (-1, "Differential")])
def test_d01_fr_18_version_number_zero_or_below_is_failed(env: TwinEnv, version: int, update: str) -> None:
    """D01.FR.18: versionNumber is above 0 (0 is GetLocalListVersion's "no list"). Before the fix a Full list of
    version 0 or -3 was Accepted, and GetLocalListVersion then said 0 (no list) or -3 with a list installed."""
    assert send_list(env, 5, "Full", ["LIST-A"]).status == "Accepted"
    reply = send_list(env, version, update, ["LIST-B"])
    assert (reply.status, reply.status_info["reason_code"]) == ("Failed", "InvalidValue")
    assert reply.status_info["additional_info"] == f"versionNumber {version}: it must be above 0 (D01.FR.18)"
    assert list_version(env) == 5 and variable(env, "LocalAuthListCtrlr", "Entries") == "1"


def test_d01_fr_06_an_idtoken_twice_in_one_list_is_failed(env: TwinEnv) -> None:
    """D01.FR.06: the idTokens of a list are unique. Before the fix the second entry silently won (Accepted)."""
    assert send_list(env, 1, "Full", ["LIST-A"]).status == "Accepted"
    for update, version in (("Full", 2), ("Differential", 3)):
        reply = send_list(env, version, update, ["LIST-B", "LIST-C", "LIST-B"])
        assert (reply.status, reply.status_info["reason_code"]) == ("Failed", "InvalidValue"), update
        assert reply.status_info["additional_info"] == "idToken 'LIST-B' (ISO14443) twice in one list (D01.FR.06)"
    assert list_version(env) == 1 and variable(env, "LocalAuthListCtrlr", "Entries") == "1"
    # IdTokenType holds a case insensitive identifier: the same card written in other letters is listed twice too
    reply = send_list(env, 4, "Full", ["list-b", "LIST-B"])
    assert reply.status_info["additional_info"] == "idToken 'LIST-B' (ISO14443) twice in one list (D01.FR.06)"


def test_more_entries_than_items_per_message_is_failed_too_many_elements(env: TwinEnv) -> None:
    """LocalAuthListCtrlr.ItemsPerMessage (1000) bounds one SendLocalList; the appendix's reason code for it is
    TooManyElements (the twin used to say TooManyEntries, which no list has)."""
    reply = send_list(env, 1, "Full", [f"T{n:04d}" for n in range(1001)])
    assert (reply.status, reply.status_info["reason_code"]) == ("Failed", "TooManyElements")
    assert reply.status_info["additional_info"] == "1001 entries; at most 1000 per SendLocalList"
    assert list_version(env) == 0


def test_entries_reports_its_capacity_as_max_limit_and_storage_follows_the_list(env: TwinEnv) -> None:
    """Part 2 appendix, LocalAuthListCtrlr: Entries' maxLimit SHALL give the list's capacity (the twin reported
    none); Storage is the bytes the list uses (the twin said 0 whatever the list held)."""
    assert variable(env, "LocalAuthListCtrlr", "Storage") == "0"
    send_list(env, 1, "Full", ["LIST-A", "LIST-B"])
    assert int(variable(env, "LocalAuthListCtrlr", "Storage")) > 0
    reply = env.csms.call(env.station_id, call.GetBaseReport(request_id=77, report_base="FullInventory"))
    assert reply.status == "Accepted"

    def entries() -> list[dict[str, Any]]:
        return [d for r in env.csms.find("NotifyReport", request_id=77) for d in r.payload["report_data"] or []
                if (d["component"]["name"], d["variable"]["name"]) == ("LocalAuthListCtrlr", "Entries")]

    [entry] = env.csms.wait_for(entries, 5, "LocalAuthListCtrlr.Entries in the report")
    assert entry["variable_characteristics"]["max_limit"] == 1000
    assert entry["variable_attribute"][0]["value"] == "2"


@dataclass
class FlyToTheMoon:
    """A call whose action is no OCPP 2.0.1 action."""


def test_actions_the_twin_lacks_are_not_supported_and_unknown_ones_not_implemented(env: TwinEnv) -> None:
    """OCPP-J (Part 4, CALLERROR codes): NotSupported is a recognized action the receiver does not support,
    NotImplemented an action it does not know. The twin has no certificate management (A02/A03, M): before the
    fix it answered InstallCertificate NotImplemented, as the `ocpp` library does, whose codes are swapped."""
    certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    for payload in (call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=certificate),
                    call.GetInstalledCertificateIds(),
                    call.CertificateSigned(certificate_chain=certificate)):
        with pytest.raises(OCPPError) as refused:
            env.csms.call(env.station_id, payload)
        assert refused.value.code == "NotSupported", type(payload).__name__
        assert refused.value.description == f"{type(payload).__name__}: an OCPP 2.0.1 action the twin does not support"
    with pytest.raises(OCPPError) as unknown:
        env.loop.run(env.csms.sides[env.station_id].call(FlyToTheMoon(), suppress=False, skip_schema_validation=True),
                     10)
    assert unknown.value.code == "NotImplemented"
    assert unknown.value.description == "FlyToTheMoon: not an OCPP 2.0.1 action"
