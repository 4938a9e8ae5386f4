"""Monthly energy reports (月度能耗报告): one month of a scope as a :class:`Report`, rendered as HTML, XLSX or PDF.

:func:`monthly_report` gathers

* the account of the month (:func:`.accounting.account`: per carrier and totals) and the ``basis`` behind it;
* the previous month and the same month a year before, for month-on-month (环比) and year-on-year (同比) changes —
  a comparison month with no readings at all is "not available" (``None``), never a made-up figure;
* a daily trend per carrier of the scope's *main* meters (two grouped ``twin.aggregate(..., bucket="day")``
  queries, kept to the meters the account itself counted — ``CarrierAccount.meters``, chosen by accounting's
  ``meters_in_scope`` — so the trend and the account always count the same meters);
* a ranking of the buildings below the scope by electricity (each building's own main meters, by the same rule,
  from one entity query rather than one ``meters_in_scope`` query per building: see :func:`_ranking`).

Renderers: :func:`to_html` (self-contained, inline CSS and SVG), :func:`to_xlsx` (openpyxl; sheets summary,
carriers, daily, ranking, basis) and :func:`to_pdf` (reportlab; Chinese in the STSong-Light CID font, which
reportlab ships, so nothing is downloaded). Labels follow ``lang`` (``zh`` or ``en``).
"""

from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lingang_twin.core.calendar import shift_month
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.model import Entity
from lingang_twin.core.twin import Twin
from lingang_twin.energy.accounting import Account, account, check_config, check_inputs, month_range
from lingang_twin.energy.carriers import CARRIER_LABELS
from lingang_twin.energy.consumption import SHANGHAI, consumption_grid
from lingang_twin.energy.coverage import Coverage, check_now, percent, status_label
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.report_font import ReportFont, report_font
from lingang_twin.energy.tariffs import Tariff, tariff_from
from lingang_twin.energy.tenants import tenant_plan

LABELS: dict[str, tuple[str, str]] = {
    "title": ("月度能耗报告", "Monthly energy report"),
    "scope": ("核算对象", "Scope"),
    "month": ("月份", "Month"),
    "summary": ("汇总", "Summary"),
    "carriers": ("分品种", "By carrier"),
    "carrier": ("能源品种", "Carrier"),
    "consumption": ("消耗量", "Consumption"),
    "unit": ("单位", "Unit"),
    "kgce": ("综合能耗 (kgce)", "Energy (kgce)"),
    "kgco2": ("碳排放 (kg CO₂)", "Emissions (kg CO₂)"),
    "cost_cny": ("费用 (元)", "Cost (CNY)"),
    "total": ("合计", "Total"),
    "indicator": ("指标", "Indicator"),
    "value": ("本月", "This month"),
    "previous": ("上月", "Previous month"),
    "last_year": ("去年同月", "Same month last year"),
    "mom": ("环比", "Month on month"),
    "yoy": ("同比", "Year on year"),
    "na": ("暂无", "not available"),
    "daily": ("逐日趋势", "Daily trend"),
    "day": ("日期", "Day"),
    "ranking": ("建筑用电排名", "Buildings by electricity"),
    "rank": ("名次", "Rank"),
    "building": ("建筑", "Building"),
    "electricity_kwh": ("用电量 (kWh)", "Electricity (kWh)"),
    "share": ("占比", "Share"),
    "no_buildings": ("该对象下没有建筑", "no buildings in this scope"),
    "basis": ("核算依据", "Basis"),
    "section": ("类别", "Section"),
    "item": ("项目", "Item"),
    "source": ("来源", "Source"),
    "year": ("年份", "Year"),
    "note": ("说明", "Note"),
    "meters": ("主表数", "Main meters"),
    "readings": ("读数", "Readings"),
    "generated": ("生成时间", "Generated"),
    "no_data": ("本月无读数", "no readings this month"),
    "anomalies": ("计量异常", "Meter anomalies"),
    "kind": ("类型", "Kind"),
    "count": ("次数", "Count"),
    "meter": ("表计", "Meter"),
    "severity": ("严重程度", "Severity"),
    "period": ("时段", "Period"),
    "detail": ("说明", "Detail"),
    "no_anomalies": ("本月未发现计量异常", "no meter anomaly found this month"),
    "more_anomalies": ("另有 {n} 项未列出（完整清单见质量接口）", "{n} more not listed (all of them: the quality API)"),
    "coverage": ("数据完整度", "Coverage"),
    "expected": ("应有读数", "Expected readings"),
    "present": ("实有读数", "Readings present"),
    "missing": ("缺失读数", "Missing readings"),
    "ratio": ("完整率", "Complete"),
    "status": ("状态", "Status"),
    "issues": ("提示", "Issues"),
    "until": ("数据截至", "Data up to"),
    "interval": ("读数间隔 (min)", "Interval (min)"),
    "short_meters": ("读数不全的表计", "Meters short of readings"),
    "more_meters": ("另有 {n} 块表未列出（完整清单见 JSON/Excel）", "{n} more not listed (all of them: JSON or Excel)"),
    "chart_daily": ("逐日用量 · {carrier}", "{carrier} per day"),
    "chart_ranking": ("用电量前 {n} 的建筑 (kWh)", "Top {n} buildings by electricity (kWh)"),
}
MAX_CHART_BUILDINGS = 15
"""The ranking chart shows the largest buildings only (the table lists all of them)."""
MAX_LISTED_METERS = 50
DISPLAY_UNITS: dict[str, str] = {"m3": "m³", "Nm3": "Nm³", "m2": "m²"}

KIND_LABELS: dict[str, tuple[str, str]] = {
    "gap": ("数据缺失", "gap"), "stuck": ("读数停滞", "stuck"), "spike": ("尖峰", "spike"),
    "negative": ("读数倒退", "negative step"), "night_baseload_creep": ("夜间基荷攀升", "night base-load creep"),
    "water_leak": ("疑似漏水", "water leak"), "hydrogen_loss": ("氢气损耗", "hydrogen loss"),
    "unmetered_loss": ("未计量损耗", "unmetered loss"),
}
MAX_LISTED_ANOMALIES = 50


def display_name(entity: Entity, lang: str) -> str:
    """The entity's name in ``lang``: ``nameEn`` in English where it has one, else ``name``, else its id."""
    name = (entity.value("nameEn") if lang == "en" else None) or entity.value("name")
    return str(name) if name else entity.id


def display_unit(unit: str) -> str:
    """A unit as a reader expects it printed (``m3`` → ``m³``); JSON keeps the machine form."""
    return DISPLAY_UNITS.get(unit, unit)


def label(key: str, lang: str) -> str:
    """The label ``key`` in ``lang``."""
    zh, en = LABELS[key]
    return zh if lang == "zh" else en


def carrier_label(carrier: str, lang: str) -> str:
    """The carrier's name in ``lang``."""
    zh, en = CARRIER_LABELS.get(carrier, (carrier, carrier))
    return zh if lang == "zh" else en


def fmt(value: float | None, digits: int = 2) -> str:
    """A figure as the renderers print it (thousands separators); ``None`` stays ``None`` for the caller."""
    return "" if value is None else f"{value:,.{digits}f}"


def change(current: float, previous: float | None) -> float | None:
    """Relative change ``current / previous - 1``; ``None`` when there is no previous figure or it is zero."""
    if previous is None or previous == 0:
        return None
    return current / previous - 1.0


@dataclass
class Report:
    """A monthly report of ``scope`` for ``month`` (``YYYY-MM``). ``previous`` / ``last_year`` are ``None`` when
    those months have no readings. ``daily``: carrier → consumption per day of ``days`` [canonical unit];
    ``ranking``: buildings by electricity [kWh], largest first; ``anomalies``: the data-quality findings of its
    meters in the month (:func:`.quality.check_meters`), earliest first."""

    scope: str
    scope_name: str
    scope_type: str
    month: str
    lang: str
    account: Account
    previous: Account | None
    last_year: Account | None
    days: list[date]
    daily: dict[str, list[float]]
    ranking: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now().astimezone())

    @property
    def basis(self) -> dict[str, Any]:
        """The account's basis: coefficients, factor set, tariff, each with source and year."""
        return self.account.basis

    @property
    def coverage(self) -> Coverage | None:
        """Expected and present readings of the month per carrier and meter (:mod:`.coverage`)."""
        return self.account.coverage

    @property
    def issues(self) -> list[dict[str, Any]]:
        """What a reader must know about the figures: an empty, partial or running month, declared resets, and a
        comparison month that is itself incomplete (``coverage-comparison``: its change is not comparable)."""
        out = list(self.account.issues)
        for key, acc in (("previous", self.previous), ("last_year", self.last_year)):
            cov = None if acc is None else acc.coverage
            if cov is None or cov.status not in ("partial", "empty"):
                continue
            month = f"{acc.start.astimezone(SHANGHAI):%Y-%m}" if acc is not None else ""
            share = "?" if cov.expected == 0 else percent((cov.expected - cov.missing) / cov.expected)
            zh, en = LABELS[key]
            what_zh, what_en = ("环比", "month-on-month") if key == "previous" else ("同比", "year-on-year")
            en_text = (f"{en} ({month}) holds {share} of its expected readings: the {what_en} change is "
                       "not comparable")
            zh_text = f"{zh}（{month}）读数仅为应有的 {share}，{what_zh}不可比"
            out.append({"rule": "coverage-comparison", "severity": "warning", "carrier": None, "month": month,
                        "ratio": None if cov.expected == 0 else (cov.expected - cov.missing) / cov.expected,
                        "message": f"{en_text} / {zh_text}", "message_en": en_text, "message_zh": zh_text})
        return out

    def issue_text(self, issue: dict[str, Any]) -> str:
        """An issue's message in the report's language."""
        text = issue.get(f"message_{self.lang}")
        if text:
            return str(text)
        en, _, zh = str(issue.get("message", "")).partition(" / ")
        return (zh or en) if self.lang == "zh" else en

    def chart_ranking(self) -> list[dict[str, Any]]:
        """The buildings the ranking chart draws: the ``MAX_CHART_BUILDINGS`` largest of :attr:`ranking`."""
        return self.ranking[:MAX_CHART_BUILDINGS]

    def totals(self) -> dict[str, float]:
        """Grand totals of the month [kgce, kg CO₂, CNY]."""
        a = self.account
        return {"kgce": a.total_kgce, "kgco2": a.total_kgco2, "cost_cny": a.total_cost_cny}

    def comparison(self) -> dict[str, dict[str, float | None]]:
        """Per total: this month, previous month, same month last year, and the mom / yoy changes."""
        out: dict[str, dict[str, float | None]] = {}
        for key, value in self.totals().items():
            prev = getattr(self.previous, f"total_{key}") if self.previous else None
            last = getattr(self.last_year, f"total_{key}") if self.last_year else None
            out[key] = {"value": value, "previous": prev, "last_year": last, "mom": change(value, prev),
                        "yoy": change(value, last)}
        return out

    def carrier_comparison(self, carrier: str) -> dict[str, float | None]:
        """Consumption of ``carrier``: mom / yoy changes (``None`` when not available)."""
        cur = self.account.carriers[carrier].consumption

        def of(acc: Account | None) -> float | None:
            if acc is None:
                return None
            c = acc.carriers.get(carrier)
            return c.consumption if c is not None and c.readings else None

        return {"mom": change(cur, of(self.previous)), "yoy": change(cur, of(self.last_year))}

    def basis_rows(self) -> list[dict[str, Any]]:
        """The basis flattened: section, item, value, unit, source, year, note."""
        b = self.basis
        rows: list[dict[str, Any]] = []
        sc = b.get("standard_coal", {})
        for carrier, fig in sc.get("coefficients", {}).items():
            rows.append({"section": "standard_coal", "item": carrier, **_figure(fig)})
        rows.append({"section": "standard_coal", "item": "electricity_basis", "value": sc.get("electricity_basis"),
                     "unit": "", "source": sc.get("standard", ""), "year": None, "note": ""})
        co2 = b.get("co2", {})
        for carrier, fig in co2.get("factors", {}).items():
            rows.append({"section": f"co2 ({co2.get('factor_set', '')})", "item": carrier, **_figure(fig)})
        for a in b.get("tenant", {}).get("allocations", []):
            share = ("" if a["share"] is None
                     else f" × {a['share']:.4f} ({a['leased_m2']:g} / {a['floor_area_m2']:g} m²)")
            rows.append({"section": "tenant", "item": f"{a['building'].rsplit(':', 1)[-1]} · {a['carrier']}",
                         "value": f"{a['method_label'][self.lang]}{share}", "unit": "",
                         "source": ", ".join(m.rsplit(":", 1)[-1] for m in a["meters"]), "year": None,
                         "note": ("− " + ", ".join(m.rsplit(":", 1)[-1] for m in a["deducted"])) if a["deducted"]
                         else ""})
        t = b.get("tariff", {})
        rows.append({"section": "tariff", "item": t.get("name"), "value": "time-of-use" if t.get("time_of_use")
                     else "flat", "unit": "CNY", "source": t.get("source", ""), "year": None,
                     "note": "illustrative / 示意价格" if t.get("illustrative") else ""})
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-able report."""
        return {"scope": self.scope, "scope_name": self.scope_name, "month": self.month, "lang": self.lang,
                "account": self.account.to_dict(self.lang), "comparison": self.comparison(),
                "days": [d.isoformat() for d in self.days], "daily": self.daily, "ranking": self.ranking,
                "anomaly_counts": self.anomaly_counts(), "anomalies": self.anomalies, "basis": self.basis,
                "coverage": None if self.coverage is None else self.coverage.to_dict(), "issues": self.issues}

    def anomaly_counts(self) -> dict[str, int]:
        """Findings per kind."""
        out: dict[str, int] = {}
        for a in self.anomalies:
            out[a["kind"]] = out.get(a["kind"], 0) + 1
        return out


def _figure(fig: dict[str, Any]) -> dict[str, Any]:
    return {"value": fig.get("value"), "unit": fig.get("unit", ""), "source": fig.get("source", ""),
            "year": fig.get("year"), "note": fig.get("note", "")}


def _readings(acc: Account) -> int:
    return sum(c.readings for c in acc.carriers.values())


def monthly_report(twin: Twin, scope: str, month: str, *, lang: str = "zh", factors: str = "shanghai-local-2022",
                   tariff: str | Tariff | dict[str, Any] = "shanghai-illustrative",
                   electricity_basis: str = "equivalent",
                   config: EnergyConfig | dict[str, Any] | None = None, now: datetime | None = None) -> Report:
    """The monthly report of ``scope`` for ``month`` (``YYYY-MM``, Asia/Shanghai), as known at ``now`` (default:
    the clock): a month still running is covered, and checked for anomalies, up to ``now``; its coverage and
    issues say so. Names follow ``lang`` (``nameEn`` in English where an entity has one).

    Bad input raises ValidationError as :func:`.accounting.account` does (month, lang, factor set, tariff …); an
    unknown scope raises NotFoundError.
    """
    if lang not in ("zh", "en"):
        raise ValidationError("lang", "lang-unknown", f"unknown language {lang!r}; valid: zh, en / 语言须为 zh 或 en",
                              value=lang)
    start, end = month_range(month)
    cfg = check_config(config)
    kwargs: dict[str, Any] = {"factors": factors, "tariff": tariff, "electricity_basis": electricity_basis,
                              "config": cfg}
    check_inputs(start, end, factors, electricity_basis, cfg)
    now = check_now(now)
    tariff_from(tariff)
    entity = twin.get(scope)  # unknown scope: NotFoundError before any work starts
    # The month's data-quality checks are the longest part (15-minute data of every meter); they run beside the
    # accounts and trends (the store reads on a cursor per thread; numpy and DuckDB release the GIL). Both only
    # read: if the account refuses (a factor missing for a carrier in use …) nothing has been written.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-anomalies") as pool:
        found = pool.submit(_anomalies, twin, entity, start, end, now)
        current = account(twin, scope, start, end, now=now, **kwargs)
        report = _gather(twin, entity, scope, month, lang, start, end, current, cfg, kwargs, now)
        report.anomalies = found.result()
    return report


def _gather(twin: Twin, entity: Entity, scope: str, month: str, lang: str, start: datetime, end: datetime,
            current: Account, cfg: EnergyConfig, kwargs: dict[str, Any], now: datetime) -> Report:
    """Everything of the report but its anomalies: comparisons, daily trend, ranking."""
    comparisons: list[Account | None] = []
    for shift in (-1, -12):
        s, e = month_range(shift_month(month, shift))
        # Covered too: a change against a month that holds a fraction of its readings is no change at all.
        acc = account(twin, scope, s, e, now=now, **kwargs)
        comparisons.append(acc if _readings(acc) else None)
    days = [(start + timedelta(days=k)).date() for k in range((end.date() - start.date()).days)]
    daily: dict[str, np.ndarray] = {c: np.zeros(len(days)) for c in current.carriers}
    if entity.type == "Enterprise":
        per_meter, meters = _tenant_days(twin, entity, start, end, cfg, daily)
    else:
        per_meter, meters = _meter_days(twin, entity, start, len(days), cfg)
        main_ids = {mid for c in current.carriers.values() for mid in c.meters}
        for mid, series in per_meter.items():
            if mid in main_ids:
                daily[meters[mid].value("carrier")] += series
    ranking = _ranking(twin, entity, per_meter, meters, lang)
    return Report(scope=scope, scope_name=display_name(entity, lang), scope_type=entity.type, month=month,
                  lang=lang, account=current, previous=comparisons[0], last_year=comparisons[1], days=days,
                  daily={c: [float(v) for v in arr] for c, arr in daily.items()}, ranking=ranking)


def _anomalies(twin: Twin, scope: Entity, start: datetime, end: datetime, now: datetime) -> list[dict[str, Any]]:
    """The month's data-quality findings of the scope's meters; for a tenant, those of the meters its figures draw
    on, in the buildings it occupies. A month still running is checked up to ``now``."""
    from lingang_twin.energy.quality import check_meters

    end = min(end, max(now, start + timedelta(hours=1)))
    if scope.type != "Enterprise":
        return [f.to_dict() for f in check_meters(twin, scope.id, start, end)]
    plan = tenant_plan(twin, scope)
    mine = {m for m, w in plan.weights.items() if w > 0}
    found = [f for b in plan.buildings for f in check_meters(twin, b.id, start, end) if f.entity_id in mine]
    return [f.to_dict() for f in sorted(found, key=lambda f: (f.start, f.kind, f.entity_id))]


def kind_label(kind: str, lang: str) -> str:
    """A finding kind's name in ``lang``."""
    zh, en = KIND_LABELS.get(kind, (kind, kind))
    return zh if lang == "zh" else en


def _anomaly_rows(report: Report) -> list[list[str]]:
    """The listed anomalies as text rows: meter, kind, severity, period (Shanghai), detail."""
    rows = []
    for a in report.anomalies[:MAX_LISTED_ANOMALIES]:
        s = datetime.fromisoformat(a["start"]).astimezone(SHANGHAI)
        e = datetime.fromisoformat(a["end"]).astimezone(SHANGHAI)
        rows.append([a["entity_id"].rsplit(":", 1)[-1], kind_label(a["kind"], report.lang), a["severity"],
                     f"{s:%m-%d %H:%M} – {e:%m-%d %H:%M}", a["detail_zh"] if report.lang == "zh" else a["detail_en"]])
    return rows


def _more(report: Report) -> str | None:
    n = len(report.anomalies) - MAX_LISTED_ANOMALIES
    return label("more_anomalies", report.lang).format(n=n) if n > 0 else None


def _meter_days(twin: Twin, scope: Entity, start: datetime, n_days: int,
                cfg: EnergyConfig) -> tuple[dict[str, np.ndarray], dict[str, Entity]]:
    """Every meter at or below ``scope`` (main and sub) that has readings → its consumption per day [canonical
    unit], from one daily consumption grid (days without a reading count zero here)."""
    grid = consumption_grid(twin, scope, start, start + timedelta(days=n_days), "day", main_only=False, config=cfg)
    meters = {m.id: m for m in grid.meters}
    per_meter = {m.id: np.nan_to_num(row) for m, row in zip(grid.meters, grid.values, strict=True)
                 if not np.all(np.isnan(row))}
    return per_meter, meters


def _tenant_days(twin: Twin, tenant: Entity, start: datetime, end: datetime, cfg: EnergyConfig,
                 daily: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Entity]]:
    """A tenant's consumption per day, added into ``daily``: its plan's weights on the daily consumption of the
    meters it draws on (one grid per building it occupies)."""
    plan = tenant_plan(twin, tenant)
    for building in plan.buildings:
        grid = consumption_grid(twin, building, start, end, "day", main_only=False, config=cfg)
        for m, row in zip(grid.meters, grid.values, strict=True):
            weight = plan.weights.get(m.id)
            if weight and m.value("carrier") in daily:  # the month's grid is whole days, like ``daily``
                daily[m.value("carrier")] += weight * np.nan_to_num(row)
    return {}, {}  # a tenant ranks no buildings


def _ranking(twin: Twin, scope: Entity, per_meter: dict[str, np.ndarray],
             meters: dict[str, Entity], lang: str = "zh") -> list[dict[str, Any]]:
    """Buildings below ``scope`` by electricity [kWh] of their own main meters, largest first.

    One entity query for the whole scope, then each meter is walked up ``containedIn`` to the buildings above it;
    a building's main meters follow accounting's rule (not a sub-meter of another meter in the building). Calling
    ``meters_in_scope`` per building gives the same answer but costs one query per building (0.57 s of 158
    buildings in the demo district)."""
    if scope.type in ("Meter", "Building", "Enterprise"):
        return []
    entities = twin.query_all(under=scope.id)
    by_id = {e.id: e for e in entities}
    buildings = [e for e in entities if e.type == "Building"]
    below: dict[str, set[str]] = {b.id: set() for b in buildings}
    for mid in meters:
        seen: set[str] = set()
        parent = meters[mid].target("containedIn")
        while parent in by_id and parent not in seen:
            seen.add(parent)
            if parent in below:
                below[parent].add(mid)
            parent = by_id[parent].target("containedIn")
    rows: list[dict[str, Any]] = []
    for b in buildings:
        ids = below[b.id]
        kwh = sum((float(per_meter[mid].sum()) for mid in ids
                   if meters[mid].target("submeterOf") not in ids
                   and meters[mid].value("carrier") == "electricity" and mid in per_meter), 0.0)
        rows.append({"building": b.id, "name": display_name(b, lang), "electricity_kwh": kwh})
    total = sum(r["electricity_kwh"] for r in rows)
    rows.sort(key=lambda r: (-r["electricity_kwh"], r["building"]))
    for k, r in enumerate(rows, 1):
        r["rank"] = k
        r["share"] = r["electricity_kwh"] / total if total else None
    return rows


# ---------------------------------------------------------------------------------------------- renderers


def _pct(value: float | None, lang: str) -> str:
    return label("na", lang) if value is None else f"{value:+.1%}"


def _opt(value: float | None, lang: str) -> str:
    return label("na", lang) if value is None else fmt(value)


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


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG charts, no external assets)."""
    lang = report.lang
    e = html.escape
    L = lambda key: e(label(key, lang))  # noqa: E731

    def cell(text: str, numeric: bool = True) -> str:
        na = text == label("na", lang)
        cls = "na" if na else ("n" if numeric else "")
        return f'<td class="{cls}">{e(text)}</td>'

    def unit_of(carrier: str) -> str:
        return display_unit(report.account.carriers[carrier].unit)

    parts = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
             f"<title>{L('title')} · {e(report.scope_name)} · {e(report.month)}</title><style>{_CSS}</style>"
             f"</head><body><h1>{L('title')}</h1>"
             f'<p class="meta">{L("scope")}: {e(report.scope_name)} ({e(report.scope)}) · {L("month")}: '
             f"{e(report.month)} · {L('generated')}: {e(report.generated_at.isoformat(timespec='seconds'))}</p>"]
    if report.issues:  # before any figure: a reader must know the month is empty, partial or still running
        parts.append(f'<div class="issues"><b>{L("issues")}</b><ul>'
                     + "".join(f'<li data-rule="{e(i["rule"])}">{e(report.issue_text(i))}</li>' for i in report.issues)
                     + "</ul></div>")
    # Summary
    parts.append(f"<h2>{L('summary')}</h2><table><tr><th>{L('indicator')}</th><th>{L('value')}</th>"
                 f"<th>{L('previous')}</th><th>{L('mom')}</th><th>{L('last_year')}</th><th>{L('yoy')}</th></tr>")
    for key, c in report.comparison().items():
        parts.append(f"<tr><th>{L(key)}</th>{cell(fmt(c['value']))}{cell(_opt(c['previous'], lang))}"
                     f"{cell(_pct(c['mom'], lang))}{cell(_opt(c['last_year'], lang))}{cell(_pct(c['yoy'], lang))}"
                     "</tr>")
    parts.append("</table>")
    if not _readings(report.account):
        parts.append(f'<p class="na">{L("no_data")}</p>')
    # Carriers
    parts.append(f"<h2>{L('carriers')}</h2><table><tr><th>{L('carrier')}</th><th>{L('consumption')}</th>"
                 f"<th>{L('unit')}</th><th>{L('kgce')}</th><th>{L('kgco2')}</th><th>{L('cost_cny')}</th>"
                 f"<th>{L('mom')}</th><th>{L('yoy')}</th><th>{L('meters')}</th></tr>")
    for carrier, ca in report.account.carriers.items():
        cc = report.carrier_comparison(carrier)
        parts.append(f"<tr><th>{e(carrier_label(carrier, lang))}</th>{cell(fmt(ca.consumption))}"
                     f"{cell(unit_of(carrier), False)}{cell(fmt(ca.kgce))}{cell(fmt(ca.kgco2))}"
                     f"{cell(fmt(ca.cost_cny))}"
                     f"{cell(_pct(cc['mom'], lang))}{cell(_pct(cc['yoy'], lang))}{cell(str(len(ca.meters)))}</tr>")
    t = report.totals()
    parts.append(f"<tr><th>{L('total')}</th><td></td><td></td>{cell(fmt(t['kgce']))}{cell(fmt(t['kgco2']))}"
                 f"{cell(fmt(t['cost_cny']))}<td></td><td></td><td></td></tr></table>")
    # Coverage
    parts.append(_coverage_html(report))
    # Daily trend: a bar chart per carrier, then the table
    parts.append(f"<h2>{L('daily')}</h2><div class=\"charts\">")
    for carrier, values in report.daily.items():
        title = label("chart_daily", lang).format(carrier=carrier_label(carrier, lang)) + f" ({unit_of(carrier)})"
        parts.append(f'<figure><figcaption>{e(title)}</figcaption>'
                     f'{_bars_svg(values, [d.isoformat() for d in report.days], chart=f"daily-{carrier}")}</figure>')
    parts.append(f"</div><table><tr><th>{L('day')}</th>")
    parts.extend(f"<th>{e(carrier_label(c, lang))} ({e(unit_of(c))})</th>" for c in report.daily)
    parts.append("</tr>")
    for k, d in enumerate(report.days):
        parts.append(f"<tr><td>{d.isoformat()}</td>" + "".join(cell(fmt(v[k])) for v in report.daily.values())
                     + "</tr>")
    parts.append("</table>")
    # Ranking
    if report.scope_type not in ("Meter", "Building"):
        parts.append(f"<h2>{L('ranking')}</h2>")
        if report.ranking:
            top = report.chart_ranking()
            title = label("chart_ranking", lang).format(n=len(top))
            parts.append(f'<div class="charts"><figure><figcaption>{e(title)}</figcaption>'
                         f'{_hbars_svg([r["electricity_kwh"] for r in top], [r["name"] for r in top])}'
                         "</figure></div>")
            parts.append(f"<table><tr><th>{L('rank')}</th><th>{L('building')}</th><th>{L('electricity_kwh')}</th>"
                         f"<th>{L('share')}</th></tr>")
            for r in report.ranking:
                share = label("na", lang) if r["share"] is None else f"{r['share']:.1%}"
                parts.append(f"<tr>{cell(str(r['rank']))}<td>{e(r['name'])}</td>{cell(fmt(r['electricity_kwh']))}"
                             f"{cell(share)}</tr>")
            parts.append("</table>")
        else:
            parts.append(f'<p class="na">{L("no_buildings")}</p>')
    # Anomalies
    parts.append(f"<h2>{L('anomalies')}</h2>")
    if report.anomalies:
        parts.append(f"<table><tr><th>{L('kind')}</th><th>{L('count')}</th></tr>")
        parts.extend(f"<tr><td>{e(kind_label(k, lang))}</td>{cell(str(n))}</tr>"
                     for k, n in report.anomaly_counts().items())
        parts.append(f"</table><table><tr><th>{L('meter')}</th><th>{L('kind')}</th><th>{L('severity')}</th>"
                     f"<th>{L('period')}</th><th>{L('detail')}</th></tr>")
        parts.extend("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in _anomaly_rows(report))
        parts.append("</table>")
        if _more(report):
            parts.append(f'<p class="na">{e(_more(report) or "")}</p>')
    else:
        parts.append(f'<p class="na">{L("no_anomalies")}</p>')
    # Basis
    parts.append(f"<h2>{L('basis')}</h2><table><tr><th>{L('section')}</th><th>{L('item')}</th><th>{L('value')}"
                 f"</th><th>{L('unit')}</th><th>{L('source')}</th><th>{L('year')}</th><th>{L('note')}</th></tr>")
    for r in report.basis_rows():
        parts.append("<tr>" + "".join(f"<td>{e('' if r[k] is None else str(r[k]))}</td>"
                                      for k in ("section", "item", "value", "unit", "source", "year", "note"))
                     + "</tr>")
    parts.append("</table></body></html>")
    return "".join(parts)


def coverage_rows(report: Report) -> list[list[str]]:
    """The coverage table as text rows: carrier, meters, expected, present, missing, complete share, status."""
    cov = report.coverage
    if cov is None:
        return []
    lang = report.lang
    return [[carrier_label(k, lang), str(len(c.meters)), f"{c.expected:,}", f"{c.present:,}", f"{c.missing:,}",
             label("na", lang) if c.ratio is None else percent(c.ratio), status_label(c.status, lang)]
            for k, c in cov.carriers.items()]


def short_meter_rows(report: Report) -> list[list[str]]:
    """The meters short of readings (empty or partial), most missing first: meter, interval, expected, present,
    status."""
    cov = report.coverage
    if cov is None:
        return []
    short = sorted((m for m in cov.meters if m.status in ("partial", "empty")),
                   key=lambda m: (-m.missing, m.meter))
    return [[m.meter.rsplit(":", 1)[-1], "" if m.interval_min is None else f"{m.interval_min:g}",
             "" if m.expected is None else f"{m.expected:,}", f"{m.present:,}", status_label(m.status, report.lang)]
            for m in short]


_COVERAGE_HEAD = ("carrier", "meters", "expected", "present", "missing", "ratio", "status")
_SHORT_HEAD = ("meter", "interval", "expected", "present", "status")


def _coverage_html(report: Report) -> str:
    cov = report.coverage
    if cov is None:
        return ""
    lang, e = report.lang, html.escape
    parts = [f"<h2>{e(label('coverage', lang))}</h2><p class=\"meta\">{e(label('until', lang))}: "
             f"{e(cov.until.isoformat(timespec='minutes'))} · {e(status_label(cov.status, lang))}</p>"
             "<table><tr>" + "".join(f"<th>{e(label(k, lang))}</th>" for k in _COVERAGE_HEAD) + "</tr>"]
    parts.extend("<tr>" + "".join(f'<td class="{"" if k == 0 else "n"}">{e(v)}</td>' for k, v in enumerate(row))
                 + "</tr>" for row in coverage_rows(report))
    parts.append("</table>")
    short = short_meter_rows(report)
    if short:
        parts.append(f"<p>{e(label('short_meters', lang))}</p><table><tr>"
                     + "".join(f"<th>{e(label(k, lang))}</th>" for k in _SHORT_HEAD) + "</tr>")
        parts.extend("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>"
                     for row in short[:MAX_LISTED_METERS])
        parts.append("</table>")
        if len(short) > MAX_LISTED_METERS:
            n = len(short) - MAX_LISTED_METERS
            parts.append(f'<p class="na">{e(label("more_meters", lang).format(n=n))}</p>')
    return "".join(parts)


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
            f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end">{e(_short(top))}</text>'
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


def _short(value: float) -> str:
    """An axis figure in few characters (12.3k, 4.5M)."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g}"


def to_xlsx(report: Report, path: str | Path) -> None:
    """The report as an Excel workbook at ``path``: sheets summary, carriers, coverage, daily (with a bar chart per
    carrier), ranking (with a chart of the largest buildings), anomalies, basis. Figures are numbers, not text;
    "not available" comparisons are empty cells with a note; the charts read the sheets' own cells."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    lang = report.lang
    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "summary"

    def header(sheet: Any, *keys: str) -> None:
        sheet.append([label(k, lang) if k in LABELS else k for k in keys])
        for c in sheet[sheet.max_row]:
            c.font = bold

    ws.append([label("title", lang)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([label("scope", lang), report.scope_name, report.scope])
    ws.append([label("month", lang), report.month])
    ws.append([])
    header(ws, "indicator", "value", "previous", "mom", "last_year", "yoy")
    for key, c in report.comparison().items():
        ws.append([label(key, lang), c["value"], c["previous"], c["mom"], c["last_year"], c["yoy"]])
        row = ws.max_row
        for col in (2, 3, 5):
            ws.cell(row, col).number_format = "#,##0.00"
        for col in (4, 6):
            ws.cell(row, col).number_format = "+0.0%;-0.0%"
    ws.append([])
    ws.append([f"{label('na', lang)}: " + ("空单元格表示该月无读数" if lang == "zh"
                                          else "an empty cell means that month has no readings")])
    if report.issues:
        ws.append([])
        ws.append([label("issues", lang)])
        ws.cell(ws.max_row, 1).font = bold
        for issue in report.issues:
            ws.append([issue["rule"], report.issue_text(issue)])

    wc = wb.create_sheet("carriers")
    header(wc, "carrier", "consumption", "unit", "kgce", "kgco2", "cost_cny", "mom", "yoy", "meters", "readings")
    for carrier, ca in report.account.carriers.items():
        cc = report.carrier_comparison(carrier)
        wc.append([carrier_label(carrier, lang), ca.consumption, display_unit(ca.unit), ca.kgce, ca.kgco2,
                   ca.cost_cny, cc["mom"], cc["yoy"], len(ca.meters), ca.readings])
    t = report.totals()
    wc.append([label("total", lang), None, None, t["kgce"], t["kgco2"], t["cost_cny"]])

    wv = wb.create_sheet("coverage")
    cov = report.coverage
    if cov is not None:
        wv.append([label("until", lang), cov.until.replace(tzinfo=None), status_label(cov.status, lang)])
        wv.cell(1, 2).number_format = "yyyy-mm-dd hh:mm"
        header(wv, *_COVERAGE_HEAD)
        for k, cv in cov.carriers.items():
            wv.append([carrier_label(k, lang), len(cv.meters), cv.expected, cv.present, cv.missing, cv.ratio,
                       status_label(cv.status, lang)])
            wv.cell(wv.max_row, 6).number_format = "0.0%"
        wv.append([])
        header(wv, "meter", "carrier", "interval", "expected", "present", "missing", "status")
        for m in cov.meters:  # every meter: a spreadsheet has room
            wv.append([m.meter, carrier_label(m.carrier, lang), m.interval_min, m.expected, m.present, m.missing,
                       status_label(m.status, lang)])

    wd = wb.create_sheet("daily")
    carriers = list(report.daily)
    wd.append([label("day", lang)] + [f"{carrier_label(c, lang)} ({display_unit(report.account.carriers[c].unit)})"
                                      for c in carriers])
    for head in wd[1]:
        head.font = bold
    for j_day, d in enumerate(report.days):
        wd.append([d] + [report.daily[c][j_day] for c in carriers])
        wd.cell(wd.max_row, 1).number_format = "yyyy-mm-dd"
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
    header(wr, "rank", "building", "electricity_kwh", "share", "scope")
    for r in report.ranking:
        wr.append([r["rank"], r["name"], r["electricity_kwh"], r["share"], r["building"]])
        wr.cell(wr.max_row, 4).number_format = "0.0%"
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
    header(wa, "meter", "kind", "severity", "period", "detail", "scope")
    for a in report.anomalies:  # every finding: a spreadsheet has room
        s, e = (datetime.fromisoformat(a[k]).astimezone(SHANGHAI).replace(tzinfo=None) for k in ("start", "end"))
        wa.append([a["entity_id"].rsplit(":", 1)[-1], kind_label(a["kind"], lang), a["severity"],
                   f"{s:%Y-%m-%d %H:%M} – {e:%Y-%m-%d %H:%M}", a["detail_zh"] if lang == "zh" else a["detail_en"],
                   a["entity_id"]])
    if not report.anomalies:
        wa.append([label("no_anomalies", lang)])

    wb_ = wb.create_sheet("basis")
    header(wb_, "section", "item", "value", "unit", "source", "year", "note")
    for r in report.basis_rows():
        wb_.append([r[name] for name in ("section", "item", "value", "unit", "source", "year", "note")])
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


def pdf_story(report: Report) -> list[Any]:
    """The PDF report's flowables (reportlab platypus), tables and charts in reading order; :func:`to_pdf` builds
    them into a file. Charts are reportlab ``Drawing`` objects whose bar charts hold the same figures as the tables
    beside them."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    font = report_font()
    lang = report.lang
    styles = {size: ParagraphStyle(f"{font.name}{size}", fontName=font.name, fontSize=size, leading=size * 1.3)
              for size in (8, 11, 16)}

    def para(text: Any, size: int = 8) -> Paragraph:
        s = font.text("" if text is None else str(text))
        return Paragraph(html.escape(s), styles[size])

    def table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
        t = Table([[para(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), font.name),  # else the cells start in Helvetica
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#cbd2d9")),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4f0f6")),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        return t

    def unit_of(carrier: str) -> str:
        return display_unit(report.account.carriers[carrier].unit)

    L = lambda key: label(key, lang)  # noqa: E731
    story: list[Any] = [para(L("title"), 16), Spacer(1, 2 * mm),
                        para(f"{L('scope')}: {report.scope_name} ({report.scope})  {L('month')}: {report.month}", 11),
                        Spacer(1, 4 * mm)]
    if report.issues:
        story += [para(L("issues"), 11)] + [para(f"• {report.issue_text(i)}") for i in report.issues]
        story.append(Spacer(1, 4 * mm))
    story.append(para(L("summary"), 11))
    rows: list[list[Any]] = [[L("indicator"), L("value"), L("previous"), L("mom"), L("last_year"), L("yoy")]]
    for key, c in report.comparison().items():
        rows.append([L(key), fmt(c["value"]), _opt(c["previous"], lang), _pct(c["mom"], lang),
                     _opt(c["last_year"], lang), _pct(c["yoy"], lang)])
    story += [table(rows), Spacer(1, 4 * mm), para(L("carriers"), 11)]
    rows = [[L("carrier"), L("consumption"), L("unit"), L("kgce"), L("kgco2"), L("cost_cny"), L("mom"), L("yoy")]]
    for carrier, ca in report.account.carriers.items():
        cc = report.carrier_comparison(carrier)
        rows.append([carrier_label(carrier, lang), fmt(ca.consumption), unit_of(carrier), fmt(ca.kgce),
                     fmt(ca.kgco2), fmt(ca.cost_cny), _pct(cc["mom"], lang), _pct(cc["yoy"], lang)])
    t = report.totals()
    rows.append([L("total"), "", "", fmt(t["kgce"]), fmt(t["kgco2"]), fmt(t["cost_cny"]), "", ""])
    story += [table(rows), Spacer(1, 4 * mm)]
    if report.coverage is not None:
        cov = report.coverage
        story += [para(L("coverage"), 11), para(f"{L('until')}: {cov.until.isoformat(timespec='minutes')} · "
                                                 f"{status_label(cov.status, lang)}"),
                  table([[L(k) for k in _COVERAGE_HEAD], *coverage_rows(report)])]
        short = short_meter_rows(report)
        if short:
            story += [Spacer(1, 2 * mm), para(L("short_meters")),
                      table([[L(k) for k in _SHORT_HEAD], *short[:MAX_LISTED_METERS]],
                            [70 * mm, 25 * mm, 25 * mm, 25 * mm, 30 * mm])]
            if len(short) > MAX_LISTED_METERS:
                story.append(para(L("more_meters").format(n=len(short) - MAX_LISTED_METERS)))
        story.append(Spacer(1, 4 * mm))
    story.append(para(L("daily"), 11))
    carriers = list(report.daily)
    charts = [_daily_drawing(report.daily[c], report.days, font,
                             font.text(L("chart_daily").format(carrier=carrier_label(c, lang)) + f" ({unit_of(c)})"))
              for c in carriers]
    if charts:  # two charts a row
        grid = [charts[k:k + 2] + [""] * (2 - len(charts[k:k + 2])) for k in range(0, len(charts), 2)]
        story.append(Table(grid, colWidths=[135 * mm, 135 * mm], style=[("FONT", (0, 0), (-1, -1), font.name)]))
    rows = [[L("day")] + [f"{carrier_label(c, lang)} ({unit_of(c)})" for c in carriers]]
    rows += [[d.isoformat()] + [fmt(report.daily[c][k]) for c in carriers] for k, d in enumerate(report.days)]
    story += [table(rows), Spacer(1, 4 * mm)]
    if report.scope_type not in ("Meter", "Building"):
        story.append(para(L("ranking"), 11))
        if report.ranking:
            top = report.chart_ranking()
            story.append(_ranking_drawing(top, font, font.text(L("chart_ranking").format(n=len(top)))))
            rows = [[L("rank"), L("building"), L("electricity_kwh"), L("share")]]
            rows += [[r["rank"], r["name"], fmt(r["electricity_kwh"]),
                      L("na") if r["share"] is None else f"{r['share']:.1%}"] for r in report.ranking]
            story.append(table(rows))
        else:
            story.append(para(L("no_buildings")))
        story.append(Spacer(1, 4 * mm))
    story.append(para(L("anomalies"), 11))
    if report.anomalies:
        rows = [[L("kind"), L("count")]] + [[kind_label(k, lang), n] for k, n in report.anomaly_counts().items()]
        story += [table(rows, [50 * mm, 20 * mm]), Spacer(1, 2 * mm)]
        rows = [[L("meter"), L("kind"), L("severity"), L("period"), L("detail")], *_anomaly_rows(report)]
        story.append(table(rows, [55 * mm, 28 * mm, 18 * mm, 40 * mm, 130 * mm]))
        if _more(report):
            story.append(para(_more(report)))
    else:
        story.append(para(L("no_anomalies")))
    story += [Spacer(1, 4 * mm), para(L("basis"), 11)]
    rows = [[L(k) for k in ("section", "item", "value", "unit", "source", "year", "note")]]
    rows += [[r[k] for k in ("section", "item", "value", "unit", "source", "year", "note")]
             for r in report.basis_rows()]
    story.append(table(rows, [28 * mm, 26 * mm, 22 * mm, 20 * mm, 50 * mm, 14 * mm, 110 * mm]))
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
    chart.valueAxis.labelTextFormat = _short
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
    """The report as an A4 landscape PDF at ``path`` (reportlab): tables and charts in one embedded font that
    draws Chinese, m³ and 10⁴ (:mod:`.report_font`)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    # The canvas would otherwise start in Helvetica, a font the reader must substitute: one embedded font only.
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, initialFontName=report_font().name,
                            title=f"{label('title', report.lang)} {report.month}", author="Lingang Twin")
    doc.build(pdf_story(report))


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


__all__ = ["FORMATS", "LABELS", "Report", "change", "coverage_rows", "display_name", "display_unit", "fmt",
           "monthly_report", "pdf_story", "render", "short_meter_rows", "to_html", "to_pdf", "to_xlsx"]
