"""Security headers on every response, set in this one place.

The Content-Security-Policy forbids inline script everywhere (``script-src 'self'``): the API's pages (/map, /docs)
load their code from static files served by the API itself, so a value that slips into a page as markup still
cannot run. Everything a page needs is same-origin (the map works offline); the only exceptions are MapLibre's
worker, which it starts from a ``blob:`` URL, and an external basemap when ``NETZATLAS_BASEMAP_URL`` is configured
(its origin is allowed for images and fetches). JSON responses carry the same headers: harmless to API clients,
and a document opened in a browser can never execute anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from netzatlas.reports.safe_html import origin_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def content_security_policy(basemap_url: str | None = None) -> str:
    """The policy for every response; ``basemap_url`` (an XYZ template) adds its origin for images and fetches."""
    origin = origin_of(basemap_url)
    extra = f" {origin}" if origin else ""
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "worker-src": "'self' blob:",
        "style-src": "'self'",
        "img-src": "'self' data: blob:" + extra,
        "connect-src": "'self'" + extra,
        "font-src": "'self'",
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{k} {v}" for k, v in directives.items())


def security_headers(basemap_url: str | None = None) -> list[tuple[bytes, bytes]]:
    """The headers :class:`SecurityHeaders` adds (raw ASGI form)."""
    return [
        (b"content-security-policy", content_security_policy(basemap_url).encode("latin-1")),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    ]


class SecurityHeaders:
    """ASGI middleware: adds the security headers to every HTTP response (a header a route set itself is kept)."""

    def __init__(self, app: ASGIApp, basemap_url: str | None = None) -> None:
        self.app = app
        self.headers = security_headers(basemap_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in self.headers if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
