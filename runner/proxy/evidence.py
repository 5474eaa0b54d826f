"""What proxy mode adds to a scenario's evidence: the backend's protocol errors and the response times.

Called at the end of each scenario (runner/execute.py) when the bench relays to a target CSMS. The backend's
findings are filed under "<id> (backend)" (relay.py) so that strict mode never holds them against the
charger; here they become a note. The response times per action and answering side go to the notes and to
`response_times.json` in the scenario's evidence folder, the calls left without an answer counted apart:
`unanswered`, `in_flight` (the scenario ended within 30 s of the call) and `open_at_close` (the connection
closed first; timing.py). A fault of chargespec's own while relaying (filed under "<id> (chargespec)")
leaves a gap in what the bench derived from the traffic: the scenario is broken (runner/execute.py
`own_faults`), never a pass resting on the gap.
"""

from __future__ import annotations

import json
import math
from typing import Any

from runner.proxy.timing import relayed, response_times
from runner.recorder import finding_station


def after_scenario(run: Any) -> None:
    sid = run.station.id
    backend = [f for f in run.recorder.findings() if f.station == finding_station(sid, "backend")
               and f.severity in ("error", "warning")]
    if backend:
        run.note(f"the backend broke the OCPP 2.0.1 protocol {len(backend)} time(s) (proxy mode; not the "
                 "charger's failure): " + "; ".join(f.message for f in backend[:3]))
    injected = {e.get("unique_id") for e in run.recorder.events("proxy.injected")}
    figures = response_times(run.recorder.frames(station=sid), injected, relayed(run.recorder, sid),
                             now=run.clock.now())
    if not figures:
        return
    run.note("response times (proxy mode):\n" + "\n".join("  " + f.text() for f in figures.values()))
    if run.recorder.directory is not None:
        def ms(v: float) -> float | None:
            return None if math.isnan(v) else round(v * 1000, 3)
        rows = [{"side": f.side, "action": f.action, "count": f.count, "p50_ms": ms(f.p50), "p95_ms": ms(f.p95),
                 "max_ms": ms(f.max), "unanswered": f.unanswered,
                 "in_flight": f.in_flight, "open_at_close": f.open_at_close} for f in figures.values()]
        (run.recorder.directory / "response_times.json").write_text(json.dumps(rows, indent=1) + "\n",
                                                                     encoding="utf-8")
