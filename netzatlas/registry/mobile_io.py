"""Registry side of the mobile-site analyses: sectors, the surface, the incremental coverage run, mast requests."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
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
from netzatlas.registry import result_runs

TABLES = ("registry.mobile_site", "registry.mobile_sector")


def demo_surface(conn: psycopg.Connection, resolution: float = 10.0) -> Surface:
    """Terrain and surface: NETZATLAS_SURFACE (a DSM GeoTIFF) when set, else the registry's buildings on the
    terrain; the terrain from NETZATLAS_TERRAIN (DGM tiles: GeoTIFF or XYZ files or folders, separated by the path
    separator) resampled to the run's grid, else flat (and every output says "terrain assumed flat")."""
    import os

    terrain = [p for p in os.environ.get("NETZATLAS_TERRAIN", "").split(os.pathsep) if p] or None
    if os.environ.get("NETZATLAS_SURFACE"):
        from netzatlas.coverage.surface import read_surface

        return read_surface(os.environ["NETZATLAS_SURFACE"], terrain)
    b = ai.layer(conn, "building")
    if b.empty:
        from netzatlas.errors import InvalidInput

        raise InvalidInput("the registry holds no buildings to build the surface from",
                           hint="import buildings (netzatlas import osm) or give a surface raster")
    if terrain:
        from netzatlas.coverage.surface import grid, terrain_on_grid

        transform, shape = grid(tuple(b.total_bounds), resolution)
        dtm, note = terrain_on_grid(terrain, transform, shape, str(b.crs))
        return buildings_surface(b, resolution=resolution, terrain=dtm, terrain_note=note)
    return buildings_surface(b, resolution=resolution)


def surface_key(surface: Surface) -> str:
    from netzatlas.mobile_sites.run import ENGINE_VERSION

    h = hashlib.sha1(surface.dsm.astype(np.float32).tobytes())
    h.update(str(tuple(surface.transform)).encode())
    if surface.dtm is not None:
        h.update(surface.dtm.astype(np.float32).tobytes())
    h.update(ENGINE_VERSION.encode())
    return h.hexdigest()[:12]


def duplicate_site_pairs(conn: psycopg.Connection, sites: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Pairs (id_a duplicates id_b): linked in asset_link, or found now by ``sites.duplicate_sites``."""
    from netzatlas.mobile_sites.sites import duplicate_sites

    sites = ai.layer(conn, "mobile_site") if sites is None else sites
    linked = pd.DataFrame(conn.execute("SELECT id_a::text AS id_a, id_b::text AS id_b FROM registry.asset_link "
                                       "WHERE table_name = 'registry.mobile_site'").fetchall(),
                          columns=["id_a", "id_b"])
    found = duplicate_sites(sites)[["id_a", "id_b"]]
    both = pd.concat([linked, found], ignore_index=True).drop_duplicates("id_a")
    return both[~both["id_b"].isin(set(both["id_a"]))]


def link_duplicate_sites(conn: psycopg.Connection) -> int:
    """Link duplicate mobile sites (like the chargers' conflation) in registry.asset_link; returns the links."""
    from netzatlas.mobile_sites.sites import duplicate_sites

    for link in duplicate_sites(ai.layer(conn, "mobile_site")).itertuples():
        conn.execute("INSERT INTO registry.asset_link (table_name, id_a, id_b, method, distance_m, details) "
                     "VALUES ('registry.mobile_site', %s, %s, %s, %s, '{}') ON CONFLICT (table_name, id_a, id_b) "
                     "DO NOTHING", [link.id_a, link.id_b, link.method, link.distance_m])
    return int(conn.execute("SELECT count(*) AS n FROM registry.asset_link WHERE table_name = "
                            "'registry.mobile_site'").fetchone()["n"])


def sectors(conn: psycopg.Connection, notes: list[str] | None = None) -> list:
    """The public sites' sectors (non-public networks and duplicates left out; ``notes`` gets what was done)."""
    from netzatlas.mobile_sites.sites import site_summary

    sites = ai.layer(conn, "mobile_site")
    dupes = duplicate_site_pairs(conn, sites)
    sec = pd.DataFrame(conn.execute("SELECT site_id::text AS site_id, operator, technology, band_mhz, height_m, "
                                    "azimuth_deg, tilt_deg, eirp_dbm FROM registry.mobile_sector "
                                    "WHERE deleted_at IS NULL").fetchall(),
                       columns=["site_id", "operator", "technology", "band_mhz", "height_m", "azimuth_deg",
                                "tilt_deg", "eirp_dbm"])
    if notes is not None:
        notes += site_summary(sites, dupes)
    return sectors_from_registry(sites, sec, dupes)


@dataclass(frozen=True)
class ChangeMark:
    """What a run has seen of the change table: the snapshot it took before reading its inputs, the last change
    visible in that snapshot, and the run's own transaction (if it had written already).

    A change is "since the mark" when its transaction was still running (or not yet started) in the snapshot, or
    when it was written after the mark by the transaction that took it (that transaction counts as running in
    its own snapshot, so it is told apart by its id and the sequence). A sequence number alone is not enough: a
    transaction that wrote first (smaller numbers) may commit after the mark was taken, and would be missed.
    """

    snapshot: str  # pg_snapshot as text: xmin:xmax:xip,…
    seq: int
    xact: int | None = None

    def to_json(self) -> dict:
        return {"snapshot": self.snapshot, "seq": self.seq, "xact": self.xact}

    @classmethod
    def from_json(cls, doc: object) -> ChangeMark | None:
        """The mark stored by a run; None for none, a mark of an older version (a bare sequence) or a bad one."""
        if not isinstance(doc, dict) or not isinstance(doc.get("seq"), int) \
                or not isinstance(doc.get("snapshot"), str) or not _SNAPSHOT.match(doc["snapshot"]) \
                or not isinstance(doc.get("xact"), int | None):
            return None
        return cls(doc["snapshot"], doc["seq"], doc.get("xact"))


_SNAPSHOT = re.compile(r"^\d+:\d+:(\d+(,\d+)*)?$")


def change_mark(conn: psycopg.Connection) -> ChangeMark:
    """The mark of now: take it before reading the inputs (snapshot and last change in one statement)."""
    row = conn.execute("SELECT pg_current_snapshot()::text AS snapshot, coalesce(max(seq), 0) AS seq, "
                       "pg_current_xact_id_if_assigned()::text AS xact FROM audit.change").fetchone()
    return ChangeMark(row["snapshot"], int(row["seq"]), None if row["xact"] is None else int(row["xact"]))


def changed_sites_since(conn: psycopg.Connection, mark: ChangeMark) -> set[str]:
    """Sites whose row or sectors changed after ``mark`` (a moved sector marks the site it left and the one it
    joined), whenever their transactions committed."""
    rows = conn.execute(
        "SELECT table_name, row_id::text AS row_id, audit.after_state(c)->>'site_id' AS site_after, "
        "before->>'site_id' AS site_before FROM audit.change c WHERE table_name = ANY(%(t)s) "
        "AND (c.seq > %(seq)s OR c.xact >= pg_snapshot_xmin(%(snap)s::pg_snapshot)) "
        "AND (c.seq > %(seq)s OR (NOT pg_visible_in_snapshot(c.xact, %(snap)s::pg_snapshot) "
        "                         AND c.xact IS DISTINCT FROM %(own)s::xid8))",
        {"t": list(TABLES), "seq": mark.seq, "snap": mark.snapshot,
         "own": None if mark.xact is None else str(mark.xact)}).fetchall()
    out: set[str] = set()
    for r in rows:
        if r["table_name"] == "registry.mobile_site":
            out.add(r["row_id"])
        else:
            out.update(s for s in (r["site_after"], r["site_before"]) if s)
    return out


def incremental_run(conn: psycopg.Connection, resolution: float = 10.0, progress=None  # noqa: ANN001
                    ) -> tuple[CoverageRun, Surface, Path]:
    """Run coverage, recomputing only the sites changed since the last run on the same surface."""
    surface = demo_surface(conn, resolution)
    base = get_settings().output_dir / "mobile"
    cache = base / f"cache-{surface_key(surface)}"
    state_file = base / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    mark_now = change_mark(conn)
    last = ChangeMark.from_json(state.get("mark"))
    changed = None  # None: every site (no cache, another surface, or a mark of an older version)
    if state.get("cache") == cache.name and last is not None:
        changed = changed_sites_since(conn, last)
    site_notes: list[str] = []
    run = run_coverage(sectors(conn, site_notes), surface, cache, changed, progress)
    run.assumptions += site_notes
    base.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"mark": mark_now.to_json(), "cache": cache.name}))
    return run, surface, base


def current_best(run: CoverageRun) -> np.ndarray:
    return np.max(np.stack(list(run.rasters.values())), axis=0) if run.rasters else None  # type: ignore[return-value]


def candidates(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    """Candidate layers for a mast request: city-offered sites (the city's property), public buildings (OSM POIs:
    ownership not known), streetlights, existing masts (public networks); with the heritage flag (OSM ``historic``
    / ``heritage``), named by building name / address / street (``mast_request.label_candidates``)."""
    from netzatlas.mobile_sites.mast_request import heritage_flag, label_candidates
    from netzatlas.mobile_sites.sites import PUBLIC, classify_sites

    cols = ["kind", "external_id", "name", "height_m", "city_property", "heritage", "geometry"]
    parts = []
    cs = ai.layer(conn, "candidate_site")
    if len(cs):
        parts.append(cs.assign(kind="candidate_site", city_property=True,
                               heritage=[heritage_flag(p) for p in cs["properties"]])[cols])
    pois = ai.layer(conn, "poi")
    pb = pois[pois["category"].isin(["townhall", "public_building", "library", "cultural_venue"])]
    parts.append(pb.assign(kind="public_building", height_m=np.nan, city_property=False,
                           heritage=[heritage_flag(p) for p in pb["properties"]])[cols])
    sl = ai.layer(conn, "streetlight")
    parts.append(sl.assign(kind="streetlight", city_property=False, heritage=False)[cols])
    ms = classify_sites(ai.layer(conn, "mobile_site"))
    ms = ms[ms["network"] == PUBLIC]
    parts.append(ms.assign(kind="existing_mast", city_property=False,
                           heritage=[heritage_flag(p) for p in ms["properties"]])[cols])
    crs = parts[0].crs
    out = gpd.GeoDataFrame(pd.concat([p.to_crs(crs) for p in parts], ignore_index=True), crs=crs)
    return label_candidates(out, ai.layer(conn, "fibre_address"), ai.layer(conn, "road"))


def store_holes(conn: psycopg.Connection, run: CoverageRun, surface: Surface, threshold: float,
                cells: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame, run_id: str = "latest",
                high_loss_share: float | None = None) -> gpd.GeoDataFrame:
    """Outdoor and indoor holes per operator and technology (``coverage`` column), kept in registry.coverage_hole
    (served as coverage_hole_result) with the run's assumptions."""
    from netzatlas.coverage.gaps import holes
    from netzatlas.coverage.signal import coverage_views

    frames = []
    for (op, tech), raster in run.rasters.items():
        for view, (rsrp, valid) in coverage_views(raster, surface, run.frequencies.get((op, tech), 1800.0),
                                                  high_loss_share).items():
            h = holes(rsrp, surface.transform, surface.crs, threshold, cells, addresses, min_people=1, valid=valid)
            frames.append(h.assign(operator=op, technology=tech, coverage=view))
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=surface.crs) if frames else \
        gpd.GeoDataFrame({"hole": [], "coverage": []}, geometry=[], crs=surface.crs)
    out["assumptions"] = " | ".join(run.assumptions)
    conn.execute("DELETE FROM registry.coverage_hole WHERE run_id = %s", [run_id])
    for r in out.itertuples():
        conn.execute("INSERT INTO registry.coverage_hole (run_id, operator, technology, coverage, hole, "
                     "threshold_dbm, people, addresses, area_ha, assumptions, geom) VALUES "
                     "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s, ST_Multi(ST_GeomFromText(%s, %s)))",
                     [run_id, r.operator, r.technology, r.coverage, int(r.hole), threshold, float(r.people),
                      int(r.addresses), float(r.area_ha), r.assumptions, r.geometry.wkt,
                      int(surface.crs.split(":")[-1])])
    result_runs.record_holes(conn, run_id)  # who replaced the holes, and what they were (registry/result_runs.py)
    return out
