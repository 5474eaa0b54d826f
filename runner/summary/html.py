"""The acceptance summary as one HTML file: inline style, no script, no fetch — it opens from the file system
(double-click, e-mail attachment) and prints with the banner and header on every page."""

from __future__ import annotations

from html import escape

from runner.summary.model import ACCEPTED, NOT_ACCEPTED, SIMULATION_NOTE, Summary

_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 10pt; margin: 1.5em; color: #111; }
h1 { font-size: 15pt; margin: .2em 0; } h2 { font-size: 12pt; margin: 1.2em 0 .3em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin: .3em 0; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.mono, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; word-break: break-all; }
.banner { background: #c00; color: #fff; font-weight: bold; text-align: center; padding: 4px; }
.verdict { font-size: 16pt; font-weight: bold; padding: 6px; border: 2px solid; display: inline-block; }
.v-ACCEPTED { color: #060; } .v-NOT-ACCEPTED { color: #b00; } .v-INCOMPLETE { color: #a60; }
.passed { color: #060; } .failed { color: #b00; font-weight: bold; } .broken { color: #a60; font-weight: bold; }
.skipped { color: #666; } .bad { color: #b00; font-weight: bold; }
.sign td { height: 4em; width: 33%; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 8pt; background: #f6f6f6; padding: 4px; }
@media print { body { margin: 0; } thead { display: table-header-group; } tr { break-inside: avoid; }
               .banner { display: none; } }
"""


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace("\n", " ") + '"'


def _page_css(s: Summary) -> str:
    """Printed from a browser: A4 pages, each with the banner (on a simulation) in the top margin and the
    running header and "page x of y" in the bottom margin (CSS page-margin boxes; the on-screen banners are
    hidden in print, where a fixed element would cover the text)."""
    head = _css_string(f"{s.header.title} — report {s.header.report_number}")
    banner = (f" @top-center {{ content: {_css_string(s.simulation)}; background: #c00; color: #fff;"
              " font: bold 8pt sans-serif; text-align: center; }") if s.simulation else ""
    return ("@page { size: A4; margin: 16mm 12mm 16mm 12mm;" + banner +
            f" @bottom-left {{ content: {head}; font-size: 7pt; }}"
            ' @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 7pt; } }')


def _e(x: object) -> str:
    return escape(str(x))


def _table(head: list[str], rows: list[list[str]], mono: tuple[int, ...] = ()) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td{' class=mono' if i in mono else ''}>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    if not rows:
        out.append(f"<tr><td colspan={len(head)}>none</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _verdict(v: str) -> str:
    return f"<span class={_e(v)}>{_e(v)}</span>"


def render(s: Summary) -> str:
    h = s.header
    banner = f"<div class=banner>{_e(s.simulation)}</div>" if s.simulation else ""
    vclass = {ACCEPTED: "v-ACCEPTED", NOT_ACCEPTED: "v-NOT-ACCEPTED"}.get(s.verdict, "v-INCOMPLETE")
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{_e(h.title)}</title><style>{_CSS}{_page_css(s)}</style></head>",
        "<body>", banner,
        f"<h1>{_e(h.title)}</h1>",
        _table(["Report number", "Laboratory", "Customer", "Order reference", "Operator"],
               [[_e(h.report_number), _e(h.lab), _e(h.customer), _e(h.order), _e(h.operator)]]),
        _table(["Start", "End", "Time zone", "Bench", "Run", "Run status", "Ambient conditions"],
               [[_e(h.started), _e(h.finished), _e(h.zone), _e(h.bench), _e(h.run), _e(h.status), _e(h.ambient)]]),
        "<h2>Overall verdict</h2>",
        f"<div class='verdict {vclass}'>{_e(s.verdict)}</div>",
        f"<p class=bad>{_e(SIMULATION_NOTE)}</p>" * bool(s.simulation),
        "<ul>" + "".join(f"<li>{_e(r)}</li>" for r in s.verdict_reasons) + "</ul>",
        "<p>Scenarios: " + ", ".join(f"{n} {_e(k)}" for k, n in s.counts.items()) + "</p>",
        "<h2>Device under test</h2>",
        _table(["Station", "Vendor", "Model", "Serial number", "Firmware", "Bench file expects", "Check"],
               [[_e(d.station), _e(d.vendor), _e(d.model), f"<b>{_e(d.serial)}</b>", _e(d.firmware), _e(d.expected),
                 ("<span class=bad>" + "<br>".join(_e(c) for c in d.checks) + "</span>") if d.checks
                 else "<span class=passed>matches the bench file</span>"] for d in s.devices]),
        *(f"<p>BootNotification of {_e(d.station)} ({_e(d.proof_file)}):</p><pre>{_e(d.proof)}</pre>"
          for d in s.devices if d.proof),
        "<h2>Equipment</h2>",
        _table(["Instrument", "Identification", "Serial", "Last calibration", "Certificate", "Due", "Uncertainty",
                "Calibration status"],
               [[_e(f"{i.station}.{i.role}"), _e(i.identity), _e(i.serial), _e(i.calibrated), _e(i.certificate),
                 _e(i.due), _e(i.uncertainty), f"<span class={'passed' if i.ok else 'bad'}>{_e(i.status)}</span>"]
                for i in s.instruments]),
        "<h2>Feature matrix (the charger's device model)</h2>",
        _table(["Station", "Feature", "State"], [[_e(f.station), _e(f.feature), _e(f.state)] for f in s.features])
        if s.features else "<p>The device model was not read in this run.</p>",
        "<h2>Billing evidence (signed meter values, OCMF)</h2>",
        _table(["Station", "Transaction", "Signed readings", "Result", "Reason"],
               [[_e(b.station), _e(b.transaction), _e(f"{b.signed} of {b.readings}"),
                 f"<span class={'passed' if b.status == 'verified' else 'bad'}>{_e(b.status)}</span>", _e(b.reason)]
                for b in s.billing]) if s.billing else
        "<p>No signed meter values: the bench file says no charger signs them, and none came signed.</p>",
        "<h2>Requirements</h2>",
        _table(["Requirement", "Title", "Verdict", "Judged by"],
               [[_e(q.ref), _e(q.title), _verdict(q.verdict), "<br>".join(_e(x) for x in q.scenarios)]
                for q in s.requirements]),
        "<h2>Results</h2>",
    ]
    for r in s.results:
        parts.append(f"<h3>{_e(r.spec)} · {_e(r.scenario)} — {_verdict(r.verdict)}</h3>")
        parts.append(f"<p>Requirements: {_e(', '.join(r.refs) or '—')}; spec version {_e(r.version)}; "
                     f"SHA-256 <span class=mono>{_e(r.sha256)}</span>; evidence {_e(r.evidence or '—')}</p>")
        if r.message:
            parts.append(f"<pre>{_e(r.message)}</pre>")
        parts.append(_table(["Line", "Criterion", "Limit", "Measured", "Margin", "Verdict"],
                            [[_e(c.line or ""), _e(c.criterion) + (f"<br><small>{_e(c.when)}</small>" * bool(c.when)),
                              _e(c.limit), _e(c.measured), _e(c.margin),
                              _verdict(c.verdict)] for c in r.checks]))
    parts += [
        "<h2>Deviations</h2>",
        "<ul>" + "".join(f"<li>{_e(d)}</li>" for d in s.deviations) + "</ul>" if s.deviations else "<p>None.</p>",
        "<h2>Signatures</h2>",
        "<table class=sign><thead><tr><th>Tested by (operator)</th><th>Reviewed by (laboratory)</th>"
        "<th>Accepted by (customer)</th></tr></thead><tbody><tr><td></td><td></td><td></td></tr>"
        "<tr><td>Name, date</td><td>Name, date</td><td>Name, date</td></tr></tbody></table>",
        banner, "</body></html>\n",
    ]
    return "".join(parts)
