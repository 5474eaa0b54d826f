"""A SCPI analyzer described in the bench file, driver name ``generic-scpi``.

For an analyzer chargespec has no driver for: the lab writes its command strings into the instrument's
``options`` table, and this driver sends exactly those. Everything is checked when the bench is opened,
so a typo fails before a campaign starts, naming the option.

    [stations.instruments.analyzer]
    driver = "generic-scpi"
    address = "TCPIP0::10.0.0.8::10001::SOCKET"
    [stations.instruments.analyzer.options]
    idn = "*IDN?"                                         # default
    model = "WT3(10|33)"                                  # *IDN? model must match (regex); omit: any
    error_query = ":STAT:ERR?"                            # pops one error; default "*ESR?" (error bits)
    configure = [":NUM:FORM ASC", ":NUM:NORM:NUM {count}"] # sent in order by configure()
    item_command = ":NUM:NORM:ITEM{index} {item}"         # sent once per item; omit if `read` names items
    rate_command = ":RATE {ms}MS"                          # omit if the rate is set on the front panel
    rates_s = [0.1, 0.25, 0.5, 1, 2, 5]                   # allowed intervals; [] = any
    read = ":NUM:NORM:VAL?"                                # or ":MEAS? {items}"
    separator = ","                                        # between answered values (";" for some)
    items = [
      { item = "U,1", quantity = "voltage", phase = "L1" },
      { item = "I,1", quantity = "current", phase = "L1" },
      { item = "P,1", quantity = "power", phase = "L1" },
      { item = "LAMBDA,1", quantity = "pf", phase = "L1" },
      { item = "WH,1", quantity = "energy" },
    ]
    integ_start = ":INTEG:STAR"
    integ_stop = ":INTEG:STOP"
    integ_reset = ":INTEG:RES"
    integ_state = ":INTEG:STAT?"     # omit: the driver tracks the state it drove the integrator into
    integ_states = { RES = "RESET", STAR = "START", STOP = "STOP" }   # answer prefix -> state (optional)

Placeholders: ``{count}`` (number of items), ``{index}`` (1-based) and ``{item}`` in `item_command`,
``{ms}`` (whole milliseconds) and ``{s}`` (seconds) in `rate_command` and `configure`, ``{items}`` (the
items joined by `item_join`, default ``,``) in `read`. Quantities: ``voltage``, ``current``, ``power``,
``pf`` (each with a ``phase`` L1..L3), ``total_power``, ``energy`` (total, or per phase and summed).
With ``configure(phases=1)`` items of L2 and L3 are left out. Values ``NAN``, ``INF`` and 9.9E+37 are
missing samples. Without integrator commands, the integrator calls raise :class:`InstrumentUnsupported`.
Each configure command is followed by `error_query` (an answer ``<code>,"<text>"``, 0 for none, or the
``*ESR?`` register): a refused command stops the configuration, naming it and the instrument's text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, get_args

from instruments.clock import Clock
from instruments.errors import InstrumentConfigError
from instruments.integrator import DEFAULT_WORDS, STATES, IntegratorCommands
from instruments.registry import register
from instruments.scpi_analyzer import (
    Item,
    Quantity,
    ScpiAnalyzer,
    nearest_not_slower,
    phase_names,
)

_PHASED = ("voltage", "current", "power", "pf")
_QUANTITIES = get_args(Quantity)

# option -> the placeholders its template may use
_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "idn": frozenset(), "error_query": frozenset(),
    "configure": frozenset({"count", "ms", "s"}),
    "item_command": frozenset({"count", "index", "item"}),
    "rate_command": frozenset({"ms", "s"}),
    "read": frozenset({"items", "count"}),
    "integ_start": frozenset(), "integ_stop": frozenset(), "integ_reset": frozenset(),
    "integ_state": frozenset(),
}


@register("generic-scpi")
class GenericScpi(ScpiAnalyzer):
    extra_options: ClassVar[Mapping[str, Any]] = {
        "visa_library": "@py", "idn": "*IDN?", "model": None, "error_query": "*ESR?",
        "configure": [], "item_command": None, "rate_command": None,
        "rates_s": [], "read": None, "separator": ",", "item_join": ",", "items": None,
        "integ_start": None, "integ_stop": None, "integ_reset": None, "integ_state": None,
        "integ_states": None,
    }

    def __init__(self, name: str, address: str, clock: Clock | None = None, **options: Any) -> None:
        super().__init__(name, address, clock, **options)
        x = self.opts.extra
        self.idn_query = self._template("idn", x["idn"], required=True)
        self.link.error_query = self._template("error_query", x["error_query"], required=True) or ""
        if x["model"] is not None:
            self.model_pattern = self._regex("model", x["model"])  # type: ignore[misc]
            self.family = f"instruments whose *IDN? model matches {x['model']!r} (option model)"  # type: ignore[misc]
        self.configure_commands = tuple(self._template("configure", c, required=True)
                                        for c in self._list("configure", x["configure"]))
        self.item_command = self._template("item_command", x["item_command"])
        self.rate_command = self._template("rate_command", x["rate_command"])
        self.read_template = self._template("read", x["read"], required=True)
        self.rates_s = self._rates(x["rates_s"])
        self.separator = self._text("separator", x["separator"])
        self.item_join = self._text("item_join", x["item_join"])
        self.all_items = self._items_option(x["items"])
        self.integrator = self._integrator_option()  # type: ignore[misc]

    # -- option checking -----------------------------------------------------------------------------------

    def _bad(self, option: str, problem: str) -> InstrumentConfigError:
        return InstrumentConfigError(self.name, self.address, f"option {option}: {problem}")

    def _text(self, option: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise self._bad(option, f"expected a non-empty string, got {value!r}")
        return value

    def _regex(self, option: str, value: Any) -> str:
        text = self._text(option, value)
        try:
            re.compile(text)
        except re.error as e:
            raise self._bad(option, f"{text!r} is not a regular expression: {e}") from None
        return text

    def _list(self, option: str, value: Any) -> list[Any]:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise self._bad(option, f"expected a list, got {value!r}")
        return list(value)

    def _template(self, option: str, value: Any, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                raise self._bad(option, "is required: the command string this analyzer understands")
            return None
        text = self._text(option, value)
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as e:
            raise self._bad(option, f"{text!r} is not a valid template ({e}); write a literal brace as "
                                    "{{ or }}") from None
        allowed = _PLACEHOLDERS[option]
        unknown = sorted(names - allowed)
        if unknown:
            known = ", ".join("{" + n + "}" for n in sorted(allowed)) or "none"
            raise self._bad(option, f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)} in "
                                    f"{text!r}; this option knows {known}")
        return text

    def _rates(self, value: Any) -> tuple[float, ...]:
        rates = self._list("rates_s", value)
        if not all(isinstance(r, int | float) and not isinstance(r, bool) and r > 0 for r in rates):
            raise self._bad("rates_s", f"expected positive numbers of seconds, got {value!r}")
        return tuple(sorted(float(r) for r in rates))

    def _items_option(self, value: Any) -> tuple[Item, ...]:
        if value is None:
            raise self._bad("items", "is required: a list of { item = ..., quantity = ..., phase = ... }")
        out: list[Item] = []
        for n, entry in enumerate(self._list("items", value), start=1):
            where = f"items[{n}]"
            if not isinstance(entry, Mapping):
                raise self._bad(where, f"expected a table {{ item = ..., quantity = ... }}, got {entry!r}")
            extra = sorted(set(entry) - {"item", "quantity", "phase"})
            if extra:
                raise self._bad(where, f"unknown key(s) {', '.join(extra)}; keys are item, quantity, phase")
            item = self._text(f"{where}.item", entry.get("item"))
            quantity = entry.get("quantity")
            if quantity not in _QUANTITIES:
                raise self._bad(f"{where}.quantity", f"{quantity!r} is not one of {', '.join(_QUANTITIES)}")
            phase = entry.get("phase")
            if quantity in _PHASED and phase not in phase_names(3):
                raise self._bad(f"{where}.phase", f"{quantity} needs a phase L1, L2 or L3, got {phase!r}")
            if quantity == "total_power" and phase is not None:
                raise self._bad(f"{where}.phase", "total_power is the sum of all phases; give no phase")
            if quantity == "energy" and phase not in (None, *phase_names(3)):
                raise self._bad(f"{where}.phase", f"energy takes no phase (total) or L1..L3, got {phase!r}")
            out.append(Item(item, item, quantity, phase))
        if not out:
            raise self._bad("items", "is empty; describe at least one item")
        return tuple(out)

    def _integrator_option(self) -> IntegratorCommands | None:
        x = self.opts.extra
        start, stop, reset = (self._template(k, x[k]) for k in ("integ_start", "integ_stop", "integ_reset"))
        state = self._template("integ_state", x["integ_state"])
        given = [k for k, v in (("integ_start", start), ("integ_stop", stop), ("integ_reset", reset)) if v]
        if not given and state is None:
            return None
        if len(given) != 3:
            missing = sorted({"integ_start", "integ_stop", "integ_reset"} - set(given))
            raise self._bad(", ".join(missing), "is missing; an integrator needs integ_start, integ_stop and "
                                                "integ_reset (integ_state is optional)")
        words = DEFAULT_WORDS
        if x["integ_states"] is not None:
            table = x["integ_states"]
            if not isinstance(table, Mapping) or not table or not all(
                    isinstance(k, str) and k and v in STATES for k, v in table.items()):
                raise self._bad("integ_states", f"expected a table of answer prefix -> one of "
                                                f"{', '.join(STATES)}, got {table!r}")
            words = dict(table)
        assert start is not None and stop is not None and reset is not None
        return IntegratorCommands(start=start, stop=stop, reset=reset, state_query=state, words=words)

    # -- PowerAnalyzer -------------------------------------------------------------------------------------

    @property
    def value_separator(self) -> str:  # type: ignore[override]
        return self.separator

    def identify(self) -> str:
        self._require_open()
        return self.link.query(self.idn_query).strip()

    def configure(self, *, phases: int = 3, update_interval_s: float = 0.5) -> None:
        self._require_open()
        self._check_phases(phases)
        wanted = phase_names(phases)
        items = tuple(i for i in self.all_items if i.phase is None or i.phase in wanted)
        covered = {i.phase for i in items if i.quantity in _PHASED}
        if not set(wanted) <= covered:
            raise InstrumentConfigError(
                self.name, self.address,
                f"cannot measure {phases} phase(s): option items describes phases "
                f"{', '.join(sorted(p for p in covered if p)) or 'none'}; add items for "
                f"{', '.join(p for p in wanted if p not in covered)}", last_command=self.last_command)
        if self.rates_s:
            interval = nearest_not_slower(update_interval_s, self.rates_s)
        elif update_interval_s > 0:
            interval = float(update_interval_s)
        else:
            raise ValueError(f"update interval must be positive, got {update_interval_s!r}")
        fields = {"count": len(items), "ms": round(interval * 1000), "s": f"{interval:g}"}
        with self._reconfiguring(items, interval):
            for command in self.configure_commands:
                self._send(command.format(**fields))
            if self.item_command is not None:
                for k, item in enumerate(items, start=1):
                    self._send(self.item_command.format(count=len(items), index=k, item=item.function))
            if self.rate_command is not None:
                self._send(self.rate_command.format(**fields))
            self.values_query = self.read_template.format(  # type: ignore[misc, union-attr]
                items=self.item_join.join(i.function for i in items), count=len(items))
