"""What every SQL store shares, whatever its dialect: how an entity becomes columns and comes back, how a change
row becomes a :class:`~lingang_twin.core.store.Change`, instants as epoch microseconds, the bucket widths.

Nothing here names DuckDB: the DuckDB store uses it now and a PostgreSQL store is to use it next, so the two store
entities, instants and the change feed identically (the contract tests check the rest).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from lingang_twin.core.model import Entity, LifecycleChange
from lingang_twin.core.store import Change

CST = timezone(timedelta(hours=8))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_US = 86_400 * 1_000_000
# Buckets of a fixed width, by integer arithmetic on epoch microseconds (weeks, months and years are calendar work).
BUCKET_US = {"15min": 900 * 1_000_000, "hour": 3600 * 1_000_000, "day": DAY_US}


def json_default(v: Any) -> Any:
    """``json.dumps``'s fallback for the values entities hold: dates as ISO 8601, NumPy scalars as Python ones."""
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"cannot store {type(v).__name__} as JSON")


def dumps(v: Any) -> str:
    """Compact JSON text, Chinese kept as is."""
    return json.dumps(v, default=json_default, ensure_ascii=False, separators=(",", ":"))


def iso(micros: int) -> str:
    """Epoch microseconds (UTC) as ISO 8601 in Asia/Shanghai time."""
    return (EPOCH + timedelta(microseconds=int(micros))).astimezone(CST).isoformat()


def micros(t: datetime) -> int:
    """A timezone-aware instant as UTC epoch microseconds (exact: no float on the way)."""
    d = t.astimezone(UTC) - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def entity_columns(e: Entity) -> tuple[str, str, str]:
    """An entity's ``props``, ``rels`` and ``geo`` columns as JSON text (properties in NGSI-LD's camelCase)."""
    props = {}
    for name, p in e.properties.items():
        item: dict[str, Any] = {"value": p.value}
        if p.unit is not None:
            item["unit"] = p.unit
        if p.observed_at is not None:
            item["observedAt"] = p.observed_at.isoformat()
        props[name] = item
    return (dumps(props), dumps({k: {"object": r.object} for k, r in e.relationships.items()}), dumps(e.geo))


def entity_from_row(row: Sequence[Any]) -> Entity:
    """An entity from ``(id, type, phase, props, rels, geo, created_at, modified_at, lifecycle)`` as stored by
    :func:`entity_columns` (``lifecycle``: ``{"phase", "since"}`` items, oldest first, or ``None``)."""
    eid, etype, phase, props, rels, geo, created, modified, lifecycle = row[:9]
    p = json.loads(props)
    return Entity.model_validate({
        "id": eid, "type": etype, "phase": phase,
        "properties": {k: {"value": v.get("value"), "unit": v.get("unit"), "observed_at": v.get("observedAt")}
                       for k, v in p.items()},
        "relationships": {k: {"object": v["object"]} for k, v in json.loads(rels).items()},
        "geo": json.loads(geo),
        "lifecycle": [LifecycleChange(phase=c["phase"], since=c["since"]) for c in (lifecycle or [])],
        "created_at": created, "modified_at": modified,
    })


def change_from_row(row: Sequence[Any]) -> Change:
    """A change-feed entry from ``(seq, changed_at, entity_id, op, detail JSON text or None)``."""
    return Change(int(row[0]), row[1], row[2], row[3], json.loads(row[4]) if row[4] else None)
