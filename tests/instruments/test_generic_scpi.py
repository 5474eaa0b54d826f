"""The generic SCPI driver: an unknown analyzer described in TOML, against sim/generic.yaml (and the WT310
of sim/wt300.yaml described generically); option errors name the option."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from instruments import registry
from instruments.errors import InstrumentConfigError, InstrumentStateError, InstrumentUnsupported

PA3000_TOML = """
[options]
idn = "ID?"
configure = ["SYST:MODE REMOTE", "CONF:COUNT {count}"]
item_command = "CONF:ITEM{index} {item}"
rate_command = "CONF:INTERVAL {ms}"
rates_s = [0.2, 1]
read = "READ?"
separator = ";"
items = [
  { item = "VRMS:A", quantity = "voltage", phase = "L1" },
  { item = "IRMS:A", quantity = "current", phase = "L1" },
  { item = "WATT:A", quantity = "power", phase = "L1" },
  { item = "PF:A", quantity = "pf", phase = "L1" },
  { item = "VRMS:B", quantity = "voltage", phase = "L2" },
  { item = "IRMS:B", quantity = "current", phase = "L2" },
  { item = "WATT:B", quantity = "power", phase = "L2" },
  { item = "PF:B", quantity = "pf", phase = "L2" },
  { item = "VRMS:C", quantity = "voltage", phase = "L3" },
  { item = "IRMS:C", quantity = "current", phase = "L3" },
  { item = "WATT:C", quantity = "power", phase = "L3" },
  { item = "PF:C", quantity = "pf", phase = "L3" },
  { item = "WATT:SUM", quantity = "total_power" },
  { item = "ENERGY:A", quantity = "energy", phase = "L1" },
  { item = "ENERGY:B", quantity = "energy", phase = "L2" },
  { item = "ENERGY:C", quantity = "energy", phase = "L3" },
]
integ_start = "ENERGY:START"
integ_stop = "ENERGY:STOP"
integ_reset = "ENERGY:CLEAR"
"""


ESR = b"*ESR?\n"  # the default error query: the IEEE 488.2 event status register


def checked(*commands: bytes, query: bytes = ESR) -> list[bytes]:
    """The bytes of `commands`, each followed by the error query the driver reads after every setting."""
    return [b for c in commands for b in (c, query)]


def pa3000_options(**changes: Any) -> dict[str, Any]:
    options = tomllib.loads(PA3000_TOML)["options"]
    options.update(changes)
    return options


def pa3000(sim_analyzer, **changes: Any):
    return sim_analyzer("generic-scpi", "generic.yaml", 10401, options=pa3000_options(**changes))


def clean(an) -> bool:
    return an.link.query("ID?").startswith("ACME,")


def test_identify_with_the_configured_query(sim_analyzer, record_writes) -> None:
    an = pa3000(sim_analyzer)
    sent = record_writes(an)
    assert an.identify() == "ACME,PA-3000,SN0042,2.7"
    assert sent == [b"ID?\n"]


def test_a_description_missing_a_phase_refuses_three_phases(sim_analyzer) -> None:
    items = pa3000_options()["items"]
    an = pa3000(sim_analyzer, items=[i for i in items if i.get("phase") != "L3"])
    with pytest.raises(InstrumentConfigError, match=r"cannot measure 3 phase.*describes phases L1, L2; add "
                                                    "items for L3"):
        an.configure(phases=3)


def test_configure_sends_the_bench_files_commands(sim_analyzer, record_writes) -> None:
    an = pa3000(sim_analyzer)
    sent = record_writes(an)
    an.configure(phases=1, update_interval_s=0.5)  # nearest allowed not slower: 200 ms
    assert sent == checked(b"SYST:MODE REMOTE\n", b"CONF:COUNT 6\n", b"CONF:ITEM1 VRMS:A\n",
                           b"CONF:ITEM2 IRMS:A\n", b"CONF:ITEM3 WATT:A\n", b"CONF:ITEM4 PF:A\n",
                           b"CONF:ITEM5 WATT:SUM\n", b"CONF:ITEM6 ENERGY:A\n", b"CONF:INTERVAL 200\n")
    assert an.update_interval_s == 0.2
    assert clean(an)
    del sent[:]
    an.configure(phases=3, update_interval_s=5)
    assert sent[1::2] == [ESR] * (len(sent) // 2)
    sent = sent[::2]
    assert sent[:2] == [b"SYST:MODE REMOTE\n", b"CONF:COUNT 16\n"]
    assert sent[2:-1] == [f"CONF:ITEM{k} {i['item']}\n".encode()
                          for k, i in enumerate(pa3000_options()["items"], start=1)]
    assert sent[-1] == b"CONF:INTERVAL 1000\n"
    assert clean(an)


def test_read_parses_the_configured_separator_and_missing_markers(sim_analyzer, record_writes) -> None:
    an = pa3000(sim_analyzer)
    an.configure(phases=3)
    sent = record_writes(an)
    r = an.read()
    assert sent == [b"READ?\n"]
    assert r.phases["L2"].current_a is None  # -OL-
    assert r.phases["L2"].power_factor is None  # NAN
    assert r.phases["L3"].voltage_v == 229.0
    assert r.total_power_w == 10780.0
    assert r.energy_wh == 3000.0  # per-phase energies summed


def test_integrator_without_state_query_tracks_the_state(sim_analyzer, record_writes) -> None:
    an = pa3000(sim_analyzer)
    sent = record_writes(an)
    with pytest.raises(InstrumentStateError, match=r"its state is unknown .* reset it first"):
        an.integration_start()
    an.integration_reset()
    an.integration_start()
    with pytest.raises(InstrumentStateError, match="in state START"):
        an.integration_start()
    an.integration_stop()
    assert an.integration_state() == "STOP"
    assert sent == checked(b"ENERGY:CLEAR\n", b"ENERGY:START\n", b"ENERGY:STOP\n")
    assert clean(an)


WT310_AS_GENERIC = {
    "configure": [":NUM:FORM ASC", ":NUM:NORM:NUM {count}"],
    "item_command": ":NUM:NORM:ITEM{index} {item}",
    "rate_command": ":RATE {ms}MS",
    "rates_s": [0.1, 0.25, 0.5],
    "read": ":NUM:NORM:VAL?",
    "items": [{"item": "U,1", "quantity": "voltage", "phase": "L1"},
              {"item": "I,1", "quantity": "current", "phase": "L1"},
              {"item": "P,1", "quantity": "power", "phase": "L1"},
              {"item": "LAMBDA,1", "quantity": "pf", "phase": "L1"},
              {"item": "WH,1", "quantity": "energy"}],
    "integ_start": ":INTEG:STAR", "integ_stop": ":INTEG:STOP", "integ_reset": ":INTEG:RES",
    "integ_state": ":INTEG:STAT?",
    "error_query": ":STAT:ERR?", "model": "WT3(10|33)",
}


def test_a_wt310_described_generically_matches_its_driver(sim_analyzer, record_writes) -> None:
    an = sim_analyzer("generic-scpi", "wt300.yaml", 10001, options=WT310_AS_GENERIC)
    sent = record_writes(an)
    an.configure(phases=1, update_interval_s=0.5)
    r = an.read()
    an.integration_start()
    stat = b":STAT:ERR?\n"
    assert sent == [*checked(b":NUM:FORM ASC\n", b":NUM:NORM:NUM 5\n", b":NUM:NORM:ITEM1 U,1\n",
                             b":NUM:NORM:ITEM2 I,1\n", b":NUM:NORM:ITEM3 P,1\n", b":NUM:NORM:ITEM4 LAMBDA,1\n",
                             b":NUM:NORM:ITEM5 WH,1\n", b":RATE 500MS\n", query=stat),
                    b":NUM:NORM:VAL?\n", b":INTEG:STAT?\n", *checked(b":INTEG:STAR\n", query=stat)]
    assert r.phases["L1"].current_a == 15.998 and r.energy_wh == 1234.5 and r.total_power_w == 3675.1
    assert an.link.query("*IDN?").startswith("YOKOGAWA")


def test_items_in_the_read_query(sim_analyzer, record_writes) -> None:
    options = {"read": ":MEASure? {items}",
               "configure": [":HEADer OFF"],
               "items": [{"item": f"{fn}{k}", "quantity": q, "phase": f"L{k}"}
                         for k in (1, 2, 3) for fn, q in (("U", "voltage"), ("I", "current"), ("P", "power"),
                                                          ("PF", "pf"))]
               + [{"item": f"WP{k}", "quantity": "energy", "phase": f"L{k}"} for k in (1, 2, 3)]}
    an = sim_analyzer("generic-scpi", "pw3390.yaml", 10201, options=options)
    an.configure(phases=3)
    sent = record_writes(an)
    r = an.read()
    assert sent == [b":MEASure? U1,I1,P1,PF1,U2,I2,P2,PF2,U3,I3,P3,PF3,WP1,WP2,WP3\n"]
    assert r.phases["L2"].current_a is None and r.energy_wh == pytest.approx(3000.0)
    with pytest.raises(InstrumentUnsupported, match="no energy integrator configured"):
        an.integration_start()


def make(**options: Any):
    return registry.create("generic-scpi", name="pa", address="TCPIP0::127.0.0.1::9::SOCKET",
                           options=options)


BASE: dict[str, Any] = {"read": "READ?", "items": [{"item": "V", "quantity": "voltage", "phase": "L1"}]}


@pytest.mark.parametrize(("change", "message"), [
    ({"read": None}, "option read: is required"),
    ({"items": None}, "option items: is required"),
    ({"items": []}, "option items: is empty"),
    ({"items": [{"item": "V", "quantity": "volts", "phase": "L1"}]},
     "option items[1].quantity: 'volts' is not one of voltage, current"),
    ({"items": [{"item": "V", "quantity": "voltage"}]}, "items[1].phase: voltage needs a phase L1, L2 or L3"),
    ({"items": [{"item": "P", "quantity": "total_power", "phase": "L1"}]}, "give no phase"),
    ({"items": [{"item": "V", "quantity": "voltage", "phase": "L1", "unit": "V"}]}, "unknown key(s) unit"),
    ({"item_command": "ITEM{k} {item}"}, "unknown placeholder(s) {k} in 'ITEM{k} {item}'; this option knows "
                                         "{count}, {index}, {item}"),
    ({"rate_command": ":RATE {ms"}, "option rate_command: ':RATE {ms' is not a valid template"),
    ({"configure": ":NUM:FORM ASC"}, "option configure: expected a list"),
    ({"rates_s": [0.1, -1]}, "option rates_s: expected positive numbers"),
    ({"integ_start": "S", "integ_stop": "T"}, "option integ_reset: is missing"),
    ({"integ_start": "S", "integ_stop": "T", "integ_reset": "R", "integ_states": {"GO": "RUNNING"}},
     "option integ_states: expected a table"),
    ({"separator": ""}, "option separator: expected a non-empty string"),
    ({"reed": "READ?"}, "unknown option(s) 'reed'"),
])
def test_option_mistakes_fail_at_construction_naming_the_option(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InstrumentConfigError) as e:
        make(**{**BASE, **change})
    assert message in str(e.value)
    assert "instrument 'pa' at TCPIP0::127.0.0.1::9::SOCKET" in str(e.value)


def test_custom_state_words() -> None:
    an = make(**BASE, integ_start="S", integ_stop="T", integ_reset="R", integ_state="ST?",
              integ_states={"GO": "START", "HALT": "STOP", "CLR": "RESET"})
    assert an.integrator.words == {"GO": "START", "HALT": "STOP", "CLR": "RESET"}


def test_a_bench_file_table_builds_the_driver_as_the_bench_opener_does(record_writes) -> None:
    from lab.bench import InstrumentConfig

    sim = Path(__file__).parent / "sim" / "generic.yaml"
    table = tomllib.loads(f"""
[analyzer]
driver = "generic-scpi"
address = "TCPIP0::127.0.0.1::10401::SOCKET"
timeout_s = 1.5
[analyzer.options]
visa_library = "{sim}@sim"
""" + PA3000_TOML.replace("[options]", ""))["analyzer"]
    ic = InstrumentConfig.model_validate(table)
    an = registry.create(ic.driver, name="analyzer", address=ic.address,
                         **{"timeout_s": ic.timeout_s, "reconnect_attempts": ic.reconnect_attempts, **ic.options})
    an.open()
    try:
        an.configure(phases=3, update_interval_s=1)
        assert an.read().energy_wh == 3000.0
        assert an.opts.timeout_s == 1.5
    finally:
        an.close()
