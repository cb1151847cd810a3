"""Received power over a grid: per sector RSRP from path loss (LOS from the viewshed), the 3GPP antenna pattern and
EIRP; the best server; outdoor and indoor coverage; coverage classes; Cloud-Optimized GeoTIFF output.

Heights: a sector's ``height_m`` is its antenna height above ground. The antenna stands at terrain + height_m
(never on top of the surface, which already holds the structure carrying it), the receiver at terrain + 1.5 m;
the path-loss models take hBS = height_m and hUT = 1.5 m, the heights above ground they are defined with.
Outdoor coverage is read on the cells outside buildings; indoor coverage per building cell (and per address) is the
RSRP at the nearest outdoor cell (the facade) minus the TR 38.901 building-entry loss."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine

from netzatlas.coverage import antenna, los, pathloss
from netzatlas.coverage.surface import Surface
from netzatlas.errors import InvalidParameter

NODATA = -999.0
#: RSRP classes (dBm, lower bounds) — RTR's LTE traffic light (DOMAIN.md §4.8, [verified, regulator]); operators
#: treat −105 dBm as the outdoor limit ([secondary]). Configurable.
RSRP_CLASSES = {"very good": -85.0, "good": -95.0, "fair": -105.0, "poor": -111.0}
HOLE_THRESHOLD_DBM = -105.0


@dataclass(frozen=True)
class Sector:
    """One sector. ``height_m``: antenna height above ground (terrain), m."""

    site_id: str
    x: float
    y: float
    height_m: float
    azimuth_deg: float
    tilt_deg: float
    eirp_dbm: float
    frequency_mhz: float
    technology: str = "LTE"
    operator: str = "unknown"
    n_rb: int = 100                    # 20 MHz LTE
    environment: str = "urban"
    max_radius_m: float = 2000.0
    assumed: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.height_m < 0:
            raise InvalidParameter(f"sector of {self.site_id}: negative antenna height {self.height_m}")
        antenna.check_azimuth(self.azimuth_deg)
        antenna.check_tilt(self.tilt_deg)
        pathloss.pick_model(self.environment, self.frequency_mhz / 1000, max(self.height_m, 0.1))


@dataclass
class BestServer:
    rsrp: npt.NDArray[np.float64]        # best RSRP per cell (NODATA where no sector reaches)
    server: npt.NDArray[np.int32]        # index of the serving sector (−1: none)
    transform: Affine
    crs: str
    assumptions: list[str]


def sector_rsrp(sector: Sector, surface: Surface, visible: npt.NDArray[np.bool_] | None = None,
                h_ut: float = 1.5, shared: dict | None = None) -> tuple[npt.NDArray[np.float64], tuple[slice, slice]]:
    """RSRP of one sector in the window of its radius; returns the window array and its slices. ``shared``: a dict
    kept across the sectors of one site (same place, height, band and LOS): their geometry and path loss are
    computed once."""
    t = surface.transform
    res = surface.resolution
    col, row = ~t @ (sector.x, sector.y)
    row, col = np.floor(row), np.floor(col)
    rad = int(np.ceil(sector.max_radius_m / res))
    r0, r1 = max(int(row) - rad, 0), min(int(row) + rad + 1, surface.dsm.shape[0])
    c0, c1 = max(int(col) - rad, 0), min(int(col) + rad + 1, surface.dsm.shape[1])
    key = (sector.x, sector.y, sector.height_m, sector.frequency_mhz, sector.environment, sector.max_radius_m,
           h_ut, id(visible))
    if shared is not None and shared.get("key") == key:
        bearing, theta, pl, reach = shared["value"]
    else:
        if t.b or t.d:
            raise InvalidParameter("the surface raster needs north-up cells")
        dx = t.c + (np.arange(c0, c1) + 0.5) * t.a - sector.x        # cell centres: columns east, rows north
        dy = t.f + (np.arange(r0, r1) + 0.5) * t.e - sector.y
        terrain = surface.ground
        dz = (terrain[r0:r1, c0:c1] + h_ut) - (terrain[int(row), int(col)] + sector.height_m)
        d2d, bearing, theta = antenna.grid_angles(dx, dy, dz, sector.max_radius_m)
        model = pathloss.pick_model(sector.environment, sector.frequency_mhz / 1000, sector.height_m)
        los_mask = visible[r0:r1, c0:c1] if visible is not None else None
        pl = pathloss.path_loss(model, d2d.ravel(), sector.frequency_mhz / 1000, max(sector.height_m, 1.0), h_ut,
                                los=None if los_mask is None else los_mask.ravel()).reshape(d2d.shape)
        reach = d2d <= sector.max_radius_m
        if shared is not None:
            shared["key"], shared["value"] = key, (bearing, theta, pl, reach)
    rsrp = antenna.sector_rsrp_window(bearing, theta, pl, reach, sector.azimuth_deg, sector.tilt_deg,
                                      sector.eirp_dbm, sector.n_rb, NODATA)
    return rsrp, (slice(r0, r1), slice(c0, c1))


def site_viewshed(sector: Sector, surface: Surface, h_ut: float = 1.5) -> npt.NDArray[np.bool_]:
    """Line of sight from the antenna (terrain + height above ground) to receivers at terrain + ``h_ut``; the
    structure carrying the antenna (``Surface.structure_at``) does not block it."""
    dsm, ground = surface.float32()
    return los.viewshed(dsm, surface.transform, sector.x, sector.y, sector.height_m, h_ut, sector.max_radius_m,
                        ground=ground, ignore=surface.structure_at(sector.x, sector.y))


def outdoor(rsrp: npt.NDArray[np.float64], surface: Surface) -> npt.NDArray[np.float64]:
    """Outdoor RSRP (1.5 m above ground): NaN on cells inside a building, where outdoor is not defined."""
    return np.where(surface.in_building, np.nan, rsrp)


def o2i_mix_db(frequency_mhz: float, high_loss_share: float = pathloss.HIGH_LOSS_SHARE) -> float:
    """The building-entry loss for a mix of low- and high-loss buildings (TR 38.901 § 7.4.3), as the loss of the
    mean received power: −10·log10((1 − s)·10^(−L_low/10) + s·10^(−L_high/10))."""
    if not 0 <= high_loss_share <= 1:
        raise InvalidParameter(f"the share of high-loss buildings must be in [0, 1], got {high_loss_share:g}")
    fc = frequency_mhz / 1000
    lo, hi = pathloss.o2i_loss_db(fc, "low"), pathloss.o2i_loss_db(fc, "high")
    return float(-10 * np.log10((1 - high_loss_share) * 10 ** (-lo / 10) + high_loss_share * 10 ** (-hi / 10)))


def indoor(rsrp: npt.NDArray[np.float64], surface: Surface, frequency_mhz: float,
           high_loss_share: float = pathloss.HIGH_LOSS_SHARE,
           nearest: tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]] | None = None) -> npt.NDArray[np.float64]:
    """Indoor RSRP on every cell: the outdoor RSRP at the nearest outdoor cell (the facade) minus the O2I loss of
    the building mix; NODATA stays NODATA. Read it on building cells and at addresses."""
    rows, cols = nearest if nearest is not None else surface.nearest_outdoor()
    facade = rsrp[rows, cols]
    return np.where(facade > NODATA, facade - o2i_mix_db(frequency_mhz, high_loss_share), NODATA)


def coverage_views(rsrp: npt.NDArray[np.float64], surface: Surface, frequency_mhz: float,
                   high_loss_share: float | None = None
                   ) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]]:
    """``{"outdoor": (RSRP, cells outside buildings), "indoor": (RSRP with building-entry loss, building cells)}``.
    A surface without building cells has only the outdoor view."""
    share = pathloss.HIGH_LOSS_SHARE if high_loss_share is None else high_loss_share
    inside = surface.in_building
    views = {"outdoor": (rsrp, ~inside)}
    if inside.any():
        views["indoor"] = (indoor(rsrp, surface, frequency_mhz, share), inside)
    return views


def indoor_note(high_loss_share: float | None = None) -> str:
    share = pathloss.HIGH_LOSS_SHARE if high_loss_share is None else high_loss_share
    return (f"indoor = RSRP at the nearest outdoor cell (facade) − TR 38.901 O2I building-entry loss, "
            f"{1 - share:.0%} low-loss / {share:.0%} high-loss (IRR glass) buildings (assumed share, configurable), "
            f"mean indoor distance {pathloss.MEAN_INDOOR_DISTANCE_M:.1f} m, no shadow fading")


def best_server(sectors: Sequence[Sector], surface: Surface, *, use_los: bool = True,
                progress: Callable[[int, int], None] | None = None) -> BestServer:
    """Best-server RSRP: per cell the strongest sector. Line of sight is computed once per site."""
    if not sectors:
        raise InvalidParameter("no sectors to compute")
    best = np.full(surface.dsm.shape, NODATA)
    server = np.full(surface.dsm.shape, -1, dtype=np.int32)
    cache: dict[tuple[str, float], npt.NDArray[np.bool_]] = {}
    shared: dict = {}
    for i, s in enumerate(sectors):
        vis = None
        if use_los:
            key = (s.site_id, s.height_m)
            if key not in cache:
                cache[key] = site_viewshed(s, surface)
            vis = cache[key]
        rsrp, win = sector_rsrp(s, surface, vis, shared=shared)
        better = rsrp > best[win]
        best[win] = np.where(better, rsrp, best[win])
        server[win] = np.where(better, i, server[win])
        if progress:
            progress(i + 1, len(sectors))
    notes = list(surface.assumptions)
    assumed = sorted({a for s in sectors for a in s.assumed})
    if assumed:
        notes.append("assumed sector parameters (not in the registry): " + ", ".join(assumed))
    return BestServer(best, server, surface.transform, surface.crs, notes)


def classify_rsrp(rsrp: npt.NDArray[np.float64], classes: dict[str, float] | None = None
                  ) -> npt.NDArray[np.int8]:
    """Class index per cell: 0 = best class … len(classes) = below every threshold / no signal."""
    th = sorted((classes or RSRP_CLASSES).values(), reverse=True)
    out = np.full(rsrp.shape, len(th), dtype=np.int8)
    for k in range(len(th) - 1, -1, -1):
        out[rsrp >= th[k]] = k
    return out


def write_cog(path: str | Path, array: npt.NDArray, transform: Affine, crs: str, nodata: float | None = NODATA,
              tags: dict[str, str] | None = None) -> Path:
    """A Cloud-Optimized GeoTIFF (GDAL's COG driver: tiled, compressed, with overviews)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "COG", "height": array.shape[0], "width": array.shape[1], "count": 1,
               "dtype": str(array.dtype), "crs": crs, "transform": transform, "nodata": nodata,
               "compress": "DEFLATE", "blocksize": 256}
    with rasterio.open(p, "w", **profile) as dst:
        dst.write(array, 1)
        if tags:
            dst.update_tags(**tags)
    return p
