"""chargespec's spec language: parse, check and compile acceptance specs into plans.

    from dsl import load, check_paths
    plans = load("specs/smart-charging/tx-profile.spec")       # raises SpecErrors
    for error in check_paths(["specs"]):                        # every error of every file
        print(error.render())

`dsl` imports nothing else of chargespec, and nothing of pytest, OCPP or instruments.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsl.errors import SpecError, SpecErrors, sort_errors

if TYPE_CHECKING:
    from dsl import ast, plan
    from dsl.compiler import analyze as analyze
    from dsl.confine import SpecRoots
    from dsl.includes import Includes
    from dsl.steps import StepDef, StepRegistry, builtin_registry
    from dsl.text import decode

# Lark, the grammar, the checker and the step registry load on first use, not on `import dsl`: a
# collection served wholly from the plan cache never needs them (see _LAZY and __getattr__ below).
_LAZY = {
    "analyze": "dsl.compiler",
    "Includes": "dsl.includes",
    "StepDef": "dsl.steps",
    "StepRegistry": "dsl.steps",
    "builtin_registry": "dsl.steps",
    "decode": "dsl.text",
}


def __getattr__(name: str) -> Any:
    """Lazy names and submodules (``dsl.ast``, ``dsl.steps`` ...), imported once and then kept."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"dsl.{name}") is not None:
        value = importlib.import_module(f"dsl.{name}")
    else:
        raise AttributeError(f"module 'dsl' has no attribute {name!r}")
    globals()[name] = value
    return value


PLAN_CACHE_ENV = "CHARGESPEC_PLAN_CACHE"

__all__ = [
    "PLAN_CACHE_ENV",
    "SpecError",
    "SpecErrors",
    "StepDef",
    "StepRegistry",
    "builtin_registry",
    "check",
    "check_paths",
    "compile",
    "decode",
    "load",
    "parse",
]


def parse(text: str, file: str) -> ast.SpecFile:
    """Parse spec text; raises SpecErrors naming every syntax error."""
    from dsl.parser import parse as parse_text

    return parse_text(text, file)


def check(spec_file: ast.SpecFile, registry: StepRegistry | None = None, *,
          includes: Includes | None = None) -> list[SpecError]:
    """Every error in a parsed file (names, units, dimensions, examples, windows), in file order."""
    return _lazy("analyze")(spec_file, registry, includes)[1]


def compile(spec_file: ast.SpecFile, registry: StepRegistry | None = None, *,
            includes: Includes | None = None) -> tuple[plan.SpecPlan, ...]:
    """One SpecPlan per spec in the file; raises SpecErrors if the file has any error."""
    plans, errors = _lazy("analyze")(spec_file, registry, includes)
    if errors:
        raise SpecErrors(errors)
    return plans


def load(path: str | Path, registry: StepRegistry | None = None, *,
         includes: Includes | None = None, include_root: str | Path | None = None,
         cache_dir: str | Path | None = None, lazy: bool = False) -> tuple[plan.SpecPlan, ...]:
    """Read, parse, check and compile one spec file; raises SpecErrors (also for unreadable files).

    With `cache_dir` (or, when it is None, the directory in $CHARGESPEC_PLAN_CACHE) the compiled plans
    are cached there, keyed by the file's bytes, the dsl version, the registry and included files
    (see :mod:`dsl.cache`); files with errors are never cached. A plain file is compiled from statement
    templates (:mod:`dsl.quick`), anything else parsed whole. `lazy`: each scenario's params, steps and
    source are made when first used, from the cache entry on a hit, from the templates for a plain file
    (:mod:`dsl.lazy`; what pytest's collection does, which needs only names and tags). The file is
    checked whole either way.

    Includes read only under the file's folder, or under `include_root` too when given (e.g. the
    project's root; see :mod:`dsl.confine`); `includes` brings its own roots.
    """
    from dsl.confine import Refused, SpecRoots, read_spec_bytes
    from dsl.text import sha256_bytes

    name = str(path)
    registry = registry if registry is not None else _lazy("builtin_registry")()
    cache_dir = cache_dir or os.environ.get(PLAN_CACHE_ENV) or None
    try:
        data = read_spec_bytes(name)
    except (OSError, Refused) as e:
        raise SpecErrors([_unreadable(name, e)]) from None
    digest = sha256_bytes(data)
    if includes is not None and includes.roots is None:
        includes.roots = SpecRoots.around(name, include_root)
    cache = None
    if cache_dir:  # (without a cache, a file the quick path takes needs neither the cache code nor roots)
        from dsl.cache import PlanCache

        cache = PlanCache(cache_dir)
        cached = cache.get(name, digest, registry, lazy=lazy, roots=_roots(includes, name, include_root))
        if cached is not None:
            return cached
    # A cache to fill needs whole plans; otherwise a lazy caller gets steps placed when first used.
    plans = _quick(data, name, digest, registry, lazy=lazy and cache is None)
    if plans is not None:
        if cache is not None:
            cache.put(name, digest, registry, plans, (), shared=True)  # (a quick file includes nothing)
        return plans
    roots = _roots(includes, name, include_root)
    spec_file, errors = _parse_bytes(data, name)
    if spec_file is None:
        raise SpecErrors(errors)
    includes = includes or _lazy("Includes")(roots)  # (its files are a cache entry's dependencies)
    plans, more = _lazy("analyze")(spec_file, registry, includes)
    if errors or more:
        raise SpecErrors(sort_errors([*errors, *more]))
    if cache is not None:
        from dsl.cache import dependencies

        deps = dependencies(includes, name)
        if deps is not None:
            cache.put(name, digest, registry, plans, deps)
    return plans


def check_paths(paths: Iterable[str | Path], registry: StepRegistry | None = None, *,
                include_root: str | Path | None = None) -> list[SpecError]:
    """Every error in every ``*.spec`` file under `paths` (files or directories), in file order.

    Each path is the spec root of its files: includes read only under it (a file's own folder for a
    file given alone), or under `include_root` too when given (see :mod:`dsl.confine`).
    """
    from dsl.confine import Refused, SpecRoots, read_spec_bytes

    analyze_file = _lazy("analyze")
    errors: list[SpecError] = []
    resolvers: dict[SpecRoots, Includes] = {}  # one per root: a file included twice is read once
    for given, file in _spec_files(paths):
        roots = SpecRoots.of(given, include_root) if given is not None else SpecRoots.around(file, include_root)
        includes = resolvers.setdefault(roots, _lazy("Includes")(roots))
        try:
            data = read_spec_bytes(file)
        except (OSError, Refused) as e:
            errors.append(_unreadable(file, e))
            continue
        if _quick(data, file, "", registry or _lazy("builtin_registry")()) is not None:
            continue  # clean
        spec_file, syntax = _parse_bytes(data, file)
        errors.extend(syntax)
        if spec_file is not None:
            errors.extend(analyze_file(spec_file, registry, includes)[1])
    return sort_errors(errors)


def _roots(includes: Includes | None, name: str, include_root: str | Path | None) -> SpecRoots:
    """Where the file's includes are read from: the resolver's roots, else the file's own (see load)."""
    if includes is not None and includes.roots:
        return includes.roots
    folder = os.path.dirname(name) or "."
    root = None if include_root is None else os.fspath(include_root)
    try:
        cwd = os.getcwd()  # (relative names are decided against it)
    except OSError:
        return _around.__wrapped__(folder, root, "")
    return _around(folder, root, cwd)


@functools.lru_cache(maxsize=256)
def _around(folder: str, include_root: str | None, cwd: str) -> SpecRoots:
    """A spec folder's roots, once per folder and working directory (every file of a collection asks:
    deciding them takes ~5 µs, most of a warm cache hit's own work besides reading)."""
    from dsl.confine import SpecRoots

    return SpecRoots.of(folder, include_root)


def _lazy(name: str) -> Any:
    """A lazy name as the module holds it now (so a test's monkeypatch of ``dsl.analyze`` is honoured)."""
    return globals()[name] if name in globals() else __getattr__(name)


def _unreadable(name: str, e: Exception) -> SpecError:
    from dsl.parser import error_at

    reason = e.message if hasattr(e, "message") else getattr(e, "strerror", None) or e
    return error_at(name, [""], 1, 1, f"cannot read spec file: {reason}", getattr(e, "hint", None))


def _quick(data: bytes, name: str, digest: str, registry: StepRegistry, *,
           lazy: bool = False) -> tuple[plan.SpecPlan, ...] | None:
    """The plans of a plain, clean file from statement templates (:mod:`dsl.quick`), or None."""
    from dsl.quick import compile_text
    from dsl.text import normalize

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return compile_text(normalize(text), name, digest, registry, lazy=lazy)


def _parse_bytes(data: bytes, name: str) -> tuple[ast.SpecFile | None, list[SpecError]]:
    import msgspec

    from dsl.parser import parse_partial
    from dsl.text import decode, sha256_bytes

    try:
        text = decode(data, name)
    except SpecErrors as e:
        return None, list(e.errors)
    spec_file, errors = parse_partial(text, name)
    if spec_file is not None:
        spec_file = msgspec.structs.replace(spec_file, sha256=sha256_bytes(data))  # the file's bytes, as stored
    return spec_file, errors


def _spec_files(paths: Iterable[str | Path]) -> list[tuple[str | None, str]]:
    """(the directory given, or None for a file given alone; the file) for every spec file to check."""
    files: list[tuple[str | None, str]] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend((str(path), str(f)) for f in sorted(path.rglob("*.spec")))
        else:
            files.append((None, str(path)))
    return files
