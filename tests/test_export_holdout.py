"""Hold-out: `netzatlas export` and the reports' German Excel CSV opened the way their users open them.

Charging points with what real data has (text with ``;``, quotes, newlines, tabs, umlauts, emoji, a leading ``=``
``+`` ``-`` ``@``; ids with leading zeros; many decimals, 1e-7, negative zero, NaN, the largest integer; dates and
instants; booleans with NULLs; text[] and nested jsonb; NULL beside empty text; 100,000 characters; a soft-deleted
row) are exported through the CLI and read back with pyogrio / GDAL, ``json`` and the ``csv`` module. Every case is
written and read back the same, or refused with a clear message (exit 2, no traceback)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import shutil
import sqlite3
import subprocess
import uuid

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

NAME = 'a;b "q"\nzweite\ttab Straße 😀'
LONG = "x" * 100_000
INSTANT = dt.datetime(2024, 6, 1, 10, 34, 56, 789000, tzinfo=dt.UTC)  # stored as 12:34:56.789+02


@pytest.fixture(scope="module")
def cli(db_url):
    from netzatlas.cli.main import app

    runner = CliRunner()

    def run(*args: str):
        res = runner.invoke(app, [str(a) for a in args])
        assert res.exception is None or isinstance(res.exception, SystemExit), (res.output, res.exc_info)
        return res

    return run


@pytest.fixture(scope="module")
def chargers(db_url):
    """Five charging points of their own source (one soft-deleted); removed afterwards."""
    from netzatlas.registry.db import connect

    src = f"holdout-{uuid.uuid4().hex[:8]}"
    pt = "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 25832)"
    rows = [  # external_id, name, operator, charge_points, power_kw, commissioned, properties, publish, facilities,
        #       ocpi_last_updated, charging_when_closed, lon, lat
        ("007", NAME, '=HYPERLINK("http://x")', 2, 22.123456789012345, "2024-02-29",
         '{"nested": {"a": [1, 2, {"b": null}]}, "ü": "ö"}', True, ["PARKING_LOT", "CAFE"],
         "2024-06-01 12:34:56.789+02", None, 6.0839, 50.7753),
        ("008", "", "+49 241 123", 0, 1e-7, None, "{}", False, [], None, True, 6.08, 50.77),
        ("009", None, "-1+2", 2147483647, float("nan"), "1900-01-01", "{}", True, [], "2024-12-31 23:59:59+00",
         False, 6.09, 50.78),
        ("010", "[1, 2]", LONG, None, -0.0, "2026-12-01", "[1, 2]", True, ["a;b", 'c"d'], None, None, 6.07, 50.76),
        ("011", "gelöscht", "@SUM(A1)", 1, 1e300, None, "{}", True, [], None, None, 6.071, 50.761),
    ]
    with connect(db_url) as c:
        for r in rows:
            c.execute(
                "INSERT INTO registry.charging_point (source, external_id, owner_org, name, operator, charge_points, "
                "power_kw, commissioned, properties, publish, facilities, ocpi_last_updated, charging_when_closed, "
                f"geom) VALUES (%s, %s, 'city', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {pt})", (src, *r))
        c.execute("UPDATE registry.charging_point SET deleted_at = now() WHERE source = %s AND external_id = '011'",
                  (src,))
        c.commit()
    yield src
    with connect(db_url) as c:
        c.execute("DELETE FROM registry.charging_point WHERE source = %s", (src,))
        c.commit()


def _ours(records: list[dict], src: str) -> dict[str, dict]:
    return {r["external_id"]: r for r in records if r["source"] == src}


def _refused(res, *words: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "Error" in res.output, res.output
    for w in words:
        assert w in res.output, res.output


# ------------------------------------------------------------------ GeoPackage
def test_gpkg_keeps_the_registry_types_and_every_value(cli, chargers, tmp_path):
    """Integers stay integers (also beside NULLs), dates Date, instants DateTime in UTC to the millisecond,
    booleans with NULLs Boolean; text, floats and JSON come back exactly; CRS and geometry type as stored."""
    out = tmp_path / "ladepunkte.gpkg"
    res = cli("export", "charging_point", out, "--quiet")
    assert res.exit_code == 0, res.output
    info = pyogrio.read_info(out, layer="charging_point")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["charge_points"] == "int64" and types["version"] == "int64"
    assert types["power_kw"] == "float64"
    assert types["commissioned"] == "datetime64[D]"  # an OGR Date field
    assert types["created_at"].startswith("datetime64") and types["ocpi_last_updated"].startswith("datetime64")
    assert types["publish"] == "bool" and types["charging_when_closed"] == "bool"
    assert info["geometry_type"] == "Point" and info["crs"] == "EPSG:25832"
    with sqlite3.connect(out) as db:  # as a GeoPackage reader sees the columns and the values
        db.row_factory = sqlite3.Row
        decl = {r["name"]: r["type"] for r in db.execute("PRAGMA table_info(charging_point)")}
        raw = {r["external_id"]: dict(r) for r in db.execute(
            "SELECT * FROM charging_point WHERE source = ?", (chargers,))}
    assert decl["commissioned"] == "DATE" and decl["charge_points"] in ("INTEGER", "MEDIUMINT", "BIGINT")
    assert decl["charging_when_closed"] == "BOOLEAN" and decl["created_at"] == "DATETIME"
    assert set(raw) == {"007", "008", "009", "010"}  # the soft-deleted 011 is left out
    a, b, c, d = raw["007"], raw["008"], raw["009"], raw["010"]
    assert a["name"] == NAME and a["operator"] == '=HYPERLINK("http://x")' and d["operator"] == LONG
    assert b["name"] == "" and c["name"] is None  # empty text and NULL stay apart
    assert a["charge_points"] == 2 and c["charge_points"] == 2147483647 and d["charge_points"] is None
    assert a["power_kw"] == 22.123456789012345 and b["power_kw"] == 1e-7
    # SQLite stores a whole REAL as an integer: -0.0 comes back as 0.0 (equal); NaN as NULL
    assert d["power_kw"] == 0.0 and isinstance(d["power_kw"], float) and c["power_kw"] is None
    assert a["commissioned"] == "2024-02-29" and c["commissioned"] == "1900-01-01" and b["commissioned"] is None
    assert dt.datetime.fromisoformat(a["ocpi_last_updated"]) == INSTANT
    assert (a["publish"], b["publish"]) == (1, 0) and (a["charging_when_closed"], b["charging_when_closed"],
                                                      c["charging_when_closed"]) == (None, 1, 0)
    assert json.loads(a["properties"]) == {"nested": {"a": [1, 2, {"b": None}]}, "ü": "ö"}
    assert json.loads(d["properties"]) == [1, 2] and json.loads(d["facilities"]) == ["a;b", 'c"d']
    assert d["name"] == "[1, 2]"
    back = pyogrio.read_dataframe(out, layer="charging_point", where=f"source = '{chargers}'")
    assert back.set_index("external_id").loc["009", "commissioned"] == pd.Timestamp("1900-01-01")
    if shutil.which("ogrinfo"):
        text = subprocess.run(["ogrinfo", "-so", str(out), "charging_point"], capture_output=True, text=True).stdout
        assert "commissioned: Date" in text and "charge_points: Integer" in text and "Geometry: Point" in text


def test_gpkg_of_a_layer_without_rows_still_has_its_types(cli, conn, tmp_path):
    """No rows: the GeoPackage still declares the geometry type and the field types (not everything text)."""
    n = conn.execute("SELECT count(*) AS n FROM registry.municipal_property WHERE deleted_at IS NULL").fetchone()["n"]
    if n:
        pytest.skip("municipal_property has rows in this session")
    out = tmp_path / "leer.gpkg"
    res = cli("export", "municipal_property", out, "--quiet")
    assert res.exit_code == 0 and "wrote 0 municipal_property features" in res.output, res.output
    info = pyogrio.read_info(out)
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert info["features"] == 0 and info["geometry_type"] == "MultiPolygon" and info["crs"] == "EPSG:25832"
    assert types["antennas_allowed"] == "bool" and types["version"] == "int64"
    assert types["created_at"].startswith("datetime64")


def test_gpkg_existing_file_layer_replaced_others_kept_and_a_foreign_file_refused(cli, chargers, tmp_path):
    out = tmp_path / "atlas.gpkg"
    assert cli("export", "streetlight", out, "--quiet").exit_code == 0
    for _ in range(2):
        res = cli("export", "charging_point", out, "--quiet")
        assert res.exit_code == 0, res.output
    assert "charging_point replaced, other layers kept" in res.output
    assert {name for name, _ in pyogrio.list_layers(out)} == {"streetlight", "charging_point"}
    assert len(pyogrio.read_dataframe(out, layer="charging_point", where=f"source = '{chargers}'")) == 4
    foreign = tmp_path / "notiz.gpkg"
    foreign.write_text("meine Notizen")
    _refused(cli("export", "charging_point", foreign), "not a GeoPackage")
    assert foreign.read_text() == "meine Notizen"


# ------------------------------------------------------------------ GeoJSON
def test_geojson_is_rfc7946_and_reads_back_the_same(cli, chargers, tmp_path):
    """lon/lat WGS 84 without a ``crs`` member, strict JSON (no NaN), text that looks like JSON stays text,
    jsonb and text[] as JSON, integers as integers, instants in UTC (RFC 3339), dates, booleans, NULLs."""
    out = tmp_path / "ladepunkte.geojson"
    res = cli("export", "charging_point", out, "--quiet")
    assert res.exit_code == 0, res.output

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    doc = json.loads(out.read_text(encoding="utf-8"), parse_constant=no_constants)
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    feats = {f["properties"]["external_id"]: f for f in doc["features"]
             if f["properties"]["source"] == chargers}
    assert set(feats) == {"007", "008", "009", "010"}
    a, b, c, d = (feats[k]["properties"] for k in ("007", "008", "009", "010"))
    assert feats["007"]["geometry"] == {"type": "Point", "coordinates": [6.0839, 50.7753]}
    assert a["name"] == NAME and a["operator"] == '=HYPERLINK("http://x")' and d["operator"] == LONG
    assert d["name"] == "[1, 2]" and d["properties"] == [1, 2]  # text stays text; jsonb stays JSON
    assert a["properties"] == {"nested": {"a": [1, 2, {"b": None}]}, "ü": "ö"}
    assert a["facilities"] == ["PARKING_LOT", "CAFE"] and d["facilities"] == ["a;b", 'c"d']
    assert b["name"] == "" and c["name"] is None
    assert type(a["charge_points"]) is int and c["charge_points"] == 2147483647 and d["charge_points"] is None
    assert a["power_kw"] == 22.123456789012345 and b["power_kw"] == 1e-7 and c["power_kw"] is None
    assert math.copysign(1, d["power_kw"]) == -1
    assert a["commissioned"] == "2024-02-29" and b["commissioned"] is None
    assert a["ocpi_last_updated"].endswith("Z") and dt.datetime.fromisoformat(a["ocpi_last_updated"]) == INSTANT
    assert (a["publish"], b["publish"], a["charging_when_closed"], b["charging_when_closed"]) == \
        (True, False, None, True)
    assert a["deleted_at"] is None
    back = pyogrio.read_dataframe(out)
    assert back.crs.to_epsg() == 4326 and len(back) == len(doc["features"])
    types = dict(zip(*(pyogrio.read_info(out)[k] for k in ("fields", "dtypes")), strict=True))
    assert types["name"] == "object" and types["commissioned"] == "datetime64[D]"


# ------------------------------------------------------------------ CSV (the export's, comma separated)
def test_csv_reads_back_the_same_with_the_csv_module(cli, chargers, tmp_path):
    out = tmp_path / "ladepunkte.csv"
    assert cli("export", "charging_point", out, "--quiet").exit_code == 0
    with out.open(newline="", encoding="utf-8") as f:
        rows = _ours(list(csv.DictReader(f)), chargers)
    assert set(rows) == {"007", "008", "009", "010"}
    a, b, c, d = (rows[k] for k in ("007", "008", "009", "010"))
    assert a["name"] == NAME and a["operator"] == '=HYPERLINK("http://x")' and d["operator"] == LONG
    assert (a["charge_points"], c["charge_points"], d["charge_points"]) == ("2", "2147483647", "")  # not 2.0
    assert float(a["power_kw"]) == 22.123456789012345 and float(b["power_kw"]) == 1e-7
    assert a["commissioned"] == "2024-02-29"
    assert dt.datetime.fromisoformat(a["ocpi_last_updated"]) == INSTANT  # the milliseconds kept
    assert dt.datetime.fromisoformat(a["created_at"]).utcoffset() == dt.timedelta(0)
    assert json.loads(a["properties"])["nested"] == {"a": [1, 2, {"b": None}]}
    assert (float(a["lon"]), float(a["lat"])) == (6.0839, 50.7753)
    assert (b["charging_when_closed"], c["charging_when_closed"], d["charging_when_closed"]) == ("True", "False", "")


def test_soft_deleted_rows_left_out_and_said_unless_asked_for(cli, chargers, tmp_path):
    res = cli("export", "charging_point", tmp_path / "a.csv", "--quiet")
    assert "soft-deleted rows left out, --include-deleted adds them" in res.output, res.output
    res = cli("export", "charging_point", tmp_path / "b.csv", "--include-deleted", "--quiet")
    assert res.exit_code == 0 and "soft-deleted rows included" in res.output, res.output
    rows = _ours(list(csv.DictReader((tmp_path / "b.csv").open(newline="", encoding="utf-8"))), chargers)
    assert rows["011"]["deleted_at"] and float(rows["011"]["power_kw"]) == 1e300


# ------------------------------------------------------------------ paths
def test_paths_new_folders_and_names_with_spaces_and_umlauts_are_written(cli, chargers, tmp_path):
    out = tmp_path / "neuer Ordner" / "Ümläute ß" / "Ladepunkte Aachen.geojson"
    res = cli("export", "charging_point", out, "--quiet")
    assert res.exit_code == 0 and out.is_file(), res.output
    out.write_text("alt")
    res = cli("export", "charging_point", out, "--quiet")
    assert res.exit_code == 0 and "the file existed and was replaced" in res.output, res.output
    assert json.loads(out.read_text(encoding="utf-8"))["type"] == "FeatureCollection"


@pytest.mark.parametrize(("target", "extra", "words"), [
    ("ladepunkte.ods", [], ["cannot write the format of ladepunkte.ods", ".gpkg, .geojson, .csv or .xlsx"]),
    ("ladepunkte.csv", ["--format", "xls"], ["cannot write the format 'xls'"]),
    ("ladepunkte.gpkg", ["--crs", "EPSG:99999"], ["unknown CRS 'EPSG:99999'"]),
    ("ordner.csv", [], ["is a folder"]),
    ("eine_datei/x.csv", [], ["cannot write"]),
])
def test_what_cannot_be_written_is_refused_clearly(cli, chargers, tmp_path, target, extra, words):
    (tmp_path / "ordner.csv").mkdir()
    (tmp_path / "eine_datei").write_text("")
    _refused(cli("export", "charging_point", tmp_path / target, *extra, "--quiet"), *words)
    assert not (tmp_path / target).is_file() or target == "eine_datei/x.csv"


# ------------------------------------------------------------------ the reports' CSV for German Excel
def test_excel_csv_cells_are_what_german_excel_shows(tmp_path):
    """``;``, decimal comma, BOM; text that Excel would run as a formula gets a leading ``'`` (OWASP), numbers
    (also negative) stay numbers, booleans with gaps are ja/nein/empty, text with ``;``/quotes/newlines stays whole."""
    from netzatlas.reports.outputs import write_excel_csv

    df = pd.DataFrame({
        "name": ['=HYPERLINK("http://x")', "+49 241 123", "-1+2", "@SUM(A1)", NAME, "007", None, "-95"],
        "wert": [-5.5, 1e-7, -0.0, 12.5, float("inf"), 1e15, float("nan"), 1.0],
        "anzahl": [-5, 0, 1, 2, 3, 4, 5, 6],
        "frei": [True, False, None, True, None, False, True, False],
    })
    path = write_excel_csv(df, tmp_path / "excel.csv", {"name": "Name / name"})
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[0] == ["Name / name", "wert", "anzahl", "frei"]
    names = [r[0] for r in rows[1:]]
    assert names == ["'=HYPERLINK(\"http://x\")", "'+49 241 123", "'-1+2", "'@SUM(A1)", NAME, "007", "", "-95"]
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names[:-1])  # a signed number is no formula
    assert [r[1] for r in rows[1:]][:4] == ["-5,5", "1e-07", "-0,0", "12,5"]
    assert [r[1] for r in rows[1:]][4] == "" and [r[1] for r in rows[1:]][6] == ""
    assert [r[2] for r in rows[1:]] == ["-5", "0", "1", "2", "3", "4", "5", "6"]
    assert [r[3] for r in rows[1:]] == ["ja", "nein", "", "ja", "", "nein", "ja", "nein"]
