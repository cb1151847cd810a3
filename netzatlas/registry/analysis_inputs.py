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
