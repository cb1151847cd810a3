"""Inputs of the analyses, read from the registry as GeoDataFrames in the storage CRS."""

from __future__ import annotations

import geopandas as gpd
import psycopg
from psycopg import sql

from netzatlas.registry.db import get_layer
from netzatlas.registry.exporters.files import read_layer


def chargers(conn: psycopg.Connection, *, dedupe: bool = True) -> gpd.GeoDataFrame:
    """Public charging points; an OSM station linked to a register entry (conflation) is counted once."""
    layer = get_layer(conn, "charging_point")
    where = sql.SQL("status = 'active'")
    if dedupe:
        where = sql.SQL("status = 'active' AND id NOT IN (SELECT id_a FROM registry.asset_link "
                        "WHERE table_name = 'registry.charging_point')")
    return read_layer(conn, layer, where=where)


def population_cells(conn: psycopg.Connection, resolution_m: int = 100) -> gpd.GeoDataFrame:
    return read_layer(conn, get_layer(conn, "population_grid"), where=sql.SQL("resolution_m = %(r)s"),
                      params={"r": resolution_m})


def layer(conn: psycopg.Connection, name: str) -> gpd.GeoDataFrame:
    return read_layer(conn, get_layer(conn, name))


def require_population(cells: gpd.GeoDataFrame) -> None:
    """InvalidParameter unless the registry has inhabitants on its 100 m grid: reach, gaps and figures per 1,000
    inhabitants need them (an empty grid would report 0 % and 0 kW per 1,000 as if they were measured)."""
    from netzatlas.errors import InvalidParameter
    from netzatlas.reports.outputs import inhabitants

    if inhabitants(cells) <= 0:
        raise InvalidParameter("the registry has no inhabitants on a 100 m population grid (Zensus 2011)",
                               hint="import it with `netzatlas import zensus GRID_1KM GRID_100M` (the demo data: "
                                    "`netzatlas demo`)")
