"""Which EVSEs owe periodic MeterValues in a window, and when they are excused: pure functions, no bench.

OCPP 2.0.1 J01 (clock-aligned meter values, AlignedDataCtrlr.Interval): outside transactions a charger
reports every configured interval for each of its EVSEs, and for its main meter (evseId 0) where it has
one with measurands configured (TC_J_01_CS: "one … for each EVSE and one … for the main power meter").
While a transaction runs on an EVSE, that EVSE's values may go in TransactionEvent (triggerReason
MeterValueClock) instead (TC_J_02_CS, steps 3-4), or not at all with AlignedDataCtrlr.SendDuringIdle;
the idle EVSEs and the main meter keep sending MeterValues. So an interval check on MeterValues holds
every EVSE the charger has to the interval, each except while its own transaction ran.

Which EVSEs the charger has: the bench file's `evses`, those the charger reported (StatusNotification
since its boot, EVSE components of a device model read in this session), and any that sent such
MeterValues in the scenario (evseId 0 among them: the charger has a main meter that reports).

    due = due_evses(frames, {"evseId": AnyOf((1, 2))}, declared=3, reported=[1, 2, 3])
    due.evses       # (1, 2)
    due.said        # "the bench file's evses = 3; the charger reported EVSEs 1, 2, 3"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runner.csms.expect import matches, stream_of, transaction_lifetimes
from runner.csms.framing import charger_call
from runner.recorder import Frame

Span = tuple[float, float]


@dataclass(frozen=True)
class DueEvses:
    """The EVSEs an interval check on MeterValues holds to the interval, where that list came from, and per
    EVSE the spans (scenario-relative bench time) of its transactions, in which it need not send them."""

    evses: tuple[int, ...]
    said: str
    transactions: Mapping[int, tuple[tuple[str, Span], ...]] = field(default_factory=dict)

    def stream(self, evse: int) -> str:
        return f"evse {evse}"  # as runner.csms.expect.stream_of names an EVSE's stream

    def excused(self) -> dict[str, list[Span]]:
        """stream -> the spans in which it need not send MeterValues (its transactions ran)."""
        return {self.stream(n): [span for _, span in txs] for n, txs in self.transactions.items()}


def _evse_of(payload: Any) -> int | None:
    evse = payload.get("evse") if isinstance(payload, dict) else None
    n = evse.get("id") if isinstance(evse, dict) else None
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def evse_transactions(frames: Sequence[Frame], tx_evse: Mapping[str, int] | None = None,
                      booked: Mapping[str, Span] | None = None) -> dict[int, list[tuple[str, Span]]]:
    """Per EVSE, its transactions and when they ran: from the scenario's TransactionEvents
    (:func:`runner.csms.expect.transaction_lifetimes`; the EVSE is the one an event names, else `tx_evse`,
    the harness's book), and from `booked` (transaction -> span, the book's arrival times) for a transaction
    the scenario's frames do not show (it began before, and sent nothing since)."""
    named: dict[str, int] = dict(tx_evse or {})
    for f in frames:
        if charger_call(f) and f.action == "TransactionEvent" and isinstance(f.payload, dict):
            info = f.payload.get("transactionInfo")
            tid = info.get("transactionId") if isinstance(info, dict) else None
            if isinstance(tid, str) and (n := _evse_of(f.payload)) is not None:
                named[tid] = n
    spans = {stream.removeprefix("transaction "): span for stream, span in transaction_lifetimes(frames).items()}
    for tid, span in (booked or {}).items():
        spans.setdefault(tid, span)
    out: dict[int, list[tuple[str, Span]]] = {}
    for tid, span in spans.items():
        if tid in named:  # (a transaction whose EVSE nobody knows excuses none)
            out.setdefault(named[tid], []).append((tid, span))
    return out


def _names(item: Any) -> tuple[Any, Any]:
    comp, var = item.get("component"), item.get("variable")
    return (comp.get("name") if isinstance(comp, dict) else None, var.get("name") if isinstance(var, dict) else None)


def send_during_idle(frames: Sequence[Frame], reported: str | None = None) -> bool | None:
    """AlignedDataCtrlr.SendDuringIdle as last known: the latest value the CSMS set in these frames and the
    charger accepted (SetVariables), else `reported` (a device model's Actual value); None: not known."""
    wanted = ("AlignedDataCtrlr", "SendDuringIdle")
    asked: dict[str, str] = {}
    known: str | None = reported
    for f in frames:
        if f.action != "SetVariables" or not isinstance(f.payload, dict) or not isinstance(f.unique_id, str):
            continue
        if f.direction == "tx" and f.message_type == 2:
            for item in f.payload.get("setVariableData") or []:
                if isinstance(item, dict) and _names(item) == wanted and isinstance(item.get("attributeValue"), str):
                    asked[f.unique_id] = item["attributeValue"]
        elif f.direction == "rx" and f.message_type == 3 and f.unique_id in asked:
            for item in f.payload.get("setVariableResult") or []:
                if isinstance(item, dict) and _names(item) == wanted and item.get("attributeStatus") == "Accepted":
                    known = asked[f.unique_id]
    return None if known is None else known.strip().lower() == "true"


def _sent(frames: Sequence[Frame], fields: Mapping[str, Any]) -> set[int]:
    """The EVSEs that sent MeterValues matching `fields` in these frames."""
    out: set[int] = set()
    for f in frames:
        if charger_call(f) and f.action == "MeterValues" and matches(f.payload, dict(fields)):
            stream = stream_of(f)
            if stream is not None:
                out.add(int(stream.removeprefix("evse ")))
    return out


def _ids(ns: Iterable[int]) -> str:
    return ", ".join(map(str, sorted(ns)))


def due_evses(frames: Sequence[Frame], fields: Mapping[str, Any], *, declared: int | None,
              declared_stated: bool = True, reported: Iterable[int] = (), modelled: Iterable[int] = (),
              transactions: Mapping[int, Sequence[tuple[str, Span]]] | None = None,
              idle_only: bool | None = None) -> DueEvses:
    """The EVSEs that owe MeterValues matching `fields` (the spec's filter): every EVSE the charger has (see
    the module's doc), narrowed by the filter's `evseId` (a plain one is due even if nothing knows of it).
    `declared`: the bench file's `evses` (None: no bench file station); `declared_stated`: whether the bench
    file states it or it is the default 1. `frames`: the scenario's, with their times. `idle_only`:
    AlignedDataCtrlr.SendDuringIdle (:func:`send_during_idle`); when true, a charger may send no clock-aligned
    values at all while a transaction runs, so every EVSE is excused during every transaction."""
    reported, modelled = set(reported) - {0}, set(modelled) - {0}
    sent = _sent(frames, fields)
    known = set(range(1, declared + 1)) if declared else set()
    known |= reported | modelled | sent
    if not known:
        known = {1}  # (every charger has an EVSE 1; nothing said otherwise)
    pinned = fields.get("evseId", None)
    if "evseId" in fields:
        known = {n for n in known if matches({"evseId": n}, {"evseId": pinned})}
        if isinstance(pinned, int) and not isinstance(pinned, bool):
            known.add(pinned)
    said = []
    if declared:
        said.append(f"the bench file's evses = {declared}" if declared_stated
                    else "the bench file states no evses (1 taken)")
    if reported:
        said.append(f"the charger reported EVSE{'s' if len(reported) > 1 else ''} {_ids(reported)}")
    if modelled:
        said.append(f"its device model has EVSE{'s' if len(modelled) > 1 else ''} {_ids(modelled)}")
    if 0 in known:
        said.append("EVSE 0 is its main meter, which sent some in this scenario")
    elif 0 not in sent and ("evseId" not in fields or matches({"evseId": 0}, {"evseId": pinned})):
        said.append("the main meter (EVSE 0) sent none in this scenario: not judged")
    if isinstance(pinned, int) and not isinstance(pinned, bool):
        said = [f"the filter's evseId {pinned}"]
    txs = {n: tuple(spans) for n, spans in (transactions or {}).items() if n in known}
    if idle_only:  # (then any transaction of the station excuses every EVSE, the main meter too)
        every = [(m, tid, span) for m, spans in (transactions or {}).items() for tid, span in spans]
        txs = {n: tuple((tid if m == n else f"{tid} (on EVSE {m}; AlignedDataCtrlr.SendDuringIdle is true)", span)
                        for m, tid, span in every) for n in known if every}
    return DueEvses(tuple(sorted(known)), "; ".join(said) or "those that sent some", txs)
