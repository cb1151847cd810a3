"""Export any registry layer to GeoPackage, GeoJSON or CSV (via pyogrio / pandas).

``progress(phase, done, total)`` (optional) is told the rows read from the database and written to the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql

from netzatlas.errors import InvalidParameter
from netzatlas.registry.db import Layer

FORMATS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV"}
#: rows fetched from the database and written to a GeoPackage / CSV per step
CHUNK_ROWS = 50_000
Progress = Callable[[str, int, int], None]


def read_layer(conn: psycopg.Connection, layer: Layer, *, include_deleted: bool = False,
               where: sql.Composable | None = None, params: dict | None = None,
               progress: Progress | None = None) -> gpd.GeoDataFrame:
    """A registry layer as a GeoDataFrame in its storage CRS (properties as a dict column).

    With ``progress``, the rows are counted first and fetched in steps of :data:`CHUNK_ROWS` through a server-side
    cursor (``progress("reading", rows read, rows in total)``)."""
    cols = [c for c in layer.column_names if c != "geom"]
    select = [sql.SQL("{}::text").format(sql.Identifier(c)) if c == "id" else sql.Identifier(c) for c in cols]
    if layer.geometry_type:
        select.append(sql.SQL("ST_AsBinary(geom) AS geom"))
    conds = [] if include_deleted else [sql.SQL("deleted_at IS NULL")]
    if where is not None:
        conds.append(where)
    query = sql.SQL("SELECT {} FROM {}.{} {} ORDER BY source, external_id").format(
        sql.SQL(", ").join(select), sql.Identifier(layer.schema), sql.Identifier(layer.name),
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL(""),
    )
    if progress is None:
        with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            rows = cur.execute(query, params or {}).fetchall()
    else:
        rows = _fetch_in_steps(conn, query, params or {}, progress)
    df = pd.DataFrame(rows, columns=cols + (["geom"] if layer.geometry_type else []))
    if not layer.geometry_type:
        return gpd.GeoDataFrame(df)
    geoms = shapely.from_wkb([bytes(g) if g is not None else None for g in df.pop("geom")])
    return gpd.GeoDataFrame(df, geometry=geoms, crs=f"EPSG:{layer.srid}")


def _fetch_in_steps(conn: psycopg.Connection, query: sql.Composable, params: dict, progress: Progress
                    ) -> list[dict]:
    """The query's rows through a server-side cursor, :data:`CHUNK_ROWS` at a time, telling ``progress``."""
    count = sql.SQL("SELECT count(*) AS n FROM ({}) q").format(query)
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        total = int(cur.execute(count, params).fetchone()["n"])
    progress("reading", 0, total)
    rows: list[dict] = []
    with conn.transaction(), conn.cursor("netzatlas_export", row_factory=psycopg.rows.dict_row) as cur:
        cur.itersize = CHUNK_ROWS
        cur.execute(query, params)
        while chunk := cur.fetchmany(CHUNK_ROWS):
            rows += chunk
            progress("reading", len(rows), max(total, len(rows)))
    return rows


def _flatten(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    geom_name = out.geometry.name if isinstance(out, gpd.GeoDataFrame) and "geometry" in dir(out) else None
    for col in out.columns:
        if col == geom_name:
            continue
        s = out[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (dict, list))).any():
            out[col] = s.map(lambda v: json.dumps(v, ensure_ascii=False, default=str) if v is not None else None)
        elif str(s.dtype).startswith("datetime64") and getattr(s.dt, "tz", None) is not None:
            out[col] = s.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    return out


def export_frame(gdf: gpd.GeoDataFrame, path: str | Path, *, fmt: str | None = None, crs: str | None = None,
                 layer_name: str | None = None, progress: Progress | None = None) -> Path:
    """Write a GeoDataFrame as GeoPackage, GeoJSON (RFC 7946, CRS84) or CSV (lon/lat or WKT).

    ``progress("writing", rows written, rows in total)``: CSV is written in steps of :data:`CHUNK_ROWS` rows;
    GeoPackage and GeoJSON in one piece (reported when written)."""
    tell = progress or (lambda phase, done, total: None)
    tell("writing", 0, len(gdf))
    p = Path(path)
    driver = fmt.upper() if fmt else FORMATS.get(p.suffix.lower())
    driver = (driver or "").upper()
    if driver not in ("GPKG", "GEOJSON", "CSV"):
        raise InvalidParameter(f"cannot tell the format of {p.name}", hint="use .gpkg, .geojson or .csv, or --format")
    p.parent.mkdir(parents=True, exist_ok=True)
    out = _flatten(gdf)
    if driver == "GEOJSON":
        out = out.to_crs("EPSG:4326") if out.crs else out
        if p.exists():
            p.unlink()
        pyogrio.write_dataframe(out, p, driver="GeoJSON", layer=layer_name, RFC7946="YES")
    elif driver == "GPKG":
        if crs:
            out = out.to_crs(crs)
        # one piece: appending in steps would update the GeoPackage's R-tree row by row (3-4 times slower)
        pyogrio.write_dataframe(out, p, driver="GPKG", layer=layer_name or p.stem)
    else:
        target = out.to_crs(crs or "EPSG:4326") if out.crs else out
        df = pd.DataFrame(target.drop(columns=target.geometry.name))
        if (target.geom_type == "Point").all():
            df["lon" if (crs or "EPSG:4326") == "EPSG:4326" else "x"] = target.geometry.x.round(8)
            df["lat" if (crs or "EPSG:4326") == "EPSG:4326" else "y"] = target.geometry.y.round(8)
        else:
            df["wkt"] = target.geometry.to_wkt()
        for start in range(0, max(len(df), 1), CHUNK_ROWS):
            df.iloc[start:start + CHUNK_ROWS].to_csv(p, index=False, mode="a" if start else "w", header=start == 0)
            tell("writing", min(start + CHUNK_ROWS, len(df)), len(df))
    tell("writing", len(gdf), len(gdf))
    return p
