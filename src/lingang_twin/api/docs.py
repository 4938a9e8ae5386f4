"""``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``: offline (no CDN), and only for a caller holding
``docs:read``.

FastAPI serves its documents itself, outside any dependency; they are turned off in ``create_app`` and served
here instead, each checking the caller first (:func:`~lingang_twin.api.deps.principal_of`: an app without
accounts treats everyone as the platform, so an embedded app keeps its docs). Swagger UI's "Try it out" then sends
requests as whoever signed in, and the routes' own permissions decide what it may do. The bundled assets
(``/static-offline-docs``, from fastapi-offline) stay public: they are the same for everyone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, JSONResponse, Response

from lingang_twin.api.deps import principal_of
from lingang_twin.api.problems import problem

OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
STATIC_URL = "/static-offline-docs"
_STATIC_PATH = Path(fastapi_offline.__file__).parent / "static"


def refusal(request: Request) -> Response | None:
    """``None`` when the caller holds ``docs:read``; else the answer: 401 for an anonymous caller (with
    ``WWW-Authenticate: Bearer``), 403 for one signed in without the permission. Answered here rather than raised,
    so the docs do not depend on how the rest of the API maps refusals."""
    who = principal_of(request)
    if who.can("docs:read"):
        return None
    if who.kind == "anonymous":
        response = problem(401, "Sign-in required / 需要登录",
                           "the API documentation is for signed-in users; sign in (POST /api/v1/auth/token, or the "
                           "console) / 接口文档仅对已登录用户开放", rule="sign-in-required", field="authorization")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return problem(403, "Forbidden / 无权限", f"{who.subject} may not read the API documentation (docs:read) / "
                   "无权查看接口文档", rule="permission", field="docs:read")


def install(app: FastAPI) -> None:
    """Serve the OpenAPI document, Swagger UI and ReDoc on ``app``, each behind :func:`refusal`."""
    app.mount(STATIC_URL, StaticFiles(directory=_STATIC_PATH.as_posix()), name="static-offline-docs")

    @app.get(OPENAPI_URL, include_in_schema=False)
    async def openapi(request: Request) -> Response:
        if (refused := refusal(request)) is not None:
            return refused
        document: dict[str, Any] = app.openapi()
        return JSONResponse(document)

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger(request: Request) -> Response:
        if (refused := refusal(request)) is not None:
            return refused
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{OPENAPI_URL}", title=f"{app.title} - Swagger UI",
                                   oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
                                   swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
                                   swagger_ui_parameters=app.swagger_ui_parameters)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()  # a static page carrying a code back: nothing to protect

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> Response:
        if (refused := refusal(request)) is not None:
            return refused
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{OPENAPI_URL}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js", with_google_fonts=False,
                              redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png")
