"""Where spec files may be read from, and how: the spec root, regular files only, a size cap.

A spec names other files (``include setup "x" from "common/setup.spec"``), and a spec may come from
anyone. So an include is read only when it is

- a relative path (never ``/etc/hostname``) to a ``.spec`` file (the name as written and the file it
  resolves to), checked before the disk is touched;
- under the **spec root** both as written and with symbolic links resolved (never
  ``../../../../etc/passwd``, nor a link that leads out);
- a regular file (``os.stat`` before opening: a FIFO, a device or a directory is refused without being
  opened, since opening a FIFO blocks) of at most :data:`~dsl.limits.MAX_SPEC_BYTES`.

The spec root is the folder the specs were given from (the directory passed to ``chargespec check``, the
folder of a file passed alone), widened only by a caller's ``include_root`` (the plugin names pytest's
rootdir, so ``chargespec run`` reads includes under the project). Top-level spec files (named by the
user, or found in a folder the user named) are read with the same ``.spec``, regular-file and size
checks. A refusal is a :class:`Refused` (message and hint); the caller places it at the path string.
Nothing here prints or returns the content of a file it refused::

    roots = SpecRoots.of("specs", include_root=None)
    path = roots.locate("specs/metering/x.spec", "../common/setup.spec")   # or raises Refused
    data = read_spec_bytes(path)                                           # or raises Refused / OSError
"""

from __future__ import annotations

import os
import stat

import msgspec

from dsl.errors import Refused
from dsl.limits import MAX_SPEC_BYTES

__all__ = ["SPEC_SUFFIX", "Refused", "SpecRoots", "read_spec_bytes"]

SPEC_SUFFIX = ".spec"
_STAY = "includes stay under the folder the specs were given from (name a folder that holds both files)"


class SpecRoots(msgspec.Struct, frozen=True):
    """The folders includes may read under, as the caller named them (`shown`, also in messages)."""

    shown: tuple[str, ...]

    @property
    def real(self) -> tuple[str, ...]:
        """The folders with symbolic links resolved (at each use: ~90 µs each, so never on a hit's path)."""
        return tuple(os.path.realpath(n) for n in self.shown)

    @classmethod
    def of(cls, folder: str | os.PathLike[str], include_root: str | os.PathLike[str] | None = None
           ) -> SpecRoots:
        """The root `folder` (where the specs were given from), plus a wider `include_root` if named."""
        named = [os.fspath(folder) or "."]
        if include_root is not None:
            named.append(os.fspath(include_root) or ".")
        if len(named) == 2 and _under(os.path.abspath(named[0]), os.path.abspath(named[1])):
            named = named[1:]  # (the folder is inside the wider root: one root, the wider, named in messages)
        return cls(tuple(named))

    @classmethod
    def around(cls, spec_path: str | os.PathLike[str],
               include_root: str | os.PathLike[str] | None = None) -> SpecRoots:
        """The roots for a spec file given alone: its own folder (plus `include_root`)."""
        return cls.of(os.path.dirname(os.fspath(spec_path)) or ".", include_root)

    def describe(self) -> str:
        return " or ".join(f'"{s}"' for s in self.shown)

    def locate(self, including: str, written: str) -> str:
        """The path of `written` (as a spec wrote it in file `including`), or Refused; reads nothing."""
        if not written or any(not c.isprintable() for c in written):
            raise Refused(f'include path "{written}" is empty or holds control characters',
                          "name a .spec file relative to the including file")
        if os.path.isabs(written):
            raise Refused(f'include path "{written}" is absolute',
                          f"write it relative to the including file, inside the spec root {self.describe()}")
        path = os.path.normpath(os.path.join(os.path.dirname(including), written))
        if not any(_under(os.path.abspath(path), os.path.abspath(root)) for root in self.shown):
            raise Refused(f'include path "{written}" leads out of the spec root {self.describe()}',
                          _STAY)
        if not written.endswith(SPEC_SUFFIX):
            raise Refused(f'include path "{written}" does not name a {SPEC_SUFFIX} file',
                          "only spec files can be included")
        real = os.path.realpath(path)
        if not any(_under(real, root) for root in self.real):
            raise Refused(f'include path "{written}" leads out of the spec root {self.describe()} '
                          "through a symbolic link", _STAY)
        if not real.endswith(SPEC_SUFFIX):
            raise Refused(f'include path "{written}" is a link to a file that is not a {SPEC_SUFFIX} file',
                          "only spec files can be included")
        return path

    def allows(self, path: str) -> bool:
        """Whether a file already read (a cache entry's dependency) is still one an include may read."""
        real = os.path.realpath(path)
        return real.endswith(SPEC_SUFFIX) and any(_under(real, root) for root in self.real)


def read_spec_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular ``.spec`` file of at most MAX_SPEC_BYTES (its real name a ``.spec`` too: a
    link to another kind of file is refused); Refused for anything else, OSError if absent.

    Checked with ``os.stat`` before opening, and again on the open descriptor (the file may be swapped
    in between); opened non-blocking, and never read past the cap (the file may grow while read).
    """
    name = os.fspath(path)
    st = os.lstat(name)
    # Only a link as the last part can change the name's suffix (realpath costs ~90 µs: links only).
    if not (os.path.realpath(name) if stat.S_ISLNK(st.st_mode) else name).endswith(SPEC_SUFFIX):
        what = f"a link to a file that is not a {SPEC_SUFFIX} file" if name.endswith(SPEC_SUFFIX) else \
            f"not a {SPEC_SUFFIX} file"
        raise Refused(what, f"spec files are named *{SPEC_SUFFIX}")
    _check_stat(os.stat(name) if stat.S_ISLNK(st.st_mode) else st)
    fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:  # (the descriptor read directly: a buffered file object per spec costs more than the read)
        size = os.fstat(fd)
        _check_stat(size)
        data = _read_fd(fd, size.st_size + 1)
        if len(data) > size.st_size:  # it grew since: read on, to the cap
            data += _read_fd(fd, MAX_SPEC_BYTES + 1 - len(data))
    finally:
        os.close(fd)
    if len(data) > MAX_SPEC_BYTES:
        raise _too_big(len(data))
    return data


def _read_fd(fd: int, n: int) -> bytes:
    """Up to `n` bytes from `fd`, fewer only at its end (a read may return less than asked)."""
    parts = []
    while n > 0:
        chunk = os.read(fd, n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _check_stat(st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"not a regular file ({_kind(st.st_mode)})", "a spec is a regular text file")
    if st.st_size > MAX_SPEC_BYTES:
        raise _too_big(st.st_size)


def _too_big(size: int) -> Refused:
    return Refused(f"too big: {_size(size)}, over the {_size(MAX_SPEC_BYTES)} limit of a spec file",
                   "split it into several spec files")


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 and n % (1 << 20) else (
        f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "another kind of file")


def _under(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # (different drives)
        return False

