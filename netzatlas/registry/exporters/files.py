"""Export any registry layer to GeoPackage, GeoJSON, CSV (via pyogrio / pandas) or Excel (.xlsx, via openpyxl).

``progress(phase, done, total)`` (optional) is told the rows read from the database and written to the file.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import shapely
from psycopg import sql
from pyproj import CRS
from pyproj.exceptions import CRSError

from netzatlas.errors import InvalidParameter
from netzatlas.registry.db import Layer

FORMATS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV", ".xlsx": "XLSX"}
#: rows fetched from the database and written to a GeoPackage / CSV per step
CHUNK_ROWS = 50_000
Progress = Callable[[str, int, int], None]
_INTEGERS = {"int2", "int4", "int8"}
_FLOATS = {"float4", "float8", "numeric"}
#: PostGIS geometry types as OGR names (declared on the file even when the layer has no rows)
_OGR_TYPES = {t.upper(): t for t in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                                     "MultiPolygon", "GeometryCollection")}


def read_layer(conn: psycopg.Connection, layer: Layer, *, include_deleted: bool = False,
               where: sql.Composable | None = None, params: dict | None = None,
               progress: Progress | None = None, typed: bool = False) -> gpd.GeoDataFrame:
    """A registry layer as a GeoDataFrame in its storage CRS (properties as a dict column).

    ``typed`` (for files): the registry's types kept where NULLs or no rows would lose them (see ``_typed``);
    without it the columns are as pandas makes them, which the analyses rely on.

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
    df = _typed(df, layer) if typed else df
    if not layer.geometry_type:
        return gpd.GeoDataFrame(df)
    geoms = shapely.from_wkb([bytes(g) if g is not None else None for g in df.pop("geom")])
    gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=f"EPSG:{layer.srid}")
    gdf.attrs["geometry_type"] = _OGR_TYPES.get(str(layer.geometry_type).upper())
    return gdf


def _typed(df: pd.DataFrame, layer: Layer) -> pd.DataFrame:
    """The registry's types kept with NULLs among the values (and with no rows at all): integers stay
    integers, booleans booleans, timestamps instants in UTC (dates stay ``datetime.date``)."""
    for c in layer.columns:
        if c.name not in df.columns or c.name == "id":
            continue
        if c.data_type in _INTEGERS:
            df[c.name] = pd.array(df[c.name].to_numpy(dtype=object), dtype="Int64")
        elif c.data_type in _FLOATS:
            df[c.name] = pd.to_numeric(df[c.name], errors="coerce").astype("float64")
        elif c.data_type == "bool":
            df[c.name] = pd.array(df[c.name].to_numpy(dtype=object), dtype="boolean")
        elif c.data_type == "timestamptz":
            df[c.name] = pd.to_datetime(df[c.name], utc=True)
    return df


def _date_columns(df: pd.DataFrame) -> list[str]:
    """Object columns holding only dates (``datetime.date``, not datetimes) and NULLs, with at least one date."""
    out = []
    for col in df.columns:
        vals = df[col].dropna() if df[col].dtype == object else ()
        first = vals.iloc[0] if len(vals) else None
        if isinstance(first, dt.date) and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in vals):
            out.append(col)
    return out


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


def _flatten(gdf: gpd.GeoDataFrame, keep_times: bool = False, dates: list[str] = ()) -> gpd.GeoDataFrame:
    """Arrays and JSON as JSON text, dates as 'YYYY-MM-DD'; instants as ISO 8601 text unless ``keep_times``."""
    out = gdf.copy()
    geom_name = out.geometry.name if isinstance(out, gpd.GeoDataFrame) and "geometry" in dir(out) else None
    for col in out.columns:
        if col == geom_name:
            continue
        s = out[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (dict, list))).any():
            out[col] = s.map(lambda v: json.dumps(v, ensure_ascii=False, default=str) if v is not None else None)
        elif col in dates:
            out[col] = s.map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
        elif str(s.dtype).startswith("datetime64") and getattr(s.dt, "tz", None) is not None and not keep_times:
            out[col] = s.map(lambda v: v.isoformat() if pd.notna(v) else None).astype(object)
    return out


def _target(path: Path, fmt: str | None, crs: str | None) -> str:
    """The OGR driver for ``path`` (or ``fmt``); refuses what cannot be written with a clear message."""
    driver = (fmt or FORMATS.get(path.suffix.lower()) or "").upper()
    if driver not in ("GPKG", "GEOJSON", "CSV", "XLSX"):
        what = f"the format {fmt!r}" if fmt else f"the format of {path.name}"
        raise InvalidParameter(f"cannot write {what}",
                               hint="use .gpkg, .geojson, .csv or .xlsx, or --format GPKG/GeoJSON/CSV/XLSX")
    if path.is_dir():
        raise InvalidParameter(f"{path} is a folder", hint="give a file name, e.g. " + str(path / "export.gpkg"))
    if driver == "GPKG" and path.is_file() and not _is_sqlite(path):
        raise InvalidParameter(f"{path} exists and is not a GeoPackage; it is left as it is",
                               hint="choose another file name or remove the file")
    if crs:
        try:
            wanted = CRS.from_user_input(crs)
        except CRSError:
            raise InvalidParameter(f"unknown CRS {crs!r}", hint="e.g. EPSG:25832 or EPSG:4326") from None
        if driver == "GEOJSON" and not wanted.equals(CRS.from_user_input("OGC:CRS84"), ignore_axis_order=True):
            raise InvalidParameter(
                f"GeoJSON is always written in WGS 84 longitude/latitude (RFC 7946), not in {crs}",
                hint=f"leave out --crs for GeoJSON, or write a GeoPackage (.gpkg) or CSV in {crs}")
    return driver


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _declare_dates(path: Path, layer: str, columns: list[str]) -> None:
    """Declare ``columns`` of a GeoPackage table as DATE (their values are already 'YYYY-MM-DD' text, the form
    the GeoPackage standard gives DATE) — pyogrio writes ``datetime.date`` values as text fields."""
    if not columns:
        return
    with sqlite3.connect(path) as db:
        (ddl,) = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (layer,)).fetchone()
        for col in columns:
            ddl = ddl.replace(f'"{col}" TEXT', f'"{col}" DATE')
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (ddl, layer))
        db.execute("PRAGMA writable_schema = OFF")


def export_frame(gdf: gpd.GeoDataFrame, path: str | Path, *, fmt: str | None = None, crs: str | None = None,
                 layer_name: str | None = None, progress: Progress | None = None,
                 notes: list[str] | None = None) -> Path:
    """Write a GeoDataFrame as GeoPackage, GeoJSON (RFC 7946, CRS84), CSV or Excel (.xlsx; both lon/lat or WKT).

    ``progress("writing", rows written, rows in total)``: every format is written and reported in steps of
    :data:`CHUNK_ROWS` rows (a GeoPackage's R-tree built once at the end, see :func:`_write_gpkg`). ``notes``: told
    what the user should know about the file written (e.g. characters an Excel file cannot hold)."""
    tell = progress or (lambda phase, done, total: None)
    tell("writing", 0, len(gdf))
    p = Path(path)
    driver = _target(p, fmt, crs)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        _write(gdf, p, driver, crs, layer_name, tell, notes if notes is not None else [])
    except (OSError, pyogrio.errors.DataSourceError) as exc:
        raise InvalidParameter(f"cannot write {p}: {exc}", hint="choose a folder you may write to") from None
    tell("writing", len(gdf), len(gdf))
    return p


def _json_value(v: object) -> object:
    """A property value as JSON: NULL / NaN / NaT as null, instants as RFC 3339 in UTC, dates as 'YYYY-MM-DD'."""
    if isinstance(v, (dict, list, str, bool)) or v is None:
        return v
    if v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.isoformat().replace("+00:00", "Z")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (np.ndarray, tuple)):
        return [_json_value(x) for x in v]
    if pd.api.types.is_scalar(v) and pd.isna(v):
        return None
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    return str(v)


def _write_geojson(gdf: gpd.GeoDataFrame, p: Path, layer_name: str | None, tell: Progress) -> None:
    """RFC 7946 GeoJSON written by us: text stays text (GDAL writes text that looks like JSON, '[1, 2]', as JSON),
    JSON properties stay objects, coordinates in CRS84 to 7 decimals (~1 cm), floats to their last digit.
    ``tell`` is told the features written every :data:`CHUNK_ROWS`."""
    geom = gdf.geometry
    rounded = shapely.transform(geom.values, lambda c: np.round(c, 7))
    cols = [c for c in gdf.columns if c != geom.name]
    with p.open("w", encoding="utf-8") as f:
        head = {"type": "FeatureCollection", **({"name": layer_name} if layer_name else {})}
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n')
        for i, (g, row) in enumerate(zip(rounded, gdf[cols].itertuples(index=False, name=None), strict=True)):
            feature = {"type": "Feature", "properties": {c: _json_value(v) for c, v in zip(cols, row, strict=True)},
                       "geometry": json.loads(shapely.to_geojson(g)) if g is not None else None}
            f.write(("," if i else "") + json.dumps(feature, ensure_ascii=False, allow_nan=False) + "\n")
            if (i + 1) % CHUNK_ROWS == 0 and i + 1 < len(gdf):
                tell("writing", i + 1, len(gdf))
        f.write("]}\n")


def _write(gdf: gpd.GeoDataFrame, p: Path, driver: str, crs: str | None, layer_name: str | None,
           tell: Progress, notes: list[str]) -> None:
    """``gdf`` to ``p``: GeoJSON by :func:`_write_geojson`, GeoPackage by pyogrio (dates declared DATE), CSV by
    pandas in steps, Excel by :func:`netzatlas.registry.exporters.xlsx.write_xlsx`."""
    geometry_type = gdf.attrs.get("geometry_type") if isinstance(gdf, gpd.GeoDataFrame) else None
    kw = {"geometry_type": geometry_type} if geometry_type and driver != "CSV" else {}
    if driver == "GEOJSON":
        _write_geojson(gdf.to_crs("EPSG:4326") if gdf.crs else gdf, p, layer_name, tell)
        return
    dates = _date_columns(gdf)
    out = _flatten(gdf, keep_times=driver == "GPKG", dates=dates)
    if driver == "GPKG":
        if crs:
            out = out.to_crs(crs)
        _write_gpkg(out, p, layer_name or p.stem, kw, tell)
        _declare_dates(p, layer_name or p.stem, dates)
    else:
        df = _table(out, crs, notes)
        if driver == "XLSX":
            from netzatlas.registry.exporters.xlsx import write_xlsx

            # written next to the target and moved over it: a refused or broken run leaves an older file as it was
            part = p.with_name(f".{p.name}.part")
            try:
                replaced = write_xlsx(df, part, layer_name or p.stem, tell, CHUNK_ROWS)
                part.replace(p)
                if replaced:
                    notes.append(f"{replaced:,} control character(s) an Excel file cannot hold were written as "
                                 "\ufffd (�); the GeoPackage, GeoJSON and CSV exports keep them")
            finally:
                part.unlink(missing_ok=True)
            return
        for start in range(0, max(len(df), 1), CHUNK_ROWS):
            df.iloc[start:start + CHUNK_ROWS].to_csv(p, index=False, mode="a" if start else "w", header=start == 0)
            tell("writing", min(start + CHUNK_ROWS, len(df)), len(df))


def _write_gpkg(out: gpd.GeoDataFrame, p: Path, layer: str, kw: dict, tell: Progress) -> None:
    """``out`` as the GeoPackage layer ``layer`` (replaced when the file has it), in steps of :data:`CHUNK_ROWS`:
    the first step creates the layer without its R-tree, the others are appended, then GDAL builds the R-tree once
    (``CreateSpatialIndex``, as a layer written in one piece gets it: the same index, triggers and extension row;
    appending to a layer that has its R-tree updates the index row by row, several times slower). In one piece
    when it fits one step, the geometry type is not declared or pyogrio's GDAL is not found (no progress then)."""
    if len(out) <= CHUNK_ROWS or not kw.get("geometry_type") or _gdal() is None:
        pyogrio.write_dataframe(out, p, driver="GPKG", layer=layer, **kw)
        return
    for start in range(0, len(out), CHUNK_ROWS):
        pyogrio.write_dataframe(out.iloc[start:start + CHUNK_ROWS], p, driver="GPKG", layer=layer,
                                append=start > 0, **({} if start else {"layer_options": {"SPATIAL_INDEX": "NO"}}),
                                **kw)
        if start + CHUNK_ROWS < len(out):
            tell("writing", start + CHUNK_ROWS, len(out))
    _create_spatial_index(p, layer)


@functools.cache
def _gdal() -> ctypes.CDLL | None:
    """The GDAL library pyogrio runs on (its wheel's copy, already loaded, drivers registered), for the one call
    pyogrio has no API for: SQL on a dataset opened for update. None when it is not where a wheel puts it."""
    root = Path(pyogrio.__file__).parent
    found = sorted([*root.parent.joinpath("pyogrio.libs").glob("libgdal*"), *root.joinpath(".dylibs").glob("libgdal*")])
    if not found:
        return None
    lib = ctypes.CDLL(str(found[0]))
    lib.GDALOpenEx.restype = ctypes.c_void_p
    lib.GDALOpenEx.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.GDALDatasetExecuteSQL.restype = ctypes.c_void_p
    lib.GDALDatasetExecuteSQL.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p]
    lib.GDALDatasetReleaseResultSet.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.GDALClose.argtypes = [ctypes.c_void_p]
    return lib


def _create_spatial_index(p: Path, layer: str) -> None:
    """GDAL's ``CreateSpatialIndex`` on the GeoPackage layer (its bulk R-tree loader, triggers, extension row)."""
    with sqlite3.connect(p) as db:
        row = db.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)).fetchone()
    db.close()
    if row is None:
        return
    lib, quoted = _gdal(), (layer.replace("'", "''"), row[0].replace("'", "''"))
    ds = lib.GDALOpenEx(os.fsencode(p), 0x01 | 0x04, None, None, None)  # GDAL_OF_UPDATE | GDAL_OF_VECTOR
    if not ds:
        raise OSError(f"GDAL cannot open {p} to build its spatial index")
    try:
        res = lib.GDALDatasetExecuteSQL(ds, f"SELECT CreateSpatialIndex('{quoted[0]}', '{quoted[1]}')".encode(),
                                        None, None)
        if res:
            lib.GDALDatasetReleaseResultSet(ds, res)
    finally:
        lib.GDALClose(ds)
    with sqlite3.connect(p) as db:
        try:
            built = db.execute("SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = "
                               "'gpkg_rtree_index'", (layer,)).fetchone()
        except sqlite3.OperationalError:  # no extension at all
            built = None
    db.close()
    if built is None:
        raise OSError(f"GDAL did not build the spatial index of {layer} in {p}")


def _table(out: gpd.GeoDataFrame, crs: str | None, notes: list[str]) -> pd.DataFrame:
    """The rows as a plain table: points as lon/lat (x/y in a projected ``crs``), other geometries as WKT (to 8
    decimals in degrees, ~1 mm: shapely's default of 6 moved vertices by up to 10 cm). ``notes`` is told the
    ``--crs`` an import of x/y or WKT needs (lon/lat columns are recognised without it)."""
    target = out.to_crs(crs or "EPSG:4326") if out.crs else out
    df = pd.DataFrame(target.drop(columns=target.geometry.name))
    degrees = target.crs is None or target.crs.is_geographic
    if (target.geom_type == "Point").all():
        df["lon" if degrees else "x"] = target.geometry.x.round(8)
        df["lat" if degrees else "y"] = target.geometry.y.round(8)
        if degrees:
            return df
        what = "x/y"
    else:
        df["wkt"] = target.geometry.to_wkt(rounding_precision=8 if degrees else 6)
        what = "WKT geometries"
    if target.crs is not None and len(df):
        code = target.crs.to_authority()
        name = ":".join(code) if code else target.crs.to_string()
        notes.append(f"{what} in {name}: import the file again with --crs {name}")
    return df
