"""HTML maps with folium, working offline: Leaflet's JS/CSS are copied next to the page, and when no
basemap tile server is configured or reachable the registry's own roads and buildings are the basemap.

folium does not escape tooltip values or layer names (Leaflet renders them as HTML): every value from data is
escaped here before folium sees it (``safe_html``), and the saved page carries a CSP that allows only its own
inline scripts."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import shapely

from netzatlas.reports.safe_html import add_hash_csp, escape_frame, origin_of, text

STATIC = Path(__file__).with_name("static")
ASSET_DIR = "assets"


@dataclass
class MapLayer:
    """One overlay: a GeoDataFrame with a style and the columns to show on hover."""

    name: str
    gdf: gpd.GeoDataFrame
    color: str = "#3366cc"
    radius: float = 4.0
    tooltip: tuple[str, ...] = ("name",)
    show: bool = True
    fill_opacity: float = 0.6
    weight: float = 1.0


class OfflineMap(folium.Map):
    """A folium map whose only scripts and styles are local files (no CDN)."""

    default_js = [("leaflet", f"{ASSET_DIR}/leaflet/leaflet.js")]
    default_css = [("leaflet_css", f"{ASSET_DIR}/leaflet/leaflet.css")]


def basemap_reachable(url: str | None, timeout_s: float = 2.0) -> bool:
    """True when an XYZ tile URL answers (tile 0/0/0)."""
    if not url:
        return False
    probe = url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0")
    try:
        with urllib.request.urlopen(probe, timeout=timeout_s) as resp:  # noqa: S310 - user-configured URL
            return resp.status == 200
    except Exception:
        return False


def _geojson(gdf: gpd.GeoDataFrame, columns: Iterable[str]) -> gpd.GeoDataFrame:
    keep = [c for c in columns if c in gdf.columns]
    out = gdf[keep + [gdf.geometry.name]].to_crs("EPSG:4326")
    out = out.set_geometry(shapely.set_precision(out.geometry.values, 1e-6))  # ~0.1 m: smaller pages
    for c in keep:
        out[c] = out[c].astype(object).where(out[c].notna(), "").astype(str)
    return escape_frame(out, keep)  # Leaflet shows tooltip values as HTML: data becomes text here


def add_layer(m: folium.Map, layer: MapLayer) -> None:
    """Points as circle markers, lines and polygons as styled vectors; hover shows the tooltip columns."""
    if layer.gdf is None or layer.gdf.empty:
        return
    data = _geojson(layer.gdf, layer.tooltip)
    tooltip = folium.GeoJsonTooltip(fields=list(c for c in layer.tooltip if c in data.columns)) \
        if any(c in data.columns for c in layer.tooltip) else None
    is_point = (data.geom_type == "Point").all()
    style = {"color": layer.color, "weight": layer.weight, "fillColor": layer.color,
             "fillOpacity": layer.fill_opacity, "opacity": 0.9}
    kwargs = {}
    if is_point:
        kwargs["marker"] = folium.CircleMarker(radius=layer.radius, color=layer.color, fill=True,
                                               fill_color=layer.color, fill_opacity=layer.fill_opacity, weight=1)
    folium.GeoJson(data, name=text(f"{layer.name} ({len(data):,})"), style_function=lambda _f, s=style: s,
                   tooltip=tooltip, show=layer.show, **kwargs).add_to(m)


def registry_basemap(m: folium.Map, roads: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame | None) -> None:
    """Draw the registry's own roads and buildings as the basemap (simplified to keep the page light)."""
    if buildings is not None and not buildings.empty:
        b = buildings.copy()
        b["geometry"] = b.geometry.simplify(1.0)
        folium.GeoJson(_geojson(b, []), name="Basemap: buildings", control=True,
                       style_function=lambda _f: {"color": "#b9b2a6", "weight": 0.3, "fillColor": "#d9d0c1",
                                                  "fillOpacity": 0.8}).add_to(m)
    if roads is not None and not roads.empty:
        r = roads.copy()
        r["geometry"] = r.geometry.simplify(1.0)
        folium.GeoJson(_geojson(r, []), name="Basemap: roads", control=True,
                       style_function=lambda _f: {"color": "#9a9a9a", "weight": 1.2}).add_to(m)


def make_map(
    layers: list[MapLayer],
    *,
    bounds_gdf: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    basemap_url: str | None = None,
    attribution: str = "",
    title: str | None = None,
) -> tuple[folium.Map, str]:
    """A layered offline map; returns it and which basemap was used ("tiles" or "registry")."""
    m = OfflineMap(location=[50.7753, 6.0839], zoom_start=13, tiles=None, control_scale=True)
    if basemap_reachable(basemap_url):
        folium.TileLayer(basemap_url, attr=attribution or "basemap", name="Basemap").add_to(m)
        used = "tiles"
    else:
        registry_basemap(m, roads, buildings)
        used = "registry"
    for layer in layers:
        add_layer(m, layer)
    folium.LayerControl(collapsed=False).add_to(m)
    if bounds_gdf is not None and not bounds_gdf.empty:
        minx, miny, maxx, maxy = bounds_gdf.to_crs("EPSG:4326").total_bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    html = (f"<div style='position:fixed;bottom:4px;left:4px;z-index:9999;background:white;padding:2px 6px;"
            f"font:11px sans-serif;opacity:.85'>{text(title + ' — ') if title else ''}{text(attribution)}</div>")
    m.get_root().html.add_child(folium.Element(html))
    return m, used


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write the page with its Content-Security-Policy and copy the local Leaflet assets beside it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    m.save(str(p))
    tiles = (origin_of(getattr(c, "tiles", None)) for c in m._children.values() if isinstance(c, folium.TileLayer))
    add_hash_csp(p, [o for o in tiles if o])
    target = p.parent / ASSET_DIR / "leaflet"
    if not target.exists():
        shutil.copytree(STATIC / "leaflet", target)
    return p
