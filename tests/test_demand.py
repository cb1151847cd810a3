"""Demand points: weights from the YAML, residents from population cells, unknown categories."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from netzatlas.coverage.demand import demand_points, load_weights
from netzatlas.errors import InvalidParameter


def test_weights_and_residents():
    w = load_weights()
    pois = gpd.GeoDataFrame({"category": ["square", "bus_stop"]}, geometry=[Point(0, 0), Point(10, 0)],
                            crs="EPSG:25832")
    cells = gpd.GeoDataFrame({"population_estimate": [200.0, 0.0]}, geometry=[box(0, 0, 100, 100),
                                                                               box(100, 0, 200, 100)],
                             crs="EPSG:25832")
    d = demand_points(pois, cells)
    assert d.loc[d.category == "square", "weight"].item() == w["categories"]["square"]
    assert d.loc[d.kind == "residents", "weight"].item() == pytest.approx(200 * w["per_resident"])
    assert len(d) == 3                      # the empty cell brings no demand


def test_unknown_category():
    pois = gpd.GeoDataFrame({"category": ["spaceport"]}, geometry=[Point(0, 0)], crs="EPSG:25832")
    with pytest.raises(InvalidParameter, match="spaceport"):
        demand_points(pois)
    assert demand_points(pois, unknown="ignore").empty


def test_custom_weights_file(tmp_path):
    f = tmp_path / "w.yaml"
    f.write_text("per_resident: 1\ncategories: {park: 7}\n")
    pois = gpd.GeoDataFrame({"category": ["park"]}, geometry=[Point(0, 0)], crs="EPSG:25832")
    assert demand_points(pois, weights=load_weights(f)).weight.item() == 7
    f.write_text("categories: {park: -1}\n")
    with pytest.raises(InvalidParameter):
        load_weights(f)
