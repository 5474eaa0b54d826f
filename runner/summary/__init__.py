"""The acceptance summary: what a contract manager prints, signs and attaches to a purchase sign-off.

    files = build(Path("out/latest"), Path("out/summary"))   # -> Files(html=.../summary.html, pdf=.../summary.pdf)

Built from a run folder alone (model.py says from which files), as one HTML file that opens from the file
system (html.py) and as PDF (pdf.py). `chargespec run` builds it at the end of every run, into the run
folder; `chargespec report RUN -o DIR` builds it again for any run folder, finished or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.summary import html, model

HTML_NAME, PDF_NAME = "summary.html", "summary.pdf"


@dataclass(frozen=True)
class Files:
    html: Path
    pdf: Path
    verdict: str
    simulation: str = ""  # the banner on every page ("" on a physical bench without faults)


def build(folder: Path, target: Path) -> Files:
    """Write summary.html and summary.pdf for the run folder `folder` into `target` (created if needed)."""
    from runner.summary import pdf  # reportlab: only when a summary is made

    summary = model.read(Path(folder))
    target.mkdir(parents=True, exist_ok=True)
    h = target / HTML_NAME
    h.write_text(html.render(summary), encoding="utf-8")
    p = pdf.render(summary, target / PDF_NAME)
    return Files(html=h, pdf=p, verdict=summary.verdict, simulation=summary.simulation)
