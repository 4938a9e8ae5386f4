"""The report as one self-contained HTML page: a Jinja2 template over the tables of :mod:`.tables`.

The template holds the page's structure only; what each table shows comes from its description, and every value is
escaped by the template engine (autoescape), so a building named ``<b>`` prints as text. Charts are inline SVG (no
external asset, no script): each bar carries its figure and label, so a test or a reader can check a chart against
the table beside it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined, Template
from markupsafe import Markup

from lingang_twin.energy.coverage import status_label
from lingang_twin.energy.reports import tables
from lingang_twin.energy.reports.model import Report, carrier_label, display_unit, fmt, label
from lingang_twin.energy.reports.tables import NUMERIC, Table, short_figure

_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",Arial,sans-serif;margin:24px;color:#1f2933}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px;border-bottom:2px solid #0b6e99}
.meta{color:#52606d;font-size:13px}table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{border:1px solid #cbd2d9;padding:4px 8px}th{background:#e4f0f6;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.na{color:#9aa5b1}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts figure{margin:0;font-size:12px}
.charts figcaption{font-weight:600;margin-bottom:2px}.chart text{font-size:10px;fill:#52606d}
.issues{border-left:4px solid #b7791f;background:#fffbea;color:#5c3c00;padding:6px 12px;margin:12px 0}
.issues li{margin:2px 0}
"""

# Rows stay on one line each (readers and tests read a row as one line); blocks are separated by newlines.
_TEMPLATE = """\
{%- macro grid(t) -%}
<table><tr>{% for h in t.heads %}<th>{{ h }}</th>{% endfor %}</tr>
{%- for row in t.rows %}<tr>{% for c in row %}{% if c.tag == "th" %}<th>{{ c.text }}</th>
{%- elif c.cls is none %}<td>{{ c.text }}</td>{% else %}<td class="{{ c.cls }}">{{ c.text }}</td>{% endif %}
{%- endfor %}</tr>{% endfor %}</table>
{%- endmacro -%}
<!DOCTYPE html><html lang="{{ html_lang }}"><head><meta charset="utf-8">
<title>{{ L.title }} · {{ r.scope_name }} · {{ r.month }}</title><style>{{ css }}</style></head><body>
<h1>{{ L.title }}</h1>
<p class="meta">{{ L.scope }}: {{ r.scope_name }} ({{ r.scope }}) · {{ L.month }}: {{ r.month }} · {{ L.generated }}: \
{{ generated }}</p>
{% if issues %}<div class="issues"><b>{{ L.issues }}</b><ul>
{%- for i in issues %}<li data-rule="{{ i.rule }}">{{ i.text }}</li>{% endfor %}</ul></div>
{% endif -%}
<h2>{{ L.summary }}</h2>{{ grid(summary) }}
{% if no_data %}<p class="na">{{ L.no_data }}</p>
{% endif -%}
<h2>{{ L.carriers }}</h2>{{ grid(carriers) }}
{% if coverage %}<h2>{{ L.coverage }}</h2><p class="meta">{{ L.until }}: {{ coverage.until }} · {{ coverage.status }}\
</p>{{ grid(coverage.table) }}
{%- if coverage.meters %}<p>{{ L.short_meters }}</p>{{ grid(coverage.meters) }}{% endif %}
{%- if coverage.more %}<p class="na">{{ coverage.more }}</p>{% endif %}
{% endif -%}
<h2>{{ L.daily }}</h2><div class="charts">
{%- for c in daily_charts %}<figure><figcaption>{{ c.title }}</figcaption>{{ c.svg }}</figure>{% endfor %}</div>
{{ grid(daily) }}
{% if ranking %}<h2>{{ L.ranking }}</h2>
{%- if ranking.table.rows %}<div class="charts"><figure><figcaption>{{ ranking.title }}</figcaption>\
{{ ranking.svg }}</figure></div>{{ grid(ranking.table) }}
{%- else %}<p class="na">{{ L.no_buildings }}</p>{% endif %}
{% endif -%}
<h2>{{ L.anomalies }}</h2>
{%- if anomalies %}{{ grid(anomalies.counts) }}{{ grid(anomalies.table) }}
{%- if anomalies.more %}<p class="na">{{ anomalies.more }}</p>{% endif %}
{%- else %}<p class="na">{{ L.no_anomalies }}</p>{% endif %}
<h2>{{ L.basis }}</h2>{{ grid(basis) }}
</body></html>
"""


@dataclass(frozen=True)
class _Cell:
    tag: str
    cls: str | None
    text: str


@dataclass(frozen=True)
class _Grid:
    heads: list[str]
    rows: list[list[_Cell]]


@lru_cache(maxsize=1)
def _template() -> Template:
    env = Environment(loader=DictLoader({"report.html": _TEMPLATE}), autoescape=True, undefined=StrictUndefined,
                      keep_trailing_newline=False)
    return env.get_template("report.html")


def _grid(table: Table, lang: str, heads: list[str] | None = None) -> _Grid:
    """A table as the template draws it: head cells, numeric cells right-aligned (``n``), "not available" grey
    (``na``), text cells plain; a total row's empty cells plain."""
    columns = table.columns_for("html")
    na = label("na", lang)

    def cell(column: tables.Column, value: Any, total: bool) -> _Cell:
        shown = "" if total and value is None else tables.text(column, value, lang)
        if column.head:
            return _Cell("th", None, shown)
        if column.kind not in NUMERIC or (total and value is None):
            return _Cell("td", None, shown)
        return _Cell("td", "na" if shown == na else "n", shown)

    rows = [[cell(c, r.get(c.key), False) for c in columns] for r in table.rows_for("html")]
    if table.total is not None:
        rows.append([cell(c, table.total.get(c.key), True) for c in columns])
    return _Grid(heads if heads is not None else table.heads("html", lang), rows)


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG charts, no external assets)."""
    lang = report.lang
    labels = {key: label(key, lang) for key in ("title", "scope", "month", "generated", "issues", "summary",
                                                  "no_data", "carriers", "coverage", "until", "short_meters",
                                                  "daily", "ranking", "no_buildings", "anomalies", "no_anomalies",
                                                  "basis")}
    cov = report.coverage
    coverage: dict[str, Any] | None = None
    cov_table, meters = tables.coverage(report), tables.meters(report)
    if cov is not None and cov_table is not None and meters is not None:
        coverage = {"until": cov.until.isoformat(timespec="minutes"), "status": status_label(cov.status, lang),
                    "table": _grid(cov_table, lang),
            "meters": _grid(meters, lang) if meters.printed else None,
            "more": label("more_meters", lang).format(n=meters.more) if meters.more else None}
    daily = tables.daily(report)
    charts = []
    for carrier, values in report.daily.items():
        unit = display_unit(report.account.carriers[carrier].unit)
        title = label("chart_daily", lang).format(carrier=carrier_label(carrier, lang)) + f" ({unit})"
        charts.append({"title": title, "svg": Markup(_bars_svg(values, [d.isoformat() for d in report.days],
                                                               chart=f"daily-{carrier}"))})
    ranking: dict[str, Any] | None = None
    if report.scope_type not in ("Meter", "Building"):
        top = report.chart_ranking()
        ranking = {"table": _grid(tables.ranking(report), lang),
                   "title": label("chart_ranking", lang).format(n=len(top)),
                   "svg": Markup(_hbars_svg([r["electricity_kwh"] for r in top], [r["name"] for r in top]))}
    anomalies: dict[str, Any] | None = None
    if report.anomalies:
        listed = tables.anomalies(report)
        anomalies = {"counts": _grid(tables.anomaly_counts(report), lang), "table": _grid(listed, lang),
                     "more": label("more_anomalies", lang).format(n=listed.more) if listed.more else None}
    return _template().render(
        r=report, L=labels, css=Markup(_CSS), html_lang="zh-CN" if lang == "zh" else "en",
        generated=report.generated_at.isoformat(timespec="seconds"),
        issues=[{"rule": i["rule"], "text": report.issue_text(i)} for i in report.issues],
        summary=_grid(tables.summary(report), lang), no_data=not _readings(report),
        carriers=_grid(tables.carriers(report), lang), coverage=coverage, daily_charts=charts,
        daily=_grid(daily, lang, tables.daily_heads(daily, "html", lang)), ranking=ranking, anomalies=anomalies,
        basis=_grid(tables.basis(report), lang))


def _readings(report: Report) -> int:
    return sum(c.readings for c in report.account.carriers.values())


def _bars_svg(values: list[float], labels: list[str], *, chart: str, width: int = 320, height: int = 130) -> str:
    """A vertical bar chart as inline SVG; each bar carries its figure (``data-value``) and its label."""
    if not values:
        return ""
    e = html.escape
    left, bottom, top_pad = 44, 18, 8
    plot_w, plot_h = width - left - 4, height - bottom - top_pad
    top = max(max(values), 0.0) or 1.0
    step = plot_w / len(values)
    bars = []
    for k, (v, name) in enumerate(zip(values, labels, strict=True)):
        h = max(v, 0.0) / top * plot_h
        bars.append(f'<rect x="{left + k * step + step * 0.1:.1f}" y="{top_pad + plot_h - h:.1f}" '
                    f'width="{step * 0.8:.1f}" height="{h:.1f}" fill="#0b6e99" data-label="{e(name)}" '
                    f'data-value="{v!r}"><title>{e(name)}: {fmt(v)}</title></rect>')
    axis = (f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 4}" y2="{top_pad + plot_h}" stroke="#9aa5b1"/>'
            f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end">{e(short_figure(top))}</text>'
            f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">0</text>'
            f'<text x="{left}" y="{height - 4}">{e(labels[0][5:])}</text>'
            f'<text x="{width - 4}" y="{height - 4}" text-anchor="end">{e(labels[-1][5:])}</text>')
    return (f'<svg class="chart" data-chart="{e(chart)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">{axis}{"".join(bars)}</svg>')


def _hbars_svg(values: list[float], labels: list[str], *, width: int = 560) -> str:
    """A horizontal bar chart (the building ranking) as inline SVG, bars carrying their figures."""
    e = html.escape
    row_h, left, right = 18, 200, 80
    height = row_h * len(values) + 6
    top = max([*values, 0.0]) or 1.0
    rows = []
    for k, (v, name) in enumerate(zip(values, labels, strict=True)):
        y = 3 + k * row_h
        w = max(v, 0.0) / top * (width - left - right)
        rows.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{e(name[:28])}</text>'
                    f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="#0b6e99" '
                    f'data-label="{e(name)}" data-value="{v!r}"><title>{e(name)}: {fmt(v)}</title></rect>'
                    f'<text x="{left + w + 4:.1f}" y="{y + 12}">{e(fmt(v, 0))}</text>')
    return (f'<svg class="chart" data-chart="ranking" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">{"".join(rows)}</svg>')


__all__ = ["to_html"]
