"""The monument list (Denkmalliste) and the municipal property (Liegenschaften) as importable registry layers and
as mast-request criteria: imported with the generic ``netzatlas import file``, served as collections (monuments
public, property confidential), and used by the evaluation — city property from the layer (OSM public buildings
only when it is empty, said so), the heritage penalty inside / near a listed monument — with the weights in the
report and the stored evaluation. The sample files in tests/data/mobile_layers are SIMULATED (see make_samples.py).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from typer.testing import CliRunner

from netzatlas.mobile_sites.criteria import apply_property_and_heritage, criteria_table
from netzatlas.mobile_sites.mast_request import ScoreWeights
from tests.conftest import auth, netzatlas_home

SAMPLES = Path(__file__).parent / "data" / "mobile_layers"
CRS = "EPSG:25832"


def _cands() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"kind": ["candidate_site", "public_building", "streetlight", "existing_mast",
                                      "public_building"],
                             "heritage": [False, True, False, False, False]},
                            geometry=[Point(0, 0), Point(100, 0), Point(200, 0), Point(300, 0), Point(400, 0)],
                            crs=CRS)


def test_city_property_comes_from_the_layer_and_excluded_parcels_do_not_count():
    prop = gpd.GeoDataFrame({"name": ["Rathaus", None], "use": ["Verwaltung", "Schule"],
                             "owner_department": ["FB 23", None], "antennas_allowed": [True, False]},
                            geometry=[box(90, -10, 110, 10), box(190, -10, 210, 10)], crs=CRS)
    out, src = apply_property_and_heritage(_cands(), _cands().iloc[:0], prop)
    assert out["city_property"].tolist() == [True, True, False, False, False]  # offered site, parcel, excluded
    assert out["property_note"].iloc[1] == "city property: Rathaus (FB 23)"
    assert out["property_note"].iloc[2] == "city property, antennas excluded: Schule"
    assert "municipal property layer (2 parcels" in src.city_property and src.property_parcels == 2
    assert "no monument list" in src.heritage


def test_without_a_property_layer_public_buildings_stand_in_and_the_notes_say_so():
    out, src = apply_property_and_heritage(_cands(), _cands().iloc[:0], _cands().iloc[:0])
    assert out["city_property"].tolist() == [True, True, False, False, True]
    assert out["property_note"].iloc[4] == "city property ASSUMED (public building, OSM)"
    assert src.city_property.startswith("ASSUMED: no municipal property layer")


def test_heritage_inside_a_listed_area_or_near_a_listed_point():
    mon = gpd.GeoDataFrame({"name": ["Altstadt", "Ponttor"], "protection_type": ["Denkmalbereich", "Baudenkmal"],
                            "list_number": ["D 1", "A 0520"]},
                           geometry=[box(180, -20, 220, 20), Point(320, 0)], crs=CRS)
    out, src = apply_property_and_heritage(_cands(), mon, _cands().iloc[:0], near_m=25)
    assert out["heritage"].tolist() == [False, True, True, True, False]   # OSM tag, inside the area, 20 m away
    assert out["heritage_note"].iloc[1] == "OSM historic/heritage tag"
    assert out["heritage_note"].iloc[2] == "inside Denkmalbereich Altstadt (Denkmalliste Nr. D 1)"
    assert out["heritage_note"].iloc[3] == "20 m from Baudenkmal Ponttor (Denkmalliste Nr. A 0520)"
    assert src.monuments == 2 and "within 25 m" in src.heritage
    table = {r["criterion"]: r for r in criteria_table(ScoreWeights(), src)}
    assert table["heritage (subtracted)"]["weight"] == -ScoreWeights().heritage
    assert table["city property"]["weight"] == ScoreWeights().city_property
    assert table["heritage (subtracted)"]["source"] == src.heritage


# ---------------------------------------------------------------- through the CLI and the API, on the database
@pytest.fixture(scope="module")
def cli(db_url, tmp_path_factory):
    from netzatlas.cli.main import app

    with netzatlas_home(tmp_path_factory.mktemp("heritage-home")) as home:
        runner = CliRunner()

        def run(*args: str, code: int = 0) -> str:
            res = runner.invoke(app, list(args), catch_exceptions=False)
            assert res.exit_code == code, res.output
            return " ".join(res.output.split())

        yield run, home / "output" / "mobile"


@pytest.fixture(scope="module")
def imported(cli):
    run, _ = cli
    a = run("import", "file", str(SAMPLES / "denkmalliste_sample.csv"), "--layer", "monument", "--crs", "EPSG:25832",
            "--mapping", str(SAMPLES / "denkmalliste_mapping.yaml"), "--source", "denkmalliste-test")
    b = run("import", "file", str(SAMPLES / "municipal_property_sample.gpkg"), "--layer", "municipal_property",
            "--mapping", str(SAMPLES / "municipal_property_mapping.yaml"), "--source", "liegenschaften-test",
            "--owner", "city")
    return a, b


def test_the_sample_layers_import_with_the_generic_importer(cli, imported, conn):
    rows = conn.execute("SELECT external_id, list_number, name, address, protection_type, listed_on, properties, "
                        "ST_GeometryType(geom) AS t FROM registry.monument WHERE source = 'denkmalliste-test' "
                        "ORDER BY external_id::int").fetchall()
    assert len(rows) == 7
    first = rows[0]
    assert (first["list_number"], first["name"], first["address"]) == ("A 0001", "Dom (Marienkirche mit "
                                                                       "Pfalzkapelle)", "Domhof 1")
    assert first["listed_on"] == date(1985, 3, 26) and first["t"] == "ST_Point"
    assert first["properties"]["Hinweis"] == "SIMULIERT (Testdaten)"           # the file says it is simulated
    assert {r["protection_type"] for r in rows} == {"Baudenkmal", "Bodendenkmal"}
    props = conn.execute("SELECT external_id, name, use, owner_department, antennas_allowed, parcel, "
                         "ST_GeometryType(geom) AS t FROM registry.municipal_property WHERE source = "
                         "'liegenschaften-test' ORDER BY external_id").fetchall()
    assert [r["antennas_allowed"] for r in props] == [True, True, False, None, False]
    assert props[0]["name"] == "Verwaltungsgebäude Standesamt" and props[0]["t"] == "ST_MultiPolygon"
    run, _ = cli                                                               # importing again changes nothing
    n = conn.execute("SELECT count(*) AS n FROM audit.change WHERE table_name = 'registry.monument'").fetchone()["n"]
    run("import", "file", str(SAMPLES / "denkmalliste_sample.csv"), "--layer", "monument", "--crs", "EPSG:25832",
        "--mapping", str(SAMPLES / "denkmalliste_mapping.yaml"), "--source", "denkmalliste-test")
    assert conn.execute("SELECT count(*) AS n FROM audit.change WHERE table_name = 'registry.monument'"
                        ).fetchone()["n"] == n


def test_monuments_are_public_and_municipal_property_is_confidential(imported, client, api_keys):
    r = client.get("/collections/monument/items?limit=100")
    assert r.status_code == 200
    names = {f["properties"]["name"] for f in r.json()["features"]}
    assert "Rathaus" in names and "Ponttor" in names
    assert client.get("/collections/municipal_property/items").status_code == 401
    assert client.get("/collections/municipal_property/items", headers=auth(api_keys["reader"])).status_code == 403
    r = client.get("/collections/municipal_property/items?limit=100", headers=auth(api_keys["analyst"]))
    assert r.status_code == 200 and len(r.json()["features"]) >= 5


def test_evaluation_uses_the_layers_and_shows_the_weights(cli, imported, aachen_loaded, conn):
    run, out = cli
    created = run("mobile", "request", "create", "--operator", "Vodafone", "--lon", "6.0839", "--lat", "50.7753",
                  "--radius", "400", "--received", "2026-11-16")
    rid = re.search(r"request ([0-9a-f-]{36}) recorded", created).group(1)
    text = run("mobile", "request", "evaluate", rid[:8])
    assert "Criteria and their weights" in text and "municipal property layer (5 parcels" in text
    assert "monument list (7 entries" in text
    report = (out / "requests" / rid / "report.html").read_text()
    assert "Criteria and their weights" in report and "+0.15" in report and "-0.3" in report
    assert "municipal property layer (5 parcels/buildings)" in report and "Denkmalliste" in report
    cands = gpd.read_file(out / "requests" / rid / "candidates.geojson").set_index("label")

    def one(prefix: str) -> dict:
        hit = [k for k in cands.index if k.startswith(prefix)]
        assert hit, (prefix, list(cands.index))
        return cands.loc[hit[0]]

    standesamt = one("Standesamt Aachen")
    assert bool(standesamt["city_property"]) and standesamt["score_city_property"] == pytest.approx(0.15)
    assert "Verwaltungsgebäude Standesamt" in standesamt["reasons"]
    couven = one("Couven-Museum")     # city-owned, but antennas excluded; 10 m from Haus Fey (listed)
    assert not bool(couven["city_property"]) and "antennas excluded" in couven["property_note"]
    assert bool(couven["heritage"]) and couven["score_heritage"] == pytest.approx(-0.3)
    assert "Haus Fey" in couven["heritage_note"] and "Haus Fey" in couven["reasons"]
    schatz = one("Domschatzkammer")
    assert bool(schatz["heritage"]) and "Domschatzkammer, Kreuzgang" in schatz["heritage_note"]
    ev = conn.execute("SELECT evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone()["evaluation"]
    crit = {c["criterion"]: c for c in ev["criteria"]}
    assert crit["city property"]["weight"] == 0.15 and crit["heritage (subtracted)"]["weight"] == -0.3
    assert "monument list (7 entries" in crit["heritage (subtracted)"]["source"]


def test_the_api_evaluation_returns_the_criteria_with_their_weights(cli, imported, aachen_loaded, client, api_keys,
                                                                    conn):
    h = auth(api_keys["analyst"])
    r = client.post("/collections/mast_request/items", headers=h, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0839, 50.7753]},
        "properties": {"operator": "Telekom", "technology": "LTE", "radius_m": 400, "desired_height_m": 30}})
    assert r.status_code == 201, r.text
    rid = r.headers["location"].rsplit("/", 1)[1]
    r = client.post("/processes/mast-request-evaluation/execution", headers=h, json={"inputs": {"request_id": rid}})
    assert r.status_code == 200, r.text
    crit = {c["criterion"]: c for c in r.json()["criteria"]}
    assert crit["city property"]["weight"] == 0.15 and "municipal property layer" in crit["city property"]["source"]
    assert crit["heritage (subtracted)"]["weight"] == -0.3
    feats = {f["properties"]["label"]: f["properties"] for f in r.json()["candidates"]["features"]}
    couven = next(v for k, v in feats.items() if k.startswith("Couven-Museum"))
    assert couven["heritage"] and "Haus Fey" in couven["heritage_note"]
    row = conn.execute("SELECT status, evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone()
    assert row["status"] == "under_review" and row["evaluation"]["criteria"] == r.json()["criteria"]
