"""Security headers on every answer of the server (API, docs and the console mounted under ``/console``).

* ``Content-Security-Policy``: an HTML page (the console, ``/docs``, ``/redoc``, an HTML report) gets
  :func:`page_policy`; anything else (JSON, CSV, files) ``default-src 'none'``, so that a body opened as a
  document can run nothing. Both forbid framing (``frame-ancestors 'none'``).
* ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older browsers' frame-ancestors),
  ``Referrer-Policy: no-referrer`` (entity ids in URLs stay on this server), ``Cross-Origin-Opener-Policy``,
  and ``Strict-Transport-Security`` when the request came over HTTPS (directly or through a trusted proxy).

The ``server`` banner is uvicorn's, written below ASGI: :func:`lingang_twin.app.serve` turns it off.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lingang_twin.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For everything that is not an HTML page."""

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


def tile_origin(tile_url: str | None) -> str | None:
    """The origin (scheme://host[:port]) of a Leaflet tile URL template, for ``img-src``."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    # A subdomain placeholder (https://{s}.tile.example/...) becomes a CSP wildcard label.
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return f"{parts.scheme}://{host}"


def page_policy(host: str, tiles: str | None = None) -> str:
    """The CSP of an HTML page served to ``host`` (its Host header, already checked by the guard).

    NiceGUI (Vue with templates compiled in the browser, Quasar) needs inline scripts and styles and
    ``'unsafe-eval'``, and Swagger UI an inline script; so the policy's worth is in what it closes: scripts, styles,
    fonts and connections only from this server (and its websocket), images from here, ``data:``/``blob:`` and
    the configured basemap, no plugins, no framing, no ``<base>`` or form posts elsewhere."""
    images = f"'self' data: blob:{' ' + tiles if tiles else ''}"
    return ("default-src 'self'; "
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
            "style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; "
            "font-src 'self' data:; "
            # 'self' covers ws: of the same host only in CSP 3 browsers: name it for the others.
            f"connect-src 'self' ws://{host} wss://{host}; "
            "worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP answer (a route's own CSP is kept)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.tiles = tile_origin(settings.tile_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                headers += [h for h in COMMON if h[0] not in names]
                if https and HSTS[0] not in names:
                    headers.append(HSTS)
                if b"content-security-policy" not in names:
                    kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                    if kind.startswith(b"text/html"):
                        host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
                        policy = page_policy(host, self.tiles)
                    else:
                        policy = API_POLICY
                    headers.append((b"content-security-policy", policy.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
