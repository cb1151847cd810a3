"""Size limits of the API, declared in one place and enforced before the work is done.

:class:`BodyLimit` is a pure ASGI middleware: a request body larger than its route's limit is refused with a 413
problem document — by its ``Content-Length`` before a byte of it is read, or, for a body sent without one
(chunked), as soon as the bytes read so far pass the limit. The body is never buffered whole by this middleware;
the rest of a refused body is discarded by the server as it arrives, so the connection stays usable
(keep-alive) for the client's next request.

:func:`feature_problems` is the per-feature part shared by sync and the single-feature writes: text values,
the free-form attributes, nesting depth and vertices per geometry. The limits themselves are settings
(``NETZATLAS_LIMIT_*``, :class:`netzatlas.config.Settings`); docs/security.md lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netzatlas.config import Settings, get_settings
from netzatlas.errors import PayloadTooLarge

__all__ = ["BodyLimit", "Limits", "body_limit", "count_vertices", "feature_problems", "limits", "nesting_exceeds"]

#: route → which body limit applies (method, path pattern, Settings field, what the body is); first match wins
ROUTE_LIMITS: tuple[tuple[str, re.Pattern[str], str, str], ...] = (
    ("POST", re.compile(r"/sync/[^/]+/?"), "limit_sync_body_bytes", "a sync request"),
    ("POST", re.compile(r"/collections/[^/]+/items/?"), "limit_body_bytes", "a feature"),
    ("PUT", re.compile(r"/collections/[^/]+/items/[^/]+/?"), "limit_body_bytes", "a feature"),
    ("PATCH", re.compile(r"/collections/[^/]+/items/[^/]+/?"), "limit_body_bytes", "a feature"),
    ("POST", re.compile(r"/processes/[^/]+/execution/?"), "limit_process_body_bytes", "a process execution"),
)
#: the setting that bounds every other request's body
OTHER_LIMIT = "limit_other_body_bytes"
#: geometry type → nesting level of its positions in ``coordinates``
POSITION_LEVEL = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
                  "MultiPolygon": 3}


@dataclass(frozen=True)
class Limits:
    """The per-feature limits, read once from the settings (cheap to consult for 100,000 features)."""

    value_bytes: int
    attributes_bytes: int
    vertices: int
    json_depth: int
    sync_features: int
    sync_vertices: int
    ndjson_line_bytes: int
    page_bytes: int
    tile_bytes: int

    @classmethod
    def of(cls, s: Settings) -> Limits:
        return cls(s.limit_value_bytes, s.limit_attributes_bytes, s.limit_vertices, s.limit_json_depth,
                   s.limit_sync_features, s.limit_sync_vertices, s.limit_ndjson_line_bytes, s.limit_page_bytes,
                   s.limit_tile_bytes)


def limits() -> Limits:
    """The limits of the running process (``get_settings()``; cached there)."""
    return Limits.of(get_settings())


def body_limit(method: str, path: str, settings: Settings | None = None) -> tuple[int, str, str]:
    """(bytes, setting name, what the body is) for a request: the one route → limit mapping."""
    s = settings or get_settings()
    for m, pattern, field, what in ROUTE_LIMITS:
        if method == m and pattern.fullmatch(path):
            return getattr(s, field), field, what
    return getattr(s, OTHER_LIMIT), OTHER_LIMIT, "this request"


def too_large(size: str, limit: int, field: str, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"the body of {what} is {size} than the limit of {limit:,} bytes",
                           hint=f"send less per request (the server's limit is NETZATLAS_{field.upper()})")


class BodyLimit:
    """Refuse a body over its route's limit with 413 before it is read (Content-Length) or while it streams.

    When the limit is passed mid-stream, the application's next ``receive()`` raises :class:`PayloadTooLarge`
    (so it stops reading and writes nothing); whatever the application answers then is replaced by the 413 problem
    document. The server discards the rest of the body, so keep-alive connections stay in a sound state.
    """

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path") or ""
        if root and path.startswith(root):  # behind a proxy prefix: the routes are matched without it
            path = path[len(root):]
        limit, field, what = body_limit(scope["method"], path, self.settings)
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            # refused before a byte of the body is read; with "Expect: 100-continue" the client has not sent it
            # and may not: close the connection after the answer rather than guess what comes next
            close = headers.get(b"expect", b"").lower() == b"100-continue"
            await _answer(scope, send, too_large(f"{int(declared):,} bytes, larger", limit, field, what), close)
            return
        received = 0
        refused: PayloadTooLarge | None = None
        app_started = answered = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused is not None:
                raise refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = too_large("larger", limit, field, what)
                    raise refused
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal app_started, answered
            if refused is not None and not app_started:
                # the application's answer to the aborted read (whatever it is) becomes the 413
                if not answered:
                    answered = True
                    await _answer(scope, send, refused, False)
                return
            if message["type"] == "http.response.start":
                app_started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if refused is not None and not app_started and not answered:
            await _answer(scope, send, refused, False)


async def _answer(scope: Scope, send: Send, exc: PayloadTooLarge, close: bool) -> None:
    from netzatlas.api.problems import problem

    response = problem(413, exc.message, instance=str(scope.get("path", "")), hint=exc.hint,
                       headers={"Connection": "close"} if close else None)
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


# ---------------------------------------------------------------- per feature
def nesting_exceeds(value: Any, max_depth: int) -> bool:
    """Whether objects/arrays in ``value`` nest deeper than ``max_depth`` (``value`` itself is level 1).

    Iterative, so a hostile document cannot exhaust the stack.

    >>> nesting_exceeds({"a": [1, {"b": 2}]}, 3), nesting_exceeds({"a": [1, {"b": 2}]}, 2)
    (False, True)
    """
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def count_vertices(geometry: Any, stop_after: int, _depth: int = 0) -> int:
    """Vertices of a GeoJSON geometry (without building it); counting stops once past ``stop_after``.

    Malformed coordinates count as what can be counted: judging them is the geometry validation's job.

    >>> count_vertices({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, 100)
    4
    """
    if not isinstance(geometry, dict):
        return 0
    gtype = geometry.get("type")
    if gtype == "GeometryCollection":
        n = 0
        for g in geometry.get("geometries") or ():
            if n > stop_after or _depth > 16:
                break
            n += count_vertices(g, stop_after - n, _depth + 1)
        return n
    level = POSITION_LEVEL.get(gtype) if isinstance(gtype, str) else None  # a "type" of {} or [] is no type
    coords = geometry.get("coordinates")
    if level is None or not isinstance(coords, list):
        return 0
    if level == 0:
        return 1
    lists = [coords]
    for _ in range(level - 1):
        lists = [c for lst in lists for c in lst if isinstance(c, list)]
        if sum(len(c) for c in lists) > stop_after:  # already more parts than vertices allowed
            return stop_after + 1
    return sum(len(c) for c in lists)


def feature_problems(props: dict[str, Any], geometry: Any, lim: Limits) -> tuple[list[str], list[str]]:
    """(size problems, form problems) of one feature against the limits: text values, attributes, nesting
    depth, vertices. Size problems are refusals for being too large (413 on a single write), form problems for
    being malformed (400). Both reject the feature in a sync."""
    size: list[str] = []
    form: list[str] = []
    max_chars = lim.value_bytes // 4  # shorter texts cannot pass the limit in UTF-8: no need to encode them
    for key, value in props.items():
        if isinstance(value, str):
            if len(value) > max_chars and (n := len(value.encode("utf-8", "surrogatepass"))) > lim.value_bytes:
                size.append(f"{key}: a text of {n:,} bytes is longer than the limit of {lim.value_bytes:,} bytes")
        elif isinstance(value, (dict, list)):
            if nesting_exceeds(value, lim.json_depth - 2):  # the feature and its properties are levels 1 and 2
                form.append(f"{key}: nested deeper than the limit of {lim.json_depth} levels")
                continue
            if key == "attributes":
                n = len(orjson.dumps(value))
                if n > lim.attributes_bytes:
                    size.append(f"attributes: {n:,} bytes as JSON, more than the limit of "
                                f"{lim.attributes_bytes:,} bytes")
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str) and len(item) > max_chars and \
                            (n := len(item.encode("utf-8", "surrogatepass"))) > lim.value_bytes:
                        size.append(f"{key}: a text of {n:,} bytes is longer than the limit of "
                                    f"{lim.value_bytes:,} bytes")
                        break
    if isinstance(geometry, dict) and geometry.get("type") != "Point":
        if nesting_exceeds(geometry.get("geometries"), lim.json_depth - 2):
            form.append(f"geometry: nested deeper than the limit of {lim.json_depth} levels")
        else:
            n = count_vertices(geometry, lim.vertices)
            if n > lim.vertices:
                size.append(f"geometry: more than the limit of {lim.vertices:,} vertices")
    return size, form
