"""What the console's pages show, computed from the twin, without any UI: each function here is one question the
operations centre asks, answered with plain Python values so that it can be tested on its own and shared by every
open page (the live hub computes each answer once per tick, not once per browser)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lingang_twin.core.errors import TwinError
from lingang_twin.core.ids import parse_entity_id
from lingang_twin.core.model import Entity
from lingang_twin.core.packs import Tile, TileValue
from lingang_twin.core.twin import SHANGHAI, Twin

# How many direct children an entity page lists; a district holds thousands, the page shows the first ones.
CHILDREN_SHOWN = 200


def clock() -> datetime:
    """The console's "now" in Asia/Shanghai: one place, so that a test can pin the day its data was written for."""
    return datetime.now(SHANGHAI)


def start_of_today(now: datetime | None = None) -> datetime:
    """00:00 today in Asia/Shanghai (the district's day)."""
    now = (now or clock()).astimezone(SHANGHAI)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def display_name(entity: Entity, lang: str) -> str:
    """The entity's name in ``lang`` (``name`` is Chinese, ``nameEn`` English), else its local id."""
    return entity.display_name(lang)


# -- overview ---------------------------------------------------------------------------------------------------
@dataclass
class Overview:
    """The overview's tiles: how many entities the twin holds, and each pack tile's value by tile name (``None``:
    not available — no such data, or no settings to compute it — never a made-up number)."""

    entities: int
    tiles: dict[str, TileValue | None]
    at: datetime = field(default_factory=lambda: clock())


def overview(twin: Twin, tiles: Sequence[tuple[Tile, Any]] = (), now: datetime | None = None) -> Overview:
    """Every tile of the overview in one call: ``tiles`` are the packs' tiles with their pack's configuration,
    computed at one instant ``now``."""
    now = now or clock()
    return Overview(entities=twin.count(),
                    tiles={tile.name: tile.compute(twin, config, now) for tile, config in tiles}, at=now)


# -- explorer ---------------------------------------------------------------------------------------------------
def _q_string(text: str) -> str:
    """``text`` as a case-insensitive literal pattern inside a double-quoted q string."""
    return "(?i)" + re.escape(text).replace("\\", "\\\\").replace('"', '\\"')


def search(twin: Twin, text: str, entity_type: str | None = None, limit: int = 100,
           offset: int = 0) -> tuple[list[Entity], int]:
    """Entities whose name (中文 or English), type or id contains ``text`` (case-insensitive), optionally of one
    type, ordered by type and id. Returns the page ``[offset, offset + limit)`` and the total number of matches."""
    text = text.strip()
    types = [entity_type] if entity_type else []
    if not text:
        page = twin.query(types=types, limit=limit, offset=offset, order_by=["type", "id"])
        return page.entities, page.total
    wanted_type = next((t.name for t in twin.types if t.name.lower() == text.lower()), None)
    if wanted_type is not None and (not entity_type or entity_type == wanted_type):
        page = twin.query(types=[wanted_type], limit=limit, offset=offset, order_by=["id"])
        return page.entities, page.total
    pattern = _q_string(text)
    # Two queries (by name, by id), each ordered by (type, id): the first ``offset + limit`` of their union are
    # among the first ``offset + limit`` of each, so merging those and cutting gives the exact page.
    wanted = offset + limit
    by_name = twin.query(types=types, q=f'name~="{pattern}"|nameEn~="{pattern}"', limit=wanted,
                         order_by=["type", "id"])
    by_id = twin.query(types=types, id_pattern="(?i)" + re.escape(text), limit=wanted, order_by=["type", "id"])
    merged: dict[str, Entity] = {e.id: e for e in by_name.entities}
    for e in by_id.entities:
        merged.setdefault(e.id, e)
    ordered = sorted(merged.values(), key=lambda e: (e.type, e.id))
    # Both totals may count the same entity; the larger is a floor, their sum a ceiling — show the exact number
    # when both answers were complete.
    complete = by_name.total <= wanted and by_id.total <= wanted
    total = len(merged) if complete else max(by_name.total, by_id.total, len(merged))
    return ordered[offset:wanted], total


def last_seen(twin: Twin, entity_ids: Sequence[str]) -> dict[str, datetime]:
    """When each entity was last observed (its newest reading of any series), in Asia/Shanghai: one store query
    for the whole page."""
    return {k: v.astimezone(SHANGHAI) for k, v in twin.last_observed(entity_ids).items()}


# -- entity page ------------------------------------------------------------------------------------------------
@dataclass
class EntityView:
    """Everything an entity page shows."""

    entity: Entity
    ancestors: list[Entity]
    children: list[Entity]
    children_total: int
    series: dict[str, str | None]


def check_entity_id(entity_id: str) -> bool:
    """Whether ``entity_id`` is a well-formed entity id."""
    try:
        parse_entity_id(entity_id, "id")
    except TwinError:
        return False
    return True


def entity_view(twin: Twin, entity_id: str) -> EntityView | None:
    """The entity, its containment chain up and its direct children, and its series; ``None`` if it is unknown."""
    found = twin.get_many([entity_id]).get(entity_id)
    if found is None:
        return None
    up_ids = twin.ancestors(entity_id, "containedIn")
    up = twin.get_many(up_ids)
    children = twin.query(related=("containedIn", entity_id), limit=CHILDREN_SHOWN, order_by=["type", "id"])
    return EntityView(found, [up[i] for i in up_ids if i in up], children.entities, children.total,
                      twin.series_of(entity_id))


@dataclass
class History:
    """One chart: bucket starts (Asia/Shanghai) and values; ``unit`` of the series."""

    attribute: str
    unit: str | None
    bucket: str
    agg: str
    times: list[datetime]
    values: list[float | None]

    def rows(self) -> list[dict[str, Any]]:
        """The chart as rows (what the CSV export writes)."""
        return [{"time": t.isoformat(), "value": v} for t, v in zip(self.times, self.values, strict=True)]


def default_agg(twin: Twin, entity: Entity, attribute: str) -> str:
    """The aggregate that makes sense by default: consumption for meters, the mean for everything else."""
    if entity.type == "Meter" and attribute == "reading":
        return "delta" if entity.value("register") == "cumulative" else "sum"
    return "mean"


def history(twin: Twin, entity_id: str, attribute: str, bucket: str, agg: str, days: int,
            now: datetime | None = None) -> History:
    """``attribute`` of ``entity_id`` over the last ``days`` days in ``bucket`` buckets aggregated by ``agg``.
    Raises the twin's errors (unknown entity, bad bucket …) for the page to show."""
    now = now or clock()
    start = start_of_today(now) - timedelta(days=max(days, 1) - 1)
    table = twin.aggregate(attribute, entity_id=entity_id, bucket=bucket, agg=agg, start=start)
    unit = twin.series_of(entity_id).get(attribute)
    times = [t.astimezone(SHANGHAI) for t in table.column("bucket").to_pylist()]
    values = [None if v is None else float(v) for v in table.column("value").to_pylist()]
    return History(attribute, unit, bucket, agg, times, values)


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV text with a header (UTF-8 with BOM added by the caller when Excel needs it)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


# -- map --------------------------------------------------------------------------------------------------------
# The map draws what has a place on it; meters have no location of their own (they sit in a building).
MAP_PAGE = 10_000


def map_features(twin: Twin, lang: str) -> dict[str, Any]:
    """Every located entity as one GeoJSON FeatureCollection (``id``, ``type``, ``phase``, ``name`` properties,
    and what the tooltip reads in ``lang``: ``typeName``, and ``use`` for a building that has one), areas first
    so that points are drawn on top."""
    from lingang_twin.console.i18n import type_label, value_label

    chosen: Any = "en" if lang == "en" else "zh"
    type_names: dict[str, str] = {}
    features: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = twin.query(limit=MAP_PAGE, offset=offset, order_by=["id"])
        for e in page.entities:
            geometry = e.geo.get("location")
            if geometry is None:
                continue
            if e.type not in type_names:
                label = twin.types.get(e.type).label if e.type in twin.types else ("", "")
                type_names[e.type] = type_label(e.type, label, chosen)
            props = {"id": e.id, "type": e.type, "phase": e.phase, "name": display_name(e, lang),
                     "typeName": type_names[e.type]}
            use = e.value("use")
            if isinstance(use, str):
                props["use"] = value_label("use", use, chosen)
            features.append({"type": "Feature", "geometry": geometry, "properties": props})
        offset += len(page.entities)
        if not page.entities or offset >= page.total:
            break
    order = {"District": 0, "Zone": 1, "Parcel": 2, "Road": 3}
    features.sort(key=lambda f: (order.get(f["properties"]["type"], 4 if f["geometry"]["type"] != "Point" else 5)))
    return {"type": "FeatureCollection", "features": features}


def bounds(collection: dict[str, Any]) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """``((south, west), (north, east))`` of a FeatureCollection, or ``None`` when it is empty."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], int | float):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        else:
            for c in coords:
                walk(c)

    for f in collection["features"]:
        walk(f["geometry"].get("coordinates", []))
    if not xs:
        return None
    return (min(ys), min(xs)), (max(ys), max(xs))


def newest_today(twin: Twin, entity_id: str, attribute: str, now: datetime | None = None) -> tuple[int, float | None]:
    """How many readings of ``attribute`` of ``entity_id`` are stamped today or later and the newest one: a cheap
    fingerprint that changes when a new reading arrives (one small aggregate), so an open chart redraws only then.

    Every day from today on counts, not only the last: readings may run ahead of ``now`` (a meter's clock, the
    demo's simulator an hour ahead), and at 23:45 a reading for 23:45 lands in today while the newest day is
    tomorrow — the fingerprint of tomorrow alone stayed the same and the chart did not redraw."""
    try:
        table = twin.aggregate(attribute, entity_id=entity_id, bucket="day", agg="last", start=start_of_today(now))
    except TwinError:
        return (0, None)
    rows = table.to_pylist()
    if not rows:
        return (0, None)
    last = rows[-1]
    return (sum(int(r["count"] or 0) for r in rows), None if last["value"] is None else float(last["value"]))
