"""Errors point where the mistake is, whatever the file's line endings or BOM.

The parser reads normalized text (dsl.text.normalize: no BOM; CR LF and a lone CR end a line), so every
position, those of undecodable bytes included, counts lines and columns in that text: a file saved with
old Mac line endings or a BOM gets the errors an LF file gets, at the same line and column.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from dsl.text import normalize

REPO = Path(__file__).resolve().parents[2]
LIBRARY = [p.read_text(encoding="utf-8") for p in sorted((REPO / "specs").rglob("*.spec"))]


def _errors(data: bytes, tmp_path: Path) -> list[tuple[int, int, str, str, int]]:
    path = tmp_path / "m.spec"
    path.write_bytes(data)
    return [(e.source.line, e.source.column, e.message, e.source.text, e.width) for e in dsl.check_paths([path])]


def _endings(text: str) -> dict[str, bytes]:
    return {"lf": text.encode(), "crlf": text.replace("\n", "\r\n").encode(), "cr": text.replace("\n", "\r").encode(),
            "bom": b"\xef\xbb\xbf" + text.encode()}


@pytest.mark.parametrize("ending", ["crlf", "cr", "bom"])
def test_an_undecodable_byte_is_placed_as_in_an_lf_file(ending: str, tmp_path: Path) -> None:
    text = 'spec "s\x00"\n  scenario "x"\n    wait 1 s  # caf\x01\n'
    data = {k: v.replace(b"\x00", b"\xe9").replace(b"\x01", b"\xff") for k, v in _endings(text).items()}
    expected = [(1, 8, "byte 0xe9 is not UTF-8 text", 'spec "s\ufffd"', 1),
                (3, 20, "byte 0xff is not UTF-8 text", "    wait 1 s  # caf\ufffd", 1)]
    assert _errors(data["lf"], tmp_path) == expected
    assert _errors(data[ending], tmp_path) == expected


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.sampled_from(LIBRARY), data=st.data())
def test_line_endings_and_a_bom_change_no_error(text: str, data: st.DataObject, tmp_path: Path) -> None:
    lines = text.split("\n")
    # One mistake somewhere: a word misspelt, or a line indented one space further.
    i = data.draw(st.integers(0, len(lines) - 1))
    if data.draw(st.booleans()):
        lines[i] = lines[i].replace("e", "ee", 1)
    else:
        lines[i] = " " + lines[i]
    text = "\n".join(lines)
    expected = _errors(text.encode(), tmp_path)
    shown = normalize(text).split("\n")
    for line, _, _, source, _ in expected:
        assert source == shown[line - 1]  # the line the error shows is the line it names
    for ending, variant in _endings(text).items():
        assert _errors(variant, tmp_path) == expected, ending
