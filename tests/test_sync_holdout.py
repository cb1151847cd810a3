"""The utility's sync with payloads as integrators really send them (holdout, session 7): legacy ``crs`` members,
3D points, numbers and booleans as text, German dates, ids in every place, NDJSON with a BOM, CRLF, blank lines,
RS separators (GeoJSON text sequences), gzip, wrong content types, Latin-1 bytes, re-sends, stale ETags and keys
of the wrong organization. Each payload is either stored correctly (row and history checked in the database) or
refused with a 4xx problem naming the feature and the reason — never a 5xx, never half written."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest

from netzatlas.api import models
from tests.conftest import auth

NDJSON = "application/x-ndjson"
#: a lamp in Aachen (away from the shared API fixtures' lamps and chargers, whose areas other tests query)
LON, LAT = 6.1012, 50.7601


def _utm(lon: float, lat: float) -> tuple[float, float]:
    import pyproj

    return pyproj.Transformer.from_crs(4326, 25832, always_xy=True).transform(lon, lat)


def feat(ext: object = None, lon: float = LON, lat: float = LAT, *, fid: object = None, z: float | None = None,
         **props) -> dict:
    f: dict = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat] + ([z] if z else [])},
               "properties": ({"external_id": ext} if ext is not None else {}) | props}
    if fid is not None:
        f["id"] = fid
    return f


def fc(*features: dict, **members) -> dict:
    return {"type": "FeatureCollection", "features": list(features), **members}


def nd(*features: dict, sep: bytes = b"\n") -> bytes:
    return b"".join(json.dumps(f).encode() + sep for f in features)


@pytest.fixture
def src(db_url):
    """This test's source; its features are removed afterwards, so that later tests reading whole collections of
    the shared database do not see them."""
    import psycopg

    name = f"stawag-ho-{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(db_url, autocommit=True) as c:
        for table in ("streetlight", "charging_point"):
            c.execute(f"DELETE FROM registry.{table} WHERE source LIKE %s", [name + "%"])


def sync(client, src: str, body: bytes | dict, *, ctype: str | None = "application/json", key: str = "stawag",
         api_keys=None, collection: str = "streetlight", headers: dict | None = None):
    h = {**auth(api_keys[key]), **(headers or {})}
    if ctype is not None:
        h["Content-Type"] = ctype
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    return client.post(f"/sync/{collection}?source={src}", content=content, headers=h)


def ok(r) -> models.SyncResult:
    assert r.status_code == 200, r.text[:500]
    return models.SyncResult.model_validate(r.json())


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def rows(conn, src: str, table: str = "streetlight") -> dict[str, dict]:
    extra = {"streetlight": "height_m, lamp_type, permanent_power, name",
             "charging_point": "power_kw, charge_points, commissioned"}[table]
    got = conn.execute(f"SELECT external_id, id, version, owner_org, properties, {extra}, ST_NDims(geom) AS ndims, "
                       "ST_X(ST_Transform(geom, 4326)) AS lon, ST_Y(ST_Transform(geom, 4326)) AS lat "
                       f"FROM registry.{table} WHERE source = %s", [src]).fetchall()
    conn.rollback()
    return {r["external_id"]: r for r in got}


def history(conn, fid) -> list[str]:
    ops = conn.execute("SELECT operation FROM audit.change WHERE row_id = %s ORDER BY seq", [fid]).fetchall()
    conn.rollback()
    return [o["operation"] for o in ops]


def reasons(res: models.SyncResult) -> dict[str | None, str]:
    return {o.external_id: o.reason or "" for o in res.features if o.outcome == "rejected"}


# ------------------------------------------------------------------------------------------- coordinates, CRS
def test_01_legacy_crs_member_25832_is_honoured(client, api_keys, conn, src):
    x, y = _utm(LON, LAT)
    body = fc(feat("CRS-1", x, y), crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}})
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 0), res
    r = rows(conn, src)["CRS-1"]
    assert r["lon"] == pytest.approx(LON, abs=1e-7) and r["lat"] == pytest.approx(LAT, abs=1e-7)


def test_02_legacy_crs_member_forms_and_an_unknown_one(client, api_keys, conn, src):
    x, y = _utm(LON, LAT)
    for i, name in enumerate(["EPSG:25832", "http://www.opengis.net/def/crs/EPSG/0/25832"]):
        body = fc(feat(f"CRS-F{i}", x, y), crs={"type": "name", "properties": {"name": name}})
        assert ok(sync(client, src, body, api_keys=api_keys)).created == 1
    # CRS84 and EPSG:4326 as a legacy member: GeoJSON's axis order (longitude first), as GDAL writes it
    for i, name in enumerate(["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326"]):
        body = fc(feat(f"CRS-G{i}"), crs={"type": "name", "properties": {"name": name}})
        assert ok(sync(client, src, body, api_keys=api_keys)).created == 1
    stored = rows(conn, src)
    assert all(r["lon"] == pytest.approx(LON, abs=1e-7) for r in stored.values()) and len(stored) == 4
    p = problem(sync(client, src, fc(feat("CRS-X"), crs={"type": "name", "properties": {"name": "EPSG:999999"}}),
                     api_keys=api_keys), 400)
    assert "crs" in p["detail"].lower()
    p = problem(sync(client, src, fc(feat("CRS-Y"), crs={"type": "link", "properties": {"href": "x.prj"}}),
                     api_keys=api_keys), 400)
    assert "crs" in p["detail"].lower()
    assert set(rows(conn, src)) == {"CRS-F0", "CRS-F1", "CRS-G0", "CRS-G1"}


def test_02b_content_crs_header_as_on_single_writes(client, api_keys, conn, src):
    """OGC API Features Part 4 clients say the CRS in Content-Crs: NDJSON in EPSG:25832, and EPSG:4326 as EPSG
    defines it (latitude first); an unsupported CRS or one that contradicts the crs member is 400."""
    x, y = _utm(LON, LAT)
    h25832 = {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/25832>"}
    res = ok(sync(client, src, nd(feat("CC-1", x, y), feat("CC-2", x + 10, y)), ctype=NDJSON, api_keys=api_keys,
                  headers=h25832))
    assert (res.created, res.rejected) == (2, 0), res
    res = ok(sync(client, src, nd(feat("CC-3", LAT, LON)), ctype=NDJSON, api_keys=api_keys,
                  headers={"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"}))
    assert (res.created, res.rejected) == (1, 0), res
    stored = rows(conn, src)
    assert stored["CC-1"]["lon"] == pytest.approx(LON, abs=1e-7) and stored["CC-3"]["lon"] == pytest.approx(LON)
    assert stored["CC-3"]["lat"] == pytest.approx(LAT)
    p = problem(sync(client, src, nd(feat("CC-4")), ctype=NDJSON, api_keys=api_keys,
                     headers={"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/31467>"}), 400)
    assert "Content-Crs" in p["detail"]
    body = fc(feat("CC-5", x, y), crs={"type": "name", "properties": {"name": "EPSG:3035"}})
    p = problem(sync(client, src, body, api_keys=api_keys, headers=h25832), 400)
    assert "disagree" in p["detail"]
    # the same bytes with and without the header are different requests for the Idempotency-Key
    key = {"Idempotency-Key": f"ho-{uuid.uuid4()}"}
    ok(sync(client, src, nd(feat("CC-6", x, y)), ctype=NDJSON, api_keys=api_keys, headers={**h25832, **key}))
    problem(sync(client, src, nd(feat("CC-6", x, y)), ctype=NDJSON, api_keys=api_keys, headers=key), 400)
    assert set(rows(conn, src)) == {"CC-1", "CC-2", "CC-3", "CC-6"}


def test_03_25832_coordinates_without_a_crs_member_are_rejected_with_the_reason(client, api_keys, conn, src):
    x, y = _utm(LON, LAT)
    res = ok(sync(client, src, fc(feat("UTM-1", x, y), feat("UTM-OK")), api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 1)
    assert "CRS" in reasons(res)["UTM-1"] and "feature 1" in reasons(res)["UTM-1"]
    assert set(rows(conn, src)) == {"UTM-OK"}


def test_04_3d_points_are_stored_2d(client, api_keys, conn, src):
    body = nd(feat("Z-1", z=172.5), feat("Z-2", LON + 0.001, z=180.0))
    res = ok(sync(client, src, body, ctype=NDJSON, api_keys=api_keys))
    assert res.created == 2
    r = rows(conn, src)
    assert r["Z-1"]["ndims"] == 2 and r["Z-1"]["lon"] == pytest.approx(LON, abs=1e-7)
    assert r["Z-2"]["lon"] == pytest.approx(LON + 0.001, abs=1e-7)


def test_05_a_multipoint_of_one_part_is_taken_a_linestring_is_rejected(client, api_keys, conn, src):
    mp = {"type": "Feature", "id": "MP-1", "geometry": {"type": "MultiPoint", "coordinates": [[LON, LAT]]},
          "properties": {}}
    line = {"type": "Feature", "id": "LS-1", "properties": {},
            "geometry": {"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.001, LAT]]}}
    res = ok(sync(client, src, fc(mp, line), api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 1) and "expected a POINT" in reasons(res)["LS-1"]
    assert set(rows(conn, src)) == {"MP-1"}


def test_05b_coordinates_as_text_are_refused_alone_or_among_other_geometries(client, api_keys, conn, src):
    """["6.0839", "50.7753"] (a CSV exporter quoting everything) is no GeoJSON position: refused with that reason
    whether the payload holds only points (the vectorised path) or other geometries too — before, it was stored
    in the first case and "missing" in the second. A 4D position and a null coordinate are refused with reasons."""
    def point(fid: str, coords: list) -> dict:
        return {"type": "Feature", "id": fid, "geometry": {"type": "Point", "coordinates": coords}, "properties": {}}

    mp = {"type": "Feature", "id": "MP", "geometry": {"type": "MultiPoint", "coordinates": [[LON, LAT]]},
          "properties": {}}
    for body in (fc(point("TXT", [str(LON), str(LAT)]), feat("NUM", LON + 1e-4)),
                 fc(point("TXT", [str(LON), str(LAT)]), mp)):
        res = ok(sync(client, src, body, api_keys=api_keys))
        assert res.rejected == 1 and "not valid GeoJSON: a position is 2 or 3 numbers" in reasons(res)["TXT"], res
    res = ok(sync(client, src, fc(point("XYZM", [LON, LAT, 170.0, 3.0]), point("NULL", [LON, None])),
                  api_keys=api_keys))
    assert "not valid GeoJSON" in reasons(res)["XYZM"] and "not valid GeoJSON" in reasons(res)["NULL"], res
    res = ok(sync(client, src, fc(point("NULL", [LON, None])), api_keys=api_keys))  # the vectorised path
    assert "not finite" in reasons(res)["NULL"], res
    assert set(rows(conn, src)) == {"NUM", "MP"}


def test_06_null_and_missing_geometry_are_rejected_alone(client, api_keys, conn, src):
    body = fc({"type": "Feature", "id": "G-NULL", "geometry": None, "properties": {"height_m": 6}},
              {"type": "Feature", "id": "G-NONE", "properties": {"height_m": 6}}, feat("G-OK"))
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 2)
    assert "missing geometry" in reasons(res)["G-NULL"] and "missing geometry" in reasons(res)["G-NONE"]
    assert set(rows(conn, src)) == {"G-OK"}


# ------------------------------------------------------------------------------------------- values
def test_07_numbers_as_text(client, api_keys, conn, src):
    for i, text in enumerate(["7,5", "7.5", " 7.5 ", "7,50 m"]):
        res = ok(sync(client, src, fc(feat(f"N-{i}", LON + i * 1e-4, height_m=text)), api_keys=api_keys))
        assert res.created == 1, (text, res)
    assert {e: r["height_m"] for e, r in rows(conn, src).items()} == {f"N-{i}": 7.5 for i in range(4)}


def test_08_comma_and_point_in_one_payload(client, api_keys, conn, src):
    res = ok(sync(client, src, fc(feat("M-1", height_m="7,5"), feat("M-2", LON + 1e-4, height_m="8.25")),
                  api_keys=api_keys))
    assert res.created == 2, res
    assert {e: r["height_m"] for e, r in rows(conn, src).items()} == {"M-1": 7.5, "M-2": 8.25}


def test_09_booleans_as_text_and_numbers(client, api_keys, conn, src):
    values = {"B-ja": "ja", "B-true": "true", "B-1": 1, "B-T": True, "B-nein": "Nein", "B-0": "0", "B-2": 2}
    body = fc(*[feat(e, LON + i * 1e-4, permanent_power=v) for i, (e, v) in enumerate(values.items())])
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (6, 1) and "yes/no" in reasons(res)["B-2"]
    assert {e: r["permanent_power"] for e, r in rows(conn, src).items()} == {
        "B-ja": True, "B-true": True, "B-1": True, "B-T": True, "B-nein": False, "B-0": False}


def test_10_dates_german_iso_and_iso_with_zone(client, api_keys, conn, src):
    import datetime as dt

    body = fc(feat("D-DE", commissioned="04.03.2021", power_kw="22"),
              feat("D-ISO", LON + 1e-4, commissioned="2021-03-04", charge_points="2"),
              feat("D-TZ", LON + 2e-4, commissioned="2021-03-04T10:00:00+01:00"))
    res = ok(sync(client, src, body, api_keys=api_keys, collection="charging_point"))
    stored = rows(conn, src, "charging_point")
    assert stored["D-DE"]["commissioned"] == dt.date(2021, 3, 4) and stored["D-DE"]["power_kw"] == 22.0
    assert stored["D-ISO"]["commissioned"] == dt.date(2021, 3, 4) and stored["D-ISO"]["charge_points"] == 2
    # an ISO timestamp with its zone for a date column: the date as written
    assert res.rejected == 0 and stored["D-TZ"]["commissioned"] == dt.date(2021, 3, 4)


def test_11_nested_properties_and_names_that_are_no_column(client, api_keys, conn, src):
    body = fc(feat("P-1", wartung={"intervall_monate": 24, "firma": ["Elektro Meyer", "Stadtwerke"]},
                   Mastnummer="M-17", attributes={"pole": "alu"}),
              feat("P-2", LON + 1e-4, name={"de": "Leuchte"}))
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 1) and "name" in reasons(res)["P-2"]
    props = rows(conn, src)["P-1"]["properties"]
    assert props == {"pole": "alu", "Mastnummer": "M-17",
                     "wartung": {"intervall_monate": 24, "firma": ["Elektro Meyer", "Stadtwerke"]}}


def test_12_nan_is_a_missing_value_infinity_is_rejected_alone(client, api_keys, conn, src):
    """Python's json writes a pandas export's missing number as NaN: it is taken as missing (null), not as a
    value; Infinity is no height and rejects its feature."""
    body = (b'{"type": "FeatureCollection", "features": ['
            + json.dumps(feat("NAN", height_m=1)).replace('"height_m": 1', '"height_m": NaN').encode() + b", "
            + json.dumps(feat("INF", LON + 1e-4, height_m=1)).replace('"height_m": 1', '"height_m": Infinity').encode()
            + b", " + json.dumps(feat("FINE", LON + 2e-4, height_m=1)).encode() + b"]}")
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (2, 1) and "not a finite number" in reasons(res)["INF"]
    assert {e: r["height_m"] for e, r in rows(conn, src).items()} == {"NAN": None, "FINE": 1.0}


# ------------------------------------------------------------------------------------------- ids
def test_13_id_at_feature_level_in_properties_or_both(client, api_keys, conn, src):
    body = fc(feat(fid="F-ID"), feat("P-ID", LON + 1e-4), feat("PROP-WINS", LON + 2e-4, fid="LOST"),
              feat(fid=17, lon=LON + 3e-4))
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert res.created == 4
    assert set(rows(conn, src)) == {"F-ID", "P-ID", "PROP-WINS", "17"}


def test_14_external_id_null_in_properties_falls_back_to_the_feature_id(client, api_keys, conn, src):
    """A QGIS or pandas export carries the column with null where it is empty; the feature id is then the id."""
    f = feat(fid="FALLBACK")
    f["properties"]["external_id"] = None
    res = ok(sync(client, src, fc(f), api_keys=api_keys))
    assert res.created == 1 and set(rows(conn, src)) == {"FALLBACK"}


def test_15_whole_float_ids_are_the_same_id_as_the_integer(client, api_keys, conn, src):
    """17.0 (a spreadsheet's number) and 17 name the same lamp: a re-send must not create it twice."""
    assert ok(sync(client, src, fc(feat(17, height_m=6)), api_keys=api_keys)).created == 1
    res = ok(sync(client, src, fc(feat(17.0, height_m=7)), api_keys=api_keys))
    assert (res.created, res.updated) == (0, 1), res
    assert {e: r["height_m"] for e, r in rows(conn, src).items()} == {"17": 7.0}


def test_15b_a_whole_float_id_on_a_single_write_is_the_integer(client, api_keys, conn, src):
    body = {**feat(fid=4711.0, height_m=6), "properties": {"height_m": 6, "source": src}}
    r = client.post("/collections/streetlight/items", json=body, headers=auth(api_keys["stawag"]))
    assert r.status_code == 201, r.text
    assert set(rows(conn, src)) == {"4711"}
    assert ok(sync(client, src, fc(feat(4711, height_m=7)), api_keys=api_keys)).updated == 1  # the same lamp


def test_16_missing_and_unusable_ids(client, api_keys, conn, src):
    body = fc(feat(lon=LON), feat(fid=" ", lon=LON + 1e-4), feat(fid=True, lon=LON + 2e-4), feat("OK-ID", LON + 3e-4))
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 3)
    why = [o.reason for o in res.features if o.outcome == "rejected"]
    assert sum("missing external_id" in w for w in why) == 2 and any("plain text or number" in w for w in why)
    assert set(rows(conn, src)) == {"OK-ID"}


def test_17_duplicate_ids_in_one_payload_are_rejected_both(client, api_keys, conn, src):
    body = fc(feat("DUP", height_m=6), feat("DUP", LON + 1e-4, height_m=9), feat(fid=5, lon=LON + 2e-4),
              feat("5", LON + 3e-4), feat("UNIQUE", LON + 4e-4))
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 4)
    assert all("duplicate external id" in o.reason for o in res.features if o.outcome == "rejected")
    assert set(rows(conn, src)) == {"UNIQUE"}


def test_17b_a_duplicate_whose_twin_is_rejected_early_is_not_written_in_its_place(client, api_keys, conn, src):
    """The same id twice, the first copy refused for its value (an object for a text column): the second is a
    duplicate all the same — not written as if it were the only one, while the answer also calls the id
    rejected."""
    body = fc(feat("TWIN", name={"de": "Leuchte"}), feat("TWIN", LON + 1e-4, height_m=7), feat("SOLO", LON + 2e-4))
    res = ok(sync(client, src, body, api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 2), res
    twin = [o.reason for o in res.features if o.external_id == "TWIN"]
    assert len(twin) == 2 and any("feature 2: duplicate external id 'TWIN'" in w for w in twin), twin
    assert set(rows(conn, src)) == {"SOLO"}


# ------------------------------------------------------------------------------------------- NDJSON shapes
def test_18_ndjson_with_bom_crlf_and_blank_lines(client, api_keys, conn, src):
    body = b"\xef\xbb\xbf" + nd(feat("BOM-1"), sep=b"\r\n") + b"\r\n\r\n" + nd(feat("BOM-2", LON + 1e-4),
                                                                                sep=b"\r\n")
    res = ok(sync(client, src, body, ctype=NDJSON, api_keys=api_keys))
    assert (res.created, res.rejected) == (2, 0), res
    assert set(rows(conn, src)) == {"BOM-1", "BOM-2"}
    alone = b"\xef\xbb\xbf\r\n" + nd(feat("BOM-3", LON + 2e-4))  # the mark on a line of its own
    assert ok(sync(client, src, alone, ctype=NDJSON, api_keys=api_keys)).created == 1


def test_19_geojson_text_sequence_with_record_separators(client, api_keys, conn, src):
    """RFC 8142 (application/geo+json-seq, what ``ogr2ogr -f GeoJSONSeq -lco RS=YES`` writes): RS before each."""
    body = b"".join(b"\x1e" + json.dumps(f).encode() + b"\n" for f in (feat("RS-1"), feat("RS-2", LON + 1e-4)))
    res = ok(sync(client, src, body, ctype="application/geo+json-seq", api_keys=api_keys))
    assert (res.created, res.rejected) == (2, 0), res
    res = ok(sync(client, src, b"\x1e" + json.dumps(feat("RS-3", LON + 2e-4)).encode() + b"\n",
                  ctype="application/json-seq", api_keys=api_keys))  # RFC 7464, the JSON form
    assert res.created == 1
    assert set(rows(conn, src)) == {"RS-1", "RS-2", "RS-3"}


def test_20_a_truncated_last_line_is_rejected_by_its_line_number(client, api_keys, conn, src):
    body = nd(feat("T-1"), feat("T-2", LON + 1e-4)) + json.dumps(feat("T-3", LON + 2e-4)).encode()[:40]
    res = ok(sync(client, src, body, ctype=NDJSON, api_keys=api_keys))
    assert (res.created, res.rejected) == (2, 1)
    assert "feature 3" in res.features[-1].reason and "not valid JSON" in res.features[-1].reason
    assert set(rows(conn, src)) == {"T-1", "T-2"}


def test_21_a_feature_collection_sent_as_ndjson_is_refused_whole(client, api_keys, conn, src):
    one_line = json.dumps(fc(feat("FC-1"), feat("FC-2", LON + 1e-4))).encode() + b"\n"
    p = problem(sync(client, src, one_line, ctype=NDJSON, api_keys=api_keys), 400)
    assert "FeatureCollection" in p["detail"] and "application/geo+json" in (p.get("hint") or "")
    pretty = json.dumps(fc(feat("FC-1")), indent=2).encode()
    problem(sync(client, src, pretty, ctype=NDJSON, api_keys=api_keys), 400)
    assert rows(conn, src) == {}


def test_22_ndjson_sent_as_application_json_is_refused_with_the_hint(client, api_keys, conn, src):
    p = problem(sync(client, src, nd(feat("NJ-1"), feat("NJ-2")), api_keys=api_keys), 400)
    assert "x-ndjson" in (p.get("hint") or "")
    assert rows(conn, src) == {}


def test_23_wrong_or_missing_content_type_with_a_feature_collection(client, api_keys, conn, src):
    assert ok(sync(client, src, fc(feat("CT-1")), ctype="text/plain", api_keys=api_keys)).created == 1
    assert ok(sync(client, src, fc(feat("CT-2", LON + 1e-4)), ctype=None, api_keys=api_keys)).created == 1
    assert ok(sync(client, src, fc(feat("CT-3", LON + 2e-4)), ctype="application/geo+json; charset=utf-8",
                   api_keys=api_keys)).created == 1
    assert set(rows(conn, src)) == {"CT-1", "CT-2", "CT-3"}


def test_23b_a_feature_collection_with_a_bom(client, api_keys, conn, src):
    """Windows tools write UTF-8 with a byte order mark: the body is still JSON."""
    body = b"\xef\xbb\xbf" + json.dumps(fc(feat("BOM-FC", name="Straße")), ensure_ascii=False).encode()
    assert ok(sync(client, src, body, ctype="application/geo+json", api_keys=api_keys)).created == 1
    assert rows(conn, src)["BOM-FC"]["name"] == "Straße"


def test_24_a_single_feature_instead_of_a_collection(client, api_keys, conn, src):
    assert ok(sync(client, src, feat("ONE"), ctype="application/geo+json", api_keys=api_keys)).created == 1
    assert set(rows(conn, src)) == {"ONE"}


# ------------------------------------------------------------------------------------------- bytes on the wire
def test_25_gzip_content_encoding(client, api_keys, conn, src):
    for ctype, body in (("application/json", json.dumps(fc(feat("GZ-1"))).encode()),
                        (NDJSON, nd(feat("GZ-2", LON + 1e-4), feat("GZ-3", LON + 2e-4)))):
        res = ok(sync(client, src, gzip.compress(body), ctype=ctype, api_keys=api_keys,
                      headers={"Content-Encoding": "gzip"}))
        assert res.rejected == 0 and res.created >= 1
    assert set(rows(conn, src)) == {"GZ-1", "GZ-2", "GZ-3"}
    two_members = gzip.compress(nd(feat("GZ-4", LON + 3e-4))) + gzip.compress(nd(feat("GZ-5", LON + 4e-4)))
    res = ok(sync(client, src, two_members, ctype=NDJSON, api_keys=api_keys, headers={"Content-Encoding": "gzip"}))
    assert res.created == 2
    cut = gzip.compress(nd(*[feat(f"GZ-C{i}", LON + i * 1e-5) for i in range(50)]))[:-30]
    p = problem(sync(client, src, cut, ctype=NDJSON, api_keys=api_keys, headers={"Content-Encoding": "gzip"}), 400)
    assert "ends before" in p["detail"]
    p = problem(sync(client, src, b"\x1f\x8b\x08garbage", api_keys=api_keys, headers={"Content-Encoding": "gzip"}),
                400)
    assert "gzip" in p["detail"]
    p = problem(sync(client, src, json.dumps(fc(feat("BR-1"))).encode(), api_keys=api_keys,
                     headers={"Content-Encoding": "br"}), 415)
    assert "br" in p["detail"] and r_accept(client, src, api_keys) == "gzip, deflate"
    assert set(rows(conn, src)) == {"GZ-1", "GZ-2", "GZ-3", "GZ-4", "GZ-5"}


def test_25b_gzip_on_single_writes(client, api_keys, conn, src):
    """The same client sends its single writes compressed too: taken as on a sync, other codings 415."""
    h = {**auth(api_keys["stawag"]), "Content-Type": "application/geo+json", "Content-Encoding": "gzip"}
    body = feat("GZW-1", height_m=6)
    body["properties"]["source"] = src
    r = client.post("/collections/streetlight/items", content=gzip.compress(json.dumps(body).encode()), headers=h)
    assert r.status_code == 201, r.text
    url = r.headers["location"].replace("http://testserver", "")
    r = client.patch(url, content=gzip.compress(b'{"properties": {"height_m": 7}}'),
                     headers={**h, "Content-Type": "application/merge-patch+json", "If-Match": 'W/"1"'})
    assert r.status_code == 204, r.text
    problem(client.patch(url, content=b'{"properties": {"height_m": 8}}', headers={
        **h, "Content-Encoding": "br", "If-Match": 'W/"2"'}), 415)
    problem(client.patch(url, content=b"\x1f\x8b\x08nonsense", headers={**h, "If-Match": 'W/"2"'}), 400)
    r = rows(conn, src)["GZW-1"]
    assert r["height_m"] == 7.0 and history(conn, r["id"]) == ["INSERT", "UPDATE"]


def r_accept(client, src: str, api_keys) -> str | None:
    """RFC 7694: a 415 for a content coding says which codings the server reads."""
    return sync(client, src, b"{}", api_keys=api_keys, headers={"Content-Encoding": "compress"}).headers.get(
        "accept-encoding")


def test_26_gzip_bomb_is_refused_by_the_decompressed_size(client, api_keys, conn, src, monkeypatch):
    from netzatlas.config import get_settings

    monkeypatch.setenv("NETZATLAS_LIMIT_SYNC_JSON_BYTES", "100000")
    get_settings.cache_clear()
    try:
        body = b'{"type": "FeatureCollection", "features": [], "pad": "' + b" " * 2_000_000 + b'"}'
        p = problem(sync(client, src, gzip.compress(body), api_keys=api_keys, headers={"Content-Encoding": "gzip"}),
                    413)
        assert "100,000" in p["detail"]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert rows(conn, src) == {}


def test_27_latin1_bytes_are_refused_naming_the_encoding(client, api_keys, conn, src):
    latin = json.dumps(fc(feat("L1-1", name="Straße")), ensure_ascii=False).encode("latin-1")
    p = problem(sync(client, src, latin, api_keys=api_keys), 400)
    assert "not UTF-8" in p["detail"] and "0xdf" in p["detail"] and "utf-8" in p["hint"]
    lines = nd(feat("L1-OK")) + json.dumps(feat("L1-2", LON + 1e-4, name="Straße"), ensure_ascii=False
                                           ).encode("latin-1") + b"\n"
    res = ok(sync(client, src, lines, ctype=NDJSON, api_keys=api_keys))
    assert (res.created, res.rejected) == (1, 1) and "feature 2: the line is not UTF-8" in res.features[-1].reason
    assert set(rows(conn, src)) == {"L1-OK"}


def test_28_empty_payloads(client, api_keys, conn, src):
    problem(sync(client, src, b"", api_keys=api_keys), 400)
    problem(sync(client, src, b"   \n", api_keys=api_keys), 400)
    res = ok(sync(client, src, fc(), api_keys=api_keys))
    assert (res.created, res.updated, res.unchanged, res.rejected) == (0, 0, 0, 0)
    res = ok(sync(client, src, b"\n\n", ctype=NDJSON, api_keys=api_keys))
    assert (res.created, res.rejected) == (0, 0)
    assert rows(conn, src) == {}


# ------------------------------------------------------------------------------------------- re-sends, ETags, keys
def test_28b_a_property_left_out_keeps_its_value_whatever_the_other_features_give(client, api_keys, conn, src):
    """The utility's export leaves empty columns out of a feature. Sent alone or next to features that give the
    property, the feature's stored value is kept (not cleared because a neighbour had the column); an explicit null
    clears it."""
    ok(sync(client, src, fc(feat("K-A", height_m=6, lamp_type="LED"), feat("K-B", LON + 1e-4, height_m=7),
                            feat("K-C", LON + 2e-4, height_m=8)), api_keys=api_keys))
    assert ok(sync(client, src, fc(feat("K-A", lamp_type="LED")), api_keys=api_keys)).unchanged == 1
    res = ok(sync(client, src, fc(feat("K-A", lamp_type="LED"), feat("K-B", LON + 1e-4, height_m=9),
                                  feat("K-C", LON + 2e-4, height_m=None), feat("K-D", LON + 3e-4, height_m=5)),
                  api_keys=api_keys))
    assert (res.created, res.updated, res.unchanged) == (1, 2, 1), res
    stored = rows(conn, src)
    assert {e: (r["height_m"], r["lamp_type"]) for e, r in stored.items()} == {
        "K-A": (6.0, "LED"), "K-B": (9.0, None), "K-C": (None, None), "K-D": (5.0, None)}
    assert history(conn, stored["K-A"]["id"]) == ["INSERT"] and stored["K-A"]["version"] == 1
    assert history(conn, stored["K-C"]["id"]) == ["INSERT", "UPDATE"]
    by = {o.external_id: o for o in res.features}
    assert by["K-D"].outcome == "created" and by["K-B"].outcome == "updated"
    assert by["K-B"].id == str(stored["K-B"]["id"])


def test_29_resend_with_one_changed_feature_writes_one_version(client, api_keys, conn, src):
    lamps = [feat(f"R-{i}", LON + i * 1e-4, height_m=6 + i) for i in range(5)]
    key1 = {"Idempotency-Key": f"ho-{uuid.uuid4()}"}
    first = ok(sync(client, src, fc(*lamps), api_keys=api_keys, headers=key1))
    assert first.created == 5
    lamps[2]["properties"]["height_m"] = "12,5"
    assert problem(sync(client, src, fc(*lamps), api_keys=api_keys, headers=key1), 400)  # same key, new body
    res = ok(sync(client, src, fc(*lamps), api_keys=api_keys, headers={"Idempotency-Key": f"ho-{uuid.uuid4()}"}))
    assert (res.created, res.updated, res.unchanged) == (0, 1, 4)
    stored = rows(conn, src)
    assert stored["R-2"]["height_m"] == 12.5 and stored["R-2"]["version"] == 2
    assert history(conn, stored["R-2"]["id"]) == ["INSERT", "UPDATE"]
    assert all(history(conn, stored[f"R-{i}"]["id"]) == ["INSERT"] for i in (0, 1, 3, 4))


def test_30_patch_with_an_etag_made_stale_by_a_sync_is_412(client, api_keys, conn, src):
    res = ok(sync(client, src, fc(feat("E-1", height_m=6)), api_keys=api_keys))
    url = f"/collections/streetlight/items/{res.features[0].id}"
    etag = client.get(url).headers["etag"]
    ok(sync(client, src, fc(feat("E-1", height_m=7)), api_keys=api_keys))  # the nightly sync changes it
    r = client.patch(url, json={"properties": {"height_m": 20}}, headers={
        **auth(api_keys["stawag"]), "If-Match": etag, "Content-Type": "application/merge-patch+json"})
    p = problem(r, 412)
    assert "version 2" in p["detail"]
    r = rows(conn, src)["E-1"]
    assert r["height_m"] == 7.0 and history(conn, r["id"]) == ["INSERT", "UPDATE"]


def test_31_keys_of_the_wrong_organization_or_scope_are_403_and_write_nothing(client, api_keys, conn, src):
    ok(sync(client, src, fc(feat("O-1", height_m=6)), api_keys=api_keys))  # the source is stawag's now
    before = rows(conn, src)
    for key, collection in (("city_lights", "streetlight"), ("reader", "streetlight"),
                            ("city_lights", "charging_point")):
        r = sync(client, src, fc(feat("O-1", height_m=99), feat("O-2", LON + 1e-4)), key=key, api_keys=api_keys,
                 collection=collection)
        problem(r, 403)
    # a gzip body, NDJSON and a wrong key: still 403 before anything is read or written
    r = sync(client, src, gzip.compress(nd(feat("O-3"))), ctype=NDJSON, key="city_lights", api_keys=api_keys,
             headers={"Content-Encoding": "gzip"})
    problem(r, 403)
    after = rows(conn, src)
    assert after.keys() == before.keys() and after["O-1"]["version"] == 1 and after["O-1"]["height_m"] == 6.0
    assert rows(conn, src, "charging_point") == {}


# ------------------------------------------------------------------------------------------- files via sync push
def _push(live_server: str, key: str, path, src: str, tmp_path, *extra: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    kf = tmp_path / "key.txt"
    kf.write_text(key + "\r\n")
    exe = Path(sys.executable).with_name("netzatlas")
    return subprocess.run([str(exe), "sync", "push", str(path), "--collection", "streetlight", "--source", src,
                           "--api", live_server, "--key-file", str(kf), "--quiet", *extra],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


def test_32_files_pushed_by_the_cli(live_server, api_keys, conn, src, tmp_path):
    """A GeoJSON export in EPSG:25832 with the legacy crs member, a BOM, German numbers and yes/no texts, and a
    GeoJSON text sequence with RS and CRLF, through ``netzatlas sync push``: stored in place, with their values."""
    x, y = _utm(LON, LAT)
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x + 10 * i, y]},
              "properties": {"Nr": f"FILE-{i}", "Hoehe": f"{7 + i},5", "Dauerstrom": "ja" if i else "nein"}}
             for i in range(3)]
    gj = tmp_path / "leuchten_25832.geojson"
    gj.write_bytes(b"\xef\xbb\xbf" + json.dumps(fc(*feats, crs={"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::25832"}})).encode())
    maps = ("--map", "external_id=Nr", "--map", "height_m=Hoehe", "--map", "permanent_power=Dauerstrom")
    run = _push(live_server, api_keys["stawag"], gj, src, tmp_path, *maps)
    assert run.returncode == 0, run.stdout + run.stderr
    stored = rows(conn, src)
    assert {e: (r["height_m"], r["permanent_power"]) for e, r in stored.items()} == {
        "FILE-0": (7.5, False), "FILE-1": (8.5, True), "FILE-2": (9.5, True)}
    assert stored["FILE-0"]["lon"] == pytest.approx(LON, abs=1e-7)
    again = _push(live_server, api_keys["stawag"], gj, src, tmp_path, *maps)
    assert again.returncode == 0 and "replayed" in again.stdout, again.stdout + again.stderr
    seq = tmp_path / "leuchten.geojsons"
    seq.write_bytes(b"".join(b"\x1e" + json.dumps(feat(f"SEQ-{i}", LON + i * 1e-4, height_m=6)).encode() + b"\r\n"
                             for i in range(2)))
    src2 = src + "-seq"
    run = _push(live_server, api_keys["stawag"], seq, src2, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(rows(conn, src2)) == {"SEQ-0", "SEQ-1"}
    assert all(history(conn, r["id"]) == ["INSERT"] for r in rows(conn, src).values())
