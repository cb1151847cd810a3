"""Sites with sectors: registry rows → coverage-engine ``Sector`` objects, defaults flagged as assumed.

- Heights: a sector's antenna height is its height above ground (terrain). A site's antenna height is, in this
  order: ``antenna_height_m``; ``building_height_m`` + ``mast_height_m`` (rooftop); for a rooftop site with only
  the building height, the building + a 5 m mast (assumed); the mapped structure height ``height_m`` of a mast or
  tower (antenna at its top, assumed); else the macro default (assumed).
- Operators as they are: a missing operator is ``unknown`` (never pooled into an operator, never "nan").
- Networks: GSM-R (railway) and BOS (public-safety radio) sites are sites of their own kind and do not count for
  public coverage (``network_kind``).
- Duplicates: two sites within a few metres with compatible operators are the same site (``duplicate_sites``); the
  registry links them (``asset_link``) and the run counts the pair once.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netzatlas.coverage.signal import Sector
from netzatlas.mobile_sites.defaults import MACRO, SMALL_CELL, SiteDefaults

UNKNOWN_OPERATOR = "unknown"
PUBLIC = "public"
NETWORKS = ("public", "gsm-r", "bos", "other")
#: the mast on a roof when only the building height is known (assumed, flagged)
ROOFTOP_MAST_M = 5.0
#: sites closer than this with compatible operators are taken as one site
DUPLICATE_DISTANCE_M = 25.0
_GSMR = re.compile(r"gsm-?r|\bdb netz\b|\bdb infrago\b|deutsche bahn|\bdb station", re.I)
_BOS = re.compile(r"\bbos\b|bdbos|digitalfunk|polizei|feuerwehr|tetra", re.I)


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def operator_name(value: object) -> str:
    """The operator as recorded, or ``unknown`` for a missing one (None, NaN, empty, the string "nan")."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return UNKNOWN_OPERATOR
    text = str(value).strip()
    return UNKNOWN_OPERATOR if text.lower() in ("", "nan", "none", "null", "unknown") else text


def network_kind(operator: object, properties: dict | None = None, explicit: object = None) -> str:
    """``public``, ``gsm-r`` (railway radio), ``bos`` (public-safety radio) or ``other``: the registry's value when
    set, else from the OSM tags (``communication:gsm-r``, ``communication:bos``) and the operator's name."""
    if isinstance(explicit, str) and explicit in NETWORKS:
        return explicit
    tags = properties if isinstance(properties, dict) else {}
    op = "" if operator_name(operator) == UNKNOWN_OPERATOR else str(operator)
    if tags.get("communication:gsm-r") == "yes" or _GSMR.search(op):
        return "gsm-r"
    if tags.get("communication:bos") == "yes" or _BOS.search(op):
        return "bos"
    return PUBLIC


def antenna_height(site: object) -> tuple[float | None, str | None]:
    """(antenna height above ground, what was assumed) of a site row (see the module docstring)."""
    ant = _num(getattr(site, "antenna_height_m", None))
    if ant is not None:
        return ant, None
    building, mast = _num(getattr(site, "building_height_m", None)), _num(getattr(site, "mast_height_m", None))
    if building is not None and mast is not None:
        return building + mast, None
    if building is not None:
        return building + ROOFTOP_MAST_M, f"mast_height_m ({ROOFTOP_MAST_M:g} m on the roof)"
    structure = _num(getattr(site, "height_m", None))
    if structure is not None and structure > 0:
        return structure, "antenna at the top of the mapped structure (height_m)"
    return None, None


def sectors_for_site(site_id: str, x: float, y: float, *, height_m: float | None = None, operator: str | None = None,
                     kind: str = "macro", sectors: pd.DataFrame | None = None, environment: str = "urban",
                     height_note: str | None = None) -> list[Sector]:
    """The site's sectors from the registry, or the defaults (every defaulted parameter named in ``assumed``).
    ``height_m``: the site's antenna height above ground."""
    d: SiteDefaults = SMALL_CELL if kind == "small_cell" else MACRO
    out: list[Sector] = []
    if sectors is not None and len(sectors):
        for r in sectors.itertuples():
            assumed = [height_note] if height_note and _num(getattr(r, "height_m", None)) is None else []

            def pick(value: object, default: float, name: str, assumed: list[str] = assumed) -> float:
                v = _num(value)
                if v is None:
                    assumed.append(name)
                    return default
                return v
            h = pick(getattr(r, "height_m", None), height_m or d.height_m, "height_m") \
                if height_m is None or _num(getattr(r, "height_m", None)) is not None else height_m
            out.append(Sector(site_id, x, y, h, pick(getattr(r, "azimuth_deg", None), 0.0, "azimuth_deg"),
                              pick(getattr(r, "tilt_deg", None), d.tilt_deg, "tilt_deg"),
                              pick(getattr(r, "eirp_dbm", None), d.eirp_dbm, "eirp_dbm"),
                              pick(getattr(r, "band_mhz", None), d.frequency_mhz, "band_mhz"),
                              getattr(r, "technology", None) or d.technology,
                              operator_name(getattr(r, "operator", None) or operator), d.n_rb, environment,
                              d.max_radius_m, tuple(a for a in assumed if a)))
        return out
    h = height_m if height_m is not None else d.height_m
    assumed = ("sectors", "azimuth_deg", "tilt_deg", "eirp_dbm", "band_mhz") + \
        ((height_note,) if height_note else ()) + (() if height_m else ("height_m",))
    return [Sector(site_id, x, y, h, az, d.tilt_deg, d.eirp_dbm, d.frequency_mhz, d.technology,
                   operator_name(operator), d.n_rb, environment, d.max_radius_m, assumed) for az in d.azimuths_deg]


def classify_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The sites with ``operator_used`` (``unknown`` where missing) and ``network`` (public, gsm-r, bos, other)."""
    out = sites.copy()
    props = out["properties"] if "properties" in out else pd.Series([None] * len(out), index=out.index)
    explicit = out["network"] if "network" in out else pd.Series([None] * len(out), index=out.index)
    out["operator_used"] = [operator_name(v) for v in out.get("operator", pd.Series([None] * len(out)))]
    out["network"] = [network_kind(o, p, e) for o, p, e in zip(out.get("operator", pd.Series([None] * len(out),
                                                                                              index=out.index)),
                                                                props, explicit, strict=True)]
    return out


def duplicate_sites(sites: gpd.GeoDataFrame, max_distance_m: float = DUPLICATE_DISTANCE_M) -> pd.DataFrame:
    """Pairs of sites that are one site: closer than ``max_distance_m`` and with the same operator or one unknown.
    ``id_a`` is the one to leave out (the one that knows less: unknown operator, no height), ``id_b`` kept."""
    cols = ["id_a", "id_b", "distance_m", "method"]
    if len(sites) < 2:
        return pd.DataFrame(columns=cols)
    s = classify_sites(sites).reset_index(drop=True)
    xy = np.c_[s.geometry.x, s.geometry.y]
    known = 2 * (s["operator_used"] != UNKNOWN_OPERATOR).astype(int) + s.get("height_m", pd.Series(
        np.nan, index=s.index)).notna().astype(int)
    rows, dropped = [], set()
    for i, j in sorted(cKDTree(xy).query_pairs(max_distance_m)):
        oi, oj = s.at[i, "operator_used"], s.at[j, "operator_used"]
        if oi != oj and UNKNOWN_OPERATOR not in (oi, oj):
            continue
        if s.at[i, "network"] != s.at[j, "network"]:
            continue
        a, b = (i, j) if (known[i], str(s.at[j, "id"])) < (known[j], str(s.at[i, "id"])) else (j, i)
        if a in dropped:
            continue
        dropped.add(a)
        rows.append({"id_a": str(s.at[a, "id"]), "id_b": str(s.at[b, "id"]),
                     "distance_m": round(float(np.hypot(*(xy[i] - xy[j]))), 1), "method": "distance"})
    return pd.DataFrame(rows, columns=cols)


MERGED_COLUMNS = ("operator", "height_m", "antenna_height_m", "building_height_m", "mast_height_m", "site_type")


def merge_duplicates(sites: gpd.GeoDataFrame, pairs: pd.DataFrame) -> gpd.GeoDataFrame:
    """The kept record of each pair (``id_b``) takes what only the duplicate (``id_a``) knows (operator, heights);
    the duplicates are dropped."""
    out = sites.copy()
    ids = out["id"].astype(str)
    for a, b in zip(pairs["id_a"], pairs["id_b"], strict=True):
        ia, ib = out.index[ids == str(a)], out.index[ids == str(b)]
        if len(ia) and len(ib):
            for col in (c for c in MERGED_COLUMNS if c in out):
                if pd.isna(out.at[ib[0], col]) and not pd.isna(out.at[ia[0], col]):
                    out.at[ib[0], col] = out.at[ia[0], col]
    return out[~ids.isin(set(pairs["id_a"].astype(str)))]


def sectors_from_registry(sites: gpd.GeoDataFrame, sectors: pd.DataFrame | None = None,
                          duplicates: pd.DataFrame | set[str] | None = None) -> list[Sector]:
    """Sectors of the public mobile sites; sites without sector rows get the macro defaults. Non-public networks
    (GSM-R, BOS), non-mobile masts and the duplicates are left out: ``duplicates`` as pairs (``duplicate_sites``:
    the kept site takes over what only its duplicate knew) or as a set of ids to drop."""
    out: list[Sector] = []
    if isinstance(duplicates, pd.DataFrame):
        sites = merge_duplicates(sites, duplicates)
    elif duplicates:
        sites = sites[~sites["id"].astype(str).isin(duplicates)]
    s = classify_sites(sites)
    live = s[s.get("is_mobile", pd.Series(True, index=s.index)).fillna(True).astype(bool)
             & (s["network"] == PUBLIC)]
    for r in live.itertuples():
        rows = sectors[sectors["site_id"] == r.id] if sectors is not None and len(sectors) else None
        h, note = antenna_height(r)
        out += sectors_for_site(str(r.id), r.geometry.x, r.geometry.y, height_m=h, operator=r.operator_used,
                                sectors=rows, height_note=note)
    return out


def site_summary(sites: gpd.GeoDataFrame, duplicates: pd.DataFrame | set[str] | None = None) -> list[str]:
    """What the run did with the sites, as sentences for every output."""
    s = classify_sites(sites)
    notes = []
    other = s[s["network"] != PUBLIC]
    if len(other):
        names = ", ".join(f"{n if isinstance(n, str) and n.strip() else 'unnamed'} ({k}, operator {o})"
                          for n, k, o in zip(other.get("name", [None] * len(other)), other["network"],
                                             other["operator_used"], strict=True))
        notes.append(f"{len(other)} site(s) of non-public networks left out of public coverage: {names}")
    unknown = int(((s["operator_used"] == UNKNOWN_OPERATOR) & (s["network"] == PUBLIC)).sum())
    if unknown:
        notes.append(f"{unknown} public site(s) with operator unknown: computed as operator 'unknown', not "
                     "attributed to any network")
    n_dupes = len(duplicates) if duplicates is not None else 0
    if n_dupes:
        notes.append(f"{n_dupes} duplicate site(s) linked to another record and counted once")
    return notes
