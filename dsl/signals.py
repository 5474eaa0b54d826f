"""Signal names in specs -> the recorder's series keys (:class:`dsl.plan.Signal`).

    analyzer power | energy [L1|L2|L3]   -> analyzer.power, analyzer.power.L1, analyzer.energy
    analyzer current | voltage | pf L1   -> analyzer.current.L1 (these need a phase: the analyzer
                                            records no total for them)
    charger <Measurand> [phase]          -> charger.Current.Import.L1, charger.SoC
    charger energy | power | current | voltage [phase]
                                         -> aliases of Energy.Active.Import.Register,
                                            Power.Active.Import, Current.Import, Voltage
    charger status evse N                -> charger.status.evseN (a state: Available, Occupied, ...)
    ev pwm duty | ev offered current     -> ev.pwm_duty (ratio), ev.offered_current
    ev current L1|L2|L3                  -> ev.current.L1
    ... on evse N                        -> the same signal of EVSE N: analyzer.evse2.power,
                                            ev.evse2.offered_current, charger.evse2.Power.Active.Import
                                            (EVSE 1 keeps the plain key: `on evse 1` is the default)
    station power | energy               -> station.power, station.energy: the sum over every EVSE's
    station power | current L1|L2|L3        analyzer (runner/signals.py StationSum), station.current.L1
    ... on station B | on evse N of station B
                                         -> that signal of station B (id or alias; dsl/stations.py):
                                            @B.analyzer.power, @B.station.power

Ratio signals (duty, SoC) are recorded as fractions; power factor is a plain number.
"""

from __future__ import annotations

import msgspec

from dsl import ast
from dsl.errors import ErrorSink
from dsl.limits import MAX_EVSE, evse_in_range, evse_out_of_range
from dsl.plan import Signal
from dsl.render import render_atoms
from dsl.stations import split_station
from dsl.suggest import did_you_mean
from dsl.vocab import MEASURANDS, OCPP_PHASES

ANALYZER_PHASES = ("L1", "L2", "L3")
# quantity -> (dimension, has a total over all phases, recorded per phase)
ANALYZER: dict[str, tuple[str, bool, bool]] = {
    "power": ("power", True, True),
    "energy": ("energy", True, False),
    "current": ("current", False, True),
    "voltage": ("voltage", False, True),
    "pf": ("count", False, True),
}
CHARGER_ALIASES: dict[str, str] = {
    "energy": "Energy.Active.Import.Register",
    "power": "Power.Active.Import",
    "current": "Current.Import",
    "voltage": "Voltage",
}
EV: dict[tuple[str, ...], tuple[str, str]] = {
    ("pwm", "duty"): ("ev.pwm_duty", "ratio"),
    ("offered", "current"): ("ev.offered_current", "current"),
}
SOURCES = ("analyzer", "charger", "ev", "station")
# quantity -> (dimension, has a total over all phases, recorded per phase): what a station sum adds up.
STATION: dict[str, tuple[str, bool, bool]] = {
    "power": ("power", True, True),
    "energy": ("energy", True, False),
    "current": ("current", False, True),
}


def resolve(ref: ast.SignalRef, sink: ErrorSink) -> Signal | None:
    """The signal `ref` names, or None after reporting what is wrong with it."""
    named = split_station(ref.atoms, sink, quoted=False)
    if named is None:
        return None
    if named[1] is None:
        return _resolve(ref, sink)
    found = _resolve(msgspec.structs.replace(ref, atoms=named[0]), sink)
    if found is None:
        return None
    # Another station's samples are recorded under its own prefix (the runner maps "@NAME." to it).
    return msgspec.structs.replace(found, key=f"@{named[1]}.{found.key}", station=named[1],
                                   text=render_atoms(ref.atoms))


def _resolve(ref: ast.SignalRef, sink: ErrorSink) -> Signal | None:
    atoms = ref.atoms
    text = render_atoms(atoms)
    head = atoms[0]
    name = render_atoms((head,))
    if name == "station":
        return _station(ref, text, sink)
    evse = _evse_suffix(ref, sink)
    if evse is False:
        return None
    if evse is not None:
        ref = msgspec.structs.replace(ref, atoms=atoms[:-3])
    found: Signal | None
    if name == "analyzer":
        found = _analyzer(ref, text, sink)
    elif name == "charger":
        found = _charger(ref, text, sink)
    elif name == "ev":
        found = _ev(ref, text, sink)
    else:
        sink.at(head, f'unknown signal source "{name}"', did_you_mean(name, SOURCES) or
                "signals start with analyzer, charger, ev or station")
        return None
    if found is None or evse is None:
        return found
    if found.evse is not None:  # charger status evse 1 on evse 2
        sink.at(ref, f'"{text}" names its EVSE twice', f'write "charger status evse {evse}"')
        return None
    return msgspec.structs.replace(found, key=evse_key(found.key, evse), evse=evse)


def evse_key(key: str, evse: int) -> str:
    """A signal's record key on EVSE `evse`: EVSE 1 keeps the plain key (the recorder's, as before EVSEs were
    named); others are scoped after the source (`analyzer.power` on EVSE 2: `analyzer.evse2.power`)."""
    return key if evse == 1 else key.replace(".", f".evse{evse}.", 1)


def _evse_suffix(ref: ast.SignalRef, sink: ErrorSink) -> int | bool | None:
    """N of a trailing `on evse N` (None when there is none); False after reporting a bad one."""
    words = _words(ref)
    if "on" not in words[1:]:
        return None
    at = words.index("on", 1)
    tail = words[at:]
    if len(tail) != 3 or tail[1] != "evse" or not tail[2].isdigit() or int(tail[2]) < 1:
        # Point at the word that is wrong: the number, else what stands where "evse" should.
        bad = at + 2 if len(tail) == 3 and tail[1] == "evse" else min(at + 1, len(words) - 1)
        sink.at(ref.atoms[bad], f'"{render_atoms(ref.atoms[at:])}" does not name an EVSE',
                'end the signal with "on evse N", N = 1, 2, ...')
        return False
    if not evse_in_range(tail[2]):
        sink.at(ref.atoms[at + 2], evse_out_of_range(tail[2]), f"number the EVSEs from 1 to at most {MAX_EVSE}")
        return False
    return int(tail[2])


def _station(ref: ast.SignalRef, text: str, sink: ErrorSink) -> Signal | None:
    """`station power`, `station energy`, `station current L1`: sums over the station's EVSEs."""
    words = _words(ref)
    if len(words) < 2 or words[1] not in STATION:
        said = words[1] if len(words) > 1 else ""
        sink.at(ref.atoms[1] if len(words) > 1 else ref, f'unknown station signal "{said}"',
                did_you_mean(said, STATION) or "one of: " + ", ".join(STATION))
        return None
    if "on" in words:
        sink.at(ref, f'"{text}" sums every EVSE of the station', 'drop "on evse N" (or name the analyzer of one)')
        return None
    quantity = words[1]
    dimension, has_total, per_phase = STATION[quantity]
    phase = _phase(ref, 2, ANALYZER_PHASES, sink)
    if phase is False:
        return None
    if phase is None and not has_total:
        sink.at(ref, f"station {quantity} needs a phase", f'write "station {quantity} L1" (or L2, L3)')
    if phase is not None and not per_phase:
        sink.at(ref.atoms[2], f"station {quantity} is the total over all phases", f'drop "{phase}"')
        return None
    key = f"station.{quantity}" + (f".{phase}" if phase else "")
    return Signal(source="station", key=key, dimension=dimension, text=text)


def _words(ref: ast.SignalRef) -> list[str]:
    return [render_atoms((a,)) for a in ref.atoms]


def _analyzer(ref: ast.SignalRef, text: str, sink: ErrorSink) -> Signal | None:
    words = _words(ref)
    if len(words) < 2:
        sink.at(ref, "analyzer needs a quantity", "one of: " + ", ".join(ANALYZER))
        return None
    quantity = words[1]
    if quantity not in ANALYZER:
        sink.at(ref.atoms[1], f'unknown analyzer signal "{quantity}"',
                did_you_mean(quantity, ANALYZER) or "one of: " + ", ".join(ANALYZER))
        return None
    dimension, has_total, per_phase = ANALYZER[quantity]
    phase = _phase(ref, 2, ANALYZER_PHASES, sink)
    if phase is False:
        return None
    key = f"analyzer.{quantity}"
    if phase is None and not has_total:
        # Still a signal of known dimension, so the comparison it is in gets its dimension checked too.
        sink.at(ref, f"analyzer {quantity} needs a phase", f'write "analyzer {quantity} L1" (or L2, L3)')
    if phase is not None and not per_phase:
        sink.at(ref.atoms[2], f"analyzer {quantity} is the total over all phases", f'drop "{phase}"')
        return None
    return Signal(source="analyzer", key=f"{key}.{phase}" if phase else key, dimension=dimension, text=text)


def _charger(ref: ast.SignalRef, text: str, sink: ErrorSink) -> Signal | None:
    words = _words(ref)
    if len(words) < 2:
        sink.at(ref, "charger needs a measurand or status",
                'e.g. "charger energy" or "charger status evse 1"')
        return None
    if words[1] == "status":
        if len(words) != 4 or words[2] != "evse" or not words[3].isdigit():
            sink.at(ref, f'"{text}" is not a status signal', 'write "charger status evse <n>"')
            return None
        if not evse_in_range(words[3]):
            sink.at(ref.atoms[3] if len(ref.atoms) > 3 else ref, evse_out_of_range(words[3]),
                    f"number the EVSEs from 1 to at most {MAX_EVSE}")
            return None
        evse = int(words[3])
        return Signal(source="charger", key=f"charger.status.evse{evse}", dimension="state", text=text,
                      evse=evse)
    measurand = CHARGER_ALIASES.get(words[1], words[1])
    if measurand not in MEASURANDS:
        sink.at(ref.atoms[1], f'unknown measurand "{words[1]}"',
                did_you_mean(words[1], [*MEASURANDS, *CHARGER_ALIASES]))
        return None
    phase = _phase(ref, 2, OCPP_PHASES, sink)
    if phase is False:
        return None
    key = f"charger.{measurand}" + (f".{phase}" if phase else "")
    return Signal(source="charger", key=key, dimension=MEASURANDS[measurand], text=text)


def _ev(ref: ast.SignalRef, text: str, sink: ErrorSink) -> Signal | None:
    words = _words(ref)
    rest = tuple(words[1:])
    if rest in EV:
        key, dimension = EV[rest]
        return Signal(source="ev", key=key, dimension=dimension, text=text)
    if rest[:1] == ("current",):
        phase = _phase(ref, 2, ANALYZER_PHASES, sink)
        if phase is False:
            return None
        if phase is None:
            sink.at(ref, "ev current needs a phase", 'write "ev current L1" (or L2, L3)')
            return None
        return Signal(source="ev", key=f"ev.current.{phase}", dimension="current", text=text)
    known = [" ".join(k) for k in EV] + ["current L1"]
    said = " ".join(rest)
    sink.at(ref, f'unknown ev signal "{said}"', did_you_mean(said, known) or "one of: " + ", ".join(known))
    return None


def _phase(ref: ast.SignalRef, index: int, phases: tuple[str, ...], sink: ErrorSink) -> str | bool | None:
    """The phase word at `index` (None when absent); False after reporting a bad or extra word."""
    atoms = ref.atoms
    if len(atoms) <= index:
        return None
    word = render_atoms((atoms[index],))
    if word == "evse":  # `analyzer power evse 2`: the EVSE is named with "on"
        sink.at(atoms[index], f'"{render_atoms(atoms[index:])}" after the signal needs "on"',
                f'write "{render_atoms(atoms[:index])} on {render_atoms(atoms[index:])}"')
        return False
    if word not in phases:
        sink.at(atoms[index], f'unknown phase "{word}"', did_you_mean(word, phases) or
                "one of: " + ", ".join(phases))
        return False
    if len(atoms) > index + 1:
        extra = atoms[index + 1]
        if render_atoms((extra,)) == "evse":
            sink.at(extra, f'"{render_atoms(atoms[index + 1:])}" after the signal needs "on"',
                    f'write "{render_atoms(atoms[: index + 1])} on {render_atoms(atoms[index + 1:])}"')
            return False
        sink.at(extra, f'unexpected "{render_atoms(atoms[index + 1:])}" after the signal "'
                f'{render_atoms(atoms[: index + 1])}"')
        return False
    return word
