"""Sites for a coverage run from a file (CSV or GeoPackage), for areas larger than a city's registry.

Columns (one row per sector; a site given by one row without ``azimuth_deg`` gets the documented defaults, three
sectors 0/120/240°, every default named in the sector's ``assumed``):

- ``site_id`` (required), the position as a point geometry (GeoPackage), or ``x``/``y`` in the run's CRS, or
  ``lon``/``lat`` (WGS 84);
- optional: ``operator`` (missing → ``unknown``), ``technology``, ``band_mhz``, ``height_m`` (antenna height above
  ground), ``azimuth_deg``, ``tilt_deg``, ``eirp_dbm``, ``radius_m`` (reach; default by kind), ``kind`` (``macro``
  or ``small_cell``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import pandas as pd

from netzatlas.coverage.signal import Sector
from netzatlas.errors import FileFormatError, InvalidInput

COLUMNS = ("site_id", "operator", "technology", "band_mhz", "height_m", "azimuth_deg", "tilt_deg", "eirp_dbm",
           "radius_m", "kind")


def read_sites(path: str | Path, crs: str) -> list[Sector]:
    """The sectors of the sites in ``path`` (see the module docstring), positions in ``crs``."""
    from netzatlas.mobile_sites.sites import sectors_for_site

    p = Path(path)
    try:
        if p.suffix.lower() == ".csv":
            df = pd.read_csv(p, sep=None, engine="python")
            cols = {c.lower(): c for c in df.columns}
            if {"x", "y"} <= cols.keys():
                g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df[cols["x"]], df[cols["y"]]), crs=crs)
            elif {"lon", "lat"} <= cols.keys():
                g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df[cols["lon"]], df[cols["lat"]]),
                                     crs="EPSG:4326").to_crs(crs)
            else:
                raise InvalidInput(f"{p.name}: no position columns (x, y in {crs}, or lon, lat)")
        else:
            g = gpd.read_file(p)
            if g.crs is None:
                raise InvalidInput(f"{p.name}: the layer has no CRS")
            g = g.to_crs(crs)
    except (OSError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise FileFormatError(f"{p.name}: cannot read the sites ({exc})") from exc
    g.columns = [c.lower() if isinstance(c, str) and c != g.geometry.name else c for c in g.columns]
    if "site_id" not in g.columns:
        raise InvalidInput(f"{p.name}: the column site_id is missing", hint="columns: " + ", ".join(COLUMNS))
    if g.geometry.isna().any() or g.geometry.is_empty.any():
        raise InvalidInput(f"{p.name}: {int((g.geometry.isna() | g.geometry.is_empty).sum())} row(s) without a "
                           "position")
    out: list[Sector] = []
    for site, rows in g.groupby(g["site_id"].astype(str), sort=True):
        first = rows.iloc[0]
        kind = str(first.get("kind") or "macro") if pd.notna(first.get("kind", None)) else "macro"
        per_sector = rows if "azimuth_deg" in rows and rows["azimuth_deg"].notna().any() else None
        h = pd.to_numeric(pd.Series([first.get("height_m")]), errors="coerce").iloc[0]
        secs = sectors_for_site(site, first.geometry.x, first.geometry.y, height_m=None if pd.isna(h) else float(h),
                                operator=first.get("operator"), kind=kind, sectors=per_sector)
        radius = pd.to_numeric(pd.Series([first.get("radius_m")]), errors="coerce").iloc[0]
        if pd.notna(radius):
            secs = [dataclasses.replace(s, max_radius_m=float(radius)) for s in secs]
        out += secs
    if not out:
        raise InvalidInput(f"{p.name}: no sites")
    return out
