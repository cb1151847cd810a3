"""Heights as a radio planner counts them: the antenna at terrain + its height above ground, the structure carrying
it never blocking it, receivers at terrain + 1.5 m; terrain (DGM) and surface (DSM) as separate inputs; the shadow
behind a hill; DGM tiles (GeoTIFF and XYZ) resampled to the run's grid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from netzatlas.coverage.los import viewshed
from netzatlas.coverage.signal import Sector, sector_rsrp, site_viewshed
from netzatlas.coverage.surface import FLAT_TERRAIN_NOTE, Surface, buildings_surface, terrain_on_grid
from netzatlas.errors import InvalidParameter

CRS = "EPSG:25832"
RES = 10.0


def _grid(n: int) -> Affine:
    return Affine(RES, 0, 0, 0, -RES, n * RES)


def _sector(x: float, y: float, h: float, radius: float = 1500.0) -> Sector:
    return Sector("T", x, y, h, 90.0, 0.0, 61.0, 1800.0, max_radius_m=radius)


def test_tower_radiates_from_its_antenna_height_not_twice():
    """A 133 m TV tower mapped as a 133 m building (3 × 3 cells): the antenna is at 133 m above ground, not at
    266 m (surface + height), and the tower's own cells do not block it."""
    n = 301
    t = _grid(n)
    towers = gpd.GeoDataFrame({"height_m": [133.0, 100.0]},
                              geometry=[box(990, 990, 1020, 1020),             # the tower, around cell (100, 100)
                                        box(1300, 1000, 1310, 1010)],          # a 100 m block 300 m east
                              crs=CRS)
    s = buildings_surface(towers, bounds=(0, 0, n * RES, n * RES), resolution=RES)
    x = y = 1005.0
    row, col = s.cell_of(x, y)
    assert col == 100 and s.dsm[row, col] == 133.0 and s.ground[row, col] == 0.0
    assert any("terrain assumed flat" in a for a in s.assumptions)
    sec = _sector(x, y, 133.0)
    vis = site_viewshed(sec, s)
    # ground right next to the tower is seen (its own cells would block everything below 133 m otherwise)
    assert vis[row, 103] and vis[row, 110]
    # the shadow of the 100 m block (cell 130) behind it, for a receiver at 1.5 m: ends where the ray from 133 m
    # over the block's near top edge meets 1.5 m: d = 295 · (133 − 1.5) / (133 − 100) ≈ 1176 m; from 266 m the
    # shadow would end at 295 · 264.5 / 166 ≈ 470 m
    shadow = [c for c in range(131, 245) if not vis[row, c]]
    end_m = (max(shadow) + 0.5) * RES - x
    expected_133 = 295 * (133 - 1.5) / (133 - 100)
    expected_266 = 295 * (266 - 1.5) / (266 - 100)
    assert abs(end_m - expected_133) <= 2 * RES
    assert abs(end_m - expected_266) > 2 * RES                      # not what a 266 m antenna would give
    # the vertical pattern: dz from 133 m, not 266 m — the sector's window compares with a bare 133 m antenna
    flat = Surface(np.zeros((n, n)), t, CRS)
    rsrp_tower, win = sector_rsrp(sec, s, vis)
    rsrp_flat, _ = sector_rsrp(sec, flat, np.ones((n, n), dtype=bool))
    seen = vis[win]
    np.testing.assert_allclose(rsrp_tower[seen], rsrp_flat[seen], atol=1e-9)


def test_the_same_without_the_structure_exclusion_would_be_blind():
    """The old behaviour, for contrast: observer on the surface (133 + 133 m) — and without leaving the tower's cells
    out, an observer at 133 m on the ground sees nothing next to the tower."""
    n = 101
    t = _grid(n)
    z = np.zeros((n, n))
    z[49:52, 49:52] = 133.0
    g = np.zeros((n, n))
    blind = viewshed(z, t, 505, 505, 133.0, 1.5, 400, ground=g)
    assert not blind[50, 55]                                              # blocked by its own tower cells
    seen = viewshed(z, t, 505, 505, 133.0, 1.5, 400, ground=g,
                    ignore=(np.array([49, 49, 49, 50, 50, 50, 51, 51, 51]), np.array([49, 50, 51] * 3)))
    assert seen[50, 55] and seen[50, 90]


def test_rooftop_site_keeps_roof_plus_mast_and_its_roof_does_not_block():
    n = 101
    house = gpd.GeoDataFrame({"height_m": [20.0]}, geometry=[box(450, 450, 560, 560)], crs=CRS)  # 11 × 11 cells
    s = buildings_surface(house, bounds=(0, 0, n * RES, n * RES), resolution=RES)
    rows, cols = s.structure_at(505, 505)
    assert len(rows) == 49              # the roof within STRUCTURE_RADIUS_M (30 m) of the mast carries it
    sec = _sector(505, 505, 20.0 + 5.0)                                  # building 20 m + mast 5 m above ground
    vis = site_viewshed(sec, s)
    assert vis[50, 80] and vis[50, 95]                                    # the street far beyond the roof is seen
    assert not vis[50, 60]           # right below the roof edge 50 m away: in its shadow, as a radio planner expects
    on_surface = viewshed(s.dsm, s.transform, 505, 505, 25.0, 1.5, 500)  # the old way: 20 m roof + 25 m = 45 m
    assert on_surface[50, 60]
    # receivers stand on the ground: the cell outside the house at 1.5 m, not on the roof
    assert s.in_building[50, 50] and not s.in_building[50, 60]


def test_hill_casts_a_shadow_behind_it():
    """Terrain (DGM) as its own input: a 60 m hill 500 m east of a 30 m mast hides the valley behind it."""
    n = 201
    yy, xx = np.mgrid[0:n, 0:n]
    hill = 60.0 * np.exp(-(((xx - 150) ** 2 + (yy - 100) ** 2) / (2 * 8.0 ** 2)))
    terrain = 200.0 + hill
    s = buildings_surface(gpd.GeoDataFrame({"height_m": []}, geometry=[], crs=CRS),
                          bounds=(0, 0, n * RES, n * RES), resolution=RES, terrain=terrain, terrain_note="test DGM")
    assert not s.terrain_flat and not any("terrain assumed flat" in a for a in s.assumptions)
    sec = _sector(1005, 1005, 30.0, radius=1000)
    vis = site_viewshed(sec, s)
    row = 100
    assert vis[row, 140] and vis[row, 150]                                # the slope facing the mast and the top
    assert not vis[row, 170] and not vis[row, 185]                        # the valley behind the hill
    assert vis[row - 60, 170]                                             # beside the hill: seen
    rsrp, (rs, cs) = sector_rsrp(sec, s, vis)
    full = np.full(s.dsm.shape, np.nan)
    full[rs, cs] = rsrp
    assert full[row, 175] < full[row - 30, 175] - 10                      # NLOS behind the hill: much weaker


def test_terrain_tiles_geotiff_and_xyz_resampled_to_the_grid(tmp_path):
    # a 2 m GeoTIFF tile (west half) and a 5 m XYZ tile (east half) of a plane z = 100 + 0.1·x
    t_tif = Affine(2.0, 0, 0, 0, -2.0, 400)
    xs = (np.arange(100) + 0.5) * 2.0
    with rasterio.open(tmp_path / "dgm_w.tif", "w", driver="GTiff", height=200, width=100, count=1,
                       dtype="float32", crs=CRS, transform=t_tif) as dst:
        dst.write(np.tile(100 + 0.1 * xs, (200, 1)).astype("float32"), 1)
    lines = [f"{x:.1f} {y:.1f} {100 + 0.1 * x:.3f}" for y in np.arange(397.5, 0, -5.0)
             for x in np.arange(202.5, 400, 5.0)]
    (tmp_path / "dgm_e.xyz").write_text("\n".join(lines) + "\n")
    transform, shape = Affine(10.0, 0, 0, 0, -10.0, 400), (40, 40)
    dtm, note = terrain_on_grid(tmp_path, transform, shape, CRS)
    centres = (np.arange(40) + 0.5) * 10.0
    np.testing.assert_allclose(dtm[20, 2:38], 100 + 0.1 * centres[2:38], atol=0.6)
    assert "2 DGM tile(s)" in note and "dgm_e.xyz" in note
    with pytest.raises(InvalidParameter, match="do not overlap"):
        terrain_on_grid(tmp_path, Affine(10.0, 0, 10_000, 0, -10.0, 10_400), shape, CRS)


def test_flat_terrain_is_said():
    s = Surface(np.zeros((5, 5)), _grid(5), CRS)
    assert s.terrain_flat and s.assumptions[0] == FLAT_TERRAIN_NOTE
