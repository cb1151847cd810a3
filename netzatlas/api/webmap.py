"""The web map at /map: MapLibre GL JS served by the API itself (no CDN), every collection as vector tiles,
a layer switcher, and the registry's own roads and buildings as the basemap when no external tile server is
configured (NETZATLAS_BASEMAP_URL) or reachable; and the API documentation at /docs (Swagger UI, also served
from the package). Both pages are static HTML whose code is in static JS files (no inline script), so they work
under the Content-Security-Policy that ``api/headers.py`` sends with every response."""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse

from netzatlas.api.deps import get_state
from netzatlas.api.features import base_url
from netzatlas.api.state import ApiState
from netzatlas.config import get_settings
from netzatlas.errors import NotFound
from netzatlas.reports.maps import basemap_reachable

router = APIRouter()
STATIC = Path(__file__).with_name("static")
ATTRIBUTION = ("© OpenStreetMap contributors (ODbL) · Zensus 2011 © Statistische Ämter des Bundes und der Länder · "
               "VG250 © GeoBasis-DE / BKG · Ladesäulenregister © Bundesnetzagentur (CC BY 4.0) · MapLibre GL JS")
TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}
#: The pages' own scripts and styles (static/*.js, *.css), looked up by name: no path is built from the request.
PAGE_ASSETS = {p.name: p for p in STATIC.iterdir() if p.suffix in (".js", ".css")}


@lru_cache(maxsize=4)
def _basemap(url: str | None) -> str | None:
    return url if basemap_reachable(url, timeout_s=1.5) else None


def municipality_view(state: ApiState) -> dict[str, object]:
    """Where the map opens: the configured municipality (its row in the registry, else the boundary file of the
    settings) as ``bounds`` [west, south, east, north] and ``center`` [lon, lat] in WGS84; empty when neither is
    known."""
    s = get_settings()
    with state.pool.connection() as conn:
        row = conn.execute(
            "SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT "
            "ST_Extent(ST_Transform(geom, 4326)) AS e FROM registry.municipality WHERE deleted_at IS NULL AND "
            "(ars = %s OR (length(ars) = 12 AND left(ars, 5) || right(ars, 3) = %s))) x",
            [s.municipality_ars or "", s.municipality_ags or ""]).fetchone()
    bounds = [row["w"], row["s"], row["e"], row["n"]] if row and row["w"] is not None else None
    if bounds is None:
        from netzatlas.registry.importers.load import municipality_boundary_4326

        shape = municipality_boundary_4326()
        bounds = list(shape.bounds) if shape is not None and not shape.is_empty else None
    if bounds is None:
        return {}
    bounds = [round(float(v), 6) for v in bounds]
    return {"bounds": bounds, "center": [round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6)],
            "municipality": s.municipality_name}


@router.get("/map", response_class=HTMLResponse, summary="Web map", include_in_schema=False)
def web_map(request: Request, state: ApiState = Depends(get_state)) -> HTMLResponse:
    config = {"base": base_url(request), "basemap_url": _basemap(get_settings().basemap_url),
              "geometry": {k: v.geometry_type for k, v in state.layers.items()}, **municipality_view(state)}
    page = (STATIC / "map.html").read_text().replace("__CONFIG__", json_for_html(config)).replace(
        "__ATTRIBUTION__", html.escape(ATTRIBUTION))
    return HTMLResponse(page)


def json_for_html(value: object) -> str:
    """JSON that is safe inside an HTML ``<script type="application/json">`` block (no ``</script>`` breakout)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@router.get("/docs", response_class=HTMLResponse, summary="API documentation", include_in_schema=False)
def api_docs() -> HTMLResponse:
    """Swagger UI for the OpenAPI document at /api, its assets served from the package (works offline)."""
    return HTMLResponse((STATIC / "docs.html").read_text())


@router.get("/static/{name}", include_in_schema=False)
def page_asset(name: str) -> FileResponse:
    """The pages' own scripts and styles (map.js, map.css, docs.js)."""
    path = PAGE_ASSETS.get(name)
    if path is None:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(path, media_type=TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


def file_in(folder: Path, name: str, suffix: str | None = None) -> Path | None:
    """The file ``name`` directly inside ``folder`` (with that suffix), else None.

    None also for names no file can have here (a NUL byte, '..', too long), which the file system would answer
    with an error, not with "no such file".
    """
    if not name or "\x00" in name or len(name) > 255:
        return None
    try:
        base = folder.resolve()
        path = (base / name).resolve()
        found = path.parent == base and path.is_file()
    except (OSError, ValueError):
        return None
    return path if found and (suffix is None or path.suffix == suffix) else None


@router.get("/static/vendor/{name}", include_in_schema=False)
def vendor(name: str) -> FileResponse:
    path = file_in(STATIC / "vendor", name)
    if path is None:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/results/mobile/{name}", include_in_schema=False)
def mobile_raster(name: str) -> FileResponse:
    """Download a coverage raster (Cloud-Optimized GeoTIFF) written by the mobile-coverage-holes process."""
    path = file_in(get_settings().output_dir / "mobile", name, ".tif")
    if path is None:
        raise NotFound(f"no coverage raster {name!r}")
    return FileResponse(path, media_type="image/tiff; application=geotiff; profile=cloud-optimized")
