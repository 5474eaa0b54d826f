"""Which token reader presents a token for EVSE N: role reader<N>, else the station's one reader (role
`reader`, which names the EVSE in each request); never another EVSE's own reader, which would present the
token at that other EVSE and have the charger judged on the wrong one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from instruments.base import TokenReader
from runner.bench_session import Station
from runner.errors import BenchError


class _Reader(TokenReader):
    def __init__(self, role: str) -> None:
        self.name, self.address = role, "test"

    def open(self) -> None: ...
    def close(self) -> None: ...
    def identify(self) -> str: return "test reader"
    def present(self, id_token: str, token_type: str = "ISO14443", evse: int = 1) -> None: ...


def _station(**readers: int) -> Station:
    config = SimpleNamespace(id="CS-1")
    session = SimpleNamespace(config=SimpleNamespace(path=Path("bench.toml")))
    return Station(config=config, session=session,  # type: ignore[arg-type]
                   readers={evse: _Reader(role) for role, evse in readers.items()})


def test_each_evse_has_its_own_reader_or_the_one_shared_reader() -> None:
    own = _station(reader1=1, reader2=2)
    assert own.reader(2).name == "reader2" and own.reader(1).name == "reader1"
    shared = _station(reader=1)
    assert shared.reader(3).name == "reader"


@pytest.mark.parametrize("readers", [{"reader1": 1, "reader2": 2}, {"reader1": 1}, {"reader": 1, "reader2": 2}])
def test_another_evses_reader_is_never_used(readers: dict[str, int]) -> None:
    with pytest.raises(BenchError) as e:
        _station(**readers).reader(3)
    roles = ", ".join(repr(r) for r in readers)
    assert e.value.detail == (f"station 'CS-1' has no token reader for EVSE 3 (role 'reader3') in bench.toml, only "
                              f"{roles}, each at its own EVSE: `driver presents token` needs the EVSE's own reader "
                              "or one role 'reader' for all")


def test_no_reader_at_all_is_named() -> None:
    with pytest.raises(BenchError, match="station 'CS-1' has no token reader \\(instrument role 'reader'\\)"):
        _station().reader(1)


def test_a_token_the_reader_cannot_present_is_broken_naming_why() -> None:
    """`driver presents token "" of type ISO14443`: the reader refuses before sending anything; the step is
    broken with the reader's reason (it was an unexpected ValueError with a traceback)."""
    from instruments.registry import create
    from runner.steps import IMPLEMENTATIONS

    station = _station()
    station.readers[1] = create("chargespec-reader", name="reader", address="socket://127.0.0.1:9")  # never opened
    run = SimpleNamespace(station=station, notes=[])
    run.note = run.notes.append
    with pytest.raises(BenchError) as e:
        IMPLEMENTATIONS["driver.presents_token"](run, token="", type="ISO14443", evse=1)
    assert e.value.detail == ("reader 'reader': an idToken of type NoAuthorization is empty and one of any other "
                              "type is not, got '' of type ISO14443; nothing was presented")
    assert run.notes == []
