"""HTML maps with folium, working offline: Leaflet's JS/CSS are copied next to the page, and when no
basemap tile server is configured or reachable the registry's own roads and buildings are the basemap (clipped to
the map's view). Every map has a metric scale, a legend and an initial view fitted to its data; colours and labels
come from the shared cartography (``netzatlas/cartography.json``), the same as the web map's and QGIS's.

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
from branca.element import MacroElement
from jinja2 import Template

from netzatlas.cartography import Style, style
from netzatlas.reports.safe_html import add_hash_csp, escape_frame, origin_of, text

STATIC = Path(__file__).with_name("static")
ASSET_DIR = "assets"
#: a report map draws the registry's buildings only up to this many in its view (roads always): keeps pages light
MAX_BASEMAP_BUILDINGS = 6000


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
    #: the shared style (cartography): colour, and per-feature class colours when it is categorized
    carto: Style | None = None

    @classmethod
    def styled(cls, key: str, gdf: gpd.GeoDataFrame, *, name: str | None = None, tooltip: tuple[str, ...] = ("name",),
               show: bool = True, radius: float | None = None) -> MapLayer:
        """A layer drawn as the cartography's ``key`` (``wifi_priority``, ``new_site``, ``gigabit_result`` …)."""
        st = style(key)
        return cls(name or st.label, gdf, color=st.color, radius=radius or max(3.0, st.size * 1.6), tooltip=tooltip,
                   show=show, fill_opacity=st.fill_opacity if st.geometry == "polygon" else 0.9,
                   weight=2.0 if st.geometry != "point" else 1.0, carto=st)

    def color_of(self, props: dict) -> str:
        st = self.carto
        if st is None or not st.classes or not st.attribute:
            return self.color
        return st.color_of(props.get(st.attribute))


class MetricScale(MacroElement):
    """Leaflet's scale control in metres only (no feet or miles)."""

    _template = Template("""{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}""")


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
    """Points as circle markers, lines and polygons as styled vectors; hover shows the tooltip columns; a
    categorized style colours each feature by its class."""
    if layer.gdf is None or layer.gdf.empty:
        return
    cat = layer.carto.attribute if layer.carto is not None and layer.carto.classes else None
    data = _geojson(layer.gdf, tuple(dict.fromkeys((*layer.tooltip, *((cat,) if cat else ())))))
    tooltip = folium.GeoJsonTooltip(fields=list(c for c in layer.tooltip if c in data.columns)) \
        if any(c in data.columns for c in layer.tooltip) else None
    is_point = (data.geom_type == "Point").all()
    outline = layer.carto.outline if layer.carto is not None and layer.carto.outline else None

    def style_fn(feature: dict, lyr: MapLayer = layer) -> dict:
        color = lyr.color_of(feature.get("properties") or {})
        return {"color": outline or (color if not is_point else "#333333"), "weight": lyr.weight,
                "fillColor": color, "fillOpacity": lyr.fill_opacity, "opacity": 0.9}

    kwargs = {}
    if is_point:
        kwargs["marker"] = folium.CircleMarker(radius=layer.radius, color="#333333", fill=True,
                                               fill_color=layer.color, fill_opacity=layer.fill_opacity, weight=1)
    folium.GeoJson(data, name=text(f"{layer.name} ({len(data):,})".replace(",", ".")), style_function=style_fn,
                   tooltip=tooltip, show=layer.show, **kwargs).add_to(m)


def legend_html(layers: list[MapLayer], basemap: str, extra: tuple[Style, ...] = ()) -> str:
    """The legend: a swatch per layer, and per class of a categorized layer (labels German / English); ``extra``:
    styles of what the caller draws itself (every class listed)."""
    rows = []
    for layer in layers:
        if layer.gdf is None or layer.gdf.empty:
            continue
        dot = "50%" if (layer.gdf.geom_type == "Point").all() else "2px"
        rows.append(f"<div><span class='sw' style='background:{text(layer.color)};border-radius:{dot}'></span>"
                    f"{text(layer.name)}</div>")
        if layer.carto is not None and layer.carto.classes and layer.carto.attribute in layer.gdf.columns:
            present = set(layer.gdf[layer.carto.attribute].astype(str))
            for c in layer.carto.classes:
                if c.value in present:
                    rows.append(f"<div class='cl'><span class='sw' style='background:{text(c.color)};"
                                f"border-radius:{dot}'></span>{text(c.label)}</div>")
    for st in extra:
        rows.append(f"<div><span class='sw' style='background:{text(st.color)};border-radius:50%'></span>"
                    f"{text(st.label)}</div>")
        rows.extend(f"<div class='cl'><span class='sw' style='background:{text(c.color)};border-radius:50%'>"
                    f"</span>{text(c.label)}</div>" for c in st.classes)
    base = {"tiles": "Grundkarte: Kacheln / basemap: tiles",
            "registry": "Grundkarte: Straßen und Gebäude des Registers / basemap: the registry's roads and buildings",
            "registry-roads": "Grundkarte: Straßen des Registers / basemap: the registry's roads"}
    rows.append(f"<div class='bm'>{text(base.get(basemap, basemap))}</div>")
    return ("<div class='netzatlas-legend' style='position:fixed;bottom:24px;right:8px;z-index:9999;background:"
            "rgba(255,255,255,.92);padding:6px 8px;font:12px sans-serif;border:1px solid #bbb;border-radius:4px;"
            "max-width:320px'><b>Legende / legend</b>" + "".join(rows) + "</div><style>.netzatlas-legend .sw{"
            "display:inline-block;width:11px;height:11px;margin-right:5px;border:1px solid #555;vertical-align:-1px}"
            ".netzatlas-legend .cl{margin-left:16px}.netzatlas-legend .bm{margin-top:4px;color:#555;font-size:11px}"
            "</style>")


def view_bounds(layers: list[MapLayer], bounds_gdf: gpd.GeoDataFrame | None = None
                ) -> tuple[float, float, float, float] | None:
    """(minx, miny, maxx, maxy) in WGS84 of ``bounds_gdf``, else of every layer's data."""
    frames = [bounds_gdf] if bounds_gdf is not None and not bounds_gdf.empty else \
        [lyr.gdf for lyr in layers if lyr.gdf is not None and not lyr.gdf.empty]
    if not frames:
        return None
    boxes = [tuple(f.to_crs("EPSG:4326").total_bounds) for f in frames]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _clip(gdf: gpd.GeoDataFrame | None, bounds: tuple[float, float, float, float] | None, margin: float = 0.15
          ) -> gpd.GeoDataFrame | None:
    """The features of ``gdf`` within the view (WGS84 ``bounds`` widened by ``margin`` of its size)."""
    if gdf is None or gdf.empty or bounds is None:
        return gdf
    dx, dy = (bounds[2] - bounds[0]) * margin + 0.002, (bounds[3] - bounds[1]) * margin + 0.002
    box = gpd.GeoSeries([shapely.box(bounds[0] - dx, bounds[1] - dy, bounds[2] + dx, bounds[3] + dy)],
                        crs="EPSG:4326").to_crs(gdf.crs).iloc[0]
    return gdf[gdf.intersects(box)]


def registry_basemap(m: folium.Map, roads: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame | None) -> str:
    """Draw the registry's own roads and buildings as the basemap (simplified to keep the page light; buildings only
    when at most :data:`MAX_BASEMAP_BUILDINGS` lie in the view); returns what it drew ("registry" with buildings,
    "registry-roads" without)."""
    drew = "registry-roads"
    if buildings is not None and not buildings.empty and len(buildings) <= MAX_BASEMAP_BUILDINGS:
        drew = "registry"
        b = buildings.copy()
        b["geometry"] = b.geometry.simplify(1.0)
        folium.GeoJson(_geojson(b, []), name="Basemap: buildings / Grundkarte: Gebäude", control=True,
                       style_function=lambda _f: {"color": "#b9b2a6", "weight": 0.3, "fillColor": "#d9d0c1",
                                                  "fillOpacity": 0.8}).add_to(m)
    if roads is not None and not roads.empty:
        r = roads.copy()
        r["geometry"] = r.geometry.simplify(1.0)
        folium.GeoJson(_geojson(r, []), name="Basemap: roads / Grundkarte: Straßen", control=True,
                       style_function=lambda _f: {"color": "#9a9a9a", "weight": 1.2}).add_to(m)
    return drew


def make_map(
    layers: list[MapLayer],
    *,
    bounds_gdf: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    basemap_url: str | None = None,
    attribution: str = "",
    title: str | None = None,
    legend_extra: tuple[Style, ...] = (),
) -> tuple[folium.Map, str]:
    """A layered offline map with a metric scale, a legend and the view fitted to ``bounds_gdf`` (default: the
    layers' data); returns it and which basemap was used ("tiles" or "registry")."""
    m = OfflineMap(location=[50.7753, 6.0839], zoom_start=13, tiles=None, control_scale=False)
    MetricScale().add_to(m)
    bounds = view_bounds(layers, bounds_gdf)
    if basemap_reachable(basemap_url):
        folium.TileLayer(basemap_url, attr=attribution or "basemap", name="Basemap").add_to(m)
        used = drew = "tiles"
    else:
        drew = registry_basemap(m, _clip(roads, bounds), _clip(buildings, bounds))
        used = "registry"
    for layer in layers:
        add_layer(m, layer)
    folium.LayerControl(collapsed=False).add_to(m)
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    html = (f"<div style='position:fixed;bottom:4px;left:120px;z-index:9999;background:white;padding:2px 6px;"
            f"font:11px sans-serif;opacity:.85'>{text(title + ' — ') if title else ''}{text(attribution)}</div>")
    m.get_root().html.add_child(folium.Element(html))
    m.get_root().html.add_child(folium.Element(legend_html(layers, drew, legend_extra)))
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
