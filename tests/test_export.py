"""Export of a layer to GeoPackage, GeoJSON and CSV, read back with pyogrio / pandas."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from netzatlas.registry.db import get_layer
from netzatlas.registry.exporters.files import export_frame, read_layer
from netzatlas.registry.importers.load import load_layers


@pytest.fixture
def lamps(db_url, unique_source):
    gdf = gpd.GeoDataFrame({"external_id": ["1", "2"], "height_m": [8.0, 9.5], "name": ["Markt", "Dom"],
                            "properties": [{"pole": "steel"}, {}]},
                           geometry=[Point(6.0839, 50.7753), Point(6.0835, 50.7745)], crs="EPSG:4326")
    load_layers({"streetlight": gdf}, source=unique_source, kind="test")
    return unique_source


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv"])
def test_export_round_trip(conn, lamps, tmp_path, suffix):
    layer = get_layer(conn, "streetlight")
    from psycopg import sql

    gdf = read_layer(conn, layer, where=sql.SQL("source = %(s)s"), params={"s": lamps})
    assert len(gdf) == 2 and gdf.crs.to_epsg() == 25832
    path = export_frame(gdf, tmp_path / f"lamps{suffix}")
    if suffix == ".csv":
        back = pd.read_csv(path)
        assert set(back.columns) >= {"external_id", "height_m", "lon", "lat"}
        assert back.sort_values("external_id")["lon"].round(4).tolist() == [6.0839, 6.0835]
    else:
        back = pyogrio.read_dataframe(path)
        assert len(back) == 2
        if suffix == ".geojson":
            assert back.crs.to_epsg() == 4326
            assert back.sort_values("external_id").geometry.x.round(4).tolist() == [6.0839, 6.0835]
        else:
            assert back.crs.to_epsg() == 25832
        assert sorted(back["name"]) == ["Dom", "Markt"]
        props = back.sort_values("external_id")["properties"].iloc[0]
        assert props == {"pole": "steel"} or '"pole": "steel"' in props


def test_unknown_format(tmp_path):
    from netzatlas.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="format"):
        export_frame(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4326), tmp_path / "x.shpx")
