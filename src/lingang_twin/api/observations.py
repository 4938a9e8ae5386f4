"""``/api/v1/observations``: batch ingest (JSON or CSV) and reads (raw or bucketed aggregates, JSON or CSV)."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from lingang_twin.api.deps import SettingsDep, TwinDep, json_body, media_type
from lingang_twin.api.problems import ProblemError
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.observations import ObservationBatch, OnConflict, parse_instant
from lingang_twin.core.store import SeriesQuery

router = APIRouter(prefix="/api/v1", tags=["observations"])
FIELDS = ("entity_id", "attribute", "observed_at", "value")
ALLOWED = frozenset((*FIELDS, "unit"))


def batch_from_json_rows(rows: list[Any]) -> ObservationBatch:
    """Columns from a list of JSON objects without a per-row Python object model (the ingest hot path).

    Anything unusual (a missing key, a wrong type, an unknown field) falls back to the record path, which names
    the item, the field and the rule.
    """
    try:
        if any(type(r) is not dict or not r.keys() <= ALLOWED for r in rows):
            raise TypeError
        values = [r["value"] for r in rows]
        if any(type(v) is not float and type(v) is not int for v in values):
            raise TypeError
        has_unit = any("unit" in r for r in rows)
        return ObservationBatch.from_arrays(
            pa.array([r["entity_id"] for r in rows], type=pa.string()),
            pa.array([r["attribute"] for r in rows], type=pa.string()),
            pa.array([r["observed_at"] for r in rows], type=pa.string()),
            np.asarray(values, dtype=np.float64),
            pa.array([r.get("unit") for r in rows], type=pa.string()) if has_unit else None,
        )
    except (KeyError, TypeError, pa.ArrowInvalid, pa.ArrowTypeError):
        return ObservationBatch.from_records(rows)


def batch_from_csv(data: bytes) -> ObservationBatch:
    """Columns ``entity_id, attribute, observed_at, value[, unit]`` from CSV bytes (header required)."""
    try:
        header = data.split(b"\n", 1)[0].decode("utf-8-sig").strip().split(",")
    except UnicodeDecodeError:
        raise ValidationError("body", "csv-encoding", "CSV must be UTF-8") from None
    header = [h.strip() for h in header]
    missing = [f for f in FIELDS if f not in header]
    unknown = [h for h in header if h not in ALLOWED]
    if missing or unknown:
        raise ValidationError("body", "csv-columns",
                              f"CSV columns must be {', '.join(FIELDS)} and optionally unit; "
                              f"missing {missing}, unknown {unknown} / CSV 列不正确")
    types = {"entity_id": pa.string(), "attribute": pa.string(), "observed_at": pa.string(), "value": pa.float64(),
             "unit": pa.string()}
    try:
        table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
            column_types={h: types[h] for h in header}, strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise ValidationError("body", "csv-syntax", f"not a readable CSV of observations: {err}") from None
    unit = table["unit"] if "unit" in header else None
    if unit is not None:
        unit = pc.if_else(pc.equal(unit, ""), pa.scalar(None, pa.string()), unit)
    return ObservationBatch.from_arrays(table["entity_id"], table["attribute"], table["observed_at"],
                                        table["value"], unit)


@router.post("/observations", summary="Ingest a batch of readings / 批量写入观测值")
async def post_observations(
    request: Request, twin: TwinDep, settings: SettingsDep,
    on_conflict: Annotated[Literal["reject", "replace", "keep"], Query(
        description="a reading that differs from a stored one: reject the batch, replace it, or keep the old")]
    = "reject",
) -> Response:
    """Store readings, all or nothing: a JSON array of ``{entity_id, attribute, observed_at, value, unit?}`` or a
    CSV with those columns. Idempotent: a batch may be resent safely; 200 means every reading is stored durably.
    On error nothing is stored and the problem names the item (``index``), the field and the rule."""
    kind = media_type(request)
    if kind == "text/csv":
        batch = batch_from_csv(await request.body())
    elif kind in ("application/json", "application/ld+json"):
        rows = await json_body(request, list)
        if len(rows) > settings.max_batch_items:
            raise ValidationError("body", "batch-size", f"at most {settings.max_batch_items} readings per batch")
        batch = batch_from_json_rows(rows)
    else:
        raise ProblemError(415, "Unsupported media type / 不支持的内容类型",
                           f"send application/json or text/csv, not {kind or 'no content type'}", "media-type",
                           "content-type")
    if len(batch) > settings.max_batch_items:
        raise ValidationError("body", "batch-size", f"at most {settings.max_batch_items} readings per batch")
    policy: OnConflict = on_conflict
    result = twin.append(batch, on_conflict=policy)
    return Response(orjson.dumps(result.__dict__), media_type="application/json")


@router.get("/observations", summary="Read or aggregate readings / 查询与聚合观测值")
def get_observations(
    twin: TwinDep,
    attribute: Annotated[str, Query(description="the series, e.g. reading")],
    entity_id: Annotated[str | None, Query(description="one entity")] = None,
    under: Annotated[str | None, Query(description="every entity anywhere below this one (containedIn)")] = None,
    type: Annotated[str | None, Query(description="entity types, comma-separated")] = None,
    q: Annotated[str | None, Query(description="NGSI-LD q on the entities")] = None,
    start: Annotated[str | None, Query(description="ISO 8601 with offset, inclusive")] = None,
    end: Annotated[str | None, Query(description="ISO 8601 with offset, exclusive")] = None,
    bucket: Annotated[str | None, Query(description="15min | hour | day | week | month | year (Asia/Shanghai)")]
    = None,
    agg: Annotated[str, Query(description="sum | mean | min | max | count | first | last | delta")] = "sum",
    groupBy: Annotated[str | None, Query(description="entity, or a property such as carrier")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """Raw readings (no ``bucket``) or calendar-bucket aggregates computed in the store."""
    types = tuple(t.strip() for t in type.split(",") if t.strip()) if type else ()
    from lingang_twin.core.q import parse_q

    query = SeriesQuery(attribute=attribute, entity_id=entity_id, under=under, types=types,
                        q=parse_q(q) if q else None, start=parse_instant(start, "start"),
                        end=parse_instant(end, "end"), bucket=bucket,  # type: ignore[arg-type]
                        agg=agg, group_by=groupBy)  # type: ignore[arg-type]
    table = twin.series(query)
    if "observed_at" in table.column_names:
        table = table.set_column(table.column_names.index("observed_at"), "observed_at",
                                 table["observed_at"].cast(pa.timestamp("us", tz="Asia/Shanghai")))
    if format == "csv":
        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        return Response(sink.getvalue(), media_type="text/csv; charset=utf-8")
    body = {"attribute": attribute, "bucket": bucket, "agg": agg if bucket else None, "count": table.num_rows,
            "data": table.to_pylist()}
    return Response(orjson.dumps(body), media_type="application/json")
