"""Route guards (路由权限声明): the caller of an HTTP request, its view of the twin, and each route's permission.

Shared by the API face and the packs' routers (a pack imports no face), so both reach the twin the same way:

* :func:`caller` — the request's :class:`~lingang_twin.core.access.Principal`: ``request.state.principal`` as the
  accounts middleware set it; :data:`~lingang_twin.core.access.SYSTEM` when the app has no authenticator
  (``app.state.authenticator`` is ``None``: an embedded app without accounts); otherwise
  :data:`~lingang_twin.core.access.ANONYMOUS` (fail closed: a request nobody vouched for holds nothing).
* :func:`caller_twin` — ``app.state.twin.as_caller(caller)``: the view whose reads and writes check the caller.
* :func:`requires` — the permission a route needs, as a dependency that also *marks* the route, so a test can
  walk every route and fail on one that declares none (``tests/api/test_route_permissions.py``).

The check that matters lives in the twin (:mod:`lingang_twin.core.caller`): a route that declares too little
still cannot read or write beyond its caller. :func:`requires` answers early and says in the OpenAPI document
and in code what each route is for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from lingang_twin.core.access import ANONYMOUS, SYSTEM, AccessDenied, Principal
from lingang_twin.core.twin import Twin

PUBLIC = "public"
"""What :func:`requires` with no permission declares: the route answers anyone (``/health``)."""


def caller(request: Request) -> Principal:
    """The principal of this request (see the module docstring). Tests put one on requests by overriding this
    dependency (``app.dependency_overrides[caller]``); everything below it is the real app."""
    who = getattr(request.state, "principal", None)
    if isinstance(who, Principal):
        return who
    if getattr(request.app.state, "authenticator", None) is None:
        return SYSTEM
    return ANONYMOUS


def caller_twin(request: Request, who: Principal = Depends(caller)) -> Twin:  # noqa: B008 - FastAPI's idiom
    """The app's twin as seen by the request's caller (``twin.as_caller``)."""
    twin: Twin = request.app.state.twin
    return twin.as_caller(who)


def requires(*permissions: str) -> Any:
    """A route dependency: the caller must hold every one of ``permissions`` (AccessDenied → 401/403 otherwise).
    ``requires()`` declares a public route. Use as ``dependencies=[requires("entities:read")]``."""

    def check(who: Principal = Depends(caller)) -> None:  # noqa: B008 - FastAPI's idiom
        for permission in permissions:
            if not who.can(permission):
                raise AccessDenied(who, permission)

    check.permissions = permissions or (PUBLIC,)  # type: ignore[attr-defined]
    check.__name__ = f"requires_{'_'.join(permissions) or PUBLIC}".replace(":", "_")
    return Depends(check)


def requires_any(*permissions: str) -> Any:
    """A route dependency: the caller must hold at least one of ``permissions`` (e.g. ``keys:own`` for one's own
    keys or ``accounts:manage`` for anyone's; the route itself then decides which applies)."""
    if not permissions:
        raise ValueError("requires_any needs at least one permission")

    def check(who: Principal = Depends(caller)) -> None:  # noqa: B008 - FastAPI's idiom
        if not any(who.can(p) for p in permissions):
            raise AccessDenied(who, " | ".join(permissions))

    check.permissions = permissions  # type: ignore[attr-defined]
    check.__name__ = f"requires_any_{'_'.join(permissions)}".replace(":", "_")
    return Depends(check)


def declared_permissions(route: APIRoute) -> tuple[str, ...] | None:
    """The permissions ``route`` declares through :func:`requires` (``None``: it declares none), found by walking
    its dependency tree (the router's dependencies included)."""
    found: list[str] = []
    seen = False
    for call in _calls(route.dependant):
        perms = getattr(call, "permissions", None)
        if isinstance(perms, tuple):
            seen = True
            found.extend(perms)
    return tuple(found) if seen else None


def api_routes(app: Any) -> list[tuple[str, APIRoute]]:
    """Every API route of ``app`` with its full path, those of included routers too (FastAPI keeps included
    routers as branches of the route tree; this walks them)."""
    from fastapi.routing import iter_route_contexts

    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            out.append((ctx.path or route.path, route))
    return out


def _calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


__all__ = ["PUBLIC", "api_routes", "caller", "caller_twin", "declared_permissions", "requires"]
