"""Names a person reads instead of ids: areas by their street (and a named place in them), sites by what they
are and where. Pure functions on GeoDataFrames in a projected CRS."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from netzatlas.cartography import style

#: how far (m) from an area's centre or a site the nearest named street may lie to name it
STREET_SEARCH_M = 300.0
KIND_DE = {c.value: c.de for c in style("mast_candidate").classes}


def _named(gdf: gpd.GeoDataFrame | None, crs: object) -> gpd.GeoDataFrame:
    if gdf is None or gdf.empty or "name" not in gdf.columns:
        return gpd.GeoDataFrame({"name": []}, geometry=[], crs=crs)
    g = gdf[gdf["name"].notna() & (gdf["name"].astype(str).str.strip() != "")]
    return g[["name", g.geometry.name]].to_crs(crs)


def nearest_street(points: gpd.GeoSeries, roads: gpd.GeoDataFrame | None) -> pd.Series:
    """Name of the nearest named road (within :data:`STREET_SEARCH_M`) of each point; empty where none."""
    streets = _named(roads, points.crs)
    out = pd.Series("", index=points.index, dtype=object)
    if streets.empty or points.empty:
        return out
    pts = gpd.GeoDataFrame(geometry=points.values, index=points.index, crs=points.crs)
    j = gpd.sjoin_nearest(pts, streets, how="left", max_distance=STREET_SEARCH_M, distance_col="d")
    j = j[~j.index.duplicated()]
    return out.add(j["name"].reindex(out.index).fillna("").astype(str), fill_value="")


def area_names(areas: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None, places: gpd.GeoDataFrame | None = None,
               fallback: str = "cell_id") -> list[str]:
    """'Theaterstraße · Elisenbrunnen': the street nearest an area's centre and the most important named place
    (highest ``weight``) inside it; the ``fallback`` column (e.g. the grid cell id) where nothing is named."""
    if areas.empty:
        return []
    centre = areas.geometry.representative_point()
    street = nearest_street(centre, roads)
    place = pd.Series("", index=areas.index, dtype=object)
    named = _named(places, areas.crs)
    if not named.empty:
        named = named.assign(weight=pd.to_numeric(places.loc[named.index].get("weight", 1.0), errors="coerce")
                             .fillna(0.0).values)
        j = gpd.sjoin(named, areas[[areas.geometry.name]], predicate="within")
        if len(j):
            best = j.sort_values("weight", ascending=False).groupby("index_right")["name"].first()
            place = place.add(best.reindex(areas.index).fillna("").astype(str), fill_value="")
    ids = areas[fallback].astype(str) if fallback in areas.columns else pd.Series("", index=areas.index)
    out = []
    for s, p, i in zip(street, place, ids, strict=True):
        parts = [x for x in (s, p) if x]
        out.append(" · ".join(dict.fromkeys(parts)) or (f"Rasterzelle / grid cell {i}" if i else ""))
    return out


def site_names(sites: gpd.GeoDataFrame, roads: gpd.GeoDataFrame | None) -> list[str]:
    """'Straßenleuchte, Theaterstraße' or 'Stadtbibliothek (öffentliches Gebäude), Couvenstraße': what a site is
    (its name where it has one) and the street it stands on; the reference where no street is near."""
    if sites.empty:
        return []
    street = nearest_street(sites.geometry.representative_point(), roads)
    out = []
    for kind, name, ref, s in zip(sites.get("kind", pd.Series("", index=sites.index)),
                                  sites.get("name", pd.Series(None, index=sites.index)),
                                  sites.get("ref", pd.Series(None, index=sites.index)), street, strict=True):
        what = KIND_DE.get(str(kind).split(":", 1)[0], str(kind))
        has_name = isinstance(name, str) and name.strip()
        head = f"{name} ({what})" if has_name else what
        where = s or (f"Kennung / id {ref}" if ref is not None and str(ref) != "nan" else "")
        out.append(f"{head}, {where}" if where else head)
    return out
