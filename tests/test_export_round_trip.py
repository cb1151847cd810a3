"""Export → (edit) → import again, as a GIS analyst or a utility does it, in every export format.

A layer exported with ``netzatlas export`` and imported again unchanged under its source must change nothing: no
update, no new version, no history row — its ``properties`` kept (they were dropped on re-import before: every
feature lost its other attributes) and its geometries kept (lon/lat written to 7–8 decimals is within
``store.GEOMETRY_TOLERANCE_M`` of the stored point). An edit made in the file changes exactly that feature."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from tests.test_gigabit_holdout import scratch_registry

SOURCE = "stadtwerke"
N = 12


def _run(*args: object):
    from netzatlas.cli.main import app

    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), (res.output, res.exc_info)
    return res


def _counts(output: str) -> list[int]:
    line = next(ln for ln in output.splitlines() if ln.startswith("│ streetlight"))
    return [int(x.strip().replace(",", "")) for x in line.split("│")[2:6]]


def _state(url: str) -> tuple[list[tuple], int]:
    import psycopg

    with psycopg.connect(url) as c:
        rows = c.execute("SELECT external_id, version, height_m, properties, ST_AsEWKB(geom) FROM registry.streetlight "
                         "ORDER BY external_id").fetchall()
        changes = c.execute("SELECT count(*) FROM audit.change WHERE table_name = 'registry.streetlight'").fetchone()
    return rows, changes[0]


@pytest.fixture(scope="module")
def registry(db_url, tmp_path_factory):
    """A registry of its own holding twelve streetlights of one source, with other attributes (properties) of
    every kind and coordinates to 12 decimals, imported from GeoJSON."""
    folder = tmp_path_factory.mktemp("roundtrip")
    features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [6.07 + i * 0.001234567891, 50.77 + i * 0.000987654321]},
        "properties": {"LAMP_ID": f"SL-{i:03d}", "height_m": 4.5 + i, "Betreiber": "STAWAG Straßenlicht",
                       "Mast": {"material": "Stahl", "baujahr": 1990 + i}, "Leuchten": ["LED", "NAV"][: 1 + i % 2],
                       "Bemerkung": 'a;b "q"' if i == 3 else None},
    } for i in range(N)]
    src = folder / "lampen.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    with scratch_registry() as url:
        res = _run("import", "file", src, "--layer", "streetlight", "--source", SOURCE, "--map", "external_id=LAMP_ID")
        assert res.exit_code == 0 and _counts(res.output) == [N, 0, 0, 0], res.output
        yield url, folder


@pytest.mark.parametrize("suffix", [".gpkg", ".csv", ".geojson", ".xlsx"])
def test_an_unchanged_export_imported_again_changes_nothing(registry, suffix):
    url, folder = registry
    before = _state(url)
    assert all(r[3] for r in before[0])  # every lamp has properties to lose
    out = folder / f"export{suffix}"
    assert _run("export", "streetlight", out, "--quiet").exit_code == 0
    res = _run("import", "file", out, "--layer", "streetlight", "--source", SOURCE)
    assert res.exit_code == 0, res.output
    assert _counts(res.output) == [0, 0, N, 0], res.output
    assert _state(url) == before  # the same rows, versions, properties, geometries (bytes) and history


def test_properties_survive_the_round_trip_as_they_were(registry):
    url, _ = registry
    rows, _ = _state(url)
    props = {r[0]: r[3] for r in rows}
    assert props["SL-003"] == {"Betreiber": "STAWAG Straßenlicht", "Bemerkung": 'a;b "q"',
                               "Leuchten": ["LED", "NAV"], "Mast": {"baujahr": 1993, "material": "Stahl"}}


def test_an_edit_in_the_exported_csv_changes_that_lamp_only(registry):
    url, folder = registry
    out = folder / "bearbeitet.csv"
    assert _run("export", "streetlight", out, "--quiet").exit_code == 0
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["external_id"] == "SL-005":
            r["height_m"] = "12.5"
        if r["external_id"] == "SL-006":
            r["lat"] = str(float(r["lat"]) + 0.00001)  # moved ~1.1 m north: a real move
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    before_rows, before_changes = _state(url)
    res = _run("import", "file", out, "--layer", "streetlight", "--source", SOURCE)
    assert res.exit_code == 0 and _counts(res.output) == [0, 2, N - 2, 0], res.output
    after_rows, after_changes = _state(url)
    assert after_changes == before_changes + 2
    old, new = {r[0]: r for r in before_rows}, {r[0]: r for r in after_rows}
    assert new["SL-005"][2] == 12.5 and new["SL-005"][1] == old["SL-005"][1] + 1
    assert new["SL-005"][4] == old["SL-005"][4]  # its geometry kept as stored (within the tolerance)
    assert new["SL-006"][4] != old["SL-006"][4] and new["SL-006"][1] == old["SL-006"][1] + 1
    assert all(new[k] == old[k] for k in old if k not in ("SL-005", "SL-006"))
    assert new["SL-005"][3] == old["SL-005"][3]  # properties kept through the edit


def test_a_properties_column_that_is_no_json_object_is_refused_with_its_row(registry):
    url, folder = registry
    path = folder / "falsch.csv"
    path.write_text("external_id;lon;lat;properties\nX1;6.08;50.77;{}\nX2;6.081;50.771;Stahlmast\n", encoding="utf-8")
    before = _state(url)
    res = _run("import", "file", path, "--layer", "streetlight", "--source", "falsch")
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "'Stahlmast' is not a JSON object" in res.output and "--map" in res.output
    assert _state(url) == before


def test_a_feature_deleted_in_the_registry_is_left_deleted_and_said(registry):
    """Someone deleted lamp SL-010 in the registry; the utility's file still has it (changed): the import leaves it
    deleted and unchanged, counts it neither as unchanged nor as updated, and says how to bring it back."""
    import psycopg

    url, folder = registry
    with psycopg.connect(url) as c:
        c.execute("UPDATE registry.streetlight SET deleted_at = now() WHERE external_id = 'SL-010'")
    data = json.loads((folder / "lampen.geojson").read_text(encoding="utf-8"))
    for f in data["features"]:
        if f["properties"]["LAMP_ID"] == "SL-010":
            f["properties"]["height_m"] = 99.0
    path = folder / "lampen_neu.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    before_rows, before_changes = _state(url)
    res = _run("import", "file", path, "--layer", "streetlight", "--source", SOURCE, "--map", "external_id=LAMP_ID")
    assert res.exit_code == 0, res.output
    created, updated, unchanged, rejected = _counts(res.output)
    assert (created, rejected) == (0, 0) and updated + unchanged == N - 1, res.output
    assert "1 feature(s) of this file are deleted in the registry" in res.output and "SL-010" in res.output
    assert "netzatlas db restore streetlight" in res.output
    after_rows, after_changes = _state(url)
    old, new = {r[0]: r for r in before_rows}, {r[0]: r for r in after_rows}
    assert new["SL-010"] == old["SL-010"] and new["SL-010"][2] != 99.0
    assert after_changes == before_changes + updated
    with psycopg.connect(url) as c:
        assert c.execute("SELECT deleted_at IS NOT NULL FROM registry.streetlight WHERE external_id = 'SL-010'"
                         ).fetchone()[0]


@pytest.mark.parametrize("suffix", [".gpkg", ".csv", ".geojson", ".xlsx"])
def test_list_values_survive_the_round_trip(registry, suffix):
    """A text[] column (a charger's facilities) is exported as a JSON list and read back as the same list (it came
    back as one element holding the JSON text: ['["PARKING_LOT", "CAFE"]'])."""
    import psycopg

    url, folder = registry
    pt = "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25832)"
    with psycopg.connect(url) as c:
        if not c.execute("SELECT 1 FROM registry.charging_point WHERE source = 'lists'").fetchone():
            for ext, facilities, lon in (("C1", ["PARKING_LOT", "CAFE"], 6.08), ("C2", [], 6.081),
                                         ("C3", ["a;b", 'c"d', "x,y"], 6.082)):
                c.execute(f"INSERT INTO registry.charging_point (source, external_id, publish, facilities, geom) "
                          f"VALUES ('lists', %s, true, %s, {pt})", (ext, facilities, lon, 50.77))
        before = c.execute("SELECT external_id, facilities, version FROM registry.charging_point "
                           "WHERE source = 'lists' ORDER BY 1").fetchall()
    out = folder / f"lader{suffix}"
    assert _run("export", "charging_point", out, "--quiet").exit_code == 0
    res = _run("import", "file", out, "--layer", "charging_point", "--source", "lists")
    assert res.exit_code == 0, res.output
    with psycopg.connect(url) as c:
        after = c.execute("SELECT external_id, facilities, version FROM registry.charging_point "
                          "WHERE source = 'lists' ORDER BY 1").fetchall()
    assert after == before


def test_a_file_naming_other_sources_is_imported_with_a_warning(registry):
    """A whole-layer export holds a 'source' column; imported under one source, the other sources' features are
    copied into it: said (which sources, how many, and the export --source that gives one source alone)."""
    url, folder = registry
    path = folder / "gemischt.csv"
    path.write_text("external_id;lon;lat;source\nM1;6.08;50.77;osm\nM2;6.081;50.771;osm\nM3;6.082;50.772;mix\n",
                    encoding="utf-8")
    res = _run("import", "file", path, "--layer", "streetlight", "--source", "mix")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "the file's column 'source' names other sources than 'mix': osm (2)" in text
    assert "netzatlas export streetlight FILE --source NAME" in text
