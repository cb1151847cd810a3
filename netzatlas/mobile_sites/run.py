"""The coverage run: best-server RSRP per operator and technology, incremental.

Each site's sector windows (RSRP in the window of the sector's radius) are kept in a cache folder, one file per
site. A rerun recomputes only the sites named as changed (the registry passes the sites changed since the last run,
from the change table: registry.mobile_io.ChangeMark) and those not in the cache; the best server is then
recombined from the cached windows, which is cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from netzatlas.coverage.signal import NODATA, Sector, sector_rsrp, site_viewshed
from netzatlas.coverage.surface import Surface

#: part of the cache key: windows cached by an older engine (e.g. antennas on top of the surface) are not reused
ENGINE_VERSION = "2"


@dataclass
class CoverageRun:
    rasters: dict[tuple[str, str], npt.NDArray[np.float64]]  # (operator, technology) → best RSRP
    recomputed_sites: list[str]
    reused_sites: list[str]
    assumptions: list[str] = field(default_factory=list)
    #: (operator, technology) → highest frequency of its sectors (MHz): the building-entry loss is taken there
    frequencies: dict[tuple[str, str], float] = field(default_factory=dict)


def raster_name(view: str, operator: str, technology: str) -> str:
    """File name of a coverage raster: ``rsrp_<outdoor|indoor>_<operator>_<technology>.tif``, safe characters
    only (an unknown operator is "unknown", never "nan")."""
    import re

    def safe(v: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", v).strip("_") or "unknown"
    return f"rsrp_{safe(view)}_{safe(operator)}_{safe(technology)}.tif"


def _site_windows(sectors: Sequence[Sector], surface: Surface) -> dict[str, np.ndarray]:
    """Sector windows of one site; none when the site lies outside the surface (no prediction there)."""
    vis_cache: dict[tuple[float, float], np.ndarray] = {}
    shared: dict = {}  # geometry and path loss shared by the sectors of the site
    data: dict[str, np.ndarray] = {}
    if sectors:
        col, row = ~surface.transform @ (sectors[0].x, sectors[0].y)
        if not (0 <= row < surface.dsm.shape[0] and 0 <= col < surface.dsm.shape[1]):
            return data
    for i, s in enumerate(sectors):
        if (s.height_m, s.max_radius_m) not in vis_cache:
            vis_cache[(s.height_m, s.max_radius_m)] = site_viewshed(s, surface)
        rsrp, (rs, cs) = sector_rsrp(s, surface, vis_cache[(s.height_m, s.max_radius_m)], shared=shared)
        data[f"rsrp_{i}"] = rsrp.astype(np.float32)
        data[f"win_{i}"] = np.array([rs.start, rs.stop, cs.start, cs.stop])
        data[f"group_{i}"] = np.array([s.operator, s.technology])
        data[f"freq_{i}"] = np.array([s.frequency_mhz])
    return data


def run_coverage(sectors: Iterable[Sector], surface: Surface, cache_dir: str | Path,
                 changed_sites: set[str] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> CoverageRun:
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    by_site: dict[str, list[Sector]] = defaultdict(list)
    for s in sectors:
        by_site[s.site_id].append(s)
    for stale in cache.glob("*.npz"):  # sites that disappeared
        if stale.stem not in by_site:
            stale.unlink()
    recomputed, reused = [], []
    shape = surface.dsm.shape
    rasters: dict[tuple[str, str], np.ndarray] = {}
    freqs: dict[tuple[str, str], float] = {}
    for n, (site, secs) in enumerate(sorted(by_site.items())):
        f = cache / f"{site}.npz"
        if f.exists() and (changed_sites is None or site not in changed_sites):
            data = dict(np.load(f, allow_pickle=False))
            reused.append(site)
        else:
            data = _site_windows(secs, surface)
            np.savez_compressed(f, **data)
            recomputed.append(site)
        for i in range(len([k for k in data if k.startswith("rsrp_")])):
            r0, r1, c0, c1 = (int(v) for v in data[f"win_{i}"])
            key = tuple(str(v) for v in data[f"group_{i}"])
            grid = rasters.setdefault(key, np.full(shape, NODATA))
            grid[r0:r1, c0:c1] = np.maximum(grid[r0:r1, c0:c1], data[f"rsrp_{i}"])
            freqs[key] = max(freqs.get(key, 0.0), float(data.get(f"freq_{i}", [1800.0])[0]))
        if progress:
            progress(n + 1, len(by_site))
    assumed = sorted({a for secs in by_site.values() for s in secs for a in s.assumed})
    notes = list(surface.assumptions) + (["assumed sector parameters: " + ", ".join(assumed)] if assumed else [])
    nrow, ncol = shape
    outside = [site for site, secs in by_site.items()
               if not (0 <= (~surface.transform @ (secs[0].x, secs[0].y))[1] < nrow
                       and 0 <= (~surface.transform @ (secs[0].x, secs[0].y))[0] < ncol)]
    if outside:
        notes.append(f"{len(outside)} site(s) outside the surface raster were left out")
    return CoverageRun(rasters, recomputed, reused, notes, freqs)
