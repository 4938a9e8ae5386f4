"""The energy pack's console page (能源): where the district's energy goes, over a period the user picks.

Reached only through the pack's page description (``PACK.pages`` in ``energy/__init__.py``): the pack never
imports the console. The builder draws with NiceGUI (imported lazily) from the page context (``page.twin``, ``page.tr``,
``page.entity_url``):

* today's consumption per carrier so far, refreshed live by the console's hub (one hourly grid per tick);
* a period picker (:mod:`..periods`: the last 30 days by default, this month, last month, or a run of days) for:
* a Sankey from carriers to zones of the district's consumption in the period, in standard coal [kgce] so that the
  carriers add up (GB/T 2589-2020 coefficients; main meters only, as :func:`.accounting.account` counts them);
* the daily consumption of each carrier in its one unit (:func:`.carriers.display_unit`), against the previous
  period of the same length (:func:`compare`), with the totals, their change and each period's coverage per carrier
  (:func:`period_coverage`: expected and present readings, flagged empty / partial / running), and a notice when
  either period is short of readings;
* the buildings ranked by kgce per m² per year over the period (:func:`.efficiency.intensity`);
* tomorrow's electricity of the district, hour by hour, with 80 % and 95 % intervals (:mod:`..forecast`);
* the meters' data-quality findings of the last three days (:func:`.quality.check_meters`), linked to the meters;
* monthly report downloads (HTML, XLSX, PDF; :mod:`..reports`).

The deployment's :class:`~.factors.EnergyConfig` is read from the page context's ``config`` (the pack contract) when the
deployment sets one. Without it, figures that need a CO₂ factor the tables lack (water, hydrogen) are not shown:
the page names the setting to configure instead — consumption and kgce need no CO₂ factor and are still shown.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lingang_twin.core.calendar import SHANGHAI
from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.accounting import meters_in_scope
from lingang_twin.energy.carriers import CARRIER_LABELS, display_unit
from lingang_twin.energy.consumption import consumption_grid
from lingang_twin.energy.coverage import Coverage, coverage
from lingang_twin.energy.factors import EnergyConfig, co2_factor, coal_coefficient
from lingang_twin.energy.periods import PERIOD_KINDS, Period, parse_day, period
from lingang_twin.energy.settings import ILLUSTRATIVE_NOTICE, config_in_force, is_illustrative
from lingang_twin.energy.web.coverage_view import COVERAGE_HEAD, CoverageBadge, carrier_badges, draw_badge, notices

if TYPE_CHECKING:
    from lingang_twin.core.model import Entity
    from lingang_twin.core.twin import Twin

OUTSIDE_ZONES = ("区内其他", "Outside zones")
MAX_FINDINGS = 100
CONFIG_MESSAGE = ("未配置排放因子：水须设置 water_kgco2_per_m3，氢须设置 hydrogen_route 与 hydrogen_kgco2_per_kg"
                  "（能源配置 EnergyConfig）。CO₂、强度排名与报告在配置后显示；能耗与标准煤照常显示。",
                  "CO₂ factors not configured: water needs water_kgco2_per_m3, hydrogen needs hydrogen_route and "
                  "hydrogen_kgco2_per_kg (EnergyConfig). CO₂, the intensity ranking and the reports appear once they "
                  "are set; consumption and standard coal are shown anyway.")


@dataclass
class Flows:
    """Standard coal [kgce] of the main meters below ``district`` over ``[start, end)`` by (carrier, zone id);
    zone id ``""`` holds the meters in no zone. ``zones``: id → (中文, English) name."""

    district: str
    start: datetime
    end: datetime
    kgce: dict[tuple[str, str], float] = field(default_factory=dict)
    zones: dict[str, tuple[str, str]] = field(default_factory=dict)
    carriers: list[str] = field(default_factory=list)


def _name(e: Entity) -> tuple[str, str]:
    zh = str(e.value("name") or e.id.rsplit(":", 1)[-1])
    return zh, str(e.value("nameEn") or zh)



def _now() -> datetime:
    """The current instant in Asia/Shanghai (one place, so that tests can pin it)."""
    return datetime.now(SHANGHAI)


def district_of(twin: Twin) -> str | None:
    """The twin's first District (by id), or ``None``."""
    page = twin.query(types=["District"], limit=1, order_by=["id"])
    return page.entities[0].id if page.entities else None


def flows(twin: Twin, district: str, start: datetime, end: datetime,
          config: EnergyConfig | None = None) -> Flows:
    """Standard coal by carrier and zone (the ``Zone`` entities below ``district``) over ``[start, end)``."""
    grid = consumption_grid(twin, district, start, end, "day", config=config)
    coal = {c: coal_coefficient(c, config).value for c in grid.carriers()}
    zones = sorted(twin.query_all(types=("Zone",), under=district), key=lambda z: z.id)
    zone_of: dict[str, str] = {}
    for z in zones:
        for m in twin.query_all(types=("Meter",), under=z.id):
            zone_of.setdefault(m.id, z.id)
    out = Flows(district, start, end, zones={z.id: _name(z) for z in zones})
    for m, row in zip(grid.meters, grid.values, strict=True):
        value = float(np.nansum(row))
        if not value:
            continue
        carrier = m.value("carrier")
        key = (carrier, zone_of.get(m.id, ""))
        out.kgce[key] = out.kgce.get(key, 0.0) + value * coal[carrier]
    if any(z == "" for _, z in out.kgce):
        out.zones[""] = OUTSIDE_ZONES
    out.carriers = sorted({c for c, _ in out.kgce})
    return out


def sankey_options(f: Flows, tr: Callable[[str, str], str]) -> dict[str, Any]:
    """The ECharts options of the carrier → zone Sankey (link values in kgce)."""
    names = {c: tr(*CARRIER_LABELS[c]) for c in f.carriers}
    zone_names = {z: tr(*n) for z, n in f.zones.items()}
    nodes = [{"name": names[c]} for c in f.carriers] + [{"name": zone_names[z]} for z in f.zones]
    links = [{"source": names[c], "target": zone_names[z], "value": v} for (c, z), v in sorted(f.kgce.items())]
    return {"tooltip": {"trigger": "item"},
            "series": [{"type": "sankey", "data": nodes, "links": links, "emphasis": {"focus": "adjacency"},
                        "label": {"fontSize": 12}}]}


def daily(twin: Twin, district: str, start: datetime, end: datetime,
          config: EnergyConfig | None = None) -> tuple[list[str], dict[str, list[float]]]:
    """Days of ``[start, end)`` and each carrier's consumption per day [canonical unit] (main meters)."""
    grid = consumption_grid(twin, district, start, end, "day", config=config)
    days = [d.date().isoformat() for d in grid.starts()]
    return days, {c: [float(v) for v in np.nan_to_num(grid.total(c))] for c in grid.carriers()
                  if not np.all(np.isnan(grid.total(c)))}


@dataclass(frozen=True)
class Comparison:
    """Each carrier's daily consumption over a period and over the previous one [canonical unit], ``None`` for a
    day with no reading (a gap, not a zero); ``previous[c][k]`` is day ``k`` of the previous period."""

    period: Period
    days: list[str]
    current: dict[str, list[float | None]]
    previous: dict[str, list[float | None]]

    def total(self, carrier: str) -> float:
        """The carrier's consumption over the period."""
        return sum(v for v in self.current.get(carrier, []) if v is not None)

    def previous_total(self, carrier: str) -> float | None:
        """The carrier's consumption over the previous period; ``None`` when it has no reading there."""
        values = [v for v in self.previous.get(carrier, []) if v is not None]
        return sum(values) if values else None

    def change(self, carrier: str) -> float | None:
        """Relative change against the previous period (0.1 = +10 %); ``None`` when there is nothing to compare."""
        before = self.previous_total(carrier)
        return None if not before else self.total(carrier) / before - 1.0


def compare(twin: Twin, district: str, p: Period, config: EnergyConfig | None = None) -> Comparison:
    """Daily consumption per carrier over ``p`` and its previous period: one daily grid from the previous period's
    start to the period's end (two store queries), cut into the two."""
    grid = consumption_grid(twin, district, p.previous_start, p.end, "day", config=config)
    first = grid.starts()[0]
    cur0 = (p.start - first).days
    prev0, prev1 = (p.previous_start - first).days, (p.previous_end - first).days

    def cells(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else float(v) for v in values]

    current: dict[str, list[float | None]] = {}
    previous: dict[str, list[float | None]] = {}
    for c in grid.carriers():
        series = grid.total(c)
        if np.all(np.isnan(series)):
            continue
        current[c] = cells(series[cur0:cur0 + p.days])
        previous[c] = cells(series[prev0:prev1])
    days = [(p.start + timedelta(days=k)).date().isoformat() for k in range(p.days)]
    return Comparison(p, days, current, previous)


def period_coverage(twin: Twin, district: str, p: Period, now: datetime) -> tuple[Coverage, Coverage]:
    """The coverage of the district's main meters (the meters the totals sum) over ``p`` and over its previous
    period, as known at ``now``: one grouped daily count per period (:func:`.coverage.coverage`)."""
    scope = twin.get(district)
    meters = meters_in_scope(twin, scope)
    return (coverage(twin, meters, p.start, p.end, now=now, reads=[scope]),
            coverage(twin, meters, p.previous_start, p.previous_end, now=now, reads=[scope]))


def comparison_options(cmp: Comparison, carrier: str, tr: Callable[[str, str], str]) -> dict[str, Any]:
    """ECharts options of one carrier's daily chart: this period as bars, the previous one as a dashed line on the
    same day numbers."""
    label = f"{tr(*CARRIER_LABELS[carrier])} [{display_unit(carrier)}]"
    previous = cmp.previous.get(carrier, [])
    aligned = [previous[k] if k < len(previous) else None for k in range(len(cmp.days))]
    return {"title": {"text": label, "textStyle": {"fontSize": 13}}, "tooltip": {"trigger": "axis"},
            "legend": {"bottom": 0, "data": [tr("本期", "this period"), tr("上期", "previous period")]},
            "grid": {"left": 60, "right": 10, "top": 35, "bottom": 45},
            "xAxis": {"type": "category", "data": [d[5:] for d in cmp.days]}, "yAxis": {"type": "value"},
            "series": [{"type": "bar", "name": tr("本期", "this period"), "data": cmp.current.get(carrier, [])},
                       {"type": "line", "name": tr("上期", "previous period"), "data": aligned, "showSymbol": False,
                        "lineStyle": {"type": "dashed"}, "connectNulls": False}]}


@dataclass(frozen=True)
class Today:
    """The district today so far (Shanghai midnight to ``at``): per carrier, consumption [canonical unit], kgce, and
    the last complete hour's consumption; the live tiles of the page."""

    at: datetime
    consumption: dict[str, float]
    kgce: dict[str, float]
    last_hour: dict[str, float]

    @property
    def total_kgce(self) -> float:
        return sum(self.kgce.values())


def today(twin: Twin, district: str | Sequence[Entity], now: datetime, config: EnergyConfig | None = None) -> Today:
    """Consumption of the district's main meters (or of an explicit list of meters) since Shanghai midnight: one
    hourly grid (two store queries)."""
    midnight = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    if now <= midnight:
        return Today(now, {}, {}, {})
    grid = consumption_grid(twin, district, midnight, now, "hour", config=config)
    done = int((now - midnight).total_seconds() // 3600)  # complete hours today
    consumption: dict[str, float] = {}
    kgce: dict[str, float] = {}
    last_hour: dict[str, float] = {}
    order = list(CARRIER_LABELS)  # electricity, water, gas … : the order of every carrier list on screen
    for carrier in sorted(grid.carriers(), key=lambda c: (order.index(c) if c in order else 99, c)):
        series = grid.total(carrier)
        if np.all(np.isnan(series)):
            continue  # no reading of this carrier today: not a zero (the tiles leave it out)
        value = float(np.nansum(series))
        consumption[carrier] = value
        kgce[carrier] = value * coal_coefficient(carrier, config).value
        if done >= 1 and not np.isnan(series[done - 1]):
            last_hour[carrier] = float(series[done - 1])
    return Today(now, consumption, kgce, last_hour)


def carbon_today(twin: Twin, config: EnergyConfig | None = None, now: datetime | None = None,
                 factors: str = "shanghai-local-2022") -> float | None:
    """kg CO₂ of the district's consumption since Shanghai midnight (main meters, the factor set ``factors``):
    the overview's carbon tile. ``None`` when there is no district, no reading today, or a carrier in use has no
    factor (water and hydrogen need the deployment's settings) — never a partial sum passed off as the total."""
    district = district_of(twin)
    if district is None:
        return None
    t = today(twin, district, now or _now(), config)
    if not t.consumption:
        return None
    try:
        return sum(value * co2_factor(c, factors, config).value for c, value in t.consumption.items())
    except ValidationError:
        return None


def main_meters(twin: Twin) -> list[Entity]:
    """Every meter of the twin that is no other meter's sub-meter (what the overview counts, district or not)."""
    meters = twin.query_all(types=("Meter",))
    ids = {m.id for m in meters}
    return [m for m in meters if m.target("submeterOf") not in ids]


def energy_today(twin: Twin, config: EnergyConfig | None = None,
                 now: datetime | None = None) -> list[tuple[str, float, str]] | None:
    """The ``energy_today`` hook: every main meter's consumption since Shanghai midnight per carrier, as
    ``(carrier, value, unit)`` in the carrier's one unit (:func:`.carriers.display_unit`; litres of diesel become
    kg by the fuel's density) — the overview's energy tile. ``None`` when no meter has a reading today."""
    meters = main_meters(twin)
    if not meters:
        return None
    t = today(twin, meters, now or _now(), config)
    if not t.consumption:
        return None
    return [(c, value, display_unit(c)) for c, value in t.consumption.items()]  # today() keeps the screen order


def missing_factors(twin: Twin, district: str, config: EnergyConfig | None,
                    factors: str = "shanghai-local-2022") -> list[str]:
    """The carriers in use below ``district`` whose CO₂ factor is missing (each message names the setting)."""
    meters = meters_in_scope(twin, twin.get(district))
    problems = []
    for carrier in sorted({m.value("carrier") for m in meters}):
        try:
            co2_factor(carrier, factors, config)
        except ValidationError as err:
            problems.append(err.message)
    return problems


def page_config(page: Any) -> EnergyConfig | None:
    """The energy settings in force on a console page, as an EnergyConfig: the deployment's (the page context's
    ``config``), else those stored in the twin (:func:`.settings.config_in_force`; the demo's)."""
    config = config_in_force(page.twin, getattr(page, "config", None))
    if config is not None and not isinstance(config, EnergyConfig):
        config = EnergyConfig.model_validate(config)
    return config


def illustrative_notice(ui: Any, tr: Callable[[str, str], str], config: EnergyConfig | None) -> None:
    """A bilingual notice when the settings in force are illustrative placeholders (the demo's), not published
    figures: CO₂ and cost built on them must not be read as a deployment's own."""
    if is_illustrative(config):
        card = ui.card().classes("w-full bg-blue-1 text-grey-10").mark("energy-config-illustrative")
        with card.props('data-testid="energy-config-illustrative"'):
            ui.label(tr(*ILLUSTRATIVE_NOTICE))
            if config is not None and config.source:
                ui.label(config.source).classes("text-caption")


async def build_page(page: Any) -> None:
    """The energy page of the district: today live, then a chosen period (the last 30 days unless the user picks
    this month, last month or a run of days) compared with the period before it. The period's figures (flows,
    comparison, coverage, ranking: about a second of store reads, several under load) are computed in a worker
    thread, so the event loop keeps serving every other page meanwhile; they are drawn after."""
    from nicegui import ui

    twin = page.twin
    tr = page.tr
    config = page_config(page)
    ui.label(tr("能源", "Energy")).classes("text-h5")
    district = district_of(twin)
    if district is None:
        ui.label(tr("孪生中没有园区（District）。", "The twin has no District.")).props('data-testid="message-info"')
        return
    now = _now()
    illustrative_notice(ui, tr, config)
    problems = missing_factors(twin, district, config)
    if problems:
        with ui.card().classes("w-full bg-amber-1").props('data-testid="energy-config-missing"'):
            ui.label(tr(*CONFIG_MESSAGE))
            for p in problems:
                ui.label(p).classes("text-caption font-mono")

    _live_today(page, ui, district, config)

    state: dict[str, Any] = {"kind": "last30", "start": "", "end": ""}
    with ui.row().classes("items-end gap-4"):
        kind = ui.select({k: tr(*v) for k, v in PERIOD_KINDS.items()}, value="last30",
                         label=tr("统计周期", "Period")).classes("w-40").mark("energy-period")
        first = ui.input(tr("开始日期 YYYY-MM-DD", "From YYYY-MM-DD")).classes("w-44").mark("energy-period-start")
        last = ui.input(tr("结束日期 YYYY-MM-DD", "To YYYY-MM-DD")).classes("w-44").mark("energy-period-end")
        apply = ui.button(tr("应用", "Apply")).props("outline").mark("energy-period-apply")
    for box in (first, last, apply):
        box.bind_visibility_from(kind, "value", value="custom")

    @ui.refreshable
    async def section() -> None:
        from nicegui import run

        try:
            p = period(state["kind"], now, parse_day(state["start"], "start"), parse_day(state["end"], "end"))
        except ValidationError as err:
            ui.label(tr(f"周期无效（{err.field}）：{err.message}", f"Invalid period ({err.field}): {err.message}")) \
                .props('data-testid="energy-period-invalid"')
            return
        figures = await run.io_bound(period_figures, twin, district, p, now, config)
        if figures is None:  # the app is shutting down: nothing to draw
            return
        _period_section(page, ui, district, p, config, problems, figures)

    def choose() -> None:
        state.update(kind=kind.value, start=first.value or "", end=last.value or "")
        if state["kind"] != "custom" or (state["start"] and state["end"]):
            section.refresh()

    kind.on_value_change(lambda _: choose())
    apply.on_click(choose)
    await section()

    _forecast(page, ui, district, now, config)

    _anomalies(page, ui, district, now)


@dataclass(frozen=True)
class PeriodFigures:
    """What the period section shows, computed away from the event loop: the ``flows``, the comparison ``cmp``
    with the previous period, the coverage of both, and the building ranking (``ranking``: rows of
    :func:`.efficiency.intensity`, most kgce/m² first; ``ranking_error`` when it cannot be computed)."""

    flows: Flows
    cmp: Comparison
    coverage_now: Coverage
    coverage_before: Coverage
    ranking: list[dict[str, Any]]
    ranking_error: str | None = None


def period_figures(twin: Twin, district: str, p: Period, now: datetime,
                   config: EnergyConfig | None) -> PeriodFigures:
    """The figures of the period section of ``p`` (no UI: runs in a worker thread)."""
    from lingang_twin.energy.efficiency import intensity

    f = flows(twin, district, p.start, p.end, config)
    cmp = compare(twin, district, p, config)
    cov_now, cov_before = period_coverage(twin, district, p, now)
    end = min(p.end, max(now, p.start + timedelta(hours=1)))
    try:
        table = intensity(twin, p.start, end, under=district, config=config)
    except ValidationError as err:
        return PeriodFigures(f, cmp, cov_now, cov_before, [], err.message)
    rows = sorted((r for r in table.to_pylist() if r["kgce_per_m2"] is not None),
                  key=lambda r: (r["kgce_per_m2"], r["building"]), reverse=True)
    return PeriodFigures(f, cmp, cov_now, cov_before, rows)


def _period_section(page: Any, ui: Any, district: str, p: Period, config: EnergyConfig | None,
                    problems: list[str], figures: PeriodFigures) -> None:
    """The Sankey, the daily charts against the previous period, the ranking and the reports of ``p``."""
    tr = page.tr
    last_day = p.end - timedelta(days=1)
    span = f"{p.start:%Y-%m-%d} – {last_day:%Y-%m-%d}"
    before = f"{p.previous_start:%Y-%m-%d} – {p.previous_end - timedelta(days=1):%Y-%m-%d}"
    ui.label(tr(f"统计周期 {span}（{p.days} 天），对比上期 {before}",
                f"Period {span} ({p.days} days), compared with {before}")) \
        .classes("text-subtitle2").props('data-testid="energy-period-span"')
    ui.label(tr(f"{span} 各能源品种流向各片区（折标准煤 kgce，按 GB/T 2589-2020 折算，使各品种可相加；仅计总表）",
                f"{span}: carriers to zones, converted to standard coal (kgce, GB/T 2589-2020) so that the "
                "carriers add up; main meters only")).classes("text-subtitle1")
    f = figures.flows
    if f.kgce:
        ui.echart(sankey_options(f, tr)).classes("w-full h-96").mark("energy-sankey")
    else:
        ui.label(tr("所选周期暂无读数。", "No readings in this period.")).props('data-testid="message-info"')

    ui.label(tr("每日能耗（各品种，原单位；柱为本期，虚线为上期同序日）",
                "Daily consumption per carrier (its own unit; bars this period, dashed line the previous period's "
                "days in order)")).classes("text-subtitle1")
    cmp = figures.cmp
    cov_now, cov_before = figures.coverage_now, figures.coverage_before
    _coverage_notice(page, ui, cov_now, cov_before)
    badges_now, badges_before = carrier_badges(cov_now), carrier_badges(cov_before)
    heads = (("品种", "Carrier"), ("本期", "This period"), COVERAGE_HEAD, ("上期", "Previous period"),
             ("上期" + COVERAGE_HEAD[0], "Previous coverage"), ("变化", "Change"), ("单位", "Unit"))
    with ui.grid(columns=len(heads)).classes("gap-x-6 gap-y-1 items-center").mark("energy-compare"):
        for head in heads:
            ui.label(tr(*head)).classes("font-bold")
        for carrier in cmp.current:
            change = cmp.change(carrier)
            before_total = cmp.previous_total(carrier)
            ui.label(tr(*CARRIER_LABELS[carrier]))
            ui.label(f"{cmp.total(carrier):,.1f}").classes("font-mono").mark(f"energy-total-{carrier}")
            _badge_cell(ui, tr, badges_now.get(carrier), f"energy-coverage-{carrier}")
            ui.label("—" if before_total is None else f"{before_total:,.1f}").classes("font-mono") \
                .mark(f"energy-previous-{carrier}")
            _badge_cell(ui, tr, badges_before.get(carrier), f"energy-previous-coverage-{carrier}")
            ui.label("—" if change is None else f"{change:+.1%}").classes("font-mono")
            ui.label(display_unit(carrier))
    with ui.row().classes("w-full"):
        for carrier in cmp.current:
            ui.echart(comparison_options(cmp, carrier, tr)).classes("w-96 h-64").mark(f"energy-daily-{carrier}")

    ui.label(tr("建筑单位面积综合能耗排名（kgce/m²·年，按所选周期折算）",
                "Buildings by kgce per m² per year (the chosen period, annualised)")).classes("text-subtitle1")
    _ranking(page, ui, figures)

    month = p.month
    ui.label(tr(f"{month} 月度报告下载", f"Monthly report {month}")).classes("text-subtitle1")
    with ui.row():
        for fmt in ("html", "xlsx", "pdf"):
            ui.button(fmt.upper(), icon="download",
                      on_click=lambda fmt=fmt: download(page, ui, district, month, fmt, config)) \
                .props(f'data-testid="energy-report-{fmt}"').set_enabled(not problems)


def _badge_cell(ui: Any, tr: Callable[[str, str], str], b: CoverageBadge | None, marker: str) -> None:
    """A coverage badge in a grid cell, or a dash where the carrier has no meter in the scope."""
    if b is None:
        ui.label("—")
    else:
        draw_badge(ui, tr, b, marker)


def _coverage_notice(page: Any, ui: Any, now: Coverage, before: Coverage) -> None:
    """A warning card when the period or the one it is compared with is missing readings (each carrier named,
    with the readings expected and missing), so that a change in the totals is not read as a change in use."""
    lines = notices(now, page.lang) + notices(before, page.lang, prefix=("上期：", "Previous period: "))
    if not lines:
        return
    tr = page.tr
    with ui.card().classes("w-full bg-amber-1 text-grey-10").props('data-testid="energy-coverage-notice"') \
            .mark("energy-coverage-notice"):
        ui.label(tr("数据不完整：以下总量少算了缺失的读数，对比须谨慎。",
                    "Incomplete data: the totals below lack the missing readings; compare with care.")) \
            .classes("font-bold")
        for line in lines:
            ui.label(line).classes("text-caption")


def _live_today(page: Any, ui: Any, district: str, config: EnergyConfig | None) -> None:
    """Today's consumption per carrier, refreshed by the console's live hub after every tick."""
    tr = page.tr

    def compute(twin: Twin) -> Today:
        return today(twin, district, _now(), config)

    def tiles(t: Today) -> None:
        ui.label(tr(f"今日累计（至 {t.at:%H:%M}，总表）：{t.total_kgce:,.0f} kgce",
                    f"Today so far (to {t.at:%H:%M}, main meters): {t.total_kgce:,.0f} kgce")) \
            .classes("text-subtitle1").props('data-testid="energy-today-total"')
        with ui.row().classes("gap-4"):
            for carrier, value in t.consumption.items():
                with ui.card().classes("p-2").props(f'data-testid="energy-today-{carrier}"'):
                    unit = display_unit(carrier)
                    ui.label(tr(*CARRIER_LABELS[carrier])).classes("text-caption")
                    ui.label(f"{value:,.1f} {unit}").classes("text-h6 font-mono")
                    hour = t.last_hour.get(carrier)
                    ui.label(tr("上一小时 ", "last hour ") + (f"{hour:,.1f} {unit}" if hour is not None else "—")) \
                        .classes("text-caption")

    area = ui.refreshable(tiles)
    area(compute(page.twin))
    page.live("energy.today", compute, area.refresh)


def _ranking(page: Any, ui: Any, figures: PeriodFigures) -> None:
    """The top 20 buildings by kgce/m²; their use in the page's language (the console's ``value.use.*`` words)."""
    tr = page.tr
    if figures.ranking_error is not None:
        ui.label(tr(f"无法排名：{figures.ranking_error}", f"No ranking: {figures.ranking_error}")) \
            .props('data-testid="energy-ranking-unavailable"')
        return
    rows = figures.ranking
    if not rows:
        ui.label(tr("没有可排名的建筑（缺少面积或读数）。", "No building to rank (floor area or readings missing)."))
        return
    with ui.grid(columns=4).classes("gap-x-6 gap-y-1").mark("energy-ranking"):
        for head in ("#", tr("建筑", "Building"), "kgce/m²", tr("用途", "Use")):
            ui.label(head).classes("font-bold")
        for k, r in enumerate(rows[:20], start=1):
            ui.label(str(k))
            ui.link(str(r["name"] or r["building"]), page.entity_url(r["building"]))
            ui.label(f"{r['kgce_per_m2']:.2f}").classes("font-mono")
            ui.label(use_label(page, r["use"])).mark(f"energy-ranking-use-{k}")


def use_label(page: Any, use: Any) -> str:
    """A building's ``use`` in the page's language through the console's ``value.use.<use>`` words (``—`` when
    unset; a use nobody translated shows as stored: ``text`` answers an unknown key with the key itself)."""
    if not use:
        return "—"
    key = f"value.use.{use}"
    word = page.text(key)
    return str(use) if word == key else str(word)


def forecast_options(f: Any, tr: Callable[[str, str], str]) -> dict[str, Any]:
    """ECharts options of a forecast: the mean line and its 80 % and 95 % bands (stacked areas: lower bound, then
    the band's width on top of it, the usual way to draw a band in ECharts)."""
    hours = [s[11:16] for s in (x.isoformat() for x in f.starts)]
    series: list[dict[str, Any]] = []
    for level, opacity in ((95, 0.15), (80, 0.3)):
        lower, upper = f.lower.get(level), f.upper.get(level)
        if lower is None or upper is None or not np.all(np.isfinite(upper)):
            continue  # too little history to calibrate this level: the interval is unbounded, nothing to draw
        series += [
            {"type": "line", "name": f"{level}% lower", "data": list(lower), "stack": f"band{level}",
             "lineStyle": {"opacity": 0}, "symbol": "none", "tooltip": {"show": False}},
            {"type": "line", "name": tr(f"{level}% 预测区间", f"{level}% interval"),
             "data": [u - lo for u, lo in zip(upper, lower, strict=True)], "stack": f"band{level}",
             "lineStyle": {"opacity": 0}, "symbol": "none", "areaStyle": {"opacity": opacity, "color": "#0b6e99"}},
        ]
    series.append({"type": "line", "name": tr("预测", "forecast"), "data": list(f.mean), "showSymbol": False,
                   "lineStyle": {"color": "#0b6e99", "width": 2}})
    return {"tooltip": {"trigger": "axis"}, "legend": {"data": [tr("预测", "forecast")]},
            "xAxis": {"type": "category", "data": hours}, "yAxis": {"type": "value", "name": f.unit},
            "series": series}


def _forecast(page: Any, ui: Any, district: str, now: datetime, config: EnergyConfig | None) -> None:
    """Tomorrow's electricity of the district, hour by hour, from the readings so far (:mod:`..forecast`)."""
    from lingang_twin.energy.forecast import forecast

    tr = page.tr
    ui.label(tr("明日用电预测（逐时，全区总表，80% / 95% 预测区间）",
                "Tomorrow's electricity, hour by hour (district main meters, 80 % / 95 % intervals)")) \
        .classes("text-subtitle1")
    try:
        f = forecast(page.twin, district, horizon="day-ahead", issued_at=now, carrier="electricity", config=config)
    except ValidationError as err:
        ui.label(tr(f"暂无预测：{err.message}", f"No forecast: {err.message}")) \
            .props('data-testid="energy-forecast-unavailable"')
        return
    ui.echart(forecast_options(f, tr)).classes("w-full h-72").mark("energy-forecast")
    ui.label(tr(f"模型 {f.model}；基于 {f.history_buckets} 个小时的历史，发布于 {f.issued_at:%m-%d %H:%M}",
                f"model {f.model}; {f.history_buckets} hours of history; issued {f.issued_at:%m-%d %H:%M}")) \
        .classes("text-caption")


def _anomalies(page: Any, ui: Any, district: str, now: datetime) -> None:
    from lingang_twin.energy.quality import KIND_LABELS, SEVERITY_LABELS, check_meters

    tr = page.tr
    findings = check_meters(page.twin, district, now - timedelta(days=3), now)
    ui.label(tr(f"近三天计量异常：{len(findings)} 项", f"Meter findings, last 3 days: {len(findings)}")) \
        .classes("text-subtitle1").props('data-testid="energy-findings-count"')
    if not findings:
        return
    with ui.grid(columns=4).classes("gap-x-6 gap-y-1").mark("energy-findings"):
        for head in (tr("表计", "Meter"), tr("类型", "Kind"), tr("时段", "Period"), tr("说明", "Detail")):
            ui.label(head).classes("font-bold")
        for f in findings[:MAX_FINDINGS]:
            ui.link(f.entity_id.rsplit(":", 1)[-1], page.entity_url(f.entity_id))
            ui.label(f"{tr(*KIND_LABELS.get(f.kind, (f.kind, f.kind)))}"
                     f"（{tr(*SEVERITY_LABELS.get(f.severity, (f.severity, f.severity)))}）"
                     if page.lang == "zh" else
                     f"{tr(*KIND_LABELS.get(f.kind, (f.kind, f.kind)))} ({f.severity})")
            ui.label(f"{f.start.astimezone(SHANGHAI):%m-%d %H:%M} – {f.end.astimezone(SHANGHAI):%m-%d %H:%M}")
            ui.label(tr(f.detail_zh, f.detail_en))
    if len(findings) > MAX_FINDINGS:
        ui.label(tr(f"另有 {len(findings) - MAX_FINDINGS} 项未列出", f"{len(findings) - MAX_FINDINGS} more not listed"))


def report_bytes(twin: Twin, scope: str, month: str, fmt: str, lang: str,
                 config: EnergyConfig | None = None) -> bytes:
    """The monthly report of ``scope`` rendered as ``fmt`` (html, xlsx, pdf)."""
    from lingang_twin.energy.reports import monthly_report, render

    report = monthly_report(twin, scope, month, lang=lang, config=config)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report.{fmt}"
        render(report, fmt, path)
        return path.read_bytes()


def download(page: Any, ui: Any, scope: str, month: str, fmt: str, config: EnergyConfig | None) -> None:
    """Render ``scope``'s monthly report as ``fmt`` and hand it to the browser (a warning if it cannot be made)."""
    try:
        content = report_bytes(page.twin, scope, month, fmt, page.tr("zh", "en"), config)
    except ValidationError as err:
        ui.notify(err.message, type="warning")
        return
    ui.download.content(content, f"energy-report-{scope.rsplit(':', 1)[-1]}-{month}.{fmt}")


__all__ = ["Comparison", "Flows", "Today", "carbon_today", "compare", "comparison_options", "daily",
           "energy_today", "flows", "forecast_options", "main_meters", "missing_factors", "page_config",
           "period_coverage", "report_bytes", "sankey_options", "today"]
