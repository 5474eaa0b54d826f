"""Fixtures for the dsl tests: the two acceptance specs of the language brief, as text."""

import pytest

ENERGY = '''\
spec "Energy register accuracy, MID class B"
  version 1
  refs "MID 2014/32/EU Annex V (MI-003)", "OCPP 2.0.1 TC_J_01_CS"
  tags metering, ac
  setup
    charger booted
    ev plugs in on evse 1
    session starts with token "04A2B3C4"
  scenario "load point {load}" for load in 16 A
    ev draws {load}
    expect within 30 s: analyzer current L1 >= {load} - 1 A
    measure "steady" for 10 min
    expect charger energy over "steady" within 2 % of analyzer energy over "steady"
  teardown
    session stops
'''

TX_PROFILE = '''\
spec "TxProfile current limit is enforced"
  refs "OCPP 2.0.1 K01", "OCPP 2.0.1 TC_K_01_CS"
  tags smart-charging, ac
  setup
    charger booted
    ev plugs in on evse 1
    ev requests 32 A
    session starts with token "04A2B3C4"
    expect within 60 s: analyzer power > 1 kW
  scenario "limit {limit}" for limit in 6 A, 10 A, 16 A
    csms sets TxProfile on evse 1: limit {limit}
    expect within 15 s: analyzer current L1 <= {limit} + 0.6 A
    expect for 60 s: analyzer current L1 <= {limit} + 0.6 A
'''


@pytest.fixture
def energy_text() -> str:
    return ENERGY


@pytest.fixture
def tx_profile_text() -> str:
    return TX_PROFILE
