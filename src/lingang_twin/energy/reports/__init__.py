"""Monthly energy reports (月度能耗报告): one month of a scope gathered as a :class:`~.model.Report` (:mod:`.model`),
its tables described once (:mod:`.tables`) and rendered as HTML (:mod:`.html`, a Jinja2 template), XLSX
(:mod:`.xlsx`) and PDF (:mod:`.pdf`, in the font of :mod:`.font`).
"""

from __future__ import annotations

from pathlib import Path

from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.reports.html import to_html
from lingang_twin.energy.reports.model import (
    KIND_LABELS,
    LABELS,
    Report,
    change,
    display_name,
    display_unit,
    fmt,
    kind_label,
    label,
    monthly_report,
)
from lingang_twin.energy.reports.pdf import pdf_story, to_pdf
from lingang_twin.energy.reports.xlsx import to_xlsx

FORMATS = ("html", "xlsx", "pdf")


def render(report: Report, fmt_name: str, path: str | Path) -> None:
    """Write ``report`` as ``fmt_name`` (html, xlsx or pdf) to ``path``."""
    if fmt_name == "html":
        Path(path).write_text(to_html(report), encoding="utf-8")
    elif fmt_name == "xlsx":
        to_xlsx(report, path)
    elif fmt_name == "pdf":
        to_pdf(report, path)
    else:
        raise ValidationError("format", "format-unknown", f"unknown format {fmt_name!r}; valid: html, xlsx, pdf",
                              value=fmt_name)


__all__ = ["FORMATS", "KIND_LABELS", "LABELS", "Report", "change", "display_name", "display_unit", "fmt",
           "kind_label", "label", "monthly_report", "pdf_story", "render", "to_html", "to_pdf", "to_xlsx"]
