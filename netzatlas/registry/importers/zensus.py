"""Zensus 2011 grids: the 1 km population and the 100 m buildings/dwellings grid, and a 100 m population
estimate that spreads each 1 km cell's population over its 100 m cells in proportion to their dwellings.

The estimate keeps each 1 km cell's total exactly. A 1 km cell with population but no dwellings in any of its
100 m cells (suppressed or missing) spreads its population evenly over its 100 m cells present in the grid; if
none is present, its population stays on the 1 km cell only (reported by ``unallocated``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from netzatlas.errors import FileFormatError


def _read(path: str | Path, needed: list[str]) -> gpd.GeoDataFrame:
    """The grid with the ``needed`` columns (matched regardless of case: the downloads write ``Gitter_ID_1km``).
    A CSV as the Zensus site offers it (cell midpoints ``x_mp_1km`` / ``y_mp_1km`` in EPSG:3035) gets its
    square cells built from the midpoints."""
    p = Path(path)
    try:
        gdf = _read_csv(p) if p.suffix.lower() in (".csv", ".txt") else pyogrio.read_dataframe(p)
    except FileFormatError:
        raise
    except Exception as exc:
        raise FileFormatError(f"{p.name}: cannot read the Zensus grid ({exc})") from exc
    by_case = {str(c).lower(): c for c in gdf.columns}
    gdf = gdf.rename(columns={by_case[c.lower()]: c for c in needed if c.lower() in by_case})
    missing = [c for c in needed if c not in gdf.columns]
    if missing:
        have = [str(c) for c in gdf.columns if c != getattr(gdf.geometry, "name", None)]
        raise FileFormatError(f"{p.name}: missing column(s) {', '.join(missing)}",
                              hint=f"the file's columns: {', '.join(have[:12]) or 'none'}; a Zensus 2011 grid "
                                   "(1 km: GITTER_ID_1km, Einwohner; 100 m: GITTER_ID_100m, buildings_total, "
                                   "dwellings_total)")
    if gdf.crs is None:
        raise FileFormatError(f"{p.name}: the grid has no CRS", hint="the Zensus grids are in EPSG:3035")
    if gdf.empty:
        raise FileFormatError(f"{p.name}: the grid holds no cells")
    return gdf


def _read_csv(p: Path) -> gpd.GeoDataFrame:
    """A Zensus CSV (``;`` or ``,``) with cell midpoints in EPSG:3035; the cell size is the column's suffix."""
    head = p.read_bytes()[:4096].decode("latin-1")
    frame = pd.read_csv(p, sep=";" if head.count(";") >= head.count(",") else ",", dtype=str,
                        encoding="utf-8-sig" if head.startswith("\ufeff") or _utf8(p) else "cp1252")
    frame.columns = [str(c).strip() for c in frame.columns]
    by_case = {c.lower(): c for c in frame.columns}
    for size, suffix in ((1000, "1km"), (100, "100m")):
        xc, yc = by_case.get(f"x_mp_{suffix}"), by_case.get(f"y_mp_{suffix}")
        if xc and yc:
            x, y = pd.to_numeric(frame[xc], errors="coerce"), pd.to_numeric(frame[yc], errors="coerce")
            if (x.isna() | y.isna()).any():
                bad = int((x.isna() | y.isna()).to_numpy().argmax()) + 2
                raise FileFormatError(f"{p.name}: line {bad}: the cell midpoint ({xc}, {yc}) is no number")
            cells = shapely.box(x - size / 2, y - size / 2, x + size / 2, y + size / 2)
            return gpd.GeoDataFrame(frame.drop(columns=[xc, yc]), geometry=cells, crs="EPSG:3035")
    raise FileFormatError(f"{p.name}: a CSV without cell midpoints (x_mp_1km / y_mp_1km or x_mp_100m / y_mp_100m)",
                          hint="give the Zensus grid as GeoPackage, or the CSV download with the midpoint columns")


def _utf8(p: Path) -> bool:
    try:
        p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _inside(gdf: gpd.GeoDataFrame, clip: shapely.Geometry | None) -> gpd.GeoDataFrame:
    """Cells whose centre lies inside the boundary (given in EPSG:4326)."""
    if clip is None:
        return gdf
    bnd = gpd.GeoSeries([clip], crs="EPSG:4326").to_crs(gdf.crs).iloc[0]
    return gdf[gdf.geometry.centroid.within(bnd)]


def read_1km(path: str | Path, clip: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    gdf = _inside(_read(path, ["GITTER_ID_1km", "Einwohner"]), clip)
    pop = pd.to_numeric(gdf["Einwohner"], errors="coerce")
    return gpd.GeoDataFrame(
        {
            "external_id": gdf["GITTER_ID_1km"].astype(str),
            "cell_id": gdf["GITTER_ID_1km"].astype(str),
            "resolution_m": 1000,
            "population": pop.where(pop >= 0).astype("Int64"),
            "buildings": pd.array([None] * len(gdf), dtype="Int64"),
            "dwellings": pd.array([None] * len(gdf), dtype="Int64"),
            "population_estimate": pop.where(pop >= 0).astype(float),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    ).reset_index(drop=True)


def read_100m(path: str | Path, clip: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    gdf = _inside(_read(path, ["GITTER_ID_100m", "buildings_total", "dwellings_total"]), clip)
    b = pd.to_numeric(gdf["buildings_total"], errors="coerce")
    d = pd.to_numeric(gdf["dwellings_total"], errors="coerce")
    return gpd.GeoDataFrame(
        {
            "external_id": gdf["GITTER_ID_100m"].astype(str),
            "cell_id": gdf["GITTER_ID_100m"].astype(str),
            "resolution_m": 100,
            "population": pd.array([None] * len(gdf), dtype="Int64"),
            "buildings": b.where(b >= 0).round().astype("Int64"),
            "dwellings": d.where(d >= 0).round().astype("Int64"),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    ).reset_index(drop=True)


def parent_1km(cell_100m: gpd.GeoDataFrame, grid_1km: gpd.GeoDataFrame) -> pd.Series:
    """The 1 km cell id that contains each 100 m cell (by its centre)."""
    centres = gpd.GeoDataFrame(geometry=cell_100m.geometry.centroid, crs=cell_100m.crs)
    joined = gpd.sjoin(
        centres, grid_1km[["cell_id", grid_1km.geometry.name]].to_crs(cell_100m.crs), predicate="within", how="left"
    )
    joined = joined[~joined.index.duplicated()]
    return joined["cell_id"].reindex(cell_100m.index)


def estimate_population_100m(grid_1km: gpd.GeoDataFrame, grid_100m: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``population_estimate`` to the 100 m cells (see the module docstring); 1 km totals are kept."""
    out = grid_100m.copy()
    out["_parent"] = parent_1km(out, grid_1km)
    pop = grid_1km.set_index("cell_id")["population"].astype(float).fillna(0.0)
    dw = out["dwellings"].astype(float).fillna(0.0)
    dw_sum = dw.groupby(out["_parent"]).transform("sum")
    n_cells = out.groupby("_parent")["cell_id"].transform("count")
    parent_pop = out["_parent"].map(pop).fillna(0.0)
    share = np.where(dw_sum > 0, dw / dw_sum.where(dw_sum > 0, 1), 1.0 / n_cells)
    out["population_estimate"] = (parent_pop * share).round(3)
    out.attrs["unallocated"] = float(pop[~pop.index.isin(out["_parent"].dropna().unique())].sum())
    return out.drop(columns="_parent")


def read_population_grid(
    path_1km: str | Path, path_100m: str | Path, clip: shapely.Geometry | None = None
) -> gpd.GeoDataFrame:
    """Both grids as one ``population_grid`` layer frame (1 km cells + 100 m cells with the estimate)."""
    g1 = read_1km(path_1km)
    g100 = read_100m(path_100m)
    g100 = estimate_population_100m(g1, g100)
    if clip is not None:
        g1, g100 = _inside(g1, clip), _inside(g100, clip)
        if g1.empty and g100.empty:
            raise FileFormatError(
                f"{Path(path_1km).name}, {Path(path_100m).name}: no cells of the grids lie in the municipality",
                hint="the grids of another area, or a grid in another CRS than it states (Zensus: EPSG:3035)")
    both = pd.concat([g1, g100], ignore_index=True)
    return gpd.GeoDataFrame(both, geometry=g1.geometry.name, crs=g1.crs)
