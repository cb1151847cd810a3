"""The web map page (/map) without a browser: only local assets, every collection configured, the vendored
MapLibre GL JS (BSD-3-Clause) served with its licence, and the basemap choice (external tiles only when
configured AND reachable, otherwise the registry's own roads and buildings). The browser test is
test_api_clients_browser.py."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from netzatlas.config import get_settings


def page_config(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="netzatlas-config">(.*?)</script>', html, re.DOTALL)
    assert m, "the page carries its configuration (as data; the code is static/map.js)"
    return json.loads(m.group(1))


def test_page_uses_only_local_assets(client):
    r = client.get("/map")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs, "the page loads its script and stylesheet"
    external = [u for u in refs if re.match(r"^[a-z]+:", u) or u.startswith("//")]
    assert external == []
    for ref in refs:
        asset = client.get("/" + ref.lstrip("/"))
        assert asset.status_code == 200, ref


def test_every_collection_is_configured(client, api_keys):
    cfg = page_config(client.get("/map").text)
    assert cfg["base"] == "http://testserver"
    ids = {c["id"] for c in client.get("/collections", headers=auth_h(api_keys)).json()["collections"]}
    assert ids <= set(cfg["geometry"])
    assert cfg["geometry"]["streetlight"].lower().endswith("point")
    assert cfg["geometry"]["road"].lower().endswith("linestring")


def auth_h(api_keys) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_keys['reader']}"}


@pytest.mark.parametrize("name,ctype,marker", [
    ("maplibre-gl.js", "text/javascript", b"3-Clause BSD"),
    ("maplibre-gl.css", "text/css", b".maplibregl-map"),
    ("MAPLIBRE-LICENSE.txt", "text/plain", b"Redistribution and use in source and binary forms"),
])
def test_vendored_maplibre_is_served_with_its_licence(client, name, ctype, marker):
    r = client.get(f"/static/vendor/{name}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(ctype)
    assert marker in r.content[:200_000]
    assert "max-age" in r.headers.get("cache-control", "")


def test_maplibre_is_version_4(client):
    head = client.get("/static/vendor/maplibre-gl.js").content[:400].decode()
    assert re.search(r"v4\.\d+\.\d+", head), head


@pytest.fixture
def tile_server():
    """A tiny local XYZ tile server (answers 200 to any path), standing in for an external basemap."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(b"\x89PNG\r\n\x1a\n")

        def log_message(self, *args) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def basemap_setting(monkeypatch):
    def set_url(url: str | None) -> None:
        if url is None:
            monkeypatch.delenv("NETZATLAS_BASEMAP_URL", raising=False)
        else:
            monkeypatch.setenv("NETZATLAS_BASEMAP_URL", url)
        get_settings.cache_clear()

    yield set_url
    monkeypatch.delenv("NETZATLAS_BASEMAP_URL", raising=False)
    get_settings.cache_clear()


def test_basemap_from_the_registry_when_none_is_configured(client, basemap_setting):
    basemap_setting(None)
    assert page_config(client.get("/map").text)["basemap_url"] is None


def test_unreachable_basemap_falls_back_to_the_registry(client, basemap_setting):
    basemap_setting("http://127.0.0.1:9/tiles/{z}/{x}/{y}.png")      # discard port: nothing answers
    assert page_config(client.get("/map").text)["basemap_url"] is None


def test_reachable_basemap_is_used(client, basemap_setting, tile_server):
    url = tile_server + "/osm/{z}/{x}/{y}.png"
    basemap_setting(url)
    assert page_config(client.get("/map").text)["basemap_url"] == url
