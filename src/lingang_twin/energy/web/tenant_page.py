"""The tenants' console page (租户能耗): every enterprise's energy in a month (this month unless the user picks
another of the last twelve), the way a property manager bills it.

One row per tenant (:func:`.tenants.tenant_accounts`, largest standard coal first): where it works, how each
carrier reached it (own sub-meters, or its floor-area share — the method is the first thing a tenant asks about),
electricity, water, standard coal, CO₂ and cost, and its monthly report as HTML or PDF. Reached through the
energy pack's ``console`` hook like the energy page; NiceGUI is imported lazily.

Each row states its month's coverage (:mod:`.coverage_view`: the share of the expected readings that are there,
flagged empty, partial or running); a tenant with no reading in the month shows "no data", not zeros.

CO₂ and cost need the deployment's factors for every carrier in use (water, hydrogen): without them the page
names the missing settings instead of showing a partial statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lingang_twin.core.errors import ValidationError
from lingang_twin.energy.accounting import Account, month_range
from lingang_twin.energy.factors import EnergyConfig
from lingang_twin.energy.periods import recent_months
from lingang_twin.energy.tenants import METHOD_LABELS, tenant_accounts
from lingang_twin.energy.web import page as energy_page
from lingang_twin.energy.web.coverage_view import COVERAGE_HEAD, FLAG_LABELS, badge, draw_badge

COLUMNS = (("企业", "Enterprise"), ("计量方式", "Method"), ("电 kWh", "Electricity kWh"), ("水 m³", "Water m³"),
           ("综合能耗 kgce", "kgce"), ("CO₂ kg", "CO₂ kg"), ("费用 元", "Cost CNY"), COVERAGE_HEAD, ("月报", "Report"))
FIGURES = ("kwh", "water_m3", "kgce", "kgco2", "cost_cny")


def tenant_rows(accounts: list[Account], names: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The table's rows: per tenant, its figures, the methods used (each distinct method once) and its coverage
    badge (``None`` for an account computed without coverage)."""
    rows = []
    for a in accounts:
        allocations = a.basis.get("tenant", {}).get("allocations", [])
        methods = sorted({x["method"] for x in allocations})
        elec, water = a.carriers.get("electricity"), a.carriers.get("water")
        rows.append({"enterprise": a.scope, "name": names.get(a.scope, (a.scope, a.scope)), "methods": methods,
                     "shares": sorted({round(x["share"], 4) for x in allocations if x["share"] is not None}),
                     "kwh": elec.consumption if elec else 0.0, "water_m3": water.consumption if water else 0.0,
                     "kgce": a.total_kgce, "kgco2": a.total_kgco2, "cost_cny": a.total_cost_cny,
                     "coverage": None if a.coverage is None else badge(a.coverage, a.coverage.running)})
    return rows


def build_tenant_page(page: Any) -> None:
    """The tenants of the district for a month the user picks (this month by default; Asia/Shanghai)."""
    from nicegui import ui

    tr = page.tr
    twin = page.twin
    config = energy_page.page_config(page)
    ui.label(tr("租户能耗", "Tenants' energy")).classes("text-h5")
    district = energy_page.district_of(twin)
    if district is None:
        ui.label(tr("孪生中没有园区（District）。", "The twin has no District.")).props('data-testid="message-info"')
        return
    now: datetime = energy_page._now()  # one clock for both pages (tests pin it there)
    months = recent_months(now)
    picker = ui.select(months, value=months[0], label=tr("月份", "Month")).classes("w-40").mark("tenant-month")

    @ui.refreshable
    def table() -> None:
        _tenant_table(page, ui, district, picker.value, config)

    picker.on_value_change(lambda _: table.refresh())
    table()


def _tenant_table(page: Any, ui: Any, district: str, month: str, config: EnergyConfig | None) -> None:
    """Every tenant's statement for ``month``, with its coverage as known at the page's clock."""
    tr = page.tr
    twin = page.twin
    start, end = month_range(month)
    ui.label(tr(f"{month}：有自有分表的品种按分表计；其余按租用面积占建筑面积的比例分摊该建筑未被租户分表计量的部分",
                f"{month}: carriers a tenant meters itself come from its own sub-meters; the others are its share "
                "(leased m² / building floor area) of what no tenant meter measures in the building")) \
        .classes("text-caption").props('data-testid="tenant-month-caption"')
    energy_page.illustrative_notice(ui, tr, config)
    try:
        accounts = tenant_accounts(twin, start, end, under=district, config=config, now=energy_page._now())
    except ValidationError as err:
        ui.label(tr(f"无法核算租户：{err.message}", f"No tenant statement: {err.message}")) \
            .props('data-testid="tenants-unavailable"')
        return
    if not accounts:
        ui.label(tr("园区内没有租户（企业未关联空间或建筑）。", "No tenants: no enterprise occupies anything."))
        return
    names = {e.id: (str(e.value("name") or e.id), str(e.value("nameEn") or e.value("name") or e.id))
             for e in twin.query_all(types=("Enterprise",), under=district)}
    rows = tenant_rows(accounts, names)
    if all(r["coverage"] is not None and r["coverage"].empty for r in rows):
        # Nothing was read this month (a month to come, or meters that went silent): say so once, above the rows.
        ui.label(tr(f"{month} 无任何读数：各租户的能耗为“无读数”，不是零。",
                    f"{month} holds no reading: every tenant shows “no data”, not zero.")) \
            .classes("text-body1 font-bold").props('data-testid="tenant-month-empty"') \
            .mark("tenant-month-empty")
    with ui.grid(columns=len(COLUMNS)).classes("gap-x-6 gap-y-1 items-center").mark("tenant-table"):
        for zh, en in COLUMNS:
            ui.label(tr(zh, en)).classes("font-bold")
        for r in rows:
            ui.link(tr(*r["name"]), page.entity_url(r["enterprise"]))
            method = tr("，", ", ").join(tr(*METHOD_LABELS[m]) for m in r["methods"])
            shares = " / ".join(f"{s:.1%}" for s in r["shares"] if s < 1)
            ui.label(f"{method}{f' ({shares})' if shares else ''}").classes("text-caption")
            local = r["enterprise"].rsplit(":", 1)[-1]
            cov = r["coverage"]
            for key in FIGURES:
                text = tr(*FLAG_LABELS["empty"]) if cov is not None and cov.empty else f"{r[key]:,.1f}"
                ui.label(text).classes("font-mono").mark(f"tenant-{key}-{local}")
            if cov is None:
                ui.label("—")
            else:
                draw_badge(ui, tr, cov, f"tenant-coverage-{local}")
            with ui.row().classes("gap-1"):
                for fmt in ("html", "pdf"):
                    ui.button(fmt.upper(), on_click=lambda s=r["enterprise"], f=fmt: energy_page.download(
                        page, ui, s, month, f, config)).props("flat dense size=sm") \
                        .mark(f"tenant-report-{fmt}-{local}")


__all__ = ["COLUMNS", "FIGURES", "build_tenant_page", "tenant_rows"]
