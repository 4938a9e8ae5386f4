"""``/api/v1/observations``: batch ingest (JSON, CSV, Arrow IPC or Parquet) and reads (raw or bucketed
aggregates, JSON or CSV)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from lingang_twin.api.binary_readings import ARROW_STREAM, PARQUET, readings_from_body
from lingang_twin.api.deps import SettingsDep, TwinDep, media_type, off_loop, requires
from lingang_twin.api.names import check_attribute
from lingang_twin.api.openapi import OBSERVATIONS_BODY, answers, problems
from lingang_twin.api.parse_pool import ParsePool
from lingang_twin.api.problems import ProblemError
from lingang_twin.api.ratelimit import check_ingest
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.observations import ObservationBatch, OnConflict, iso_strings, parse_instant
from lingang_twin.core.store import SeriesQuery
from lingang_twin.core.twin import Twin, page_cursor
from lingang_twin.json_readings import batch_from_json_rows

router = APIRouter(prefix="/api/v1", tags=["observations"])
__all__ = ["batch_from_json_rows", "router"]  # batch_from_json_rows: json_readings', kept importable here


def batch_from_csv(data: bytes) -> ObservationBatch:
    """Columns ``entity_id, attribute, observed_at, value[, unit]`` from CSV bytes (header required); a bad row
    is named by its line and column, without quoting it."""
    from lingang_twin.interchange import read_observation_csv

    table = read_observation_csv(data, field="body")
    unit = table["unit"] if "unit" in table.column_names else None
    if unit is not None:
        unit = pc.if_else(pc.equal(unit, ""), pa.scalar(None, pa.string()), unit)
    return ObservationBatch.from_arrays(table["entity_id"], table["attribute"], table["observed_at"],
                                        table["value"], unit)


@router.post("/observations", summary="Ingest a batch of readings / 批量写入观测值", openapi_extra=OBSERVATIONS_BODY,
             responses=problems(400, 401, 403, 413, 415, 422, 429, 503),
             # The limit is a dependency: it answers before the body is read, so a flood costs no parsing.
             dependencies=[requires("readings:write"), Depends(check_ingest)])
async def post_observations(
    request: Request, twin: TwinDep, settings: SettingsDep,
    on_conflict: Annotated[Literal["reject", "replace", "keep"], Query(
        description="a reading that differs from a stored one: reject the batch, replace it (a correction: "
        "recorded in the change feed), or keep the old")]
    = "reject",
) -> Response:
    """Store readings, all or nothing: a JSON array of ``{entity_id, attribute, observed_at, value, unit?}``, a
    CSV with those columns, or — for millions of readings — an Arrow IPC stream
    (``application/vnd.apache.arrow.stream``) or a Parquet file (``application/vnd.apache.parquet``) with those
    columns: ``observed_at`` a timestamp with a time zone, ``value`` numbers, the rest text (see
    ``api/binary_readings.py``). Idempotent: a batch may be resent safely; 200 means every reading is stored
    durably. On error nothing is stored and the problem names the item (``index``), the field or column and the
    rule. Each API key (or user) may send ``LINGANG_INGEST_PER_SECOND`` batches a second (429 with Retry-After
    beyond)."""
    kind = media_type(request)
    if kind == "text/csv":
        batch = await off_loop(batch_from_csv, await request.body())
    elif kind in (ARROW_STREAM, PARQUET):
        # Arrow reads and checks with the GIL released: a worker thread frees the event loop.
        batch = await off_loop(readings_from_body, await request.body(), kind, settings.max_batch_items)
    elif kind in ("application/json", "application/ld+json"):
        # Large bodies are read in a child process: orjson holds the GIL while it parses (api/parse_pool.py).
        pool: ParsePool = request.app.state.parse_pool
        batch = await pool.readings(await request.body(), settings.max_batch_items)
    else:
        raise ProblemError(415, "Unsupported media type / 不支持的内容类型",
                           f"send application/json, text/csv, {ARROW_STREAM} or {PARQUET}, not "
                           f"{kind or 'no content type'}", "media-type",
                           "content-type")
    if len(batch) > settings.max_batch_items:
        raise ValidationError("body", "batch-size", f"at most {settings.max_batch_items} readings per batch")
    policy: OnConflict = on_conflict
    result = await off_loop(twin.append, batch, on_conflict=policy)
    return Response(orjson.dumps(result.__dict__), media_type="application/json")


DEFAULT_PAGE_ROWS = 10_000
MAX_PAGE_ROWS = 100_000
STREAM_CHUNK_ROWS = 100_000


def encode_cursor(attribute: str, after: tuple[str, int]) -> str:
    """The opaque continuation token of a raw-read page: the keyset ``(entity, attribute, observed_at)`` of its
    last row, base64url-encoded JSON (opaque to clients; only this module reads it)."""
    return base64.urlsafe_b64encode(orjson.dumps([after[0], attribute, after[1]])).decode().rstrip("=")


def decode_cursor(token: str, attribute: str) -> tuple[str, int]:
    """The keyset of a token from :func:`encode_cursor`; 422 naming ``cursor`` if it is not one, or belongs to
    another attribute's read."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        entity, attr, ts = orjson.loads(raw)
        if not isinstance(entity, str) or not isinstance(attr, str) or type(ts) is not int \
                or not -(2**63) <= ts < 2**63:
            raise TypeError
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise ValidationError("cursor", "cursor-format", "not a continuation token from a previous page; "
                              "pass the 'next' value unchanged / 续页标记无效") from None
    if attr != attribute:
        raise ValidationError("cursor", "cursor-query", "this continuation token belongs to a read of another "
                              "attribute; keep the query's other parameters unchanged / 续页标记与查询不符")
    return entity, ts


def _local(table: pa.Table) -> pa.Table:
    """``observed_at`` (raw reads) and ``bucket`` (aggregates) as ISO 8601 text at +08:00, how the API shows
    instants. Formatted from the stored microseconds: Python's datetime ends at year 9999, so an out-of-range instant
    stored by an older version would otherwise fail every read that includes it."""
    for name in ("observed_at", "bucket"):
        if name in table.column_names:
            us = pc.cast(table[name], pa.int64()).to_numpy(zero_copy_only=False)
            table = table.set_column(table.column_names.index(name), name, pa.array(iso_strings(us), pa.string()))
    return table


def _csv_chunks(twin: Twin, query: SeriesQuery) -> Iterator[bytes]:
    """A raw read as CSV, chunk by chunk (keyset pages), so an export of any size holds one chunk in memory."""
    first = True
    for chunk in twin.iter_series(query, chunk_rows=STREAM_CHUNK_ROWS):
        sink = io.BytesIO()
        pacsv.write_csv(_local(chunk), sink, write_options=pacsv.WriteOptions(include_header=first))
        first = False
        yield sink.getvalue()
    if first:  # no readings at all: still a CSV with its header
        sink = io.BytesIO()
        pacsv.write_csv(pa.table({"entity_id": pa.array([], pa.string()),
                                  "observed_at": pa.array([], pa.timestamp("us", tz="Asia/Shanghai")),
                                  "value": pa.array([], pa.float64())}), sink)
        yield sink.getvalue()


@router.get("/observations", summary="Read or aggregate readings / 查询与聚合观测值",
            responses={**answers(200, "readings or aggregates / 观测值或聚合", "application/json", "text/csv"),
                       **problems(400, 401, 403, 404, 422, 503)}, dependencies=[requires("readings:read")])
def get_observations(
    request: Request,
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
    agg: Annotated[str, Query(description="sum | mean | min | max | count | first | last | delta | consumption "
                              "(meters: delta of cumulative registers, sum of interval ones)")] = "sum",
    groupBy: Annotated[str | None, Query(description="entity, or a property such as carrier")] = None,
    unit: Annotated[str | None, Query(description="give every group in this unit (default: one unit per group, "
                                      "the one most of its series use)")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    limit: Annotated[int | None, Query(
        ge=1, le=MAX_PAGE_ROWS, description=f"raw readings per page (default {DEFAULT_PAGE_ROWS} for JSON; a raw "
        "CSV without limit streams every reading)")] = None,
    cursor: Annotated[str | None, Query(description="the 'next' token of the previous page (raw reads)")] = None,
) -> Response:
    """Raw readings (no ``bucket``) or calendar-bucket aggregates computed in the store.

    Raw readings come in pages ordered by entity and time: at most ``limit`` (default 10,000, at most 100,000)
    and a ``next`` token (and ``nextLink``, also sent as a ``Link: rel="next"`` header) while more remain; pass it
    as ``cursor`` with the same query. Paging is by keyset, not offset: a reading inserted meanwhile never makes
    a page repeat or skip another. ``format=csv`` without ``limit`` streams every reading."""
    types = tuple(t.strip() for t in type.split(",") if t.strip()) if type else ()
    from lingang_twin.core.q import parse_q

    if bucket is not None and (limit is not None or cursor is not None):
        raise ValidationError("limit" if limit is not None else "cursor", "raw-only",
                              "limit and cursor page raw readings; aggregates are not paged / 聚合结果不分页")
    query = SeriesQuery(attribute=attribute, entity_id=entity_id, under=under, types=types,
                        q=parse_q(q) if q else None, start=parse_instant(start, "start"),
                        end=parse_instant(end, "end"), bucket=bucket,  # type: ignore[arg-type]
                        agg=agg, group_by=groupBy, unit=unit)  # type: ignore[arg-type]
    if bucket is not None:
        table = _local(twin.series(query))
        if table.num_rows == 0:
            check_attribute(twin, query)
        if format == "csv":
            sink = io.BytesIO()
            pacsv.write_csv(table, sink)
            return Response(sink.getvalue(), media_type="text/csv; charset=utf-8")
        body = {"attribute": attribute, "bucket": bucket, "agg": agg, "count": table.num_rows,
                "data": table.to_pylist()}
        return Response(orjson.dumps(body), media_type="application/json")
    after = decode_cursor(cursor, attribute) if cursor is not None else None
    if format == "csv" and limit is None and after is None:
        # Checks the query now: a bad one is a problem, not a broken stream.
        if twin.series(replace(query, limit=1)).num_rows == 0:
            check_attribute(twin, query)
        return StreamingResponse(_csv_chunks(twin, query), media_type="text/csv; charset=utf-8")
    page_rows = limit or DEFAULT_PAGE_ROWS
    # One row more than the page tells whether another page exists without a count over the whole read.
    table = twin.series(replace(query, limit=page_rows + 1, after=after))
    if table.num_rows == 0 and after is None:
        check_attribute(twin, query)
    token = link = None
    if table.num_rows > page_rows:
        table = table.slice(0, page_rows)
        token = encode_cursor(attribute, page_cursor(table))
        link = str(request.url.include_query_params(cursor=token))
    headers = {"Link": f'<{link}>; rel="next"'} if link else None
    table = _local(table)
    if format == "csv":
        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        return Response(sink.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    body = {"attribute": attribute, "bucket": None, "agg": None, "count": table.num_rows, "limit": page_rows,
            "next": token, "nextLink": link, "data": table.to_pylist()}
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


@router.delete("/observations", summary="Delete readings of one series in a time range / 删除某序列一段时间的读数",
               responses={**answers(200, "how many readings were deleted / 删除的读数条数", "application/json"),
                          **problems(401, 403, 404, 422, 503)}, dependencies=[requires("readings:correct")])
def delete_observations(
    twin: TwinDep,
    entity_id: Annotated[str | None, Query(description="the entity (required)")] = None,
    attribute: Annotated[str | None, Query(description="the series, e.g. reading (required)")] = None,
    start: Annotated[str | None, Query(description="ISO 8601 with offset, inclusive (required)")] = None,
    end: Annotated[str | None, Query(description="ISO 8601 with offset, exclusive (required)")] = None,
) -> Response:
    """Delete the readings of ONE series in ``[start, end)`` and answer how many were removed. All four
    parameters are required (422 naming the missing one), so no request removes more than one series' stretch.
    To correct readings instead, POST them with ``on_conflict=replace``. Recorded in the change feed."""
    t0, t1 = parse_instant(start, "start"), parse_instant(end, "end")
    deleted = twin.delete_readings(entity_id, attribute, t0, t1)
    return Response(orjson.dumps({"deleted": deleted, "entity_id": entity_id, "attribute": attribute,
                                  "start": t0.isoformat() if t0 else None, "end": t1.isoformat() if t1 else None}),
                    media_type="application/json")
