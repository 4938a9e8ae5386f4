"""``/api/v1/exports``: governed data sharing over HTTP — bulk exports through the one export guard, and the
approval requests personal or important data need before they leave the district.

* ``GET /api/v1/exports/entities`` (GeoJSON) and ``GET /api/v1/exports/readings`` (CSV or Parquet): what the
  caller may export, masked for it; ``recipient`` names an organisation outside the district, and then personal or
  important data need ``approval`` (an approved request of this caller). Refusals are 403 problem+json and write
  nothing; every export, allowed or refused, is in the audit log with what left.
* ``/api/v1/exports/requests``: file (``export:read``), list, read, approve and reject (``export:approve``, never
  one's own) requests.

The caller is ``request.state.principal`` (set by the sign-in middleware); an app without accounts
(``app.state.authenticator`` is ``None``: tests and library use) acts as :data:`~lingang_twin.core.access.SYSTEM`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from lingang_twin.api.deps import TwinDep, off_loop, requires
from lingang_twin.api.openapi import answers, problems
from lingang_twin.core.access import Principal
from lingang_twin.core.exports import LEGAL_BASES, ExportCall, ExportRequest
from lingang_twin.core.guard import caller
from lingang_twin.core.observations import parse_instant
from lingang_twin.interchange import export_observations, geojson_text
from lingang_twin.stores.export_requests import governance_for

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])


# Who calls: the one principal source of every route (core.guard.caller).
CallerDep = Annotated[Principal, Depends(caller)]


class ExportRequestIn(BaseModel):
    """A request to let personal or important data of ``types`` leave the district for ``recipient``."""

    reason: str = Field(min_length=1, max_length=2000, description="why the data leave / 用途")
    recipient: str = Field(min_length=1, max_length=200, description="the organisation outside the district")
    legal_basis: str = Field(description="one of: " + ", ".join(LEGAL_BASES))
    types: list[str] = Field(min_length=1, description="entity types the export covers")
    classifications: list[Literal["personal", "important"]] = Field(min_length=1)


class DecisionIn(BaseModel):
    """An approver's decision: ``valid_days`` (approval only, 1–365) and a ``note``."""

    valid_days: int = Field(default=30, ge=1, le=365)
    note: str | None = Field(default=None, max_length=2000)


class ExportRequestOut(BaseModel):
    """An export request and its decision (instants ISO 8601)."""

    id: str
    requester: str
    reason: str
    recipient: str
    legal_basis: str
    types: list[str]
    classifications: list[str]
    requested_at: str
    status: str
    decided_by: str | None
    decided_at: str | None
    expires_at: str | None
    note: str | None


class ExportRequestsOut(BaseModel):
    data: list[ExportRequestOut]
    count: int


def _out(r: ExportRequest) -> ExportRequestOut:
    return ExportRequestOut(**r.to_dict())


@router.post("/requests", status_code=201, response_model=ExportRequestOut,
             dependencies=[requires("export:read")],
             summary="Request approval to export personal or important data / 申请对外提供数据",
             responses=problems(403, 422))
async def create_request(body: ExportRequestIn, twin: TwinDep, caller: CallerDep) -> ExportRequestOut:
    """File a request (``export:read``); it waits for someone else holding ``export:approve``."""
    r = await off_loop(governance_for(twin).request, caller, reason=body.reason, recipient=body.recipient,
                       legal_basis=body.legal_basis, types=body.types, classifications=body.classifications)
    return _out(r)


@router.get("/requests", response_model=ExportRequestsOut, summary="Export requests / 数据导出申请",
            dependencies=[requires("entities:read")],
            responses=problems(403, 422))
async def list_requests(twin: TwinDep, caller: CallerDep,
                        status: Literal["pending", "approved", "rejected"] | None = None) -> ExportRequestsOut:
    """Every request for approvers and auditors; one's own for anyone else with ``export:read``."""
    found = await off_loop(governance_for(twin).list_requests, caller, status=status)
    return ExportRequestsOut(data=[_out(r) for r in found], count=len(found))


@router.get("/requests/{request_id}", response_model=ExportRequestOut, summary="One export request / 单个申请",
            dependencies=[requires("entities:read")],
            responses=problems(404))
async def get_request(request_id: str, twin: TwinDep, caller: CallerDep) -> ExportRequestOut:
    """One request, if the caller may see it (else 404: not even whether it exists)."""
    return _out(await off_loop(governance_for(twin).get, caller, request_id))


@router.post("/requests/{request_id}/approve", response_model=ExportRequestOut,
             dependencies=[requires("export:approve")],
             summary="Approve an export request / 批准申请", responses=problems(403, 404, 409, 422))
async def approve(request_id: str, body: DecisionIn, twin: TwinDep, caller: CallerDep) -> ExportRequestOut:
    """Approve a pending request for ``valid_days`` (``export:approve``; not one's own: 403)."""
    return _out(await off_loop(governance_for(twin).approve, caller, request_id, valid_days=body.valid_days,
                               note=body.note))


@router.post("/requests/{request_id}/reject", response_model=ExportRequestOut,
             dependencies=[requires("export:approve")],
             summary="Reject an export request / 驳回申请", responses=problems(403, 404, 409, 422))
async def reject(request_id: str, body: DecisionIn, twin: TwinDep, caller: CallerDep) -> ExportRequestOut:
    """Reject a pending request (``export:approve``; not one's own)."""
    return _out(await off_loop(governance_for(twin).reject, caller, request_id, note=body.note))


_RECIPIENT = Query(None, max_length=200, description="the organisation outside the district that receives the "
                   "data; personal or important data then need an approval / 区外接收方")
_APPROVAL = Query(None, max_length=64, description="the approved export request / 审批编号")


@router.get("/entities", summary="Export entities as GeoJSON / 导出实体（GeoJSON）",
            dependencies=[requires("export:read")],
            responses={**answers(200, "a GeoJSON FeatureCollection, masked for the caller",
                                 "application/geo+json"), **problems(403, 422)})
async def export_entities(twin: TwinDep, caller: CallerDep,
                          type: Annotated[list[str] | None, Query(description="entity types")] = None,
                          under: str | None = Query(None, description="entities anywhere below this one"),
                          recipient: str | None = _RECIPIENT, approval: str | None = _APPROVAL) -> Response:
    """The chosen entities (``export:read``), masked for the caller, as an attachment; logged."""
    def run() -> bytes:
        holder: list[bytes] = []
        gov = governance_for(twin)
        gov.export_entities(ExportCall(caller, recipient=recipient, approval=approval),
                            twin.query_all(types=tuple(type or ()), under=under),
                            lambda shown: holder.append(geojson_text(shown).encode("utf-8")),
                            format="geojson", target="entities.geojson")
        return holder[0]

    data = await off_loop(run)
    return Response(data, media_type="application/geo+json",
                    headers={"Content-Disposition": 'attachment; filename="entities.geojson"'})


@router.get("/readings", summary="Export raw readings as CSV or Parquet / 导出读数（CSV、Parquet）",
            dependencies=[requires("export:read")],
            response_class=FileResponse,
            responses={**answers(200, "the readings file", "text/csv", "application/vnd.apache.parquet"),
                       **problems(403, 422)})
async def export_readings(twin: TwinDep, caller: CallerDep,
                          attribute: str = Query("reading", description="the series"),
                          entity: str | None = Query(None, description="one entity"),
                          type: Annotated[list[str] | None, Query(description="entity types")] = None,
                          under: str | None = Query(None, description="entities anywhere below this one"),
                          start: str | None = Query(None, description="ISO 8601 with offset, inclusive"),
                          end: str | None = Query(None, description="ISO 8601 with offset, exclusive"),
                          format: Literal["csv", "parquet"] = "csv",
                          recipient: str | None = _RECIPIENT, approval: str | None = _APPROVAL) -> Any:
    """Raw readings (``export:read``; a personal or important series also needs the grade's permission), streamed
    into a file and sent; logged."""
    t0, t1 = parse_instant(start, "start"), parse_instant(end, "end")
    folder = Path(tempfile.mkdtemp(prefix="lingang-export-"))
    path = folder / f"readings.{format}"
    try:
        await off_loop(export_observations, twin, path, ExportCall(caller, recipient=recipient, approval=approval),
                       attribute=attribute, entity_id=entity, types=tuple(type or ()), under=under, start=t0, end=t1)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    media = "text/csv; charset=utf-8" if format == "csv" else "application/vnd.apache.parquet"
    return FileResponse(path, media_type=media, filename=path.name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
