"""Sealed plan-cache entries: a spec's cached plan reveals nothing to a reader who lacks the spec file.

Plans carry what a spec says, id tokens and passwords included (``session starts with token "…"``,
``csms sets variable SecurityCtrlr.BasicAuthPassword to "…"``), and the cache lives under the run's
output folder, which is shared as evidence. So each entry is encrypted with a key derived from the spec
file's own text digest and the entry's key: reading an entry needs the spec file's bytes, which already
hold everything the entry holds. The cipher is a stream cipher: SHAKE-256 of (key, a fresh 16-byte
nonce per write, the chunk's index) XORed with the pickle. It hides; it does not authenticate (a
tampered entry fails to unpickle or its digests disagree, which is a miss).

    with open(entry, "wb") as f:
        write(f, key, [outline_pickle, plans_pickle])
    with open(entry, "rb") as f:
        outline_pickle, = read(f, key, 1)     # collection reads the first chunk only (or read_path(entry, …))
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import BinaryIO

MAGIC = b"CSPLAN\x01\x00"
_NONCE = 16


class SealError(ValueError):
    """Not a sealed entry, or a truncated one."""


def key_for(digest: str, entry_key: str) -> bytes:
    """The key of an entry: the spec text's digest (never stored in the entry) and the entry's own key."""
    return hashlib.sha256(b"chargespec plan cache\0" + digest.encode() + b"\0" + entry_key.encode()).digest()


def _xor(data: bytes, key: bytes, nonce: bytes, index: int) -> bytes:
    if not data:
        return data
    stream = hashlib.shake_256(key + nonce + index.to_bytes(4, "little")).digest(len(data))
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(len(data), "little")


def write(f: BinaryIO, key: bytes, chunks: list[bytes]) -> None:
    nonce = os.urandom(_NONCE)
    f.write(MAGIC + nonce)
    for i, chunk in enumerate(chunks):
        f.write(len(chunk).to_bytes(8, "little") + _xor(chunk, key, nonce, i))


def read(f: BinaryIO, key: bytes, count: int) -> list[bytes]:
    """The first `count` chunks, decrypted."""
    return _unseal(f.read, key, count)


def read_path(path: str, key: bytes, count: int) -> list[bytes]:
    """The first `count` chunks of the entry at `path`, decrypted: read from the descriptor, in one system
    call when they fit in the first 8 KiB (a collection's outline does), without a file object."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, _FIRST_READ)
        at = 0

        def take(n: int) -> bytes:
            nonlocal data, at
            while len(data) - at < n:  # (a short read is not the end: only an empty one is)
                # (at most 1 MiB a call: a corrupt size asks for exabytes, and gets the end of the file)
                more = os.read(fd, min(max(n - (len(data) - at), _FIRST_READ), 1 << 20))
                if not more:
                    break
                data = data[at:] + more
                at = 0
            out = data[at:at + n]
            at += len(out)
            return out

        return _unseal(take, key, count)
    finally:
        os.close(fd)


_FIRST_READ = 8192


def _unseal(take: Callable[[int], bytes], key: bytes, count: int) -> list[bytes]:
    """`count` chunks read with `take(n)` (n bytes, fewer only at the end), decrypted."""
    head = take(len(MAGIC) + _NONCE)
    if len(head) != len(MAGIC) + _NONCE or not head.startswith(MAGIC):
        raise SealError("not a sealed plan-cache entry")
    nonce = head[len(MAGIC):]
    out = []
    for i in range(count):
        size = take(8)
        data = take(int.from_bytes(size, "little")) if len(size) == 8 else b""
        if len(size) != 8 or len(data) != int.from_bytes(size, "little"):
            raise SealError("truncated plan-cache entry")
        out.append(_xor(data, key, nonce, i))
    return out
