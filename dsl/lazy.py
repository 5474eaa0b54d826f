"""Plans served from the plan cache whose scenario steps are read when first used, not at collection.

Collecting a spec library needs each scenario's name and tags, nothing of its steps; the steps, their
sources and quantities are most of a plan's objects, and every object loaded at collection is walked
by the garbage collector for the rest of the process. So a cache entry starts with an *outline* (every
field of each SpecPlan, and the title, name, refs and tags of each ScenarioPlan) and ends with the
full plans; ``dsl.load(path, cache_dir=..., lazy=True)`` reads only the outline::

    (spec,) = dsl.load("specs/x.spec", cache_dir=".cache", lazy=True)
    spec.scenarios[0].name          # from the outline
    spec.scenarios[0].steps         # reads the full plans of the file (once) and fills the scenario in

:mod:`dsl.quick` makes LazyScenarioPlans too, placing a plain file's statement templates on first use.

A :class:`LazyScenarioPlan` is a ScenarioPlan (isinstance holds, equality and pickling are those of the
filled-in plan). If the entry vanished before the steps were read, the file is compiled again, and an
edited file (its bytes no longer those collected) is an error, not a silently different plan.
"""

from __future__ import annotations

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
        (p.title, p.file, p.version, p.refs, p.tags, p.excerpt, p.sha256,
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
            with open(self.entry, "rb") as f:
                plans = pickle.loads(seal.read(f, seal.key_for(self.sha256, key), 2)[1])  # 0: the outline
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


class LazyScenarioPlan(ScenarioPlan):
    """A ScenarioPlan whose params, steps and source come from its cache entry on first access."""

    _entry: FullPlans
    _index: tuple[int, int]

    @classmethod
    def deferred(cls, fields: tuple[Any, ...], entry: FullPlans, index: tuple[int, int]) -> LazyScenarioPlan:
        self = object.__new__(cls)
        # (one dict update instead of a frozen __setattr__ per field: collection makes one per scenario)
        self.__dict__.update(zip(_EAGER, fields, strict=True), _entry=entry, _index=index)
        return self

    def __getattr__(self, name: str) -> Any:
        # Called only for attributes not set yet: the deferred fields before the first read.
        if name not in _DEFERRED or "_entry" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        spec_index, scenario_index = self._index
        full = self._entry.plans()[spec_index].scenarios[scenario_index]
        if full.name != self.name:
            raise RuntimeError(f"{self._entry.path}: scenario {self.name!r} is not where it was collected; "
                               "run pytest again")
        for field in _DEFERRED:
            object.__setattr__(self, field, getattr(full, field))
        del self.__dict__["_entry"], self.__dict__["_index"]
        return getattr(self, name)

    def filled(self) -> ScenarioPlan:
        """The equal plain ScenarioPlan (reads the deferred fields)."""
        values = {f: getattr(self, f) for f in (*_EAGER, *_DEFERRED)}
        return ScenarioPlan(**values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScenarioPlan):
            return self.filled() == (other.filled() if isinstance(other, LazyScenarioPlan) else other)
        return NotImplemented

    __hash__ = ScenarioPlan.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return self.filled().__reduce__()


def from_outline(outlines: tuple[SpecOutline, ...], entry: EntryPlans) -> tuple[SpecPlan, ...]:
    """SpecPlans with every field, whose scenarios are LazyScenarioPlans reading `entry` when used."""
    plans = []
    for i, (title, file, version, refs, tags, excerpt, sha256, src, scenarios) in enumerate(outlines):
        plans.append(SpecPlan(
            title=title, file=file, version=version, refs=refs, tags=tags,
            scenarios=tuple(LazyScenarioPlan.deferred(s, entry, (i, j)) for j, s in enumerate(scenarios)),
            source=Source(*src), excerpt=excerpt, sha256=sha256,
        ))
    return tuple(plans)
