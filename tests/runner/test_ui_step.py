"""`driver selects "…" at the user interface`: the choice reaches the bench's `ui` instrument (the charger's own
display and buttons, worked by a robot, a service port or an operator); a bench without one makes the step
broken, naming the role, never failed; the bench file takes `ui` as a role and only a user-interface driver in it."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from instruments import registry
from instruments.base import UserInterface
from instruments.registry import drivers
from lab.bench import BenchFileError, load_bench
from runner.bench_session import Station
from runner.errors import BenchError
from runner.steps import IMPLEMENTATIONS

REPO = Path(__file__).resolve().parents[2]


class _Screen(UserInterface):
    """A user interface that keeps what was selected on it."""

    def __init__(self) -> None:
        self.name, self.address, self.selected = "ui", "test", []

    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> str: return "test screen"

    def select(self, choice: str) -> None:
        self.selected.append(choice)


def _run(ui: UserInterface | None) -> SimpleNamespace:
    config = SimpleNamespace(id="CS-1")
    session = SimpleNamespace(config=SimpleNamespace(path=Path("bench.toml")))
    station = Station(config=config, session=session, ui=ui)  # type: ignore[arg-type]
    run = SimpleNamespace(station=station, notes=[])
    run.note = run.notes.append
    return run


def test_the_choice_reaches_the_ui_instrument_and_is_noted() -> None:
    screen = _Screen()
    run = _run(screen)
    IMPLEMENTATIONS["driver.selects"](run, choice="stop all transactions")
    assert screen.selected == ["stop all transactions"]
    assert run.notes == ["driver selected 'stop all transactions' at the charger's user interface"]


def test_a_bench_without_a_ui_instrument_is_broken_naming_the_role() -> None:
    with pytest.raises(BenchError) as e:
        IMPLEMENTATIONS["driver.selects"](_run(None), choice="stop all transactions")
    assert str(e.value.detail) == ("station 'CS-1' has no user-interface instrument (role 'ui') in bench.toml: "
                                   "`driver selects … at the user interface` needs one")


def _bench(tmp_path: Path, driver: str) -> Path:
    text = (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8")
    ui = f'[stations.instruments.ui]\ndriver = "{driver}"\naddress = "socket://127.0.0.1:4001"\n\n'
    text = text.replace("[twin]", ui + "[twin]", 1)
    path = tmp_path / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bench_file_takes_a_ui_role_with_a_user_interface_driver(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    drivers()  # the built-in drivers first; the test's own is gone after the test
    monkeypatch.setitem(registry._DRIVERS, "test-screen", _Screen)
    bench = load_bench(_bench(tmp_path, "test-screen"))
    assert bench.stations[0].instruments["ui"].driver == "test-screen"
    reader = next(name for name, cls in drivers().items() if getattr(cls, "kind", None) == "reader")
    with pytest.raises(BenchFileError) as e:
        load_bench(_bench(tmp_path, reader))
    assert f"ui: driver {reader!r} is a token reader; the ui role needs a user-interface driver" in str(e.value)


CONFTEST = '''
import os
from instruments.base import UserInterface
from instruments.registry import register


@register("test-screen")
class Screen(UserInterface):
    """Writes each choice to $SCREEN_LOG: a screen the twin charger does not have."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> str: return "test screen"

    def select(self, choice: str) -> None:
        with open(os.environ["SCREEN_LOG"], "a", encoding="utf-8") as f:
            f.write(choice + "\\n")
'''


def test_tc_c_47_judges_the_transactions_stopped_after_the_selection(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """TC_C_47_CS on a twin declared to have a user interface: the choice reaches the bench's `ui` instrument,
    and the case fails, since the twin (which has no UI) stops every transaction on the master pass alone,
    before anything is selected: only what the charger sends after the selection counts."""
    bench = (REPO / "lab/benches/twin.toml").read_text(encoding="utf-8")
    bench = bench.replace("UserInterface = false", "UserInterface = true")
    bench = bench.replace("[twin]", '[stations.instruments.ui]\ndriver = "test-screen"\n'
                                    'address = "socket://127.0.0.1:9"\n\n[twin]', 1)
    pytester.makefile(".toml", bench=bench)
    pytester.makeconftest(CONFTEST)
    spec = REPO / "specs/octt/C/TC_C_47_CS.spec"
    # The case as written, but 30 bench seconds between the master pass and the selection: the twin's stop then
    # lies before the selection however loaded the machine is (it comes at once on a master pass).
    case = spec.read_text(encoding="utf-8")
    selects = '    driver selects "stop all transactions" at the user interface\n'
    assert selects in case
    pytester.makefile(".spec", tc_c_47=case.replace(selects, "    wait 30 s\n" + selects))
    log = pytester.path / "screen.log"
    monkeypatch.setenv("SCREEN_LOG", str(log))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--speed", "60", "--bench", "bench.toml",
                                           timeout=300)
    assert log.read_text(encoding="utf-8") == "stop all transactions\n"
    out = " ".join(result.stdout.str().split())
    result.assert_outcomes(failed=1)
    line = 1 + next(n for n, text in enumerate(case.splitlines(), 1)
                    if 'remembered "tx1", stoppedReason: "MasterPass"' in text)  # (one line added above it)
    assert f"tc_c_47.spec:{line}:5" in out, out[-3000:]
    assert "FAILED (the charger did not meet a criterion)" in out
    assert re.search(r'charger did not send TransactionEvent \{transactionInfo: \{transactionId: "[0-9a-f-]+", '
                     r'stoppedReason: "MasterPass"\}.* within 30 s .*\(a matching TransactionEvent arrived at '
                     r"t=[\d.]+ s, before the preceding action began: it does not count\)", out), out[-3000:]
