"""The report as an A4 landscape PDF (reportlab platypus), from the tables of :mod:`.tables`.

Tables and charts in one embedded font that draws Chinese, m³ and 10⁴ (:mod:`.font`); each chart is a reportlab
``Drawing`` whose bar chart holds the same figures as the table beside it.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path
from typing import Any

from lingang_twin.energy.coverage import status_label
from lingang_twin.energy.reports import tables
from lingang_twin.energy.reports.font import ReportFont, report_font
from lingang_twin.energy.reports.model import Report, carrier_label, display_unit, label
from lingang_twin.energy.reports.tables import Table, short_figure


def pdf_story(report: Report) -> list[Any]:
    """The PDF report's flowables (reportlab platypus), tables and charts in reading order; :func:`to_pdf` builds
    them into a file."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    font = report_font()
    lang = report.lang
    styles = {size: ParagraphStyle(f"{font.name}{size}", fontName=font.name, fontSize=size, leading=size * 1.3)
              for size in (8, 11, 16)}

    def para(text: Any, size: int = 8) -> Paragraph:
        s = font.text("" if text is None else str(text))
        return Paragraph(html.escape(s), styles[size])

    def grid(rows: list[list[Any]], widths: list[float] | None = None) -> PdfTable:
        t = PdfTable([[para(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font.name),  # else the cells start in Helvetica
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#cbd2d9")),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4f0f6")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        return t

    def table(t: Table, widths: list[float] | None = None, heads: list[str] | None = None) -> PdfTable:
        rows = [tables.cells(t, "pdf", lang, r) for r in t.rows_for("pdf")]
        if t.total is not None:
            rows.append(tables.cells(t, "pdf", lang, t.total, total=True))
        return grid([heads if heads is not None else t.heads("pdf", lang), *rows], widths)

    def unit_of(carrier: str) -> str:
        return display_unit(report.account.carriers[carrier].unit)

    L = lambda key: label(key, lang)  # noqa: E731
    story: list[Any] = [para(L("title"), 16), Spacer(1, 2 * mm),
                        para(f"{L('scope')}: {report.scope_name} ({report.scope})  {L('month')}: {report.month}", 11),
                        Spacer(1, 4 * mm)]
    if report.issues:
        story += [para(L("issues"), 11)] + [para(f"• {report.issue_text(i)}") for i in report.issues]
        story.append(Spacer(1, 4 * mm))
    story += [para(L("summary"), 11), table(tables.summary(report)), Spacer(1, 4 * mm), para(L("carriers"), 11),
              table(tables.carriers(report)), Spacer(1, 4 * mm)]
    cov, cov_table, meters = report.coverage, tables.coverage(report), tables.meters(report)
    if cov is not None and cov_table is not None and meters is not None:
        story += [para(L("coverage"), 11), para(f"{L('until')}: {cov.until.isoformat(timespec='minutes')} · "
                                                 f"{status_label(cov.status, lang)}"), table(cov_table)]
        if meters.printed:
            story += [Spacer(1, 2 * mm), para(L("short_meters")),
                      table(meters, [70 * mm, 25 * mm, 25 * mm, 25 * mm, 30 * mm])]
            if meters.more:
                story.append(para(L("more_meters").format(n=meters.more)))
        story.append(Spacer(1, 4 * mm))
    story.append(para(L("daily"), 11))
    carriers = list(report.daily)
    charts = [_daily_drawing(report.daily[c], report.days, font,
                             font.text(L("chart_daily").format(carrier=carrier_label(c, lang)) + f" ({unit_of(c)})"))
              for c in carriers]
    if charts:  # two charts a row
        rows = [charts[k:k + 2] + [""] * (2 - len(charts[k:k + 2])) for k in range(0, len(charts), 2)]
        story.append(PdfTable(rows, colWidths=[135 * mm, 135 * mm], style=[("FONT", (0, 0), (-1, -1), font.name)]))
    daily = tables.daily(report)
    story += [table(daily, heads=tables.daily_heads(daily, "pdf", lang)), Spacer(1, 4 * mm)]
    if report.scope_type not in ("Meter", "Building"):
        story.append(para(L("ranking"), 11))
        if report.ranking:
            top = report.chart_ranking()
            story.append(_ranking_drawing(top, font, font.text(L("chart_ranking").format(n=len(top)))))
            story.append(table(tables.ranking(report)))
        else:
            story.append(para(L("no_buildings")))
        story.append(Spacer(1, 4 * mm))
    story.append(para(L("anomalies"), 11))
    if report.anomalies:
        listed = tables.anomalies(report)
        story += [table(tables.anomaly_counts(report), [50 * mm, 20 * mm]), Spacer(1, 2 * mm),
                  table(listed, [55 * mm, 28 * mm, 18 * mm, 40 * mm, 130 * mm])]
        if listed.more:
            story.append(para(L("more_anomalies").format(n=listed.more)))
    else:
        story.append(para(L("no_anomalies")))
    story += [Spacer(1, 4 * mm), para(L("basis"), 11),
              table(tables.basis(report), [28 * mm, 26 * mm, 22 * mm, 20 * mm, 50 * mm, 14 * mm, 110 * mm])]
    return story


def _daily_drawing(values: list[float], days: list[date], font: ReportFont, title: str) -> Any:
    """One carrier's daily consumption as a reportlab bar chart (a ``Drawing``)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing

    width, height = 370, 150
    drawing = Drawing(width, height, initialFontName=font.name)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 45, 22, width - 55, height - 45
    chart.data = [list(values)]
    chart.categoryAxis.categoryNames = [f"{d.day}" for d in days]
    return _styled(drawing, chart, font, title, category_size=6)


def _styled(drawing: Any, chart: Any, font: ReportFont, title: str, category_size: int) -> Any:
    """The reports' one bar-chart style: the embedded font on every label, bars in the house blue from zero, short
    value labels; ``chart`` and a title added to ``drawing``."""
    from reportlab.graphics.shapes import String
    from reportlab.lib import colors

    chart.categoryAxis.labels.fontName = font.name
    chart.categoryAxis.labels.fontSize = category_size
    chart.valueAxis.labels.fontName = font.name
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = short_figure
    chart.bars[0].fillColor = colors.HexColor("#0b6e99")
    chart.bars[0].strokeColor = None
    chart.barLabels.fontName = font.name
    drawing.add(chart, name="chart")
    drawing.add(String(5, drawing.height - 12, title, fontName=font.name, fontSize=9))
    return drawing


def _ranking_drawing(top: list[dict[str, Any]], font: ReportFont, title: str) -> Any:
    """The largest buildings by electricity [kWh] as a horizontal reportlab bar chart, largest at the top."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing

    row_h = 14
    width, height = 700, row_h * len(top) + 45
    drawing = Drawing(width, height, initialFontName=font.name)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 230, 20, width - 280, row_h * len(top)
    # reportlab draws the first category at the bottom: reversed, the largest building sits on top.
    chart.data = [[r["electricity_kwh"] for r in reversed(top)]]
    chart.categoryAxis.categoryNames = [font.text(str(r["name"]))[:34] for r in reversed(top)]
    return _styled(drawing, chart, font, title, category_size=7)


def to_pdf(report: Report, path: str | Path) -> None:
    """The report as an A4 landscape PDF at ``path`` (reportlab): tables and charts in one embedded font."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    # The canvas would otherwise start in Helvetica, a font the reader must substitute: one embedded font only.
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, initialFontName=report_font().name,
                            title=f"{label('title', report.lang)} {report.month}", author="Lingang Twin")
    doc.build(pdf_story(report))


__all__ = ["pdf_story", "to_pdf"]
