"""HTML views of every OGC resource (api/html.py): chosen by ``?f=html`` or a browser's ``Accept``, rendered from
the same JSON (so the same values are hidden), every value escaped, errors as HTML problem pages — while GDAL,
QGIS, curl and every JSON client get exactly the JSON they got before."""

from __future__ import annotations

import json
import re
import time
import uuid
from html.parser import HTMLParser

import pytest

from netzatlas.api.html import language, prefers_html, wanted_format
from tests.conftest import auth

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
GDAL = "application/geo+json, application/json"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def marked(client, api_keys):
    """A streetlight named like markup, written through the API with the city's key; its id."""
    source = f"html-{uuid.uuid4().hex[:6]}"
    r = client.post(f"/collections/streetlight/items?source={source}", headers=auth(api_keys["city_lights"]),
                    json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0801, 50.7741]},
                          "properties": {"external_id": f"XSS-{source}", "name": XSS, "lamp_type": "<b>LED</b>",
                                         "height_m": 7.5}})
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def job_id(client, api_keys):
    """A finished job of the reader key (gigabit-snapshots lists the kept snapshots)."""
    r = client.post("/processes/gigabit-snapshots/execution", headers={**auth(api_keys["reader"]),
                                                                       "Prefer": "respond-async"}, json={"inputs": {}})
    assert r.status_code == 201, r.text
    jid = r.json()["jobID"]
    for _ in range(100):
        if client.get(f"/jobs/{jid}", headers=auth(api_keys["reader"])).json()["status"] not in ("accepted",
                                                                                               "running"):
            break
        time.sleep(0.1)
    return jid


@pytest.fixture(scope="module")
def resources(marked, job_id) -> dict[str, tuple[str, str]]:
    """view → (path, a text its page must show)."""
    return {
        "landing": ("/", "netzatlas"),
        "conformance": ("/conformance", "conf/core"),
        "collections": ("/collections", "streetlight"),
        "collection": ("/collections/streetlight", "queryables"),
        "queryables": ("/collections/streetlight/queryables", "lamp_type"),
        "items": ("/collections/streetlight/items", "Leuchte 3"),
        "item": (f"/collections/streetlight/items/{marked}", "height_m"),
        "history": (f"/collections/streetlight/items/{marked}/history", "INSERT"),
        "processes": ("/processes", "gigabit-snapshots"),
        "process": ("/processes/gigabit-snapshots", "Gigabit: kept snapshots"),
        "jobs": ("/jobs", job_id),
        "job": (f"/jobs/{job_id}", "gigabit-snapshots"),
    }


class Page(HTMLParser):
    """The elements of a page that matter here: scripts, links and sources, inline handlers and styles."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def without_timestamp(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "timeStamp"}


def without_links(body: dict) -> dict:
    return {k: v for k, v in without_timestamp(body).items() if k != "links"}


def assert_page(r, text: str) -> Page:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "accept" in r.headers["vary"].lower()
    assert r.text.startswith("<!DOCTYPE html>") and text in r.text, text
    assert "built-in method" not in r.text and "Undefined" not in r.text, "every label and value resolved"
    page = Page(r.text)
    for attrs in page.all("script"):
        assert attrs.get("src") or attrs.get("type") == "application/json", "no inline script"
    for _, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), "no inline event handlers"
        assert "style" not in attrs, "no inline style (the CSP forbids it)"
    return page


VIEWS = ["landing", "conformance", "collections", "collection", "queryables", "items", "item", "history",
         "processes", "process", "jobs", "job"]


@pytest.mark.parametrize("view", VIEWS)
def test_every_resource_as_html_by_f_and_by_accept(client, api_keys, resources, view):
    path, text = resources[view]
    h = auth(api_keys["reader"])
    sep = "&" if "?" in path else "?"
    by_f = client.get(f"{path}{sep}f=html", headers=h)
    page = assert_page(by_f, text)
    by_accept = client.get(path, headers={**h, "Accept": BROWSER})
    assert_page(by_accept, text)
    assert re.sub(r"\d{4}-\d\d-\d\dT[\d:+]+", "", by_f.text) == re.sub(r"\d{4}-\d\d-\d\dT[\d:+]+", "", by_accept.text)
    # every link and source of the page stays on this server, and the page's own files are there
    for attrs in page.all("link") + page.all("script") + page.all("a"):
        ref = attrs.get("href") or attrs.get("src")
        if ref is None or ref.startswith("#"):
            continue
        assert ref.startswith("/") and not ref.startswith("//"), f"{view}: {ref} is not a link of this server"
        if ref.startswith("/static/") or ref == "/favicon.ico":
            assert client.get(ref).status_code == 200, ref
    alternates = [a["href"] for a in page.all("link") if a.get("rel") == "alternate"]
    assert alternates and all("f=json" in a for a in alternates)
    assert client.get(alternates[0], headers=h).headers["content-type"].startswith("application/")


@pytest.mark.parametrize("view", VIEWS)
def test_json_clients_get_the_json_as_before(client, api_keys, resources, view):
    path, _ = resources[view]
    h = auth(api_keys["reader"])
    plain = client.get(path, headers=h)
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/")
    for accept in ("application/json", "*/*", GDAL, "text/html, application/json", "application/json;q=0.9, */*"):
        r = client.get(path, headers={**h, "Accept": accept})
        assert r.headers["content-type"] == plain.headers["content-type"], accept
        assert without_timestamp(r.json()) == without_timestamp(plain.json()), accept
        assert "accept" in r.headers["vary"].lower()
    forced = client.get(path + ("&" if "?" in path else "?") + "f=json", headers={**h, "Accept": BROWSER})
    assert forced.headers["content-type"] == plain.headers["content-type"]
    # the same document (a page's self link names the URL asked, f=json included)
    assert without_links(forced.json()) == without_links(plain.json())


def test_the_json_of_gdal_and_curl_is_byte_for_byte_unchanged(client):
    for path in ("/", "/conformance", "/collections/streetlight", "/collections/streetlight/queryables"):
        a = client.get(path, headers={"Accept": GDAL})
        b = client.get(path)
        assert a.content == b.content and a.headers["content-type"] == b.headers["content-type"]


def test_markup_in_values_is_text(client, marked):
    for path in (f"/collections/streetlight/items/{marked}", "/collections/streetlight/items?limit=200"):
        r = client.get(path, headers={"Accept": BROWSER})
        assert r.status_code == 200
        assert "&lt;img src=x onerror=alert(1)&gt;" in r.text
        assert "&lt;b&gt;LED&lt;/b&gt;" in r.text
        page = Page(r.text)
        assert not any(a.get("src") == "x" for a in page.all("img")), "the name never became an element"
        assert page.all("b") == []
        # the map's data block: the page's shapes as GeoJSON, nothing in it can end the block
        block = re.search(r'<script type="application/json" id="netzatlas-features">(.*?)</script>', r.text, re.S)
        assert block and "<" not in block.group(1)
        shapes = json.loads(block.group(1))
        assert marked in {f["id"] for f in shapes["features"]}
        assert all(f["geometry"]["type"] == "Point" for f in shapes["features"])
    history = client.get(f"/collections/streetlight/items/{marked}/history?f=html")
    assert "&lt;img src=x onerror=alert(1)&gt;" in history.text and "<img src=x" not in history.text


def test_sensitive_values_stay_hidden_as_in_json(client, api_keys):
    anon_json = client.get("/collections/streetlight/items?limit=200").json()
    admin_json = client.get("/collections/streetlight/items?limit=200", headers=auth(api_keys["admin"])).json()
    anon = client.get("/collections/streetlight/items?limit=200&f=html").text
    admin = client.get("/collections/streetlight/items?limit=200&f=html", headers=auth(api_keys["admin"])).text
    anon_keys = {k for f in anon_json["features"] for k in f["properties"]}
    admin_keys = {k for f in admin_json["features"] for k in f["properties"]}
    hidden = admin_keys - anon_keys
    assert hidden, "the admin sees columns anonymous callers do not (the positive control)"
    for name in hidden:
        assert f"<th>{name}</th>" in admin and f"<th>{name}</th>" not in anon, name
    assert "jane@example.org" not in str(anon_json) and "jane@example.org" not in anon
    assert ("jane@example.org" in str(admin_json)) == ("jane@example.org" in admin)


def test_errors_are_html_problem_pages_when_html_is_asked(client, api_keys):
    r = client.get("/collections/no_such_collection", headers={"Accept": BROWSER})
    assert r.status_code == 404 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert "404" in r.text and "no_such_collection" in r.text
    forbidden = client.get("/collections/candidate_site/items?f=html", headers=auth(api_keys["reader"]))
    assert forbidden.status_code == 403 and forbidden.headers["content-type"].startswith("text/html")
    assert "403" in forbidden.text
    anonymous = client.get("/jobs?f=html")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.headers["content-type"].startswith("text/html")
    bad = client.get("/collections/streetlight/items?limit=0&f=html")
    assert bad.status_code == 400 and "limit" in bad.text and bad.headers["content-type"].startswith("text/html")
    # markup in the request comes back as text
    evil = client.get("/collections/%3Cscript%3Ealert(1)%3C%2Fscript%3E?f=html")
    assert evil.status_code == 404 and "<script>alert" not in evil.text and "&lt;script&gt;" in evil.text
    # JSON clients get the problem as JSON, as before
    j = client.get("/collections/no_such_collection", headers={"Accept": "application/json"})
    assert j.status_code == 404 and j.headers["content-type"] == "application/problem+json"
    assert j.json()["status"] == 404


def test_paging_links_keep_the_html_form(client):
    first = client.get("/collections/streetlight/items?limit=10&f=html")
    page = Page(first.text)
    nxt = [a["href"] for a in page.all("a") if a.get("rel") == "next"]
    assert nxt and "cursor=" in nxt[0] and "f=html" in nxt[0] and "limit=10" in nxt[0]
    second = client.get(nxt[0])
    assert second.status_code == 200 and second.headers["content-type"].startswith("text/html")
    ids_first = set(re.findall(r"/items/([0-9a-f-]{36})\?f=html", first.text))
    ids_second = set(re.findall(r"/items/([0-9a-f-]{36})\?f=html", second.text))
    assert len(ids_first) == len(ids_second) == 10 and not ids_first & ids_second
    back = [a["href"] for a in Page(second.text).all("a") if a.get("class") == "back"]
    assert back and "cursor" not in back[0], "the first page is one click away"


def test_a_projected_page_has_no_map_but_its_values(client):
    r = client.get("/collections/streetlight/items?limit=5&crs=http://www.opengis.net/def/crs/EPSG/0/25832&f=html")
    assert r.status_code == 200 and 'id="minimap"' not in r.text and "CRS84" in r.text
    assert "Content-Crs".lower() not in r.headers


def test_head_and_language(client):
    head = client.head("/collections?f=html")
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/html") and head.content == b""
    de = client.get("/collections", headers={"Accept": BROWSER, "Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    assert '<html lang="de">' in de.text and "Sammlungen" in de.text and de.headers["content-language"] == "de"
    en = client.get("/collections", headers={"Accept": BROWSER, "Accept-Language": "en-GB"})
    assert '<html lang="en">' in en.text and "Collections" in en.text


def test_pages_outside_the_views_are_untouched(client):
    for path in ("/map", "/docs", "/api"):
        plain = client.get(path)
        browser = client.get(path, headers={"Accept": BROWSER})
        assert browser.status_code == 200 and browser.content == plain.content, path
    assert client.get("/api", headers={"Accept": BROWSER}).headers["content-type"].startswith("application/")


@pytest.mark.parametrize(("accept", "html"), [
    (None, False), ("", False), ("*/*", False), ("application/json", False), (GDAL, False),
    ("text/html", True), (BROWSER, True), ("text/html;q=0.5, application/json", False),
    ("text/html, application/json", False), ("application/json;q=0.5, text/html", True),
    ("text/html;q=oops, */*", False), ("application/xhtml+xml", True), ("text/*", True),
])
def test_negotiation(accept, html):
    assert prefers_html(accept) is html
    assert wanted_format(b"", accept) == ("html" if html else "json")
    assert wanted_format(b"f=html", "application/json") == "html"
    assert wanted_format(b"limit=3&f=json", BROWSER) == "json"
    assert wanted_format(b"f=xml", BROWSER) == "json", "an unknown f keeps the JSON answer"


def test_language_choice():
    assert language(None) == "en" and language("fr-FR") == "en"
    assert language("de-DE,de;q=0.9") == "de" and language("en;q=0.9, de") == "de"
    assert language("fr, en;q=0.8, de;q=0.5") == "en"


def test_table_rows_escape_every_cell_also_with_a_nul():
    from netzatlas.api.html import Page, item_rows

    page = Page(root="", origin="http://x", path="/collections/c/items", query=[], lang="en")
    feats = [{"id": "a<b", "properties": {"n": "<i>x</i>", "v": 1.5, "o": {"k": "<s>"}, "z": None}},
             {"id": "b", "properties": {"n": "nul\x00<b>bold</b>", "v": None, "o": [1, "&"], "z": True}}]
    html = str(item_rows(feats, ["n", "v", "o", "z"], page, "c", "omitted"))
    rows = html.split("\n")
    assert len(rows) == 2 and all(r.count("<td>") + r.count("<td ") == 5 for r in rows), rows
    assert "<i>" not in html and "<b>" not in html and "<s>" not in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "&amp;" in html
    assert 'href="/collections/c/items/a%3Cb?f=html">a&lt;b</a>' in html
    assert "<td></td>" in html and "<td>1.5</td>" in html and "<td>true</td>" in html


def test_links_from_the_json_never_become_script_urls():
    from netzatlas.api.html import Page

    page = Page(root="", origin="http://127.0.0.1:8080", path="/", query=[], lang="en")
    assert page.nav("javascript:alert(1)") is None and page.nav("data:text/html,x") is None
    assert page.nav("relative/path") is None
    assert page.nav("http://127.0.0.1:8080/collections?x=1") == "/collections?x=1&f=html"
    assert page.nav("http://127.0.0.1:8080/api") == "/api", "a resource without a page keeps its URL"
    assert page.nav("//evil.example/collections") == "/collections?f=html", "a scheme-relative URL stays here"
    assert page.nav("https://other.example/doc") == "https://other.example/doc"


def test_an_item_page_is_headed_by_what_a_person_calls_the_feature(client, api_keys, marked):
    """Name, else street and house number, else the collection and a short id — never a bare uuid."""
    named = client.get(f"/collections/streetlight/items/{marked}?f=html")
    assert f"<h1>{XSS.replace('<', '&lt;').replace('>', '&gt;')} <small>streetlight</small></h1>" in named.text
    source = f"html-{uuid.uuid4().hex[:6]}"
    r = client.post(f"/collections/streetlight/items?source={source}", headers=auth(api_keys["city_lights"]),
                    json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0802, 50.7742]},
                          "properties": {"external_id": f"NONAME-{source}", "height_m": 6.0}})
    assert r.status_code == 201, r.text
    fid = r.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/collections/streetlight/items/{fid}?f=html").text
    assert f"<h1>streetlight {fid[:8]} <small>streetlight</small></h1>" in page
    from netzatlas.api.html import feature_heading
    assert feature_heading({"street": "Markt", "house_number": 12, "house_number_suffix": "a"}, "fibre_address",
                           "x") == "Markt 12a"
    assert feature_heading({"street": " Markt ", "name": " "}, "poi", "y") == "Markt"

