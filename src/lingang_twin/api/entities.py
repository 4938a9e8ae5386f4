"""``/api/v1/entities``: list and query, create, get, patch, delete, and per-item batch upsert."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError
from starlette.responses import Response

from lingang_twin.api.deps import IsoDate, SettingsDep, TwinDep, json_body, off_loop, requires
from lingang_twin.api.names import check_order_by
from lingang_twin.api.openapi import (
    BATCH_BODY,
    ENTITY_BODY,
    PATCH_BODY,
    PROBLEM_MEDIA,
    PROBLEM_SCHEMA,
    answers,
    problems,
)
from lingang_twin.core.errors import ValidationError
from lingang_twin.core.geometry import parse_georel
from lingang_twin.core.model import Entity, Phase
from lingang_twin.core.twin import Twin
from lingang_twin.core.types import model_errors_to_validation

router = APIRouter(prefix="/api/v1", tags=["entities"])
#: Largest ``offset``: beyond it DuckDB's 64-bit OFFSET overflowed into a 500; no district holds 10¹² entities.
MAX_OFFSET = 10**12


def entity_json(e: Entity) -> dict[str, Any]:
    """The API form of an entity (the model's own JSON, without the write-only ``phase_since``)."""
    return e.model_dump(mode="json", exclude={"phase_since"})


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def _csv_list(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()


class EntityList(BaseModel):
    """One page of entities and the total count."""

    data: list[dict[str, Any]]
    count: int = Field(description="all matches, not just this page")
    limit: int
    offset: int


@router.get("/entities", response_model=EntityList, summary="List and query entities / 查询实体",
            responses=problems(400, 401, 403, 404, 422, 503), dependencies=[requires("entities:read")])
def list_entities(
    twin: TwinDep,
    type: Annotated[str | None, Query(description="types, comma-separated: Building,Meter")] = None,
    id: Annotated[str | None, Query(description="entity ids, comma-separated")] = None,
    idPattern: Annotated[str | None, Query(description="regular expression on ids")] = None,
    q: Annotated[str | None, Query(description='NGSI-LD q, e.g. floorArea>50000;use=="lab"')] = None,
    georel: Annotated[str | None, Query(description="within | intersects | near;maxDistance==500 …")] = None,
    geometry: Annotated[str | None, Query(description="GeoJSON geometry type of the query area")] = None,
    coordinates: Annotated[str | None, Query(description="GeoJSON coordinates as JSON, lon/lat")] = None,
    under: Annotated[str | None, Query(description="every entity anywhere below this one")] = None,
    traverse: Annotated[str, Query(description="relationship walked by 'under'")] = "containedIn",
    relationship: Annotated[str | None, Query(description="name==target, e.g. submeterOf==urn:…")] = None,
    phase: Annotated[str | None, Query(description="lifecycle phases, comma-separated")] = None,
    asOf: Annotated[IsoDate | None, Query(description="the district as it was on this date (YYYY-MM-DD)")] = None,
    orderBy: Annotated[str | None, Query(description="comma-separated names, '-' for descending")] = None,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="matches to skip")] = 0,
) -> Response:
    """Query entities: type, ids, id pattern, ``q``, geo (real metres), containment, relationship, lifecycle."""
    geo = None
    if georel is not None:
        if geometry is None or coordinates is None:
            raise ValidationError("geometry", "georel-geometry", "georel needs geometry and coordinates")
        try:
            coords = orjson.loads(coordinates)
        except orjson.JSONDecodeError:
            raise ValidationError("coordinates", "json-syntax", "coordinates must be a JSON array") from None
        geo = parse_georel(georel, {"type": geometry, "coordinates": coords})
    elif geometry is not None or coordinates is not None:
        raise ValidationError("georel", "georel-missing", "geometry and coordinates need georel")
    related = None
    if relationship is not None:
        name, sep, target = relationship.partition("==")
        if not sep or not name or not target:
            raise ValidationError("relationship", "relationship-format", "use name==target")
        related = (name, target)
    order_by = _csv_list(orderBy) or ("id",)
    page = twin.query(types=_csv_list(type), ids=_csv_list(id), id_pattern=idPattern, q=q, geo=geo, under=under,
                      traverse=traverse, related=related, phases=_csv_list(phase), as_of=asOf,
                      order_by=order_by, limit=limit, offset=offset)
    check_order_by(twin, order_by, _csv_list(type))
    return _json({"data": [entity_json(e) for e in page.entities], "count": page.total, "limit": limit,
                  "offset": offset}, headers={"NGSILD-Results-Count": str(page.total)})


@router.post("/entities", status_code=201, summary="Create an entity / 创建实体", openapi_extra=ENTITY_BODY,
             responses={**answers(201, "created; Location names it / 已创建", "application/json"),
                        **problems(400, 401, 403, 409, 413, 415, 422, 503)},
             dependencies=[requires("entities:write")])
async def create_entity(request: Request, twin: TwinDep) -> Response:
    """Create one entity (body: the entity JSON, as returned by GET)."""
    body = await json_body(request)
    created = await off_loop(_create, twin, body)
    return _json(created, 201, headers={"Location": f"/api/v1/entities/{created['id']}"})


def _create(twin: Twin, body: dict[str, Any]) -> dict[str, Any]:
    return entity_json(twin.get(twin.create(body)))


@router.post("/entities:batch", summary="Upsert many entities, answering per item / 批量写入实体",
             openapi_extra=BATCH_BODY, responses={
                 **answers(200, "every item stored / 全部写入", "application/json"),
                 **answers(207, "some items stored, the others reported per item / 部分写入", "application/json"),
                 **problems(400, 401, 403, 413, 415, 503),
                 422: {"description": "no item stored (per-item results), or the body is not a batch (a problem) "
                       "/ 均未写入", "content": {"application/json": {"schema": {}},
                                             PROBLEM_MEDIA: {"schema": PROBLEM_SCHEMA}}}},
             dependencies=[requires("entities:write")])
async def batch_upsert(request: Request, twin: TwinDep, settings: SettingsDep) -> Response:
    """Upsert a JSON array of entities. Every valid item is stored; every invalid one is reported with its
    error (and items that point at a failed item fail too). 200 when all are stored, 207 when some are, 422 when
    none is."""
    items = await json_body(request, list)
    if len(items) > settings.max_batch_items:
        raise ValidationError("body", "batch-size", f"at most {settings.max_batch_items} items per batch")
    results = await off_loop(twin.upsert_each, items)
    out = []
    for r in results:
        item: dict[str, Any] = {"index": r.index, "id": r.id, "status": "stored" if r.stored else "failed"}
        if r.error is not None:
            item["error"] = r.error.to_dict()
        out.append(item)
    stored = sum(r.stored for r in results)
    status = 200 if stored == len(results) else 207 if stored else 422
    return _json({"stored": stored, "failed": len(results) - stored, "results": out}, status)


@router.get("/entities/{entity_id}", summary="One entity / 单个实体", responses=problems(401, 403, 404, 422, 503),
            dependencies=[requires("entities:read")])
def get_entity(entity_id: str, twin: TwinDep) -> Response:
    """One entity with its lifecycle history and the series recorded on it."""
    e = twin.get(entity_id)
    data = entity_json(e)
    data["series"] = twin.series_of(entity_id)
    return _json(data)


class EntityPatch(BaseModel):
    """Changes to an entity: attributes to add or replace, attribute names to remove, a phase change."""

    model_config = ConfigDict(extra="forbid")

    properties: dict[str, Any] | None = None
    relationships: dict[str, Any] | None = None
    geo: dict[str, Any] | None = None
    remove: list[str] = Field(default_factory=list)
    phase: Phase | None = None
    phaseSince: IsoDate | None = None


@router.patch("/entities/{entity_id}", summary="Change an entity / 修改实体", openapi_extra=PATCH_BODY,
              responses=problems(400, 401, 403, 404, 413, 415, 422, 503), dependencies=[requires("entities:write")])
async def patch_entity(entity_id: str, request: Request, twin: TwinDep) -> Response:
    """Add, replace or remove attributes, or move the entity to another lifecycle phase."""
    body = await json_body(request)
    try:
        patch = EntityPatch.model_validate(body)
    except PydanticError as err:
        raise model_errors_to_validation(err, "body") from None
    if patch.phaseSince is not None and patch.phase is None:
        raise ValidationError("phaseSince", "phase-required", "phaseSince needs phase")
    updated = await off_loop(twin.patch, entity_id, properties=patch.properties, relationships=patch.relationships,
                             geo=patch.geo, remove=patch.remove, phase=patch.phase, phase_since=patch.phaseSince)
    return _json(entity_json(updated))


@router.delete("/entities/{entity_id}", status_code=204, summary="Delete an entity / 删除实体",
               responses=problems(401, 403, 404, 409, 422, 503), dependencies=[requires("entities:delete")])
def delete_entity(entity_id: str, twin: TwinDep) -> Response:
    """Delete an entity and its time series (refused with 409 while other entities point at it)."""
    twin.delete(entity_id)
    return Response(status_code=204)
