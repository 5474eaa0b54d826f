"""Plans served from the plan cache whose scenario steps are read when first used, not at collection.

Collecting a spec library needs each scenario's name and tags, nothing of its steps; the steps, their
sources and quantities are most of a plan's objects, and every object loaded at collection is walked
by the garbage collector for the rest of the process. So a cache entry starts with an *outline* (every
field of each SpecPlan but its excerpt, the spec's text for evidence, which is most of the outline's
bytes; and the title, name, refs and tags of each ScenarioPlan) and ends with the full plans;
``dsl.load(path, cache_dir=..., lazy=True)`` reads only the outline::

    (spec,) = dsl.load("specs/x.spec", cache_dir=".cache", lazy=True)
    spec.scenarios[0].name          # from the outline
    spec.scenarios[0].steps         # reads the full plans of the file (once) and fills the scenario in

:mod:`dsl.quick` makes LazyScenarioPlans too, placing a plain file's statement templates on first use.

A :class:`LazyScenarioPlan` is a ScenarioPlan and a :class:`LazySpecPlan` a SpecPlan (isinstance holds,
equality and pickling are those of the filled-in plan). If the entry vanished before the steps were read,
the file is compiled again, and an edited file (its bytes no longer those collected) is an error, not a
silently different plan.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Protocol

from dsl.plan import ScenarioPlan, Source, SpecPlan

if TYPE_CHECKING:
    from dsl.confine import SpecRoots
    from dsl.steps import StepRegistry

# Fields a LazyScenarioPlan holds from the start; the others are read from the full plan when asked for.
_EAGER = ("spec_title", "name", "refs", "tags")
_DEFERRED = frozenset({"params", "setup", "steps", "teardown", "source"})

# An outline as stored: plain tuples of strings (the collector does not track those; objects would be).
SpecOutline = tuple[Any, ...]


def outline(plans: tuple[SpecPlan, ...]) -> tuple[SpecOutline, ...]:
    """What collection needs of `plans`, as tuples (see :func:`from_outline`)."""
    return tuple(
        (p.title, p.file, p.version, p.refs, p.tags, p.sha256,
         (p.source.file, p.source.line, p.source.column, p.source.text),
         tuple(tuple(getattr(s, f) for f in _EAGER) for s in p.scenarios))
        for p in plans
    )


class FullPlans(Protocol):
    """Where a lazy plan's full plans come from: a cache entry, or a file's statement templates."""

    path: str

    def plans(self) -> tuple[SpecPlan, ...]: ...


class EntryPlans:
    """The full plans of one cache entry, read on first use and then kept."""

    def __init__(self, entry: str, path: str, sha256: str, registry: StepRegistry,
                 roots: SpecRoots | None = None) -> None:
        self.entry, self.path, self.sha256, self.registry = entry, path, sha256, registry
        self.roots = roots  # where the file's includes were read from (compiled again under the same)
        self._plans: tuple[SpecPlan, ...] | None = None

    def plans(self) -> tuple[SpecPlan, ...]:
        if self._plans is None:
            self._plans = self._read()
        return self._plans

    def _read(self) -> tuple[SpecPlan, ...]:
        try:
            import pickle  # (here: a cold collection makes lazy plans from templates and never unpickles)

            from dsl import seal

            key = os.path.basename(self.entry).removesuffix(".pickle")
            plans = pickle.loads(seal.read_path(self.entry, seal.key_for(self.sha256, key), 2)[1])  # 0: outline
            if isinstance(plans, tuple) and all(p.sha256 == self.sha256 for p in plans):
                return plans
        except Exception:  # gone, truncated or foreign (a cleared cache): compile the file again
            pass
        import dsl

        plans = dsl.load(self.path, self.registry, includes=dsl.Includes(self.roots) if self.roots else None)
        if any(p.sha256 != self.sha256 for p in plans):
            raise RuntimeError(f"{self.path}: the spec file changed after it was collected; "
                               "run pytest again to collect the new version")
        return plans


class _Deferred:
    """What a lazy plan does: the fields in `_deferred` are read from the full plan on first access (all at
    once), and then it is that plan in all but its class (equal to it, pickled and hashed as it)."""

    _entry: FullPlans
    _index: Any
    _deferred: frozenset[str]
    _plain: type

    def _full(self) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes not set yet: the deferred fields before the first read.
        if name not in self._deferred or "_entry" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        full = self._full()
        for field in self._deferred:
            object.__setattr__(self, field, getattr(full, field))
        del self.__dict__["_entry"], self.__dict__["_index"]
        return getattr(self, name)

    def filled(self) -> Any:
        """The equal plain plan (reads the deferred fields)."""
        return self._plain(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self._plain)})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, self._plain):
            return self.filled() == (other.filled() if isinstance(other, _Deferred) else other)
        return NotImplemented

    def __reduce__(self) -> tuple[Any, ...]:
        return self.filled().__reduce__()


class LazyScenarioPlan(_Deferred, ScenarioPlan):
    """A ScenarioPlan whose params, steps and source come from its cache entry on first access."""

    _index: tuple[int, int]
    _deferred = _DEFERRED
    _plain = ScenarioPlan

    @classmethod
    def deferred(cls, fields: tuple[Any, ...], entry: FullPlans, index: tuple[int, int]) -> LazyScenarioPlan:
        self = object.__new__(cls)
        # (one dict update instead of a frozen __setattr__ per field: collection makes one per scenario)
        self.__dict__.update(zip(_EAGER, fields, strict=True), _entry=entry, _index=index)
        return self

    def _full(self) -> ScenarioPlan:
        spec_index, scenario_index = self._index
        full = self._entry.plans()[spec_index].scenarios[scenario_index]
        if full.name != self.name:
            raise RuntimeError(f"{self._entry.path}: scenario {self.name!r} is not where it was collected; "
                               "run pytest again")
        return full

    __hash__ = ScenarioPlan.__hash__


class _Unfilled:
    """A deferred field that has a class-level default in the plain plan (which would be found before
    ``__getattr__`` is asked): read through the deferral until the instance holds its own value."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: _Deferred | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.__getattr__(self.name)  # (once filled, the instance's own value is found first)


class LazySpecPlan(_Deferred, SpecPlan):
    """A SpecPlan whose excerpt (the spec's text, which evidence shows) comes from its cache entry when first
    read; every other field is there from the start."""

    _index: int
    _deferred = frozenset({"excerpt"})
    _plain = SpecPlan
    excerpt = _Unfilled()  # type: ignore[assignment]

    @classmethod
    def deferred(cls, fields: dict[str, Any], entry: FullPlans, index: int) -> LazySpecPlan:
        self = object.__new__(cls)
        self.__dict__.update(fields, _entry=entry, _index=index)
        return self

    def _full(self) -> SpecPlan:
        full = self._entry.plans()[self._index]
        if full.title != self.title:
            raise RuntimeError(f"{self._entry.path}: spec {self.title!r} is not where it was collected; "
                               "run pytest again")
        return full

    __hash__ = SpecPlan.__hash__


def from_outline(outlines: tuple[SpecOutline, ...], entry: EntryPlans) -> tuple[SpecPlan, ...]:
    """LazySpecPlans (the excerpt read from `entry` when used) whose scenarios are LazyScenarioPlans."""
    plans = []
    for i, (title, file, version, refs, tags, sha256, src, scenarios) in enumerate(outlines):
        plans.append(LazySpecPlan.deferred(dict(
            title=title, file=file, version=version, refs=refs, tags=tags,
            scenarios=tuple(LazyScenarioPlan.deferred(s, entry, (i, j)) for j, s in enumerate(scenarios)),
            source=Source(*src), sha256=sha256,
        ), entry, i))
    return tuple(plans)
