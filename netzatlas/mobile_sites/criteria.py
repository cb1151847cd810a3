"""The city-property and heritage criteria of a mast-request evaluation, from the registry's layers.

- **City property**: a candidate lies on a parcel or building of the municipal property layer
  (``municipal_property``, the city's Liegenschaften) whose antennas are not excluded (``antennas_allowed`` true or
  not decided); the city's offered sites (``candidate_site``) are city property by definition. Only when that layer
  is empty, OSM public buildings (town hall, library, …) stand in for it — an assumption the notes say.
- **Heritage**: OSM ``historic`` / ``heritage`` tags on the candidate, or a listed monument (``monument``, the
  Denkmalliste: point or polygon) within ``near_m`` of it (0 m: inside the listed area or building).

Pure: GeoDataFrames in, GeoDataFrame and notes out.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

#: public-building kinds that stand in for city property when the municipal property layer is empty
FALLBACK_KINDS = ("public_building",)


@dataclass(frozen=True)
class CriteriaSources:
    """What the two criteria were taken from (for the report and the API result)."""

    city_property: str
    heritage: str
    property_parcels: int
    monuments: int
    heritage_near_m: float


def _label(frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> pd.Series:
    parts = [frame[c].astype("string").fillna("") if c in frame else pd.Series("", index=frame.index, dtype="string")
             for c in columns]
    text = parts[0]
    for p in parts[1:]:
        text = text.str.cat(p, sep=" ")
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def _nearest(points: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, max_m: float, keep: list[str]) -> pd.DataFrame:
    """For each point: the nearest feature of ``layer`` within ``max_m`` (0: the one it lies in), with the columns
    ``keep`` and ``distance_m`` (NaN: none)."""
    if max_m <= 0:
        hit = gpd.sjoin(points[["geometry"]], layer[[*keep, "geometry"]], how="left", predicate="intersects")
        hit["distance_m"] = np.where(hit["index_right"].notna(), 0.0, np.nan)
    else:
        hit = gpd.sjoin_nearest(points[["geometry"]], layer[[*keep, "geometry"]], how="left", max_distance=max_m,
                                distance_col="distance_m")
    hit = hit[~hit.index.duplicated(keep="first")]
    return pd.DataFrame(hit.drop(columns=["geometry", "index_right"], errors="ignore")).reindex(points.index)


def apply_property_and_heritage(candidates: gpd.GeoDataFrame, monuments: gpd.GeoDataFrame,
                                property_: gpd.GeoDataFrame, *, near_m: float = 25.0
                                ) -> tuple[gpd.GeoDataFrame, CriteriaSources]:
    """``candidates`` (``kind``, optional ``city_property`` / ``heritage`` from OSM tags) with ``city_property``,
    ``property_name``, ``property_note``, ``heritage``, ``monument`` and ``heritage_note`` set from the layers."""
    out = candidates.copy()
    pts = gpd.GeoDataFrame(geometry=out.geometry.representative_point(), crs=out.crs)
    kind = out["kind"].astype(str)
    offered = kind.eq("candidate_site")
    osm_heritage = out["heritage"].fillna(False).astype(bool) if "heritage" in out else pd.Series(False, out.index)
    out["property_name"], out["property_note"] = None, None
    if len(property_):
        prop = property_.to_crs(out.crs)
        label = _label(prop, ("name",))
        prop = prop.assign(parcel_label=label.where(label.ne(""), _label(prop, ("use",))).replace("", "city property"),
                           allowed=[v is not False and v is not np.False_ for v in
                                    prop.get("antennas_allowed", pd.Series(None, index=prop.index))],
                           department=prop.get("owner_department", pd.Series(None, index=prop.index)))
        near = _nearest(pts, prop, 0.0, ["parcel_label", "allowed", "department"])
        on = near["distance_m"].notna()
        allowed = on & near["allowed"].eq(True)
        out["city_property"] = offered | allowed
        out["property_name"] = near["parcel_label"].where(on, None)
        notes = []
        for is_on, ok, label, dept, off in zip(on, allowed, near["parcel_label"], near["department"], offered,
                                               strict=True):
            if ok:
                notes.append(f"city property: {label}" + (f" ({dept})" if isinstance(dept, str) and dept else ""))
            elif is_on:
                notes.append(f"city property, antennas excluded: {label}")
            else:
                notes.append("city property: offered site" if off else None)
        out["property_note"] = notes
        source = f"municipal property layer ({len(property_):,} parcels/buildings) and the city's offered sites"
    else:
        fallback = kind.isin(FALLBACK_KINDS)
        out["city_property"] = offered | fallback
        out["property_note"] = ["city property ASSUMED (public building, OSM)" if fb else
                                "city property: offered site" if off else None
                                for fb, off in zip(fallback, offered, strict=True)]
        source = ("ASSUMED: no municipal property layer imported — OSM public buildings (town hall, library, "
                  "cultural venues) stand in for the city's property, besides the city's offered sites")
    out["monument"], out["heritage_note"] = None, None
    if len(monuments):
        mon = monuments.to_crs(out.crs)
        numbers = mon.get("list_number", pd.Series(None, index=mon.index))
        mon = mon.assign(monument_label=[
            lab + (f" (Denkmalliste Nr. {n})" if isinstance(n, str) and n else "")
            for lab, n in zip(_label(mon, ("protection_type", "name")).replace("", "listed monument"), numbers,
                              strict=True)])
        near = _nearest(pts, mon, near_m, ["monument_label"])
        listed = near["distance_m"].notna()
        out["monument"] = near["monument_label"].where(listed, None)
        out["heritage_note"] = [
            (("inside " if d < 0.5 else f"{d:.0f} m from ") + lab) if hit else
            ("OSM historic/heritage tag" if tag else None)
            for hit, d, lab, tag in zip(listed, near["distance_m"].fillna(0.0), near["monument_label"],
                                        osm_heritage, strict=True)]
        out["heritage"] = osm_heritage | listed
        heritage = (f"OSM historic/heritage tags and the monument list ({len(monuments):,} entries; candidates "
                    f"inside or within {near_m:g} m of one)")
    else:
        out["heritage"] = osm_heritage
        out["heritage_note"] = ["OSM historic/heritage tag" if tag else None for tag in osm_heritage]
        heritage = "OSM historic/heritage tags only — no monument list (Denkmalliste) imported"
    return out, CriteriaSources(source, heritage, len(property_), len(monuments), near_m)


def criteria_table(weights: object, sources: CriteriaSources | None) -> list[dict[str, object]]:
    """Every score criterion with its weight and where its values come from (report and API result)."""
    w = weights
    prop = sources.city_property if sources else "the city's offered sites (candidate_site)"
    her = sources.heritage if sources else "OSM historic/heritage tags"
    return [
        {"criterion": "centre proximity", "weight": w.centre, "source": "1 − distance to the ring centre / radius"},
        {"criterion": "distance to kindergartens, schools, hospitals", "weight": w.sensitive,
         "source": f"OSM POIs; full score from {w.sensitive_ok_m:g} m"},
        {"criterion": "co-location on an existing mast", "weight": w.colocation, "source": "registry mobile sites"},
        {"criterion": "city property", "weight": w.city_property, "source": prop},
        {"criterion": "heritage (subtracted)", "weight": -w.heritage, "source": her},
        {"criterion": "people newly covered indoor (own network)", "weight": w.gain,
         "source": "coverage engine, relative to the best candidate"},
    ]
