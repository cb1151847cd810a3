"""Charging analyses as OGC API processes: ``charging-gaps``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from netzatlas.api.processes import Process, Progress, register_process
from netzatlas.api.state import ApiState
from netzatlas.charging.access import AccessParams
from netzatlas.charging.report import charging_gaps
from netzatlas.registry import analysis_inputs as ai


def gaps_process(inputs: dict[str, Any], progress: Progress, state: ApiState) -> dict[str, Any]:
    progress(5, "reading the registry")
    with state.pool.connection() as conn:
        chargers, cells = ai.chargers(conn), ai.population_cells(conn, 100)
        addresses, roads = ai.layer(conn, "fibre_address"), ai.layer(conn, "road")
    progress(30, "distances along roads")
    res = charging_gaps(addresses, cells, chargers, roads, AccessParams(gap_distance_m=inputs["gap_distance_m"]))
    progress(90, "results")
    gaps = json.loads(res.gaps.to_crs(4326).to_json())
    summary = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in res.summary.items()}
    return {"summary": summary, "gaps": gaps}


register_process(Process(
    id="charging-gaps", title="Charging: gaps in public charging (Ladelücken)",
    description="Distance from every address and 100 m population cell to the nearest public charger (straight "
                "and along roads), charge points and kW per 1,000 inhabitants, and gap areas with their population.",
    inputs={"gap_distance_m": {"title": "gap distance along roads (m)",
                               "schema": {"type": "number", "default": 500, "minimum": 1, "maximum": 20_000}}},
    outputs={"gaps": {"title": "GeoJSON FeatureCollection of gap areas", "schema": {"type": "object"}},
             "summary": {"title": "summary figures", "schema": {"type": "object"}}},
    func=gaps_process))
