"""`chargespec proxy`: the relay alone, traffic printed live with its sender, a summary at Ctrl-C."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from lab.loop import LoopThread
from tests.runner.proxy.conftest import TargetCsms

REPO = Path(__file__).resolve().parents[3]


def test_proxy_prints_traffic_by_sender_and_summarises_findings_and_response_times() -> None:
    loop = LoopThread("target-csms")
    target = TargetCsms()
    proc = None
    try:
        url = loop.run(target.start(), 5, "starting the target")
        proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "proxy", "--to", url, "--port", "0"], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        first = ""
        for _ in range(10):   # the harness's own events come first
            first += proc.stdout.readline()
            listening = re.search(r"proxy listening on (ws://[^\s/]+)", first)
            if listening:
                break
        assert listening, first

        async def charger() -> None:
            async with connect(f"{listening.group(1)}/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send('[2,"h1","Heartbeat",{}]')
                await asyncio.wait_for(ws.recv(), 5)
                await ws.send('[2,"s1","StatusNotification",{"evseId":1}]')   # the charger's schema error
                await asyncio.wait_for(ws.recv(), 5)
        asyncio.run(charger())
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out = first + proc.communicate(timeout=15)[0]
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        loop.run(target.stop(), 5, "stopping the target")
        loop.close()
    assert proc.returncode == 0, out
    assert re.search(r"CS1\s+charger → backend\s+CALL Heartbeat", out), out
    assert re.search(r"CS1\s+backend → charger\s+RESULT Heartbeat", out), out
    assert "the charger's StatusNotification request" in out
    assert "findings against the charger: 1 error(s), 0 warning(s)" in out
    assert "findings against the backend: 0 error(s), 0 warning(s)" in out
    assert re.search(r"backend\s+Heartbeat\s+n=1\s", out), out


@pytest.mark.parametrize(("args", "named"), [
    (["--bench", "{bench}"], "{bench}: stations.0.bogus: unknown key"),
    (["--bench", "{absent}"], "{absent}: no such bench file"),
    ([], "--to: to = 'ftp://csms.example': the target CSMS URL starts with ws:// or wss://"),
])
def test_proxy_exits_4_naming_the_bench_file_and_key(tmp_path: Path, args: list[str], named: str) -> None:
    """A bench file (or --to) that cannot work is a usage error, as `chargespec run` says it: exit 4, the
    file and the key on stderr, nothing listening."""
    bench = tmp_path / "bench.toml"
    bench.write_text('name = "x"\nkind = "twin"\n[[stations]]\nid = "CS1"\nbogus = 1\n')
    where = {"bench": str(bench), "absent": str(tmp_path / "absent.toml")}
    to = "ftp://csms.example" if not args else "ws://127.0.0.1:1"
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "proxy", "--to", to, "--port", "0",
                           *[a.format(**where) for a in args]],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"chargespec proxy: {named.format(**where)}" in proc.stderr, proc.stderr
    assert "listening" not in proc.stdout and "Traceback" not in proc.stderr


def test_the_summary_counts_each_finding_against_the_side_it_is_filed_under() -> None:
    """A backend finding that mentions the charger (its offer, its request) is the backend's alone; a fault of
    chargespec's own is neither side's."""
    from instruments.clock import Clock
    from runner.proxy.serve import summary
    from runner.recorder import Recorder

    recorder = Recorder(Clock(1.0))
    recorder.finding("error", "CS1: the backend chose subprotocol none of the charger's offer of ocpp2.0.1",
                     station="CS1 (backend)")
    recorder.finding("warning", "CS1: the backend sent a CALLRESULT for message id 'x' that answers no "
                     "outstanding call of the other side", station="CS1 (backend)")
    recorder.finding("error", "CS1: chargespec fault judging the charger's frame: TypeError",
                     station="CS1 (chargespec)")
    lines = summary(recorder, [])
    assert "findings against the charger: 0 error(s), 0 warning(s)" in lines
    assert "findings against the backend: 1 error(s), 1 warning(s)" in lines
    assert "faults of chargespec's own while relaying: 1 (the traffic's record has a gap)" in lines
