"""The twin's network connection profiles (lab/twin/network_profiles.py): what SetNetworkProfile and
NetworkConfigurationPriority accept, and the order the charger connects in, with its fallback (B09/B10 as
TC_B_45/46/49_CS describe them)."""

from __future__ import annotations

import pytest

from lab.twin.network_profiles import NetworkProfiles

URL, URL2 = "ws://127.0.0.1:9000", "ws://127.0.0.1:9001"


def data(url: str = URL2, profile: int = 0, **over: object) -> dict[str, object]:
    return {"ocpp_csms_url": url, "security_profile": profile, "ocpp_version": "OCPP20", "ocpp_transport": "JSON",
            "ocpp_interface": "Wired0", "message_timeout": 30, **over}


def test_a_free_slot_takes_a_profile_the_charger_can_use() -> None:
    net = NetworkProfiles(slot=1, url=URL, security_profile=0)
    assert net.set_profile(2, data(), in_use=1) is None
    assert net.profiles[2].url == URL2


@pytest.mark.parametrize(("slot", "payload", "reason"), [
    (999, data(), "slot 999: the twin has slots 1, 2, 3"),
    (1, data(), "slot 1 holds the profile of the current connection"),
    (2, data(ocpp_version="OCPP16"), "the twin speaks OCPP20 over JSON"),
    (2, data(ocpp_transport="SOAP"), "the twin speaks OCPP20 over JSON"),
    (2, data(profile=4), "securityProfile 4: OCPP 2.0.1 has security profiles 0 to 3"),
    (2, data(profile=2), "security profile 2 needs a wss:// URL"),
    (2, data(url="wss://127.0.0.1:9001"), "security profile 0 needs a ws:// URL"),
    (2, data(url="not a url"), "needs a ws:// URL"),
])
def test_a_profile_is_refused_with_its_reason(slot: int, payload: dict[str, object], reason: str) -> None:
    net = NetworkProfiles(slot=1, url=URL, security_profile=0)
    got = net.set_profile(slot, payload, in_use=1)
    assert got is not None and reason in got
    assert slot not in net.profiles or slot == 1


def test_a_lower_security_profile_is_refused_as_lower() -> None:
    net = NetworkProfiles(slot=1, url="wss://127.0.0.1:9000", security_profile=2)
    assert "may not go lower" in (net.set_profile(2, data(url="ws://127.0.0.1:9001", profile=1), in_use=1) or "")


@pytest.mark.parametrize("profile", [2, 3])
def test_tc_a_20_21_cs_a_higher_profile_is_stored_but_the_priority_may_not_name_it(profile: int) -> None:
    """TC_A_20_CS / TC_A_21_CS (A05.FR.02/03): SetNetworkProfile with a higher securityProfile is Accepted; the
    priority that would connect by it is Rejected, the charger lacking the certificates. Before the fix the
    SetNetworkProfile itself was refused (the case's step 2 expects Accepted)."""
    net = NetworkProfiles(slot=1, url=URL, security_profile=1)
    assert net.set_profile(2, data(url="wss://127.0.0.1:9443", profile=profile), in_use=1) is None
    assert net.check_priority("2,1") == (f"slot 2 is for security profile {profile}; the twin has no certificates "
                                         "to connect at it (it runs security profile 1)")
    assert net.check_priority("1") is None


def test_the_priority_names_filled_slots_once() -> None:
    net = NetworkProfiles(slot=1, url=URL, security_profile=0)
    assert net.check_priority("1") is None
    assert "every entry must be a filled slot" in (net.check_priority("2,1") or "")  # slot 2 is empty
    net.set_profile(2, data(), in_use=1)
    assert net.check_priority("2,1") is None
    assert net.check_priority("2,2") is not None
    assert net.check_priority("x") is not None


def test_the_priority_list_first_then_its_next_slot_at_once_after_the_attempts() -> None:
    """TC_B_46_CS: priority 2,1, two attempts each; slot 2 fails twice (back-off between), then slot 1."""
    net = NetworkProfiles(slot=1, url=URL, security_profile=0)
    net.set_profile(2, data(), in_use=1)
    net.begin("2,1")
    assert net.slot == 2 and net.url("CS1") == f"{URL2}/CS1"
    assert net.failed(attempts=2) is False and net.slot == 2      # again, after a back-off
    assert net.failed(attempts=2) is True and net.slot == 1       # moved on, at once
    assert net.failed(attempts=2) is False and net.slot == 1
    assert net.failed(attempts=2) is False and net.slot == 2      # the list again, after a back-off


def test_the_previous_profile_is_the_last_resort_and_the_charger_stays_with_it() -> None:
    """TC_B_49_CS: priority 2 alone, one attempt: slot 2 fails, then the previous profile (slot 1) at once, and
    the charger keeps to it with back-off."""
    net = NetworkProfiles(slot=1, url=URL, security_profile=0)
    net.set_profile(2, data(), in_use=1)
    net.begin("2")
    assert net.slot == 2
    assert net.failed(attempts=1) is True and net.slot == 1
    for _ in range(3):
        assert net.failed(attempts=1) is False and net.slot == 1


def test_a_profile_that_connected_is_the_fallback_from_then_on() -> None:
    """TC_B_45_CS, then a priority back to slot 1 whose CSMS is away: slot 1, then slot 2 (last connected)."""
    net = NetworkProfiles(slot=1, url=URL, security_profile=0)
    net.set_profile(2, data(), in_use=1)
    net.begin("2,1")
    net.connected()
    assert net.last_good == 2
    net.begin("1")
    assert net.slot == 1
    assert net.failed(attempts=1) is True and net.slot == 2
    net.connected()
    assert net.failed(attempts=1) is False and net.slot == 2   # a lost connection is retried where it worked
