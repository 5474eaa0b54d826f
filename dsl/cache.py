"""A parse cache: compiled plans of a spec file, pickled, keyed by everything they depend on.

An entry is used only when all of these are unchanged: the file's bytes (SHA-256), its path as given
(plans carry it), the dsl itself (a hash of its source and grammar, plus the Python version), the step
registry (names and patterns, so a lab's new statement invalidates it) and the bytes of every file the
spec includes a setup from (their text digests, checked on every hit). Files with errors are never cached::

    plans = dsl.load("specs/x.spec", cache_dir=".pytest_cache/chargespec-plans")

Writes go to a temporary file and are renamed into place, so parallel workers never read half an entry;
an unreadable entry is a miss. The directory is trusted like the source tree (entries are pickles).
Entries are sealed with a key derived from the spec's text (:mod:`dsl.seal`): the cache sits in the
run's output folder, and a spec's id tokens and passwords must not be readable there without the spec.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from dsl import seal
from dsl.confine import Refused, SpecRoots, read_spec_bytes
from dsl.errors import SpecErrors
from dsl.lazy import EntryPlans, from_outline, outline
from dsl.plan import SpecPlan
from dsl.text import decode, normalize, sha256_text

if TYPE_CHECKING:  # a cache hit must not import the parser (Lark) or the checker
    from dsl.includes import Includes
    from dsl.steps import StepRegistry

Plans = tuple[SpecPlan, ...]
Deps = tuple[tuple[str, str], ...]  # (path, sha256 of its bytes)


@functools.cache
def tool_fingerprint() -> str:
    """Changes whenever the dsl's code or grammar (or the Python running it) changes."""
    h = hashlib.sha256(sys.version.encode())
    root = resources.files("dsl")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".py", ".lark")):
            h.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return h.hexdigest()


def _key(path: str, digest: str, registry: StepRegistry) -> str:
    parts = (tool_fingerprint(), registry.fingerprint(), path, digest)
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _text_digest(path: str, roots: SpecRoots | None) -> str | None:
    """The digest the parser gives a file's text (``SpecFile.sha256``), or None if unreadable.

    Read as an include is (:mod:`dsl.confine`), and None when `roots` no longer allow it: a hit then
    gives the errors a miss would (a narrower root, a file swapped for a link, a FIFO or a huge file).
    """
    try:
        if roots is not None and not roots.allows(path):
            return None
        return sha256_text(normalize(decode(read_spec_bytes(path), path)))
    except (OSError, SpecErrors, Refused):
        return None


class PlanCache:
    def __init__(self, directory: str | Path) -> None:
        self._root = os.fspath(directory)  # (no Path: made once per spec file a collection loads)

    def _entry(self, key: str) -> str:
        # (plain strings: a warm collection asks once per spec file, and pathlib costs ~20 µs a time)
        return os.path.join(self._root, key[:2], key + ".pickle")

    def get(self, path: str, digest: str, registry: StepRegistry, *, lazy: bool = False,
            roots: SpecRoots | None = None) -> Plans | None:
        """The cached plans, or None when there is no valid entry.

        `lazy`: read only the entry's outline; scenarios read their steps when first used (:mod:`dsl.lazy`).
        `roots`: where includes may read now (a dependency outside them is a miss).
        """
        key = _key(path, digest, registry)
        entry = self._entry(key)
        try:
            chunks = seal.read_path(entry, seal.key_for(digest, key), 1 if lazy else 2)
            deps, outlines = pickle.loads(chunks[0])
            plans = None if lazy else pickle.loads(chunks[1])
        except Exception:  # missing, truncated or foreign: all simply a miss
            return None
        if not isinstance(outlines, tuple) or any(_text_digest(p, roots) != d for p, d in deps):
            return None
        if plans is None:
            return from_outline(outlines, EntryPlans(entry, path, digest, registry, roots))
        return plans if isinstance(plans, tuple) else None

    def put(self, path: str, digest: str, registry: StepRegistry, plans: Plans, deps: Deps, *,
            shared: bool = False) -> None:
        """Store plans; a cache that cannot be written is not an error (the next run parses again).

        `shared`: equal parts of `plans` are already one object (:mod:`dsl.quick` places one template per
        line), so the walk that makes them so is skipped; pickle stores each shared object once.
        """
        key = _key(path, digest, registry)
        entry = self._entry(key)
        try:
            os.makedirs(os.path.dirname(entry), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(entry), suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                # Two pickles: what collection needs, then the plans (a lazy hit reads the first only).
                seal.write(f, seal.key_for(digest, key), [
                    pickle.dumps((deps, outline(plans)), protocol=pickle.HIGHEST_PROTOCOL),
                    pickle.dumps(plans if shared else _shared(plans, {}), protocol=pickle.HIGHEST_PROTOCOL)])
            os.replace(tmp, entry)
        except OSError:
            return


_ATOMIC = (str, int, float, bool, type(None))


def _shared(obj: Any, memo: dict[tuple[Any, ...], Any]) -> Any:
    """`obj` with equal immutable parts made one object, so the pickle stores (and a hit builds) each once.

    Scenario instances of a spec repeat its setup and teardown steps, sources and quantities; sharing
    them roughly halves the objects a hit creates and the garbage collector then walks. Plans are
    frozen values (nothing mutates them), so sharing is invisible.
    """
    kind = type(obj)
    if kind in _ATOMIC:
        return obj
    if kind is tuple:
        parts: Any = tuple(_shared(v, memo) for v in obj)
        key = (kind, *map(_identity, parts))
    elif kind is dict:
        parts = {k: _shared(v, memo) for k, v in obj.items()}
        key = (kind, *((k, _identity(v)) for k, v in parts.items()))
    elif isinstance(obj, msgspec.Struct):
        state = {k: _shared(getattr(obj, k), memo) for k in obj.__struct_fields__}
        key = (kind, *((k, _identity(v)) for k, v in state.items()))
        if key in memo:
            return memo[key]
        changed = {k: v for k, v in state.items() if v is not getattr(obj, k)}
        parts = msgspec.structs.replace(obj, **changed) if changed else obj
    elif dataclasses.is_dataclass(obj) and hasattr(obj, "__dict__"):
        state = {k: _shared(v, memo) for k, v in vars(obj).items()}
        key = (kind, *((k, _identity(v)) for k, v in state.items()))
        if key in memo:
            return memo[key]
        parts = obj
        if any(state[k] is not v for k, v in vars(obj).items()):
            parts = object.__new__(kind)
            parts.__dict__.update(state)  # frozen: the way pickle itself rebuilds an instance
    else:
        return obj
    return memo.setdefault(key, parts)


def _identity(value: Any) -> Any:
    """A memo key part: atoms by type and value (1, 1.0 and True differ; so do 0.0 and -0.0), else the
    already shared object by id."""
    kind = type(value)
    if kind is float:
        return (kind, value.hex())
    if kind in _ATOMIC:
        return (kind, value)
    return id(value)


def dependencies(includes: Includes, own: str) -> Deps | None:
    """(path, text digest) of every file read for includes, as parsed; None if one failed to parse."""
    deps = []
    for p in includes.paths():
        if os.path.normpath(p) == os.path.normpath(own):
            continue
        spec_file = includes.loaded(p)
        if spec_file is None:
            return None
        deps.append((p, spec_file.sha256))
    return tuple(deps)
