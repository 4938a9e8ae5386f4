"""Bulk import and export: GeoJSON FeatureCollections of entities; CSV or Parquet of observations.

GeoJSON mapping (both ways): a feature's ``id`` is the entity id; ``properties.type`` its type; a property whose
value is an entity URN (or a list of URNs) is a relationship; ``phase`` and ``phaseSince`` set the lifecycle;
``{"value": …, "unit": …}`` carries a unit; the feature's geometry is the entity's ``location``.
"""

from __future__ import annotations

import json
import os
import re
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
EXPORT_CHUNK_ROWS = 200_000


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


_OBS_TYPES = {"entity_id": pa.string(), "attribute": pa.string(), "observed_at": pa.string(),
              "value": pa.float64(), "unit": pa.string()}
_NUMBER = r"^\s*[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|inf|infinity|nan)\s*$"

# What a rule means, without quoting the offending content (an import's errors name the line and the column,
# never the data: a file may hold what should not land in a terminal or a log).
RULE_TEXT: dict[str, str] = {
    "datetime-format": "not an ISO 8601 date-time / 不是 ISO 8601 时间",
    "datetime-type": "not an ISO 8601 date-time / 不是 ISO 8601 时间",
    "timezone-required": "the time has no time zone; add +08:00 or Z / 时间须带时区",
    "number": "not a number / 不是数值",
    "finite": "not a finite number (NaN or infinity) / 数值须为有限数",
    "required": "empty / 缺少值",
    "string": "not text / 不是文本",
    "attribute-name": "not an attribute name (letters, digits and _) / 属性名无效",
    "unknown-entity": "no such entity in the twin; import the entities first / 实体不存在",
    "attribute-kind": "names a relationship or geo-property, not a series / 不是时间序列属性",
    "conflicting-value": "differs from the reading stored (or given earlier in the file) for the same entity, "
                         "attribute and instant; import with --on-conflict replace to correct it / 与已存读数冲突",
    "negative-reading": "a meter reading is never negative / 读数不能为负",
    "unit-unknown": "not a unit we know / 未知单位",
    "unit-incompatible": "a unit this series cannot be converted from / 单位与序列不符",
    "id-format": "not an entity id (urn:ngsi-ld:<Type>:<id>) / 实体标识格式错误",
}


def read_observation_table(path: Path, kind: str) -> pa.Table:
    """An Arrow table of observations from CSV or Parquet, its columns checked.

    A bad CSV row is named by its line and column (``line 7, column 4 (value): not a number``), never quoted."""
    try:
        table = pq.read_table(path) if kind == "parquet" else read_observation_csv(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as err:
        detail = f": {err}" if kind == "parquet" else ""  # a Parquet error names its structure, not its data
        raise ValidationError("file", f"{kind}-syntax", f"{path}: not a readable {kind.upper()} file{detail}"
                              ) from None
    missing = [c for c in OBSERVATION_COLUMNS if c not in table.column_names]
    unknown = [c for c in table.column_names if c not in (*OBSERVATION_COLUMNS, "unit")]
    if missing or unknown:
        raise ValidationError("file", "columns", f"{path}: columns must be {', '.join(OBSERVATION_COLUMNS)} "
                              f"and optionally unit; missing {missing}, unknown {unknown}")
    return table


def read_observation_csv(source: Path | bytes, field: str = "file") -> pa.Table:
    """Observations from a CSV file or body (header ``entity_id, attribute, observed_at, value[, unit]``).

    Every field is read as text and ``value`` converted afterwards, so a bad row is reported as ``line N,
    column C (name)`` with what is wrong — never the row's content, never pyarrow's own message. ``field``
    names the whole input in errors about it (``file`` for the CLI, ``body`` for the API)."""
    raw = source.read_bytes() if isinstance(source, Path) else source
    try:
        raw.decode("utf-8")  # one C pass; pyarrow would fail deep inside, naming no line
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ValidationError(field, "csv-encoding", f"line {line}: not UTF-8 text / 第 {line} 行不是 UTF-8 编码"
                              ) from None
    header = _header(raw)
    missing = [c for c in OBSERVATION_COLUMNS if c not in header]
    unknown = [i + 1 for i, h in enumerate(header) if h not in _OBS_TYPES]
    if missing or unknown:
        raise ValidationError(field, "csv-columns", f"line 1: the columns must be {', '.join(OBSERVATION_COLUMNS)} "
                              f"and optionally unit; missing {missing}, not one of them: column(s) {unknown} / "
                              "CSV 列不正确")
    bad_rows: list[tuple[int | None, int, int]] = []

    def invalid(row: Any) -> str:
        bad_rows.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw), read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        # Whatever pyarrow says may quote the data: say only where it is.
        where = re.search(r"[Rr]ow #(\d+)", str(err))
        line = f"line {where.group(1)}: " if where else ""
        raise ValidationError(field, "csv-syntax", f"{line}not a readable CSV (quotes or encoding) / CSV 无法解析"
                              ) from None
    if bad_rows:
        number, expected, actual = bad_rows[0]
        line = f"line {number}" if number is not None else "a line"
        raise ValidationError(field, "csv-row", f"{line}: {actual} fields where the header has {expected} "
                              f"/ 第 {number} 行字段数为 {actual}，表头为 {expected}")
    values = table["value"]
    try:
        converted = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.match_substring_regex(values, _NUMBER, ignore_case=True)
        index = int(pc.indices_nonzero(pc.invert(ok))[0].as_py())
        raise ValidationError("value", "number", f"{_where_csv(raw, header, index, 'value')}: "
                              f"{RULE_TEXT['number']}") from None
    return table.set_column(table.column_names.index("value"), "value", converted)


def _header(raw: bytes) -> list[str]:
    """The column names on line 1 of a CSV (quoted or not)."""
    import csv as pycsv

    line = raw.split(b"\n", 1)[0].decode("utf-8-sig", "replace")
    return [h.strip() for h in next(pycsv.reader([line.strip()]), [])]


def _line_of(raw: bytes, row: int) -> int:
    """The line (1-based, header = 1) where data row ``row`` (0-based) starts; exact with quoted line breaks
    and blank lines (which pyarrow skips). Only called on the error path."""
    import csv as pycsv
    import io

    reader = pycsv.reader(io.StringIO(raw.decode("utf-8-sig", "replace"), newline=""))
    start = 1
    seen = -1
    for fields in reader:
        if fields:
            if seen == row:
                return start
            seen += 1
        start = reader.line_num + 1
    return start


def _where_csv(raw: bytes, header: list[str], row: int, field: str) -> str:
    column = header.index(field) + 1 if field in header else None
    where = f"line {_line_of(raw, row)}"
    return f"{where}, column {column} ({field})" if column else where


def locate(err: ValidationError, path: Path, kind: str, table: pa.Table) -> ValidationError:
    """``err`` about item ``err.index`` of an imported file, re-said as its line and column (CSV) or row and
    column (Parquet) with what is wrong — without quoting the file's content (issue: imports echoed it)."""
    if err.index is None:
        return err
    text = RULE_TEXT.get(err.rule, f"breaks the rule {err.rule} / 违反规则 {err.rule}")
    if kind == "csv":
        raw = path.read_bytes()
        header = _header(raw)
        where = _where_csv(raw, header, err.index, err.field)
    else:
        names = table.column_names
        column = f", column {names.index(err.field) + 1} ({err.field})" if err.field in names else ""
        where = f"row {err.index + 1}{column}"
    return ValidationError(err.field, err.rule, f"{where}: {text}")  # the line says which item: no "item N"


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
                       end: datetime | None = None, chunk_rows: int = EXPORT_CHUNK_ROWS) -> int:
    """Write raw readings as CSV (ISO 8601 with +08:00) or Parquet (tz-aware timestamps); returns how many.

    Streamed: readings are read in keyset chunks of ``chunk_rows`` and appended to the file, so memory holds one
    chunk whatever the size of the export. Written to a temporary file beside ``path`` and moved into place, so
    a failure leaves no half file."""
    if entity_id is None and under is None and not types:
        raise ValidationError("type", "scope", "choose the readings: --entity, --under or --type")
    query = SeriesQuery(attribute=attribute, entity_id=entity_id, under=under, types=types, start=start, end=end)
    parquet = path.suffix.lower() == ".parquet"
    schema = pa.schema([("entity_id", pa.string()), ("attribute", pa.string()),
                        ("observed_at", pa.timestamp("us", tz="Asia/Shanghai") if parquet else pa.string()),
                        ("value", pa.float64())])
    tmp = path.with_name(f".{path.name}.part")
    n = 0
    try:
        writer: Any = pq.ParquetWriter(tmp, schema) if parquet else pacsv.CSVWriter(tmp, schema)
        try:
            for t in twin.iter_series(query, chunk_rows=chunk_rows):
                local = t["observed_at"].cast(pa.timestamp("us", tz="Asia/Shanghai"))
                if not parquet:
                    micros = pc.cast(t["observed_at"], pa.int64())
                    whole = pc.all(pc.equal(pc.multiply(pc.divide(micros, 1_000_000), 1_000_000), micros)).as_py()
                    # Whole seconds: the short ISO form (Arrow's %S prints the fraction of a µs timestamp), decided
                    # per chunk; either form reads back the same. Shanghai has no DST, so +08:00 is exact.
                    if whole is not False:
                        local = local.cast(pa.timestamp("s", tz="Asia/Shanghai"))
                    local = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S+08:00")
                writer.write_table(pa.table([t["entity_id"], pa.array([attribute] * t.num_rows, pa.string()),
                                             local, t["value"]], schema=schema))
                n += t.num_rows
        finally:
            writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n
