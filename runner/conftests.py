"""The conftest.py files `chargespec check` imports, so that it knows the statements pytest collection knows.

A lab defines its own statements with `runner.steps.step` in a module its conftest.py imports
(docs/language.md, "Adding a statement"). pytest imports each conftest.py from its rootdir down to the folder
of every file it collects before collecting that file; `chargespec run` is pytest started in the current
directory. `check` does the same for the specs it is given: every conftest.py in the current directory
and in each folder on the way from it to each spec file. A spec outside the current directory has none
loaded for it (a file from elsewhere brings no Python that check would run), as `--no-conftest` loads none.
Each is imported as pytest's default import mode does: its folder first on sys.path.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path


class ConftestError(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot import {path} (pytest collection imports it too): {reason}")
        self.path, self.reason = path, reason


def conftests_for(paths: Iterable[str | Path], root: Path) -> list[Path]:
    """Every conftest.py pytest, started in `root`, imports before collecting the spec files under `paths`:
    from `root` down to each spec file's folder, outermost first, each once."""
    top = root.resolve()
    found: dict[Path, None] = {}
    for p in paths:
        path = Path(p).resolve()
        files = sorted(path.rglob("*.spec")) if path.is_dir() else [path]
        for folder in dict.fromkeys(f.parent for f in files):
            if not folder.is_relative_to(top):
                continue
            here = top
            for part in ("", *folder.relative_to(top).parts):
                here = here / part if part else here
                candidate = here / "conftest.py"
                if candidate.is_file():
                    found.setdefault(candidate)
    return list(found)


def load(conftests: Iterable[Path]) -> None:
    """Import each conftest.py (its @step statements join the shared step registry); ConftestError on the
    first that fails, as pytest collection stops on it (a usage error)."""
    for n, path in enumerate(conftests):
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = f"_chargespec_conftest_{n}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConftestError(path, "not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:  # (whatever the lab's code raises: reported, never a traceback)
            del sys.modules[name]
            raise ConftestError(path, f"{type(e).__name__}: {e}") from e
