"""Exact CRS transforms: PROJ's grids where they are installed, and a description of what was used.

pyproj's wheel ships PROJ without transformation grids, so Gauss-Krüger (DHDN) data would go through a
Helmert fallback (~3 m). Debian's ``proj-data`` package (installed by ``scripts/setup.sh``) holds the German
BETA2007 grid; its folder is added to pyproj's search path here, so every transform in the process (geopandas'
``to_crs`` included) picks the grid-based operation (EPSG "DHDN to ETRS89 (8)", ~0.9 m per the EPSG registry,
instead of "DHDN to ETRS89 (2)", 3 m). No network access is used (PROJ_NETWORK stays off).

A CRS that is no registry entry (a .prj with a name of its own) is named as written with the EPSG code PROJ
identifies it as. When PROJ knows no datum shift between two datums on different ellipsoids it would only guess
(a "ballpark" offset: a Bessel-based Gauss-Krüger .prj with a datum of its own lands about 145 m away in Aachen):
that is refused, not described.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import pyproj
from pyproj.transformer import TransformerGroup

from netzatlas.errors import CRSError

__all__ = ["SYSTEM_PROJ_DIRS", "use_system_grids", "describe_transform"]

SYSTEM_PROJ_DIRS = (Path("/usr/share/proj"), Path("/usr/local/share/proj"))
#: ellipsoids closer than this (semi-major axis, metres) are taken as one: a ballpark offset between them is harmless
_SAME_ELLIPSOID_M = 1.0


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
    """``EPSG:25832`` for a registry entry; a CRS of its own (a .prj's name) as written, with what PROJ takes it
    for (``'Stadt_GK2' (identified as EPSG:5676, DHDN / 3-degree Gauss-Kruger zone 2 (E-N))``)."""
    exact = crs.to_authority(min_confidence=100)
    if exact:
        return f"{exact[0]}:{exact[1]}"
    near = crs.to_authority()
    if not near:
        return crs.name
    try:
        known = pyproj.CRS.from_authority(*near).name
    except pyproj.exceptions.CRSError:
        known = ""
    return f"{crs.name!r} (identified as {near[0]}:{near[1]}" + (f", {known})" if known else ")")


def _ellipsoid_gap(src: pyproj.CRS, dst: pyproj.CRS) -> float:
    """How far the two CRSs' ellipsoids' semi-major axes lie apart (metres; 0 when one is not known)."""
    a, b = src.ellipsoid, dst.ellipsoid
    if a is None or b is None:
        return 0.0
    return abs(a.semi_major_metre - b.semi_major_metre)


def _only_guesses(src: pyproj.CRS, dst: pyproj.CRS) -> bool:
    """Whether PROJ knows no operation between the two CRSs anywhere but a "ballpark" one (data outside the area
    of the known ones also get a ballpark one: those rows are refused by the location check instead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = TransformerGroup(src, dst, always_xy=True)
    names = [t.description for t in group.transformers] + [op.name for op in group.unavailable_operations]
    return all("ballpark" in n.lower() for n in names)


def _refuse_guess(src: pyproj.CRS, dst: pyproj.CRS, src_name: str, description: str) -> None:
    """A datum shift PROJ can only guess ("ballpark") between different ellipsoids is refused."""
    if ("ballpark" not in description.lower() or _ellipsoid_gap(src, dst) <= _SAME_ELLIPSOID_M
            or not _only_guesses(src, dst)):
        return
    datum = src.datum.name if src.datum is not None else "?"
    ellipsoid = src.ellipsoid.name if src.ellipsoid is not None else "?"
    raise CRSError(
        f"the CRS {src_name} has a datum PROJ knows no shift for ({datum!r}, ellipsoid {ellipsoid}): no datum shift "
        f"to {_name(dst)} is known, and without one the points would lie about 100–200 m from where they belong",
        hint="give the CRS by its EPSG code (Gauss-Krüger on DHDN: EPSG:31466 zone 2, EPSG:31467 zone 3, "
             "EPSG:31468 zone 4): for a Shapefile replace its .prj (or delete it and pass --crs EPSG:…), else pass "
             "--crs EPSG:…",
    )


@lru_cache(maxsize=64)
def _describe(src_wkt: str, dst_wkt: str, area: tuple[float, float, float, float] | None, src_name: str,
              dst_name: str) -> str | None:
    src, dst = pyproj.CRS.from_wkt(src_wkt), pyproj.CRS.from_wkt(dst_wkt)
    aoi = pyproj.aoi.AreaOfInterest(*area) if area is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        group = TransformerGroup(src, dst, always_xy=True, area_of_interest=aoi)
    if not group.transformers:
        return None
    best = group.transformers[0]
    _refuse_guess(src, dst, src_name, best.description)
    acc = f"{best.accuracy:g} m" if best.accuracy is not None and best.accuracy >= 0 else "accuracy unknown"
    text = f"transformed {src_name} → {dst_name} with: {best.description} ({acc})"
    better = [op for op in group.unavailable_operations
              if op.accuracy is not None and 0 <= op.accuracy < (best.accuracy if best.accuracy >= 0 else 1e9)]
    if better:
        grids = sorted({g.short_name for op in better for g in op.grids if not g.available})
        text += (f"; a more accurate one ({better[0].accuracy:g} m) needs the grid(s) {', '.join(grids)} "
                 "(Debian: apt-get install proj-data)")
    return text


_TRANSFORMERS = threading.local()


def transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    """The transformer from ``src`` to ``dst`` in x/y order (the one ``GeoSeries.to_crs`` makes), made once per
    thread (a PROJ object is not shared between threads: the API validates in several)."""
    made = getattr(_TRANSFORMERS, "made", None)
    if made is None:
        made = _TRANSFORMERS.made = {}
    key = (src, dst)
    if key not in made:
        if len(made) >= 16:
            made.clear()
        made[key] = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return made[key]


def describe_transform(src: pyproj.CRS | str, dst: pyproj.CRS | str,
                       area: tuple[float, float, float, float] | None = None) -> str | None:
    """One line for an import report: which operation transforms ``src`` to ``dst`` and how accurate it is.

    ``area``: the data's extent (west, south, east, north in degrees), so that only operations valid there are
    considered. None when the two CRSs are the same registry entry; a CRS of its own that is the same as ``dst``
    (a .prj naming EPSG:25832 otherwise) is said to need no transformation.

    Raises :class:`CRSError` when PROJ knows no datum shift between ``src``'s datum and ``dst``'s and their
    ellipsoids differ (the "ballpark" result would be 100 m off)."""
    use_system_grids()
    a, b = pyproj.CRS.from_user_input(src), pyproj.CRS.from_user_input(dst)
    if a == b:
        if a.to_authority(min_confidence=100) is None and b.to_authority(min_confidence=100) is not None:
            return f"no transformation: the CRS {_name(a)} is {_name(b)}, the same definition (0 m)"
        return None
    if area is not None:
        area = tuple(round(v, 2) for v in area)  # type: ignore[assignment]
        if not all(map(math.isfinite, area)) or not (-180 <= area[0] <= area[2] <= 180 and -90 <= area[1] <= area[3]
                                                      <= 90):
            area = None
    return _describe(a.to_wkt(), b.to_wkt(), area, _name(a), _name(b))


use_system_grids()
