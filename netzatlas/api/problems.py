"""RFC 9457 problem details for every error; the status comes from netzatlas.errors.http_status.

Unexpected errors are answered by :class:`CatchUnexpected`, the innermost middleware, with a 500 problem on a
connection that stays usable. (Starlette's ServerErrorMiddleware also answers them, but then re-raises the error
into the server, and uvicorn closes the connection after a response it has already sent: a keep-alive client
finds it dead on its next request.)
"""

from __future__ import annotations

import logging
import re

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netzatlas.errors import ImportRejected, NetzatlasError, http_status
from netzatlas.registry.db import refusal

log = logging.getLogger("netzatlas.api")
#: a path naming a tile matrix set other than WebMercatorQuad (answered 404 by the router)
_TMS_PATH = re.compile(r"(?:/collections/[^/]+/tiles|/tileMatrixSets)/(?!WebMercatorQuad(?:/|$))([^/]+)(?:/.*)?")
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          406: "Not acceptable", 409: "Conflict", 412: "Precondition failed", 413: "Payload too large",
          415: "Unsupported media type", 422: "Unprocessable content", 428: "Precondition required",
          429: "Too many requests", 500: "Internal server error", 503: "Service unavailable",
          507: "Insufficient storage"}


def problem(status: int, detail: str, *, instance: str | None = None, hint: str | None = None,
            headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    body: dict[str, object] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
                               "detail": detail}
    if instance:
        body["instance"] = instance
    if hint:
        body["hint"] = hint
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def unexpected(path: str) -> JSONResponse:
    """The answer to an error nobody foresaw (the details go to the log, not to the caller)."""
    return problem(500, "an unexpected error occurred; it has been logged", instance=path)


class CatchUnexpected:
    """Innermost ASGI middleware: an unexpected error becomes a 500 problem and is not re-raised.

    The connection stays open for the client's next request. Only when part of the response was already sent is
    the error re-raised: then closing the connection is the one way left to tell the client its answer is broken.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:
                raise
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            await unexpected(str(scope.get("path", "")))(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers (the one place where errors become responses)."""
    # innermost, so that the other middlewares (CORS, HEAD, security headers) also see the 500 answer
    app.user_middleware.append(Middleware(CatchUnexpected))

    @app.exception_handler(NetzatlasError)
    async def _netzatlas(request: Request, exc: NetzatlasError) -> JSONResponse:
        status = http_status(exc)
        extra: dict[str, object] = {}
        if isinstance(exc, ImportRejected):
            extra["rejects"] = [{"row": r.row, "external_id": r.external_id, "reason": r.reason} for r in exc.rejects]
        headers = {"WWW-Authenticate": 'Bearer realm="netzatlas"'} if status == 401 else None
        return problem(status, exc.message, instance=str(request.url.path), hint=exc.hint, headers=headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body"))
            parts.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
        return problem(400, "invalid request: " + "; ".join(parts), instance=str(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail, hint = str(exc.detail), None
        tms = _TMS_PATH.fullmatch(request.url.path) if exc.status_code == 404 else None
        if tms:   # OGC API Tiles: the one tile matrix set, by its case-sensitive id
            detail = f"there is no tile matrix set {tms.group(1)!r}"
            hint = "the tile matrix set is WebMercatorQuad (ids are case-sensitive); see /tileMatrixSets"
        return problem(exc.status_code, detail, instance=str(request.url.path), hint=hint,
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(psycopg.errors.IntegrityError)
    async def _integrity(request: Request, exc: psycopg.errors.IntegrityError) -> JSONResponse:
        # what validation could not know in advance (a value list changed since the server started, a concurrent
        # writer): the database's own words, as a conflict
        return await _netzatlas(request, refusal(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # reached only by an error outside CatchUnexpected (in an outer middleware)
        log.exception("unexpected error on %s", request.url.path)
        return unexpected(str(request.url.path))
