"""Security headers without a browser: every HTML page the API sends carries a Content-Security-Policy that forbids
inline script, plus nosniff and a Referrer-Policy; the pages contain no inline script and their configuration
cannot break out of its data block; JSON routes keep working. The browser test is test_api_xss_browser.py."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.routing import APIRoute

from netzatlas.api.headers import content_security_policy
from netzatlas.api.webmap import STATIC, json_for_html
from tests.conftest import auth


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def assert_strict(headers) -> None:  # noqa: ANN001 - httpx headers
    policy = headers.get("content-security-policy")
    assert policy, "every page carries a Content-Security-Policy"
    d = directives(policy)
    assert d["script-src"] == ["'self'"], "no inline script, no eval, nothing from elsewhere"
    assert d["object-src"] == ["'none'"] and d["base-uri"] == ["'none'"] and d["frame-ancestors"] == ["'none'"]
    assert d["default-src"] == ["'none'"]
    for name, values in d.items():
        assert "'unsafe-inline'" not in values or name == "style-src", name
        assert "'unsafe-eval'" not in values and "*" not in values and "https:" not in values, name
    assert "'unsafe-inline'" not in d["style-src"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


def all_routes(routes: list) -> list:
    """The app's routes, included routers flattened (newer FastAPI keeps them as nested router objects)."""
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out.extend(all_routes(inner.routes) if inner is not None else [r])
    return out


def get_routes(app) -> list[str]:  # noqa: ANN001 - the FastAPI app
    """Every GET route without path parameters."""
    return sorted({r.path for r in all_routes(app.routes)
                   if isinstance(r, APIRoute) and "GET" in r.methods and "{" not in r.path})


@pytest.fixture(scope="module")
def html_pages(client) -> dict[str, object]:
    """Every parameterless GET route whose answer is a page (text/html), with that answer."""
    pages = {}
    for path in get_routes(client.app):
        r = client.get(path)
        if r.headers.get("content-type", "").startswith("text/html"):
            pages[path] = r
    return pages


def test_the_pages_are_found(html_pages):
    assert {"/map", "/docs"} <= set(html_pages)


def test_every_html_page_has_a_strict_csp_and_no_inline_script(client, html_pages):
    for p, r in html_pages.items():
        assert r.status_code == 200, p
        assert_strict(r.headers)
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.DOTALL | re.IGNORECASE):
            assert "src=" in attrs or 'type="application/json"' in attrs, f"inline script in {p}: {body[:80]}"
            if "src=" in attrs:
                assert body.strip() == ""
        assert not re.search(r"\son[a-z]+\s*=", r.text, re.IGNORECASE), "no inline event handlers"
        assert not re.search(r"\sstyle\s*=", r.text, re.IGNORECASE), "no inline style attributes"
        for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
            assert not re.match(r"^([a-z]+:)?//", ref), f"{p} loads {ref} from elsewhere"
            asset = client.get("/" + ref.lstrip("/"))
            assert asset.status_code == 200, ref
            assert asset.headers["x-content-type-options"] == "nosniff"


def test_docs_page_is_swagger_ui_from_the_package(client):
    r = client.get("/docs")
    assert "static/vendor/swagger-ui-bundle.js" in r.text and "static/docs.js" in r.text
    js = client.get("/static/vendor/swagger-ui-bundle.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in js.content
    init = client.get("/static/docs.js")
    assert init.status_code == 200 and b"validatorUrl: null" in init.content, "no call to an online validator"
    css = client.get("/static/vendor/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/vendor/SWAGGER-UI-LICENSE.txt").status_code == 200
    assert client.get("/api").json()["openapi"].startswith("3.0")


def test_map_config_cannot_break_out_of_its_data_block():
    # the configuration holds the base URL, taken from the request's Host: a value the client chooses
    evil = {"base": 'x"></script><script>window.__xss=1</script><!--', "geometry": {"a&b": "<Point>"}}
    template = (STATIC / "map.html").read_text()
    page = template.replace("__CONFIG__", json_for_html(evil))
    assert "</script><script>" not in page and "<!--" not in page.split('id="netzatlas-config">')[1][:200]
    block = re.search(r'<script type="application/json" id="netzatlas-config">(.*?)</script>', page, re.DOTALL)
    assert json.loads(block.group(1)) == evil, "the value survives as data"
    assert len(re.findall(r"<script", page)) == len(re.findall(r"<script", template))


def test_map_page_config_is_data(client):
    r = client.get("/map")
    block = re.search(r'<script type="application/json" id="netzatlas-config">(.*?)</script>', r.text, re.DOTALL)
    assert json.loads(block.group(1))["base"] == "http://testserver"
    scripts = re.findall(r"<script[^>]*>", r.text)
    assert len(scripts) == 4, "config block, maplibre-gl.js, cartography.js, map.js: nothing else"
    assert all('src="' in t for t in scripts if "application/json" not in t), "no inline script"


@pytest.mark.parametrize("name", ["../webmap.py", "..%2Fwebmap.py", "map.html", "%00.js", "map.js%00",
                                  ".%2e%2F.%2e%2Fconfig.py"])
def test_page_assets_are_looked_up_by_name_only(client, name):
    r = client.get(f"/static/{name}")
    assert r.status_code in (400, 404), name
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path,ctype", [("/", "application/json"), ("/conformance", "application/json"),
                                        ("/collections", "application/json"), ("/api", "application/"),
                                        ("/collections/streetlight/items?limit=2", "application/geo+json")])
def test_json_routes_keep_working_with_the_headers(client, api_keys, path, ctype):
    r = client.get(path, headers=auth(api_keys["reader"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith(ctype)
    r.json()
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_errors_and_writes_carry_the_headers_too(client, api_keys):
    r = client.get("/collections/nope/items")
    assert r.status_code == 404 and r.headers["x-content-type-options"] == "nosniff"
    h = client.options("/collections/streetlight/items")
    assert h.headers.get("x-content-type-options") == "nosniff"
    head = client.head("/map")
    assert head.status_code == 200 and "script-src 'self'" in head.headers["content-security-policy"]


def test_a_header_a_route_sets_itself_is_kept(client):
    # the vendored files set their own Cache-Control; the middleware only adds what is missing
    r = client.get("/static/vendor/maplibre-gl.js")
    assert "max-age" in r.headers["cache-control"] and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers.get_list("content-security-policy") == [r.headers["content-security-policy"]]


def test_external_basemap_origin_is_allowed_only_when_configured():
    assert "tile" not in content_security_policy(None)
    d = directives(content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png"))
    assert "https://*.tile.example.org" in d["img-src"] and "https://*.tile.example.org" in d["connect-src"]
    assert d["script-src"] == ["'self'"]
    d = directives(content_security_policy("http://127.0.0.1:8081/osm/{z}/{x}/{y}.png"))
    assert "http://127.0.0.1:8081" in d["img-src"]
    assert directives(content_security_policy("javascript:alert(1)//{z}"))["img-src"] == ["'self'", "data:", "blob:"]
