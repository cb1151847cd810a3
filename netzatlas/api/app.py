"""The application factory: ``create_app(database_url)``; ``netzatlas serve`` runs it with uvicorn."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from netzatlas import __version__
from netzatlas.api import changes, features, ocpi, problems, sync, tiles, writes
from netzatlas.api.compression import Compression
from netzatlas.api.deps import authorized
from netzatlas.api.headers import SecurityHeaders
from netzatlas.api.html import HtmlViews
from netzatlas.api.limits import BodyLimit
from netzatlas.api.negotiation import Negotiation
from netzatlas.api.ocpi.envelope import OcpiProblems
from netzatlas.api.state import load_state
from netzatlas.config import get_settings

log = logging.getLogger("netzatlas.api")
#: Routers contributed by other modules when present (processes, web map).
OPTIONAL_ROUTERS = ("netzatlas.api.processes", "netzatlas.api.webmap")


def create_app(database_url: str | None = None, *, migrate: bool = True) -> FastAPI:
    """The API for a database (default: NETZATLAS_DATABASE_URL or the embedded cluster)."""
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from netzatlas.registry import migrate as mig
        from netzatlas.registry.db import resolve_url

        url = database_url or resolve_url()
        if migrate:
            mig.upgrade(url)
        app.state.api = load_state(url, settings.storage_srid)
        try:
            yield
        finally:
            app.state.api.pool.close()

    app = FastAPI(
        title="netzatlas API",
        version=__version__,
        description="OGC API – Features (Parts 1–4) and Tiles over the netzatlas registry of digital "
                    "infrastructure; sync for utilities; change feed. Keys: `Authorization: Bearer <key>` or "
                    "`X-API-Key`.",
        openapi_url="/api",
        docs_url=None,  # /docs is served by api/webmap.py from packaged files (no CDN, no inline script)
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(authorized)],  # every route's declared access rule (api/authz.py), in one place
    )
    app.openapi_version = "3.0.3"
    _openapi_30(app)
    app.add_middleware(BodyLimit)  # bodies over their route's limit → 413 before they are read (api/limits.py)
    app.add_middleware(OcpiProblems)  # on /ocpi/…: those refusals (413, 404, …) as OCPI envelopes
    app.add_middleware(Negotiation)  # an answer the Accept header refuses → 406 (api/negotiation.py)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"],
                       expose_headers=["ETag", "Location", "Content-Crs", "Allow"])
    app.add_middleware(HtmlViews)  # ?f=html / Accept: text/html → the resource's page (api/html.py)
    app.add_middleware(Compression)  # gzip for Accept-Encoding: gzip, from 1 kB (api/compression.py)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders, basemap_url=settings.basemap_url)  # CSP etc. on every response
    problems.install(app)
    for r in (features.router, writes.router, changes.router, tiles.router, sync.router, ocpi.router):
        app.include_router(r)
    for module in OPTIONAL_ROUTERS:
        try:
            app.include_router(importlib.import_module(module).router)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return app


class HeadAsGet:
    """Answer HEAD like GET without the body (``Allow`` advertises HEAD on every readable resource)."""

    def __init__(self, app) -> None:  # noqa: ANN001 - an ASGI app
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - the ASGI interface
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: dict) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def _to_30(node: object) -> object:
    """Rewrite the few JSON-Schema 2020-12 constructs FastAPI emits into OpenAPI 3.0 (nullable, no 'null' type)."""
    if isinstance(node, list):
        return [_to_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        alts = out.get(key)
        nulls = ({"type": "null"}, {"nullable": True})   # the second: a 'null' alternative already rewritten
        if isinstance(alts, list) and any(a in nulls for a in alts):
            rest = [a for a in alts if a not in nulls]
            out.pop(key)
            if len(rest) == 1:
                out.update(rest[0])
            else:
                out[key] = rest
            out["nullable"] = True
    if out.get("type") == "null":
        out.pop("type")
        out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out and isinstance(out["examples"], list):
        ex = out.pop("examples")
        if ex:
            out["example"] = ex[0]
    return out


def _openapi_30(app: FastAPI) -> None:
    """/api: FastAPI's document, completed by api/openapi.py (bodies, errors, keys, links), as OpenAPI 3.0."""
    import warnings

    from fastapi.openapi.utils import get_openapi

    from netzatlas.api import openapi

    def build() -> dict:
        if app.openapi_schema is None:
            with warnings.catch_warnings():   # GET+HEAD routes share an operationId; complete() makes them unique
                warnings.filterwarnings("ignore", message="Duplicate Operation ID")
                doc = get_openapi(title=app.title, version=app.version, description=app.description,
                                  routes=app.routes, openapi_version="3.0.3")
            catalogue = openapi.catalogue(app)
            doc = _to_30(openapi.complete(doc, **catalogue))
            if not catalogue:   # asked before start-up: build it again once the collections are known
                return doc  # type: ignore[return-value]
            app.openapi_schema = doc  # type: ignore[assignment]
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = build  # type: ignore[method-assign]
