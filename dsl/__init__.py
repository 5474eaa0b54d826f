"""chargespec's spec language: parse, check and compile acceptance specs into plans.

    from dsl import load, check_paths
    plans = load("specs/smart-charging/tx-profile.spec")       # raises SpecErrors
    for error in check_paths(["specs"]):                        # every error of every file
        print(error.render())

`dsl` imports nothing else of chargespec, and nothing of pytest, OCPP or instruments.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

from dsl import ast, plan
from dsl.cache import PlanCache, dependencies
from dsl.compiler import analyze
from dsl.errors import SpecError, SpecErrors, sort_errors
from dsl.includes import Includes
from dsl.parser import decode, error_at, parse_partial, sha256_bytes
from dsl.parser import parse as _parse
from dsl.steps import StepDef, StepRegistry, builtin_registry

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
    return _parse(text, file)


def check(spec_file: ast.SpecFile, registry: StepRegistry | None = None, *,
          includes: Includes | None = None) -> list[SpecError]:
    """Every error in a parsed file (names, units, dimensions, examples, windows), in file order."""
    return analyze(spec_file, registry, includes)[1]


def compile(spec_file: ast.SpecFile, registry: StepRegistry | None = None, *,
            includes: Includes | None = None) -> tuple[plan.SpecPlan, ...]:
    """One SpecPlan per spec in the file; raises SpecErrors if the file has any error."""
    plans, errors = analyze(spec_file, registry, includes)
    if errors:
        raise SpecErrors(errors)
    return plans


def load(path: str | Path, registry: StepRegistry | None = None, *,
         includes: Includes | None = None,
         cache_dir: str | Path | None = None) -> tuple[plan.SpecPlan, ...]:
    """Read, parse, check and compile one spec file; raises SpecErrors (also for unreadable files).

    With `cache_dir` (or, when it is None, the directory in $CHARGESPEC_PLAN_CACHE) the compiled plans
    are cached there, keyed by the file's bytes, the dsl version, the registry and included files
    (see :mod:`dsl.cache`); files with errors are never cached.
    """
    name = str(path)
    registry = registry if registry is not None else builtin_registry()
    cache_dir = cache_dir or os.environ.get(PLAN_CACHE_ENV) or None
    cache = PlanCache(cache_dir) if cache_dir else None
    try:
        data = Path(name).read_bytes()
    except OSError as e:
        raise SpecErrors([error_at(name, [""], 1, 1, f"cannot read spec file: {e.strerror or e}", None)]) from None
    digest = sha256_bytes(data)
    if cache is not None:
        cached = cache.get(name, digest, registry)
        if cached is not None:
            return cached
        includes = includes or Includes()  # its files are the entry's dependencies
    spec_file, errors = _parse_bytes(data, name)
    if spec_file is None:
        raise SpecErrors(errors)
    plans, more = analyze(spec_file, registry, includes)
    if errors or more:
        raise SpecErrors(sort_errors([*errors, *more]))
    if cache is not None and includes is not None:
        deps = dependencies(includes, name)
        if deps is not None:
            cache.put(name, digest, registry, plans, deps)
    return plans


def check_paths(paths: Iterable[str | Path], registry: StepRegistry | None = None) -> list[SpecError]:
    """Every error in every ``*.spec`` file under `paths` (files or directories), in file order."""
    includes = Includes()
    errors: list[SpecError] = []
    for file in _spec_files(paths):
        spec_file, syntax = _read_and_parse(file)
        errors.extend(syntax)
        if spec_file is not None:
            errors.extend(analyze(spec_file, registry, includes)[1])
    return sort_errors(errors)


def _read_and_parse(name: str) -> tuple[ast.SpecFile | None, list[SpecError]]:
    try:
        data = Path(name).read_bytes()
    except OSError as e:
        return None, [error_at(name, [""], 1, 1, f"cannot read spec file: {e.strerror or e}", None)]
    return _parse_bytes(data, name)


def _parse_bytes(data: bytes, name: str) -> tuple[ast.SpecFile | None, list[SpecError]]:
    try:
        text = decode(data, name)
    except SpecErrors as e:
        return None, list(e.errors)
    spec_file, errors = parse_partial(text, name)
    if spec_file is not None:
        spec_file = dataclasses.replace(spec_file, sha256=sha256_bytes(data))  # the file's bytes, as stored
    return spec_file, errors


def _spec_files(paths: Iterable[str | Path]) -> list[str]:
    files: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend(str(f) for f in sorted(path.rglob("*.spec")))
        else:
            files.append(str(path))
    return files
