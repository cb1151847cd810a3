"""Antenna pattern at boresight, ±φ3dB/2 and the back; LOS on synthetic surfaces with known answers; agreement with
GDAL's viewshed (the same reference-plane method) on a real building surface; bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from netzatlas.coverage import antenna
from netzatlas.coverage.los import clearance, gdal_viewshed, viewshed
from netzatlas.errors import InvalidParameter


def test_pattern_values():
    assert antenna.horizontal(0.0) == 0.0
    assert antenna.horizontal(32.5) == pytest.approx(-3.0)
    assert antenna.horizontal(-32.5) == pytest.approx(-3.0)
    assert antenna.horizontal(180.0) == pytest.approx(-30.0)
    assert antenna.gain(0.0, 90.0) == pytest.approx(8.0)
    assert antenna.vertical(96.0, tilt_deg=6.0) == pytest.approx(0.0)
    # a point due east of an antenna facing east (azimuth 90°) at antenna height: boresight
    assert antenna.attenuation(np.array([100.0]), np.array([0.0]), np.array([0.0]), 90.0, 0.0)[0] == 0.0
    assert antenna.attenuation(np.array([-100.0]), np.array([0.0]), np.array([0.0]), 90.0, 0.0)[0] == -30.0
    with pytest.raises(InvalidParameter, match="azimuth"):
        antenna.attenuation(np.zeros(1), np.ones(1), np.zeros(1), 400.0, 0.0)
    with pytest.raises(InvalidParameter, match="tilt"):
        antenna.check_tilt(120)


def flat(n: int = 101, res: float = 1.0) -> tuple[np.ndarray, Affine]:
    return np.zeros((n, n)), Affine(res, 0, 0, 0, -res, n * res)


def test_wall_blocks_what_lies_behind_it():
    z, t = flat()
    z[:, 60] = 20.0                                   # a 20 m wall north-south at x = 60
    v = viewshed(z, t, 50.5, 50.5, observer_height=2.0, target_height=1.5, max_distance=45, curvature_coeff=0)
    assert v[50, 55] and v[50, 60]                    # before and on the wall
    assert not v[50, 70] and not v[50, 90]            # behind it
    assert v[50, 40] and v[50, 10]                    # the other side is open
    clear, (rows, cols) = clearance(z, t, 50.5, 50.5, 2.0, 1.5, 45, 0)
    # behind the wall (10 cells away) at 20 cells the sight line over its top is 2 + 2 · 18 = 38 m high
    assert clear[50 - rows.start, 70 - cols.start] == pytest.approx(1.5 - 38.0)
    # open ground: the line grazing the ground 4 cells out is at 2 − 2 · 5/4 = −0.5 m at 5 cells, the target at 1.5
    assert clear[50 - rows.start, 55 - cols.start] == pytest.approx(2.0)
    assert np.isnan(clear[10 - rows.start, 90 - cols.start])                     # beyond the radius


def test_hill_shadow():
    z, t = flat()
    yy, xx = np.mgrid[0:101, 0:101]
    z += 30 * np.exp(-((xx - 70) ** 2 + (yy - 50) ** 2) / 50)   # a 30 m hill east of the observer
    v = viewshed(z, t, 40.5, 50.5, observer_height=2.0, max_distance=50, curvature_coeff=0)
    assert v[50, 65]                                  # the near slope is seen
    assert not v[50, 85]                              # the far side is hidden
    assert v[50, 10]


def test_bad_parameters():
    z, t = flat()
    with pytest.raises(InvalidParameter):
        viewshed(z, t, 50, 50, observer_height=-1)
    with pytest.raises(InvalidParameter, match="outside"):
        viewshed(z, t, 5000, 50, observer_height=1)


@pytest.fixture(scope="module")
def building_surface(tmp_path_factory):
    from netzatlas.coverage.surface import buildings_surface
    from netzatlas.registry import demo
    from netzatlas.registry.importers.osm import read_osm

    b = read_osm(demo.OSM_FILE, layers=["building"])["building"].to_crs(25832)
    box = (293600.0, 5628600.0, 294400.0, 5629400.0)         # the city centre around the cathedral
    s = buildings_surface(b.cx[box[0]:box[2], box[1]:box[3]], bounds=box, resolution=2.0)
    path = tmp_path_factory.mktemp("dsm") / "dsm.tif"
    with rasterio.open(path, "w", driver="GTiff", height=s.dsm.shape[0], width=s.dsm.shape[1], count=1,
                       dtype="float32", crs="EPSG:25832", transform=s.transform) as dst:
        dst.write(s.dsm.astype("float32"), 1)
    return s, path


@pytest.mark.parametrize("x,y,h", [(294000.0, 5629000.0, 30.0), (293850.0, 5629150.0, 12.0),
                                   (294200.0, 5628800.0, 25.0)])
def test_agrees_with_gdal_viewshed(building_surface, tmp_path, x, y, h):
    s, path = building_surface
    ours = viewshed(s.dsm, s.transform, x, y, h, 1.5, 350)
    out = gdal_viewshed(path, x, y, h, 1.5, 350, out_path=tmp_path / "vs.tif")
    with rasterio.open(out) as src:               # GDAL writes only the window of the radius: place it
        part = src.read(1) == 255
        col0, row0 = (int(round(v)) for v in ~s.transform @ (src.transform.c, src.transform.f))
    theirs = np.zeros(s.dsm.shape, dtype=bool)
    r1, c1 = min(row0 + part.shape[0], s.dsm.shape[0]), min(col0 + part.shape[1], s.dsm.shape[1])
    theirs[max(row0, 0):r1, max(col0, 0):c1] = part[max(-row0, 0):r1 - row0, max(-col0, 0):c1 - col0]
    yy, xx = np.mgrid[0:s.dsm.shape[0], 0:s.dsm.shape[1]]
    cx, cy = ~s.transform @ (x, y)
    within = np.hypot(xx + 0.5 - cx, yy + 0.5 - cy) * s.resolution <= 340
    # the same method (reference planes, GDAL's GVM_Edge): equal but for float rounding on a grazing line and the
    # observer's neighbours, which GDAL 3.x tests against the surface under the observer (nothing lies between)
    r0, c0 = int(cy), int(cx)
    near = (abs(yy - r0) <= 1) & (abs(xx - c0) <= 1)
    assert ((ours != theirs) & within & ~near).sum() <= within.sum() * 1e-4
    assert (ours == theirs)[within].mean() >= 0.999
    assert theirs[within].mean() > 0.05                     # not a trivial all-hidden case
