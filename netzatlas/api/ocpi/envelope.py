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
                return envelope(status_code=code, message=str(exc), http=http, headers=headers)
        return envelope(status_code=CLIENT_ERROR, message=str(exc), http=400)
    raise exc


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
    return decoded if decoded.isprintable() and decoded else value
