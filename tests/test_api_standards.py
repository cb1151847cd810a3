"""Standards as declared: JSON merge patch (RFC 7396) on PATCH, numberMatched (exact under a threshold, else the
planner's estimate, flagged), ``geometry`` as an alias of the primary geometry in CQL2, the OGC API – Processes
conformance classes."""

from __future__ import annotations

import pytest

from tests.conftest import auth

MERGE = "application/merge-patch+json"
ATTRS = {"owner": {"name": "Tiefbauamt", "tel": "0241 1"}, "pole": "steel"}


@pytest.fixture
def lamp(client, api_keys) -> str:
    r = client.post("/collections/streetlight/items", headers=auth(api_keys["city_lights"]), json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0811, 50.7711]},
        "properties": {"name": "Mergepatch", "height_m": 5, "lamp_type": "LED", "attributes": ATTRS}})
    assert r.status_code == 201, r.text
    return r.headers["location"].replace("http://testserver", "")


def merge(client, api_keys, url: str, body: object, etag: str | None = None, ctype: str = MERGE):
    import json

    etag = etag or client.get(url).headers["etag"]
    return client.patch(url, content=json.dumps(body), headers={**auth(api_keys["city_lights"]), "If-Match": etag,
                                                                "Content-Type": ctype})


def stored(conn, url: str) -> dict:
    fid = url.rsplit("/", 1)[1]
    return conn.execute("SELECT name, height_m, lamp_type, properties, version, ST_AsText(ST_Transform(geom, 4326)) "
                        "AS wkt FROM registry.streetlight WHERE id = %s", [fid]).fetchone()


def test_merge_patch_of_properties_only(client, api_keys, conn, lamp):
    r = merge(client, api_keys, lamp, {"properties": {"name": "x"}})
    assert r.status_code == 204, r.text
    assert r.headers["etag"] == 'W/"2"'
    row = stored(conn, lamp)
    assert row["name"] == "x" and row["height_m"] == 5 and row["lamp_type"] == "LED" and row["version"] == 2
    assert row["properties"] == ATTRS and row["wkt"].startswith("POINT(6.0811")


def test_merge_patch_null_removes(client, api_keys, conn, lamp):
    r = merge(client, api_keys, lamp, {"properties": {"name": None, "attributes": {"owner": {"tel": None},
                                                                                    "pole": None}}})
    assert r.status_code == 204, r.text
    row = stored(conn, lamp)
    assert row["name"] is None and row["height_m"] == 5
    assert row["properties"] == {"owner": {"name": "Tiefbauamt"}}
    assert "name" not in {k for k, v in client.get(lamp).json()["properties"].items() if v is not None}


def test_merge_patch_replaces_geometry_and_keeps_the_rest(client, api_keys, conn, lamp):
    r = merge(client, api_keys, lamp, {"type": "Feature", "geometry": {"type": "Point",
                                                                       "coordinates": [6.0821, 50.7721]}})
    assert r.status_code == 204, r.text
    row = stored(conn, lamp)
    assert row["wkt"].startswith("POINT(6.0821") and row["name"] == "Mergepatch"


def test_merge_patch_cannot_remove_a_required_geometry(client, api_keys, conn, lamp):
    r = merge(client, api_keys, lamp, {"geometry": None, "properties": {"name": "y"}})
    assert r.status_code == 400
    assert "needs a geometry" in r.json()["detail"]
    row = stored(conn, lamp)
    assert row["version"] == 1 and row["name"] == "Mergepatch" and row["wkt"].startswith("POINT(6.0811")


def test_merge_patch_keeps_optimistic_locking(client, api_keys, conn, lamp):
    assert merge(client, api_keys, lamp, {"properties": {"name": "a"}}, etag='W/"7"').status_code == 412
    r = client.patch(lamp, content='{"properties": {"name": "a"}}',
                     headers={**auth(api_keys["city_lights"]), "Content-Type": MERGE})
    assert r.status_code == 428
    assert stored(conn, lamp)["version"] == 1


def test_empty_merge_patch_changes_nothing(client, api_keys, conn, lamp):
    r = merge(client, api_keys, lamp, {})
    assert r.status_code == 204 and r.headers["etag"] == 'W/"1"'
    assert stored(conn, lamp)["version"] == 1


@pytest.mark.parametrize("body", [{"id": "00000000-0000-0000-0000-000000000000"}, {"properties": None},
                                  {"type": "FeatureCollection"}, {"colour": "red"}, ["name"]])
def test_merge_patch_refuses_what_a_feature_cannot_become(client, api_keys, conn, lamp, body):
    r = merge(client, api_keys, lamp, body)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert stored(conn, lamp)["version"] == 1


def test_a_patch_without_type_is_a_merge_patch_also_as_plain_json(client, api_keys, conn, lamp):
    r = merge(client, api_keys, lamp, {"properties": {"height_m": 7}}, ctype="application/json")
    assert r.status_code == 204, r.text
    assert stored(conn, lamp)["height_m"] == 7


@pytest.fixture
def exact_below(monkeypatch):
    """Set NETZATLAS_API_EXACT_COUNT_BELOW for a test (default: so high that every count is exact, whatever other
    tests of the session wrote: the sync tests add 100,000 streetlights)."""
    from netzatlas.config import get_settings

    def setting(value: int = 10**12) -> None:
        monkeypatch.setattr(get_settings(), "api_exact_count_below", value)

    setting()
    return setting


def test_number_matched_is_exact_on_a_small_layer(client, conn, exact_below):
    n = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE deleted_at IS NULL").fetchone()["n"]
    body = client.get("/collections/streetlight/items", params={"limit": 2}).json()
    assert body["numberMatched"] == n and "numberMatchedEstimated" not in body
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "numberMatched" not in client.get(nxt.replace("http://testserver", "")).json()  # first page only
    assert "numberMatched" not in client.get("/collections/streetlight/items", params={"count": "false"}).json()


@pytest.mark.parametrize("params, where", [
    ({"bbox": "6.0825,50.7745,6.0865,50.7795"},
     "geom && ST_Transform(ST_Segmentize(ST_MakeEnvelope(6.0825, 50.7745, 6.0865, 50.7795, 4326), 0.01), 25832)"),
    ({"filter": "height_m > 8 AND lamp_type = 'LED'"}, "height_m > 8 AND lamp_type = 'LED'"),
    ({"filter": "S_INTERSECTS(geometry, BBOX(6.0825, 50.7745, 6.0865, 50.7795))"},
     "ST_Intersects(geom, ST_Transform(ST_MakeEnvelope(6.0825, 50.7745, 6.0865, 50.7795, 4326), 25832))"),
    ({"datetime": "2000-01-01T00:00:00Z/.."}, "updated_at >= '2000-01-01'"),
])
def test_number_matched_with_filters(client, conn, exact_below, params, where):
    n = conn.execute(f"SELECT count(*) AS n FROM registry.streetlight WHERE deleted_at IS NULL AND {where}"
                     ).fetchone()["n"]
    r = client.get("/collections/streetlight/items", params={"limit": 1, **params})
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == n and n > 0


def test_number_matched_is_an_estimate_over_the_threshold(client, conn, exact_below):
    exact_below(1)
    body = client.get("/collections/streetlight/items", params={"limit": 1}).json()
    assert body["numberMatchedEstimated"] is True and body["numberMatched"] >= 1
    exact = client.get("/collections/streetlight/items", params={"limit": 1, "count": "true"}).json()
    n = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE deleted_at IS NULL").fetchone()["n"]
    assert exact["numberMatched"] == n and "numberMatchedEstimated" not in exact


def test_a_filter_that_reads_the_whole_layer_is_estimated_over_the_threshold(client, conn, exact_below):
    # few rows match, but no index serves the filter: counting would read every row of the layer. The decision
    # reads the planner's size of the table: fresh statistics, whatever earlier tests wrote (after
    # test_api_idempotency in the same session the stale statistics made the count come out exact)
    conn.execute("ANALYZE registry.streetlight")
    conn.commit()
    n = conn.execute("SELECT count(*) AS n FROM registry.streetlight").fetchone()["n"]
    few = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE deleted_at IS NULL AND "
                       "name = 'Leuchte 7'").fetchone()["n"]
    params = {"limit": 1, "filter": "name = 'Leuchte 7'"}
    exact_below(n + 1000)
    exact = client.get("/collections/streetlight/items", params=params).json()
    assert exact["numberMatched"] == few and "numberMatchedEstimated" not in exact
    exact_below(max(n // 2, few + 1))
    estimated = client.get("/collections/streetlight/items", params=params).json()
    assert estimated["numberMatchedEstimated"] is True and estimated["numberMatched"] < n


def test_geometry_is_an_alias_of_the_primary_geometry(client):
    def ids(flt: str, lang: str = "cql2-text") -> list[str]:
        r = client.get("/collections/streetlight/items", params={"filter": flt, "filter-lang": lang, "limit": 1000})
        assert r.status_code == 200, r.text
        return sorted(f["id"] for f in r.json()["features"])

    box = "BBOX(6.0825, 50.7745, 6.0865, 50.7795)"
    via_geom = ids(f"S_INTERSECTS(geom, {box})")
    assert via_geom and ids(f"S_INTERSECTS(geometry, {box})") == via_geom
    as_json = ('{"op": "s_intersects", "args": [{"property": "geometry"}, '
               '{"bbox": [6.0825, 50.7745, 6.0865, 50.7795]}]}')
    assert ids(as_json, "cql2-json") == via_geom
    r = client.get("/collections/streetlight/items", params={"filter": "geometry = 3"})
    assert r.status_code == 400 and "geometries cannot be compared" in r.json()["detail"]


def test_processes_conformance_declared_and_linked(client):
    conf = client.get("/conformance").json()["conformsTo"]
    for cls in ("core", "ogc-process-description", "json", "oas30", "job-list", "dismiss"):
        assert f"http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/{cls}" in conf
    links = client.get("/").json()["links"]
    proc = [link for link in links if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/processes"]
    assert proc and proc[0]["href"].endswith("/processes")
    assert client.get("/processes").status_code == 200


def spatial(client, cid: str, key: str | None = None) -> list[float]:
    return client.get(f"/collections/{cid}", headers=auth(key) if key else {}).json()["extent"]["spatial"]["bbox"][0]


def data_bbox(conn, table: str) -> list[float]:
    r = conn.execute(f"SELECT ST_XMin(e) a, ST_YMin(e) b, ST_XMax(e) c, ST_YMax(e) d FROM (SELECT ST_Extent("
                     f"ST_Transform(geom, 4326)) e FROM registry.{table} WHERE deleted_at IS NULL) q").fetchone()
    return [r["a"], r["b"], r["c"], r["d"]]


def encloses(outer: list[float], inner: list[float], tol: float = 1e-7) -> bool:
    """``outer`` holds ``inner`` and is no more than ``tol`` degrees larger on any side."""
    return all(-1e-9 <= d <= tol for d in (inner[0] - outer[0], inner[1] - outer[1], outer[2] - inner[2],
                                       outer[3] - inner[3]))


def test_extent_is_computed_from_the_data_and_kept_current(client, api_keys, conn):
    before = data_bbox(conn, "streetlight")
    assert encloses(spatial(client, "streetlight"), before)
    temporal = client.get("/collections/streetlight").json()["extent"]["temporal"]["interval"][0]
    oldest = conn.execute("SELECT min(updated_at) AS t FROM registry.streetlight WHERE deleted_at IS NULL"
                          ).fetchone()["t"]
    assert temporal == [oldest.isoformat(), None]   # a layer is written to: open at the end
    # a feature 2 km further east extends it; deleting it shrinks it back
    r = client.post("/collections/streetlight/items", headers=auth(api_keys["city_lights"]), json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [6.125, 50.7712]},
        "properties": {"name": "Ausreißer"}})
    assert r.status_code == 201, r.text
    url = r.headers["location"].replace("http://testserver", "")
    grown = spatial(client, "streetlight")
    assert encloses(grown, data_bbox(conn, "streetlight")) and grown[2] >= max(before[2], 6.1249)
    moved = client.patch(url, json={"geometry": {"type": "Point", "coordinates": [6.115, 50.7712]}},
                         headers={**auth(api_keys["city_lights"]), "If-Match": r.headers["etag"],
                                  "Content-Type": MERGE})
    assert moved.status_code == 204
    assert encloses(spatial(client, "streetlight"), data_bbox(conn, "streetlight"))
    assert client.delete(url, headers={**auth(api_keys["city_lights"]), "If-Match": moved.headers["etag"]}
                         ).status_code == 204
    shrunk = spatial(client, "streetlight")
    # back to the data without the outlier (whatever other tests left further east)
    assert encloses(shrunk, data_bbox(conn, "streetlight")) and encloses(shrunk, before)


def test_result_view_extent_follows_its_tables(client, api_keys, conn, db_url):
    from netzatlas.registry.db import connect

    with connect(db_url) as c:   # a committed analysis result, as the coverage run writes it
        c.execute("INSERT INTO registry.coverage_hole (run_id, operator, technology, hole, threshold_dbm, geom) "
                  "VALUES ('h7-extent', 'Telekom', 'LTE', 1, -110, ST_Multi(ST_Transform(ST_MakeEnvelope("
                  "6.05, 50.76, 6.06, 50.77, 4326), 25832)))")
        c.commit()
    try:
        box = spatial(client, "coverage_hole_result", api_keys["analyst"])
        assert box != [-180, -90, 180, 90]
        assert encloses(box, [6.05, 50.76, 6.06, 50.77], tol=1e-3)
        with connect(db_url) as c:
            c.execute("UPDATE registry.coverage_hole SET geom = ST_Multi(ST_Transform(ST_MakeEnvelope("
                      "6.08, 50.78, 6.09, 50.79, 4326), 25832)) WHERE run_id = 'h7-extent'")
            c.commit()
        assert encloses(spatial(client, "coverage_hole_result", api_keys["analyst"]), [6.08, 50.78, 6.09, 50.79],
                        tol=1e-3)
    finally:
        with connect(db_url) as c:
            c.execute("DELETE FROM registry.coverage_hole WHERE run_id = 'h7-extent'")
            c.commit()


def test_writes_inside_record_nothing_outside_an_extension_the_read_folds(client, api_keys, conn):
    spatial(client, "charging_point")   # computed and kept
    pending = "SELECT count(*) AS n FROM registry.collection_extent_change WHERE layer = 'charging_point'"
    kept = "SELECT computed_at FROM registry.collection_extent WHERE layer = 'charging_point'"
    assert conn.execute(pending).fetchone()["n"] == 0
    before = conn.execute(kept).fetchone()["computed_at"]

    def add(lon: float) -> None:
        r = client.post("/collections/charging_point/items", headers=auth(api_keys["stawag"]), json={
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, 50.7761]},
            "properties": {"operator": "STAWAG", "power_kw": 11}})
        assert r.status_code == 201, r.text

    add(6.0845)   # inside the kept box
    assert conn.execute(pending).fetchone()["n"] == 0
    assert encloses(spatial(client, "charging_point"), data_bbox(conn, "charging_point"))
    assert conn.execute(kept).fetchone()["computed_at"] == before   # answered from the kept row as it was
    # east of it (of whatever other tests of the session added, too): an extension is recorded, and folded in by
    # the next read
    add(max(6.0975, data_bbox(conn, "charging_point")[2] + 0.002))
    assert conn.execute(pending).fetchone()["n"] == 1
    assert encloses(spatial(client, "charging_point"), data_bbox(conn, "charging_point"))
    assert conn.execute(pending).fetchone()["n"] == 0
    assert conn.execute(kept).fetchone()["computed_at"] > before
