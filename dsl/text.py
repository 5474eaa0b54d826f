"""Spec file bytes -> text, and the digests the cache and the evidence use. No Lark here.

Kept apart from :mod:`dsl.parser` so a plan-cache hit can check a file without importing the parser::

    text = normalize(decode(path.read_bytes(), str(path)))
"""

from __future__ import annotations

import hashlib

from dsl.errors import SpecError, SpecErrors
from dsl.plan import Source


def normalize(text: str) -> str:
    """One newline convention, no BOM, a final newline (the indenter needs one to close blocks)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def sha256_text(text: str) -> str:
    return sha256_bytes(text.encode("utf-8", "surrogateescape"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes, file: str) -> str:
    """Bytes of a spec file -> text; undecodable bytes are SpecErrors (one per line holding them)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    errors: list[SpecError] = []
    # Lines and columns as in the text the parser reads (normalize): no BOM, CR LF and a lone CR end a line
    # (bytes CR and LF are never inside a UTF-8 sequence, so they are replaced before decoding).
    lines = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    for number, raw in enumerate(lines, start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            shown = raw.decode("utf-8", "replace")
            column = len(raw[: e.start].decode("utf-8")) + 1  # (the first undecodable byte of its line)
            errors.append(SpecError(
                Source(file, number, column, shown),
                f"byte 0x{raw[e.start]:02x} is not UTF-8 text",
                "save the file as UTF-8",
            ))
    raise SpecErrors(errors)


def excerpt(lines: list[str], start: int, end: int) -> str:
    """Lines `start`..`end` (1-based) of a spec, for evidence: trailing blanks and top-level comments dropped."""
    chunk = lines[start - 1: end]
    while chunk and (not chunk[-1].strip() or (chunk[-1].lstrip().startswith("#")
                                                and not chunk[-1].startswith(" "))):
        chunk.pop()
    return "\n".join(chunk)
