"""The charger model in OCPI 2.2.1's shape: the pydantic models against the spec's recorded examples, the mapping
from the register and OSM, migration 0022 (existing stations kept with their history), the register import
filling EVSEs / connectors, and the bounded status log."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from netzatlas.charging import ocpi_model as m
from netzatlas.errors import InvalidInput
from tests.ocpi_helpers import OCPI_DATA, example
from tests.test_read_charging_register import STAWAG, write_register


@pytest.mark.parametrize("name", sorted(p.name for p in OCPI_DATA.glob("location_example*.json")))
def test_the_specs_location_examples_validate_and_map_to_rows(name):
    loc = m.parse_model(m.Location, example(name), "Location")
    row = m.location_row(loc)
    assert row["external_id"] == f"{loc.country_code}*{loc.party_id}*{loc.id}"
    assert row["charge_points"] == len(loc.evses or [])
    for evse in loc.evses or []:
        assert m.evse_row(evse)["uid"] == evse.uid
        for con in evse.connectors:
            assert m.connector_row(con)["standard"] == con.standard


def test_rows_back_to_ocpi_give_the_recorded_location():
    raw = example("location_example.json")
    loc = m.parse_model(m.Location, raw, "Location")
    station = {**m.location_row(loc), "id": uuid.uuid4(), "lon": 3.729944, "lat": 51.047599}
    evses, cons, statuses = [], {}, {}
    for e in loc.evses:
        r = {**m.evse_row(e), "id": uuid.uuid4()}
        evses.append(r)
        statuses[r["id"]] = r["ocpi_status"]
        cons[r["id"]] = [m.connector_row(c) for c in e.connectors]
    back = m.location_from_rows(station, evses, cons, statuses)
    assert back == raw


def test_invalid_objects_name_their_problems():
    with pytest.raises(InvalidInput, match=r"connectors\.0\.power_type.*max_voltage"):
        m.parse_model(m.EVSE, example("location_put_example_add_evse.json"), "EVSE")
    bad = example("location_example.json")
    bad["evses"][0]["status"] = "BROKEN"
    bad["coordinates"]["latitude"] = "91.0"
    with pytest.raises(InvalidInput, match=r"evses\.0\.status.*|coordinates\.latitude"):
        m.parse_model(m.Location, bad, "Location")


@pytest.mark.parametrize(("value", "ok"), [
    ("BE*BEC*E041503001", True), ("DE*STA*E100234*1", True), ("DESTAE100234", True), ("de*sta*e1", True),
    ("DE*STA*100234", False), ("D*STA*E1", False), ("12345", False), ("DE*STA*E", False)])
def test_emi3_evse_ids(value, ok):
    assert m.valid_evse_id(value) is ok


@pytest.mark.parametrize(("plug", "kw", "want"), [
    ("AC Steckdose Typ 2", 22, ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230, 32, 22000)),
    ("AC Typ 2 Fahrzeugkupplung", 11, ("IEC_62196_T2", "CABLE", "AC_3_PHASE", 230, 16, 11000)),
    ("DC Kupplung Combo", 150, ("IEC_62196_T2_COMBO", "CABLE", "DC", 400, 375, 150000)),
    ("DC CHAdeMO", 50, ("CHADEMO", "CABLE", "DC", 400, 125, 50000)),
    ("AC Schuko", 3.7, ("DOMESTIC_F", "SOCKET", "AC_1_PHASE", 230, 16, 3700)),
    ("AC Kupplung Typ 2", 22, ("IEC_62196_T2", "CABLE", "AC_3_PHASE", 230, 32, 22000)),
    ("AC CEE 5 polig", 11, ("IEC_60309_2_three_16", "SOCKET", "AC_3_PHASE", 230, 16, 11000)),
    ("AC CEE 3 polig", 3.7, ("IEC_60309_2_single_16", "SOCKET", "AC_1_PHASE", 230, 16, 3700)),
    ("type2_combo", None, ("IEC_62196_T2_COMBO", "CABLE", "DC", 400, 0, None)),
])
def test_register_and_osm_plug_names(plug, kw, want):
    c = m.register_connector(plug, kw)
    assert (c["standard"], c["format"], c["power_type"], c["max_voltage"], c["max_amperage"],
            c["max_electric_power"]) == want
    assert m.register_connector("Wasserstoff", 10) is None


def test_station_units_from_register_slots_and_osm_sockets():
    from netzatlas.registry.ocpi_store import station_units

    plugs = [{"point": 1, "types": ["AC Steckdose Typ 2", "AC Schuko"], "power_kw": [22, 3.7],
              "evse_id": "DE*STA*E100234*1"},
             {"point": 2, "types": ["AC Steckdose Typ 2"], "power_kw": [22], "evse_id": "not-an-id"}]
    units = station_units({"properties": {"plugs": plugs}, "power_kw": 22})
    assert [(u["uid"], u["evse_id"], [c["standard"] for c in u["connectors"]]) for u in units] == [
        ("1", "DE*STA*E100234*1", ["IEC_62196_T2", "DOMESTIC_F"]), ("2", None, ["IEC_62196_T2"])]
    osm = station_units({"properties": {"socket:type2": "2", "socket:type2:output": "22 kW",
                                        "socket:chademo": "1", "amenity": "charging_station"}})
    assert [(u["uid"], u["connectors"][0]["max_electric_power"]) for u in osm] == [
        ("chademo-1", None), ("type2-1", 22000), ("type2-2", 22000)]


# ---------------------------------------------------------------- database
def test_migration_keeps_existing_stations_and_their_history(db_url):
    from netzatlas.registry import migrate
    from tests.test_migrations import _scratch_database

    with _scratch_database() as url:
        migrate.upgrade(url, "0021")
        with psycopg.connect(url, autocommit=True) as conn:
            sid = conn.execute(
                "INSERT INTO registry.charging_point (source, external_id, operator, power_kw, charge_points, geom) "
                "VALUES ('reg', '9000', 'STAWAG', 22, 2, ST_SetSRID(ST_MakePoint(294000, 5629000), 25832)) "
                "RETURNING id").fetchone()[0]
            conn.execute("UPDATE registry.charging_point SET power_kw = 44 WHERE id = %s", [sid])
            hist = conn.execute("SELECT seq, operation FROM audit.change WHERE row_id = %s ORDER BY seq",
                                [sid]).fetchall()
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT version, power_kw, publish, facilities FROM registry.charging_point "
                               "WHERE id = %s", [sid]).fetchone()
            assert row == (2, 44.0, True, [])
            assert conn.execute("SELECT seq, operation FROM audit.change WHERE row_id = %s ORDER BY seq",
                                [sid]).fetchall() == hist
            conn.execute("UPDATE registry.charging_point SET parking_type = 'ON_STREET' WHERE id = %s", [sid])
            after = conn.execute("SELECT operation, before ->> 'power_kw' FROM audit.change WHERE row_id = %s "
                                 "ORDER BY seq DESC LIMIT 1", [sid]).fetchone()
            assert after == ("UPDATE", "44")          # the regenerated trigger images carry the new columns
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                conn.execute("UPDATE registry.charging_point SET parking_type = 'ROOFTOP' WHERE id = %s", [sid])
        migrate.downgrade(url, "0021")
        with psycopg.connect(url, autocommit=True) as conn:
            assert conn.execute("SELECT version, power_kw FROM registry.charging_point WHERE id = %s",
                                [sid]).fetchone() == (3, 44.0)
            assert conn.execute("SELECT to_regclass('registry.charging_evse')").fetchone()[0] is None
        migrate.upgrade(url)


def test_register_import_fills_evses_and_connectors_idempotently(db_url, tmp_path: Path, unique_source, client):
    from netzatlas.cli.main import app
    from netzatlas.registry.db import connect

    fast = {**STAWAG, "Ladeeinrichtungs-ID": "100777", "Art der Ladeeinrichtung": "Schnellladeeinrichtung",
            "Anzahl Ladepunkte": "1", "Nennleistung Ladeeinrichtung [kW]": "150", "Breitengrad": "50,7760",
            "Längengrad": "6,0850", "Steckertypen1": "DC Kupplung Combo; DC CHAdeMO",
            "Nennleistung Stecker1": "150; 50", "EVSE-ID1": "DE*STA*E100777*1", "Steckertypen2": "",
            "Nennleistung Stecker2": ""}
    path = write_register(tmp_path / "Ladesaeulenregister_BNetzA_2026-09-01.csv", [STAWAG, fast])
    args = ["import", "charging-register", str(path), "--source", unique_source, "--no-clip"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "EVSEs / connectors (OCPI shape): 3 EVSEs and 5 connectors written" in " ".join(first.output.split())
    with connect(db_url) as conn:
        rows = conn.execute(
            "SELECT p.external_id AS station, e.uid, e.evse_id, c.connector_id, c.standard, c.power_type, "
            "c.max_electric_power, c.owner_org FROM registry.charging_connector c "
            "JOIN registry.charging_evse e ON e.id = c.evse JOIN registry.charging_point p ON p.id = e.location "
            "WHERE p.source = %s ORDER BY 1, 2, 4", [unique_source]).fetchall()
        n_changes = conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"]
    assert [(r["station"], r["uid"], r["evse_id"], r["connector_id"], r["standard"], r["power_type"],
             r["max_electric_power"]) for r in rows] == [
        ("100234", "1", "DE*STA*E100234*1", "1", "IEC_62196_T2", "AC_3_PHASE", 22000),
        ("100234", "1", "DE*STA*E100234*1", "2", "DOMESTIC_F", "AC_1_PHASE", 3700),
        ("100234", "2", None, "1", "IEC_62196_T2", "AC_3_PHASE", 22000),
        ("100777", "1", "DE*STA*E100777*1", "1", "IEC_62196_T2_COMBO", "DC", 150000),
        ("100777", "1", "DE*STA*E100777*1", "2", "CHADEMO", "DC", 50000)]
    assert {r["owner_org"] for r in rows} == {"bnetza"}

    again = CliRunner().invoke(app, args)                              # the same file: nothing changes
    assert again.exit_code == 0, again.output
    assert "0 EVSEs and 0 connectors written" in " ".join(again.output.split())
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"] == n_changes

    # the new collections are public; the station collection is unchanged for its clients
    feats = client.get("/collections/charging_connector/items", params={"limit": 1000}).json()["features"]
    mine = [f for f in feats if f["properties"]["source"] == unique_source]
    assert len(mine) == 5 and {f["geometry"]["type"] for f in mine} == {"Point"}
    st = client.get("/collections/charging_point/items", params={"limit": 1000}).json()["features"]
    assert {f["properties"]["external_id"] for f in st if f["properties"]["source"] == unique_source} == {
        "100234", "100777"}


def test_status_log_is_bounded_and_status_is_not_history(db_url, unique_source):
    from netzatlas.registry import ocpi_store
    from netzatlas.registry.db import connect

    loc = m.Location.model_validate({**example("location_example.json"), "party_id": "T0G",
                                     "id": unique_source[:36]})
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with connect(db_url) as conn:
        ocpi_store.upsert_locations(conn, [loc], org="city", source=unique_source)
        evse = conn.execute("SELECT id::text AS id FROM registry.charging_evse WHERE source = %s AND uid = '3256'",
                            [unique_source]).fetchone()["id"]
        seq = conn.execute("SELECT max(seq) AS s FROM audit.change").fetchone()["s"]
        statuses = ["CHARGING", "AVAILABLE"] * 6
        for i, s in enumerate(statuses):
            assert ocpi_store.set_status(conn, [(evse, s, t0 + timedelta(minutes=i))], org="city", keep=5) == 1
        assert ocpi_store.set_status(conn, [(evse, "AVAILABLE", t0 + timedelta(hours=1))], org="city") == 0
        assert ocpi_store.set_status(conn, [(evse, "OUTOFORDER", t0 - timedelta(days=1))], org="city") == 0
        log = conn.execute("SELECT status, status_at FROM registry.evse_status_log WHERE evse = %s ORDER BY id",
                           [evse]).fetchall()
        assert len(log) == 5 and log[-1]["status"] == "AVAILABLE" and log[-1]["status_at"] == t0 + timedelta(
            minutes=11)
        assert conn.execute("SELECT count(*) AS n FROM audit.change WHERE seq > %s AND row_id = %s",
                            [seq, evse]).fetchone()["n"] == 0
        page = ocpi_store.read_location(conn, loc.id)
        assert json.dumps(page)  # serialisable as it is sent
        assert page["evses"][0]["status"] == "AVAILABLE"
        conn.rollback()


def test_osm_stations_get_evses_from_their_socket_tags(db_url, unique_source):
    from netzatlas.registry import ocpi_store
    from netzatlas.registry.db import connect

    with connect(db_url) as conn:
        conn.execute(
            "INSERT INTO registry.charging_point (source, external_id, owner_org, properties, geom) VALUES "
            "(%s, 'node/1', 'osm', %s, ST_Transform(ST_SetSRID(ST_MakePoint(6.084, 50.776), 4326), 25832))",
            [unique_source, json.dumps({"amenity": "charging_station", "socket:type2": "2",
                                        "socket:type2:output": "11 kW", "socket:type2_combo": "1",
                                        "socket:type2_combo:output": "50 kW"})])
        first = ocpi_store.derive_from_stations(conn, unique_source)
        again = ocpi_store.derive_from_stations(conn, unique_source)
        rows = conn.execute("SELECT e.uid, c.standard, c.max_electric_power, c.owner_org FROM "
                            "registry.charging_connector c JOIN registry.charging_evse e ON e.id = c.evse "
                            "WHERE c.source = %s ORDER BY e.uid", [unique_source]).fetchall()
        conn.execute("UPDATE registry.charging_point SET deleted_at = now() WHERE source = %s", [unique_source])
        gone = ocpi_store.derive_from_stations(conn, unique_source)
        left = conn.execute("SELECT count(*) AS n FROM registry.charging_evse WHERE source = %s AND deleted_at IS "
                            "NULL", [unique_source]).fetchone()["n"]
        conn.rollback()
    assert (first.evses, first.connectors, again.evses, again.connectors) == (3, 3, 0, 0)
    assert [(r["uid"], r["standard"], r["max_electric_power"], r["owner_org"]) for r in rows] == [
        ("type2-1", "IEC_62196_T2", 11000, "osm"), ("type2-2", "IEC_62196_T2", 11000, "osm"),
        ("type2_combo-1", "IEC_62196_T2_COMBO", 50000, "osm")]
    assert gone.removed == 6 and left == 0
