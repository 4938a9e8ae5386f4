"""The report's tables, described once (报告表格): every column with its label, its kind and the outputs that show it.

The three renderers (:mod:`.html`, :mod:`.xlsx`, :mod:`.pdf`) read these descriptions instead of restating their
columns. A table's rows hold raw values keyed by column; the kind decides how an output shows a value — printed
text for HTML and PDF (:func:`text`), a number with a number format for the spreadsheet (:data:`XLSX_FORMATS`).
Where the outputs differ by design it is written here, in one place: the spreadsheet has room for every meter and
every finding and for columns the printed pages leave out (``outputs``); printed pages list the first
:data:`~.model.MAX_LISTED_METERS` meters short of readings and :data:`~.model.MAX_LISTED_ANOMALIES` findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from lingang_twin.core.calendar import SHANGHAI
from lingang_twin.energy.coverage import percent, status_label
from lingang_twin.energy.reports.model import (
    MAX_LISTED_ANOMALIES,
    MAX_LISTED_METERS,
    Report,
    carrier_label,
    display_unit,
    fmt,
    kind_label,
    label,
)

Kind = Literal["text", "number", "optional", "change", "share", "ratio", "count", "thousands", "day"]
Output = Literal["html", "xlsx", "pdf"]
ALL: frozenset[str] = frozenset({"html", "xlsx", "pdf"})
PRINTED: frozenset[str] = frozenset({"html", "pdf"})

XLSX_FORMATS: dict[str, str] = {"number": "#,##0.00", "optional": "#,##0.00", "change": "+0.0%;-0.0%",
                                 "share": "0.0%", "ratio": "0.0%", "day": "yyyy-mm-dd"}
"""The spreadsheet's number format of each kind (kinds not listed keep the cell's default)."""
NUMERIC: frozenset[str] = frozenset({"number", "optional", "change", "share", "ratio", "count", "thousands"})
"""Kinds printed right-aligned (HTML class ``n``)."""


@dataclass(frozen=True)
class Column:
    """One column: ``key`` (its label in :data:`~.model.LABELS` and its key in a row), ``kind`` and the
    ``outputs`` that show it; ``head`` marks the column that heads each row (HTML ``<th>``)."""

    key: str
    kind: Kind = "text"
    outputs: frozenset[str] = ALL
    head: bool = False


@dataclass
class Table:
    """A table of the report: ``columns``, ``rows`` (raw values by column key), an optional ``total`` row, and
    ``printed`` — the rows HTML and PDF list when they list fewer than the spreadsheet (``None``: the same)."""

    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None = None
    printed: list[dict[str, Any]] | None = None
    more: int = 0
    """Rows the printed outputs leave out."""
    extra: dict[str, Any] = field(default_factory=dict)

    def columns_for(self, output: str) -> list[Column]:
        """The columns ``output`` shows, in order."""
        return [c for c in self.columns if output in c.outputs]

    def rows_for(self, output: str) -> list[dict[str, Any]]:
        """The rows ``output`` lists."""
        return self.rows if output == "xlsx" or self.printed is None else self.printed

    def heads(self, output: str, lang: str) -> list[str]:
        """The column labels ``output`` shows, in ``lang``."""
        return [label(c.key, lang) for c in self.columns_for(output)]


def text(column: Column, value: Any, lang: str) -> str:
    """``value`` as the printed outputs show it: figures with thousands separators, "not available" where a
    comparison has no figure, changes with their sign, shares and coverage as percentages."""
    kind = column.kind
    if kind in ("optional", "change", "share", "ratio") and value is None:
        return label("na", lang)
    if value is None:
        return ""
    if kind in ("number", "optional"):
        return fmt(value)
    if kind == "change":
        return f"{value:+.1%}"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "ratio":
        return percent(value)
    if kind == "thousands":
        return f"{value:,}"
    if kind == "day":
        return value.isoformat() if isinstance(value, date) else str(value)
    return str(value)


def cells(table: Table, output: str, lang: str, row: dict[str, Any], *, total: bool = False) -> list[str]:
    """One row as the printed ``output`` shows it (a ``total`` row leaves the columns it does not total blank)."""
    return ["" if total and row.get(c.key) is None else text(c, row.get(c.key), lang)
            for c in table.columns_for(output)]


def short_figure(value: float) -> str:
    """An axis figure in few characters (12.3k, 4.5M): the charts of every output."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g}"


# -------------------------------------------------------------------------------------------------- the tables


def summary(report: Report) -> Table:
    """The totals of the month against the previous month and the same month a year before."""
    lang = report.lang
    rows = [{"indicator": label(key, lang), **c} for key, c in report.comparison().items()]
    return Table("summary", (Column("indicator", head=True), Column("value", "number"),
                             Column("previous", "optional"), Column("mom", "change"),
                             Column("last_year", "optional"), Column("yoy", "change")), rows)


def carriers(report: Report) -> Table:
    """Per carrier: consumption in its unit, kgce, CO₂, cost and their changes; a total row. The spreadsheet adds
    the readings; the PDF, printed landscape beside the summary, leaves out the meter count."""
    lang = report.lang
    rows = []
    for carrier, ca in report.account.carriers.items():
        cc = report.carrier_comparison(carrier)
        rows.append({"carrier": carrier_label(carrier, lang), "consumption": ca.consumption,
                     "unit": display_unit(ca.unit), "kgce": ca.kgce, "kgco2": ca.kgco2, "cost_cny": ca.cost_cny,
                     "mom": cc["mom"], "yoy": cc["yoy"], "meters": len(ca.meters), "readings": ca.readings})
    t = report.totals()
    total = {"carrier": label("total", lang), "kgce": t["kgce"], "kgco2": t["kgco2"], "cost_cny": t["cost_cny"]}
    return Table("carriers", (Column("carrier", head=True), Column("consumption", "number"), Column("unit"),
                              Column("kgce", "number"), Column("kgco2", "number"), Column("cost_cny", "number"),
                              Column("mom", "change"), Column("yoy", "change"),
                              Column("meters", "count", frozenset({"html", "xlsx"})),
                              Column("readings", "count", frozenset({"xlsx"}))), rows, total)


def coverage(report: Report) -> Table | None:
    """Expected and present readings per carrier (``None`` when the report has no coverage)."""
    cov = report.coverage
    if cov is None:
        return None
    lang = report.lang
    rows = [{"carrier": carrier_label(k, lang), "meters": len(c.meters), "expected": c.expected,
             "present": c.present, "missing": c.missing, "ratio": c.ratio, "status": status_label(c.status, lang)}
            for k, c in cov.carriers.items()]
    return Table("coverage", (Column("carrier"), Column("meters", "count"), Column("expected", "thousands"),
                              Column("present", "thousands"), Column("missing", "thousands"),
                              Column("ratio", "ratio"), Column("status")), rows)


def meters(report: Report) -> Table | None:
    """Every meter's coverage (the spreadsheet); the printed outputs list only the meters short of readings
    (empty or partial), most missing first, by their short id."""
    cov = report.coverage
    if cov is None:
        return None
    lang = report.lang

    def row(m: Any, short_id: bool) -> dict[str, Any]:
        return {"meter": m.meter.rsplit(":", 1)[-1] if short_id else m.meter,
                "carrier": carrier_label(m.carrier, lang), "interval": m.interval_min, "expected": m.expected,
                "present": m.present, "missing": m.missing, "status": status_label(m.status, lang)}

    short = sorted((m for m in cov.meters if m.status in ("partial", "empty")), key=lambda m: (-m.missing, m.meter))
    printed = [row(m, True) for m in short]
    for r in printed:  # the printed interval drops a needless ".0"
        r["interval"] = None if r["interval"] is None else f"{r['interval']:g}"
    return Table("meters", (Column("meter"), Column("carrier", outputs=frozenset({"xlsx"})), Column("interval"),
                            Column("expected", "thousands"), Column("present", "thousands"),
                            Column("missing", "thousands", frozenset({"xlsx"})), Column("status")),
                 [row(m, False) for m in cov.meters], printed=printed[:MAX_LISTED_METERS],
                 more=max(len(printed) - MAX_LISTED_METERS, 0))


def daily(report: Report) -> Table:
    """Consumption per day of each carrier (columns named by carrier and unit)."""
    lang = report.lang
    names = list(report.daily)
    rows = [{"day": d, **{c: report.daily[c][k] for c in names}} for k, d in enumerate(report.days)]
    columns = (Column("day", "day"), *(Column(c, "number") for c in names))
    heads = {c: f"{carrier_label(c, lang)} ({display_unit(report.account.carriers[c].unit)})" for c in names}
    return Table("daily", columns, rows, extra={"heads": heads})


def daily_heads(table: Table, output: str, lang: str) -> list[str]:
    """The daily table's labels: the day, then each carrier with its unit."""
    return [label("day", lang)] + [table.extra["heads"][c.key] for c in table.columns_for(output)[1:]]


def ranking(report: Report) -> Table:
    """Buildings below the scope by electricity, largest first (the spreadsheet adds each building's id)."""
    rows = [{"rank": r["rank"], "building": r["name"], "electricity_kwh": r["electricity_kwh"], "share": r["share"],
             "scope": r["building"]} for r in report.ranking]
    return Table("ranking", (Column("rank", "count"), Column("building"), Column("electricity_kwh", "number"),
                             Column("share", "share"), Column("scope", outputs=frozenset({"xlsx"}))), rows)


def anomaly_counts(report: Report) -> Table:
    """Findings per kind (the printed outputs; the spreadsheet lists every finding instead)."""
    rows = [{"kind": kind_label(k, report.lang), "count": n} for k, n in report.anomaly_counts().items()]
    return Table("anomaly_counts", (Column("kind", outputs=PRINTED), Column("count", "count", PRINTED)), rows)


def anomalies(report: Report) -> Table:
    """The month's findings, earliest first: meter, kind, severity, period (Shanghai time), detail; the spreadsheet
    lists every one with the full meter id and whole dates, the printed outputs the first
    :data:`~.model.MAX_LISTED_ANOMALIES` with month-day periods."""
    lang = report.lang

    def row(a: dict[str, Any], stamp: str) -> dict[str, Any]:
        s, e = (datetime.fromisoformat(a[k]).astimezone(SHANGHAI) for k in ("start", "end"))
        return {"meter": a["entity_id"].rsplit(":", 1)[-1], "kind": kind_label(a["kind"], lang),
                "severity": a["severity"], "period": f"{s:{stamp}} – {e:{stamp}}",
                "detail": a["detail_zh"] if lang == "zh" else a["detail_en"], "scope": a["entity_id"]}

    listed = report.anomalies[:MAX_LISTED_ANOMALIES]
    return Table("anomalies", (Column("meter"), Column("kind"), Column("severity"), Column("period"),
                               Column("detail"), Column("scope", outputs=frozenset({"xlsx"}))),
                 [row(a, "%Y-%m-%d %H:%M") for a in report.anomalies],
                 printed=[row(a, "%m-%d %H:%M") for a in listed],
                 more=max(len(report.anomalies) - MAX_LISTED_ANOMALIES, 0))


def basis(report: Report) -> Table:
    """Every coefficient, factor, allocation and tariff behind the figures, with source and year."""
    return Table("basis", tuple(Column(k) for k in ("section", "item", "value", "unit", "source", "year", "note")),
                 report.basis_rows())


__all__ = ["ALL", "PRINTED", "XLSX_FORMATS", "Column", "Table", "anomalies", "anomaly_counts", "basis", "carriers",
           "cells", "coverage", "daily", "daily_heads", "meters", "ranking", "short_figure", "summary",
           "text"]
