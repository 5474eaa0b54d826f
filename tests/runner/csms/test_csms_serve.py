"""`chargespec csms` in a subprocess: a charger connects and its connection and frames are printed live."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from runner.csms.serve import main

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}


class Output:
    """Collects a subprocess's stdout on a thread so the test can wait for a line without blocking."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.text = ""
        self._lock = threading.Lock()
        assert proc.stdout is not None
        threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True).start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._lock:
                self.text += line

    def wait_for(self, pattern: str, seconds: float = 10) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                m = re.search(pattern, self.text)
            if m:
                return m
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} never appeared in the output:\n{self.text}")


def test_serve_prints_connections_and_frames_and_stops_on_sigterm(tmp_path: Path) -> None:
    code = "import sys; from runner.csms.serve import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-u", "-c", code, "--port", "0", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out = Output(proc)
        url = out.wait_for(r"listening on (ws://127\.0\.0\.1:\d+)").group(1)

        async def charger() -> list[object]:
            async with connect(f"{url}/CS-COMM-1", subprotocols=["ocpp2.0.1"]) as ws:
                await ws.send(json.dumps([2, "b1", "BootNotification", BOOT]))
                return json.loads(await ws.recv())
        answer = asyncio.run(charger())
        assert answer[0] == 3 and answer[2]["status"] == "Accepted"
        out.wait_for(r"csms\.connected station=CS-COMM-1 remote=127\.0\.0\.1:\d+")
        out.wait_for(r"CS-COMM-1  charger → csms  CALL BootNotification  \[2,\"b1\",\"BootNotification\"")
        out.wait_for(r"CS-COMM-1  csms → charger  RESULT BootNotification")
        out.wait_for(r"csms\.disconnected station=CS-COMM-1")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        out.wait_for(r'stopped; transactions per station: \{"CS-COMM-1": 0\}')
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    frames = [json.loads(line) for line in (tmp_path / "ocpp.jsonl").read_text().splitlines()]
    assert [f["direction"] for f in frames] == ["rx", "tx"]


def test_serve_reports_a_bad_bench_file_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text('name = "x"\nkind = "physical"\n[csms]\nsecurity_profile = 3\n[[stations]]\nid = "CS1"\n')
    assert main(["--port", "0", "--bench", str(bench)]) == 4  # a usage error (runner/exitcodes.py)
    printed = capsys.readouterr().err
    assert "chargespec csms:" in printed and "set certfile" in printed and "bench.toml" in printed
    assert "Traceback" not in printed


REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("bench_text", "named"), [
    ('name = "x"\nkind = "twin"\n[[stations]]\nid = "CS1"\nbogus = 1\n', "stations.0.bogus: unknown key"),
    # a certificate the bench file names that is not there: found only when the harness starts
    ('name = "x"\nkind = "physical"\n[csms]\nsecurity_profile = 2\npassword = "0123456789abcdefgh"\n'
     'certfile = "absent.pem"\nkeyfile = "absent.key"\n[[stations]]\nid = "CS1"\n',
     "[csms] certfile = 'absent.pem': no such file"),
])
def test_chargespec_csms_exits_4_naming_the_bench_file_and_key(tmp_path: Path, bench_text: str, named: str) -> None:
    """As `chargespec run` exits on a bench-file error: 4, the file and the key on stderr, nothing started.
    (The csms command's own options pass through: --max-frame-bytes is the serve module's.)"""
    bench = tmp_path / "bench.toml"
    bench.write_text(bench_text)
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "csms", "--port", "0", "--max-frame-bytes", "2048",
                           "--bench", str(bench)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"chargespec csms: {bench}: " in proc.stderr and named in proc.stderr, proc.stderr
    assert "listening" not in proc.stdout and "Traceback" not in proc.stderr


def test_chargespec_csms_listens_where_the_bench_file_says(tmp_path: Path) -> None:
    """`chargespec csms --bench FILE` listens on the bench file's [csms] host (--host overrides it only
    when given), and stops with exit 0 on SIGTERM."""
    bench = tmp_path / "bench.toml"
    bench.write_text('name = "x"\nkind = "twin"\n[csms]\nhost = "127.0.0.2"\n[[stations]]\nid = "CS1"\n')
    proc = subprocess.Popen([sys.executable, "-u", "-m", "runner.cli", "csms", "--port", "0", "--bench", str(bench)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        Output(proc).wait_for(r"listening on ws://127\.0\.0\.2:\d+", 30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_the_frame_limit_comes_from_the_option_else_the_bench_file(capsys: pytest.CaptureFixture[str]) -> None:
    from runner.csms.serve import _config, _parser

    assert _config(_parser().parse_args(["--max-frame-bytes", "2048"]))[0].max_frame_bytes == 2048
    bench = str(Path(__file__).resolve().parents[3] / "lab" / "benches" / "twin.toml")
    assert _config(_parser().parse_args(["--bench", bench]))[0].max_frame_bytes == 4 * 2**20
    assert _config(_parser().parse_args(["--bench", bench, "--max-frame-bytes", "4096"]))[0].max_frame_bytes == 4096
    with pytest.raises(SystemExit) as usage:
        _parser().parse_args(["--max-frame-bytes", "12"])
    assert usage.value.code == 4  # a usage error (runner/exitcodes.py), not argparse's 2 ("interrupted")
    assert "--max-frame-bytes: 12 is below the smallest limit, 1024 bytes" in capsys.readouterr().err
