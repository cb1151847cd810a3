"""Line of sight from a surface raster (DSM): an own compiled viewshed, and GDAL's viewshed for comparison.

The own method (R2) casts one ray from the observer to every cell on the border of the square window of radius R,
samples each ray once per Chebyshev step (the cell nearest to the ray), corrects heights for earth curvature and
refraction (z' = z − cc · d² / D_earth, as GDAL does; cc = 1 − 1/k, k = 4/3 for radio → 0.25), and marks a sample
visible when the elevation angle of the target is at least the largest angle of the surface between it and the
observer. For radio the observer (antenna) and the target (receiver) stand on the terrain, not on the surface:
antenna z = terrain + antenna height above ground, receiver z = terrain + 1.5 m; the cells of the structure
carrying the antenna are left out of the obstruction test. A cell is visible when any ray sample in it is.
The sweep is compiled with numba (cached on disk after the first run). ``tests/test_antenna_los.py`` shows it
agrees with GDAL's viewshed on real building surfaces; ``bench/bench_coverage.py`` explains where they differ.
"""

from __future__ import annotations

import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from affine import Affine

from netzatlas.coverage._jit import compiled
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
    z = np.ascontiguousarray(dsm, dtype=np.float32)
    base = z if ground is None else np.ascontiguousarray(ground, dtype=np.float32)
    z_obs = float(base[r0, c0]) + observer_height
    has_own = ignore is not None and len(ignore[0]) > 0
    own = np.zeros((2 * rad + 1, 2 * rad + 1) if has_own else (1, 1), dtype=np.bool_)
    if has_own:
        orow, ocol = np.asarray(ignore[0]) - r0 + rad, np.asarray(ignore[1]) - c0 + rad
        ok = (orow >= 0) & (orow <= 2 * rad) & (ocol >= 0) & (ocol <= 2 * rad)
        own[orow[ok], ocol[ok]] = True
    out = np.zeros((nrow, ncol), dtype=np.bool_)
    _sweep(z, base, r0, c0, z_obs, float(target_height), _ray_ends(rad), _inverse_distance(rad, res),
           (max_distance / res) ** 2, curvature_coeff / SPHERE_DIAMETER_M * res * res, own, has_own, out)
    return out


@compiled
def _sweep(z: npt.NDArray[np.float32], base: npt.NDArray[np.float32], r0: int, c0: int, z_obs: float,
           target_height: float, ends: npt.NDArray[np.int32], inv_dist: npt.NDArray[np.float64],
           max_d2: float, drop_per_cell2: float, own: npt.NDArray[np.bool_], has_own: bool,
           out: npt.NDArray[np.bool_]) -> None:  # pragma: no cover (compiled)
    """The compiled sweep (R2: one ray to each border cell of the window, one sample per Chebyshev step: the cell
    nearest to the ray, found with integer steps as Bresenham does, a tie rounded towards the observer). Along every
    ray the running maximum of the surface's elevation angle; a sample is visible when the target's angle reaches
    it. Own-structure cells never block; the ray ends at the raster's edge or the radius (distances grow along a
    ray, so nothing after either point can be visible)."""
    nrow, ncol = z.shape
    rad = inv_dist.shape[0] - 1
    out[r0, c0] = True
    for i in range(ends.shape[0]):
        er, ec = ends[i, 0], ends[i, 1]
        block = -np.inf
        dr = dc = 0
        ar = ac = 0                           # er·k − dr·rad and ec·k − dc·rad: the rounding remainders
        for _ in range(rad):
            ar += er
            ac += ec
            if 2 * ar > rad:
                dr += 1
                ar -= rad
            elif 2 * ar < -rad:
                dr -= 1
                ar += rad
            if 2 * ac > rad:
                dc += 1
                ac -= rad
            elif 2 * ac < -rad:
                dc -= 1
                ac += rad
            d2 = dr * dr + dc * dc
            r, c = r0 + dr, c0 + dc
            if d2 > max_d2 or r < 0 or r >= nrow or c < 0 or c >= ncol:
                break
            inv = inv_dist[abs(dr), abs(dc)]
            drop = drop_per_cell2 * d2
            out[r, c] |= (base[r, c] - drop + target_height - z_obs) * inv >= block     # no branch: faster
            a = (z[r, c] - drop - z_obs) * inv
            if has_own and own[dr + rad, dc + rad]:
                a = -np.inf
            block = max(block, a)


@lru_cache(maxsize=8)
def _ray_ends(rad: int) -> npt.NDArray[np.int32]:
    """The 8·rad border cells of a window of radius ``rad`` cells, as (row, col) offsets: one ray to each."""
    ring = np.arange(-rad, rad + 1)
    ends = np.unique(np.r_[np.c_[np.full(ring.size, -rad), ring], np.c_[np.full(ring.size, rad), ring],
                           np.c_[ring, np.full(ring.size, -rad)], np.c_[ring, np.full(ring.size, rad)]], axis=0)
    ends = ends.astype(np.int32)
    ends.setflags(write=False)
    return ends


@lru_cache(maxsize=8)
def _inverse_distance(rad: int, res: float) -> npt.NDArray[np.float64]:
    """1 / distance (m) between cell centres ``|dr|, |dc|`` cells apart (0 at the observer's own cell)."""
    dr, dc = np.mgrid[0:rad + 1, 0:rad + 1]
    d = np.hypot(dr, dc) * res
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    inv.setflags(write=False)
    return inv


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
