"""RFC 9457 problem details: the one place where the exception tree becomes HTTP status codes.

Every error answer is ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail`` and, for bad
input, ``field``, ``rule`` and (for batches) ``index`` — or ``errors``, a list of such items.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from lingang_twin.core.access import AccessDenied
from lingang_twin.core.errors import (
    ConflictError,
    NotFoundError,
    QuerySyntaxError,
    StoreError,
    TwinError,
    ValidationError,
)
from lingang_twin.core.pydantic_messages import bilingual
from lingang_twin.json_readings import BodyError

PROBLEM_TYPE = "application/problem+json"

# Most specific first: the first match decides the status.
STATUS_OF: tuple[tuple[type[TwinError], int, str], ...] = (
    (AccessDenied, 403, "Forbidden / 禁止访问"),
    (QuerySyntaxError, 400, "Query syntax error / 查询语法错误"),
    (ValidationError, 422, "Invalid input / 输入无效"),
    (NotFoundError, 404, "Not found / 未找到"),
    (ConflictError, 409, "Conflict / 冲突"),
    (StoreError, 503, "Store unavailable / 存储不可用"),
    (TwinError, 500, "Twin error / 孪生错误"),
)


HTTP_TITLES: dict[int, str] = {
    404: "Not found / 未找到",
    405: "Method not allowed / 不支持该方法",
}


class ProblemError(BodyError):
    """An HTTP problem raised by a route (for conditions that are not TwinErrors: 413, 415, 400 bad JSON). Its
    base, :class:`~lingang_twin.json_readings.BodyError`, is the same raised where FastAPI is not imported (a
    child process reading a JSON body); both are answered here."""


def problem(status: int, title: str, detail: str, *, rule: str | None = None, field: str | None = None,
            extra: dict[str, Any] | None = None) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {"type": f"urn:lingang-twin:problem:{rule or status}", "title": title, "status": status,
                            "detail": detail}
    if field is not None:
        body["field"] = field
    if rule is not None:
        body["rule"] = rule
    if extra:
        body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_TYPE)


def from_twin_error(err: TwinError) -> Response:
    """Translate one of our errors. A refusal (:class:`~lingang_twin.core.access.AccessDenied`) is 401 with a
    ``WWW-Authenticate`` challenge for a caller that has not signed in, 403 for one that lacks the permission; the
    body names the permission, never what lies out of reach."""
    if isinstance(err, AccessDenied):
        if err.principal.kind == "anonymous":
            response = problem(401, "Unauthorized / 未登录", "sign in first: send a bearer token or an API key / "
                               "请先登录（Bearer 令牌或 API 密钥）", rule="unauthenticated",
                               extra={"permission": err.permission})
            response.headers["WWW-Authenticate"] = 'Bearer realm="lingang-twin"'
            return response
        return problem(403, "Forbidden / 无权访问", err.message, rule="forbidden",
                       extra={"permission": err.permission})
    status, title = next((s, t) for cls, s, t in STATUS_OF if isinstance(err, cls))
    if isinstance(err, ValidationError):
        extra: dict[str, Any] = {"errors": [err.to_dict()]}
        if err.index is not None:
            extra["index"] = err.index
        if isinstance(err, QuerySyntaxError):
            extra["position"] = err.position
        return problem(status, title, str(err), rule=err.rule, field=err.field, extra=extra)
    rule = {403: "forbidden", 404: "not-found", 409: "conflict", 503: "store-unavailable"}.get(status, "error")
    return problem(status, title, str(err), rule=rule)


def from_access_denied(err: AccessDenied) -> Response:
    """401 (with ``WWW-Authenticate``) for a caller that has not signed in or whose credentials were refused;
    403 for a signed-in caller that lacks the permission or the entity."""
    if err.principal.kind == "anonymous":
        response = problem(401, "Unauthorized / 未认证", err.message, rule="unauthenticated",
                           extra={"permission": err.permission})
        response.headers["WWW-Authenticate"] = 'Bearer realm="lingang-twin"'
        return response
    extra: dict[str, Any] = {"permission": err.permission}
    if err.entity is not None:
        extra["entity"] = err.entity
    return problem(403, "Forbidden / 无权限", err.message, rule="forbidden", extra=extra)


def install_handlers(app: FastAPI) -> None:
    """Register the translations on ``app``."""

    @app.exception_handler(TwinError)
    async def _twin(_: Request, err: TwinError) -> Response:
        return from_twin_error(err)

    @app.exception_handler(AccessDenied)
    async def _denied(_: Request, err: AccessDenied) -> Response:
        return from_access_denied(err)

    @app.exception_handler(BodyError)
    async def _problem(_: Request, err: BodyError) -> Response:
        return problem(err.status, err.title, err.detail, rule=err.rule, field=err.field)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, err: RequestValidationError) -> Response:
        # Pydantic's raw English errors are translated here, the one edge every route's parameters pass.
        items = []
        for e in err.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
            field = ".".join(loc) or "body"
            items.append({"field": field, "rule": e.get("type", "invalid"), "message": bilingual(e, field)})
        first = items[0] if items else {"field": "body", "rule": "invalid", "message": "invalid request / 请求无效"}
        return problem(422, "Invalid input / 输入无效", first["message"], rule=first["rule"],
                       field=first["field"], extra={"errors": items})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> Response:
        title = HTTP_TITLES.get(err.status_code, str(err.detail))
        # Starlette's own detail is the bare English phrase ("Not Found"): say it in both languages then.
        detail = title if str(err.detail).lower() == title.split(" / ")[0].lower() else str(err.detail)
        response = problem(err.status_code, title, detail, rule=f"http-{err.status_code}")
        for key, value in (err.headers or {}).items():
            response.headers[key] = value
        if err.status_code == 405:
            # RFC 9110 §15.5.6: a 405 lists every method the resource supports. Starlette names only the first
            # route that matched the path, and GET and POST of one path are separate routes here.
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at the request's path (asked of the router, method by method,
    since included routers wrap their routes)."""
    routes = request.app.router.routes
    return [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
            if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)]
