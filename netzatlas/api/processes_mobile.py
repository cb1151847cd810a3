"""Mobile analyses as OGC API processes: ``mobile-coverage-holes``, ``mast-request-evaluation``,
``small-cell-screening``. Rasters are written as Cloud-Optimized GeoTIFFs and offered as download links."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from netzatlas.api.processes import Process, Progress, feature_collection, register_process
from netzatlas.api.state import CURRENT_CALLER, ApiState
from netzatlas.config import get_settings
from netzatlas.coverage.demand import demand_points
from netzatlas.coverage.signal import coverage_views, write_cog
from netzatlas.errors import Forbidden, InvalidParameter, NotFound, PayloadTooLarge
from netzatlas.mobile_sites.criteria import apply_property_and_heritage, criteria_table
from netzatlas.mobile_sites.mast_request import (
    MastRequest,
    ScoreWeights,
    check_radius,
    evaluate,
    gain_explanation,
    own_network,
)
from netzatlas.mobile_sites.run import raster_name
from netzatlas.mobile_sites.small_cells import ScreeningParams, choose, screen
from netzatlas.registry import analysis_inputs as ai
from netzatlas.registry import mobile_io
from netzatlas.reports.staging import staged_outputs


def check_run_size(conn, resolution_m: float) -> None:  # noqa: ANN001
    """Refuse a coverage run whose raster would exceed the declared cell limit, before any work is done."""
    limits = get_settings()
    if resolution_m < limits.limit_process_min_resolution_m:
        raise InvalidParameter(f"resolution_m {resolution_m} is finer than this server allows "
                               f"({limits.limit_process_min_resolution_m} m)")
    row = conn.execute("SELECT ST_XMax(e) - ST_XMin(e) AS w, ST_YMax(e) - ST_YMin(e) AS h FROM "
                       "(SELECT ST_Extent(geom) AS e FROM registry.building WHERE deleted_at IS NULL) x").fetchone()
    if row and row["w"] is not None:
        cells = (row["w"] / resolution_m + 1) * (row["h"] / resolution_m + 1)
        if cells > limits.limit_process_cells:
            raise PayloadTooLarge(f"a coverage run at {resolution_m} m would compute {cells:,.0f} cells per layer, "
                                  f"more than this server allows ({limits.limit_process_cells:,})",
                                  hint="choose a coarser resolution_m or run it with the CLI (netzatlas mobile "
                                       "coverage)")


def coverage_holes(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    """One transaction: the holes are committed only once the rasters are in place (written aside first), so a
    failed or dismissed run leaves the last complete rasters and holes."""
    with state.pool.connection() as conn:
        check_run_size(conn, inputs["resolution_m"])
        run, surface, base = mobile_io.incremental_run(conn, inputs["resolution_m"],
                                                       lambda i, n: progress(5 + 70 * i / max(n, 1), "sites"))
        cells, addresses = ai.population_cells(conn, 100), ai.layer(conn, "fibre_address")
        progress(80, "holes")
        h = mobile_io.store_holes(conn, run, surface, inputs["threshold_dbm"], cells, addresses)
        rasters = []
        with staged_outputs(base) as stage:
            for (op, tech), r in run.rasters.items():
                for view, (rsrp, valid) in coverage_views(r, surface, run.frequencies.get((op, tech), 1800.0)).items():
                    p = write_cog(stage / raster_name(view, op, tech), np.where(valid, rsrp, np.nan).astype("float32"),
                                  surface.transform, surface.crs, nodata=float("nan"),
                                  tags={"assumptions": " | ".join(run.assumptions), "coverage": view})
                    rasters.append({"operator": op, "technology": tech, "coverage": view,
                                    "href": f"/results/mobile/{p.name}",
                                    "type": "image/tiff; application=geotiff; profile=cloud-optimized"})
            progress(95, "rasters")      # a dismissal up to here: nothing of this run is kept
    return {"holes": feature_collection(h), "rasters": rasters, "recomputed_sites": len(run.recomputed_sites),
            "assumptions": run.assumptions, "collection": "/collections/coverage_hole_result/items",
            "tiles": "/collections/coverage_hole_result/tiles/WebMercatorQuad"}


def mast_request(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    with state.pool.connection() as conn:
        r = conn.execute("SELECT *, ST_X(geom) AS x, ST_Y(geom) AS y FROM registry.mast_request WHERE id::text = %s "
                         "AND deleted_at IS NULL", [inputs["request_id"]]).fetchone()  # a deleted one: not found
        if r is None:
            raise NotFound(f"no mast request {inputs['request_id']}")
        org, admin = CURRENT_CALLER.get()
        if not admin and r.get("owner_org") != org:
            raise Forbidden(f"mast request {inputs['request_id']} belongs to {r.get('owner_org') or 'no organization'}"
                            f"; a key of {org or 'no organization'} may not evaluate it",
                            hint="the organization that recorded the request (or an admin) evaluates it")
        req = MastRequest(r["operator"], r["x"], r["y"], r["radius_m"], r["technology"], r["desired_height_m"],
                          r["received_on"], r["status"], r.get("coordination_weeks") or 8)
        check_radius(req.radius_m)
        progress(10, "coverage today")
        run, surface, _ = mobile_io.incremental_run(conn)
        progress(50, "candidates")
        own, groups = own_network(run.rasters, req.operator, req.technology)
        cells = ai.population_cells(conn, 100)
        weights = ScoreWeights()
        cands, sources = apply_property_and_heritage(mobile_io.candidates(conn), ai.layer(conn, "monument"),
                                                     ai.layer(conn, "municipal_property"))
        ranked = evaluate(req, cands, ai.layer(conn, "poi"), surface, own, cells, weights=weights,
                          threshold_dbm=inputs["threshold_dbm"], current_all=mobile_io.current_best(run))
        criteria = criteria_table(weights, sources)
        note = gain_explanation(req, groups, cells.to_crs(surface.crs), inputs["threshold_dbm"])
        keep = [c for c in ranked.columns if c not in ("geometry", "properties")]
        summary = json.loads(ranked[keep].head(20).to_json(orient="records", date_format="iso"))
        conn.execute("UPDATE registry.mast_request SET evaluation = %s, status = CASE WHEN status = 'received' THEN "
                     "'under_review' ELSE status END WHERE id = %s",
                     [json.dumps({"candidates": summary, "assumptions": run.assumptions, "gain_note": note,
                                  "criteria": criteria}), r["id"]])
    return {"deadline": str(req.deadline), "coordination_period": req.period_text, "gain_note": note,
            "criteria": criteria,
            "candidates": feature_collection(ranked.drop(columns=[c for c in ("properties",) if c in ranked])),
            "assumptions": run.assumptions}


def small_cells(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    with state.pool.connection() as conn:
        lamps, sites = ai.layer(conn, "streetlight"), ai.layer(conn, "mobile_site")
        demand = demand_points(ai.layer(conn, "poi"), ai.population_cells(conn, 100), unknown="ignore")
    params = ScreeningParams(min_lamp_spacing_m=inputs["min_spacing_m"])  # NaN / Infinity refused there
    progress(50, "screening")
    res = screen(lamps, sites, demand, params=params)
    best = choose(res, inputs["top"], params)
    return {"suitable": int(res["suitable"].sum()), "streetlights": len(res),
            "min_lamp_spacing_m": params.min_lamp_spacing_m if len(best) else None,
            "best": feature_collection(best[[
                "external_id", "demand_weight", "nearest_site_m", "nearest_chosen_m", "score", "height_assumed",
                "power_assumed", "assumed", "geometry"]])}


THR = {"title": "hole threshold RSRP (dBm)", "schema": {"type": "number", "default": -105, "minimum": -160,
                                                        "maximum": -30}}
register_process(Process(
    id="mobile-coverage-holes", title="Mobile: best-server coverage and holes (Funklöcher)",
    description="Best-server RSRP per operator and technology (COG downloads) and holes with people and addresses; "
                "incremental over the change table.",
    inputs={"resolution_m": {"title": "raster cell size (m)", "schema": {
        "type": "number", "minimum": get_settings().limit_process_min_resolution_m, "maximum": 1000, "default": 10}},
            "threshold_dbm": THR},
    outputs={"holes": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=coverage_holes, scope="write:coverage_hole_result"))
register_process(Process(
    id="mast-request-evaluation", title="Mobile: evaluate a mast request (Standortanfrage)",
    description="Ranks the candidates inside the search ring with the score's components and stores the record.",
    inputs={"request_id": {"title": "mast request id", "schema": {"type": "string", "maxLength": 64}},
            "threshold_dbm": THR},
    outputs={"candidates": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=mast_request, scope="write:mast_request"))
register_process(Process(
    id="small-cell-screening", title="Mobile: small cells on streetlights (Kleinzellen)",
    description="Screens every streetlight (height, power, spacing, demand) and returns the best, each at least "
                "min_spacing_m from every other chosen lamp (metres, >= 0, default 150: about one small cell's "
                "reach; as `netzatlas mobile small-cells --min-spacing`).",
    inputs={"top": {"title": "how many", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}},
            "min_spacing_m": {"title": "minimum distance between two chosen lamps (m)", "schema": {
                "type": "number", "minimum": 0, "default": ScreeningParams().min_lamp_spacing_m}}},
    outputs={"best": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=small_cells))
