"""OpenStreetMap PBF → registry layers, with pyosmium (one pass; areas assembled by osmium).

The tag mapping is data (``osm_tags.yaml``) and documented in docs/importers.md. Every layer comes back
as a GeoDataFrame in EPSG:4326 with ``external_id`` ("node/1", "way/2", "relation/3"), ``name``, the
layer's typed columns and ``properties`` (the remaining tags).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
import yaml

from netzatlas.errors import FileFormatError, InvalidParameter

LAYERS = ("fibre_address", "streetlight", "charging_point", "mobile_site", "wlan_hotspot", "poi", "building", "road")
#: the typed columns of each layer (an empty layer still has them)
LAYER_COLUMNS = {
    "fibre_address": ["street", "house_number", "house_number_suffix", "postcode", "city", "is_business",
                      "socio_economic", "business_area"],
    "streetlight": ["height_m", "lamp_type", "permanent_power"],
    "charging_point": ["operator", "address", "postcode", "city", "charge_points", "power_kw", "charger_type"],
    "mobile_site": ["site_type", "operator", "height_m", "is_mobile", "assumed"],
    "wlan_hotspot": ["operator", "ssid", "ap_class"],
    "poi": ["category", "area_m2"],
    "building": ["height_m", "height_source", "levels", "building_type"],
    "road": ["highway"],
}
TAGS_FILE = Path(__file__).with_name("osm_tags.yaml")
_NUM = re.compile(r"[-+]?(?:\d+(?:[.,]\d+)?|[.,]\d+)")
Progress = Callable[[int, int | None], None]


@lru_cache(maxsize=4)
def load_tag_mapping(path: str = str(TAGS_FILE)) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def parse_number(value: str | None) -> float | None:
    """'12', '12.5 m', '12,5', '~10' → float; anything else → None."""
    if not value:
        return None
    m = _NUM.search(value)
    return float(m.group(0).replace(",", ".")) if m else None


def split_housenumber(value: str) -> tuple[str, str | None]:
    """'12a' → ('12', 'a'); '12 A' → ('12', 'a'); '12-14' stays a range ('12-14', None); '3/1' → ('3', '/1')."""
    v = value.strip()
    m = re.fullmatch(r"(\d+)\s*([a-zA-Z])", v)
    if m:
        return m.group(1), m.group(2).lower()
    m = re.fullmatch(r"(\d+)\s*(/\s*\d+)", v)
    if m:
        return m.group(1), m.group(2).replace(" ", "")
    return v, None


def _matches(tags: dict[str, str], cond: dict[str, list[str]] | list[dict[str, list[str]]]) -> bool:
    """All conditions of a rule hold (a list of rules: any of them)."""
    if isinstance(cond, list):
        return any(_matches(tags, c) for c in cond)
    return all(tags.get(k) is not None and ("*" in vals or tags.get(k) in vals) for k, vals in cond.items())


def _poi_category(tags: dict[str, str], rules: list[dict]) -> str | None:
    for rule in rules:
        if _matches(tags, rule["tags"]):
            return rule["category"]
    return None


def _max_kw(tags: dict[str, str]) -> float | None:
    def values(text: str) -> list[float]:
        return [v for v in (parse_number(x) for x in text.split(";")) if v is not None]

    vals = [v for k, t in tags.items() if k.startswith("socket:") and k.endswith(":output") for v in values(t)]
    if not vals and tags.get("charging_station:output"):
        vals = values(tags["charging_station:output"])
    return max(vals) if vals else None


def _building_height(tags: dict[str, str], cfg: dict) -> tuple[float, str, int | None]:
    levels = parse_number(tags.get("building:levels"))
    h = parse_number(tags.get("height"))
    if h is not None and 0 < h < 400:
        return h, "height", int(levels) if levels is not None else None
    if levels is not None and 0 < levels < 100:
        return levels * cfg["storey_height_m"] + cfg["roof_allowance_m"], "levels", int(levels)
    if tags.get("building") in cfg["small_building_types"]:
        return cfg["small_building_height_m"], "default", None
    return cfg["default_height_m"], "default", None


class _Collector:
    """Rows per layer, filled while streaming the file."""

    def __init__(self, wanted: Iterable[str]) -> None:
        self.wanted = set(wanted)
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.cfg = load_tag_mapping()
        self.business_areas: list[shapely.Geometry] = []  # landuse areas that make an address a Gewerbegebiet one
        self.hubs: list[shapely.Geometry] = []            # stations (Verkehrsknoten)

    def add(self, layer: str, osm_id: str, geom: shapely.Geometry, tags: dict[str, str], **cols: Any) -> None:
        if layer not in self.wanted:
            return
        used = {"name"}
        props = {k: v for k, v in tags.items() if k not in used}
        self.rows[layer].append({"external_id": osm_id, "name": tags.get("name"), "geometry": geom,
                                 "properties": props, "_osm_type": osm_id.split("/")[0], **cols})

    def feature(self, osm_id: str, tags: dict[str, str], geom: shapely.Geometry, kind: str) -> None:
        """Dispatch one OSM object (kind: node, line or area) to every layer whose rule it matches."""
        cfg = self.cfg
        point = geom if kind == "node" else (geom.representative_point() if kind == "area" else None)
        if tags.get("addr:housenumber") and point is not None:
            number, suffix = split_housenumber(tags["addr:housenumber"])
            self.add("fibre_address", osm_id, point, tags, street=tags.get("addr:street") or tags.get("addr:place"),
                     house_number=number, house_number_suffix=suffix, postcode=tags.get("addr:postcode"),
                     city=tags.get("addr:city"), is_business=bool(tags.get("shop") or tags.get("office")
                                                                  or tags.get("craft")),
                     socio_economic=_socio_economic(tags))
        if kind == "area" and tags.get("landuse") in cfg.get("business_landuse", ()):
            self.business_areas.append(geom)
        if point is not None and "fibre_address" in self.wanted and _matches(tags, cfg.get("transport_hub", [])):
            self.hubs.append(point)
        if point is not None:
            if _matches(tags, cfg["streetlight"]):
                self.add("streetlight", osm_id, point, tags, height_m=parse_number(tags.get("height")),
                         lamp_type=tags.get("lamp_type") or tags.get("light:method") or tags.get("lamp_mount"),
                         permanent_power=None)
            if _matches(tags, cfg["charging_point"]):
                kw = _max_kw(tags)
                self.add("charging_point", osm_id, point, tags, operator=tags.get("operator"),
                         address=" ".join(filter(None, [tags.get("addr:street"), tags.get("addr:housenumber")]))
                         or None, postcode=tags.get("addr:postcode"), city=tags.get("addr:city"),
                         charge_points=int(parse_number(tags.get("capacity")) or 1), power_kw=kw,
                         charger_type=None if kw is None else ("fast" if kw >= cfg["fast_charger_min_kw"]
                                                              else "normal"))
            if _matches(tags, cfg["mobile_site"]):
                mobile = tags.get("tower:type") == "communication" or tags.get("communication:mobile_phone") == "yes"
                site_type = tags.get("man_made") if tags.get("man_made") in ("mast", "tower") else "other"
                self.add("mobile_site", osm_id, point, tags, site_type=site_type,
                         operator=tags.get("operator"), height_m=parse_number(tags.get("height")), is_mobile=mobile,
                         assumed=["sectors", "eirp_dbm", "azimuth_deg", "tilt_deg"] +
                         ([] if tags.get("height") else ["height_m"]))
            if _matches(tags, cfg["wlan_hotspot"]):
                outdoor = any(tags.get(k) for k in ("leisure", "place", "highway", "public_transport"))
                self.add("wlan_hotspot", osm_id, point, tags, operator=tags.get("internet_access:operator")
                         or tags.get("operator"), ssid=tags.get("internet_access:ssid"),
                         ap_class="outdoor" if outdoor else "indoor")
            category = _poi_category(tags, cfg["poi"])
            if category:
                self.add("poi", osm_id, point, tags, category=category,
                         _area=geom if kind == "area" else None)
        if kind == "area" and tags.get("building") and tags.get("building") != "no":
            height, source, levels = _building_height(tags, cfg)
            self.add("building", osm_id, geom, tags, height_m=height, height_source=source, levels=levels,
                     building_type=tags.get("building"))
        if kind == "line" and tags.get("highway") and tags["highway"] not in cfg["road_exclude"] \
                and tags.get("area") != "yes":
            self.add("road", osm_id, geom, tags, highway=tags["highway"])


def _socio_economic(tags: dict[str, str]) -> str | None:
    amenity = tags.get("amenity")
    if amenity in ("school", "hospital", "university", "college", "kindergarten", "townhall", "library"):
        return amenity
    if tags.get("office") == "government":
        return "public_admin"
    if tags.get("shop") or tags.get("office") or tags.get("craft"):
        return "business"
    return None


def _dedupe_addresses(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same address (street, number, suffix, postcode) on a node and on its building: keep one row.

    The node (usually the entrance) is kept; ``is_business`` and ``socio_economic`` are taken from any row of
    the group. Addresses without a street (or ``addr:place``) are never merged: the number alone says nothing.
    """
    parts = gdf[["street", "house_number", "house_number_suffix", "postcode"]].astype(object).fillna("")
    key = parts.astype(str).agg("|".join, axis=1).where(gdf["street"].notna(), gdf["external_id"])
    gdf = gdf.assign(_key=key, _pref=(gdf["_osm_type"] != "node").astype(int)).sort_values(
        ["_key", "_pref", "external_id"], kind="stable")
    grouped = gdf.groupby("_key", sort=False)
    business = grouped["is_business"].transform("any")
    socio = grouped["socio_economic"].transform("first")  # first non-null value, in the kept row's order
    gdf = gdf.assign(is_business=business.astype(bool), socio_economic=socio.astype(object).where(socio.notna(), None))
    return gdf.drop_duplicates("_key").drop(columns=["_key", "_pref"])


def _mark_gigabit_context(gdf: gpd.GeoDataFrame, col: _Collector) -> gpd.GeoDataFrame:
    """``business_area``: the address lies in a commercial / industrial / retail landuse area; the address nearest to
    each station (within ``transport_hub_radius_m``) without another category becomes a ``transport_hub``."""
    inside = pd.Series(False, index=gdf.index)
    if col.business_areas:
        tree = shapely.STRtree(col.business_areas)
        hit = tree.query(gdf.geometry.values, predicate="intersects")[0]
        inside.iloc[sorted(set(hit.tolist()))] = True
    gdf = gdf.assign(business_area=inside.values)
    if col.hubs and len(gdf):
        hubs = gpd.GeoDataFrame(geometry=col.hubs, crs="EPSG:4326").to_crs(25832)
        free = gdf[gdf["socio_economic"].isna()].to_crs(25832)
        near = gpd.sjoin_nearest(hubs, free[[free.geometry.name]], max_distance=col.cfg["transport_hub_radius_m"])
        gdf.loc[near["index_right"].unique(), "socio_economic"] = "transport_hub"
    return gdf


def _frames(col: _Collector) -> dict[str, gpd.GeoDataFrame]:
    out: dict[str, gpd.GeoDataFrame] = {}
    for layer in LAYERS:
        if layer not in col.wanted:
            continue
        rows = col.rows.get(layer, [])
        gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326") if rows else \
            gpd.GeoDataFrame({c: [] for c in ["external_id", "name", *LAYER_COLUMNS[layer], "properties", "geometry"]},
                             geometry="geometry", crs="EPSG:4326")
        if layer == "fibre_address" and len(gdf):
            gdf = _mark_gigabit_context(_dedupe_addresses(gdf), col)
        if layer == "poi" and len(gdf):
            areas = gpd.GeoSeries(gdf.pop("_area").values, crs="EPSG:4326")
            gdf["area_m2"] = areas.to_crs(25832).area.where(areas.notna(), None).round(1).values
        gdf = gdf.drop(columns=[c for c in ("_osm_type", "_area") if c in gdf.columns])
        for c in gdf.columns.drop(gdf.geometry.name, errors="ignore"):
            if gdf[c].isna().any():  # missing values are None, not NaN
                gdf[c] = gdf[c].astype(object).where(gdf[c].notna(), None)
        out[layer] = gdf.sort_values("external_id").reset_index(drop=True) if len(gdf) else gdf
    return out


def read_osm(path: str | Path, layers: Iterable[str] | None = None,
             progress: Progress | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Read an OSM extract into registry layers (see ``LAYERS``)."""
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: the file is empty (0 bytes)", hint="download the extract again")
    wanted = list(layers or LAYERS)
    unknown = set(wanted) - set(LAYERS)
    if unknown:
        raise InvalidParameter(f"unknown OSM layer(s) {sorted(unknown)}", hint=f"known: {', '.join(LAYERS)}")
    col = _Collector(wanted)
    wkb = osmium.geom.WKBFactory()
    n = 0
    try:
        for obj in osmium.FileProcessor(str(p)).with_locations().with_areas():
            n += 1
            if progress and n % 50_000 == 0:
                progress(n, None)
            if not obj.tags:
                continue
            tags = dict(obj.tags)
            try:
                if obj.is_node():
                    geom = shapely.from_wkb(wkb.create_point(obj))
                    col.feature(f"node/{obj.id}", tags, geom, "node")
                elif obj.is_way():
                    if "highway" in tags and tags.get("area") != "yes":
                        geom = shapely.from_wkb(wkb.create_linestring(obj))
                        col.feature(f"way/{obj.id}", tags, geom, "line")
                elif obj.is_area():
                    kind = "way" if obj.from_way() else "relation"
                    geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                    col.feature(f"{kind}/{obj.orig_id()}", tags, geom, "area")
            except (osmium.InvalidLocationError, RuntimeError):
                continue  # objects cut by the extract's edge or broken rings cannot be built
    except RuntimeError as exc:
        cut = "EOF" in str(exc) or "truncated" in str(exc).lower()
        raise FileFormatError(f"{p.name}: not a readable OSM file ({exc})",
                              hint="the file ends early: an interrupted download? Download it again" if cut else
                              "an OpenStreetMap extract as .osm.pbf or .osm (XML), e.g. from Geofabrik") from exc
    if progress:
        progress(n, n)
    return _frames(col)


def check_covers(frames: dict[str, gpd.GeoDataFrame], area: shapely.Geometry | None, name: str) -> None:
    """Refuse an extract with no feature of the wanted layers, or none in (1 km around) the municipality ``area``
    (EPSG:4326): an extract of another region, before anything is written."""
    n = sum(len(f) for f in frames.values())
    if n == 0:
        raise FileFormatError(f"{name}: the extract holds no features of the layers {', '.join(frames) or '-'}",
                              hint="see docs/importers.md for the OSM tags each layer reads")
    if area is None:
        return
    near = shapely.buffer(area, 0.015)  # about 1 km
    geoms = [g for f in frames.values() for g in f.geometry.values if g is not None]
    if not shapely.intersects(np.asarray(geoms, dtype=object), near).any():
        c = shapely.union_all(shapely.envelope(np.asarray(geoms, dtype=object))).centroid
        raise FileFormatError(
            f"{name}: none of its {n:,} features lies in the municipality (they lie around lat {c.y:.3f}, "
            f"lon {c.x:.3f})",
            hint="an extract of another region: use one that covers the municipality (e.g. from Geofabrik, cut "
                 "with `osmium extract`)")


def summary(frames: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    return pd.DataFrame([{"layer": k, "features": len(v)} for k, v in frames.items()])
