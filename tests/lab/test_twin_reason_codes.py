"""Every statusInfo.reasonCode the twin can answer is one of OCPP 2.0.1 Part 2 Appendix 5's standard codes, or
one of the few it uses where none fits (listed, with why). A misspelt code (`UnknownEVSE` for `UnknownEvse`,
`NotAccepted` for `CSNotAccepted`) is what a CSMS matching on codes misses, and what a reference must not teach."""

from __future__ import annotations

import re
from pathlib import Path

TWIN = Path(__file__).resolve().parents[2] / "lab" / "twin"

# Part 2 (appendices v1.3), Appendix 5 "Reason Codes".
_APPENDIX_5_WORDS = """
    CSNotAccepted DuplicateProfile DuplicateRequestId FixedCable FwUpdateInProgress InternalError InvalidCertificate
    InvalidCSR InvalidIdToken InvalidMessageSequence InvalidProfile InvalidSchedule InvalidStackLevel InvalidURL
    InvalidValue MissingDeviceModelInfo MissingParam NoCable NoError NotEnabled NotFound OutOfMemory OutOfStorage
    ReadOnly TooLargeElement TooManyElements TxInProgress TxNotFound TxStarted UnknownConnectorId
    UnknownConnectorType UnknownEvse UnknownTxId Unspecified UnsupportedParam UnsupportedRateUnit
    UnsupportedRequest ValueOutOfRange ValuePositiveOnly ValueTooHigh ValueTooLow ValueZeroNotAllowed WriteOnly
"""
APPENDIX_5 = frozenset(_APPENDIX_5_WORDS.split())
# The appendix's list "is not exhaustive": where no code in it fits, the twin says what happened.
OWN = {"Unavailable": "RequestStartTransaction at an Inoperative EVSE",
       "InvalidNetworkConf": "SetNetworkProfile refused for its connection data"}

# reason_code="X" / "reason_code": "X" / a code chosen by a conditional expression / ProfileRejected("X", ...)
_SITE = re.compile(r"""(?:reason_code["']?\s*[:=]\s*|\bcode\s*=\s*|ProfileRejected\(\s*)(?P<expr>[^,)\n}]+)""")
_WORD = re.compile(r'"([A-Za-z]+)"')


def _codes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(TWIN.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _SITE.finditer(line):
                for code in _WORD.findall(m.group("expr")):
                    found.setdefault(code, []).append(f"{path.relative_to(TWIN)}:{number}")
    return found


def test_the_scan_sees_the_twins_codes() -> None:
    codes = _codes()
    # (a scan that found nothing would pass the test below having checked nothing)
    assert {"UnknownEvse", "InvalidValue", "TxInProgress", "CSNotAccepted"} <= set(codes), sorted(codes)


def test_every_reason_code_is_the_appendixs_or_a_listed_own_one() -> None:
    unknown = {code: sites for code, sites in _codes().items() if code not in APPENDIX_5 and code not in OWN}
    assert not unknown, f"reason codes not in Part 2 Appendix 5 (nor listed in OWN): {unknown}"
