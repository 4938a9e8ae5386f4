"""The HTTP shell's gate, before any route runs: the Host header, the Origin of state changes, and the request
types a browser may send cross-site without asking (CSRF).

Three refusals, each a problem+json answer (an ASGI middleware, so the console under ``/console`` and its
websocket pass through it too):

* **Host** not one of the configured names (:func:`allowed_host_names`) → 400 ``host-not-allowed``. A DNS
  rebinding attack points the attacker's own name at 127.0.0.1: the browser then sends ``Host: evil.example``.
* **Origin** of a state change (POST, PUT, PATCH, DELETE), of a websocket, or of the console's socket.io endpoint
  neither the server's own (its scheme-less ``host:port`` equals ``Host``) nor in ``Settings.allowed_origins``
  → 403 ``cross-origin``; without an Origin, ``Sec-Fetch-Site: cross-site`` is refused the same way. Clients
  that are not browsers (curl, the CLI, devices) send neither header and pass.
* **A simple-request body type** (``application/x-www-form-urlencoded``, ``multipart/form-data``,
  ``text/plain``) on a state change below ``/api/`` → 415 ``media-type``: those are the types an HTML
  form or a no-cors ``fetch`` sends without a CORS preflight. The OAuth2 token endpoint is form-encoded by its
  standard (RFC 6749 §4.3.2) and keeps only the Origin check.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from lingang_twin.settings import Settings

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
"""Always allowed: a rebinding attacker cannot make a browser send these names for its own site."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SIMPLE_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
"""The body types of a CORS "simple request" (no preflight): what a cross-site form can send."""

TOKEN_PATH = "/api/v1/auth/token"
"""The OAuth2 password-flow endpoint: form-encoded by the standard, so exempt from the body-type rule."""

SOCKET_PATH = "/_nicegui_ws/"
"""NiceGUI's socket.io endpoint (below ``/console``): it allows every origin itself (``cors_allowed_origins='*'``),
so its Origin is checked here, for the websocket and for the polling fallback alike."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address or a name) is the loopback interface only."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_wildcard_bind(host: str) -> bool:
    """Whether ``host`` binds every interface (``0.0.0.0``, ``::``)."""
    return host.strip("[]") in ("0.0.0.0", "::", "")


def allowed_host_names(settings: Settings) -> tuple[str, ...]:
    """The names a request's Host may carry: the loopback names, the bind address (unless it is a wildcard) and
    ``Settings.allowed_hosts``, lower case."""
    names = [*LOOPBACK_NAMES, *(h.strip().lower().rstrip(".") for h in settings.allowed_hosts if h.strip())]
    if not is_wildcard_bind(settings.host):
        names.append(settings.host.strip("[]").lower())
    return tuple(dict.fromkeys(names))


def host_name(host_header: str) -> str:
    """The name of a Host header value, without its port or brackets, lower case, no trailing dot."""
    value = host_header.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _netloc(value: str, scheme: str) -> str:
    """``host[:port]`` lower case, the scheme's default port dropped (browsers omit it, proxies may not)."""
    value = value.strip().lower()
    default = {"http": ":80", "https": ":443", "ws": ":80", "wss": ":443"}.get(scheme)
    if default and value.endswith(default):
        value = value[: -len(default)]
    return value


class HttpGuard:
    """ASGI middleware refusing a foreign Host, a cross-origin state change and a simple-request body type (see
    the module docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        names = allowed_host_names(settings)
        self.any_host = "*" in names
        self.hosts = frozenset(n for n in names if not n.startswith("*"))
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*.") and len(n) > 2)  # "*.x.org" → ".x.org"
        self.origins = frozenset(o.strip().lower().rstrip("/") for o in settings.allowed_origins if o.strip())

    def host_allowed(self, host: str | None) -> bool:
        """Whether a request with this Host header is answered."""
        if host is None or not host.strip():
            return False
        if self.any_host:
            return True
        name = host_name(host)
        return name in self.hosts or any(name.endswith(s) for s in self.suffixes)

    def origin_allowed(self, origin: str, host: str, scheme: str) -> bool:
        """Whether a request from ``origin`` (the Origin header) to this ``host`` may change state: the server's
        own origin or a configured one. ``null`` (a sandboxed frame, a file) never may."""
        origin = origin.strip().lower().rstrip("/")
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        # Host has no scheme: compare host:port, each with its own default port dropped.
        request_scheme = "https" if scheme in ("https", "wss") else "http"
        return _netloc(parts.netloc, parts.scheme) == _netloc(host, request_scheme)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host")
        if not self.host_allowed(host):
            shown = (host or "")[:100]
            await _refuse(scope, receive, send, 400, "Host not allowed / 主机名不被允许",
                          f"this server does not answer to the name {shown!r}; add it to LINGANG_ALLOWED_HOSTS if "
                          f"clients use it / 服务器不接受主机名 {shown!r}，如需使用请加入 LINGANG_ALLOWED_HOSTS",
                          "host-not-allowed", "host")
            return
        assert host is not None
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET") if kind == "http" else "GET"
        changes_state = kind == "websocket" or method not in SAFE_METHODS or SOCKET_PATH in path
        if changes_state:
            origin = headers.get("origin")
            cross = (not self.origin_allowed(origin, host, scope.get("scheme", "http")) if origin is not None
                     else headers.get("sec-fetch-site") == "cross-site")
            if cross:
                await _refuse(scope, receive, send, 403, "Cross-origin request refused / 拒绝跨站请求",
                              f"a page from {origin or 'another site'} may not change state here; only this "
                              "server's own pages and LINGANG_ALLOWED_ORIGINS may / 其他站点的页面不得修改数据",
                              "cross-origin", "origin")
                return
        if kind == "http" and method not in SAFE_METHODS and path.startswith("/api/") and path != TOKEN_PATH:
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media in SIMPLE_TYPES:
                await _refuse(scope, receive, send, 415, "Unsupported media type / 不支持的内容类型",
                              f"{media} is what a cross-site form can send, so state changes refuse it: send "
                              f"application/json (or text/csv for readings) / 为防跨站伪造请求，不接受 {media}",
                              "media-type", "content-type")
                return
        await self.app(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        key = name.decode("latin-1").lower()
        if key not in out:  # the first of repeated headers, as Starlette's Headers.get
            out[key] = value.decode("latin-1")
    return out


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, title: str, detail: str, rule: str,
                  field: str) -> None:
    """Answer a problem; a websocket is closed before it is accepted (the server answers its handshake 403)."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect, as the protocol has it, then the refusal
        await send({"type": "websocket.close", "code": 1008, "reason": rule})
        return
    body: dict[str, Any] = {"type": f"urn:lingang-twin:problem:{rule}", "title": title, "status": status,
                            "detail": detail, "field": field, "rule": rule}
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
