"""The REST API face (FastAPI): ``create_app(twin)`` wires routes, problem+json errors, the HTTP shell (security
headers, the Host and Origin guard, rate limits, docs behind ``docs:read``) and the body limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from lingang_twin import __version__
from lingang_twin.api import admin, auth, checks, docs, entities, exports, meta, observations, ratelimit
from lingang_twin.api.guard import HttpGuard
from lingang_twin.api.headers import SecurityHeaders
from lingang_twin.api.limits import BodyLimit
from lingang_twin.api.openapi import problem_answers_everywhere
from lingang_twin.api.parse_pool import ParsePool
from lingang_twin.api.problems import install_handlers
from lingang_twin.core.access import AuditSink, Authenticator
from lingang_twin.core.observations import ObservationBatch
from lingang_twin.core.packs import Installed, Pack, as_installed
from lingang_twin.core.twin import Twin
from lingang_twin.settings import Settings

DESCRIPTION = """
The Lingang IICZ digital twin · 临港国际创新协同区数字孪生.

Entities (zones, parcels, buildings, meters, parking, vehicles …) with relationships, geometry and lifecycle;
time series of everything measured, aggregated in Asia/Shanghai calendar buckets. Errors are
`application/problem+json` (RFC 9457) naming the field and the rule.
"""


def create_app(twin: Twin, settings: Settings | None = None, packs: list[Pack] | Installed | None = None, *,
               configs: Mapping[str, Any] | None = None, authenticator: Authenticator | None = None) -> FastAPI:
    """The API over ``twin`` with the routes of ``packs``, each handed its pack's validated configuration (from
    :class:`~lingang_twin.core.packs.Installed`, or ``configs`` by pack name, validated here). Docs at ``/docs``
    work offline (no CDN), for callers with ``docs:read``.

    ``authenticator`` (``lingang_twin.app.open_accounts``) turns each request's credentials into its caller
    (``request.state.principal``, :class:`~lingang_twin.api.auth.Authenticate`); without one every request acts
    as :data:`~lingang_twin.core.access.SYSTEM` (embedded use, tests). When it is also an
    :class:`~lingang_twin.core.access.AuditSink` it is ``app.state.audit``."""
    installed = as_installed(packs, configs)
    settings = settings or Settings()
    pool = ParsePool(settings.parse_workers, settings.parse_offload_bytes)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()  # the JSON parsing children stop with the app (they start on the first large body)

    # FastAPI's own document routes check nobody: docs.install serves them behind docs:read.
    app = FastAPI(title="Lingang Twin API · 临港孪生接口", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.twin = twin
    app.state.parse_pool = pool
    app.state.settings = settings
    app.state.authenticator = authenticator
    app.state.audit = authenticator if isinstance(authenticator, AuditSink) else None
    twin.future_horizon = timedelta(hours=settings.future_horizon_hours)
    install_handlers(app)
    ratelimit.install(app, settings)
    docs.install(app)
    app.include_router(meta.router)
    app.include_router(auth.router)
    app.include_router(entities.router)
    app.include_router(observations.router)
    app.include_router(admin.router)
    app.include_router(exports.router)  # governed data sharing: bulk exports and their approvals
    app.include_router(checks.router(installed))  # every pack's checks, run by name
    for pack in installed.packs:
        if pack.api is not None:
            app.include_router(pack.api(installed.config(pack.name)))
    app.add_middleware(auth.Authenticate)
    # The last added runs first: headers on every answer (the guard's refusals too), then the guard, then the
    # body limit; the console mounted later under /console passes through all three.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HttpGuard, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)
    _describe_problems(app)
    return app


WARM_UP_CSV = (b"entity_id,attribute,observed_at,value\n"
               b"urn:ngsi-ld:Meter:warm-up,reading,2025-01-01T00:00:00+08:00,1\n")


def warm_up() -> ObservationBatch:
    """Import, and run once on a tiny body, the CSV and JSON readers, so that the first large ingest does not
    import them in its worker thread while holding the GIL (see :func:`lingang_twin.app.warm_up`). Writes nothing;
    returns the parsed CSV batch (one reading of ``urn:ngsi-ld:Meter:warm-up``)."""
    from lingang_twin.json_readings import readings_from_json

    readings_from_json(b'[{"entity_id": "urn:ngsi-ld:Meter:warm-up", "attribute": "reading", '
                       b'"observed_at": "2025-01-01T00:00:00+08:00", "value": 1}]', 1)
    return observations.batch_from_csv(WARM_UP_CSV)


def _describe_problems(app: FastAPI) -> None:
    """Serve an OpenAPI document whose error answers are problem+json on every route (packs' too)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_answers_everywhere(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["FastAPI", "create_app"]
