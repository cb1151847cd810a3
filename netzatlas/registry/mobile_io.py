"""Registry side of the mobile-site analyses: sectors, the surface, the incremental coverage run, mast requests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg

from netzatlas.config import get_settings
from netzatlas.coverage.surface import Surface, buildings_surface
from netzatlas.mobile_sites.run import CoverageRun, run_coverage
from netzatlas.mobile_sites.sites import sectors_from_registry
from netzatlas.registry import analysis_inputs as ai

TABLES = ("registry.mobile_site", "registry.mobile_sector")


def demo_surface(conn: psycopg.Connection, resolution: float = 10.0) -> Surface:
    """The surface: NETZATLAS_SURFACE (a DSM GeoTIFF) when set, else the registry's buildings on flat terrain."""
    import os

    if os.environ.get("NETZATLAS_SURFACE"):
        from netzatlas.coverage.surface import read_surface

        return read_surface(os.environ["NETZATLAS_SURFACE"])
    b = ai.layer(conn, "building")
    if b.empty:
        from netzatlas.errors import InvalidInput

        raise InvalidInput("the registry holds no buildings to build the surface from",
                           hint="import buildings (netzatlas import osm) or give a surface raster")
    return buildings_surface(b, resolution=resolution)


def surface_key(surface: Surface) -> str:
    h = hashlib.sha1(surface.dsm.astype(np.float32).tobytes())
    h.update(str(tuple(surface.transform)).encode())
    return h.hexdigest()[:12]


def sectors(conn: psycopg.Connection) -> list:
    sites = ai.layer(conn, "mobile_site")
    sec = pd.DataFrame(conn.execute("SELECT site_id::text AS site_id, operator, technology, band_mhz, height_m, "
                                    "azimuth_deg, tilt_deg, eirp_dbm FROM registry.mobile_sector "
                                    "WHERE deleted_at IS NULL").fetchall(),
                       columns=["site_id", "operator", "technology", "band_mhz", "height_m", "azimuth_deg",
                                "tilt_deg", "eirp_dbm"])
    return sectors_from_registry(sites, sec)


def changed_sites_since(conn: psycopg.Connection, seq: int) -> set[str]:
    """Sites whose row or sectors changed after ``seq`` (a moved sector marks the site it left and the one it
    joined)."""
    rows = conn.execute(
        "SELECT table_name, row_id::text AS row_id, audit.after_state(c)->>'site_id' AS site_after, "
        "before->>'site_id' AS site_before FROM audit.change c WHERE seq > %s AND table_name = ANY(%s)",
        [seq, list(TABLES)]).fetchall()
    out: set[str] = set()
    for r in rows:
        if r["table_name"] == "registry.mobile_site":
            out.add(r["row_id"])
        else:
            out.update(s for s in (r["site_after"], r["site_before"]) if s)
    return out


def max_seq(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(seq), 0) AS s FROM audit.change").fetchone()["s"])


def incremental_run(conn: psycopg.Connection, resolution: float = 10.0, progress=None  # noqa: ANN001
                    ) -> tuple[CoverageRun, Surface, Path]:
    """Run coverage, recomputing only the sites changed since the last run on the same surface."""
    surface = demo_surface(conn, resolution)
    base = get_settings().output_dir / "mobile"
    cache = base / f"cache-{surface_key(surface)}"
    state_file = base / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    seq_now = max_seq(conn)
    changed = None
    if state.get("cache") == cache.name:
        changed = changed_sites_since(conn, int(state.get("last_seq", 0)))
    run = run_coverage(sectors(conn), surface, cache, changed, progress)
    base.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"last_seq": seq_now, "cache": cache.name}))
    return run, surface, base


def current_best(run: CoverageRun) -> np.ndarray:
    return np.max(np.stack(list(run.rasters.values())), axis=0) if run.rasters else None  # type: ignore[return-value]


def candidates(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    """Candidate layers for a mast request: city-offered sites, public buildings, streetlights, existing masts."""
    parts = []
    cs = ai.layer(conn, "candidate_site")
    if len(cs):
        parts.append(cs.assign(kind="candidate_site")[["kind", "external_id", "name", "height_m", "geometry"]])
    pois = ai.layer(conn, "poi")
    pb = pois[pois["category"].isin(["townhall", "public_building", "library", "cultural_venue"])]
    parts.append(pb.assign(kind="public_building", height_m=np.nan)[["kind", "external_id", "name", "height_m",
                                                                      "geometry"]])
    sl = ai.layer(conn, "streetlight")
    parts.append(sl.assign(kind="streetlight")[["kind", "external_id", "name", "height_m", "geometry"]])
    ms = ai.layer(conn, "mobile_site")
    parts.append(ms.assign(kind="existing_mast")[["kind", "external_id", "name", "height_m", "geometry"]])
    crs = parts[0].crs
    return gpd.GeoDataFrame(pd.concat([p.to_crs(crs) for p in parts], ignore_index=True), crs=crs)


def store_holes(conn: psycopg.Connection, run: CoverageRun, surface: Surface, threshold: float,
                cells: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame, run_id: str = "latest") -> gpd.GeoDataFrame:
    """Holes per operator and technology, kept in registry.coverage_hole (served as coverage_hole_result)."""
    from netzatlas.coverage.gaps import holes

    frames = []
    for (op, tech), raster in run.rasters.items():
        h = holes(raster, surface.transform, surface.crs, threshold, cells, addresses, min_people=1)
        frames.append(h.assign(operator=op, technology=tech))
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=surface.crs) if frames else \
        gpd.GeoDataFrame({"hole": []}, geometry=[], crs=surface.crs)
    conn.execute("DELETE FROM registry.coverage_hole WHERE run_id = %s", [run_id])
    for r in out.itertuples():
        conn.execute("INSERT INTO registry.coverage_hole (run_id, operator, technology, hole, threshold_dbm, people, "
                     "addresses, area_ha, geom) VALUES (%s,%s,%s,%s,%s,%s,%s,%s, ST_Multi(ST_GeomFromText(%s, %s)))",
                     [run_id, r.operator, r.technology, int(r.hole), threshold, float(r.people), int(r.addresses),
                      float(r.area_ha), r.geometry.wkt, int(surface.crs.split(":")[-1])])
    return out
