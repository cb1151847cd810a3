"""Shared fixtures: a real PostgreSQL + PostGIS started by the project's own code.

The tests use an embedded cluster of their own (``NETZATLAS_TEST_HOME``, default
/tmp/netzatlas-test-home, port ``NETZATLAS_TEST_PORT`` 54339) and a throwaway database per test
session, migrated with alembic. Set ``NETZATLAS_TEST_DATABASE_URL`` to use an existing PostGIS
server instead (a database is created and dropped there).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


def _cluster():
    from netzatlas.config import Settings
    from netzatlas.registry.localdb import LocalCluster

    home = os.environ.get("NETZATLAS_TEST_HOME", "/tmp/netzatlas-test-home")
    port = int(os.environ.get("NETZATLAS_TEST_PORT", "54339"))
    return LocalCluster(Settings(home=home, db_port=port, database_url=None))


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    """URL of a fresh, migrated test database (dropped after the session)."""
    import psycopg

    from netzatlas.config import get_settings
    from netzatlas.registry import migrate

    name = f"netzatlas_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    external = os.environ.get("NETZATLAS_TEST_DATABASE_URL")
    if external:
        base = psycopg.conninfo.conninfo_to_dict(external)
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = psycopg.conninfo.make_conninfo(**{**base, "dbname": name})
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        drop = lambda: _drop_external(external, name)  # noqa: E731
    else:
        cluster = _cluster()
        cluster.start()
        cluster.ensure_database(name)
        url = cluster.url(name)
        drop = lambda: cluster.drop_database(name)  # noqa: E731
    migrate.upgrade(url)
    old = os.environ.get("NETZATLAS_DATABASE_URL")
    os.environ["NETZATLAS_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        yield url
    finally:
        if old is None:
            os.environ.pop("NETZATLAS_DATABASE_URL", None)
        else:
            os.environ["NETZATLAS_DATABASE_URL"] = old
        get_settings.cache_clear()
        drop()


def _drop_external(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def conn(db_url: str):
    """A connection (dict rows) to the test database; rolled back after the test."""
    from netzatlas.registry.db import connect

    c = connect(db_url)
    try:
        yield c
    finally:
        c.rollback()
        c.close()


@pytest.fixture
def unique_source() -> str:
    """A source name no other test uses, so tests do not see each other's rows."""
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


# ---------------------------------------------------------------- API fixtures
@pytest.fixture(scope="session")
def api_data(db_url):
    """A small registry for the API tests: streetlights (city), charging points (stawag), a candidate site."""
    import geopandas as gpd
    from shapely.geometry import Point

    from netzatlas.registry.importers.load import load_layers

    pts = [(6.0830 + i * 0.001, 50.7750 + (i % 5) * 0.001) for i in range(30)]
    lamps = gpd.GeoDataFrame({"external_id": [f"L{i:03d}" for i in range(30)],
                              "height_m": [6.0 + (i % 7) for i in range(30)],
                              "name": [f"Leuchte {i}" for i in range(30)],
                              "lamp_type": ["LED" if i % 3 else "NAV" for i in range(30)],
                              "properties": [{"contact": "jane@example.org", "pole": "steel"}] * 30},
                             geometry=[Point(x, y) for x, y in pts], crs="EPSG:4326")
    load_layers({"streetlight": lamps}, source="api-test-city", kind="test", owner_org="city", url=db_url)
    chargers = gpd.GeoDataFrame({"external_id": ["C1", "C2", "C3"], "operator": ["STAWAG"] * 3,
                                 "charge_points": [2, 4, 2], "power_kw": [22.0, 150.0, 11.0]},
                                geometry=[Point(6.084, 50.776), Point(6.09, 50.78), Point(6.07, 50.77)],
                                crs="EPSG:4326")
    load_layers({"charging_point": chargers}, source="api-test-stawag", kind="test", owner_org="stawag", url=db_url)
    cand = gpd.GeoDataFrame({"external_id": ["S1"], "kind": ["roof"]}, geometry=[Point(6.085, 50.777)],
                            crs="EPSG:4326")
    load_layers({"candidate_site": cand}, source="api-test-city", kind="test", owner_org="city", url=db_url)
    return {"lamps": 30, "chargers": 3}


@pytest.fixture(scope="session")
def api_keys(db_url, api_data):
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        keys = {
            "admin": create_key(c, "city", ["admin"], "admin"),
            "city_lights": create_key(c, "city", ["read", "write:streetlight"], "lights"),
            "stawag": create_key(c, "stawag", ["read", "write:charging_point", "write:streetlight"], "stawag"),
            "reader": create_key(c, "city", ["read"], "reader"),
            # the city's analysts: confidential layers and the analyses that replace results
            "analyst": create_key(c, "city", ["read", "read:confidential", "write:gigabit_result",
                                              "write:funding_area_result", "write:coverage_hole_result",
                                              "write:mast_request"], "analyst"),
        }
        c.commit()
    return keys


@pytest.fixture(scope="session")
def client(db_url, api_data):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(db_url)) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def serving(env: dict[str, str], log_dir: Path, timeout_s: float = 90) -> Iterator[tuple[str, int]]:
    """A real ``netzatlas serve`` (uvicorn) on a free loopback port with ``env`` added: yields (URL, port).
    Its output goes to ``log_dir/serve.log`` — a file, not a pipe nobody reads, which would block the server once
    it had logged ~64 KB; the log's tail is in the error when the server does not start."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = log_dir / "serve.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "netzatlas.cli.main", "serve", "--port", str(port),
                                 "--log-level", "warning"], env={**os.environ, **env}, cwd=ROOT, stdout=log_file,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/conformance", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            else:
                raise RuntimeError("the API server did not start: " + log.read_text(errors="replace")[-2000:])
            yield url, port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def live_server(db_url, api_data, tmp_path_factory):
    """A real `netzatlas serve` process on a free loopback port against the test database."""
    with serving({"NETZATLAS_DATABASE_URL": db_url}, tmp_path_factory.mktemp("live-server")) as (url, _):
        yield url


@pytest.fixture(scope="session")
def aachen_loaded(db_url):
    """The real Aachen demo data (OSM extract, Zensus, boundary, register) in the test database, once."""
    from netzatlas.registry import demo

    demo.import_all(db_url)
    demo.conflate_charging(db_url)
    return db_url


#: Debian's chromium (installed by scripts/setup.sh --dev), driven by Playwright in the browser tests
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's browser tests (software WebGL, no network services of its own)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by scripts/setup.sh --dev"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--use-gl=swiftshader", "--enable-unsafe-swiftshader",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@contextmanager
def netzatlas_home(home: Path) -> Iterator[Path]:
    """NETZATLAS_HOME set to ``home`` (outputs, caches) for the duration, the settings re-read, then restored."""
    from netzatlas.config import get_settings

    old = os.environ.get("NETZATLAS_HOME")
    os.environ["NETZATLAS_HOME"] = str(home)
    get_settings.cache_clear()
    try:
        yield home
    finally:
        if old is None:
            os.environ.pop("NETZATLAS_HOME", None)
        else:
            os.environ["NETZATLAS_HOME"] = old
        get_settings.cache_clear()


def remove_source_rows(db_url: str, source_like: str) -> Iterator[None]:
    """The body of a module's clean-up fixture (``yield from``): after the module, the rows it imported (``source
    LIKE source_like``) leave every asset layer, so no twins of its features are left for later tests."""
    yield
    from netzatlas.registry.db import ASSET_LAYERS, connect

    with connect(db_url) as c:
        for t in ASSET_LAYERS:
            c.execute(f"DELETE FROM registry.{t} WHERE source LIKE %s", [source_like])
        c.commit()
