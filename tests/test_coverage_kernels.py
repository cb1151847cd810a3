"""The fast paths of a coverage run give what the plain formulas give: the compiled viewshed against a slow
geometric reference of the same reference-plane method, the compiled sector RSRP against the pattern and RSRP
formulas, the one-pass path loss against each condition, a threaded and cached run against a serial one, hole
polygons against their cells."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from affine import Affine

from netzatlas.coverage import antenna, los, pathloss
from netzatlas.coverage.gaps import holes
from netzatlas.coverage.signal import NODATA, Sector
from netzatlas.coverage.surface import Surface
from netzatlas.mobile_sites.run import _site_windows, run_coverage

CRS = "EPSG:25832"


def _cell(r0: int, c0: int, dr: int, dc: int, cols_major: bool, m: int, n: int) -> tuple[int, int]:
    """The cell m steps along the major axis and n along the minor one, on the side of (dr, dc)."""
    sr, sc = int(np.sign(dr)), int(np.sign(dc))
    return (r0 + sr * n, c0 + sc * m) if cols_major else (r0 + sr * m, c0 + sc * n)


def reference_viewshed(dsm: np.ndarray, ground: np.ndarray, res: float, r0: int, c0: int, h_obs: float,
                       h_tgt: float, radius: float, cc: float, own: set[tuple[int, int]]) -> np.ndarray:
    """Reference planes written out slowly, ring by ring around the observer, from the geometry: the line from the
    observer to a cell's centre crosses the column (or row) one nearer to the observer at an exact fraction between
    two cells; their kept heights (surface or horizon, whichever is higher; the terrain for the own structure),
    interpolated there and scaled to the cell's distance, are the cell's horizon. Heights relative to the antenna."""
    rad = int(radius // res)
    nrow, ncol = dsm.shape
    z_obs = ground[r0, c0] + h_obs
    out = np.zeros(dsm.shape, dtype=bool)
    kept: dict[tuple[int, int], float] = {}
    for ring in range(rad + 1):
        for dr in range(-ring, ring + 1):
            for dc in range(-ring, ring + 1):
                r, c = r0 + dr, c0 + dc
                if max(abs(dr), abs(dc)) != ring or not (0 <= r < nrow and 0 <= c < ncol):
                    continue
                if (dr * dr + dc * dc) * res * res > radius * radius:
                    continue
                rel = cc / los.SPHERE_DIAMETER_M * (dr * dr + dc * dc) * res * res + z_obs
                if ring <= 1:
                    horizon = -np.inf                               # nothing lies in between
                else:
                    cols_major = abs(dc) >= abs(dr)
                    major, minor = (abs(dc), abs(dr)) if cols_major else (abs(dr), abs(dc))
                    t = Fraction(minor * (major - 1), major)          # where the line crosses the nearer line
                    lo, frac = int(t), t - int(t)
                    a = kept[_cell(r0, c0, dr, dc, cols_major, major - 1, lo)]
                    b = kept[_cell(r0, c0, dr, dc, cols_major, major - 1, lo + 1)] if frac else 0.0
                    horizon = (a * float(1 - frac) + b * float(frac)) * major / (major - 1)
                target = ground[r, c] - rel + h_tgt
                out[r, c] = target >= horizon - 1e-9
                kept[(r, c)] = max((ground if (r, c) in own else dsm)[r, c] - rel, horizon)
    return out


@pytest.mark.parametrize("seed,r0,c0,radius", [(1, 30, 30, 280.0), (2, 8, 50, 400.0)])
def test_compiled_viewshed_equals_the_slow_reference(seed, r0, c0, radius):
    rng = np.random.default_rng(seed)
    n, res = 61, 10.0
    ground = np.cumsum(rng.normal(0, 0.8, (n, n)), axis=1)                  # rolling terrain
    dsm = ground + np.where(rng.random((n, n)) < 0.25, rng.uniform(3, 25, (n, n)), 0.0)
    t = Affine(res, 0, 0, 0, -res, n * res)
    own = {(r0, c0), (r0, c0 + 1), (r0 + 1, c0), (r0 + 2, c0 + 1)}          # the antenna's building
    dsm[tuple(np.array(sorted(own)).T)] += 40.0
    x, y = t @ (c0 + 0.5, r0 + 0.5)
    got = los.viewshed(dsm, t, x, y, 25.0, 1.5, radius, 0.25, ground=ground,
                       ignore=(np.array([r for r, _ in own]), np.array([c for _, c in own])))
    want = reference_viewshed(dsm.astype(np.float32).astype(float), ground.astype(np.float32).astype(float), res,
                              r0, c0, 25.0, 1.5, radius, 0.25, own)
    assert 0.03 < want.mean() < 0.9                                          # neither all seen nor all hidden
    assert (got != want).sum() <= 2, np.argwhere(got != want)               # float rounding on a grazing line


def test_sector_rsrp_window_equals_the_formulas():
    rng = np.random.default_rng(0)
    dx, dy = rng.uniform(-2000, 2000, (2, 50, 50))
    dz = rng.uniform(-60, 20, (50, 50))
    pl = rng.uniform(70, 160, (50, 50))
    reach = np.hypot(dx, dy) <= 1800
    bearing, theta = antenna.angles(dx, dy, dz)
    for az, tilt in ((0.0, 6.0), (120.0, 0.0), (359.0, -4.0)):
        want = np.where(reach, antenna.rsrp_dbm(61.0, 100, pl, antenna.attenuation(dx, dy, dz, az, tilt)), NODATA)
        got = antenna.sector_rsrp_window(bearing, theta, pl, reach, az, tilt, 61.0, 100, NODATA)
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_grid_angles_equal_the_angles_on_the_full_grid():
    rng = np.random.default_rng(4)
    dx, dy = np.linspace(-900, 900, 37), np.linspace(700, -700, 29)
    dz = rng.uniform(-60, 20, (29, 37))
    gx, gy = np.meshgrid(dx, dy)
    d2d, bearing, theta = antenna.grid_angles(dx, dy, dz, 800.0)
    want_b, want_t = antenna.angles(gx, gy, dz)
    inside = np.hypot(gx, gy) <= 800.0
    np.testing.assert_allclose(d2d, np.hypot(gx, gy), rtol=1e-12)
    np.testing.assert_allclose(bearing[inside], want_b[inside], atol=1e-9)
    np.testing.assert_allclose(theta[inside], want_t[inside], atol=1e-9)
    assert np.isnan(bearing[~inside]).all() and (~inside).sum() > 100       # beyond the radius: not computed


@pytest.mark.parametrize("model,fc,h_bs", [("UMa", 1.8, 30.0), ("UMi", 3.6, 8.0), ("RMa", 0.8, 35.0)])
def test_path_loss_in_one_pass_equals_each_condition(model, fc, h_bs):
    d = np.linspace(1.0, 6000.0, 997)
    mask = np.arange(d.size) % 3 == 0
    fn = pathloss.MODELS[model]
    with pytest.warns(pathloss.ValidityWarning):
        want = np.where(mask, fn(d, fc, h_bs=h_bs, los=True, strict=False),
                        fn(d, fc, h_bs=h_bs, los=False, strict=False))
    np.testing.assert_array_equal(pathloss.path_loss(model, d, fc, h_bs, los=mask), want)


def _small_city() -> tuple[Surface, list[Sector]]:
    rng = np.random.default_rng(5)
    n, res = 160, 10.0
    ground = np.linspace(100, 140, n)[None, :].repeat(n, axis=0)
    h = np.where(rng.random((n, n)) < 0.2, rng.uniform(6, 20, (n, n)), 0.0)
    s = Surface(ground + h, Affine(res, 0, 0, 0, -res, n * res), CRS, ["test"], dtm=ground, building=h > 0)
    sectors = [Sector(f"S{k}", x, y, 25.0, az, 6.0, 61.0, 1800.0, operator=op, max_radius_m=600.0)
               for k, (x, y, op) in enumerate([(400, 400, "A"), (1200, 500, "B"), (800, 1200, "A"), (300, 1400, "B")])
               for az in (0.0, 120.0, 240.0)]
    return s, sectors


def test_threaded_run_equals_the_serial_run_and_the_cache(tmp_path):
    s, sectors = _small_city()
    serial = run_coverage(sectors, s, tmp_path / "one", workers=1)
    threaded = run_coverage(sectors, s, tmp_path / "two", workers=3)
    again = run_coverage(sectors, s, tmp_path / "two", workers=3)           # every site from the cache
    assert sorted(serial.rasters) == [("A", "LTE"), ("B", "LTE")]
    assert again.recomputed_sites == [] and len(again.reused_sites) == 4
    for key, raster in serial.rasters.items():
        np.testing.assert_array_equal(threaded.rasters[key], raster)
        np.testing.assert_array_equal(again.rasters[key], raster)
    # the cache keeps 0.01 dB steps: within 0.005 dB of the freshly computed windows
    data = _site_windows([x for x in sectors if x.site_id == "S0"], s)
    r0, r1, c0, c1 = (int(v) for v in data["win_0"])
    fresh = np.max([data[f"rsrp_{i}"] for i in range(3)], axis=0)
    got = serial.rasters[("A", "LTE")][r0:r1, c0:c1]
    seen = fresh > NODATA
    assert np.all(got[seen] >= fresh[seen] - 0.0051)                         # other sites may only add signal
    assert (serial.rasters[("A", "LTE")] > NODATA).mean() > 0.3


def test_hole_polygons_have_the_area_of_their_cells():
    res = 10.0
    rsrp = np.full((40, 40), -80.0)
    rsrp[5:15, 5:15] = -120.0            # a hole with an island inside
    rsrp[9:11, 9:11] = -90.0
    rsrp[30:33, 20:38] = NODATA          # no signal counts as a hole
    rsrp[25, 0] = -110.0                 # a single cell
    h = holes(rsrp, Affine(res, 0, 0, 0, -res, 400), CRS, -105.0)
    assert sorted(h["area_ha"].round(4).tolist()) == [0.01, 0.54, 0.96]
    ring = h.loc[h["area_ha"].round(4) == 0.96, "geometry"].iloc[0]
    assert len(ring.interiors) == 1 and ring.area == pytest.approx(96 * res * res)
