"""Naming a station on a bench of several: the trailing `on station NAME` of a statement or a signal.

    ev plugs in on station TWIN-B                    -> (ev plugs in, "TWIN-B")
    ev requests 16 A on evse 2 of station right      -> (ev requests 16 A on evse 2, "right")
    session starts with token "04A2B3C4" on station "TWIN-AC22-002"   (statements may quote the id)
    analyzer power on evse 2 of station right        -> (analyzer power on evse 2, "right")
    expect charger sends StatusNotification {…} on station right     (message lines too: message_station)
    station power on station right                   -> the sum over the EVSEs of that station

NAME is a station's id or its alias from the bench file (``alias = "right"``). Signals take a word (the
grammar reads no quoted string in a signal), so a station whose id is not a word (``TWIN-AC22-001``) is
named in signals by its alias. Without the suffix a line means what it always meant: the scenario's
station (a one-station bench's only one; on a bench of several, the first, or the one a parallel worker
owns). Whether NAME exists is known where the bench is: ``chargespec check --bench FILE`` and the run
(a usage error naming the bench's stations, never a verdict on the charger).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from dsl import ast
from dsl.errors import ErrorSink
from dsl.plan import Action, Source
from dsl.render import render_atoms

# Words a person may put before "station" instead of "on" (a near miss gets the right form as its hint).
_NEAR_PREPOSITIONS = frozenset({"at", "in", "for", "from", "to", "of"})


def word_text(a: ast.Atom) -> str:
    return a.text if isinstance(a, ast.Word) else ""


def split_station(atoms: ast.Atoms, sink: ErrorSink, *, quoted: bool) -> tuple[ast.Atoms, str | None] | None:
    """The atoms without a trailing station suffix and the station named (None: none named), or None after
    reporting a malformed suffix. `quoted`: whether the name may be a quoted string (statements)."""
    # The word "station" after the first atom marks a suffix ("station" first is a station sum's source).
    at = next((i for i in range(1, len(atoms)) if word_text(atoms[i]) in ("station", "stations")), None)
    if at is None:
        return atoms, None
    said = render_atoms(atoms[at - 1:])
    name_atoms = atoms[at + 1:]
    name: str | None = None
    if len(name_atoms) == 1 and isinstance(name_atoms[0], ast.Word):
        name = name_atoms[0].text
    elif len(name_atoms) == 1 and isinstance(name_atoms[0], ast.String) and quoted:
        name = name_atoms[0].value
    example = 'on station "TWIN-B"' if quoted else "on station TWIN-B"
    if name is None:
        if len(name_atoms) == 1 and isinstance(name_atoms[0], ast.String):
            sink.at(name_atoms[0], "a station in a signal is named by a word, not a quoted string",
                    f"write on station {name_atoms[0].value} (an id that is no word: its alias from the bench file)")
        else:
            sink.at(atoms[at], f'"{said}" does not name a station',
                    f"end the line with {example}: the station's id or its alias from the bench file")
        return None
    if word_text(atoms[at]) == "stations":
        sink.at(atoms[at], '"stations" names several', f'write "station" ({example})')
        return None
    before = word_text(atoms[at - 1])
    if before == "has" and at == 2 and word_text(atoms[0]) == "bench":
        return atoms, None  # `bench has station NAME`: a requirement of the scenario, not a suffix
    evse = at >= 4 and word_text(atoms[at - 4]) == "on" and word_text(atoms[at - 3]) == "evse"
    if before == "of" and evse:
        return atoms[:at - 1], name  # `on evse 2 of station B`
    if before == "on" and at >= 2:
        if evse:  # `on evse 2 on station B`
            sink.at(atoms[at - 1], 'the EVSE of a named station is written "on evse N of station NAME"',
                    f'write "{render_atoms(atoms[at - 4:at - 1])} of station {render_atoms(name_atoms)}"')
            return None
        return atoms[:at - 1], name
    if before in _NEAR_PREPOSITIONS:
        sink.at(atoms[at - 1], f'a station is named with "on station", not "{before} station"',
                f"write on station {render_atoms(name_atoms)}")
        return None
    sink.at(atoms[at], f'"{said}" does not name a station',
            f"end the line with {example}: the station's id or its alias from the bench file")
    return None


def message_station(message: ast.Word, place: ast.Atoms, sink: ErrorSink, *,
                    expected: str = "the end of the line") -> tuple[bool, str | None]:
    """The station a message line names after its message (`expect charger sends A {…} on station right`,
    `expect no A for 10 s on station right`, `remember … as "tx" on station right`): (True, None) for none,
    (True, NAME), or (False, None) after reporting words that are no station suffix. `message` is the
    line's message name, the anchor split_station reads the suffix after; `expected`, what the line could
    have held there instead, for words that say nothing of a station (worded as the parser's syntax errors)."""
    if not place:
        return True, None
    if not any(word_text(a) in ("station", "stations") for a in place):  # no station meant: a plain syntax error
        sink.at(place[0], f'unexpected "{render_atoms(place[:1])}"', f"expected one of {expected}")
        return False, None
    named = split_station((message, *place), sink, quoted=True)
    if named is None:
        return False, None
    rest, name = named
    if len(rest) > 1:  # words that name no station: `on evse 2 of station B`, `for 10 s`, …
        said = render_atoms(rest[1:])
        hint = ("a message names its EVSE in its field object ({evseId: 2}); end the line with on station NAME"
                if any(word_text(a) == "evse" for a in rest) else
                "a message line may end with on station NAME (the station's id or its alias)")
        sink.at(rest[1], f'"{said}" after the message is not understood', hint)
        return False, None
    return True, name


REQUIRE_STEPS = ("bench.has_station", "bench.has_station_id")


def required_evses(steps: Iterable[Any]) -> set[tuple[str | None, int]]:
    """The EVSEs a scenario requires (`bench has evse N [on station NAME]`), each with its station (None: the
    scenario's own): on a bench whose station has fewer it is skipped."""
    return {(s.station, int(s.args["evse"])) for s in steps if isinstance(s, Action) and s.step == "bench.has_evse"}


def required_stations(steps: Iterable[Any]) -> set[str]:
    """The stations a scenario requires (`bench has station NAME`): on a bench without one it is skipped."""
    return {str(s.args["name"]) for s in steps if isinstance(s, Action) and s.step in REQUIRE_STEPS}


def named_stations(steps: Iterable[Any]) -> list[tuple[str, Source | None]]:
    """Every station the steps name (`on station NAME`), each with the line of the step that names it, in
    order, once per name: what the runner resolves against the bench before the scenario starts."""
    out: dict[str, Source | None] = {}

    def walk(node: Any, source: Source | None) -> None:
        if isinstance(node, tuple | list):
            for item in node:
                walk(item, source)
            return
        if not isinstance(node, msgspec.Struct) or isinstance(node, Source):
            return
        source = getattr(node, "source", None) if isinstance(getattr(node, "source", None), Source) else source
        station = getattr(node, "station", None)  # (Action, Signal, and the message lines' steps)
        if isinstance(station, str):
            out.setdefault(station, source)
        for name in node.__struct_fields__:
            walk(getattr(node, name), source)

    walk(tuple(steps), None)
    return list(out.items())
