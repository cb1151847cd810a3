"""The web map at /map: MapLibre GL JS served by the API itself (no CDN), every collection as vector tiles,
a layer switcher, and the registry's own roads and buildings as the basemap when no external tile server is
configured (NETZATLAS_BASEMAP_URL) or reachable."""

from __future__ import annotations

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


@lru_cache(maxsize=4)
def _basemap(url: str | None) -> str | None:
    return url if basemap_reachable(url, timeout_s=1.5) else None


@router.get("/map", response_class=HTMLResponse, summary="Web map", include_in_schema=False)
def web_map(request: Request, state: ApiState = Depends(get_state)) -> HTMLResponse:
    config = {"base": base_url(request), "basemap_url": _basemap(get_settings().basemap_url),
              "geometry": {k: v.geometry_type for k, v in state.layers.items()}}
    html = (STATIC / "map.html").read_text().replace("__CONFIG__", json.dumps(config)).replace(
        "__ATTRIBUTION__", ATTRIBUTION)
    return HTMLResponse(html)


@router.get("/static/vendor/{name}", include_in_schema=False)
def vendor(name: str) -> FileResponse:
    path = (STATIC / "vendor" / name).resolve()
    if path.parent != (STATIC / "vendor").resolve() or not path.exists():
        raise NotFound(f"no static file {name}")
    return FileResponse(path, media_type=TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/results/mobile/{name}", include_in_schema=False)
def mobile_raster(name: str) -> FileResponse:
    """Download a coverage raster (Cloud-Optimized GeoTIFF) written by the mobile-coverage-holes process."""
    base = (get_settings().output_dir / "mobile").resolve()
    path = (base / name).resolve()
    if path.parent != base or path.suffix != ".tif" or not path.exists():
        raise NotFound(f"no coverage raster {name}")
    return FileResponse(path, media_type="image/tiff; application=geotiff; profile=cloud-optimized")
