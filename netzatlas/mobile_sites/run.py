"""The coverage run: best-server RSRP per operator and technology, incremental.

Each site's sector windows (RSRP in the window of the sector's radius) are kept in a cache folder, one file per
site. A rerun recomputes only the sites named as changed (the registry passes the sites changed since the last run,
from the change table: registry.mobile_io.ChangeMark) and those not in the cache; the best server is then
recombined from the cached windows, which is cheap.
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from netzatlas.coverage.signal import NODATA, Sector, sector_rsrp, site_viewshed
from netzatlas.coverage.surface import Surface

T = TypeVar("T")

#: part of the cache key: windows cached by an older engine (e.g. antennas on top of the surface, "3": the R2 ray
#: viewshed before the reference-plane sweep) are not reused
ENGINE_VERSION = "4"
#: the cache keeps RSRP in centi-dB as int16, uncompressed (compressing took longer than computing a site)
_CENTI_DB_NODATA = np.iinfo(np.int16).min


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


def _pack(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """RSRP windows as int16 centi-dB (0.01 dB steps; no signal as the int16 minimum) for the cache."""
    out = dict(data)
    for k, v in data.items():
        if k.startswith("rsrp_"):
            out[k] = np.where(v > NODATA, np.round(np.clip(v, -327.0, 327.0) * 100), _CENTI_DB_NODATA).astype(np.int16)
    return out


def _unpack(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(data)
    for k, v in data.items():
        if k.startswith("rsrp_"):
            out[k] = np.where(v == _CENTI_DB_NODATA, np.float32(NODATA), v.astype(np.float32) / np.float32(100))
    return out


def _in_threads(fn: Callable[..., T], jobs: Sequence[tuple], workers: int | None) -> Iterator[T]:
    """``fn(*job)`` for every job, in order, at most ``workers`` running and a few finished ones waiting."""
    workers = max(1, workers or os.cpu_count() or 1)
    if workers == 1:
        yield from (fn(*job) for job in jobs)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        queue: deque[Future[T]] = deque()
        for job in jobs:
            queue.append(pool.submit(fn, *job))
            if len(queue) >= 2 * workers:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()


def run_coverage(sectors: Iterable[Sector], surface: Surface, cache_dir: str | Path,
                 changed_sites: set[str] | None = None,
                 progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> CoverageRun:
    """Best-server rasters per (operator, technology) from the sites' cached or recomputed windows. The sites are
    computed ``workers`` at a time (default: one per CPU) in threads — the compiled kernels and numpy release the
    GIL — and combined in site order, so the result does not depend on the number of workers."""
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
    surface.float32(), surface.in_building        # made once, before the threads read them

    def load_or_compute(site: str, secs: list[Sector]) -> tuple[str, dict[str, np.ndarray], bool]:
        f = cache / f"{site}.npz"
        if f.exists() and (changed_sites is None or site not in changed_sites):
            return site, _unpack(dict(np.load(f, allow_pickle=False))), False
        packed = _pack(_site_windows(secs, surface))
        np.savez(f, **packed)
        return site, _unpack(packed), True    # the cached values, so a rerun gives the same rasters

    jobs = sorted(by_site.items())
    for n, (site, data, fresh) in enumerate(_in_threads(load_or_compute, jobs, workers)):
        (recomputed if fresh else reused).append(site)
        for i in range(len([k for k in data if k.startswith("rsrp_")])):
            r0, r1, c0, c1 = (int(v) for v in data[f"win_{i}"])
            key = tuple(str(v) for v in data[f"group_{i}"])
            if key not in rasters:
                rasters[key] = np.full(shape, NODATA)
            grid = rasters[key]
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
