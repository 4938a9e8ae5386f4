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
from lingang_twin.core.exports import ExportCall, ExportManifest
from lingang_twin.core.ids import _URN
from lingang_twin.core.model import Entity
from lingang_twin.core.observations import ObservationBatch, OnConflict
from lingang_twin.core.store import SeriesQuery
from lingang_twin.core.twin import Twin
from lingang_twin.stores.export_requests import governance_for

OBSERVATION_COLUMNS = ("entity_id", "attribute", "observed_at", "value")
CHUNK_ROWS = 500_000
EXPORT_CHUNK_ROWS = 200_000


def _is_urn(v: Any) -> bool:
    return isinstance(v, str) and _URN.match(v) is not None


def feature_to_entity(feature: Any, index: int) -> dict[str, Any]:
    """One GeoJSON feature as an entity dict (see the module docstring). A malformed feature raises a
    :class:`ValidationError` with ``index`` and the entity field (:func:`locate_feature` names the feature)."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValidationError("features", "geojson-feature", "each item must be a GeoJSON Feature", index=index)
    raw_props = feature.get("properties")
    if raw_props is not None and not isinstance(raw_props, dict):
        raise ValidationError("properties", "geojson-properties", "properties must be an object", index=index)
    props = dict(raw_props or {})
    if feature.get("id") is None:
        raise ValidationError("id", "required", "a feature needs an id (the entity id)", index=index)
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


def geojson_text(entities: list[Entity]) -> str:
    """``entities`` as the text of a GeoJSON FeatureCollection."""
    features = [entity_to_feature(e) for e in entities]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=_default)


def export_geojson(twin: Twin, path: Path, call: ExportCall, *, types: tuple[str, ...] = (),
                   under: str | None = None) -> ExportManifest:
    """Write the chosen entities as a FeatureCollection, through the export guard (masked for ``call``'s caller,
    refused without ``export:read`` or a needed approval, logged); the manifest's ``count`` is how many."""
    entities = twin.query_all(types=types, under=under)

    def write(shown: list[Entity]) -> None:
        _write_atomically(path, geojson_text(shown).encode("utf-8"))

    return governance_for(twin).export_entities(call, entities, write, format="geojson", target=path.name)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and move it into place: no half file on a failure."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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


def read_features(path: Path) -> list[Any]:
    """The features of a GeoJSON FeatureCollection file, unchecked. Invalid JSON is named by its line and column,
    a file that is no FeatureCollection by the member at fault — never by quoting the file."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark (Windows editors): orjson refuses it
        raw = raw[3:]
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:  # orjson says "position 0" for bad bytes: find them ourselves
            line = raw.count(b"\n", 0, bad.start) + 1
            column = bad.start - (raw.rfind(b"\n", 0, bad.start) + 1) + 1
            raise ValidationError("file", "json-encoding", f"line {line}, column {column}: not UTF-8 text "
                                  f"/ 第 {line} 行第 {column} 列不是 UTF-8 编码") from None
        # orjson's own message can quote the input (an invalid literal): only where, and what kind of problem.
        line, column = err.lineno, err.colno
        raise ValidationError("file", "json-syntax", f"line {line}, column {column}: not valid JSON "
                              f"/ 第 {line} 行第 {column} 列不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("file", "geojson-collection", "the top level is not an object: not a GeoJSON "
                              "FeatureCollection / 顶层不是 GeoJSON FeatureCollection 对象")
    if data.get("type") != "FeatureCollection":
        raise ValidationError("type", "geojson-collection", 'the top-level type must be "FeatureCollection": '
                              "not a GeoJSON FeatureCollection / 顶层 type 须为 FeatureCollection")
    if not isinstance(data.get("features"), list):
        raise ValidationError("features", "geojson-collection", "features must be an array: not a GeoJSON "
                              "FeatureCollection / features 须为数组")
    return list(data["features"])


def features_to_entities(features: list[Any]) -> list[dict[str, Any]]:
    """Entity dicts from GeoJSON features; a malformed feature raises an error located by :func:`locate_feature`."""
    try:
        return [feature_to_entity(f, i) for i, f in enumerate(features)]
    except ValidationError as err:
        raise locate_feature(err, features) from None


def read_geojson(path: Path) -> list[dict[str, Any]]:
    """Entities from a GeoJSON FeatureCollection file (errors name the place, never the content)."""
    return features_to_entities(read_features(path))


# An attribute name that may be shown in a path; any other key is content and is named by its position.
_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

# What a rule means for a GeoJSON feature, without the feature's values, ids or coordinates (issue 10.10).
GEOJSON_RULE_TEXT: dict[str, str] = {
    **RULE_TEXT,
    "required": "missing; every feature needs it / 缺少此项",
    "geojson-feature": 'not a GeoJSON Feature (an object with "type": "Feature") / 不是 GeoJSON 要素',
    "geojson-properties": "must be an object or null / 须为对象",
    "urn-format": "not an entity id (urn:ngsi-ld:<Type>:<id>) / 实体标识格式错误",
    "urn-length": "an entity id that is too long / 实体标识过长",
    "id-type-mismatch": "the id names another type than properties.type / 标识中的类型与 properties.type 不符",
    "unknown-type": "not an entity type the twin knows (GET /api/v1/types lists them) / 未知实体类型",
    "unknown-target": "points at an entity that is neither in the twin nor in this file / 指向的实体不存在",
    "self-reference": "an entity cannot point at itself / 实体不能引用自身",
    "containment-cycle": "containedIn would put the entity inside itself / 包含关系成环",
    "relationship-unknown": "a relationship this entity type does not have / 该类型没有此关系",
    "attribute-duplicate": "the same name is used by two kinds of attribute / 属性名重复",
    "attribute-reserved": "a reserved name / 保留名称",
    "control-character": "holds a control character / 含控制字符",
    "value-depth": "nested too deeply (at most 32 levels) / 嵌套过深",
    "value-size": "too large (at most 256 KiB as JSON) / 值过大",
    "value-json": "not a JSON value the twin can store / 不是可存储的 JSON 值",
    "value-text": "text with an invalid character / 文本含无效字符",
    "value-integer-range": "an integer beyond ±(2^53 − 1) / 整数超出范围",
    "unit-type": "a unit must be text / 单位须为文本",
    "date-format": "not a date (YYYY-MM-DD) / 不是日期",
    "date-range": "a date outside 1900–2199 / 日期超出范围",
    "instant-range": "a time outside 1900–2199 / 时间超出范围",
    "phase-lifecycle-mismatch": "differs from the latest lifecycle change / 与生命周期记录不符",
    "geojson-object": 'a geometry must be an object with "type" and "coordinates" / 几何须含 type 与 coordinates',
    "geojson-type": "not a geometry type we support (Point, MultiPoint, LineString, MultiLineString, Polygon, "
                    "MultiPolygon) / 不支持的几何类型",
    "coordinates-shape": "coordinates of the wrong shape, or not numbers / 坐标结构不正确或不是数字",
    "non-finite": "a coordinate that is not a finite number / 坐标必须是有限数",
    "lon-lat-swapped": "coordinates look swapped: GeoJSON positions are [longitude, latitude] "
                       "/ 坐标顺序应为 [经度, 纬度]，似乎颠倒了",
    "longitude-range": "a longitude outside [-180, 180] / 经度超出范围",
    "latitude-range": "a latitude outside [-90, 90] / 纬度超出范围",
    "ring-too-few-points": "a polygon ring needs at least 4 positions / 面的环至少需要 4 个位置",
    "ring-unclosed": "the first and last positions of a polygon ring must be equal / 面的环首尾位置必须相同",
    "line-too-few-points": "a LineString needs at least 2 positions / 线至少需要 2 个位置",
    "self-intersection": "the polygon is not valid (it crosses itself, or its rings overlap) "
                         "/ 面无效（自相交或环不合法）",
}


def _rule_text(err: ValidationError) -> str:
    """What ``err`` means, in words that quote nothing from the input."""
    from lingang_twin.core.pydantic_messages import MESSAGES

    if err.rule in GEOJSON_RULE_TEXT:
        return GEOJSON_RULE_TEXT[err.rule]
    if err.rule in MESSAGES:
        en, zh = MESSAGES[err.rule]
        if "{" not in en + zh:
            return f"{en} / {zh}"
        # Filled templates hold the schema's limits (``at least 0``, the allowed phases), never the input; they
        # read "<field> <rule> / <field> <规则>", and the path names the field already.
        return err.message.replace(f"{err.field} ", "")
    return f"breaks the rule {err.rule} / 违反规则 {err.rule}"


def _feature_path(err: ValidationError, feature: Any) -> tuple[str, str]:
    """(the JSON path inside the feature, a note) for the entity field of ``err``. A property name that is not a
    plain attribute name is content too: it is named by its position among the properties."""
    field = err.field.removeprefix("entity.")
    head, _, rest = field.partition(".")
    if field in ("type", "properties.type"):
        return ("properties.type", "")
    if head == "geo":
        _, dot, tail = rest.partition(".")  # geo.location.coordinates[0][3] → geometry.coordinates[0][3]
        return ("geometry" + (f".{tail}" if dot else ""), "")
    if head in ("properties", "relationships") and rest and isinstance(feature, dict):
        found = feature.get("properties")
        props: dict[str, Any] = found if isinstance(found, dict) else {}
        keys = list(props)
        name = max((k for k in keys if rest == k or rest.startswith(f"{k}.")), key=len, default=None)
        if name is None:
            return ("properties", "")
        if not _SAFE_NAME.match(name):
            return ("properties", f"property {keys.index(name) + 1}: ")
        path = f"properties.{name}"
        raw = props[name]
        if isinstance(raw, dict) and rest.endswith(".unit"):
            path += ".unit"
        elif isinstance(raw, dict) and "value" in raw:
            path += ".value"
        elif isinstance(raw, list) and err.value is not None and err.value in raw:  # one target of several
            path += f"[{raw.index(err.value)}]"
        return (path, "")
    simple = {"id": "id", "phase": "properties.phase",
              "phase_since": "properties.phaseSince", "properties": "properties"}
    return (simple.get(head, ""), "")


def locate_feature(err: ValidationError, features: list[Any]) -> ValidationError:
    """``err`` about feature ``err.index`` re-said as ``feature N (features[N-1].<path>): <rule>`` — the feature's
    place in the collection (1-based, as lines and rows are counted) and the JSON path to the field (0-based, as
    jq and JSONPath count) — never the feature's values, ids or coordinates."""
    if err.index is None or not 0 <= err.index < len(features) or err.field.startswith("features["):
        return err  # not about one feature, or located already
    i = err.index
    feature = features[i]
    inner, note = _feature_path(err, feature)
    path = f"features[{i}]" + (f".{inner}" if inner else "")
    if err.rule == "id-duplicate" and isinstance(feature, dict):
        first = next((k for k, f in enumerate(features[:i])
                      if isinstance(f, dict) and f.get("id") == feature.get("id")), None)
        text = (f"the same id as feature {first + 1} / 与第 {first + 1} 个要素的 id 相同" if first is not None
                else "an id that appears twice in the file / id 重复")
    else:
        text = note + _rule_text(err)
    located = ValidationError(path, err.rule, text, index=i)
    located.args = (f"feature {i + 1} ({path}): {text}",)  # the feature is named: no "item N" prefix
    return located


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
    # UTF-8 is checked by pyarrow as it reads (without the GIL); only a failure decodes the whole input, to name the
    # line. Decoding 31 MB up front held the GIL for ~60 ms and stalled the API's event loop.
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
        _check_utf8(raw, field)
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


def _check_utf8(raw: bytes, field: str) -> None:
    """Refuse ``raw`` if it is not UTF-8, naming the first bad line (rule ``csv-encoding``); pyarrow's own message
    names no line."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ValidationError(field, "csv-encoding", f"line {line}: not UTF-8 text / 第 {line} 行不是 UTF-8 编码"
                              ) from None


def _header(raw: bytes) -> list[str]:
    """The column names on line 1 of a CSV (quoted or not). Slices line 1 only: ``split`` would copy the rest."""
    import csv as pycsv

    end = raw.find(b"\n")
    line = (raw if end < 0 else raw[:end]).decode("utf-8-sig", "replace")
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


def export_observations(twin: Twin, path: Path, call: ExportCall, *, attribute: str, entity_id: str | None = None,
                        types: tuple[str, ...] = (), under: str | None = None, start: datetime | None = None,
                        end: datetime | None = None, chunk_rows: int = EXPORT_CHUNK_ROWS) -> ExportManifest:
    """Write raw readings as CSV (ISO 8601 with +08:00) or Parquet (tz-aware timestamps) through the export guard
    (refused without ``export:read``, the grade's permission, or a needed approval; logged); the manifest's
    ``count`` is how many readings.

    Streamed: readings are read in keyset chunks of ``chunk_rows`` and appended to the file, so memory holds one
    chunk whatever the size of the export. Written to a temporary file beside ``path`` and moved into place, so
    a failure leaves no half file."""
    if entity_id is None and under is None and not types:
        raise ValidationError("type", "scope", "choose the readings: --entity, --under or --type")
    query = SeriesQuery(attribute=attribute, entity_id=entity_id, under=under, types=types, start=start, end=end)
    groups = twin.series_groups(query)
    fmt = "parquet" if path.suffix.lower() == ".parquet" else "csv"
    return governance_for(twin).export_readings(
        call, groups, query, lambda: _write_observations(twin, query, path, chunk_rows), format=fmt,
        target=path.name)


def _write_observations(twin: Twin, query: SeriesQuery, path: Path, chunk_rows: int) -> int:
    """The readings of ``query`` into ``path`` (see :func:`export_observations`, which alone calls it)."""
    attribute = query.attribute
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
