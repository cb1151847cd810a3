"""The API behind a city's reverse proxy (nginx / Apache serving it under a path, e.g. https://gis.example.de/netzatlas/
→ this server's /): with ``netzatlas serve --root-path /netzatlas`` (NETZATLAS_API_ROOT_PATH), the proxy's Host and
X-Forwarded-Proto, every link, ``Location`` and the web map name the proxy's address — not the backend's, which
clients (QGIS, GDAL, a utility's sync) cannot reach. A real ``netzatlas serve`` process, requests as the proxy sends
them (the prefix stripped)."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import auth, serving

PROXY = {"Host": "gis.example.de", "X-Forwarded-Proto": "https"}
PUBLIC = "https://gis.example.de/netzatlas"


@pytest.fixture(scope="module")
def backend(db_url, api_data, tmp_path_factory):
    with serving({"NETZATLAS_DATABASE_URL": db_url, "NETZATLAS_API_ROOT_PATH": "/netzatlas"},
                 tmp_path_factory.mktemp("proxied")) as (url, _):
        yield url


def test_links_name_the_proxys_address(backend):
    r = httpx.get(backend + "/", headers={**PROXY, "Accept": "application/json"})
    assert r.status_code == 200, r.text
    hrefs = [link["href"] for link in r.json()["links"]]
    assert hrefs and all(h.startswith(PUBLIC + "/") for h in hrefs), hrefs
    items = httpx.get(backend + "/collections/streetlight/items", params={"limit": 2},
                      headers={**PROXY, "Accept": "application/geo+json"})
    assert items.status_code == 200, items.text
    nxt = [link["href"] for link in items.json()["links"] if link["rel"] == "next"]
    assert nxt and nxt[0].startswith(PUBLIC + "/collections/streetlight/items?"), nxt


def test_a_created_features_location_names_the_proxys_address(backend, api_keys, conn):
    # away from the Markt (other modules count the lamps in a box around it) and removed afterwards
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.1412, 50.7418]},
               "properties": {"external_id": "proxy-1", "height_m": 6.0}}
    r = httpx.post(backend + "/collections/streetlight/items", json=feature,
                   headers={**PROXY, **auth(api_keys["admin"])})
    try:
        assert r.status_code == 201, r.text
        assert r.headers["location"].startswith(PUBLIC + "/collections/streetlight/items/"), r.headers["location"]
    finally:
        conn.execute("DELETE FROM registry.streetlight WHERE external_id = 'proxy-1'")
        conn.commit()


def test_the_web_map_asks_the_proxy(backend):
    page = httpx.get(backend + "/map", headers=PROXY).text
    assert f'"base": "{PUBLIC}"' in page


def test_without_a_proxy_the_backend_still_answers_on_its_own_address(backend):
    r = httpx.get(backend + "/", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert all(link["href"].startswith(backend + "/netzatlas/") for link in r.json()["links"])


@pytest.mark.parametrize("bad", ["netzatlas", "/netzatlas/", "//x"])
def test_a_root_path_that_is_no_path_prefix_is_refused(bad, monkeypatch):
    import uvicorn

    from netzatlas.cli.main import app

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("started with a bad root path"))
    res = CliRunner().invoke(app, ["serve", "--root-path", bad])
    assert res.exit_code == 2 and "is no path prefix" in res.output, res.output


def test_a_bad_root_path_from_the_environment_is_named_as_such(monkeypatch):
    """NETZATLAS_API_ROOT_PATH=netzatlas/ without --root-path: the refusal names the variable (was: --root-path,
    which the user never gave)."""
    import uvicorn

    from netzatlas.cli.main import app
    from netzatlas.config import get_settings

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("started with a bad root path"))
    monkeypatch.setenv("NETZATLAS_API_ROOT_PATH", "netzatlas/")
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["serve"])
    finally:
        monkeypatch.delenv("NETZATLAS_API_ROOT_PATH")
        get_settings.cache_clear()
    assert res.exit_code == 2, res.output
    assert "NETZATLAS_API_ROOT_PATH 'netzatlas/' is no path prefix" in res.output, res.output
    assert "--root-path 'netzatlas/'" not in res.output
