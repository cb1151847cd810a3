"""Mast-request evaluation when a candidate in the search ring lies outside the surface raster.

The surface is built from the registry's buildings (mobile_io.demo_surface → buildings_surface over their total
bounds), so a streetlight or candidate site at the edge of the built-up area — inside the ring, beyond the last
building — lies outside it. Found through the API: with extra streetlights loaded ~270 m from the request of
test_api_processes.test_mobile_processes, POST /processes/mast-request-evaluation answered 400 "the observer lies
outside the surface raster" and evaluated nothing. One candidate off the raster must not sink the whole answer.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, box

from netzatlas.coverage.signal import NODATA
from netzatlas.coverage.surface import buildings_surface
from netzatlas.mobile_sites.mast_request import MastRequest, evaluate

X0, Y0 = 294_000.0, 5_627_000.0      # EPSG:25832, Aachen


def test_a_candidate_outside_the_surface_does_not_fail_the_evaluation():
    buildings = gpd.GeoDataFrame({"height_m": [12.0, 20.0]},
                                 geometry=[box(X0, Y0, X0 + 40, Y0 + 30), box(X0 + 120, Y0 + 80, X0 + 160, Y0 + 110)],
                                 crs="EPSG:25832")
    surface = buildings_surface(buildings, resolution=10.0)
    request = MastRequest("T", X0 + 80, Y0 + 50, radius_m=300)
    candidates = gpd.GeoDataFrame({"kind": ["streetlight", "streetlight"], "height_m": [8.0, 8.0]},
                                  geometry=[Point(X0 + 60, Y0 + 40),          # on the surface
                                            Point(X0 + 80, Y0 + 320)],        # in the ring, north of every building
                                  crs="EPSG:25832")
    pois = gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(X0 + 500, Y0)], crs="EPSG:25832")
    cells = gpd.GeoDataFrame({"population_estimate": [150.0]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)],
                             crs="EPSG:25832")
    current = np.full(surface.dsm.shape, NODATA)
    ranked = evaluate(request, candidates, pois, surface, current, cells)
    assert len(ranked) == 2                                   # both candidates answered, none dropped silently
    assert ranked[["people_newly_covered_outdoor", "people_newly_covered_indoor"]].notna().all().all()
    assert ranked.iloc[0]["distance_to_centre_m"] < 100       # the one on the surface can serve the people
