"""The coverage engine tiled on Dask (coverage/tiling.py, tile_io.py, dask_engine.py; ``mobile coverage --tiled``).

- a synthetic area of 3 × 3 tiles (terrain, buildings, sites leaving a hole across tile borders): the tiled run
  equals the untiled engine (``mobile_sites.run.run_coverage``) cell for cell, in-process and on a ``LocalCluster``
  of two worker processes (bit-identical), and its holes are the untiled holes (a hole crossing tile borders is one
  hole); the incremental run recomputes only the tiles a changed site reaches — in-process, on a local cluster and
  through a scheduler address;
- the Aachen demo registry: in-process vs two worker processes vs the untiled engine;
- the CLI journey: VRT mosaics over tile COGs, holes, the per-municipality report (CSV in German Excel form and
  GeoPackage), the rerun reusing every tile.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from netzatlas.coverage import dask_engine, tiling
from netzatlas.coverage.gaps import holes
from netzatlas.coverage.signal import coverage_views
from netzatlas.coverage.surface import Surface
from netzatlas.mobile_sites.run import raster_name, run_coverage
from netzatlas.mobile_sites.sites import sectors_for_site

RES = 10.0
CRS = "EPSG:25832"
N = 240            # cells per side: 2.4 km
TILE_M = 800.0     # 3 × 3 tiles
RADIUS_M = 500.0
DEMO_TILE_M = 4500.0   # the demo area (8.7 × 5.6 km) in 2 × 2 tiles


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes, shared by the tests of this module."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Terrain (hills), buildings (blocks, 6–25 m) and 9 sites in three clusters, leaving the middle uncovered;
    written as GeoTIFFs. Returns (dir, surface, sectors)."""
    d = tmp_path_factory.mktemp("synthetic")
    rng = np.random.default_rng(17)
    t = Affine(RES, 0, 290_000.0, 0, -RES, 5_632_000.0)
    rows, cols = np.mgrid[0:N, 0:N]
    dtm = (150 + 25 * np.sin(rows / 37.0) + 18 * np.cos(cols / 29.0)).astype("float32").astype(float)
    inside = np.zeros((N, N), bool)
    heights = np.zeros((N, N))
    for _ in range(220):
        r, c = rng.integers(0, N - 8), rng.integers(0, N - 8)
        h, w = rng.integers(2, 7), rng.integers(2, 7)
        inside[r:r + h, c:c + w] = True
        heights[r:r + h, c:c + w] = rng.uniform(6, 25)
    dsm = (dtm + heights).astype("float32").astype(float)
    profile = {"driver": "GTiff", "height": N, "width": N, "count": 1, "crs": CRS, "transform": t}
    for name, arr, dtype in (("surface", dsm, "float32"), ("terrain", dtm, "float32"),
                             ("buildings", inside, "uint8")):
        with rasterio.open(d / f"{name}.tif", "w", dtype=dtype, **profile) as dst:
            dst.write(arr.astype(dtype), 1)
    surface = Surface(dsm, t, CRS, ["terrain GENERATED for the test"], dtm=dtm, building=inside)
    centres = [(30, 30), (40, 210), (215, 120)]   # three clusters; the middle of the area is out of reach
    sectors = []
    for k in range(9):
        r0, c0 = centres[k % 3]
        r, c = r0 + int(rng.integers(-20, 20)), c0 + int(rng.integers(-20, 20))
        x, y = t @ (c + 0.5, r + 0.5)
        for s in sectors_for_site(f"s{k:02d}", x, y, operator=("A", "B")[k % 2], height_m=25.0 + k):
            sectors.append(dataclasses.replace(s, max_radius_m=RADIUS_M))
    return d, surface, sectors


def run_tiled(d: Path, sectors, out: Path, client) -> dask_engine.TiledRun:
    return dask_engine.tiled_coverage(sectors, out, str(d / "surface.tif"), client=client, tile_size_m=TILE_M,
                                      terrain=str(d / "terrain.tif"), buildings=str(d / "buildings.tif"))


def read_layers(run: dask_engine.TiledRun) -> dict[str, np.ndarray]:
    out = {}
    for name, vrt in run.vrts.items():
        with rasterio.open(vrt) as src:
            out[name] = src.read(1)
    return out


def untiled(surface: Surface, sectors, cache: Path) -> tuple[dict[str, np.ndarray], dict[str, gpd.GeoDataFrame]]:
    """The in-process engine's layers (as ``mobile coverage`` writes them) and holes of all networks."""
    run = run_coverage(sectors, surface, cache, workers=1)
    layers = {}
    for (op, tech), raster in run.rasters.items():
        for view, (rsrp, valid) in coverage_views(raster, surface, run.frequencies[(op, tech)]).items():
            layers[raster_name(view, op, tech)[:-4]] = np.where(valid, rsrp, np.nan).astype("float32")
    best = np.max(np.stack(list(run.rasters.values())), axis=0)
    found = {}
    for view, (rsrp, valid) in coverage_views(best, surface, max(run.frequencies.values())).items():
        layers[f"rsrp_{view}_all"] = np.where(valid, rsrp, np.nan).astype("float32")
        found[view] = holes(rsrp, surface.transform, surface.crs, -105.0, valid=valid)
    return layers, found


def assert_same_rasters(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def assert_same_holes(tiled: gpd.GeoDataFrame, reference: dict[str, gpd.GeoDataFrame], check: int = 60) -> None:
    """The same holes as the reference: per view the same number and the same areas, and each of the ``check``
    largest reference holes is one tiled hole with the same cells (symmetric difference 0 m²)."""
    for view, ref in reference.items():
        mine = tiled[tiled["coverage"] == view].reset_index(drop=True)
        assert len(mine) == len(ref), view
        assert sorted(mine.area.round(1)) == sorted(ref.area.round(1)), view
        area = mine.area.round(1).to_numpy()
        for g in ref.geometry.iloc[np.argsort(-ref.area.to_numpy())[:check]]:
            same = [i for i in np.flatnonzero(area == round(g.area, 1))
                    if mine.geometry.iloc[i].symmetric_difference(g).area < 1e-6]
            assert len(same) == 1, (view, g.area)


def test_tiles_halo_and_reach(synthetic):
    d, surface, sectors = synthetic
    grid = dask_engine.raster_grid(str(d / "surface.tif"))
    tiles = tiling.make_tiles(grid, TILE_M)
    assert len(tiles) == 9 and {t.window[1] - t.window[0] for t in tiles} == {80}
    halo = tiling.halo_cells(RADIUS_M, RES)
    assert halo == 50 + tiling.structure_cells(RES)
    by_site = {}
    for s in sectors:
        by_site.setdefault(s.site_id, []).append(s)
    reach = {t.name: tiling.sites_reaching(t, grid, by_site) for t in tiles}
    # a site near the north-west corner reaches the corner tile and not the far (south-east) one
    assert "s00" in reach["t0000_0000"] and "s00" not in reach["t0002_0002"]
    assert all(reach[n] == sorted(reach[n]) for n in reach)


def test_tiled_equals_untiled_and_holes_merge_across_tiles(synthetic, tmp_path):
    d, surface, sectors = synthetic
    ref_layers, ref_holes = untiled(surface, sectors, tmp_path / "cache")
    with dask_engine.engine() as eng:
        assert eng.mode.startswith("in-process") and eng.dashboard and eng.dashboard.startswith("http")
        run = run_tiled(d, sectors, tmp_path / "tiled", eng.client)
    assert len(run.tiles) == 9 and len(run.recomputed) == 9
    layers = read_layers(run)
    assert set(ref_layers) < set(layers) and "best_server" in layers
    assert_same_rasters(ref_layers, layers)               # bit-identical to the untiled engine
    assert_same_holes(run.holes, ref_holes)
    # the middle is out of every site's reach: one hole spanning several tiles, merged
    outdoor = run.holes[run.holes["coverage"] == "outdoor"]
    big = outdoor.iloc[outdoor["cells"].argmax()]
    assert big["tiles"] >= 3 and big.geometry.geom_type == "Polygon"
    minx, miny, maxx, maxy = big.geometry.bounds      # it crosses the middle column of tiles from side to side
    assert minx < 290_000 + TILE_M and maxx > 290_000 + 2 * TILE_M
    assert len(list((tmp_path / "tiled" / "tiles" / "rsrp_outdoor_A_LTE").glob("t*.tif"))) == 9
    with rasterio.open(run.vrts["rsrp_outdoor_A_LTE"]) as src:
        assert src.driver == "VRT" and src.shape == (N, N) and len(src.files) == 1 + 9
    server = layers["best_server"]
    assert server.min() >= -1 and server.max() < len(sectors)
    covered = layers["rsrp_outdoor_all"] > -999
    assert (server[covered & ~np.isnan(layers["rsrp_outdoor_all"])] >= 0).all()


def test_local_cluster_equals_in_process_and_incremental_in_every_mode(synthetic, cluster, tmp_path):
    d, surface, sectors = synthetic
    with dask_engine.engine() as eng:
        mine = run_tiled(d, sectors, tmp_path / "inproc", eng.client)
    from distributed import Client

    with Client(cluster) as client:
        theirs = run_tiled(d, sectors, tmp_path / "cluster", client)
        assert len({r["pid"] for r in theirs.results}) == 2          # both worker processes computed tiles
    assert_same_rasters(read_layers(mine), read_layers(theirs))
    a, b = mine.holes, theirs.holes
    assert len(a) == len(b) and all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry, strict=True))
    assert (a["people"].to_numpy() == b["people"].to_numpy()).all()

    # one site turned: only the tiles it reaches are recomputed, in each mode
    moved = [dataclasses.replace(s, azimuth_deg=(s.azimuth_deg + 60) % 360) if s.site_id == "s04" else s
             for s in sectors]
    grid = mine.grid
    by_site = {}
    for s in moved:
        by_site.setdefault(s.site_id, []).append(s)
    expected = {t.name for t in mine.tiles if "s04" in tiling.sites_reaching(t, grid, by_site)}
    assert 0 < len(expected) < 9
    with dask_engine.engine() as eng:
        again = run_tiled(d, moved, tmp_path / "inproc", eng.client)
    assert set(again.recomputed) == expected and len(again.reused) == 9 - len(expected)
    with dask_engine.engine(scheduler=cluster.scheduler_address) as eng:     # an existing cluster by its address
        assert eng.mode.startswith("Dask cluster at tcp://")
        again_c = run_tiled(d, moved, tmp_path / "cluster", eng.client)
    assert set(again_c.recomputed) == expected
    ref_layers, ref_holes = untiled(surface, moved, tmp_path / "cache")
    assert_same_rasters(ref_layers, read_layers(again))
    assert_same_rasters(ref_layers, read_layers(again_c))
    assert_same_holes(again.holes, ref_holes)
    with dask_engine.engine(workers=1) as eng:                              # --workers: a LocalCluster of its own
        assert eng.mode.startswith("local Dask cluster")
        third = run_tiled(d, moved, tmp_path / "inproc", eng.client)
    assert third.recomputed == []


@pytest.fixture(scope="module")
def cli_runs(aachen_loaded, tmp_path_factory):
    """``mobile coverage --tiled`` on the demo registry (in-process), twice; returns (out, first, second output)."""
    from typer.testing import CliRunner

    from netzatlas.cli.main import app
    from tests.conftest import netzatlas_home

    tmp = tmp_path_factory.mktemp("tiled-cli")
    out = tmp / "tiled"
    args = ["mobile", "coverage", "--tiled", "--tile-size", str(DEMO_TILE_M), "--municipalities",
            "data/germany/VG250_GEM_simplified.zip", "--out", str(out)]
    with netzatlas_home(tmp / "home"):
        first = CliRunner().invoke(app, args, catch_exceptions=False)
        assert first.exit_code == 0, first.output
        second = CliRunner().invoke(app, args, catch_exceptions=False)
        assert second.exit_code == 0, second.output
    return out, " ".join(first.output.split()), " ".join(second.output.split())


def test_cli_tiled_journey(cli_runs):
    import pyogrio

    out, text, again = cli_runs
    assert "engine: in-process" in text and "dashboard: http" in text and "terrain assumed flat" in text
    n = int(text.split("tiles: ")[1].split()[0])
    assert n == 4 and f"({n} computed, 0 unchanged" in text and f"(0 computed, {n} unchanged and reused)" in again
    for layer in ("rsrp_outdoor_all", "rsrp_indoor_all", "best_server", "rsrp_outdoor_unknown_LTE"):
        vrt = out / f"{layer}.vrt"
        assert vrt.exists()
        assert len(list((out / "tiles" / layer).glob("t*.tif"))) == n
        with rasterio.open(vrt) as src:
            assert src.driver == "VRT" and len(src.files) == 1 + n
    with rasterio.open(next((out / "tiles" / "rsrp_outdoor_all").glob("t*.tif"))) as src:
        assert src.profile["tiled"] and "terrain assumed flat" in src.tags()["assumptions"]
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage_tiled.gpkg")}
    assert {"holes_outdoor", "holes_indoor", "municipalities"} <= layers
    h = gpd.read_file(out / "coverage_tiled.gpkg", layer="holes_outdoor")
    assert len(h) and h["assumptions"].str.contains("terrain assumed flat").all() and h["people"].sum() > 0
    mun = gpd.read_file(out / "coverage_tiled.gpkg", layer="municipalities")
    aachen = mun[mun["ars"] == "053340002002"].iloc[0]
    assert 0 < aachen["outdoor_area_covered_pct"] <= 100 and aachen["people"] > 100_000
    assert 0 <= aachen["indoor_people_in_holes"] < aachen["people"]
    raw = (out / "municipalities.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("ARS;Gemeinde;") and any(line.startswith("053340002002;Aachen;") for line in lines)
    assert (out / "coverage_holes_tiled.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_demo_registry_in_process_cluster_and_untiled_agree(aachen_loaded, cli_runs, cluster, tmp_path):
    """The CLI's in-process run on the demo registry = two worker processes on its inputs = the untiled engine."""
    from distributed import Client

    from netzatlas.registry import mobile_io
    from netzatlas.registry.db import connect

    out, _, _ = cli_runs
    with connect(aachen_loaded) as conn:
        surf = mobile_io.demo_surface(conn, 10.0)
        sectors = mobile_io.sectors(conn)
    inputs = out / "inputs"
    kw = {"tile_size_m": DEMO_TILE_M, "terrain": None, "buildings": str(inputs / "buildings.tif"),
          "flat_ground": surf.flat_ground}
    with Client(cluster) as client:
        theirs = dask_engine.tiled_coverage(sectors, tmp_path / "b", str(inputs / "surface.tif"), client=client,
                                            **kw)
    assert len({r["pid"] for r in theirs.results}) == 2
    b = read_layers(theirs)
    for name in theirs.vrts:
        if name != "best_server":       # sector indices follow the registry's row order of each read
            with rasterio.open(out / f"{name}.vrt") as src:
                np.testing.assert_array_equal(src.read(1), b[name], err_msg=name)
    ref_layers, ref_holes = untiled(surf, sectors, tmp_path / "cache")
    assert_same_rasters(ref_layers, b)
    assert_same_holes(theirs.holes, ref_holes)
    cli_holes = pd.concat([gpd.read_file(out / "coverage_tiled.gpkg", layer=f"holes_{v}") for v in ("outdoor",
                                                                                                 "indoor")])
    assert sorted(cli_holes.area.round(1)) == sorted(theirs.holes.area.round(1))


def test_cli_tiled_from_files_without_registry(synthetic, tmp_path):
    """A Land's way in: surface and terrain rasters, a sites CSV (one row per sector), a population raster and
    VG250-like municipalities — no database; the per-municipality report counts the people."""
    import shapely
    from typer.testing import CliRunner

    from netzatlas.cli.main import app

    d, surface, sectors = synthetic
    rows = [{"site_id": s.site_id, "x": s.x, "y": s.y, "operator": s.operator, "height_m": s.height_m,
             "azimuth_deg": s.azimuth_deg, "radius_m": RADIUS_M} for s in sectors]
    pd.DataFrame(rows).to_csv(tmp_path / "sites.csv", sep=";", index=False)
    t = surface.transform
    with rasterio.open(tmp_path / "pop.tif", "w", driver="GTiff", height=N // 10, width=N // 10, count=1,
                       dtype="float32", crs=CRS, transform=Affine(100.0, 0, t.c, 0, -100.0, t.f)) as dst:
        dst.write(np.full((N // 10, N // 10), 10.0, dtype="float32"), 1)
    x0, y1, side = t.c, t.f, N * RES
    west = shapely.box(x0, y1 - side, x0 + side / 2, y1)
    east = shapely.box(x0 + side / 2, y1 - side, x0 + side, y1)
    gpd.GeoDataFrame({"ARS": ["059990000001", "059990000002"], "GEN": ["Westdorf", "Osthausen"]},
                     geometry=[west, east], crs=CRS).to_file(tmp_path / "vg250.gpkg")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["mobile", "coverage", "--tiled", "--tile-size", str(TILE_M), "--surface",
                                   str(d / "surface.tif"), "--terrain", str(d / "terrain.tif"), "--sites",
                                   str(tmp_path / "sites.csv"), "--population", str(tmp_path / "pop.tif"),
                                   "--municipalities", str(tmp_path / "vg250.gpkg"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "tiles: 9 (9 computed" in text and "sites from sites.csv" in text and "terrain from terrain.tif" in text
    assert (out / "rsrp_outdoor_A_LTE.vrt").exists() and (out / "rsrp_indoor_all.vrt").exists()
    mun = gpd.read_file(out / "coverage_tiled.gpkg", layer="municipalities").set_index("ars")
    assert list(mun.index) == ["059990000001", "059990000002"] and list(mun["name"]) == ["Westdorf", "Osthausen"]
    total = N // 10 * N // 10 * 10.0        # 10 people per 100 m cell
    assert 0.95 * total <= mun["people"].sum() <= total
    assert (mun["outdoor_people_in_holes"] > 0).all() and (mun["outdoor_people_in_holes"] < mun["people"]).all()
    lines = (out / "municipalities.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("059990000001;Westdorf;") and "," in lines[1]     # decimal comma
