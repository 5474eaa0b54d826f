"""The harness's limits: a frame over max_frame_bytes, and bookkeeping that stays bounded however long
a connection lives (message ids, statuses, offline periods)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from instruments.clock import Clock
from lab.bench import BenchConfig, CsmsConfig
from runner.csms import CsmsHarness
from runner.csms.harness import MAX_CONNECTORS, MAX_OFFLINE_PERIODS, MAX_STATIONS
from runner.csms.session import SEEN_IDS
from runner.recorder import Recorder

Run = Callable[..., Recorder]  # the `run` fixture (conftest.py)
STAMP = "2025-01-01T00:00:00.000Z"


BIG = json.dumps([2, "d1", "DataTransfer", {"vendorId": "V", "data": "x" * 5000}])


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_a_frame_over_the_limit_closes_1009_and_is_a_finding_naming_station_and_size(
        run: Run, compression: str | None) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS-BIG", subprotocols=["ocpp2.0.1"], compression=compression) as ws:
            await ws.send(json.dumps([2, "h1", "Heartbeat", {}]))
            assert json.loads(await ws.recv())[0] == 3
            await ws.send(BIG)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await h.wait_disconnected("CS-BIG", 5)

    rec = run(test, CsmsConfig(max_frame_bytes=4096))
    [finding] = [f for f in rec.findings() if "1009" in f.message]
    # compressed, the frame is refused while inflating, before its whole size is known
    size = f" of {len(BIG)} bytes," if compression is None else ""
    assert finding.message == (f"CS-BIG: sent a frame{size} over the harness's limit of 4096 bytes (bench file "
                               "[csms] max_frame_bytes); connection closed with 1009 (message too big)")
    assert finding.station == "CS-BIG" and finding.severity == "error"
    [gone] = rec.events("csms.disconnected")
    assert gone["code"] == 1009 and "exceeds limit of 4096 bytes" in gone["reason"]


def test_the_frame_limit_is_a_bench_file_setting_with_a_sane_floor() -> None:
    assert CsmsConfig().max_frame_bytes == 4 * 2**20
    with pytest.raises(ValueError, match="max_frame_bytes"):
        BenchConfig.model_validate({"name": "b", "kind": "twin", "csms": {"max_frame_bytes": 10},
                                    "stations": [{"id": "CS1"}]})


def test_a_reused_message_id_is_caught_within_the_remembered_window_which_stays_bounded(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            for i in range(SEEN_IDS + 50):
                await ws.send(json.dumps([2, f"m{i}", "Heartbeat", {}]))
                await ws.recv()
            session = h._station("CS1").session
            assert session is not None and len(session._seen_ids) == SEEN_IDS
            await ws.send(json.dumps([2, f"m{SEEN_IDS + 49}", "Heartbeat", {}]))   # the latest: remembered
            await ws.recv()

    rec = run(test)
    assert [f.message for f in rec.findings() if "reused" in f.message] != []


def test_connector_statuses_stay_bounded_for_a_charger_inventing_evse_ids(run: Run) -> None:
    async def test(h: CsmsHarness, rec: Recorder) -> None:
        async with connect(f"{h.url}/CS1", subprotocols=["ocpp2.0.1"]) as ws:
            for evse in range(1, MAX_CONNECTORS + 20):
                await ws.send(json.dumps([2, f"s{evse}", "StatusNotification", {
                    "timestamp": STAMP, "connectorStatus": "Available", "evseId": evse, "connectorId": 1}]))
                await ws.recv()
        st = h._station("CS1")
        assert len(st.status) == len(st.status_order) == MAX_CONNECTORS
        assert h.status("CS1", MAX_CONNECTORS + 19) == "Available" and h.status("CS1", 1) is None

    run(test)


def test_stations_remembered_are_bounded_forgetting_the_longest_disconnected() -> None:
    h = CsmsHarness(Recorder(Clock()), Clock())
    for i in range(MAX_STATIONS + 5):
        h._station(f"SCAN-{i}").disconnected_t = float(i)
    assert len(h.stations()) == MAX_STATIONS
    assert "SCAN-0" not in h.stations() and f"SCAN-{MAX_STATIONS + 4}" in h.stations()
    st = h._station("SCAN-1")   # offline periods: the most recent only
    for i in range(MAX_OFFLINE_PERIODS + 3):
        st.offline.append((float(i), float(i) + 0.5))
    assert h.offline_periods("SCAN-1")[0] == (3.0, 3.5) and len(h.offline_periods("SCAN-1")) == MAX_OFFLINE_PERIODS
