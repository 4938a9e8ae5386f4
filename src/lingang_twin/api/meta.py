"""``/health`` and ``/api/v1/types``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from lingang_twin import __version__
from lingang_twin.api.deps import TwinDep, requires
from lingang_twin.api.openapi import problems

router = APIRouter(tags=["meta"])


@router.get("/health", summary="Liveness and size / 健康检查", responses=problems(503), dependencies=[requires()])
def health(twin: TwinDep) -> dict[str, Any]:
    """``ok`` with the store's schema version and the number of entities the caller may see (``null`` for a
    caller that may read none, e.g. one not signed in; a store failure answers 503)."""
    entities = twin.count() if twin.principal.can("entities:read") else None
    return {"status": "ok", "version": __version__, "schemaVersion": twin.schema_version, "entities": entities}


@router.get("/api/v1/types", summary="Entity types / 实体类型", dependencies=[requires("entities:read")])
def types(twin: TwinDep) -> Response:
    """Every registered entity type: label (中文, English), property schema and units, observed series."""
    out = []
    for t in twin.types:
        out.append({"name": t.name, "label": {"zh": t.label[0], "en": t.label[1]},
                    "smartDataModel": t.smart_data_model, "properties": t.properties.model_json_schema(),
                    "units": t.property_units(), "series": dict(t.series),
                    "relationships": list(t.relationships) if t.relationships is not None else None})
    return Response(orjson.dumps({"data": out, "count": len(out)}), media_type="application/json")
