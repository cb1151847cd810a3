"""Mobile analyses as OGC API processes: ``mobile-coverage-holes``, ``mast-request-evaluation``,
``small-cell-screening``. Rasters are written as Cloud-Optimized GeoTIFFs and offered as download links."""

from __future__ import annotations

import json
from typing import Any

from netzatlas.api.processes import Process, Progress, feature_collection, register_process
from netzatlas.api.state import ApiState
from netzatlas.coverage.demand import demand_points
from netzatlas.coverage.signal import write_cog
from netzatlas.errors import NotFound
from netzatlas.mobile_sites.mast_request import MastRequest, evaluate
from netzatlas.mobile_sites.small_cells import screen
from netzatlas.registry import analysis_inputs as ai
from netzatlas.registry import mobile_io


def coverage_holes(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    with state.pool.connection() as conn:
        run, surface, base = mobile_io.incremental_run(conn, inputs["resolution_m"],
                                                       lambda i, n: progress(5 + 70 * i / max(n, 1), "sites"))
        cells, addresses = ai.population_cells(conn, 100), ai.layer(conn, "fibre_address")
    progress(80, "holes")
    rasters = []
    for (op, tech), r in run.rasters.items():
        p = write_cog(base / f"rsrp_{op}_{tech}.tif".replace(" ", "_"), r.astype("float32"), surface.transform,
                      surface.crs, tags={"assumptions": " | ".join(run.assumptions)})
        rasters.append({"operator": op, "technology": tech, "href": f"/results/mobile/{p.name}",
                        "type": "image/tiff; application=geotiff; profile=cloud-optimized"})
    with state.pool.connection() as conn:
        h = mobile_io.store_holes(conn, run, surface, inputs["threshold_dbm"], cells, addresses)
    return {"holes": feature_collection(h), "rasters": rasters, "recomputed_sites": len(run.recomputed_sites),
            "assumptions": run.assumptions, "collection": "/collections/coverage_hole_result/items",
            "tiles": "/collections/coverage_hole_result/tiles/WebMercatorQuad"}


def mast_request(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    with state.pool.connection() as conn:
        r = conn.execute("SELECT *, ST_X(geom) AS x, ST_Y(geom) AS y FROM registry.mast_request WHERE id::text = %s",
                         [inputs["request_id"]]).fetchone()
        if r is None:
            raise NotFound(f"no mast request {inputs['request_id']}")
        req = MastRequest(r["operator"], r["x"], r["y"], r["radius_m"], r["technology"], r["desired_height_m"],
                          r["received_on"], r["status"])
        progress(10, "coverage today")
        run, surface, _ = mobile_io.incremental_run(conn)
        progress(50, "candidates")
        ranked = evaluate(req, mobile_io.candidates(conn), ai.layer(conn, "poi"), surface,
                          mobile_io.current_best(run), ai.population_cells(conn, 100),
                          threshold_dbm=inputs["threshold_dbm"])
        summary = json.loads(ranked.drop(columns="geometry").head(20).to_json(orient="records", date_format="iso"))
        conn.execute("UPDATE registry.mast_request SET evaluation = %s, status = CASE WHEN status = 'received' THEN "
                     "'under_review' ELSE status END WHERE id = %s",
                     [json.dumps({"candidates": summary, "assumptions": run.assumptions}), r["id"]])
    return {"deadline": str(req.deadline), "candidates": feature_collection(ranked), "assumptions": run.assumptions}


def small_cells(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    with state.pool.connection() as conn:
        lamps, sites = ai.layer(conn, "streetlight"), ai.layer(conn, "mobile_site")
        demand = demand_points(ai.layer(conn, "poi"), ai.population_cells(conn, 100), unknown="ignore")
    progress(50, "screening")
    res = screen(lamps, sites, demand)
    return {"suitable": int(res["suitable"].sum()), "streetlights": len(res),
            "best": feature_collection(res.head(inputs["top"])[[
                "external_id", "demand_weight", "nearest_site_m", "score", "height_assumed", "power_assumed",
                "geometry"]])}


THR = {"title": "hole threshold RSRP (dBm)", "schema": {"type": "number", "default": -105}}
register_process(Process(
    id="mobile-coverage-holes", title="Mobile: best-server coverage and holes (Funklöcher)",
    description="Best-server RSRP per operator and technology (COG downloads) and holes with people and addresses; "
                "incremental over the change table.",
    inputs={"resolution_m": {"title": "raster cell size (m)", "schema": {"type": "number", "minimum": 2,
                                                                         "default": 10}},
            "threshold_dbm": THR},
    outputs={"holes": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=coverage_holes))
register_process(Process(
    id="mast-request-evaluation", title="Mobile: evaluate a mast request (Standortanfrage)",
    description="Ranks the candidates inside the search ring with the score's components and stores the record.",
    inputs={"request_id": {"title": "mast request id", "schema": {"type": "string"}}, "threshold_dbm": THR},
    outputs={"candidates": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=mast_request))
register_process(Process(
    id="small-cell-screening", title="Mobile: small cells on streetlights (Kleinzellen)",
    description="Screens every streetlight (height, power, spacing, demand) and returns the best.",
    inputs={"top": {"title": "how many", "schema": {"type": "integer", "minimum": 1, "default": 20}}},
    outputs={"best": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=small_cells))
