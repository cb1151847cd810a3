"""Line of sight from a surface raster (DSM): an own compiled viewshed, and GDAL's viewshed for comparison.

The own method sweeps with reference planes (Wang, Robinson & White 2000, the method of GDAL's viewshed in its
``GVM_Edge`` mode): outwards from the observer, row by row, each cell's horizon is interpolated from the two cells
next to it on the side of the observer, so that every cell is read once. Heights are corrected for earth
curvature and refraction (z' = z − cc · d² / D_earth, as GDAL does; cc = 1 − 1/k, k = 4/3 for radio → 0.25); a
cell is visible when the target stands at least as high as its horizon. For radio the observer (antenna) and the
target (receiver) stand on the terrain, not on the surface: antenna z = terrain + antenna height above ground,
receiver z = terrain + 1.5 m; the cells of the structure carrying the antenna block nothing (their terrain does).
The sweep is compiled with numba (cached on disk after the first run). ``tests/test_coverage_kernels.py`` holds it
against a slow geometric reference, ``tests/test_antenna_los.py`` against GDAL's viewshed on real building
surfaces; ``bench/bench_coverage.py`` times both and explains the cells where they differ.
"""

from __future__ import annotations

import subprocess
import tempfile
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
    """Boolean visibility raster (same shape as ``dsm``): the cells where ``clearance`` is ≥ 0.

    Parameters
    ----------
    observer_height, target_height
        Heights in m. Without ``ground`` both stand on the surface (GDAL's convention: observer = DSM + height).
        With ``ground`` (the terrain, same grid) they stand on the terrain: the antenna at terrain + its height
        above ground, the receiver at terrain + ``target_height`` — never on a roof.
    ignore
        (rows, cols) of cells that never block: the structure carrying the antenna (``Surface.structure_at``).
    """
    clear, (rows, cols) = clearance(dsm, transform, x, y, observer_height, target_height, max_distance,
                                    curvature_coeff, ground=ground, ignore=ignore)
    out = np.zeros(dsm.shape, dtype=np.bool_)
    out[rows, cols] = clear >= 0                     # NaN (beyond the radius) is False
    return out


def clearance(dsm: npt.NDArray[np.float64], transform: Affine, x: float, y: float, observer_height: float,
              target_height: float = 1.5, max_distance: float = 2000.0,
              curvature_coeff: float = RADIO_CURVATURE_COEFF, *, ground: npt.NDArray[np.float64] | None = None,
              ignore: tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]] | None = None
              ) -> tuple[npt.NDArray[np.float32], tuple[slice, slice]]:
    """The target's clearance over the horizon (m, float32) in the window of the radius, and the window's slices:
    > 0 seen with room to spare, < 0 hidden by that much; +inf for the observer's cell and its eight neighbours
    (nothing lies between), NaN beyond the radius. Parameters as ``viewshed``."""
    if observer_height < 0 or target_height < 0:
        raise InvalidParameter("observer and target heights must be >= 0")
    if max_distance <= 0:
        raise InvalidParameter("the radius must be positive")
    res = abs(transform.a)
    if abs(abs(transform.e) - res) > 1e-9 or transform.b or transform.d:
        raise InvalidParameter("the surface raster needs square, north-up cells in a projected CRS")
    col0, row0 = ~transform @ (x, y)
    r0, c0 = int(np.floor(row0)), int(np.floor(col0))
    nrow, ncol = dsm.shape
    if not (0 <= r0 < nrow and 0 <= c0 < ncol):
        raise InvalidParameter("the observer lies outside the surface raster")
    if ground is not None and ground.shape != dsm.shape:
        raise InvalidParameter("terrain and surface must share one grid")
    rad = int(np.floor(max_distance / res + 1e-9))
    z = np.ascontiguousarray(dsm, dtype=np.float32)
    base = z if ground is None else np.ascontiguousarray(ground, dtype=np.float32)
    rows = slice(max(r0 - rad, 0), min(r0 + rad + 1, nrow))
    cols = slice(max(c0 - rad, 0), min(c0 + rad + 1, ncol))
    has_own = ignore is not None and len(ignore[0]) > 0
    own = np.zeros((rows.stop - rows.start, cols.stop - cols.start) if has_own else (1, 1), dtype=np.bool_)
    if has_own:
        orow, ocol = np.asarray(ignore[0]) - rows.start, np.asarray(ignore[1]) - cols.start
        ok = (orow >= 0) & (orow < own.shape[0]) & (ocol >= 0) & (ocol < own.shape[1])
        own[orow[ok], ocol[ok]] = True
    clear = np.empty((rows.stop - rows.start, cols.stop - cols.start), dtype=np.float32)
    _planes(z, base, r0, c0, rows.start, cols.start, float(base[r0, c0]) + observer_height, float(target_height),
            (max_distance / res) ** 2, curvature_coeff / SPHERE_DIAMETER_M * res * res, own, has_own, clear)
    return clear, (rows, cols)


@compiled
def _planes(z: npt.NDArray[np.float32], base: npt.NDArray[np.float32], r0: int, c0: int, wr: int, wc: int,
            z_obs: float, target_height: float, max_d2: float, drop_per_cell2: float,
            own: npt.NDArray[np.bool_], has_own: bool, clear: npt.NDArray[np.float32]) -> None:  # pragma: no cover
    """The compiled sweep with reference planes (Wang et al. 2000; GDAL's ``GVM_Edge``): the observer's row, then
    the rows upwards and downwards from it, in each row the cells outwards from the observer's column — each cell
    is read once, row by row. Heights are relative to the antenna: z − curvature drop − z_obs. A cell's horizon
    is the height the line of sight grazing the nearer cells has there: the line from the observer to the cell's
    centre crosses the adjacent column (or row) nearer to the observer between two cells; their kept heights,
    interpolated at the crossing and scaled to the cell's distance, give it. A cell keeps the larger of its
    surface (its terrain for a cell of the antenna's own structure) and its horizon; its clearance is the
    target's height − the horizon. ``clear`` is the window whose top-left cell is (wr, wc)."""
    hgt, wid = clear.shape
    clear[:, :] = np.nan
    x0 = c0 - wc
    first = np.empty(wid, dtype=np.float64)         # kept heights of the observer's row
    last = np.empty(wid, dtype=np.float64)          # … of the row before (one nearer to the observer)
    this = np.empty(wid, dtype=np.float64)
    for step in (0, -1, 1):                         # the observer's row, then upwards, then downwards
        if step != 0:
            last[:] = first
        y = 0 if step == 0 else 1
        while True:
            r = r0 + step * y
            if r < wr or r >= wr + hgt or y * y > max_d2:
                break
            cur = first if step == 0 else this
            for side in (-1, 1):                    # the observer's column and leftwards, then rightwards
                x = 0 if side == -1 else 1
                k = x0 + side * x
                while 0 <= k < wid and x * x + y * y <= max_d2:
                    c = wc + k
                    rel = drop_per_cell2 * (x * x + y * y) + z_obs
                    tgt = base[r, c] - rel + target_height
                    if x <= 1 and y <= 1:           # the observer and its eight neighbours: nothing in between
                        h = -np.inf
                    elif x == y:                    # the diagonal: the diagonal neighbour, scaled
                        h = last[k - side] * x / (x - 1)
                    elif x > y:                     # the line crosses the column nearer to the observer
                        h = ((last[k - side] * y if y > 0 else 0.0) + cur[k - side] * (x - y)) / (x - 1)
                    else:                           # … the row nearer to the observer
                        h = ((last[k - side] * x if x > 0 else 0.0) + last[k] * (y - x)) / (y - 1)
                    clear[r - wr, k] = tgt - h
                    s = base[r, c] - rel if has_own and own[r - wr, k] else z[r, c] - rel
                    cur[k] = max(s, h)
                    x += 1
                    k += side
            if step == 0:
                break
            last, this = this, last
            y += 1


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
