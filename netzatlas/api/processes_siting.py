"""WLAN and charging analyses as OGC API processes: ``wifi-priority``, ``wifi-siting``, ``charging-siting``."""

from __future__ import annotations

from typing import Any

from netzatlas.api.processes import Process, Progress, feature_collection, register_process
from netzatlas.api.state import ApiState
from netzatlas.charging.siting import site_chargers
from netzatlas.registry import analysis_inputs as ai
from netzatlas.wifi.analysis import coverage_today, priority_areas, site_access_points
from netzatlas.wifi.inputs import POWER_NOTE, square_grid, wlan_candidates, wlan_demand


def _wlan_inputs(state: ApiState):  # noqa: ANN202
    with state.pool.connection() as conn:
        pois, cells = ai.layer(conn, "poi"), ai.population_cells(conn, 100)
        hotspots = ai.layer(conn, "wlan_hotspot")
        cands = wlan_candidates(ai.layer(conn, "streetlight"), pois, ai.layer(conn, "candidate_site"))
    return wlan_demand(pois, cells), hotspots, cands



def wifi_priority(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    progress(5, "reading the registry")
    demand, hotspots, _ = _wlan_inputs(state)
    progress(40, "coverage today")
    cov = coverage_today(demand, hotspots)
    grid = square_grid(tuple(cov.total_bounds), inputs["cell_size_m"], cov.crs)
    cells = priority_areas(cov, grid, top=inputs["top"])
    covered = float(cov.loc[cov.covered, "weight"].sum() / cov["weight"].sum()) if len(cov) else 0.0
    return {"covered_share": round(covered, 4), "hotspots": len(hotspots), "priority_areas": feature_collection(cells)}


def wifi_siting(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    progress(5, "reading the registry")
    demand, hotspots, cands = _wlan_inputs(state)
    progress(30, "solving")
    s = site_access_points(demand, cands, hotspots, k=inputs["k"], radius_m=inputs["radius_m"],
                           certify=inputs["certify"])
    r = s.result
    return {"new_access_points": feature_collection(s.new_sites), "covered_weight": r.covered_weight,
            "total_weight": r.total_weight,
            "greedy_gap_to_bound": r.gap, "exact_optimum": s.exact.covered_weight if s.exact else None,
            "note": POWER_NOTE}


def charging_siting(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    progress(5, "reading the registry")
    with state.pool.connection() as conn:
        cells, chargers = ai.population_cells(conn, 100), ai.chargers(conn)
        cands = wlan_candidates(ai.layer(conn, "streetlight"), ai.layer(conn, "poi").iloc[:0],
                                ai.layer(conn, "candidate_site"))
    ai.require_population(cells)  # as the CLI: no residents is no result (it answered 0 of 0)
    progress(30, "solving")
    s = site_chargers(cells, chargers, cands, k=inputs["k"], radius_m=inputs["radius_m"], certify=inputs["certify"])
    r = s.result
    return {"new_locations": feature_collection(s.new_sites), "residents_covered": r.covered_weight,
            "residents": r.total_weight,
            "greedy_gap_to_bound": r.gap}


NUM = {"type": "number", "minimum": 1}
register_process(Process(
    id="wifi-priority", title="Public WLAN: priority areas (Prioritätsgebiete)",
    description="Demand (weighted places and residents) beyond today's hotspots, summed per grid cell and ranked.",
    inputs={"cell_size_m": {"title": "grid cell size (m)", "schema": {"type": "number", "minimum": 10, "maximum": 5000,
                                                                      "default": 100}},
            "top": {"title": "number of areas", "schema": {"type": "integer", "minimum": 1, "maximum": 5000,
                                                           "default": 50}}},
    outputs={"priority_areas": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=wifi_priority))
register_process(Process(
    id="wifi-siting", title="Public WLAN: new access points (Standortwahl)",
    description="K new access points from streetlights, public buildings and city-offered sites, today's hotspots "
                "locked in; lazy greedy with the exact MILP certifying its gap.",
    inputs={"k": {"title": "new access points", "schema": {"type": "integer", "minimum": 0, "maximum": 500,
                                                           "default": 20}},
            "radius_m": {"title": "outdoor range (m)", "schema": {**NUM, "maximum": 1000, "default": 70}},
            "certify": {"title": "solve the exact MILP too", "schema": {"type": "boolean", "default": True}}},
    outputs={"new_access_points": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=wifi_siting))
register_process(Process(
    id="charging-siting", title="Charging: new public charging locations (Standortwahl Ladeinfrastruktur)",
    description="N new charging locations (streetlights, city-offered sites) maximising residents within reach, "
                "existing chargers locked in.",
    inputs={"k": {"title": "new locations", "schema": {"type": "integer", "minimum": 0, "maximum": 500,
                                                       "default": 10}},
            "radius_m": {"title": "reach (m, straight line)", "schema": {**NUM, "maximum": 5000, "default": 300}},
            "certify": {"title": "solve the exact MILP too", "schema": {"type": "boolean", "default": True}}},
    outputs={"new_locations": {"title": "GeoJSON FeatureCollection", "schema": {"type": "object"}}},
    func=charging_siting))
