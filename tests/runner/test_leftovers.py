"""runner.execute.return_to_idle keeps on the station what it could not put back (runner/leftovers.py), on a
fake bench: an EV emulator that fails to unplug, a transaction whose stop the charger never answered, and what
is no leftover (an emulator whose cable is fixed in hardware, a stop answered Rejected, proxy mode)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from instruments.errors import InstrumentError, InstrumentUnsupported
from runner.execute import return_to_idle
from runner.restore import Changes


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


class Harness:
    def __init__(self, stop: Any, active: bool = True) -> None:
        self.stop = stop  # the outcome of RequestStopTransaction, or an exception it raises
        self.tx = {"tx1": SimpleNamespace(transaction_id="tx1", active=active)} if active else {}

    def accept_reconnects(self) -> None: ...

    def responses(self, _sid: str) -> Any:
        return SimpleNamespace(reset=lambda: None)

    def transactions(self, _sid: str) -> dict[str, Any]:
        return dict(self.tx)

    def connected(self, _sid: str) -> bool:
        return True

    def request_stop_transaction(self, _sid: str, _tx: str, timeout_s: float) -> Any:
        if isinstance(self.stop, Exception):
            raise self.stop
        return self.stop

    def clear_charging_profile(self, _sid: str, timeout_s: float) -> Any:
        return SimpleNamespace(error_code=None, response={"status": "Unknown"})


class Ev:
    def __init__(self, state_error: Exception | None = None, cable_error: Exception | None = None) -> None:
        self.state_error, self.cable_error = state_error, cable_error

    def set_state(self, _s: str) -> None:
        if self.state_error:
            raise self.state_error

    def set_cable(self, _ohms: float | None) -> None:
        if self.cable_error:
            raise self.cable_error


def _run(harness: Harness, evs: dict[int, Ev], proxy: Any = None) -> Any:
    clock = Clock()

    def wait(_pred: Any, dt: float) -> None:
        clock.t += dt * 100  # (bench seconds pass while it waits)

    station = SimpleNamespace(id="CS1", supply_off=False, evs=evs, parked=set(), ems_touched=False,
                              ems_manager=None, needs_recovery=False, leftovers=None)
    session = SimpleNamespace(config=SimpleNamespace(proxy=proxy),
                              boot_state=lambda _sid: SimpleNamespace(settled=True))
    notes: list[str] = []
    return SimpleNamespace(harness=harness, station=station, session=session, changes=Changes(), clock=clock,
                           recorder=SimpleNamespace(wait=wait), notes=notes, note=notes.append,
                           run=lambda out, **_: out,
                           plan=SimpleNamespace(name="s1", source=SimpleNamespace(file="a.spec", line=3)))


ANSWERED = SimpleNamespace(error_code=None, response={"status": "Accepted"})


def test_an_ev_that_does_not_unplug_is_left_and_a_fixed_cable_is_not() -> None:
    run = _run(Harness(ANSWERED, active=False),
               {1: Ev(state_error=InstrumentError("ev", "COM3", "no answer")),
                2: Ev(cable_error=InstrumentUnsupported("ev2", "COM4", "its cable is fixed in hardware"))})
    return_to_idle(run)
    left = run.station.leftovers
    assert left is not None and left.scenario == "'s1' (a.spec:3)"
    assert [i.what for i in left.items] == ["the EV on EVSE 1 still plugged in"]
    assert "no answer" in left.items[0].why
    assert any("is left changed: the EV on EVSE 1 still plugged in" in n for n in run.notes)


def test_a_transaction_whose_stop_went_unanswered_is_left_open() -> None:
    run = _run(Harness(SimpleNamespace(error_code="InternalError", response=None)), {1: Ev()})
    return_to_idle(run)
    assert run.station.leftovers is not None
    assert [str(i) for i in run.station.leftovers.items] == [
        "transaction tx1 still open (RequestStopTransaction answered InternalError)"]
    assert run.clock.now() >= 30.0  # it waited for the transaction to end on its own first


def test_a_stop_answered_rejected_or_not_sent_in_proxy_mode_leaves_nothing() -> None:
    rejected = _run(Harness(SimpleNamespace(error_code=None, response={"status": "Rejected"})), {1: Ev()})
    return_to_idle(rejected)  # the charger says it has no such transaction: the harness's book is stale
    assert rejected.station.leftovers is None
    proxy = _run(Harness(RuntimeError("needs chargespec to be the CSMS")), {1: Ev()}, proxy=object())
    return_to_idle(proxy)
    assert proxy.station.leftovers is None


def test_a_transaction_that_ends_once_the_ev_unplugs_is_no_leftover() -> None:
    harness = Harness(RuntimeError("timed out"))
    run = _run(harness, {1: Ev()})
    original = run.recorder.wait

    def wait(pred: Any, dt: float) -> None:  # the Ended event arrives while it waits
        harness.tx["tx1"] = SimpleNamespace(transaction_id="tx1", active=False)
        original(pred, dt)

    run.recorder = SimpleNamespace(wait=wait)
    return_to_idle(run)
    assert run.station.leftovers is None


def test_each_workers_leftovers_reach_the_run_identity(tmp_path: Any) -> None:
    """Per-station mode: each pytest-xdist worker's run file names its own station's leftovers; the run's
    identity (what the acceptance summary reads) has them all, not the first worker's alone."""
    from runner import runs

    runs.write_json(runs.identity_file(tmp_path), {"status": "complete"})
    for worker, sid in (("gw0", "CS1"), ("gw1", "CS2")):
        runs.write_json(runs.identity_file(tmp_path, worker),
                        {"bench": "lab", runs.LEFT_CHANGED: {sid: f"by scenario 'x' (a.spec:3): {sid} left"}})
    assert runs.read_identity(tmp_path)[runs.LEFT_CHANGED] == {"CS1": "by scenario 'x' (a.spec:3): CS1 left",
                                                                "CS2": "by scenario 'x' (a.spec:3): CS2 left"}
