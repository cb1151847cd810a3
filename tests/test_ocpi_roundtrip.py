"""Round trip: register stations (plug slots as the Bundesnetzagentur register gives them) → the registry's OCPI
2.2.1 sender (a live ``netzatlas serve``) → the pull client into a second, fresh registry gives the same chargers:
locations, coordinates, EVSEs, connectors and their power."""

from __future__ import annotations

import uuid

import geopandas as gpd
from shapely.geometry import Point


def _chargers(conn, ids: list[str]) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT p.name, round(ST_X(ST_Transform(p.geom, 4326))::numeric, 6) AS lon, "
        "round(ST_Y(ST_Transform(p.geom, 4326))::numeric, 6) AS lat, "
        "(SELECT array_agg(c.standard || '/' || c.power_type || '/' || coalesce(c.max_electric_power, 0) "
        "                  ORDER BY e.uid, c.connector_id) FROM registry.charging_evse e "
        "   JOIN registry.charging_connector c ON c.evse = e.id AND c.deleted_at IS NULL "
        "  WHERE e.location = p.id AND e.deleted_at IS NULL) AS connectors "
        "FROM registry.charging_point p WHERE p.deleted_at IS NULL AND p.name = ANY(%s)", [ids]).fetchall()
    conn.rollback()
    return {r["name"]: (float(r["lon"]), float(r["lat"]), tuple(r["connectors"] or ())) for r in rows}


def test_register_to_sender_to_pull_gives_the_same_chargers(db_url, live_server, tmp_path):
    import psycopg

    from netzatlas.charging.ocpi_client import pull, write
    from netzatlas.registry import migrate
    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.load import load_layers
    from netzatlas.registry.ocpi_store import create_party, derive_from_stations
    from tests.conftest import _cluster

    tag = uuid.uuid4().hex[:6]
    names = [f"rt-{tag}-{i}" for i in range(3)]
    plugs = [[{"point": 1, "types": ["AC Steckdose Typ 2"], "power_kw": [22.0]},
              {"point": 2, "types": ["AC Steckdose Typ 2"], "power_kw": [22.0]}],
             [{"point": 1, "types": ["DC Kupplung Combo"], "power_kw": [150.0]}],
             [{"point": 1, "types": ["DC Kupplung Combo", "DC CHAdeMO"], "power_kw": [50.0, 50.0]}]]
    gdf = gpd.GeoDataFrame({"external_id": names, "name": names, "operator": ["STAWAG"] * 3,
                            "charge_points": [2, 1, 1], "power_kw": [44.0, 150.0, 50.0],
                            "properties": [{"plugs": p} for p in plugs]},
                           geometry=[Point(6.0841, 50.7761), Point(6.0902, 50.7702), Point(6.0755, 50.7789)],
                           crs="EPSG:4326")
    source = f"rt-register-{tag}"
    load_layers({"charging_point": gdf}, source=source, kind="charging-register", owner_org="stawag", url=db_url)
    with connect(db_url) as conn, conn.transaction():
        derive_from_stations(conn, source)
        token = create_party(conn, "city", "DE", "R" + tag[:2].upper())  # the app's token for the sender
    original = _chargers(connect(db_url), names)
    assert len(original) == 3 and all(v[2] for v in original.values())

    cluster = _cluster()
    second = f"netzatlas_rt_{tag}"
    cluster.ensure_database(second)
    url2 = cluster.url(second)
    try:
        with psycopg.connect(url2, autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        migrate.upgrade(url2)
        pulled = pull(f"{live_server}/ocpi/versions", token, limit=200)
        mine = [loc for loc in pulled.locations if loc.name in names]
        assert len(mine) == 3
        report = write(pulled, url=f"{live_server}/ocpi/2.2.1/sender/locations", owner="city", db_url=url2)
        assert report.locations == len(pulled.locations)
        assert _chargers(connect(url2), names) == original
        again = write(pull(f"{live_server}/ocpi/versions", token, limit=200),
                      url=f"{live_server}/ocpi/2.2.1/sender/locations", owner="city", db_url=url2)
        assert again.changed == 0  # the same feed twice: nothing changes
    finally:
        cluster.drop_database(second)
