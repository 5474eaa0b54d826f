"""What a scenario's return to idle could not put back on its station: a known state of the station, so the
next scenario on it is not judged on it.

The return to idle (runner/execute.py) is best effort and never raises. Whatever it could not restore is kept
on the station (``Station.leftovers``) with the scenario that left it and why. Before the next scenario on that
station starts, the return to idle is tried again; if something is still left, that scenario is broken before
it runs, with a message naming what was left, by which scenario and why: a charger that will not be put back
is evidence about the charger (in both scenarios' evidence), never a failure of the next scenario's criteria.
The run's identity file (run.json, ``left changed``) names what the run's last scenarios left, so a lab knows
the charger was left changed.

What counts (each breaks the next scenario if it stays):
- the charger not back online (or still rebooting) within the return to idle's budget;
- a transaction the charger was asked to stop and did not answer for, still open 30 s after the EV unplugged (a
  charger that answers Rejected has no such transaction: nothing is left on the charger; in proxy mode chargespec
  sends no RequestStopTransaction, docs/proxy.md, and an open transaction is not counted);
- an EV still plugged in, or parked in its bay, because the emulator did not obey;
- the supply still cut; the EMS not reset;
- charging profiles that could not be cleared;
- a variable or an availability whose original the charger refused (or did not answer) to take back.

Not counted either: a charger offline at the end of a scenario that changed nothing and left no transaction open
(the return to idle does not wait for it; the next scenario's `charger booted` does, as before).

What does not count: a variable whose original the charger would not tell (WriteOnly, such as
SecurityCtrlr.BasicAuthPassword, or unreadable): it cannot be known, so it cannot be put back or checked, and
no scenario can depend on its value without setting it itself. The evidence says it was not restored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runner.restore import Changes


@dataclass(frozen=True)
class Leftover:
    what: str   # "availability of evse 1 (Inoperative, to be Operative)"
    why: str    # "ChangeAvailability answered Rejected"

    def __str__(self) -> str:
        return f"{self.what} ({self.why})"


@dataclass(frozen=True)
class Left:
    """What one scenario left on a station, and what a retry has to restore."""
    scenario: str                      # "'name' (file.spec:12)"
    items: tuple[Leftover, ...]
    changes: Changes = field(default_factory=Changes)  # the originals still to be set back
    offline: bool = False              # the charger was not back online: the retry waits for it again

    def words(self) -> str:
        return "; ".join(str(i) for i in self.items)


def scenario_label(name: str, file: str, line: int) -> str:
    from runner.errors import shown_file

    return f"{name!r} ({shown_file(file)}:{line})"


def not_restored_message(station_id: str, left: Left) -> str:
    """The broken verdict's message of the scenario that found `left` still on its station."""
    return (f"not run: scenario {left.scenario} left station {station_id!r} changed and the return to idle, tried "
            f"again before this scenario, could not restore it: {left.words()}. This scenario would run on that "
            "state, so it is not judged; what the charger refused is in both scenarios' evidence")


def run_summary(lefts: dict[str, Left]) -> dict[str, str]:
    """run.json's ``left changed``: by station id, what is still left on it and by which scenario."""
    return {sid: f"by scenario {left.scenario}: {left.words()}" for sid, left in sorted(lefts.items())}
