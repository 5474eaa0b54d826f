"""Sealed plan-cache entries read back exactly, from a file object or a path, whatever the reads return."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from dsl import seal

KEY = bytes(range(32))


def _entry(tmp_path: Path, chunks: list[bytes]) -> Path:
    path = tmp_path / "entry.pickle"
    with open(path, "wb") as f:
        seal.write(f, KEY, chunks)
    return path


@pytest.mark.parametrize("sizes", [(0, 5), (300, 40_000), (9000, 1), (8192 - 40, 3)])
def test_read_path_gives_the_chunks_written(tmp_path: Path, sizes: tuple[int, int]) -> None:
    chunks = [os.urandom(n) for n in sizes]
    path = _entry(tmp_path, chunks)
    assert chunks[0] not in path.read_bytes() or not chunks[0]  # sealed, not in clear
    assert seal.read_path(str(path), KEY, 2) == chunks
    assert seal.read_path(str(path), KEY, 1) == chunks[:1]
    with open(path, "rb") as f:
        assert seal.read(f, KEY, 2) == chunks


def test_read_path_survives_short_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read may return fewer bytes than asked (FUSE, network filesystems): only an empty read is the end."""
    chunks = [os.urandom(700), os.urandom(20_000)]
    path = _entry(tmp_path, chunks)
    real = os.read
    monkeypatch.setattr(seal.os, "read", lambda fd, n: real(fd, min(n, 7)))
    assert seal.read_path(str(path), KEY, 2) == chunks


@pytest.mark.parametrize("cut", [0, 10, 24, 27, 32, 100])
def test_truncated_or_foreign_entries_are_seal_errors(tmp_path: Path, cut: int) -> None:
    path = _entry(tmp_path, [os.urandom(200), os.urandom(300)])
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(seal.SealError):
        seal.read_path(str(path), KEY, 1)
    with open(path, "rb") as f, pytest.raises(seal.SealError):
        seal.read(f, KEY, 1)


def test_a_corrupt_size_is_a_seal_error_not_a_huge_read(tmp_path: Path) -> None:
    path = _entry(tmp_path, [os.urandom(50)])
    data = bytearray(path.read_bytes())
    data[24:32] = (2**62).to_bytes(8, "little")  # the first chunk's size
    path.write_bytes(bytes(data))
    with pytest.raises(seal.SealError, match="truncated"):
        seal.read_path(str(path), KEY, 1)
    with pytest.raises(seal.SealError, match="not a sealed"):
        seal.read(io.BytesIO(b"PK\x03\x04" + bytes(40)), KEY, 1)


def test_a_wrong_key_does_not_give_the_chunk(tmp_path: Path) -> None:
    chunk = b"session starts with token 04A2B3C4" * 4
    path = _entry(tmp_path, [chunk])
    assert seal.read_path(str(path), bytes(32), 1) != [chunk]
