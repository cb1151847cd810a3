"""gzip for responses of at least :data:`MINIMUM_BYTES` when the client sends ``Accept-Encoding: gzip``.

Starlette's GZipMiddleware does the work (streamed bodies are compressed chunk by chunk; a 206, an answer with a
Content-Encoding of its own and already compressed media types pass as they are). This wrapper reads the header as
RFC 9110 §12.5.3 does — ``gzip;q=0`` refuses gzip, ``*`` accepts it — where Starlette looks for the letters
"gzip", and adds the GeoTIFF results (ranged reads by GDAL) to the types left alone. Entity tags stay as they are:
they are weak (``W/"3"``), which RFC 9110 §8.8.1 allows for a representation that differs only in its coding.
"""

from __future__ import annotations

from starlette.middleware.gzip import (
    DEFAULT_EXCLUDED_CONTENT_TYPES,
    GZipMiddleware,
    GZipResponder,
    IdentityResponder,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from netzatlas.api.negotiation import weighted

#: smaller answers are sent as they are (compressing them saves less than its cost)
MINIMUM_BYTES = 1024
#: zlib's default balance of speed and size (Starlette's default 9 costs much CPU for little)
LEVEL = 6
EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "image/tiff", "application/zstd", "application/x-bzip2")


def wants_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` accepts gzip: named with q > 0, or ``*`` with q > 0 and gzip not named."""
    named: float | None = None
    star: float | None = None
    for coding, q in weighted(header or ""):
        if coding in ("gzip", "x-gzip"):
            named = max(named or 0.0, q)
        elif coding == "*":
            star = q
    if named is not None:
        return named > 0
    return star is not None and star > 0


class Compression(GZipMiddleware):
    """GZipMiddleware with RFC 9110's reading of ``Accept-Encoding``."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, minimum_size=MINIMUM_BYTES, compresslevel=LEVEL, exclude_content_types=EXCLUDED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"accept-encoding"),
                      None)
        responder: ASGIApp
        if wants_gzip(header):
            responder = GZipResponder(self.app, self.minimum_size, compresslevel=self.compresslevel,
                                      thread_minimum_size=self.thread_minimum_size,
                                      exclude_content_types=self.exclude_content_types)
        else:   # as Starlette does without gzip: Vary: Accept-Encoding on what would have been compressed
            responder = IdentityResponder(self.app, self.minimum_size, exclude_content_types=self.exclude_content_types)
        await responder(scope, receive, send)
