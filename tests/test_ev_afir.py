"""AFIR checks: the vehicle count reader (KBA FZ1/FZ3 layouts), the pure target and payment rules against hand
computed values, ``netzatlas import vehicles`` (idempotent, history, all-or-nothing) and ``netzatlas charging
afir`` on the Aachen demo registry (the report, its CSVs and the inputs' dates).

Named ``test_ev_…`` so that it runs after the API tests: it loads the Aachen demo into the shared test database,
and its planted chargers lie where the API tests look."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box
from typer.testing import CliRunner

from netzatlas.charging.afir import (
    adhoc_card,
    fleet_check,
    fleet_target_kw,
    installed_per_region,
    payment_check,
    payment_methods,
)
from netzatlas.errors import FileFormatError
from netzatlas.registry.importers.vehicles import read_vehicle_counts, region_key

ROOT = Path(__file__).resolve().parent.parent
DEMO_COUNTS = ROOT / "data" / "aachen" / "kba" / "fz3_pkw_energiequellen_staedteregion_aachen_2024-01-01_SIMULIERT.csv"
FZ1_XLSX = Path(__file__).parent / "data" / "kba" / "fz1_zulassungsbezirke_2025-01-01_SIMULIERT.xlsx"


def _run(*args: str):
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _table(path: Path, rows: list[tuple[str, str, str, str, str]], title: str = "Stichtag: 01.01.2026") -> Path:
    """A small FZ3-shaped CSV (Windows-1252, ';', thousands with '.')."""
    lines = ["Kraftfahrt-Bundesamt, Testtabelle;;;;", title + ";;;;", ";;;;",
             "Gemeindeschlüssel;Gemeinde;Pkw insgesamt;Elektro (BEV);Plug-in-Hybrid",
             *(";".join(r) for r in rows), "Insgesamt;;;;"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


# ---------------------------------------------------------------- reading (no database)
def test_the_demo_table_fz3_by_gemeinde():
    v = read_vehicle_counts(DEMO_COUNTS)
    assert str(v.stichtag) == "2024-01-01" and v.simulated and not v.rejects
    assert len(v.rows) == 10 and set(v.rows.region_level) == {"gemeinde"}
    aachen = v.rows.set_index("region_key").loc["05334002"]
    assert (aachen["name"], aachen["cars_total"], aachen["bev"], aachen["phev"]) == ("Aachen, Stadt", 121874, 4127,
                                                                                       2986)
    assert any("without a regional key" in n for n in v.notes)  # the district sum and the footnote


def test_fz1_xlsx_by_district_with_numeric_keys_and_a_bad_row():
    v = read_vehicle_counts(FZ1_XLSX)
    assert str(v.stichtag) == "2025-01-01"  # "Stand: 1. Januar 2025"
    assert v.rows.region_key.tolist() == ["05334", "05354", "05358"]  # leading zero restored
    assert set(v.rows.region_level) == {"zulassungsbezirk"}
    # "Hybrid (ohne Plug-in)" is not taken for the PHEV column
    assert v.rows.set_index("region_key").loc["05334", ["bev", "phev"]].tolist() == [10233, 7104]
    assert [(r.row, r.external_id) for r in v.rejects] == [(9, "09162")] and "no count" in v.rejects[0].reason


def test_region_keys_and_refusals(tmp_path):
    assert region_key("053340002002") == ("05334002", "gemeinde")  # an ARS becomes its AGS
    assert region_key(5334002) == ("05334002", "gemeinde") and region_key("Insgesamt") is None
    no_date = _table(tmp_path / "t.csv", [("09999001", "X", "10", "1", "1")], title="ohne Datum")
    v = read_vehicle_counts(no_date)
    assert not len(v.rows) and "no Stichtag" in v.rejects[0].reason
    assert len(read_vehicle_counts(no_date, stichtag=pd.Timestamp("2026-01-01").date()).rows) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("Name;Wert\nA;1\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="no header row"):
        read_vehicle_counts(bad)


# ---------------------------------------------------------------- the rules (pure)
def test_fleet_target_and_installed_power_hand_computed():
    assert fleet_target_kw(1000, 500) == pytest.approx(1300 + 400)
    munis = gpd.GeoDataFrame({"ars": ["099990001001", "099990002002"]},
                             geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs="EPSG:25832")
    chargers = gpd.GeoDataFrame({"power_kw": [22.0, 150.0, None, 11.0], "charge_points": [2, 2, 1, 1]},
                                geometry=[Point(10, 10), Point(500, 500), Point(600, 600), Point(5000, 5000)],
                                crs="EPSG:25832")
    inst = installed_per_region(chargers, munis).set_index("region_key")
    assert inst.loc["09999001", ["chargers", "charge_points", "installed_kw", "kw_missing"]].tolist() == [3, 5, 172.0,
                                                                                                          1]
    assert inst.loc["09999002", "installed_kw"] == 0.0
    counts = pd.DataFrame({"region_key": ["09999001", "09999002", "09999003"], "name": ["A", "B", "C"],
                           "stichtag": ["2026-01-01"] * 3, "bev": [100, 10, 5], "phev": [50, 0, 0]})
    out = fleet_check(counts, inst.reset_index()).set_index("region_key")
    assert out.loc["09999001", "target_kw"] == pytest.approx(170.0) and out.loc["09999001", "met"] is True
    assert out.loc["09999002", "met"] is False and out.loc["09999002", "shortfall_kw"] == pytest.approx(13.0)
    assert out.loc["09999003", "met"] is None and pd.isna(out.loc["09999003", "installed_kw"])  # no boundary


def test_payment_rules():
    assert payment_methods({"Bezahlsysteme": "RFID-Karte;App"}) == ["RFID-Karte", "App"]
    assert adhoc_card(["RFID-Karte", "App"]) is False and adhoc_card(["Kreditkarte"]) is True
    assert adhoc_card(["Kostenlos"]) is True and adhoc_card(None) is None
    assert adhoc_card(payment_methods({"payment:credit_cards": "yes", "payment:app": "yes"})) is True
    assert adhoc_card(payment_methods({"payment:membership_card": "yes"})) is False
    assert adhoc_card(payment_methods({"capabilities": ["RFID_READER", "CONTACTLESS_CARD_PAYABLE"]})) is True
    assert payment_methods({"capabilities": ["RFID_READER"]}) is None  # says nothing about payment
    chargers = pd.DataFrame({
        "external_id": ["slow", "fast-rfid", "fast-card", "fast-nodata", "plugs"],
        "power_kw": [22.0, 150.0, 50.0, 300.0, 100.0], "charge_points": [2, 2, 1, 4, 2],
        "properties": [{"Bezahlsysteme": "App"}, {"Bezahlsysteme": "RFID-Karte;App"}, {"Bezahlsysteme": "Debitkarte"},
                       {}, {"Bezahlsysteme": "App", "plugs": [{"point": 1, "power_kw": [22.0]},
                                                              {"point": 2, "power_kw": [11.0]}]}]})
    out = payment_check(chargers).set_index("external_id")
    assert sorted(out.index) == ["fast-card", "fast-nodata", "fast-rfid"]  # "plugs": its points are 22 and 11 kW
    assert out.loc["fast-rfid", "flagged"] and not out.loc["fast-card", "flagged"]
    assert not out.loc["fast-nodata", "flagged"] and out.loc["fast-nodata", "adhoc_card"] is None
    assert out.loc["fast-nodata", "points_50kw"] == 4


# ---------------------------------------------------------------- the import (database)
def _rows(conn, source: str) -> dict[str, tuple]:
    rows = conn.execute("SELECT region_key, stichtag::text AS d, bev, phev, version FROM registry.vehicle_count "
                        "WHERE source = %s", [source]).fetchall()
    conn.rollback()
    return {r["region_key"]: (r["d"], r["bev"], r["phev"], r["version"]) for r in rows}


def test_import_vehicles_is_idempotent_keeps_history_and_refuses_bad_tables(db_url, conn, tmp_path):
    source = f"kba-test-{uuid.uuid4().hex[:8]}"
    rows = [("09999001", "Testdorf", "12.345", "1.234", "567"), ("09999002", "Testheim", "2.000", "-", "12")]
    first = _table(tmp_path / "fz3.csv", rows)
    r = _run("import", "vehicles", str(first), "--source", source)
    assert r.exit_code == 0, r.output
    assert _rows(conn, source) == {"09999001": ("2026-01-01", 1234, 567, 1), "09999002": ("2026-01-01", 0, 12, 1)}
    changes = conn.execute("SELECT count(*) AS n FROM audit.change WHERE table_name = 'registry.vehicle_count'"
                           ).fetchone()["n"]
    conn.rollback()
    again = _run("import", "vehicles", str(first), "--source", source)  # the same table: nothing changes
    assert again.exit_code == 0 and "created" in again.output
    assert _rows(conn, source)["09999001"][3] == 1
    assert conn.execute("SELECT count(*) AS n FROM audit.change WHERE table_name = 'registry.vehicle_count'"
                        ).fetchone()["n"] == changes
    conn.rollback()
    fixed = _table(tmp_path / "fz3_korrigiert.csv", [("09999001", "Testdorf", "12.345", "1.240", "567"), rows[1]])
    assert _run("import", "vehicles", str(fixed), "--source", source).exit_code == 0
    assert _rows(conn, source)["09999001"] == ("2026-01-01", 1240, 567, 2)
    hist = conn.execute("SELECT c.operation, audit.image_json(c.before, c.row_id)->>'bev' AS bev FROM audit.change c "
                        "JOIN registry.vehicle_count v ON v.id = c.row_id WHERE v.source = %s "
                        "AND v.region_key = '09999001' ORDER BY c.seq", [source]).fetchall()
    conn.rollback()
    assert [(h["operation"], h["bev"]) for h in hist] == [("INSERT", None), ("UPDATE", "1234")]
    # a bad row refuses the whole table (exit 2, nothing written); --skip-invalid imports the rest
    bad = _table(tmp_path / "fz3_bad.csv", [("09999001", "Testdorf", "12.345", "1.300", "567"),
                                            ("09999002", "Testheim", "2.000", "viele", "12")])
    refused = _run("import", "vehicles", str(bad), "--source", source)
    assert refused.exit_code == 2 and "09999002" in refused.output and "no count" in refused.output
    assert _rows(conn, source)["09999001"] == ("2026-01-01", 1240, 567, 2)
    assert _run("import", "vehicles", str(bad), "--source", source, "--skip-invalid").exit_code == 0
    assert _rows(conn, source)["09999001"] == ("2026-01-01", 1300, 567, 3)
    batch = conn.execute("SELECT details FROM audit.batch WHERE source = %s AND finished_at IS NOT NULL "
                         "ORDER BY finished_at DESC LIMIT 1", [source]).fetchone()["details"]
    conn.rollback()
    assert batch["vintage"] == "Stichtag 01.01.2026" and batch["files"] == ["fz3_bad.csv"]


# ---------------------------------------------------------------- the report (demo registry)
def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def test_afir_report_on_the_demo_registry(aachen_loaded, conn, tmp_path):
    from netzatlas.registry.importers.load import load_layers

    source = f"afir-test-{uuid.uuid4().hex[:8]}"
    planted = gpd.GeoDataFrame({
        "external_id": ["HPC-RFID", "HPC-CARD", "HPC-NODATA"], "name": [f"{source} {i}" for i in range(3)],
        "operator": ["Test"] * 3, "charge_points": [2, 2, 2], "power_kw": [300.0, 150.0, 100.0],
        "properties": [{"Bezahlsysteme": "RFID-Karte;App"}, {"Bezahlsysteme": "Kreditkarte;RFID-Karte"}, {}]},
        geometry=[Point(6.0839, 50.7753), Point(6.0850, 50.7760), Point(6.0860, 50.7770)], crs="EPSG:4326")
    load_layers({"charging_point": planted}, source=source, kind="test", owner_org="city", url=aachen_loaded)
    assert _run("import", "vehicles", str(DEMO_COUNTS)).exit_code == 0
    r = _run("charging", "afir", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    fleet = {row["Gemeindeschlüssel / AGS"]: row for row in _read_csv(tmp_path / "charging_afir.csv")}
    assert len(fleet) >= 10
    aachen = fleet["05334002"]
    assert float(aachen["AFIR-Ziel (kW) / target (kW)"].replace(",", ".")) == pytest.approx(1.3 * 4127 + 0.8 * 2986)
    # the installed public power inside Aachen, counted independently in SQL (conflated OSM stations once)
    kw = conn.execute(
        "SELECT coalesce(sum(c.power_kw), 0) AS kw FROM registry.charging_point c WHERE c.status = 'active' "
        "AND c.deleted_at IS NULL AND c.id NOT IN (SELECT id_a FROM registry.asset_link "
        "WHERE table_name = 'registry.charging_point') AND EXISTS (SELECT 1 FROM registry.municipality m "
        "WHERE m.ars = '053340002002' AND m.deleted_at IS NULL AND ST_Within(c.geom, m.geom))").fetchone()["kw"]
    conn.rollback()
    installed = float(aachen["öffentlich installiert (kW) / installed public (kW)"].replace(",", "."))
    assert installed == pytest.approx(float(kw), abs=0.01) and installed >= 550.0  # our three at least
    assert aachen["erfüllt / met"] in ("ja", "nein")
    assert fleet["05334004"]["erfüllt / met"] == "unbekannt" or fleet["05334004"]["erfüllt / met"] in ("ja", "nein")
    pay = {row["Kennung / id"]: row for row in _read_csv(tmp_path / "charging_afir_payment.csv")
           if row["Quelle / source"] == source}
    assert pay["HPC-RFID"]["auffällig / flagged"] == "ja" and pay["HPC-CARD"]["auffällig / flagged"] == "nein"
    assert pay["HPC-NODATA"]["Kartenzahlung / card payment"] == "keine Angabe"
    html = (tmp_path / "charging_afir.html").read_text()
    assert "Stichtag 01.01.2024" in html and "19.07.2019" in html  # the inputs' dates: counts and register
    assert "SIMULIERT" in html and f"{source} 0" in html
    layers = gpd.list_layers(tmp_path / "charging_afir.gpkg")["name"].tolist()
    assert {"payment_50kw", "fleet_target", "quellen_sources"} <= set(layers)
