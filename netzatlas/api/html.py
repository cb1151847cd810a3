"""HTML views of the OGC resources: the same routes, answered as a page when the client asks for one.

A request wants HTML when it says ``?f=html``, or when its ``Accept`` header rates ``text/html`` above every JSON
type (browsers do: ``text/html,…,*/*;q=0.8``). ``?f=json`` and everything else — GDAL, QGIS, curl's ``*/*``, an
``Accept`` naming JSON, no ``Accept`` at all — get the JSON exactly as before.

:class:`HtmlViews` (ASGI middleware) sends such a request on to the route as a JSON request (``f=html`` removed,
``Accept: application/json``), and renders the JSON the route answered with the resource's template
(``api/templates/``, Jinja2 with autoescape). So the page shows exactly what the JSON shows: the same handler, the
same authorization, the same SQL hiding the same sensitive values; an error becomes an HTML problem page with the
same status. Pages load their code from static files (``static/html.js``, the bundled MapLibre), no inline script:
the Content-Security-Policy of ``api/headers.py`` holds.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import anyio
import orjson
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from markupsafe import escape as _markup_escape

from netzatlas.api.negotiation import weighted

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TEMPLATES = Path(__file__).with_name("templates")
_SEG = r"(?P<{}>[^/]+)"
#: path → view (template name); only these are rendered as pages (errors on any path become problem pages)
VIEWS: list[tuple[re.Pattern[str], str]] = [(re.compile("^" + p.format(c=_SEG.format("cid"), f=_SEG.format("fid"),
                                                                        p=_SEG.format("pid"), j=_SEG.format("jid"))
                                                        + "/?$"), v) for p, v in [
    ("", "landing"), ("/conformance", "conformance"), ("/collections", "collections"),
    ("/collections/{c}", "collection"), ("/collections/{c}/queryables", "queryables"),
    ("/collections/{c}/items", "items"), ("/collections/{c}/items/{f}", "item"),
    ("/collections/{c}/items/{f}/history", "history"), ("/processes", "processes"), ("/processes/{p}", "process"),
    ("/jobs", "jobs"), ("/jobs/{j}", "job")]]
JSON_TYPES = ("application/json", "application/geo+json", "application/schema+json")
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: response headers of the JSON answer that do not describe the page
DROPPED = {b"content-type", b"content-length", b"content-crs", b"etag", b"vary"}
#: above this many bytes of JSON the page is rendered in a worker thread (the event loop keeps serving)
INLINE_RENDER_BYTES = 256 * 1024
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

LABELS: dict[str, dict[str, str]] = {
    "en": {"home": "Home", "collections": "Collections", "features": "Features", "conformance": "Conformance",
           "queryables": "Queryables", "processes": "Processes", "jobs": "Jobs", "history": "History",
           "map": "Web map", "docs": "API documentation", "formats": "This page as", "next": "Next page",
           "prev": "Previous page", "first": "First page", "returned": "features on this page",
           "matched": "matching", "id": "Id", "title": "Title", "description": "Description", "name": "Name",
           "type": "Type", "format": "Format", "value": "Value", "links": "Links", "extent": "Extent",
           "bbox": "Bounding box (lon/lat)", "interval": "Time interval", "crs": "Coordinate reference systems",
           "storage_crs": "Storage CRS", "property": "Property", "version": "Version", "operation": "Operation",
           "changed_at": "Changed at", "changed_by": "Changed by", "batch": "Import batch", "changes": "Changes",
           "inputs": "Inputs", "outputs": "Outputs", "required": "required", "default": "default",
           "status": "Status", "progress": "Progress", "created": "Created", "finished": "Finished",
           "message": "Message", "results": "Results", "process": "Process", "none": "none",
           "no_map": "The map is drawn for lon/lat (CRS84) coordinates only; this page uses another crs.",
           "geometry": "geometry", "problem": "Problem", "hint": "Hint", "omitted": "omitted",
           "tiles": "Vector tiles", "schema": "Schema", "execute": "Run it: POST {href} (JSON body {{\"inputs\": …}})",
           "map_label": "Map of the features on this page", "back_hint": "Keyset paging: the previous page is "
           "the one your browser came from."},
    "de": {"home": "Start", "collections": "Sammlungen", "features": "Objekte", "conformance": "Konformität",
           "queryables": "Abfragbare Eigenschaften", "processes": "Prozesse", "jobs": "Aufträge",
           "history": "Historie", "map": "Webkarte", "docs": "API-Dokumentation", "formats": "Diese Seite als",
           "next": "Nächste Seite", "prev": "Vorige Seite", "first": "Erste Seite",
           "returned": "Objekte auf dieser Seite", "matched": "passend", "id": "Id", "title": "Titel",
           "description": "Beschreibung", "name": "Name", "type": "Typ", "format": "Format", "value": "Wert",
           "links": "Verweise", "extent": "Ausdehnung", "bbox": "Begrenzungsrechteck (Länge/Breite)",
           "interval": "Zeitraum", "crs": "Koordinatenreferenzsysteme", "storage_crs": "Speicher-KBS",
           "property": "Eigenschaft", "version": "Version", "operation": "Vorgang", "changed_at": "Geändert am",
           "changed_by": "Geändert von", "batch": "Importlauf", "changes": "Änderungen", "inputs": "Eingaben",
           "outputs": "Ausgaben", "required": "Pflicht", "default": "Vorgabe", "status": "Status",
           "progress": "Fortschritt", "created": "Angelegt", "finished": "Beendet", "message": "Meldung",
           "results": "Ergebnisse", "process": "Prozess", "none": "keine",
           "no_map": "Die Karte wird nur für Länge/Breite (CRS84) gezeichnet; diese Seite nutzt ein anderes KBS.",
           "geometry": "Geometrie", "problem": "Problem", "hint": "Hinweis", "omitted": "ausgelassen",
           "tiles": "Vektorkacheln", "schema": "Schema",
           "execute": "Ausführen: POST {href} (JSON-Rumpf {{\"inputs\": …}})",
           "map_label": "Karte der Objekte dieser Seite", "back_hint": "Keyset-Blättern: die vorige Seite ist "
           "die, von der Ihr Browser kam."},
}


# --------------------------------------------------------------------------------------------- negotiation
def prefers_html(accept: str | None) -> bool:
    """Whether ``Accept`` rates an HTML type strictly above every type JSON would satisfy (``*/*`` included)."""
    if not accept:
        return False
    html_q = json_q = 0.0
    for mtype, q in weighted(accept):
        if mtype in HTML_TYPES or mtype == "text/*":
            html_q = max(html_q, q)
        if mtype in JSON_TYPES or mtype in ("*/*", "application/*", "application/problem+json"):
            json_q = max(json_q, q)
    return html_q > json_q


def wanted_format(query_string: bytes, accept: str | None) -> str:
    """``html`` or ``json``: ``f=html|json`` decides, else :func:`prefers_html` (an unknown ``f`` → JSON as ever)."""
    for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if k == "f":
            return "html" if v.lower() == "html" else "json"
    return "html" if prefers_html(accept) else "json"


def language(accept_language: str | None) -> str:
    """``de`` when German comes before English in ``Accept-Language``, else ``en``."""
    for tag, q in sorted(weighted(accept_language or ""), key=lambda t: -t[1]):
        if q > 0 and tag.split("-")[0] in LABELS:
            return tag.split("-")[0]
    return "en"


def view_of(path: str) -> tuple[str, dict[str, str]] | None:
    """The view for a path and its parameters (None: no page for this path)."""
    for pattern, name in VIEWS:
        m = pattern.match(path)
        if m:
            return name, m.groupdict()
    return None


# ------------------------------------------------------------------------------------------------ rendering
@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["text"] = as_text
    env.filters["seg"] = lambda s: quote(str(s), safe="")
    return env


def escape(text: str) -> str:
    """HTML-escaped text (``&``, ``<``, ``>``, both quotes) as a plain string."""
    return str(_markup_escape(text))


def as_text(value: object) -> str:
    """A value as the table shows it: objects and lists as compact JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_for_script(raw: bytes) -> Markup:
    """JSON text made safe inside ``<script type="application/json">`` (``<``, ``>``, ``&`` only occur inside
    JSON strings, where their ``\\u`` escapes mean the same)."""
    return Markup(raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
                  .decode("utf-8"))


@dataclass
class Page:
    """What every template gets besides the resource's own JSON."""

    root: str            # the API's root path ('' at the server root; a proxy prefix otherwise)
    origin: str          # scheme://host of the request, to tell own links from others
    path: str
    query: list[tuple[str, str]]
    lang: str

    def url(self, path: str, params: list[tuple[str, str]] | None = None) -> str:
        """A root-relative link to the page of ``path`` of this API (``params`` and ``f=html``)."""
        return self.root + path + "?" + urlencode([*(params or []), ("f", "html")])

    def nav(self, href: str | None) -> str | None:
        """A link from the JSON, as the page shows it: own links root-relative (to a resource with a page: as
        HTML); other http(s) links as they are; anything else (``javascript:`` …) none at all."""
        if not href:
            return None
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https", ""):
            return None
        if parts.scheme and f"{parts.scheme}://{parts.netloc}" != self.origin:
            return href
        if not parts.scheme and not href.startswith("/"):
            return None
        if view_of(parts.path[len(self.root):] or "/") is None:   # a resource without a page: as it is
            return urlunsplit(("", "", parts.path, parts.query, ""))
        q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "f"] + [("f", "html")]
        return urlunsplit(("", "", parts.path, urlencode(q), ""))

    def alternate(self, fmt: str) -> str:
        q = [(k, v) for k, v in self.query if k != "f"] + [("f", fmt)]
        return self.root + self.path + "?" + urlencode(q)


def crumbs(page: Page, view: str, params: dict[str, str], t: dict[str, str]) -> list[tuple[str, str]]:
    """(label, href) from the landing page down to this resource (the last one is the page itself)."""
    out = [(t["home"], page.url("/"))]
    cid, fid = params.get("cid"), params.get("fid")
    if view in ("conformance",):
        out.append((t["conformance"], ""))
    if cid or view == "collections":
        out.append((t["collections"], page.url("/collections")))
    if cid:
        out.append((cid, page.url(f"/collections/{quote(cid, safe='')}")))
    if view == "queryables":
        out.append((t["queryables"], ""))
    if view in ("items", "item", "history"):
        out.append((t["features"], page.url(f"/collections/{quote(cid or '', safe='')}/items")))
    if fid:
        out.append((fid, page.url(f"/collections/{quote(cid or '', safe='')}/items/{quote(fid, safe='')}")))
    if view == "history":
        out.append((t["history"], ""))
    if view in ("processes", "process"):
        out.append((t["processes"], page.url("/processes")))
    if view == "process":
        out.append((params["pid"], ""))
    if view in ("jobs", "job"):
        out.append((t["jobs"], page.url("/jobs")))
    if view == "job":
        out.append((params["jid"], ""))
    return out


#: longest heading (and <title>) of a feature's page; the full value stays in its properties table
HEADING_CHARS = 120


def shorten(text: str, limit: int = HEADING_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis when longer (as it is when not)."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def feature_heading(props: dict[str, Any], collection: str, fid: str) -> str:
    """What a person calls a feature (as the web map's popups do): its name, else its address (street + house
    number), else its street, else the collection and a short id — at most HEADING_CHARS characters (a 100 kB
    name was repeated in full in the page's title and heading)."""
    def filled(v: object) -> str:
        return str(v).strip() if v is not None and str(v).strip() else ""

    if filled(props.get("name")):
        return shorten(filled(props["name"]))
    if filled(props.get("street")):
        number = "".join(filled(props.get(k)) for k in ("house_number", "house_number_suffix"))
        return shorten(f"{filled(props['street'])} {number}".strip())
    return f"{collection} {fid[:8]}"


def render(view: str, params: dict[str, str], raw: bytes, page: Page, content_crs: str | None) -> str:
    """The page of one resource from the JSON its route answered."""
    doc = orjson.loads(raw)
    t = LABELS[page.lang]
    extra: dict[str, Any] = {}
    if view in ("items", "item"):
        features = doc.get("features", []) if view == "items" else [doc]
        extra["map_data"] = map_data(features) if content_crs in (None, f"<{CRS84}>") else None
        columns: dict[str, None] = {}
        for feat in features:
            columns.update(dict.fromkeys((feat.get("properties") or {}).keys()))
        extra["columns"] = list(columns)
        if view == "items":
            extra["rows"] = item_rows(features, extra["columns"], page, params["cid"], LABELS[page.lang]["omitted"])
        extra["next"] = next((page.nav(x.get("href")) for x in doc.get("links", []) if x.get("rel") == "next"), None)
        extra["paged"] = any(k == "cursor" for k, _ in page.query)
        extra["first"] = page.url(page.path, [(k, v) for k, v in page.query if k not in ("cursor", "f")])
    if view == "item":
        extra["heading"] = feature_heading(doc.get("properties") or {}, params["cid"], str(doc.get("id", "")))
    if view == "history":
        extra["versions"] = [changes(v) for v in doc.get("versions", [])]
    alternates = [("JSON" if view not in ("items", "item") else "GeoJSON", page.alternate("json"))]
    return environment().get_template(f"{view}.html").render(
        doc=doc, view=view, params=params, page=page, t=t, lang=page.lang, crumbs=crumbs(page, view, params, t),
        alternates=alternates, **extra)


def item_rows(features: list[dict[str, Any]], columns: list[str], page: Page, cid: str, omitted: str) -> Markup:
    """The rows of the items table, every value escaped.

    Built here rather than cell by cell in the template (a page of 100 features has over a thousand cells; a
    template call per cell made the page 4× slower): a row's cells are joined with NUL, escaped in one call and
    split into cells at the NULs. Text from the database holds no NUL (PostgreSQL text and jsonb cannot); should
    one appear anyway, that row's cells are escaped one by one (the NUL shown as U+FFFD). An empty cell is a null
    (the style sheet marks it).
    """
    base = page.root + f"/collections/{quote(cid, safe='')}/items/"
    out = []
    for f in features:
        fid = as_text(f.get("id"))
        head = f'<tr><td><a href="{escape(base + quote(fid, safe=""))}?f=html">{escape(fid)}</a>'
        if f.get("omitted"):
            head += f' <span class="note">{escape(omitted)}: {escape(as_text(f["omitted"]))}</span>'
        props = f.get("properties") or {}
        cells = [v if type(v) is str else as_text(v) for v in map(props.get, columns)]
        text = escape("\x00".join(cells))
        if text.count("\x00") == max(len(cells) - 1, 0):
            text = text.replace("\x00", "</td><td>")
        else:   # a NUL inside a value: cell by cell, the NUL shown as U+FFFD
            text = "</td><td>".join(escape(c.replace("\x00", "\ufffd")) for c in cells)
        out.append(head + "</td><td>" + text + "</td></tr>" if cells else head + "</td></tr>")
    return Markup("\n".join(out))


def map_data(features: list[dict[str, Any]]) -> Markup:
    """The page's geometries (with their ids) as GeoJSON for its map, safe inside ``<script
    type="application/json">``: the properties are in the table already, so the map gets the shapes only."""
    shapes = [{"type": "Feature", "id": f.get("id"), "geometry": f.get("geometry")} for f in features
              if f.get("geometry")]
    return json_for_script(orjson.dumps({"type": "FeatureCollection", "features": shapes}))


def changes(version: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(property, before, after) of the properties a version changed (the geometry by name only)."""
    before, after = version.get("before") or {}, version.get("after") or {}
    out = []
    for key in dict.fromkeys([*before, *after]):
        if key in ("version", "updated_at", "created_at") or before.get(key) == after.get(key):
            continue
        if key == "geom":
            out.append(("geom", "…" if "geom" in before else "", "…" if "geom" in after else ""))
        else:
            out.append((key, as_text(before.get(key)), as_text(after.get(key))))
    return out


def render_problem(status: int, raw: bytes, page: Page) -> str:
    """An RFC 9457 problem as a page (the same fields, as text)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        doc = {"title": "Error", "status": status, "detail": raw.decode("utf-8", "replace")}
    if not isinstance(doc, dict):
        doc = {"title": "Error", "status": status, "detail": as_text(doc)}
    t = LABELS[page.lang]
    return environment().get_template("problem.html").render(
        doc=doc, page=page, t=t, lang=page.lang, crumbs=[(t["home"], page.url("/"))],
        alternates=[("JSON", page.alternate("json"))], status=status)


# ----------------------------------------------------------------------------------------------- middleware
def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for k, v in headers:
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def _add_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    vary = _header(headers, b"vary")
    if vary and "accept" in [v.strip().lower() for v in vary.split(",")]:
        return headers
    rest = [(k, v) for k, v in headers if k.lower() != b"vary"]
    return [*rest, (b"vary", (vary + ", Accept" if vary else "Accept").encode("latin-1"))]


class HtmlViews:
    """ASGI middleware: GET requests that want HTML get the resource's page (or an HTML problem page).

    Responses of the resources that have a page carry ``Vary: Accept`` in both forms.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        found = view_of(scope["path"][len(scope.get("root_path", "")):] or "/") \
            if scope["path"].startswith(scope.get("root_path", "")) else None
        fmt = wanted_format(scope.get("query_string", b""), _header(headers, b"accept"))
        if fmt != "html":
            await self.app(scope, receive, send if found is None else _varying(send))
            return
        await self._html(scope, receive, send, found)

    async def _html(self, scope: Scope, receive: Receive, send: Send,
                    found: tuple[str, dict[str, str]] | None) -> None:
        headers = scope.get("headers", [])
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                              keep_blank_values=True)]
        inner = scope
        if found is not None:   # the route sees a JSON request: no f, Accept JSON, and unconditional (the page
            # has no entity tag of its own: a 304 for the JSON's tag would leave the browser with the JSON)
            inner = {**scope, "query_string": urlencode([(k, v) for k, v in query if k != "f"]).encode("latin-1"),
                     "headers": [(k, v) for k, v in headers if k.lower() not in (b"accept", b"if-none-match")]
                     + [(b"accept", b"application/json")]}
        start: Message | None = None
        chunks: list[bytes] = []
        passing = False

        async def capture(message: Message) -> None:
            nonlocal start, passing
            if message["type"] == "http.response.start":
                ctype = (_header(message.get("headers", []), b"content-type") or "").split(";")[0].strip()
                status = message["status"]
                if ctype == "application/problem+json" or (found and status == 200 and ctype in JSON_TYPES):
                    start = message
                    return
                passing = True
                if found is not None:
                    message["headers"] = _add_vary(list(message.get("headers", [])))
                await send(message)
            elif passing:
                await send(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(inner, receive, capture)
        if start is None:
            return
        await self._send_page(scope, send, start, b"".join(chunks), found, query)

    async def _send_page(self, scope: Scope, send: Send, start: Message, raw: bytes,
                         found: tuple[str, dict[str, str]] | None, query: list[tuple[str, str]]) -> None:
        from starlette.requests import Request

        request = Request(scope)
        base = str(request.base_url).rstrip("/")
        parts = urlsplit(base)
        headers = list(start.get("headers", []))
        page = Page(root=parts.path, origin=f"{parts.scheme}://{parts.netloc}",
                    path=scope["path"][len(scope.get("root_path", "")):] or "/", query=query,
                    lang=language(_header(scope.get("headers", []), b"accept-language")))
        status = start["status"]
        if status >= 400 or found is None:
            job: Callable[[], str] = lambda: render_problem(status, raw, page)  # noqa: E731
        else:
            view, params = found
            crs = _header(headers, b"content-crs")
            job = lambda: render(view, params, raw, page, crs)  # noqa: E731
        text = job() if len(raw) <= INLINE_RENDER_BYTES else await anyio.to_thread.run_sync(job)
        body = text.encode("utf-8")
        out = [(k, v) for k, v in headers if k.lower() not in DROPPED]
        out += [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                (b"content-language", page.lang.encode())]
        if found is not None:
            out = _add_vary(out)
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _varying(send: Send) -> Send:
    """``send`` adding ``Vary: Accept`` to the response's headers."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = _add_vary(list(message.get("headers", [])))
        await send(message)

    return wrapped
