"""Verdict-bearing exceptions of the runner.

- :class:`ExpectationFailed` is an ``AssertionError``: the charger did not meet a criterion (*failed*).
- :class:`BenchError` is anything else: the bench could not judge (*broken*), never a charger failure.
Both render with the spec line they belong to, the spec file named as a person finds it: relative to the
project's root (or the working directory), never by this machine's absolute path.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from dsl.plan import Source

# Where spec paths are shown from: the pytest rootdir (set by the plugin), then the working directory.
_ROOTS: list[Path] = []


def show_from(root: Path) -> None:
    """Show spec files relative to `root` from now on (the plugin passes pytest's rootdir)."""
    root = Path(root).resolve()
    if root not in _ROOTS:
        _ROOTS.insert(0, root)


def shown_file(file: str) -> str:
    """`file` as a reader finds it: relative to the project root or the working directory; outside both,
    its folder and name (the library's layout, not this machine's)."""
    p = PurePath(file)
    if not p.is_absolute():
        return file
    for root in [*_ROOTS, Path.cwd()]:
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            continue
    return "/".join(p.parts[-2:])


def where(source: Source) -> str:
    """`file:line:col` with the file as :func:`shown_file` shows it."""
    return f"{shown_file(source.file)}:{source.line}:{source.column}"


def _where(source: Source | None) -> str:
    if source is None:
        return ""
    line = source.text.strip()
    return f"{where(source)}: " + (f"`{line}`\n  " if line else "")


class _Verdict(Exception):
    """Shared by the two verdict-bearing errors: a spec line, a detail, and notes added on the way out."""

    source: Source | None
    detail: str
    footnote: str = ""

    def add_note_line(self, text: str) -> None:
        """Add a line under the message, a footnote (the judge says when t=0 was, once the verdict is known):
        the spec line and what happened stay its first lines; `detail` stays the judge's words alone."""
        self.footnote = text
        self.args = (f"{self.args[0]}\n  {text}" if self.args else text,)

    def locate(self, station: str) -> None:
        """Say which station of several the line's values came from (`on station TWIN-B (alias right)`), at
        the end of the judge's words: in `detail` (the record's message) and in the message."""
        self.detail = f"{self.detail} — {station}"
        self.args = (_where(self.source) + self.detail + (f"\n  {self.footnote}" if self.footnote else ""),)


class ExpectationFailed(_Verdict, AssertionError):
    """The charger did not meet a criterion. The message names the line, signal, bound, value and time."""

    def __init__(self, source: Source | None, message: str) -> None:
        self.source = source
        self.detail = message
        super().__init__(_where(source) + message)


class BenchError(_Verdict, RuntimeError):
    """The bench could not do or judge what a step asked (instrument, harness, twin)."""

    def __init__(self, source: Source | None, message: str) -> None:
        self.source = source
        self.detail = message
        super().__init__(_where(source) + message)


class NotSupportedByCharger(Exception):
    """The charger declares it lacks an optional feature (or, `wanted_absent`, has one the case is for chargers
    without): the scenario is skipped with `reason`, which names the feature first, then what was said."""

    def __init__(self, feature: str, said: str, *, wanted_absent: bool = False) -> None:
        self.feature = feature
        self.said = said
        self.wanted_absent = wanted_absent
        super().__init__(f"{feature} ({said})")

    @property
    def reason(self) -> str:
        lead = ("the case is for chargers without an optional feature" if self.wanted_absent
                else "charger lacks an optional feature")
        return f"{lead}: {self}"


class StationNotOnBench(NotSupportedByCharger):
    """A scenario requires a station (`bench has station NAME`) this bench lacks: skipped, not broken."""

    @property
    def reason(self) -> str:
        return f"the bench lacks a station the scenario requires: {self}"


class EvseNotOnBench(NotSupportedByCharger):
    """A scenario requires an EVSE (`bench has evse N`) its station on this bench lacks: skipped, not broken."""

    @property
    def reason(self) -> str:
        return f"the bench lacks an EVSE the scenario requires: {self}"

