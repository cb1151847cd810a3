"""Request dependencies: the API state and the calling principal."""

from __future__ import annotations

from fastapi import Depends, Header, Request

from netzatlas.api import auth
from netzatlas.api.state import ApiState


async def get_state(request: Request) -> ApiState:
    return request.app.state.api


def get_principal(request: Request, authorization: str | None = Header(None),
                  x_api_key: str | None = Header(None, alias="X-API-Key")) -> auth.Principal:
    token = auth.token_from_headers(authorization, x_api_key)
    if token is None:
        return auth.ANONYMOUS
    state: ApiState = request.app.state.api
    with state.pool.connection() as conn:
        return auth.verify(conn, token)


async def authorized(request: Request, state: ApiState = Depends(get_state),
                     principal: auth.Principal = Depends(get_principal)) -> None:
    """The app-wide guard: every route's declared rule (netzatlas.api.authz.ROUTE_RULES), before its handler.
    ``async``: it does no I/O, and a plain ``def`` would cost every request one more hop through the thread pool
    (measured: 161 → ~100 req/s for items at 64 connections)."""
    from netzatlas.api import authz

    authz.authorize(request, state, principal)
