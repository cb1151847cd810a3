"""Sites with sectors: registry rows → coverage-engine ``Sector`` objects, defaults flagged as assumed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from netzatlas.coverage.signal import Sector
from netzatlas.mobile_sites.defaults import MACRO, SMALL_CELL, SiteDefaults


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def sectors_for_site(site_id: str, x: float, y: float, *, height_m: float | None = None, operator: str | None = None,
                     kind: str = "macro", sectors: pd.DataFrame | None = None, environment: str = "urban"
                     ) -> list[Sector]:
    """The site's sectors from the registry, or the defaults (every defaulted parameter named in ``assumed``)."""
    d: SiteDefaults = SMALL_CELL if kind == "small_cell" else MACRO
    out: list[Sector] = []
    if sectors is not None and len(sectors):
        for r in sectors.itertuples():
            assumed = []

            def pick(value: object, default: float, name: str, assumed: list[str] = assumed) -> float:
                v = _num(value)
                if v is None:
                    assumed.append(name)
                    return default
                return v
            h = pick(getattr(r, "height_m", None), height_m or d.height_m, "height_m")
            out.append(Sector(site_id, x, y, h, pick(getattr(r, "azimuth_deg", None), 0.0, "azimuth_deg"),
                              pick(getattr(r, "tilt_deg", None), d.tilt_deg, "tilt_deg"),
                              pick(getattr(r, "eirp_dbm", None), d.eirp_dbm, "eirp_dbm"),
                              pick(getattr(r, "band_mhz", None), d.frequency_mhz, "band_mhz"),
                              getattr(r, "technology", None) or d.technology,
                              getattr(r, "operator", None) or operator or "unknown", d.n_rb, environment,
                              d.max_radius_m, tuple(assumed)))
        return out
    h = height_m if height_m is not None else d.height_m
    assumed = ("sectors", "azimuth_deg", "tilt_deg", "eirp_dbm", "band_mhz") + (() if height_m else ("height_m",))
    return [Sector(site_id, x, y, h, az, d.tilt_deg, d.eirp_dbm, d.frequency_mhz, d.technology,
                   operator or "unknown", d.n_rb, environment, d.max_radius_m, assumed) for az in d.azimuths_deg]


def sectors_from_registry(sites: gpd.GeoDataFrame, sectors: pd.DataFrame | None = None) -> list[Sector]:
    """All sectors of the mobile (communication) sites; sites without sector rows get the macro defaults."""
    out: list[Sector] = []
    live = sites[sites.get("is_mobile", pd.Series(True, index=sites.index)).fillna(True).astype(bool)]
    for r in live.itertuples():
        rows = sectors[sectors["site_id"] == r.id] if sectors is not None and len(sectors) else None
        out += sectors_for_site(str(r.id), r.geometry.x, r.geometry.y, height_m=_num(getattr(r, "height_m", None)),
                                operator=getattr(r, "operator", None), sectors=rows)
    return out
