"""A table whose geometry is one WKT / EWKT text column (``POINT Z (…)``, ``SRID=4326;POINT(…)``), as database
and FME exports write it. Z is kept here and dropped (with a note) where the layer is 2D, as for vector files."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from netzatlas.errors import CRSError, FileFormatError
from netzatlas.registry.validate import PROBLEM_COLUMN

WKT_NAMES = ("wkt", "ewkt", "geom", "geometry", "the_geom", "wkb_geometry", "geometrie", "shape")
_SRID = r"^\s*SRID=(\d+)\s*;\s*"


def wkt_column(columns: list[str]) -> str | None:
    """The column holding WKT, found by its name."""
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in WKT_NAMES if n in lower), None)


def read_wkt_table(df: pd.DataFrame, column: str, crs: str | None, name: str) -> gpd.GeoDataFrame:
    """The table with its WKT column parsed; an unreadable cell goes into the row's problem."""
    vals = df[column].astype("object")
    text = vals.where(vals.notna(), None)
    srids = {s for s in text.dropna().astype(str).str.extract(_SRID, expand=False).dropna()}
    if len(srids) > 1:
        raise FileFormatError(
            f"{name}: column {column} mixes SRIDs {', '.join(sorted(srids))}",
            hint="one file, one coordinate reference system",
        )
    if srids:
        declared = f"EPSG:{srids.pop()}"
        if crs is not None and crs != declared:
            raise CRSError(
                f"{name}: column {column} declares {declared} (SRID=) but --crs {crs} was given",
                hint="drop --crs to use the SRID",
            )
        crs = declared
    if crs is None:
        raise CRSError(f"{name}: WKT geometries need their CRS", hint="pass --crs, e.g. --crs EPSG:25832")
    plain = text.dropna().astype(str).str.replace(_SRID, "", regex=True)
    geoms = pd.Series([None] * len(df), index=df.index, dtype=object)
    geoms[plain.index] = shapely.from_wkt(plain.to_numpy(), on_invalid="ignore")
    problem = pd.Series([None] * len(df), index=df.index, dtype=object)
    problem[text.isna()] = f"no geometry (column {column} empty)"
    bad = text.notna() & geoms.isna()
    problem[bad] = [f"column {column}: {str(v)[:60]!r} is not WKT geometry" for v in text[bad]]
    gdf = gpd.GeoDataFrame(df.drop(columns=[column]), geometry=gpd.GeoSeries(geoms.to_numpy()).values, crs=crs)
    if problem.notna().any():
        gdf[PROBLEM_COLUMN] = problem.to_numpy()
    return gdf
