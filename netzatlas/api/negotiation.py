"""Content negotiation (RFC 9110 §12.5.1): a GET whose ``Accept`` names nothing the resource is served as → 406.

The route answers first; :class:`Negotiation` then compares the successful answer's media type with the request's
``Accept`` and, when no acceptable range covers it, sends a 406 problem naming what the resource is served as
instead (``Accept: application/xml`` on items used to get GeoJSON without a word). JSON types stand for each
other (``application/json`` accepts GeoJSON, JSON Schema and the OpenAPI document), as do the two names of a
vector tile. An ``f`` parameter decides the format itself, so a request with one is not checked; nor are errors
(a problem document is always JSON), bodiless answers and OCPI (its own JSON envelopes). ``*/*`` (curl, GDAL,
browsers) and a missing or unreadable ``Accept`` take anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: media types that stand for each other (a client naming one takes the others)
ALIASES = {"application/x-protobuf": "application/vnd.mapbox-vector-tile"}


def _family(mtype: str) -> str:
    """The group a media type negotiates in: every JSON type is ``json``; aliases by their canonical name."""
    if mtype == "application/json" or (mtype.startswith("application/") and mtype.endswith("+json")):
        return "json"
    return ALIASES.get(mtype, mtype)


def weighted(header: str) -> list[tuple[str, float]]:
    """The entries of a comma-separated header with q-values (``Accept``, ``Accept-Encoding``,
    ``Accept-Language``), lower-cased, with their q (1 when not given, 0 when malformed); empty entries left out."""
    out = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        out.append((fields[0].lower(), q))
    return out


def ranges(header: str) -> list[tuple[str, float]]:
    """The media ranges of an ``Accept`` header with their q-values; entries that are no media range are left out
    (malformed q → 0)."""
    return [(m, q) for m, q in weighted(header) if m.count("/") == 1 and all(m.split("/"))]


def acceptable(accept: str | None, served: str) -> bool:
    """Whether ``served`` (a Content-Type) is acceptable under ``accept``: the most specific range that covers it
    decides (its type, its family, ``type/*``, ``*/*``), and q=0 refuses."""
    found = ranges(accept or "")
    if not found:
        return True
    mtype = served.split(";")[0].strip().lower()
    major = mtype.split("/")[0]
    levels: list[list[float]] = [[], [], [], []]
    for rng, q in found:
        if rng == mtype:
            levels[0].append(q)
        elif _family(rng) == _family(mtype):
            levels[1].append(q)
        elif rng == f"{major}/*":
            levels[2].append(q)
        elif rng == "*/*":
            levels[3].append(q)
    return next((max(qs) > 0 for qs in levels if qs), False)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for k, v in headers:
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def not_acceptable(accept: str, served: str, html: bool) -> tuple[Message, Message]:
    """The 406 problem (start and body messages) naming the media type the resource is served as."""
    import orjson

    from netzatlas.api.problems import TITLES

    also = " (and as HTML with ?f=html)" if html else ""
    body = orjson.dumps({
        "type": "about:blank", "title": TITLES[406], "status": 406,
        "detail": f"this resource is served as {served}{also}; the Accept header ({accept[:200]}) accepts none "
                  "of that",
        "hint": f"send Accept: {served} (or */*), or leave Accept out", "served": [served, *(["text/html"] * html)]})
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
               (b"vary", b"Accept")]
    return ({"type": "http.response.start", "status": 406, "headers": headers},
            {"type": "http.response.body", "body": body, "more_body": False})


class Negotiation:
    """ASGI middleware: a successful GET answer in a media type the request's ``Accept`` refuses becomes a 406."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = _header(scope.get("headers", []), b"accept") if scope["type"] == "http" else None
        if not accept or scope["method"] != "GET" or not ranges(accept) or self._exempt(scope):
            await self.app(scope, receive, send)
            return
        refused = False

        async def checked(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start":
                ctype = _header(message.get("headers", []), b"content-type")
                if 200 <= message["status"] < 300 and ctype and not acceptable(accept, ctype):
                    from netzatlas.api.html import view_of

                    refused = True
                    path = scope["path"][len(scope.get("root_path", "")):] or "/"
                    start, body = not_acceptable(accept, ctype.split(";")[0].strip(), view_of(path) is not None)
                    await send(start)
                    await send(body)
                    return
            elif refused:   # the refused answer's body (and trailers) are dropped
                return
            await send(message)

        await self.app(scope, receive, checked)

    @staticmethod
    def _exempt(scope: Scope) -> bool:
        """OCPI (its own JSON and envelopes) and requests that name their format with ``f``."""
        root = scope.get("root_path") or ""
        path = scope["path"][len(root):] if root and scope["path"].startswith(root) else scope["path"]
        if path == "/ocpi" or path.startswith("/ocpi/"):
            return True
        return any(k == "f" for k, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                                 keep_blank_values=True))
