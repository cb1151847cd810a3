"""Exact CRS transforms: PROJ's grids where they are installed, and a description of what was used.

pyproj's wheel ships PROJ without transformation grids, so Gauss-Krüger (DHDN) data would go through a
Helmert fallback (~3 m). Debian's ``proj-data`` package (installed by ``scripts/setup.sh``) holds the German
BETA2007 grid; its folder is added to pyproj's search path here, so every transform in the process (geopandas'
``to_crs`` included) picks the grid-based operation (EPSG "DHDN to ETRS89 (8)", ~0.9 m per the EPSG registry,
instead of "DHDN to ETRS89 (2)", 3 m). No network access is used (PROJ_NETWORK stays off).
"""

from __future__ import annotations

import math
import os
import warnings
from functools import lru_cache
from pathlib import Path

import pyproj
from pyproj.transformer import TransformerGroup

__all__ = ["SYSTEM_PROJ_DIRS", "use_system_grids", "describe_transform"]

SYSTEM_PROJ_DIRS = (Path("/usr/share/proj"), Path("/usr/local/share/proj"))


@lru_cache(maxsize=1)
def use_system_grids() -> list[str]:
    """Add the system's PROJ grid folders to pyproj's search path (after pyproj's own ``proj.db``)."""
    added: list[str] = []
    current = pyproj.datadir.get_data_dir().split(os.pathsep)
    for d in SYSTEM_PROJ_DIRS:
        if d.is_dir() and str(d) not in current and any(d.glob("*.gsb")) | any(d.glob("*.tif")):
            pyproj.datadir.append_data_dir(str(d))
            added.append(str(d))
    return added


def _name(crs: pyproj.CRS) -> str:
    auth = crs.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else crs.name


@lru_cache(maxsize=64)
def _describe(src_wkt: str, dst_wkt: str, area: tuple[float, float, float, float] | None) -> str | None:
    src, dst = pyproj.CRS.from_wkt(src_wkt), pyproj.CRS.from_wkt(dst_wkt)
    aoi = pyproj.aoi.AreaOfInterest(*area) if area is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = TransformerGroup(src, dst, always_xy=True, area_of_interest=aoi)
    if not group.transformers:
        return None
    best = group.transformers[0]
    acc = f"{best.accuracy:g} m" if best.accuracy is not None and best.accuracy >= 0 else "accuracy unknown"
    text = f"transformed {_name(src)} → {_name(dst)} with: {best.description} ({acc})"
    better = [op for op in group.unavailable_operations
              if op.accuracy is not None and 0 <= op.accuracy < (best.accuracy if best.accuracy >= 0 else 1e9)]
    if better:
        grids = sorted({g.short_name for op in better for g in op.grids if not g.available})
        text += (f"; a more accurate one ({better[0].accuracy:g} m) needs the grid(s) {', '.join(grids)} "
                 "(Debian: apt-get install proj-data)")
    return text


def describe_transform(src: pyproj.CRS | str, dst: pyproj.CRS | str,
                       area: tuple[float, float, float, float] | None = None) -> str | None:
    """One line for an import report: which operation transforms ``src`` to ``dst`` and how accurate it is.

    ``area``: the data's extent (west, south, east, north in degrees), so that only operations valid there are
    considered. None when the two CRSs are the same."""
    use_system_grids()
    a, b = pyproj.CRS.from_user_input(src), pyproj.CRS.from_user_input(dst)
    if a == b:
        return None
    if area is not None:
        area = tuple(round(v, 2) for v in area)  # type: ignore[assignment]
        if not all(map(math.isfinite, area)) or not (-180 <= area[0] <= area[2] <= 180 and -90 <= area[1] <= area[3]
                                                      <= 90):
            area = None
    return _describe(a.to_wkt(), b.to_wkt(), area)


use_system_grids()
