"""The gigabit analyses as OGC API processes: ``gigabit-classify`` and ``gigabit-funding-areas``."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import geopandas as gpd
from psycopg import sql

from netzatlas.api.processes import Process, Progress, register_process
from netzatlas.api.state import ApiState
from netzatlas.gigabit.funding_areas import FundingAreaParams, funding_areas
from netzatlas.gigabit.programmes import load_programme, shipped
from netzatlas.gigabit.simulate import SIMULATED_NOTE
from netzatlas.registry import gigabit_store
from netzatlas.registry.db import get_layer
from netzatlas.registry.exporters.files import read_layer


def _simulated(conn) -> bool:  # noqa: ANN001
    return conn.execute("SELECT count(*) AS n FROM registry.broadband_supply WHERE source LIKE 'simulation%%' "
                        "AND deleted_at IS NULL").fetchone()["n"] > 0


def classify_process(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    p = load_programme(inputs["programme"])
    ref = date.fromisoformat(inputs["reference_date"]) if inputs.get("reference_date") else date.today()
    snap = inputs.get("snapshot") or f"{p.id}-{ref}"
    progress(5, "classifying in PostGIS")
    with state.pool.connection() as conn:
        sim = _simulated(conn)
        n = gigabit_store.save_snapshot(conn, snap, p, ref, simulated=sim, note=SIMULATED_NOTE if sim else None)
        progress(80, "counting")
        rows = conn.execute("SELECT class_de, class_en, count(*) AS addresses, count(*) FILTER (WHERE eligible) "
                            "AS eligible FROM registry.gigabit_classification WHERE snapshot_id = %s "
                            "GROUP BY 1, 2 ORDER BY 1", [snap]).fetchall()
    return {"snapshot": snap, "programme": p.id, "reference_date": str(ref), "addresses": n,
            "eligible": sum(r["eligible"] for r in rows), "classes": rows,
            "collection": f"/collections/gigabit_result/items?snapshot_id={snap}",
            "tiles": "/collections/gigabit_result/tiles/WebMercatorQuad", "simulated": sim,
            "note": SIMULATED_NOTE if sim else None}


def funding_process(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    snap = inputs["snapshot"]
    params = FundingAreaParams(link_distance_m=inputs["link_distance_m"], min_addresses=inputs["min_addresses"],
                               eur_per_m=inputs["eur_per_m"], eur_per_connection=inputs["eur_per_connection"])
    progress(5, "reading the snapshot")
    with state.pool.connection() as conn:
        if conn.execute("SELECT 1 FROM registry.gigabit_snapshot WHERE id = %s", [snap]).fetchone() is None:
            from netzatlas.errors import NotFound

            raise NotFound(f"there is no snapshot {snap!r}", hint="run gigabit-classify first")
        res = gigabit_store.read_addresses(conn)
        cls = conn.execute("SELECT address_id::text AS address_id, eligible FROM registry.gigabit_classification "
                           "WHERE snapshot_id = %s", [snap]).fetchall()
        roads = read_layer(conn, get_layer(conn, "road"))
        progress(30, "clustering")
        import pandas as pd

        addrs = res.merge(pd.DataFrame(cls, columns=["address_id", "eligible"]), on="address_id")
        areas = funding_areas(gpd.GeoDataFrame(addrs, geometry="geometry", crs=res.crs).to_crs(25832), roads, params)
        progress(80, "storing")
        conn.execute("DELETE FROM registry.funding_area WHERE snapshot_id = %s", [snap])
        for r in areas.itertuples():
            conn.execute(sql.SQL(
                "INSERT INTO registry.funding_area (snapshot_id, area_no, rank, addresses, dwellings, businesses, "
                "schools, hospitals, trench_m, cost_eur, cost_per_connection_eur, geom) VALUES (%s,%s,%s,%s,%s,%s,%s,"
                "%s,%s,%s,%s, ST_Multi(ST_GeomFromText(%s, 25832)))"),
                [snap, r.area_no, r.rank, r.addresses, r.dwellings, r.businesses, r.schools, r.hospitals, r.trench_m,
                 r.cost_eur, r.cost_per_connection_eur, r.geometry.wkt])
    fc = json.loads(areas.to_crs(4326).to_json())
    return {"snapshot": snap, "areas": len(areas), "funding_areas": fc,
            "collection": f"/collections/funding_area_result/items?snapshot_id={snap}"}


register_process(Process(
    id="gigabit-classify", title="Gigabit: white/grey spots per address (weiße/graue Flecken)",
    description="Classifies every address (weiß, hellgrau, dunkelgrau, schwarz, gigabitfähig) with eligibility and "
                "a reason under a funding programme; keeps the result as a snapshot, served as the collection "
                "gigabit_result.",
    inputs={"programme": {"title": "funding programme", "schema": {"type": "string", "enum": [p.id for p in shipped()],
                                                                   "default": "gigabit-rl-2.0-2024"}},
            "reference_date": {"title": "reference date (YYYY-MM-DD), default today", "minOccurs": 0,
                               "schema": {"type": "string", "format": "date"}},
            "snapshot": {"title": "snapshot name", "minOccurs": 0, "schema": {"type": "string"}}},
    outputs={"result": {"title": "counts per class and the result collection", "schema": {"type": "object"}}},
    func=classify_process))

register_process(Process(
    id="gigabit-funding-areas", title="Gigabit: funding areas (Fördergebiete)",
    description="Clusters the eligible addresses of a snapshot into funding areas with counts, trench length along "
                "streets, cost and a ranking; served as the collection funding_area_result.",
    inputs={"snapshot": {"title": "classification snapshot", "schema": {"type": "string"}},
            "link_distance_m": {"title": "clustering distance (m)", "schema": {"type": "number", "default": 150,
                                                                               "minimum": 1}},
            "min_addresses": {"title": "smallest area", "schema": {"type": "integer", "default": 5, "minimum": 1}},
            "eur_per_m": {"title": "€ per trench metre", "schema": {"type": "number", "default": 100, "minimum": 0}},
            "eur_per_connection": {"title": "€ per connection", "schema": {"type": "number", "default": 800,
                                                                           "minimum": 0}}},
    outputs={"funding_areas": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=funding_process))
