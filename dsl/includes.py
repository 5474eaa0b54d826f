"""Shared setup blocks: ``include setup "plugged in" from "common/setup.spec"``.

A file may define top-level ``setup "<name>"`` blocks; specs include them by name, from the same file
(no ``from``) or from a path relative to the including file. Each file is read and parsed once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from dsl import ast
from dsl.errors import ErrorSink, SpecError
from dsl.parser import decode, parse_partial
from dsl.suggest import did_you_mean


def read_file(path: str) -> str:
    """Read a spec file as text; undecodable bytes raise SpecErrors."""
    return decode(Path(path).read_bytes(), path)


class Includes:
    """Finds named setup blocks across files. `read` maps a path to its text (the disk by default)."""

    def __init__(self, read: Callable[[str], str] | None = None) -> None:
        self._read = read or read_file
        self._files: dict[str, ast.SpecFile | None] = {}
        self._errors: dict[str, list[SpecError]] = {}

    def add(self, spec_file: ast.SpecFile) -> None:
        """Register an already parsed file, so including it does not read it again."""
        self._files.setdefault(os.path.normpath(spec_file.file), spec_file)

    def loaded(self, path: str) -> ast.SpecFile | None:
        """A file this resolver has read (or been given), by its normalised path."""
        return self._files.get(os.path.normpath(path))

    def paths(self) -> tuple[str, ...]:
        """Every file this resolver has read or been given (normalised paths), e.g. for cache keys."""
        return tuple(self._files)

    def resolve(self, include: ast.Include, including: ast.SpecFile,
                sink: ErrorSink) -> ast.NamedSetup | None:
        """The named setup `include` refers to, or None after reporting why it cannot be found."""
        if include.path is None:
            target: ast.SpecFile | None = including
        else:
            path = os.path.normpath(os.path.join(os.path.dirname(including.file), include.path.value))
            target = self._load(path, include, sink)
            if target is None:
                return None
        assert target is not None
        name = include.name.value
        for setup in target.setups:
            if setup.name.value == name:
                return setup
        where = f'"{include.path.value}"' if include.path else "this file"
        names = [s.name.value for s in target.setups]
        hint = did_you_mean(name, names) or (
            "defined there: " + ", ".join(f'"{n}"' for n in names) if names
            else 'define it at the top level: setup "' + name + '"')
        sink.at(include.name, f'no setup "{name}" in {where}', hint)
        return None

    def _load(self, path: str, include: ast.Include, sink: ErrorSink) -> ast.SpecFile | None:
        assert include.path is not None
        if path not in self._files:
            from dsl.errors import SpecErrors

            try:
                text = self._read(path)
            except SpecErrors as e:
                self._files[path], self._errors[path] = None, list(e.errors)
            except OSError as e:
                sink.at(include.path, f'cannot read included file "{include.path.value}" ({path}): '
                        f"{e.strerror or e}", "paths are relative to the including file")
                return None
            else:
                spec_file, errors = parse_partial(text, path)
                self._files[path], self._errors[path] = spec_file, errors
            # The included file's own mistakes are reported once, where they are.
            sink.extend(self._errors.get(path, []))
        spec_file = self._files[path]
        if spec_file is None:
            sink.at(include.path, f'included file "{include.path.value}" has syntax errors')
        return spec_file
