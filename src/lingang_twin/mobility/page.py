"""The mobility pack's console page (出行): car parks and their latest free spots, live.

It reaches the console only through ``PACK.pages`` (a :class:`~lingang_twin.core.packs.ConsolePageSpec`): the
pack never imports the console. The builder gets the console's page context (``page.twin``, ``page.tr``,
``page.entity_url``, ``page.live``) and draws with NiceGUI, imported here lazily so that the pack loads without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lingang_twin.core.calendar import SHANGHAI

if TYPE_CHECKING:
    from lingang_twin.core.packs import PageContext
    from lingang_twin.core.twin import Twin



@dataclass
class CarPark:
    """A car park, its capacity and its newest count of free spots (``None``: no reading in two days)."""

    id: str
    name: tuple[str, str]
    total: int | None
    free: int | None
    at: datetime | None


def car_parks(twin: Twin, now: datetime | None = None) -> list[CarPark]:
    """Every ``OffStreetParking`` with its latest ``availableSpotNumber`` reading (one store query for all)."""
    now = now or datetime.now(SHANGHAI)
    page = twin.query(types=["OffStreetParking"], limit=1000, order_by=["id"])
    latest: dict[str, tuple[datetime, float]] = {}
    if page.entities:
        table = twin.aggregate("availableSpotNumber", types=["OffStreetParking"], bucket="hour", agg="last",
                               group_by="entity", start=now - timedelta(days=2))
        for row in table.to_pylist():
            seen = latest.get(row["group"])
            if row["value"] is not None and (seen is None or row["bucket"] > seen[0]):
                latest[row["group"]] = (row["bucket"], float(row["value"]))
    out = []
    for e in page.entities:
        zh = e.value("name") or e.id.rsplit(":", 1)[-1]
        total = e.value("totalSpotNumber")
        hit = latest.get(e.id)
        out.append(CarPark(e.id, (str(zh), str(e.value("nameEn") or zh)), int(total) if total is not None else None,
                           int(hit[1]) if hit else None, hit[0] if hit else None))
    return out


def build_page(page: PageContext) -> None:
    """The car-park list, refreshed by the console's live hub."""
    from nicegui import ui

    ui.label(page.tr("停车场实时空位", "Car parks, free spots now")).classes("text-h5")
    parks = car_parks(page.twin)

    @ui.refreshable
    def table(rows: list[CarPark]) -> None:
        if not rows:
            ui.label(page.tr("孪生中没有停车场。", "The twin has no car parks.")).props('data-testid="message-info"')
            return
        with ui.grid(columns=4).classes("gap-x-6 gap-y-1"):
            for head in (page.tr("停车场", "Car park"), page.tr("总车位", "Spots"), page.tr("空闲", "Free"),
                         page.tr("读数时段", "Reading hour")):
                ui.label(head).classes("font-bold")
            for p in rows:
                ui.link(page.tr(*p.name), page.entity_url(p.id))
                ui.label("—" if p.total is None else str(p.total))
                ui.label(page.tr("暂无", "n/a") if p.free is None else str(p.free)).classes("font-mono") \
                    .props(f'data-testid="free-{p.id.rsplit(":", 1)[-1]}"')
                ui.label("—" if p.at is None else p.at.astimezone(SHANGHAI).strftime("%m-%d %H:00"))

    table(parks)
    shown = {"rows": parks}

    def update(rows: list[CarPark]) -> None:
        # Redraw only when a figure changed: a redraw replaces the links under the user's pointer every tick.
        if rows != shown["rows"]:
            shown["rows"] = rows
            table.refresh(rows)

    page.live("mobility.car_parks", car_parks, update)
