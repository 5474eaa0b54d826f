"""The acceptance summary as PDF (reportlab): the same content as the HTML, laid out for A4 paper.

Every page carries the running header (title, report number), "page x of y" and, on the twin or with a
fault knob, the simulation banner: a page torn from the stack still says what it belongs to and that it is
not valid for acceptance. The font is DejaVu Sans, shipped with matplotlib (a dependency already): it has
the ±, Ω and → the figures use, which the PDF base fonts lack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from runner.summary.model import ACCEPTED, NOT_ACCEPTED, SIMULATION_NOTE, Summary

FONT, BOLD, MONO = "CS-Sans", "CS-Sans-Bold", "CS-Mono"
_MARGIN = 15 * mm
_TOP = 30 * mm  # room for the banner and the running header
_VERDICT_COLOUR = {"passed": "#006600", "failed": "#bb0000", "broken": "#aa6600", "skipped": "#666666"}


def _fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFont(TTFont(MONO, str(ttf / "DejaVuSansMono.ttf")))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=10.5)
    return {
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=6.5, leading=8),
        "h1": ParagraphStyle("h1", parent=base, fontName=BOLD, fontSize=13, leading=16, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=10.5, leading=13, spaceBefore=8,
                             spaceAfter=3),
        "h3": ParagraphStyle("h3", parent=base, fontName=BOLD, fontSize=8.5, leading=11, spaceBefore=5),
        "verdict": ParagraphStyle("verdict", parent=base, fontName=BOLD, fontSize=16, leading=20, spaceAfter=4),
    }


def _numbered_canvas(summary: Summary) -> type[rl_canvas.Canvas]:
    """A canvas that holds its pages until the end, so each can say "page x of y" (y known only then)."""
    title = f"{summary.header.title} — report {summary.header.report_number}"

    class Numbered(rl_canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for n, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                self._decorate(n, total)
                super().showPage()
            super().save()

        def _decorate(self, n: int, total: int) -> None:
            width, height = A4
            y = height - 10 * mm
            if summary.simulation:
                self.setFillColor(colors.HexColor("#cc0000"))
                self.rect(0, height - 13 * mm, width, 13 * mm, stroke=0, fill=1)
                self.setFillColor(colors.white)
                self.setFont(BOLD, 8)
                self.drawCentredString(width / 2, height - 8.5 * mm, summary.simulation[:160])
                y = height - 19 * mm
            self.setFillColor(colors.black)
            self.setFont(FONT, 7.5)
            self.drawString(_MARGIN, y, title[:150])
            self.drawRightString(width - _MARGIN, y, f"page {n} of {total}")
            self.setStrokeColor(colors.grey)
            self.line(_MARGIN, y - 2 * mm, width - _MARGIN, y - 2 * mm)
            self.setFont(FONT, 7)
            self.drawString(_MARGIN, 8 * mm, f"Verdict: {summary.verdict} · run {summary.header.run}")
            self.drawRightString(width - _MARGIN, 8 * mm, f"page {n} of {total}")

    return Numbered


def _p(text: object, style: ParagraphStyle, colour: str | None = None) -> Paragraph:
    body = escape(str(text)).replace("\n", "<br/>")
    return Paragraph(f'<font color="{colour}">{body}</font>' if colour else body, style)


def _table(head: list[str], rows: list[list[Any]], widths: list[float], st: dict[str, ParagraphStyle]) -> LongTable:
    cells = [[_p(h, st["cell"]) for h in head]]
    for row in rows or [["none"] + [""] * (len(head) - 1)]:
        cells.append([c if isinstance(c, Paragraph) else _p(c, st["cell"]) for c in row])
    total = A4[0] - 2 * _MARGIN
    t = LongTable(cells, colWidths=[w * total for w in widths], repeatRows=1)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return t


def _v(verdict: str, st: dict[str, ParagraphStyle]) -> Paragraph:
    return _p(verdict, st["cell"], _VERDICT_COLOUR.get(verdict))


def render(summary: Summary, target: Path) -> Path:
    _fonts()
    st = _styles()
    s, h = summary, summary.header
    story: list[Any] = [
        _p(h.title, st["h1"]),
        _table(["Report number", "Laboratory", "Customer", "Order reference", "Operator"],
               [[h.report_number, h.lab, h.customer, h.order, h.operator]], [.2, .2, .2, .2, .2], st),
        Spacer(1, 2 * mm),
        _table(["Start", "End", "Zone", "Bench", "Run status", "Ambient"],
               [[h.started, h.finished, h.zone, h.bench, h.status, h.ambient]], [.2, .2, .1, .15, .15, .2], st),
        _p("Overall verdict", st["h2"]),
        _p(s.verdict, st["verdict"], {ACCEPTED: "#006600", NOT_ACCEPTED: "#bb0000"}.get(s.verdict, "#aa6600")),
        *([_p(SIMULATION_NOTE, st["body"], "#bb0000")] if s.simulation else []),
        *(_p(f"• {r}", st["body"]) for r in s.verdict_reasons),
        _p("Scenarios: " + ", ".join(f"{n} {k}" for k, n in s.counts.items()), st["body"]),
        _p("Device under test", st["h2"]),
        _table(["Station", "Vendor", "Model", "Serial number", "Firmware", "Check against the bench file"],
               [[d.station, d.vendor, d.model, d.serial, d.firmware,
                 _p("; ".join(d.checks), st["cell"], "#bb0000") if d.checks
                 else _p("matches the bench file", st["cell"], "#006600")] for d in s.devices],
               [.17, .15, .14, .2, .1, .24], st),
    ]
    for d in s.devices:
        story.append(_p(f"The bench file expects of {d.station}: {d.expected}.", st["body"]))
        if d.proof:
            story += [_p(f"BootNotification of {d.station} ({d.proof_file}):", st["body"]), _p(d.proof, st["mono"])]
    story += [
        _p("Equipment", st["h2"]),
        _table(["Instrument (identification)", "Serial", "Calibrated", "Certificate", "Due", "Uncertainty",
                "Calibration status"],
               [[f"{i.station}.{i.role}\n{i.identity}", i.serial, i.calibrated, i.certificate, i.due, i.uncertainty,
                 _p(i.status, st["cell"], "#006600" if i.ok else "#bb0000")] for i in s.instruments],
               [.2, .19, .11, .12, .11, .12, .15], st),
        _p("Feature matrix (the charger's device model)", st["h2"]),
        _table(["Station", "Feature", "State"], [[f.station, f.feature, f.state] for f in s.features],
               [.2, .45, .35], st) if s.features else _p("The device model was not read in this run.", st["body"]),
        _p("Billing evidence (signed meter values, OCMF)", st["h2"]),
        _table(["Station", "Transaction", "Signed readings", "Result", "Reason"],
               [[b.station, b.transaction, f"{b.signed} of {b.readings}",
                 _p(b.status, st["cell"], "#006600" if b.status == "verified" else "#bb0000"), b.reason]
                for b in s.billing], [.18, .26, .09, .11, .36], st) if s.billing else
        _p("No signed meter values: the bench file says no charger signs them, and none came signed.", st["body"]),
        _p("Requirements", st["h2"]),
        _table(["Requirement", "Title", "Verdict", "Judged by"],
               [[q.ref, q.title, _v(q.verdict, st), "\n".join(q.scenarios)] for q in s.requirements],
               [.2, .3, .1, .4], st),
        _p("Results", st["h2"]),
    ]
    for r in s.results:
        story += [
            _p(f"{r.spec} · {r.scenario} — {r.verdict}", st["h3"], _VERDICT_COLOUR.get(r.verdict)),
            _p(f"Requirements: {', '.join(r.refs) or '—'}; spec version {r.version}; evidence {r.evidence or '—'}",
               st["cell"]),
            _p(f"SHA-256 {r.sha256}", st["mono"]),
        ]
        if r.message:
            story.append(_p(r.message, st["mono"]))
        story.append(_table(["Line", "Criterion", "Limit", "Measured", "Margin", "Verdict"],
                            [[c.line or "", _p(c.criterion, st["cell"]) if not c.when else
                              Paragraph(f"{escape(c.criterion)}<br/><font size=6>{escape(c.when)}</font>", st["cell"]),
                              c.limit, c.measured, c.margin, _v(c.verdict, st)]
                             for c in r.checks], [.06, .4, .13, .15, .16, .1], st))
    story += [_p("Deviations", st["h2"]), *(_p(f"• {d}", st["body"]) for d in s.deviations)]
    if not s.deviations:
        story.append(_p("None.", st["body"]))
    story += [_p("Signatures", st["h2"]),
              _table(["Tested by (operator)", "Reviewed by (laboratory)", "Accepted by (customer)"],
                     [["\n\n\n", "", ""], ["Name, date", "Name, date", "Name, date"]], [1 / 3] * 3, st)]
    doc = SimpleDocTemplate(str(target), pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_TOP,
                            bottomMargin=15 * mm, title=h.title, author=h.lab, subject=f"report {h.report_number}")
    doc.build(story, canvasmaker=_numbered_canvas(summary))
    return target
