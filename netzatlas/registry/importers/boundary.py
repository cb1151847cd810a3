"""Municipality boundaries (VG250): GeoJSON, GeoPackage or the zipped Shapefile, selected by regional key."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from netzatlas.config import AACHEN_ARS, KNOWN_MUNICIPALITIES, UNNAMED, ags, get_settings
from netzatlas.errors import FileFormatError, InvalidParameter

NAMES = KNOWN_MUNICIPALITIES


def read_boundary(path: str | Path, ars: str | None = None) -> gpd.GeoDataFrame:
    """The municipality polygon(s) as a ``municipality`` layer frame (``external_id`` = ARS); a polygon whose file
    has no name column is named by its ARS (Aachen, Essen, the configured city's ``NETZATLAS_MUNICIPALITY_NAME``)."""
    p = Path(path)
    try:
        gdf = pyogrio.read_dataframe(p, layer=_municipality_layer(p))
    except FileFormatError:
        raise
    except Exception as exc:
        raise FileFormatError(f"{p.name}: cannot read the boundary ({exc})") from exc
    if gdf.crs is None:
        raise FileFormatError(f"{p.name}: the boundary has no CRS")
    if gdf.empty:
        raise FileFormatError(f"{p.name}: the file holds no boundary (no features)")
    col = next((c for c in gdf.columns if c.upper() in ("ARS", "AGS", "RS")), None)
    keys = _keys(gdf[col], col.upper()) if col else None
    configured = get_settings().municipality_ars
    if ars:
        if keys is None:
            raise InvalidParameter(f"{p.name} has no ARS column to select {ars} from",
                                   hint=f"its columns: {', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}")
        sel = _matches(keys, ars)
        if not sel.any():
            found = sorted(keys.dropna().unique())
            raise InvalidParameter(
                f"no municipality with ARS {ars} in {p.name} (it holds {len(found)}: "
                f"{', '.join(found[:5])}{' …' if len(found) > 5 else ''})",
                hint="ARS is the 12-digit regional key, e.g. 053340002002 (Aachen); AGS (8 digits) works as well")
        gdf, keys = gdf[sel.to_numpy()], keys[sel]
    elif keys is None and len(gdf) > 1:
        raise FileFormatError(
            f"{p.name}: {len(gdf)} polygons but no ARS / AGS column to tell the municipalities apart",
            hint=f"its columns: {', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}; use the VG250 layer "
                 "VG250_GEM, or a file with only your municipality")
    gdf = gdf.copy()
    if keys is not None:
        gdf["ars"] = keys.to_numpy()
    elif ars is None and len(gdf) == 1 and "aachen" in p.name.lower():
        gdf["ars"] = AACHEN_ARS
    else:
        gdf["ars"] = None
    gdf["external_id"] = gdf["ars"].fillna(p.stem) if len(gdf) == 1 else gdf["ars"]
    name_col = next((c for c in gdf.columns if c.upper() in ("GEN", "NAME")), None)
    gdf["name"] = gdf[name_col] if name_col else gdf["ars"].map(lambda a: _name(a, configured))
    keep = ["external_id", "ars", "name", gdf.geometry.name]
    gdf = gdf[keep].reset_index(drop=True)
    if gdf.geometry.has_z.any():  # 3D exports: the boundary layer is 2D
        gdf[gdf.geometry.name] = shapely.force_2d(gdf.geometry.values)
    return gdf


def _matches(keys: pd.Series, ars: str) -> pd.Series:
    """Rows whose key is ``ars``, or whose ARS has ``ars`` as its AGS (8 digits)."""
    return (keys == ars) | ((keys.str.len() == 12) & (keys.str[:5] + keys.str[9:] == ars))


def _name(ars: str | None, configured: str | None) -> str | None:
    """A municipality's name where the file has none: known by its ARS, or the configured city's name."""
    if ars is None:
        return None
    if ars in NAMES:
        return NAMES[ars]
    s = get_settings()
    return s.municipality_name if configured and ags(ars) == ags(configured) and \
        not s.municipality_name.startswith(UNNAMED) else None


def _municipality_layer(p: Path) -> str | None:
    """The layer to read: the only one, else the municipalities' (VG250 GeoPackages hold vg250_sta, _lan, _krs,
    _gem, … — the first is the state)."""
    try:
        layers = [str(name) for name, geom in pyogrio.list_layers(p) if geom]
    except Exception:
        return None  # unreadable: read_dataframe says why
    if len(layers) <= 1:
        return None
    gem = [n for n in layers if n.lower().endswith(("_gem", "gemeinden", "gemeinde"))]
    if len(gem) == 1:
        return gem[0]
    raise FileFormatError(f"{p.name} holds {len(layers)} layers ({', '.join(layers[:8])}) and none is clearly the "
                          "municipalities' (VG250: vg250_gem)",
                          hint="export the municipality layer alone (ogr2ogr out.gpkg in.gpkg LAYER) and import that")


def _keys(values: pd.Series, kind: str) -> pd.Series:
    """Regional keys as text, with the leading zero a numeric column lost (``53340002002`` → ``053340002002``);
    an AGS column's 8 digits stay AGS."""
    width = 8 if kind == "AGS" else 12

    def one(v: object) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        text = str(int(v)) if isinstance(v, float | np.floating) and float(v).is_integer() else str(v).strip()
        return text.zfill(width) if text.isdigit() and len(text) == width - 1 else text

    return values.map(one)
