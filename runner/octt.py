"""The official OCPP 2.0.1 charging-station test cases (OCTT, Part 6): ids, names and use cases.

Specs cite catalogue cases in their refs (`refs "OCPP 2.0.1 TC_E_40_CS"`); this module is how a citation
is checked and how a report shows what an id means. The table (runner/data/octt-2.0.1-cs.tsv) was read
off the document shipped with the project brief; see the file's header for its edition.

    >>> case("TC_E_40_CS").name
    'Offline Behaviour - Connection loss during transaction'
    >>> cited("OCPP 2.0.1 TC_B_22_CS, step 4")
    ['TC_B_22_CS']
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parent / "data" / "octt-2.0.1-cs.tsv"

_ID = re.compile(r"\bTC_[A-Z]_\d+_CS(?:MS)?\b")


@dataclass(frozen=True)
class TestCase:
    id: str
    name: str
    use_cases: str  # as the document writes them, e.g. "J02 & (E01,E02)"

    @property
    def block(self) -> str:
        return self.id[3]


@cache
def cases() -> dict[str, TestCase]:
    """Every charging-station case of the catalogue, by id, in the document's order."""
    with CATALOGUE.open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")
        return {r["id"]: TestCase(r["id"], r["name"], r["use_cases"]) for r in rows}


def case(case_id: str) -> TestCase | None:
    return cases().get(case_id)


def cited(ref: str) -> list[str]:
    """The test case ids a ref names (CSMS cases included, so that a wrong kind of case is noticed)."""
    return _ID.findall(ref)


def describe(ref: str) -> str:
    """A ref as a person reads it: each catalogue id followed by its name."""
    out = ref
    for cid in dict.fromkeys(cited(ref)):
        tc = case(cid)
        if tc is not None:
            out = out.replace(cid, f"{cid} ({tc.name})")
    return out
