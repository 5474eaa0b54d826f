"""Every catalogue id the spec library cites is a charging-station case of the official catalogue.

A spec that cites the wrong test case makes its evidence worthless to a lab: the ids are checked against
the table read off OCPP 2.0.1 Part 6 (runner/data/octt-2.0.1-cs.tsv).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

import dsl
from runner import octt

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _library_specs() -> list[tuple[str, tuple[str, ...]]]:
    return [(f"{path.relative_to(SPECS)}: {spec.title}", tuple(spec.refs))
            for path in sorted(SPECS.rglob("*.spec")) for spec in dsl.load(path)]


def _library_refs() -> list[tuple[str, str]]:
    return [(where, ref) for where, refs in _library_specs() for ref in refs]


# A use case (E14), or for the cases of the transport layer a section of Part 4 (TC_B_57_CS: 5.3 Reconnecting).
USE_CASE = re.compile(r"^OCPP 2\.0\.1 ([A-P]\d{2}|Part 4 section \d+(?:\.\d+)*)$")


def test_the_catalogue_holds_the_documents_charging_station_cases() -> None:
    cases = octt.cases()
    assert len(cases) == 230
    assert all(cid.endswith("_CS") and tc.name and tc.use_cases for cid, tc in cases.items())
    # blocks as the document has them (Core & Advanced Security edition)
    assert Counter(tc.block for tc in cases.values()) == {
        "A": 15, "B": 40, "C": 33, "E": 46, "F": 24, "G": 20, "J": 10, "K": 1, "L": 15, "M": 14, "N": 10, "P": 2}
    assert octt.case("TC_E_39_CS").name == "Stop transaction options - Deauthorized - timeout"
    assert octt.case("TC_B_47_CS").name.endswith("per NetworkConfigurationPriority failed - New CSMS Root - New CSMS")


def test_every_cited_case_is_in_the_catalogue() -> None:
    refs = _library_refs()
    cited = [(where, cid) for where, ref in refs for cid in octt.cited(ref)]
    assert cited, "the library cites no catalogue case: this test would prove nothing"
    unknown = [f"{where}: {cid}" for where, cid in cited if octt.case(cid) is None]
    assert not unknown, "refs that are not charging-station cases of OCPP 2.0.1 Part 6:\n" + "\n".join(unknown)


def test_a_cited_case_belongs_to_a_use_case_the_spec_cites() -> None:
    """A real id can still be the wrong case (an idle reset citing the with-transaction case): each cited
    case must exercise a use case the spec itself names, as the catalogue lists them."""
    wrong = []
    for where, refs in _library_specs():
        use_cases = {m.group(1) for r in refs if (m := USE_CASE.match(r))}
        for cid in (c for r in refs for c in octt.cited(r)):
            tc = octt.case(cid)
            if tc is not None and not any(re.search(rf"\b{u}\b", tc.use_cases) for u in use_cases):
                wrong.append(f"{where}: {cid} ({tc.name}) exercises {tc.use_cases}; the spec cites "
                             f"{sorted(use_cases) or 'no use case'}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("ref", ["OCPP 2.0.1 TC_K_01_CS", "TC_B_31_CSMS", "see TC_Z_99_CS"])
def test_ids_outside_the_catalogue_are_noticed(ref: str) -> None:
    assert octt.cited(ref) and all(octt.case(c) is None for c in octt.cited(ref))


def test_a_ref_is_described_with_the_case_name() -> None:
    assert octt.describe("OCPP 2.0.1 TC_E_40_CS") == \
        "OCPP 2.0.1 TC_E_40_CS (Offline Behaviour - Connection loss during transaction)"
    assert octt.describe("MID 2014/32/EU Annex V (MI-003)") == "MID 2014/32/EU Annex V (MI-003)"
