"""A table whose geometry is one text column: WKT / EWKT (``POINT Z (…)``, ``SRID=4326;POINT(…)``), as database and
FME exports write it, or hex (E)WKB (``0101000020E6100000…``, as PostGIS writes a geometry column to CSV). Z is kept
here and dropped (with a note) where the layer is 2D, as for vector files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netzatlas.errors import CRSError, FileFormatError
from netzatlas.registry.row_columns import PROBLEM_COLUMN

WKT_NAMES = ("wkt", "ewkt", "geom", "geometry", "the_geom", "wkb_geometry", "geometrie", "shape")
_SRID = r"^\s*SRID=(\d+)\s*;\s*"
#: hex WKB / EWKB: a byte order mark (00 big, 01 little endian) and at least a type and one coordinate
_HEX_WKB = r"\s*0[01](?:[0-9A-Fa-f]{2}){20,}\s*"


def wkt_column(columns: list[str]) -> str | None:
    """The column holding WKT, found by its name."""
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in WKT_NAMES if n in lower), None)


def _parse(text: pd.Series) -> tuple[pd.Series, pd.Series, set[str]]:
    """(geometries, whether the cell is hex WKB, the SRIDs the cells declare) of the filled cells ``text``."""
    wkb = text.str.fullmatch(_HEX_WKB)
    geoms = pd.Series([None] * len(text), index=text.index, dtype=object)
    srids = set(text[~wkb].str.extract(_SRID, expand=False).dropna())
    plain = text[~wkb].str.replace(_SRID, "", regex=True)
    geoms[plain.index] = shapely.from_wkt(plain.to_numpy(), on_invalid="ignore")
    if wkb.any():
        parsed = shapely.from_wkb(text[wkb].str.strip().to_numpy(), on_invalid="ignore")
        found = shapely.get_srid(parsed[~shapely.is_missing(parsed)])
        srids |= {str(int(s)) for s in np.unique(found) if s > 0}
        geoms[wkb[wkb].index] = shapely.set_srid(parsed, 0)
    return geoms, wkb, srids


def read_wkt_table(df: pd.DataFrame, column: str, crs: str | None, name: str) -> gpd.GeoDataFrame:
    """The table with its WKT / WKB column parsed; an unreadable cell goes into the row's problem."""
    vals = df[column].astype("object")
    text = vals.where(vals.notna(), None)
    filled = text.dropna().astype(str)
    geoms_filled, wkb, srids = _parse(filled)
    if len(srids) > 1:
        raise FileFormatError(
            f"{name}: column {column} mixes SRIDs {', '.join(sorted(srids))}",
            hint="one file, one coordinate reference system",
        )
    if srids:
        declared = f"EPSG:{srids.pop()}"
        if crs is not None and crs != declared:
            raise CRSError(
                f"{name}: column {column} declares {declared} (SRID"
                + (" in its EWKB" if wkb.any() else "=") + f") but --crs {crs} was given",
                hint="drop --crs to use the SRID",
            )
        crs = declared
    if crs is None:
        what = "WKB geometries without an SRID" if wkb.any() else "WKT geometries"
        raise CRSError(f"{name}: {what} need their CRS", hint="pass --crs, e.g. --crs EPSG:25832")
    geoms = pd.Series([None] * len(df), index=df.index, dtype=object)
    geoms[filled.index] = geoms_filled
    problem = pd.Series([None] * len(df), index=df.index, dtype=object)
    problem[text.isna()] = f"no geometry (column {column} empty)"
    bad = text.notna() & geoms.isna()
    is_wkb = pd.Series(False, index=df.index)
    is_wkb[wkb.index] = wkb
    problem[bad] = [f"column {column}: {str(v)[:60]!r} is not " + ("valid WKB (hex)" if w else "WKT geometry")
                    for v, w in zip(text[bad], is_wkb[bad], strict=True)]
    gdf = gpd.GeoDataFrame(df.drop(columns=[column]), geometry=gpd.GeoSeries(geoms.to_numpy()).values, crs=crs)
    if problem.notna().any():
        gdf[PROBLEM_COLUMN] = problem.to_numpy()
    return gdf
