"""Line of sight from a surface raster (DSM): an own vectorised viewshed, and GDAL's viewshed for comparison.

The own method casts one ray from the observer to every cell on the border of the square window of radius R,
samples each ray once per cell, corrects heights for earth curvature and refraction
(z' = z − cc · d² / D_earth, as GDAL does; cc = 1 − 1/k, k = 4/3 for radio → 0.25), and marks a sample visible when
the elevation angle of the target is at least the largest angle of the surface between it and the observer. For
radio the observer (antenna) and the target (receiver) stand on the terrain, not on the surface: antenna z =
terrain + antenna height above ground, receiver z = terrain + 1.5 m; the cells of the structure carrying the
antenna are left out of the obstruction test. A cell is visible when any ray sample in it is.
``tests/test_antenna_los.py`` shows it agrees with GDAL's viewshed on real building surfaces.
"""

from __future__ import annotations

import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from affine import Affine

from netzatlas.errors import InvalidParameter, MissingDependency

SPHERE_DIAMETER_M = 12_740_000.0
RADIO_CURVATURE_COEFF = 0.25   # k = 4/3 effective earth radius (STYLE.md: "radio: k = 4/3")


def viewshed(dsm: npt.NDArray[np.float64], transform: Affine, x: float, y: float, observer_height: float,
             target_height: float = 1.5, max_distance: float = 2000.0,
             curvature_coeff: float = RADIO_CURVATURE_COEFF, *, ground: npt.NDArray[np.float64] | None = None,
             ignore: tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]] | None = None) -> npt.NDArray[np.bool_]:
    """Boolean visibility raster (same shape as ``dsm``).

    Parameters
    ----------
    observer_height, target_height
        Heights in m. Without ``ground`` both stand on the surface (GDAL's convention: observer = DSM + height).
        With ``ground`` (the terrain, same grid) they stand on the terrain: the antenna at terrain + its height
        above ground, the receiver at terrain + ``target_height`` — never on a roof.
    ignore
        (rows, cols) of cells that never block: the structure carrying the antenna (``Surface.structure_at``).
    """
    if observer_height < 0 or target_height < 0:
        raise InvalidParameter("observer and target heights must be >= 0")
    if max_distance <= 0:
        raise InvalidParameter("the radius must be positive")
    res = abs(transform.a)
    if abs(abs(transform.e) - res) > 1e-9:
        raise InvalidParameter("the surface raster needs square cells in a projected CRS")
    col0, row0 = ~transform @ (x, y)
    r0, c0 = int(np.floor(row0)), int(np.floor(col0))
    nrow, ncol = dsm.shape
    if not (0 <= r0 < nrow and 0 <= c0 < ncol):
        raise InvalidParameter("the observer lies outside the surface raster")
    if ground is not None and ground.shape != dsm.shape:
        raise InvalidParameter("terrain and surface must share one grid")
    rad = int(np.ceil(max_distance / res))
    # float32 throughout: heights of a few hundred metres and angles need no more, and it halves the memory traffic
    z = np.asarray(dsm, dtype=np.float32).ravel()
    base = z if ground is None else np.asarray(ground, dtype=np.float32).ravel()
    z_obs = np.float32(base[r0 * ncol + c0] + observer_height)
    dr, dc, dist_cells, on_ray = _rays(rad)
    if rad <= min(r0, c0, nrow - 1 - r0, ncol - 1 - c0):               # the window lies inside the raster
        inside = on_ray
        flat = _flat_offsets(rad, ncol) + (r0 * ncol + c0)
    else:
        rr, cc = r0 + dr, c0 + dc
        inside = on_ray & (rr >= 0) & (rr < nrow) & (cc >= 0) & (cc < ncol)
        flat = np.clip(rr, 0, nrow - 1) * ncol + np.clip(cc, 0, ncol - 1)
    dist = dist_cells * np.float32(res)
    drop = np.float32(curvature_coeff / SPHERE_DIAMETER_M) * dist * dist
    zs = np.where(inside, np.take(z, flat) - drop, np.float32(-np.inf))
    zt = zs if ground is None else np.where(inside, np.take(base, flat) - drop, np.float32(-np.inf))
    surface_angle = (zs - z_obs) / dist
    if ignore is not None and len(ignore[0]):
        own = np.zeros((2 * rad + 1, 2 * rad + 1), dtype=bool)
        orow, ocol = np.asarray(ignore[0]) - r0 + rad, np.asarray(ignore[1]) - c0 + rad
        ok = (orow >= 0) & (orow <= 2 * rad) & (ocol >= 0) & (ocol <= 2 * rad)
        own[orow[ok], ocol[ok]] = True
        surface_angle = np.where(own[dr + rad, dc + rad], np.float32(-np.inf), surface_angle)
    blocking = np.empty_like(surface_angle)
    blocking[:, 0] = -np.inf
    np.maximum.accumulate(surface_angle[:, :-1], axis=1, out=blocking[:, 1:])
    target_angle = (zt + np.float32(target_height) - z_obs) / dist
    vis = inside & (target_angle >= blocking) & (dist <= max_distance)
    out = np.zeros(nrow * ncol, dtype=bool)
    out[flat[vis]] = True
    out[r0 * ncol + c0] = True
    return out.reshape(nrow, ncol)


@lru_cache(maxsize=8)
def _rays(rad: int) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_], npt.NDArray[np.float32],
                             npt.NDArray[np.bool_]]:
    """The rays of a window of radius ``rad`` cells (computed once per radius): one ray from the observer to each
    border cell, one sample per cell (Chebyshev steps). Returns the row and column offsets, the distance in cells
    (rays × steps) and whether a sample lies on its ray (t ≤ 1)."""
    ring = np.arange(-rad, rad + 1)
    ends = np.unique(np.r_[np.c_[np.full(ring.size, -rad), ring], np.c_[np.full(ring.size, rad), ring],
                           np.c_[ring, np.full(ring.size, -rad)], np.c_[ring, np.full(ring.size, rad)]], axis=0)
    steps = np.arange(1, rad + 1, dtype=float)
    length = np.max(np.abs(ends), axis=1).astype(float)           # Chebyshev length: one sample per cell
    t = steps[None, :] / length[:, None]                            # (rays, steps), > 1 means beyond the ray's end
    dr = np.rint(ends[:, 0:1] * t).astype(np.intp)
    dc = np.rint(ends[:, 1:2] * t).astype(np.intp)
    dist = np.hypot(dr, dc).astype(np.float32)
    for a in (dr, dc, dist, t):
        a.setflags(write=False)
    on = t <= 1.0
    on.setflags(write=False)
    return dr, dc, dist, on


@lru_cache(maxsize=8)
def _flat_offsets(rad: int, ncol: int) -> npt.NDArray[np.intp]:
    """The rays' samples as offsets into a raveled raster of ``ncol`` columns."""
    dr, dc, _, _ = _rays(rad)
    off = dr * ncol + dc
    off.setflags(write=False)
    return off


def gdal_viewshed(dsm_path: str | Path, x: float, y: float, observer_height: float, target_height: float = 1.5,
                  max_distance: float = 2000.0, curvature_coeff: float = RADIO_CURVATURE_COEFF,
                  out_path: str | Path | None = None) -> Path:
    """GDAL's viewshed (``gdal_viewshed`` from gdal-bin) into a GeoTIFF (255 = visible)."""
    out = Path(out_path or tempfile.mkstemp(suffix=".tif")[1])
    cmd = ["gdal_viewshed", "-q", "-ox", str(x), "-oy", str(y), "-oz", str(observer_height), "-tz",
           str(target_height), "-md", str(max_distance), "-cc", str(curvature_coeff), "-vv", "255", "-iv", "0",
           "-ov", "0", str(dsm_path), str(out)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise MissingDependency("gdal_viewshed is not installed", hint="sudo apt-get install gdal-bin") from exc
    if res.returncode != 0:
        raise InvalidParameter(f"gdal_viewshed failed: {res.stderr.strip()}")
    return out
