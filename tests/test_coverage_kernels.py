"""The fast paths of a coverage run give what the plain formulas give: the compiled viewshed against a slow
reference of the same ray method, the compiled sector RSRP against the pattern and RSRP formulas, the one-pass
path loss against each condition, a threaded and cached run against a serial one, hole polygons against their
cells."""

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


def _nearest(x: Fraction) -> int:
    """x rounded to the nearest integer, a tie towards zero (the viewshed's rule)."""
    q, frac = divmod(abs(x), 1)
    return int(np.sign(x)) * int(q + (1 if frac > Fraction(1, 2) else 0))


def reference_viewshed(dsm: np.ndarray, ground: np.ndarray, res: float, r0: int, c0: int, h_obs: float,
                       h_tgt: float, radius: float, cc: float, own: set[tuple[int, int]]) -> np.ndarray:
    """The R2 ray method written out slowly: a ray to every border cell of the window, one sample per step (the
    nearest cell, exact arithmetic), visible where the target's elevation angle reaches every earlier sample's."""
    rad = int(np.ceil(radius / res))
    nrow, ncol = dsm.shape
    z_obs = ground[r0, c0] + h_obs
    out = np.zeros(dsm.shape, dtype=bool)
    out[r0, c0] = True
    border = {(a, b) for a in range(-rad, rad + 1) for b in (-rad, rad)} | \
             {(b, a) for a in range(-rad, rad + 1) for b in (-rad, rad)}
    for er, ec in sorted(border):
        horizon = -np.inf
        for k in range(1, rad + 1):
            dr, dc = _nearest(Fraction(er * k, rad)), _nearest(Fraction(ec * k, rad))
            r, c = r0 + dr, c0 + dc
            d = np.hypot(dr, dc) * res
            if d > radius or not (0 <= r < nrow and 0 <= c < ncol):
                break
            drop = cc / los.SPHERE_DIAMETER_M * d * d
            if (ground[r, c] - drop + h_tgt - z_obs) / d >= horizon - 1e-12:
                out[r, c] = True
            if (r, c) not in own:
                horizon = max(horizon, (dsm[r, c] - drop - z_obs) / d)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_compiled_viewshed_equals_the_slow_reference(seed):
    rng = np.random.default_rng(seed)
    n, res = 61, 10.0
    ground = np.cumsum(rng.normal(0, 0.8, (n, n)), axis=1)                  # rolling terrain
    dsm = ground + np.where(rng.random((n, n)) < 0.25, rng.uniform(3, 25, (n, n)), 0.0)
    t = Affine(res, 0, 0, 0, -res, n * res)
    own = {(30, 30), (30, 31), (31, 30)}
    got = los.viewshed(dsm, t, 305.0, n * res - 305.0, 25.0, 1.5, 280.0, 0.25, ground=ground,
                       ignore=(np.array([r for r, _ in own]), np.array([c for _, c in own])))
    want = reference_viewshed(dsm.astype(np.float32).astype(float), ground.astype(np.float32).astype(float), res,
                              30, 30, 25.0, 1.5, 280.0, 0.25, own)
    assert 0.03 < want.mean() < 0.9                                          # neither all seen nor all hidden
    assert (got != want).sum() <= 2, np.argwhere(got != want)               # float32 rounding on a grazing ray


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
