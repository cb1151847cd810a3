"""schemathesis against /api (OpenAPI 3.0): request bodies and stateful links, ≥ 2,000 generated cases, no 5xx.

The OpenAPI document describes every request body (Feature, partial Feature, FeatureCollection, NDJSON, process
inputs), so schemathesis generates real writes; its links (a created feature's Location and ETag → GET / PUT / PATCH
/ DELETE / history; a started job → status / results / dismissal) drive the stateful phase. Because the generated
writes change data, the run gets a database and a ``netzatlas serve`` of its own: the other tests keep seeing the
registry they expect.

Checks: ``not_a_server_error`` (every answer below 500), and ``status_code_conformance`` /
``content_type_conformance``: a status or media type the document does not list for the route fails too, so the
document keeps describing every error a route can answer.

Two runs: with an admin key, every phase (examples, coverage, fuzzing, stateful) — the one that must reach 2,000
cases —, then without a key, the stateless phases with fewer examples (what an anonymous client can reach). The case
counts, the stateful links covered and the durations are printed (``-s``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import _cluster, _drop_external, serving

SEED = "20261130"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
MIN_CASES = 2000
#: No 5xx; and every status and content type answered is the one the document describes for that route.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance"


@pytest.fixture(scope="module")
def st_database() -> Iterator[str]:
    """A migrated database for this module only, with a few streetlights and charging points."""
    import geopandas as gpd
    import psycopg
    from shapely.geometry import Point

    from netzatlas.registry import migrate
    from netzatlas.registry.importers.load import load_layers

    name = f"netzatlas_st_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    external = os.environ.get("NETZATLAS_TEST_DATABASE_URL")
    if external:
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = psycopg.conninfo.make_conninfo(**{**psycopg.conninfo.conninfo_to_dict(external), "dbname": name})
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    else:
        cluster = _cluster()
        cluster.start()
        cluster.ensure_database(name)
        url = cluster.url(name)
    try:
        migrate.upgrade(url)
        lamps = gpd.GeoDataFrame({"external_id": [f"L{i}" for i in range(10)], "name": [f"Leuchte {i}" for i in
                                                                                       range(10)]},
                                 geometry=[Point(6.083 + i * 0.001, 50.775) for i in range(10)], crs="EPSG:4326")
        load_layers({"streetlight": lamps}, source="st-city", kind="test", owner_org="city", url=url)
        chargers = gpd.GeoDataFrame({"external_id": ["C1", "C2"], "operator": ["STAWAG"] * 2},
                                    geometry=[Point(6.084, 50.776), Point(6.09, 50.78)], crs="EPSG:4326")
        load_layers({"charging_point": chargers}, source="st-stawag", kind="test", owner_org="stawag", url=url)
        yield url
    finally:
        if external:
            _drop_external(external, name)
        else:
            cluster.drop_database(name)


@pytest.fixture(scope="module")
def st_server(st_database, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """``netzatlas serve`` on the module's database; (base URL, admin key)."""
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    with connect(st_database) as c:
        key = create_key(c, "city", ["admin"], "schemathesis")
        c.commit()
    home = tmp_path_factory.mktemp("st-home")
    with serving({"NETZATLAS_DATABASE_URL": st_database, "NETZATLAS_HOME": str(home)}, home) as (url, _):
        yield url, key


def schemathesis(url: str, workdir: Path, *args: str) -> tuple[str, int, float]:
    """Run the schemathesis CLI; (its output, the number of generated cases, seconds)."""
    exe = Path(sys.executable).with_name("schemathesis")
    start = time.monotonic()
    res = subprocess.run(
        [str(exe), "run", f"{url}/api", "--checks", CHECKS, "--seed", SEED, "-w", "2",
         "--generation-database", "none", "--generation-with-security-parameters", "false",
         "--suppress-health-check", "all", "--request-timeout", "60", "--no-color", "--report", "junit",
         "--report-dir", str(workdir), *args],
        capture_output=True, text=True, timeout=1200, cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)})
    seconds = time.monotonic() - start
    out = res.stdout + res.stderr
    m = re.search(r"(\d+) generated", out)
    assert m, out[-4000:]
    assert "Server error" not in out and "ST101" not in out, out[-6000:]     # the not_a_server_error check
    assert res.returncode == 0, out[-6000:]        # no undocumented status or content type, no errored case
    return out, int(m.group(1)), seconds


def test_generated_cases_never_get_a_server_error(st_server, tmp_path):
    url, key = st_server
    out, cases, seconds = schemathesis(url, tmp_path, "--max-examples", "25", "--phases",
                                       "examples,coverage,fuzzing,stateful", "-H", f"Authorization: Bearer {key}")
    # the summary's "Test Phases": each ran and passed (✅), the stateful one too (it needs the links)
    phases = {name: mark for mark, name in re.findall(r"^\s*(\S+)\s+(Examples|Coverage|Fuzzing|Stateful)\b", out,
                                                       re.M)}
    assert phases == dict.fromkeys(("Examples", "Coverage", "Fuzzing", "Stateful"), "✅"), out[-3000:]
    links = re.search(r"API Links:\s+(.+)", out)
    print(f"\nschemathesis with an admin key: {cases} cases, 0 server errors, {seconds:.0f} s; stateful links: "
          f"{links.group(1).strip() if links else '?'}")
    assert cases >= MIN_CASES, out[-3000:]

    anon_out, anon_cases, anon_seconds = schemathesis(url, tmp_path, "--max-examples", "5", "--phases",
                                                      "examples,coverage,fuzzing")
    print(f"schemathesis without a key: {anon_cases} cases, 0 server errors, {anon_seconds:.0f} s")
    # the server survived it all and still answers
    assert httpx.get(f"{url}/collections", timeout=10).status_code == 200


def test_one_result_item_is_served_not_a_500(st_server):
    """Found by the stateful phase (POST execution → GET results → GET one item): a result view has no owner_org
    column, and reading one of its items selected it — a 500 for every GET of a result item."""
    url, key = st_server
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        r = http.post("/collections/fibre_address/items",
                      json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0839, 50.7753]},
                            "properties": {}})
        assert r.status_code == 201, r.text
        assert http.post("/processes/gigabit-classify/execution", json={"inputs": {}}).status_code == 200
        page = http.get("/collections/gigabit_result/items", params={"limit": 1}).json()
        assert page["features"], page
        fid = page["features"][0]["id"]
        r = http.get(f"/collections/gigabit_result/items/{fid}")
        assert r.status_code == 200, r.text
        assert r.json()["id"] == fid
