"""The Aachen demo: every bundled real data set into the registry, a summary, and an offline HTML map.

Each source is imported in its own transaction through the normal importers. A source whose files are
unchanged since its last successful import (same SHA-256, same reader version) is skipped, so a second
run is fast and changes nothing; ``force=True`` re-imports (which, being idempotent, still changes nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import psycopg

from netzatlas.config import AACHEN_ARS, DATA_DIR, ags, get_settings
from netzatlas.errors import InvalidParameter
from netzatlas.registry.db import ASSET_LAYERS, REFERENCE_LAYERS, catalogue, connect
from netzatlas.registry.importers.load import ImportReport, load_layers

if TYPE_CHECKING:
    from netzatlas.reports.maps import MapLayer

READER_VERSION = "1"
AACHEN = DATA_DIR / "aachen"
OSM_FILE = AACHEN / "osm" / "aachen-2021-08-01.osm.pbf"
REGISTER_FILE = AACHEN / "ladesaeulenregister" / "Ladesaeulenkarte_Datenbankauszug_25__2019-07-19.xlsx"
BOUNDARY_FILE = AACHEN / "boundaries" / "aachen_stadtgrenze_vg250_simplified.geojson"
ZENSUS_1KM = AACHEN / "zensus2011" / "zensus2011_1km_aachen.gpkg"
ZENSUS_100M = AACHEN / "zensus2011" / "zensus2011_100m_aachen_buildings_dwellings.gpkg"

ATTRIBUTION = ("© OpenStreetMap contributors (ODbL) · Zensus 2011 © Statistische Ämter des Bundes und der Länder "
               "(dl-de/by-2-0) · VG250 © GeoBasis-DE / BKG · Ladesäulenregister der Bundesnetzagentur (CC BY 4.0)")

Step = Callable[[str, float, float], None]


@dataclass
class SourceResult:
    source: str
    skipped: bool
    report: ImportReport | None = None
    note: str = ""


@dataclass
class DemoResult:
    sources: list[SourceResult] = field(default_factory=list)
    summary: list[dict[str, object]] = field(default_factory=list)
    links: int = 0
    map_path: Path | None = None
    basemap: str = ""


def file_digest(*paths: Path) -> str:
    h = hashlib.sha256(READER_VERSION.encode())
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _already_imported(url: str, source: str, digest: str) -> str | None:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT id FROM audit.batch WHERE source = %s AND finished_at IS NOT NULL AND details->>'sha256' = %s "
            "ORDER BY started_at DESC LIMIT 1", [source, digest]).fetchone()
    return row["id"] if row else None


def _boundary_4326() -> gpd.GeoDataFrame:
    from netzatlas.registry.importers.boundary import read_boundary

    return read_boundary(BOUNDARY_FILE).to_crs("EPSG:4326")


def _sources(boundary: gpd.GeoDataFrame) -> list[tuple[str, list[Path], str, str | None, Callable[[], dict]]]:
    """(source name, files, batch kind, owner org, reader returning {layer: frame})."""
    from netzatlas.registry.importers import boundary as bnd
    from netzatlas.registry.importers import charging_register, osm, zensus

    clip = boundary.geometry.union_all()
    return [
        ("vg250", [BOUNDARY_FILE], "boundary", "city", lambda: {"municipality": bnd.read_boundary(BOUNDARY_FILE)}),
        ("osm", [OSM_FILE], "osm", "osm", lambda: osm.read_osm(OSM_FILE)),
        ("bnetza-ladesaeulenregister-2019", [REGISTER_FILE], "charging-register", "bnetza",
         lambda: {"charging_point": charging_register.read_charging_register(REGISTER_FILE, clip=clip)}),
        ("zensus2011", [ZENSUS_1KM, ZENSUS_100M], "zensus", "city",
         lambda: {"population_grid": zensus.read_population_grid(ZENSUS_1KM, ZENSUS_100M, clip=clip)}),
    ]


def import_all(url: str, *, force: bool = False, step: Step | None = None) -> list[SourceResult]:
    """Import every bundled source (one transaction each); skip sources unchanged since their last import."""
    out: list[SourceResult] = []
    sources = _sources(_boundary_4326())
    for i, (name, files, kind, owner, reader) in enumerate(sources):
        digest = file_digest(*files)
        done = None if force else _already_imported(url, name, digest)
        if step:
            step(f"{'checking' if done else 'importing'} {name}", i, len(sources))
        if done:
            out.append(SourceResult(name, True, note=f"unchanged since batch {done}"))
            continue
        layers = reader()
        report = load_layers(layers, source=name, kind=kind, url=url, owner_org=owner, repair=(name == "osm"),
                             skip_invalid=(name == "osm"), label=", ".join(p.name for p in files),
                             details={"sha256": digest, "files": [p.name for p in files]},
                             after=_charger_units(name) if "charging_point" in layers else None)
        out.append(SourceResult(name, False, report))
    if step:
        step("imports done", len(sources), len(sources))
    return out


def _charger_units(source: str) -> Callable[[psycopg.Connection], list[str]]:
    """The stations' EVSEs and connectors (OCPI shape, docs/ocpi.md), in the import's transaction."""

    def derive(conn: psycopg.Connection) -> list[str]:
        from netzatlas.registry.ocpi_store import derive_from_stations

        r = derive_from_stations(conn, source)
        return [f"EVSEs / connectors (OCPI shape): {r.evses} EVSEs and {r.connectors} connectors written"]

    return derive


def conflate_charging(url: str) -> int:
    """Link OSM charging stations and register entries that describe the same station (kept in asset_link)."""
    from netzatlas.registry.exporters.files import read_layer
    from netzatlas.registry.importers.conflation import conflate

    with connect(url) as conn:
        layer = catalogue(conn)["charging_point"]
        gdf = read_layer(conn, layer)
        a = gdf[gdf.source == "osm"]
        b = gdf[gdf.source.str.startswith("bnetza")]
        if a.empty or b.empty:
            return 0
        links = conflate(a, b)
        ids_a = dict(zip(a.external_id, a.id, strict=True))
        ids_b = dict(zip(b.external_id, b.id, strict=True))
        with conn.transaction():
            for link in links.itertuples():
                conn.execute(
                    "INSERT INTO registry.asset_link (table_name, id_a, id_b, method, distance_m, details) "
                    "VALUES ('registry.charging_point', %s, %s, %s, %s, %s) "
                    "ON CONFLICT (table_name, id_a, id_b) DO NOTHING",
                    [ids_a[link.external_id_a], ids_b[link.external_id_b], link.method, float(link.distance_m),
                     psycopg.types.json.Jsonb({"operator_match": bool(link.operator_match)})])
        n = conn.execute("SELECT count(*) AS n FROM registry.asset_link WHERE table_name = 'registry.charging_point'"
                         ).fetchone()["n"]
    return int(n)


def summary(url: str) -> list[dict[str, object]]:
    """Counts per layer and source (live rows), plus the history size."""
    rows: list[dict[str, object]] = []
    with connect(url) as conn:
        for name in ASSET_LAYERS + REFERENCE_LAYERS:
            for r in conn.execute(
                f"SELECT source, count(*) AS n FROM registry.{name} WHERE deleted_at IS NULL GROUP BY source "
                "ORDER BY source").fetchall():
                kind = "asset" if name in ASSET_LAYERS else "reference"
                rows.append({"layer": name, "kind": kind, "source": r["source"], "features": r["n"]})
    return rows


#: the demo map's overlays: layer → (tooltip columns, shown at start); colours, sizes, classes and legend labels
#: come from the shared cartography (``netzatlas/cartography.json``), as on the web map and the report maps
DEMO_LAYERS: dict[str, tuple[tuple[str, ...], bool]] = {
    "fibre_address": (("street", "house_number", "house_number_suffix", "status"), False),
    "streetlight": (("name", "height_m", "lamp_type", "status"), True),
    "charging_point": (("name", "operator", "charge_points", "power_kw", "source", "status"), True),
    "mobile_site": (("name", "site_type", "operator", "height_m", "status"), True),
    "wlan_hotspot": (("name", "operator", "ssid", "status"), True),
    "poi": (("name", "category"), False),
}


def map_layers(frames: dict[str, gpd.GeoDataFrame]) -> list[MapLayer]:
    """The demo map's layers from the registry's frames (layer name → GeoDataFrame), each styled by the shared
    cartography (status classes coloured and listed in the legend); the municipal boundary first."""
    from netzatlas.reports.maps import MapLayer

    layers = [MapLayer.styled(name, frames[name], tooltip=tooltip, show=show)
              for name, (tooltip, show) in DEMO_LAYERS.items()]
    muni = frames.get("municipality")
    if muni is not None and not muni.empty:
        layers.insert(0, MapLayer.styled("municipality", muni, tooltip=("name",)))
    return layers


def write_map(url: str, path: Path) -> tuple[Path, str]:
    from netzatlas.registry.exporters.files import read_layer
    from netzatlas.reports.maps import make_map, save_map

    with connect(url) as conn:
        cat = catalogue(conn)
        frames = {name: read_layer(conn, cat[name]) for name in (*DEMO_LAYERS, "road", "building", "municipality")}
    muni = frames["municipality"]
    m, used = make_map(map_layers(frames), bounds_gdf=frames["poi"] if not frames["poi"].empty else muni,
                       roads=frames["road"], buildings=frames["building"], basemap_url=get_settings().basemap_url,
                       attribution=ATTRIBUTION, title="netzatlas registry")
    return save_map(m, path), used


def check_demo_municipality() -> None:
    """Refuse the demo when another municipality is configured: its data are Aachen's, which the location check of
    another city rejects (or, worse, would mix into that city's registry)."""
    s = get_settings()
    if s.municipality_ars in (AACHEN_ARS, ags(AACHEN_ARS)):
        return
    raise InvalidParameter(
        f"the demo imports the bundled data of Aachen, but the configured municipality is {s.municipality_name} "
        f"(NETZATLAS_MUNICIPALITY_ARS={s.municipality_ars or 'unset'}, NETZATLAS_MUNICIPALITY_BOUNDARY="
        f"{s.municipality_boundary}); nothing was imported",
        hint="run the demo without those settings (and with its own NETZATLAS_HOME or database); import your city's "
             "data with `netzatlas import boundary|file|osm|zensus|charging-register` (README: Everyday use)")


def run_demo(*, force: bool = False, step: Step | None = None, url: str | None = None) -> DemoResult:
    """Start the embedded database (unless NETZATLAS_DATABASE_URL), migrate, import, summarise, draw the map."""
    from netzatlas.registry import migrate
    from netzatlas.registry.db import resolve_url

    check_demo_municipality()
    url = url or resolve_url()
    migrate.upgrade(url)
    result = DemoResult()
    result.sources = import_all(url, force=force, step=step)
    result.links = conflate_charging(url)
    result.summary = summary(url)
    out = get_settings().output_dir / "demo" / "registry_map.html"
    stamp = out.with_suffix(".seq")
    with connect(url) as conn:
        seq = str(conn.execute("SELECT coalesce(max(seq), 0) AS s FROM audit.change").fetchone()["s"])
    if out.exists() and stamp.exists() and stamp.read_text() == seq and not force:
        result.map_path, result.basemap = out, "unchanged"
        return result
    result.map_path, result.basemap = write_map(url, out)
    stamp.write_text(seq)
    return result
