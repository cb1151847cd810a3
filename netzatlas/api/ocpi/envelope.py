"""OCPI 2.2.1 response envelopes, token parsing, and the one place where errors become OCPI status codes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from netzatlas.errors import (
    ConstraintViolation,
    Forbidden,
    InvalidInput,
    NetzatlasError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from netzatlas.registry.db import refusal

SUCCESS = 1000
CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
UNKNOWN_LOCATION = 2003
SERVER_ERROR = 3000

#: error class → (HTTP status, OCPI status code); most specific first. The one mapping for the OCPI routes.
OCPI_STATUS: tuple[tuple[type[NetzatlasError], int, int], ...] = (
    (PayloadTooLarge, 413, INVALID_PARAMETERS),
    (InvalidInput, 400, INVALID_PARAMETERS),
    (ConstraintViolation, 400, INVALID_PARAMETERS),
    (NotFound, 404, UNKNOWN_LOCATION),
    (Unauthorized, 401, CLIENT_ERROR),
    (Forbidden, 403, CLIENT_ERROR),
)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(data: Any = None, *, status_code: int = SUCCESS, message: str = "Success", http: int = 200,
             headers: dict[str, str] | None = None) -> JSONResponse:
    """The OCPI response: ``data``, ``status_code``, ``status_message``, ``timestamp``."""
    body: dict[str, Any] = {"status_code": status_code, "status_message": message, "timestamp": now_iso()}
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=http, headers=headers)


def error_envelope(exc: Exception) -> JSONResponse:
    """An error as an OCPI envelope (status 2xxx for the client's errors, 3000 for ours)."""
    if isinstance(exc, (psycopg.errors.IntegrityError, psycopg.errors.DataError)):
        exc = refusal(exc) if isinstance(exc, psycopg.errors.IntegrityError) else InvalidInput(
            f"the database refused a value: {exc.diag.message_primary or exc}")
    if isinstance(exc, RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return envelope(status_code=INVALID_PARAMETERS, message=f"invalid request: {problems}", http=400)
    if isinstance(exc, NetzatlasError):
        for cls, http, code in OCPI_STATUS:
            if isinstance(exc, cls):
                headers = {"WWW-Authenticate": "Token"} if http == 401 else None
                return envelope(status_code=code, message=_ocpi_auth_hint(str(exc), http), http=http,
                                headers=headers)
        return envelope(status_code=CLIENT_ERROR, message=str(exc), http=400)
    raise exc


def _ocpi_auth_hint(message: str, http: int) -> str:
    """A 401 of the API's key check (a CPO sending ``Bearer …``, as for the rest of the API) says what OCPI wants."""
    if http == 401 and "OCPI" not in message:
        message += "; OCPI wants 'Authorization: Token <base64 of your OCPI token>'"
    return message


class OcpiRoute(APIRoute):
    """Routes whose errors (ours and FastAPI's validation errors) answer in the OCPI envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except (NetzatlasError, RequestValidationError, psycopg.errors.IntegrityError,
                    psycopg.errors.DataError) as exc:
                return error_envelope(exc)

        return run


def token_from(authorization: str | None) -> str:
    """The token of ``Authorization: Token <base64(token)>`` (OCPI 2.2.1); a token sent without base64 (as in
    OCPI 2.1.1) is accepted as it is."""
    scheme, _, value = (authorization or "").partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        raise Unauthorized("missing OCPI token", hint="send 'Authorization: Token <base64 of your token>'")
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value
    decoded = decoded.strip()  # `echo $TOKEN | base64` encodes the newline too
    return decoded if decoded.isprintable() and decoded else value


class OcpiProblems:
    """ASGI middleware (outside ``BodyLimit``): on the ``/ocpi`` routes, an error answered before a route ran —
    a body over the size limit (413), an unknown route (404), a wrong method (405), an unexpected error (500) —
    is a problem document elsewhere in the API; here it becomes an OCPI envelope (2001 for a body too large,
    2000 for the other client errors, 3000 for ours) with the same HTTP status."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, root = scope.get("path", ""), scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root):]
        if scope["type"] != "http" or not (path == "/ocpi" or path.startswith("/ocpi/")):
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def rewrite(message: dict[str, Any]) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                ctype = dict(message.get("headers") or ()).get(b"content-type", b"")
                if message["status"] >= 400 and ctype.startswith(b"application/problem+json"):
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await _as_envelope(held, b"".join(chunks), send)
                return
            await send(message)

        await self.app(scope, receive, rewrite)


async def _as_envelope(start: dict[str, Any], body: bytes, send: Any) -> None:
    import json

    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    http = int(start["status"])
    code = INVALID_PARAMETERS if http == 413 else SERVER_ERROR if http >= 500 else CLIENT_ERROR
    message = str(doc.get("detail") or doc.get("title") or "error")
    if doc.get("hint"):
        message += f" ({doc['hint']})"
    message = _ocpi_auth_hint(message, http)
    out = json.dumps({"status_code": code, "status_message": message, "timestamp": now_iso()}).encode()
    headers = [(k, v) for k, v in start.get("headers") or () if k not in (b"content-type", b"content-length")]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": http, "headers": headers})
    await send({"type": "http.response.body", "body": out})
