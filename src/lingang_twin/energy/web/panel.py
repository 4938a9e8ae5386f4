"""The energy section of an entity's console page (能耗面板): what a building, zone, district or meter consumed today
and this month, per carrier, in standard coal and — where the factor set has a factor — in CO₂.

Reached through ``PACK.panels``: the console calls it for every entity page without knowing the pack;
the pack draws nothing for an entity with no meter below it. One daily grid over the month so far (the one read path,
:func:`.consumption.consumption_grid`: main meters only, cumulative registers by delta, units made canonical) gives
both figures: today is its last day. Each carrier states the month's coverage so far (:mod:`.coverage_view`: the
share of the expected readings that are there, flagged partial or running; one grouped count), and a carrier whose
meters read nothing this month is named as such instead of being left out silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from lingang_twin.core.calendar import SHANGHAI
from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.accounting import meters_in_scope
from lingang_twin.energy.carriers import CARRIER_LABELS, display_unit
from lingang_twin.energy.consumption import consumption_grid
from lingang_twin.energy.coverage import Coverage, coverage
from lingang_twin.energy.factors import EnergyConfig, co2_factor, coal_coefficient
from lingang_twin.energy.web import page as energy_page  # one clock and one config for the pages
from lingang_twin.energy.web.coverage_view import COVERAGE_HEAD, FLAG_LABELS, carrier_badges, draw_badge

if TYPE_CHECKING:
    from lingang_twin.core.model import Entity
    from lingang_twin.core.twin import Twin

FACTOR_SET = "shanghai-local-2022"  # the overview's carbon tile uses the same set


@dataclass(frozen=True)
class CarrierFigures:
    """One carrier of the panel: consumption today and this month [``unit``], kgce and kg CO₂ of each (``None``
    where no factor exists for the carrier)."""

    carrier: str
    unit: str
    today: float
    month: float
    kgce_today: float
    kgce_month: float
    kgco2_today: float | None
    kgco2_month: float | None


@dataclass
class Panel:
    """The panel of ``scope`` at ``at``: its main meters' figures per carrier (carriers with no reading this month
    are left out of the figures, never shown as zero), the carriers whose CO₂ factor is missing and the month's
    ``coverage`` as known at ``at`` (``None`` at the very first instant of a month)."""

    scope: str
    at: datetime
    meters: int
    carriers: list[CarrierFigures] = field(default_factory=list)
    co2_missing: list[str] = field(default_factory=list)
    coverage: Coverage | None = None

    @property
    def kgce_today(self) -> float:
        return sum(c.kgce_today for c in self.carriers)

    @property
    def kgce_month(self) -> float:
        return sum(c.kgce_month for c in self.carriers)


def panel(twin: Twin, entity: Entity, now: datetime, config: EnergyConfig | None = None) -> Panel | None:
    """The figures of ``entity``'s main meters from the 1st of ``now``'s month (Asia/Shanghai) to ``now``; ``None``
    when no meter lies in it. Raises ValidationError when a meter's unit does not convert (naming the meter)."""
    meters = meters_in_scope(twin, entity)
    if not meters:
        return None
    local = now.astimezone(SHANGHAI)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight.replace(day=1)
    out = Panel(entity.id, now, len(meters))
    if local <= first:
        return out
    grid = consumption_grid(twin, entity, first, max(local, first + timedelta(microseconds=1)), "day", config=config)
    next_month = (first + timedelta(days=32)).replace(day=1)
    out.coverage = coverage(twin, meters, first, next_month, now=now, reads=[entity])
    today_col = (midnight - first).days
    for carrier in grid.carriers():
        series = grid.total(carrier)
        if np.all(np.isnan(series)):
            continue
        month = float(np.nansum(series))
        today = float(np.nan_to_num(series[today_col])) if today_col < len(series) else 0.0
        coal = coal_coefficient(carrier, config).value
        try:
            co2: float | None = co2_factor(carrier, FACTOR_SET, config).value
        except ValidationError:
            co2 = None
            out.co2_missing.append(carrier)
        out.carriers.append(CarrierFigures(carrier, display_unit(carrier), today, month, today * coal, month * coal,
                                           None if co2 is None else today * co2, None if co2 is None else month * co2))
    order = list(CARRIER_LABELS)
    out.carriers.sort(key=lambda c: order.index(c.carrier) if c.carrier in order else 99)
    return out


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


async def entity_panel(page: Any, entity: Entity) -> None:
    """Draw the panel of ``entity`` on its console page (NiceGUI imported lazily; computed off the event loop)."""
    from nicegui import run, ui

    tr = page.tr
    config = energy_page.page_config(page)
    try:
        figures = await run.io_bound(panel, page.twin, entity, energy_page._now(), config)
    except ValidationError as err:
        with ui.card().classes("w-full"):
            ui.label(tr(f"无法计算能耗：{err.message}", f"No energy figures: {err.message}")) \
                .props('data-testid="energy-panel-unavailable"')
        return
    if figures is None:
        return
    badges = {} if figures.coverage is None else carrier_badges(figures.coverage)
    with ui.card().classes("w-full").mark("energy-panel"):
        ui.label(tr(f"能耗（{figures.meters} 块总表，至 {figures.at:%m-%d %H:%M}）",
                    f"Energy ({figures.meters} main meters, to {figures.at:%m-%d %H:%M})")) \
            .classes("text-subtitle1 font-bold")
        shown = {c.carrier for c in figures.carriers}
        silent = [c for c, b in badges.items() if c not in shown and b.empty]
        for carrier in silent:  # meters of this carrier exist but read nothing this month: not a zero
            b = badges[carrier]
            zh, en = CARRIER_LABELS.get(carrier, (carrier, carrier))
            zh_n, en_n = (f"（应有 {b.expected:,} 条）", f" ({b.expected:,} expected)") if b.expected else ("", "")
            ui.label(tr(f"{zh}：本月{FLAG_LABELS['empty'][0]}{zh_n}", f"{en}: no readings this month{en_n}")) \
                .classes("font-bold") \
                .props(f'data-testid="energy-panel-empty-{carrier}"')
        if not figures.carriers:
            ui.label(tr("本月暂无读数。", "No readings this month yet.")).classes("text-grey-7")
            return
        heads = (("品种", "Carrier"), ("今日", "Today"), ("本月", "This month"), ("单位", "Unit"),
                 ("今日 kgce", "kgce today"), ("本月 kgce", "kgce this month"), ("今日 CO₂ kg", "CO₂ kg today"),
                 ("本月 CO₂ kg", "CO₂ kg this month"), ("本月" + COVERAGE_HEAD[0], "Coverage this month"))
        with ui.grid(columns=len(heads)).classes("gap-x-6 gap-y-1").mark("energy-panel-table"):
            for zh, en in heads:
                ui.label(tr(zh, en)).classes("font-bold")
            for c in figures.carriers:
                ui.label(tr(*CARRIER_LABELS[c.carrier]))
                for value in (c.today, c.month):
                    ui.label(_fmt(value)).classes("font-mono").mark(f"energy-panel-{c.carrier}")
                ui.label(c.unit)
                for figure in (c.kgce_today, c.kgce_month, c.kgco2_today, c.kgco2_month):
                    ui.label(_fmt(figure)).classes("font-mono")
                if c.carrier in badges:
                    draw_badge(ui, tr, badges[c.carrier], f"energy-panel-coverage-{c.carrier}")
                else:
                    ui.label("—")
        ui.label(tr(f"合计：今日 {figures.kgce_today:,.1f} kgce，本月 {figures.kgce_month:,.1f} kgce"
                    "（GB/T 2589-2020；CO₂ 按上海地方因子 2022）",
                    f"Total: {figures.kgce_today:,.1f} kgce today, {figures.kgce_month:,.1f} kgce this month "
                    "(GB/T 2589-2020; CO₂ by Shanghai local factors 2022)")).classes("text-caption") \
            .props('data-testid="energy-panel-total"')
        if figures.co2_missing:
            names = tr("、", ", ").join(tr(*CARRIER_LABELS[c]) for c in figures.co2_missing)
            ui.label(tr(f"{names}未配置 CO₂ 因子，不计 CO₂", f"No CO₂ factor configured for {names}: CO₂ not shown")) \
                .classes("text-caption")


__all__ = ["CarrierFigures", "Panel", "entity_panel", "panel"]
