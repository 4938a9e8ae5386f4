"""The report as an Excel workbook (openpyxl), from the tables of :mod:`.tables`.

Sheets summary, carriers, coverage, daily (a bar chart per carrier), ranking (a chart of the largest buildings),
anomalies, basis. Figures are numbers with the number format of their kind, not text; "not available" comparisons
are empty cells with a note; the charts read the sheets' own cells. The spreadsheet has room: every meter's
coverage and every finding, where the printed outputs list the first ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lingang_twin.energy.coverage import status_label
from lingang_twin.energy.reports import tables
from lingang_twin.energy.reports.model import LABELS, Report, carrier_label, display_unit, label
from lingang_twin.energy.reports.tables import XLSX_FORMATS, Table


def to_xlsx(report: Report, path: str | Path) -> None:
    """The report as an Excel workbook at ``path`` (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    lang = report.lang
    bold = Font(bold=True)
    wb = Workbook()

    def header(sheet: Any, *keys: str) -> None:
        sheet.append([label(k, lang) if k in LABELS else k for k in keys])
        for c in sheet[sheet.max_row]:
            c.font = bold

    def write(sheet: Any, table: Table, *, heads: list[str] | None = None) -> None:
        """The table's header, rows and total row, each value in its column's number format."""
        columns = table.columns_for("xlsx")
        if heads is None:
            header(sheet, *(c.key for c in columns))
        else:
            sheet.append(heads)
            for c in sheet[sheet.max_row]:
                c.font = bold
        for row in [*table.rows_for("xlsx"), *([table.total] if table.total is not None else [])]:
            sheet.append([row.get(c.key) for c in columns])
            for j, c in enumerate(columns, start=1):
                number_format = XLSX_FORMATS.get(c.kind)
                if number_format is not None and row.get(c.key) is not None:
                    sheet.cell(sheet.max_row, j).number_format = number_format

    ws = wb.active
    ws.title = "summary"
    ws.append([label("title", lang)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([label("scope", lang), report.scope_name, report.scope])
    ws.append([label("month", lang), report.month])
    ws.append([])
    write(ws, tables.summary(report))
    ws.append([])
    ws.append([f"{label('na', lang)}: " + ("空单元格表示该月无读数" if lang == "zh"
                                          else "an empty cell means that month has no readings")])
    if report.issues:
        ws.append([])
        ws.append([label("issues", lang)])
        ws.cell(ws.max_row, 1).font = bold
        for issue in report.issues:
            ws.append([issue["rule"], report.issue_text(issue)])

    write(wb.create_sheet("carriers"), tables.carriers(report))

    wv = wb.create_sheet("coverage")
    cov, cov_table, meters = report.coverage, tables.coverage(report), tables.meters(report)
    if cov is not None and cov_table is not None and meters is not None:
        wv.append([label("until", lang), cov.until.replace(tzinfo=None), status_label(cov.status, lang)])
        wv.cell(1, 2).number_format = "yyyy-mm-dd hh:mm"
        write(wv, cov_table)
        wv.append([])
        write(wv, meters)  # every meter: a spreadsheet has room

    wd = wb.create_sheet("daily")
    daily = tables.daily(report)
    write(wd, daily, heads=tables.daily_heads(daily, "xlsx", lang))
    carriers = list(report.daily)
    n_days = len(report.days)
    for j, carrier in enumerate(carriers):
        chart = BarChart()
        chart.title = label("chart_daily", lang).format(carrier=carrier_label(carrier, lang))
        chart.y_axis.title = display_unit(report.account.carriers[carrier].unit)
        chart.legend = None
        chart.add_data(Reference(wd, min_col=j + 2, min_row=1, max_row=n_days + 1), titles_from_data=True)
        chart.set_categories(Reference(wd, min_col=1, min_row=2, max_row=n_days + 1))
        chart.height, chart.width = 6.5, 16
        wd.add_chart(chart, f"{_column(len(carriers) + 3)}{1 + 14 * j}")

    wr = wb.create_sheet("ranking")
    write(wr, tables.ranking(report))
    top = report.chart_ranking()
    if top:
        chart = BarChart()
        chart.type = "bar"  # horizontal: building names read along the axis
        chart.title = label("chart_ranking", lang).format(n=len(top))
        chart.legend = None
        chart.add_data(Reference(wr, min_col=3, min_row=1, max_row=len(top) + 1), titles_from_data=True)
        chart.set_categories(Reference(wr, min_col=2, min_row=2, max_row=len(top) + 1))
        chart.y_axis.scaling.orientation = "minMax"
        chart.x_axis.scaling.orientation = "maxMin"  # largest at the top, as in the table
        chart.height, chart.width = 10, 18
        wr.add_chart(chart, "G2")

    wa = wb.create_sheet("anomalies")
    write(wa, tables.anomalies(report))  # every finding: a spreadsheet has room
    if not report.anomalies:
        wa.append([label("no_anomalies", lang)])

    write(wb.create_sheet("basis"), tables.basis(report))
    for sheet in wb.worksheets:
        sheet.column_dimensions["A"].width = 22
        for letter in "BCDEFG":
            sheet.column_dimensions[letter].width = 16
    wb.save(str(path))


def _column(n: int) -> str:
    """The spreadsheet column letter(s) of the 1-based column ``n``."""
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


__all__ = ["to_xlsx"]
