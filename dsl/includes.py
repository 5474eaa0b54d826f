"""Shared setup blocks: ``include setup "plugged in" from "common/setup.spec"``.

A file may define top-level ``setup "<name>"`` blocks; specs include them by name, from the same file
(no ``from``) or from a path relative to the including file. Each file is read and parsed once.

Included files are confined (:mod:`dsl.confine`): relative ``.spec`` paths under the spec root, regular
files of at most 1 MiB. Each refusal is an error at the path string, and a refused file is never read::

    includes = Includes(SpecRoots.of("specs"))            # or Includes(): the first file's folder
"""

from __future__ import annotations

import os

from dsl import ast
from dsl.confine import Refused, SpecRoots, read_spec_bytes
from dsl.errors import ErrorSink, SpecError, SpecErrors
from dsl.suggest import did_you_mean
from dsl.text import decode

_RELATIVE = "paths are relative to the including file"


def read_file(path: str) -> str:
    """Read a spec file as text (confined reading: a regular file within the size cap).

    Raises SpecErrors for undecodable bytes, :class:`~dsl.confine.Refused` or OSError when unreadable.
    """
    return decode(read_spec_bytes(path), path)


class Includes:
    """Finds named setup blocks across files, reading only what `roots` allow.

    Without `roots`, the root is the folder of the first file registered (:func:`dsl.compiler.analyze`
    registers the file it checks first), so a spec checked alone includes only from under its folder.
    """

    def __init__(self, roots: SpecRoots | None = None) -> None:
        self.roots = roots
        self._files: dict[str, ast.SpecFile | None] = {}
        self._errors: dict[str, list[SpecError]] = {}

    def add(self, spec_file: ast.SpecFile) -> None:
        """Register an already parsed file, so including it does not read it again."""
        if self.roots is None:
            self.roots = SpecRoots.around(spec_file.file)
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
            target = self._load(include, including, sink)
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

    def _load(self, include: ast.Include, including: ast.SpecFile, sink: ErrorSink) -> ast.SpecFile | None:
        assert include.path is not None
        written = include.path.value
        if self.roots is None:
            self.roots = SpecRoots.around(including.file)
        try:
            path = self.roots.locate(including.file, written)
        except Refused as e:
            sink.at(include.path, e.message, e.hint)
            return None
        if path not in self._files:
            try:
                text = read_file(path)
            except SpecErrors as e:
                self._files[path], self._errors[path] = None, list(e.errors)
            except Refused as e:
                sink.at(include.path, f'cannot include "{written}": {e.message}', e.hint)
                return None
            except OSError as e:
                sink.at(include.path, f'cannot read included file "{written}" ({path}): {e.strerror or e}',
                        _RELATIVE)
                return None
            else:
                from dsl.parser import parse_partial  # (Lark: only when a file really includes one)

                spec_file, errors = parse_partial(text, path)
                self._files[path], self._errors[path] = spec_file, errors
            # The included file's own mistakes are reported once, where they are.
            sink.extend(self._errors.get(path, []))
        spec_file = self._files[path]
        if spec_file is None:
            sink.at(include.path, f'included file "{written}" has syntax errors')
        return spec_file
