"""Bulk import and export: GeoJSON FeatureCollections of entities; CSV or Parquet of observations.

GeoJSON mapping (both ways): a feature's ``id`` is the entity id; ``properties.type`` its type; a property whose
value is an entity URN (or a list of URNs) is a relationship; ``phase`` and ``phaseSince`` set the lifecycle;
``{"value": …, "unit": …}`` carries a unit; the feature's geometry is the entity's ``location``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lingang_twin.core.errors import ValidationError
from lingang_twin.core.ids import _URN
from lingang_twin.core.model import Entity
from lingang_twin.core.observations import ObservationBatch, OnConflict
from lingang_twin.core.store import SeriesQuery
from lingang_twin.core.twin import Twin

OBSERVATION_COLUMNS = ("entity_id", "attribute", "observed_at", "value")
CHUNK_ROWS = 500_000


def _is_urn(v: Any) -> bool:
    return isinstance(v, str) and _URN.match(v) is not None


def feature_to_entity(feature: Any, index: int) -> dict[str, Any]:
    """One GeoJSON feature as an entity dict (see the module docstring)."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValidationError("features", "geojson-feature", "each item must be a GeoJSON Feature", index=index)
    props = dict(feature.get("properties") or {})
    etype = props.pop("type", None)
    if not isinstance(etype, str):
        raise ValidationError("properties.type", "required", "a feature needs properties.type (the entity type)",
                              index=index)
    entity: dict[str, Any] = {"id": feature.get("id"), "type": etype, "properties": {}, "relationships": {}}
    if "phase" in props:
        entity["phase"] = props.pop("phase")
    if "phaseSince" in props:
        entity["phase_since"] = props.pop("phaseSince")
    for name, value in props.items():
        if _is_urn(value) or (isinstance(value, list) and value and all(_is_urn(v) for v in value)):
            entity["relationships"][name] = value
        else:
            entity["properties"][name] = value
    if feature.get("geometry") is not None:
        entity["geo"] = {"location": feature["geometry"]}
    return entity


def read_geojson(path: Path) -> list[dict[str, Any]]:
    """Entities from a GeoJSON FeatureCollection file."""
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise ValidationError("file", "json-syntax", f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise ValidationError("file", "geojson-collection", f"{path}: not a GeoJSON FeatureCollection")
    return [feature_to_entity(f, i) for i, f in enumerate(data["features"])]


def entity_to_feature(e: Entity) -> dict[str, Any]:
    """One entity as a GeoJSON feature (the inverse of :func:`feature_to_entity`)."""
    props: dict[str, Any] = {"type": e.type}
    for name, p in e.properties.items():
        props[name] = {"value": p.value, "unit": p.unit} if p.unit is not None else p.value
    for name, r in e.relationships.items():
        props[name] = r.object
    props["phase"] = e.phase
    if e.lifecycle:
        props["phaseSince"] = e.lifecycle[-1].since.isoformat()
    return {"type": "Feature", "id": e.id, "geometry": e.location, "properties": props}


def write_geojson(twin: Twin, path: Path, *, types: tuple[str, ...] = (), under: str | None = None) -> int:
    """Write the chosen entities as a FeatureCollection; returns how many."""
    features = [entity_to_feature(e) for e in twin.query_all(types=types, under=under)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                               default=_default), encoding="utf-8")
    return len(features)


def _default(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    raise TypeError(type(v).__name__)


def read_observation_table(path: Path, kind: str) -> pa.Table:
    """An Arrow table of observations from CSV or Parquet, its columns checked."""
    try:
        if kind == "parquet":
            table = pq.read_table(path)
        else:
            header = path.open("rb").readline().decode("utf-8-sig").strip().split(",")
            types = {"entity_id": pa.string(), "attribute": pa.string(), "observed_at": pa.string(),
                     "value": pa.float64(), "unit": pa.string()}
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={h.strip(): types[h.strip()] for h in header if h.strip() in types},
                strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as err:
        raise ValidationError("file", f"{kind}-syntax", f"{path}: not a readable {kind.upper()} file: {err}") from None
    missing = [c for c in OBSERVATION_COLUMNS if c not in table.column_names]
    unknown = [c for c in table.column_names if c not in (*OBSERVATION_COLUMNS, "unit")]
    if missing or unknown:
        raise ValidationError("file", "columns", f"{path}: columns must be {', '.join(OBSERVATION_COLUMNS)} "
                              f"and optionally unit; missing {missing}, unknown {unknown}")
    return table


def table_batches(table: pa.Table) -> list[ObservationBatch]:
    """Validated batches of at most CHUNK_ROWS readings; an error names the row (``index``) in the whole table."""
    batches = []
    for offset in range(0, table.num_rows, CHUNK_ROWS):
        chunk = table.slice(offset, CHUNK_ROWS)
        unit = chunk["unit"] if "unit" in chunk.column_names else None
        if unit is not None and pa.types.is_string(unit.type):
            unit = pc.if_else(pc.equal(unit, ""), pa.scalar(None, pa.string()), unit)
        try:
            batches.append(ObservationBatch.from_arrays(chunk["entity_id"], chunk["attribute"],
                                                        chunk["observed_at"], chunk["value"], unit))
        except ValidationError as err:
            if err.index is not None:
                err.at(err.index + offset)
            raise
    return batches


def append_batches(twin: Twin, batches: list[ObservationBatch], on_conflict: OnConflict) -> dict[str, int]:
    """Append validated batches as ONE batch, so a file is stored whole or not at all (an unknown entity or a
    conflicting reading anywhere in it writes nothing); returns the counts."""
    if not batches:
        return {"inserted": 0, "duplicates": 0, "replaced": 0, "kept": 0}
    whole = ObservationBatch(pa.concat_tables([b.table for b in batches]))
    r = twin.append(whole, on_conflict=on_conflict)
    return {"inserted": r.inserted, "duplicates": r.duplicates, "replaced": r.replaced, "kept": r.kept}


def write_observations(twin: Twin, path: Path, *, attribute: str, entity_id: str | None = None,
                       types: tuple[str, ...] = (), under: str | None = None, start: datetime | None = None,
                       end: datetime | None = None) -> int:
    """Write raw readings as CSV (ISO 8601 with +08:00) or Parquet (tz-aware timestamps); returns how many."""
    if entity_id is None and under is None and not types:
        raise ValidationError("type", "scope", "choose the readings: --entity, --under or --type")
    t = twin.series(SeriesQuery(attribute=attribute, entity_id=entity_id, under=under, types=types, start=start,
                                end=end))
    table = pa.table({"entity_id": t["entity_id"], "attribute": pa.array([attribute] * t.num_rows, pa.string()),
                      "observed_at": t["observed_at"].cast(pa.timestamp("us", tz="Asia/Shanghai")),
                      "value": t["value"]})
    if path.suffix.lower() == ".parquet":
        pq.write_table(table, path)
    else:
        local = t["observed_at"].cast(pa.timestamp("us", tz="Asia/Shanghai"))
        micros = pc.cast(t["observed_at"], pa.int64())
        whole = pc.all(pc.equal(pc.multiply(pc.divide(micros, 1_000_000), 1_000_000), micros)).as_py()
        if whole is not False:  # whole seconds: the short ISO form; Shanghai has no DST, so +08:00 is exact
            local = local.cast(pa.timestamp("s", tz="Asia/Shanghai"))
        iso = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S+08:00")
        pacsv.write_csv(table.set_column(2, "observed_at", iso), path)
    return table.num_rows
