"""The gigabit analyses as OGC API processes: ``gigabit-classify`` and ``gigabit-funding-areas``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import geopandas as gpd

from netzatlas.api.auth import Principal
from netzatlas.api.authz import shown_actor
from netzatlas.api.processes import Process, Progress, register_process
from netzatlas.api.state import CURRENT_PRINCIPAL, ApiState
from netzatlas.gigabit.classify_common import check_snapshot_name, parse_reference_date
from netzatlas.gigabit.funding_areas import FundingAreaParams, funding_areas
from netzatlas.gigabit.programmes import load_programme, shipped
from netzatlas.gigabit.simulate import SIMULATED_NOTE
from netzatlas.registry import gigabit_store, result_runs
from netzatlas.registry.db import get_layer
from netzatlas.registry.exporters.files import read_layer


def _collection(name: str, snapshot: str) -> str:
    """The link to one snapshot's rows of a result collection (the name percent-encoded: spaces, umlauts, &, #)."""
    return f"/collections/{name}/items?snapshot_id={quote(snapshot, safe='')}"


def snapshots_process(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    """The kept snapshots, newest first (what a client offers to choose from; the QGIS plugin loads one)."""
    with state.pool.connection() as conn:
        snaps = gigabit_store.list_snapshots(conn)
    rows = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(s).items()} for s in snaps]
    caller = CURRENT_PRINCIPAL.get()
    for r in rows:
        r["collection"] = _collection("gigabit_result", r["id"])
        # who made it as the change feed shows people: in full to admins, read:staff and the maker's organization
        r["created_by"] = shown_actor(caller if isinstance(caller, Principal) else Principal(), r.get("created_by"))
    return {"snapshots": rows, "newest": rows[0]["id"] if rows else None}


def classify_process(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    p = load_programme(inputs["programme"])
    ref = parse_reference_date(inputs.get("reference_date"))
    snap = check_snapshot_name(inputs["snapshot"]) if inputs.get("snapshot") else f"{p.id}-{ref}"
    warning = p.validity_warning(ref)
    progress(5, "classifying in PostGIS")
    with state.pool.connection() as conn:
        sim = gigabit_store.has_simulated_supply(conn)
        # the counts come from the writer's own pass over the new partition (no second count)
        rows = gigabit_store.classify_snapshot(conn, snap, p, ref, simulated=sim,
                                               note=SIMULATED_NOTE if sim else None, warning=warning)
        n = sum(int(r["addresses"]) for r in rows)
    return {"snapshot": snap, "programme": p.id, "reference_date": str(ref), "addresses": n,
            "eligible": sum(r["eligible"] for r in rows), "classes": rows, "warnings": [warning] if warning else [],
            "collection": _collection("gigabit_result", snap),
            "tiles": f"/collections/gigabit_result/tiles/WebMercatorQuad?snapshot_id={quote(snap, safe='')}",
            "simulated": sim,
            "note": SIMULATED_NOTE if sim else None}


def funding_process(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    snap = check_snapshot_name(inputs["snapshot"])  # a NUL reached PostgreSQL ("DataError: … NUL") as a 400
    params = FundingAreaParams(link_distance_m=inputs["link_distance_m"], min_addresses=inputs["min_addresses"],
                               max_addresses=inputs.get("max_addresses", 1500),
                               max_cost_eur=inputs.get("max_cost_eur"),
                               eur_per_m=inputs["eur_per_m"], eur_per_connection=inputs["eur_per_connection"])
    progress(5, "reading the snapshot")
    with state.pool.connection() as conn:
        row = conn.execute("SELECT warning FROM registry.gigabit_snapshot WHERE id = %s", [snap]).fetchone()
        if row is None:
            from netzatlas.errors import NotFound

            raise NotFound(f"there is no snapshot {snap!r}", hint="run gigabit-classify first")
        warning = row["warning"] if isinstance(row, dict) else row[0]
        res = gigabit_store.read_addresses(conn)
        cls = conn.execute("SELECT address_id::text AS address_id, eligible FROM registry.gigabit_classification "
                           "WHERE snapshot_id = %s", [snap]).fetchall()
        roads = read_layer(conn, get_layer(conn, "road"))
        progress(30, "clustering")
        import pandas as pd

        addrs = res.merge(pd.DataFrame(cls, columns=["address_id", "eligible"]), on="address_id")
        areas = funding_areas(gpd.GeoDataFrame(addrs, geometry="geometry", crs=res.crs).to_crs(25832), roads, params)
        progress(80, "storing")
        gigabit_store.save_funding_areas(conn, snap, areas)  # names and cost assumptions with each area
        result_runs.record_funding_areas(conn, snap)  # the replaced areas' summary stays in the history
    fc = json.loads(areas.to_crs(4326).to_json())
    # the assumptions as the report and the GeoPackage state them (with the trench routing used), the snapshot's
    # warning (a reference date outside the programme's validity) as the classification result gives it
    return {"snapshot": snap, "areas": len(areas), "funding_areas": fc,
            "assumptions": areas.attrs["assumptions"],
            "warnings": [warning] if warning else [],
            "unassigned_addresses": int(areas.attrs.get("unassigned", 0)),
            "collection": _collection("funding_area_result", snap)}


register_process(Process(
    id="gigabit-classify", title="Gigabit: white/grey spots per address (weiße/graue Flecken)",
    description="Classifies every address (weiß, hellgrau, dunkelgrau, schwarz, gigabitfähig) with eligibility and "
                "a reason under a funding programme; keeps the result as a snapshot, served as the collection "
                "gigabit_result.",
    inputs={"programme": {"title": "funding programme", "schema": {"type": "string", "enum": [p.id for p in shipped()],
                                                                   "default": "gigabit-rl-2.0-2024"}},
            "reference_date": {"title": "reference date (YYYY-MM-DD), default today", "minOccurs": 0,
                               "schema": {"type": "string", "format": "date"}},
            "snapshot": {"title": "snapshot name", "minOccurs": 0, "schema": {"type": "string", "maxLength": 100}}},
    outputs={"result": {"title": "counts per class and the result collection", "schema": {"type": "object"}}},
    func=classify_process, scope="write:gigabit_result"))

register_process(Process(
    id="gigabit-snapshots", title="Gigabit: kept snapshots (Stände)",
    description="Lists the kept classification snapshots, newest first, with programme, reference date, who made "
                "them and when; gigabit_result and funding_area_result are read per snapshot with "
                "?snapshot_id=<id> (or the CQL2 filter snapshot_id='<id>').",
    inputs={}, outputs={"snapshots": {"title": "snapshots, newest first", "schema": {"type": "object"}}},
    func=snapshots_process))

register_process(Process(
    id="gigabit-funding-areas", title="Gigabit: funding areas (Fördergebiete)",
    description="Groups the eligible addresses of a snapshot into funding areas contiguous along the roads, split "
                "above a size (addresses or cost), named by district and main streets, with counts, trench length "
                "along the roads, cost under the stated assumptions and a ranking; served as the collection "
                "funding_area_result.",
    inputs={"snapshot": {"title": "classification snapshot", "schema": {"type": "string", "maxLength": 100}},
            "link_distance_m": {"title": "clustering distance (m)", "schema": {"type": "number", "default": 150,
                                                                               "minimum": 1, "maximum": 2000}},
            "min_addresses": {"title": "smallest area", "schema": {"type": "integer", "default": 5, "minimum": 1,
                                                                   "maximum": 100_000}},
            "max_addresses": {"title": "largest area (addresses); larger ones are split along the roads",
                              "minOccurs": 0, "schema": {"type": "integer", "default": 1500, "minimum": 1,
                                                         "maximum": 1_000_000}},
            "max_cost_eur": {"title": "costliest area (€); costlier ones are split", "minOccurs": 0,
                             "schema": {"type": "number", "minimum": 0}},
            "eur_per_m": {"title": "€ per trench metre", "schema": {"type": "number", "default": 100, "minimum": 0}},
            "eur_per_connection": {"title": "€ per connection", "schema": {"type": "number", "default": 800,
                                                                           "minimum": 0}}},
    outputs={"funding_areas": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=funding_process, scope="write:funding_area_result"))
