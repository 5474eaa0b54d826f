"""Values shown to people: in readable units, and beside a bound with the digits that tell them apart."""

from __future__ import annotations

from runner.units import show, show_against


def test_values_are_shown_in_readable_units() -> None:
    assert show(3680.0, "power") == "3.680 kW" and show(16.0, "current") == "16 A"
    assert show(0.0213, "ratio") == "2.13 %" and show(12.04, "time") == "12.0 s"
    assert show(0.0005, "current") == "0.500 mA" and show(None, "current") == "(no value)"


def test_a_value_beside_a_bound_never_reads_as_the_bound_it_is_not() -> None:
    assert show_against(16.0004, 16.0, "current") == "16.0004 A"  # show() gives "16 A"
    assert show_against(999.9996, 1000.0, "power") == "999.9996 W"  # show() gives "1000 W"
    assert show_against(0.020004, 0.02, "ratio") == "2.0004 %"
    assert show_against(12.04, 12.0, "time") == "12.04 s"
    # the usual digits where they already tell the two apart, or where the value is the bound
    assert show_against(16.2, 16.0, "current") == "16.200 A" and show_against(16.0, 16.0, "current") == "16 A"
