"""``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``: offline (no CDN), and only for a caller holding
``docs:read``.

FastAPI serves its documents itself, outside any dependency; they are turned off in ``create_app`` and served
here instead, each declaring ``requires("docs:read")`` (:func:`lingang_twin.core.guard.requires`) like every
other route: the caller comes from the one principal source (:func:`~lingang_twin.core.guard.caller`; an app
without accounts treats everyone as the platform, so an embedded app keeps its docs), the route walk of
``tests/api/test_access_routes.py`` sees the permission, and a refusal is answered as every refusal is (401 with
``WWW-Authenticate: Bearer`` for an anonymous caller, 403 naming ``docs:read`` otherwise). Swagger UI's "Try it
out" then sends requests as whoever signed in, and the routes' own permissions decide what it may do. The bundled
assets (``/static-offline-docs``, from fastapi-offline) and the OAuth2 redirect page stay public: they are the
same for everyone and carry no data.

A browser opening ``/docs`` sends no ``Authorization`` header: use the pages through a client that sends the
bearer token or API key (``docs/security.md``, "API documentation").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, JSONResponse, Response

from lingang_twin.core.guard import requires

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
STATIC_URL = "/static-offline-docs"
_STATIC_PATH = Path(fastapi_offline.__file__).parent / "static"
DOCS_READ = requires("docs:read")


def install(app: FastAPI) -> None:
    """Serve the OpenAPI document, Swagger UI and ReDoc on ``app``, each for callers with ``docs:read``."""
    app.mount(STATIC_URL, StaticFiles(directory=_STATIC_PATH.as_posix()), name="static-offline-docs")

    @app.get(OPENAPI_URL, include_in_schema=False, dependencies=[DOCS_READ])
    async def openapi() -> Response:
        document: dict[str, Any] = app.openapi()
        return JSONResponse(document)

    @app.get(DOCS_URL, include_in_schema=False, dependencies=[DOCS_READ])
    async def swagger(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{OPENAPI_URL}", title=f"{app.title} - Swagger UI",
                                   oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
                                   swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
                                   swagger_ui_parameters=app.swagger_ui_parameters)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False, dependencies=[requires()])
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()  # a static page carrying a code back: nothing to protect

    @app.get(REDOC_URL, include_in_schema=False, dependencies=[DOCS_READ])
    async def redoc(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{OPENAPI_URL}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js", with_google_fonts=False,
                              redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png")
