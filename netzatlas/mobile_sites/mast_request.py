"""Mast-request evaluation (Standortanfrage, "Suchkreis"): candidates inside the search ring, ranked.

Each candidate gets: a name people recognise (building or POI name, else the nearest address, else the street);
its distance to the ring centre; distances to the nearest kindergarten, school and hospital (the operators'
Selbstverpflichtung gives alternatives near them priority, DOMAIN.md §3.1); co-location on an existing mast; the
city's property (the municipal property layer, ``criteria.py``); a heritage flag (OSM ``historic`` / ``heritage``
and the monument list, ``criteria.py``); and the people newly covered **for the
requesting operator's own network and technology**, outdoor (1.5 m above ground, outside buildings) and indoor
(with the TR 38.901 building-entry loss) — people in cells where the candidate brings RSRP at or above the
threshold and the operator's sites today do not (the coverage engine with default sector parameters, flagged).
The score, with every component and weight shown:
  score = w_centre · (1 − d_centre / radius) + w_sensitive · min(d_sensitive / sensitive_ok_m, 1)
        + w_coloc · co-location + w_property · city property − w_heritage · heritage + w_gain · gain / max gain
(gain = people newly covered indoor). ``reasons`` says the same in words.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netzatlas.coverage.gaps import population_raster
from netzatlas.coverage.signal import NODATA, indoor
from netzatlas.coverage.surface import Surface
from netzatlas.errors import InvalidParameter
from netzatlas.mobile_sites.run import _site_windows
from netzatlas.mobile_sites.sites import UNKNOWN_OPERATOR, operator_name, sectors_for_site

STATUSES = ("received", "under_review", "alternative_proposed", "agreed", "rejected")
OPEN_STATUSES = ("received", "under_review", "alternative_proposed")
SENSITIVE = ("kindergarten", "school", "hospital")
#: the Mobilfunkvereinbarung: "Die Abstimmung soll innerhalb von 8 Wochen abgeschlossen sein" (Stellungnahme und
#: Erörterung, DOMAIN.md §3.1) — configurable per request
COORDINATION_WEEKS = 8
COORDINATION_WORDING = ("Coordination period under the Mobilfunkvereinbarung (Stellungnahme und Erörterung): "
                        "{weeks} weeks from receipt, i.e. until {deadline}")
#: the band a technology is planned in when the request does not say (assumed, flagged)
TECH_BAND_MHZ = {"GSM": 900.0, "UMTS": 2100.0, "LTE": 1800.0, "NR": 3600.0, "5G": 3600.0}


@dataclass
class MastRequest:
    operator: str
    x: float
    y: float
    radius_m: float
    technology: str = "LTE"
    desired_height_m: float = 30.0
    received_on: date = field(default_factory=date.today)
    status: str = "received"
    coordination_weeks: int = COORDINATION_WEEKS

    def __post_init__(self) -> None:
        if self.radius_m <= 0:
            raise InvalidParameter("the search-ring radius must be positive")
        if self.desired_height_m <= 0:
            raise InvalidParameter("the desired height must be positive")
        if self.status not in STATUSES:
            raise InvalidParameter(f"unknown status {self.status!r}", hint="one of " + ", ".join(STATUSES))
        if self.coordination_weeks <= 0:
            raise InvalidParameter("the coordination period must be at least one week")

    @property
    def deadline(self) -> date:
        """End of the coordination period (default 8 weeks after receipt, Mobilfunkvereinbarung)."""
        return self.received_on + timedelta(weeks=self.coordination_weeks)

    def days_left(self, today: date | None = None) -> int:
        return (self.deadline - (today or date.today())).days

    @property
    def period_text(self) -> str:
        return COORDINATION_WORDING.format(weeks=self.coordination_weeks, deadline=self.deadline.isoformat())


@dataclass(frozen=True)
class ScoreWeights:
    centre: float = 0.2
    sensitive: float = 0.2
    colocation: float = 0.15
    city_property: float = 0.15
    heritage: float = 0.3          # subtracted: a listed building or monument is a poor host
    gain: float = 0.3
    sensitive_ok_m: float = 100.0


#: the four network operators under the names they trade and register sites under (DOMAIN.md §3.1: Telekom
#: Technik, Drillisch Netz (1&1), Telefónica, Vodafone)
OPERATOR_ALIASES = {"telekom": ("telekom", "t-mobile"), "vodafone": ("vodafone",),
                    "telefonica": ("telefónica", "telefonica", "o2", "e-plus"),
                    "1&1": ("1&1", "1 & 1", "1und1", "1 und 1", "drillisch")}


def _network(name: str) -> str | None:
    """The network operator a name stands for (``OPERATOR_ALIASES``), None when it is none of the four."""
    words = re.findall(r"[\w&-]+|&", name.lower())
    text = " ".join(words)
    for key, aliases in OPERATOR_ALIASES.items():
        if any(re.search(rf"(^|\s){re.escape(a)}(\s|$)", text) for a in aliases):
            return key
    return None


def operator_matches(requested: str, recorded: object) -> bool:
    """Whether a site's recorded operator is the requesting operator ("Telekom" ~ "Deutsche Telekom AG", "1&1" ~
    "Drillisch Netz AG")."""
    a, b = operator_name(requested).lower(), operator_name(recorded).lower()
    if UNKNOWN_OPERATOR in (a, b):
        return False
    na, nb = _network(a), _network(b)
    if na or nb:
        return na == nb
    strip = ("deutsche ", " gmbh", " ag", " deutschland", " germany", " & co. ohg", " technik")
    for s in strip:
        a, b = a.replace(s, ""), b.replace(s, "")
    return a.strip() in b or b.strip() in a


def technology_band(text: object) -> tuple[str, float | None]:
    """A technology as written ("5G NR", "LTE800", "lte 1800", "4G") → (GSM/UMTS/LTE/NR or the text upper-cased,
    the band in MHz when it is written after it)."""
    t = re.sub(r"[\s_-]+", "", str(text or "").upper())
    m = re.fullmatch(r"(5GNR|NR|5G|4GLTE|LTE|4G|3GUMTS|UMTS|3G|2GGSM|GSM|2G)(\d{3,4})?(MHZ)?", t)
    if not m:
        return t, None
    norm = {"5GNR": "NR", "5G": "NR", "4GLTE": "LTE", "4G": "LTE", "3GUMTS": "UMTS", "3G": "UMTS", "2GGSM": "GSM",
            "2G": "GSM"}
    return norm.get(m.group(1), m.group(1)), float(m.group(2)) if m.group(2) else None


def technology_matches(requested: str, recorded: str) -> bool:
    return technology_band(requested)[0] == technology_band(recorded)[0]


#: the largest search ring ``request create`` takes: Suchkreise are a few hundred metres, rural ones a few km
MAX_RADIUS_M = 5000.0


def parse_day(text: str, option: str) -> date:
    """A date as ISO (2026-11-01) or German (01.11.2026); refused with the option's name otherwise."""
    m = re.fullmatch(r"\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*", text)
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1))) if m else date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(f"{option} {text!r} is not a date", hint="e.g. 2026-11-01 or 01.11.2026") from None


#: what a request's ``site_type`` may be (the registry's site types, the small cell of the Mobilfunkvereinbarung's
#: 2020 extension), with the German words the staff write
SITE_TYPES = {"mast": "mast", "tower": "tower", "rooftop": "rooftop", "small_cell": "small_cell",
              "streetlight": "streetlight", "other": "other", "turm": "tower", "dach": "rooftop",
              "dachstandort": "rooftop", "kleinzelle": "small_cell", "smallcell": "small_cell",
              "sonstiger": "other"}


def site_type_code(text: str) -> str:
    """A site type as written ("small cell", "Dachstandort") → its code; refused when it is none of them."""
    key = re.sub(r"[\s-]+", "_", text.strip().lower())
    if key not in SITE_TYPES:
        raise InvalidParameter(f"unknown site_type {text!r}",
                               hint="--site-type mast, tower, rooftop, small_cell, streetlight or other")
    return SITE_TYPES[key]


def check_radius(radius_m: float) -> None:
    """Refuse a ring beyond ``MAX_RADIUS_M`` (a typo such as 50000 for 500 would evaluate every site of the city
    for minutes)."""
    if radius_m > MAX_RADIUS_M:
        raise InvalidParameter(f"a search ring of {radius_m:,.0f} m is larger than any Suchkreis "
                               f"(at most {MAX_RADIUS_M:,.0f} m)",
                               hint="the radius is in metres, e.g. 400; for a whole area: netzatlas mobile coverage")


def check_ring(operator: str, lon: float, lat: float, radius_m: float, boundary_4326: object,
               municipality: str) -> str | None:
    """Refuse a request that cannot be meant: a blank operator, a radius not above 0 or beyond ``MAX_RADIUS_M``,
    coordinates that are not WGS84 degrees (projected metres, swapped), a ring that does not touch the
    municipality. Returns a note when part of the ring lies outside it."""
    import geopandas as gpd
    from shapely.geometry import Point

    if not operator.strip():
        raise InvalidParameter("the operator is empty", hint="--operator Telekom (or Vodafone, Telefónica, 1&1, …)")
    if not np.isfinite(radius_m) or radius_m <= 0:
        raise InvalidParameter("the search-ring radius must be positive", hint="--radius 400 (metres)")
    check_radius(radius_m)
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidParameter(f"--lon {lon:g} --lat {lat:g} are not longitude/latitude in degrees (WGS84)",
                               hint="projected coordinates (EPSG:25832, metres) must be converted to degrees "
                                    "first, e.g. 294500 / 5628000 → --lon 6.0839 --lat 50.7753")
    if boundary_4326 is None or getattr(boundary_4326, "is_empty", True):
        return None
    bnd = gpd.GeoSeries([boundary_4326], crs=4326).to_crs(25832).iloc[0]

    def ring(x: float, y: float):  # noqa: ANN202
        return gpd.GeoSeries([Point(x, y)], crs=4326).to_crs(25832).iloc[0].buffer(radius_m)

    here = ring(lon, lat)
    if not here.intersects(bnd):
        swapped = -90 <= lon <= 90 and ring(lat, lon).intersects(bnd)
        raise InvalidParameter(f"the search ring at --lon {lon:g} --lat {lat:g} lies outside {municipality}",
                               hint=f"--lon and --lat swapped? (--lon {lat:g} --lat {lon:g} lies in {municipality})"
                               if swapped else f"the ring must touch {municipality}; check the coordinates "
                                               "(WGS84 degrees: --lon east, --lat north)")
    share = here.difference(bnd).area / here.area
    if share > 0.005:
        return f"{share:.0%} of the search ring lies outside {municipality}: only candidates inside are the city's"
    return None


def heritage_flag(properties: object) -> bool:
    """OSM ``historic=*`` or ``heritage=*`` (or a ``listed_status``) on the object."""
    p = properties if isinstance(properties, dict) else {}
    return any(p.get(k) not in (None, "", "no") for k in ("historic", "heritage", "listed_status"))


def label_candidates(cands: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame, roads: gpd.GeoDataFrame,
                     address_m: float = 40.0, street_m: float = 120.0) -> gpd.GeoDataFrame:
    """``label`` (name, else nearest address within ``address_m``, else "near <street>"), ``address``, ``street``."""
    out = cands.copy()
    pts = out.geometry.representative_point()
    xy = np.c_[pts.x, pts.y]
    out["address"], out["street"] = None, None
    if len(addresses):
        a = addresses.to_crs(out.crs)
        d, i = cKDTree(np.c_[a.geometry.x, a.geometry.y]).query(xy)
        text = (a["street"].fillna("").astype(str) + " " + a["house_number"].fillna("").astype(str)
                + a.get("house_number_suffix", pd.Series("", index=a.index)).fillna("").astype(str)).str.strip()
        out["address"] = np.where(d <= address_m, text.to_numpy()[i], None)
        out["street"] = np.where(d <= address_m, a["street"].to_numpy()[i], None)
    if len(roads) and "name" in roads:
        r = roads[roads["name"].notna()].to_crs(out.crs)
        if len(r):
            near = gpd.sjoin_nearest(gpd.GeoDataFrame(geometry=pts, crs=out.crs), r[["name", "geometry"]],
                                     max_distance=street_m, how="left")
            near = near[~near.index.duplicated()]
            out["street"] = out["street"].where(out["street"].notna(), near["name"].reindex(out.index))
    name = out["name"] if "name" in out else pd.Series(None, index=out.index)
    label = []
    for n, adr, st, kind in zip(name, out["address"], out["street"], out["kind"], strict=True):
        if isinstance(n, str) and n.strip():
            label.append(n.strip() + (f", {adr}" if isinstance(adr, str) and adr else ""))
        elif isinstance(adr, str) and adr:
            label.append(f"{kind.replace('_', ' ')} at {adr}")
        elif isinstance(st, str) and st:
            label.append(f"{kind.replace('_', ' ')} near {st}")
        else:
            label.append(f"{kind.replace('_', ' ')} (no name or address)")
    out["label"] = label
    return out


def _nearest(points: np.ndarray, pois: gpd.GeoDataFrame, category: str) -> np.ndarray:
    p = pois[pois["category"] == category]
    if p.empty:
        return np.full(len(points), np.inf)
    rp = p.geometry.representative_point()
    d, _ = cKDTree(np.c_[rp.x, rp.y]).query(points)
    return d


def _candidate_rsrp(request: MastRequest, r: object, x: float, y: float, surface: Surface) -> np.ndarray | None:
    """The requesting operator's RSRP from one candidate (default sector parameters; None outside the surface)."""
    small = r.kind == "streetlight"  # type: ignore[attr-defined]
    raw = getattr(r, "height_m", np.nan)
    h = None if pd.isna(raw) else float(raw)
    h = (h or 8.0) if small else max(h or 0.0, request.desired_height_m)
    band = _band(request.technology)
    secs = sectors_for_site(str(r.Index), x, y, height_m=h, operator=request.operator,  # type: ignore[attr-defined]
                            kind="small_cell" if small else "macro")
    if band and not small:
        secs = [dataclasses.replace(s, technology=request.technology, frequency_mhz=band) for s in secs]
    data = _site_windows(secs, surface)
    if not data:
        return None
    new = np.full(surface.dsm.shape, NODATA)
    for i in range(len(secs)):
        r0, r1, c0, c1 = (int(v) for v in data[f"win_{i}"])
        new[r0:r1, c0:c1] = np.maximum(new[r0:r1, c0:c1], data[f"rsrp_{i}"])
    return new


def _reasons(row: pd.Series, w: ScoreWeights, radius: float) -> str:
    out = [f"{row.distance_to_centre_m:.0f} m from the ring centre"]
    prop_note, her_note = row.get("property_note"), row.get("heritage_note")
    if isinstance(prop_note, str) and prop_note:
        out.append(prop_note)
    elif row.city_property:
        out.append("city property")
    if row.colocation:
        out.append("co-location on an existing mast")
    if row.heritage:
        out.append(f"heritage ({her_note if isinstance(her_note, str) and her_note else 'historic/heritage tag'}): "
                   "avoid")
    for cat in SENSITIVE:
        d = row[f"nearest_{cat}_m"]
        if d < w.sensitive_ok_m:
            out.append(f"{cat} {d:.0f} m away (< {w.sensitive_ok_m:g} m)")
    if row.outside_surface:
        out.append("outside the surface: no coverage prediction")
    else:
        out.append(f"newly covers ≈ {row.people_newly_covered_indoor:,.0f} people indoor / "
                   f"{row.people_newly_covered_outdoor:,.0f} outdoor (own network)")
    return "; ".join(out)


def evaluate(request: MastRequest, candidates: gpd.GeoDataFrame, pois: gpd.GeoDataFrame, surface: Surface,
             current_best: np.ndarray | None, cells: gpd.GeoDataFrame, *, threshold_dbm: float = -105.0,
             weights: ScoreWeights | None = None, current_all: np.ndarray | None = None,
             high_loss_share: float | None = None, frequency_mhz: float | None = None) -> gpd.GeoDataFrame:
    """Ranked candidates inside the ring.

    ``candidates`` needs ``kind`` (candidate_site, public_building, streetlight, existing_mast) and optionally
    ``height_m``, ``label``, ``city_property``, ``heritage``. ``current_best``: today's RSRP of the requesting
    operator's own network and technology (None: it has no known site here); ``current_all``: of every public
    network (also operators unknown), for the lower bound ``people_newly_covered_indoor_any_network``."""
    w = weights or ScoreWeights()
    c = candidates.to_crs(surface.crs)
    pts = c.geometry.representative_point()
    d_centre = np.hypot(pts.x - request.x, pts.y - request.y)
    inside = c[d_centre.to_numpy() <= request.radius_m].copy()  # none inside: the same columns, no rows
    for col, default in (("label", None), ("city_property", False), ("heritage", False)):
        if col not in inside:
            inside[col] = default
    inside["label"] = inside["label"].where(inside["label"].notna(), inside["kind"])
    inside["city_property"] = inside["city_property"].fillna(False).astype(bool)
    inside["heritage"] = inside["heritage"].fillna(False).astype(bool)
    ip = inside.geometry.representative_point()
    xy = np.c_[ip.x, ip.y]
    inside["distance_to_centre_m"] = np.hypot(ip.x - request.x, ip.y - request.y).round(1)
    p = pois.to_crs(surface.crs)
    for cat in SENSITIVE:
        inside[f"nearest_{cat}_m"] = _nearest(xy, p, cat).round(1)
    inside["colocation"] = inside["kind"] == "existing_mast"
    shape = surface.dsm.shape
    outdoor_cells, building = ~surface.in_building, surface.in_building
    c_crs = cells.to_crs(surface.crs)
    people_out = population_raster(c_crs, surface.transform, shape, valid=outdoor_cells)
    people_in = population_raster(c_crs, surface.transform, shape, valid=building) if building.any() \
        else np.zeros(shape)
    fc = frequency_mhz or _band(request.technology) or 1800.0
    own = np.full(shape, NODATA) if current_best is None else current_best
    own_in = indoor(own, surface, fc, _share(high_loss_share))
    any_in = None if current_all is None else indoor(current_all, surface, fc, _share(high_loss_share))
    gains: list[tuple[float, float, float]] = []
    for r, (x, y) in zip(inside.itertuples(), xy, strict=True):
        new = _candidate_rsrp(request, r, x, y, surface)
        if new is None:  # no surface there: no coverage prediction
            gains.append((np.nan, np.nan, np.nan))
            continue
        new_in = indoor(new, surface, fc, _share(high_loss_share))
        ok_in = (new_in >= threshold_dbm) & building
        g_out = people_out[(new >= threshold_dbm) & ~(own >= threshold_dbm) & outdoor_cells].sum()
        g_in = people_in[ok_in & ~(own_in >= threshold_dbm)].sum()
        g_any = np.nan if any_in is None else people_in[ok_in & ~(any_in >= threshold_dbm)].sum()
        gains.append((float(g_out), float(g_in), float(g_any)))
    g = np.array(gains, dtype=float).reshape(-1, 3)
    inside["outside_surface"] = np.isnan(g[:, 0])
    inside["people_newly_covered_outdoor"] = np.nan_to_num(g[:, 0]).round(0)
    inside["people_newly_covered_indoor"] = np.nan_to_num(g[:, 1]).round(0)
    inside["people_newly_covered_indoor_any_network"] = g[:, 2].round(0)
    inside["gain_assumed"] = "default sector parameters (3 sectors, EIRP, tilt, band) of the requested technology"
    sens = inside[[f"nearest_{c}_m" for c in SENSITIVE]].min(axis=1)
    gmax = max(inside["people_newly_covered_indoor"].max(), 1.0)
    inside["score_centre"] = (w.centre * (1 - inside["distance_to_centre_m"] / request.radius_m)).round(3)
    inside["score_sensitive"] = (w.sensitive * np.minimum(sens / w.sensitive_ok_m, 1.0)).round(3)
    inside["score_colocation"] = (w.colocation * inside["colocation"].astype(float)).round(3)
    inside["score_city_property"] = (w.city_property * inside["city_property"].astype(float)).round(3)
    inside["score_heritage"] = (-w.heritage * inside["heritage"].astype(float)).round(3)
    inside["score_gain"] = (w.gain * inside["people_newly_covered_indoor"] / gmax).round(3)
    parts = ["score_centre", "score_sensitive", "score_colocation", "score_city_property", "score_heritage",
             "score_gain"]
    inside["score"] = inside[parts].sum(axis=1).round(3)
    inside = inside.sort_values("score", ascending=False)
    inside["rank"] = np.arange(1, len(inside) + 1)
    inside["reasons"] = [_reasons(row, w, request.radius_m) for _, row in inside.iterrows()]
    return inside


def _band(technology: str) -> float | None:
    """The band a request's technology is planned in: as written ("LTE800"), else the technology's usual band."""
    tech, band = technology_band(technology)
    return band or TECH_BAND_MHZ.get(tech)


def _share(value: float | None) -> float:
    from netzatlas.coverage.pathloss import HIGH_LOSS_SHARE

    return HIGH_LOSS_SHARE if value is None else value


def own_network(rasters: dict[tuple[str, str], np.ndarray], operator: str, technology: str
                ) -> tuple[np.ndarray | None, list[tuple[str, str]]]:
    """Today's best RSRP of one operator's network in one technology, and which groups it came from."""
    keys = [k for k in rasters if operator_matches(operator, k[0]) and technology_matches(technology, k[1])]
    if not keys:
        return None, []
    return np.max(np.stack([rasters[k] for k in keys]), axis=0), keys


def gain_explanation(request: MastRequest, groups: list[tuple[str, str]], cells: gpd.GeoDataFrame,
                     threshold_dbm: float, high_loss_share: float | None = None) -> str:
    """What "people newly covered" means for this request, in words for the report."""
    from netzatlas.coverage.signal import indoor_note
    from netzatlas.mobile_sites.defaults import MACRO

    pop = pd.to_numeric(cells["population_estimate"], errors="coerce").fillna(0)
    cent = cells.geometry.centroid
    dist = np.hypot(cent.x - request.x, cent.y - request.y) if len(cells) else np.array([])
    in_ring = float(pop[dist <= request.radius_m].sum()) if len(cells) else 0.0
    in_reach = float(pop[dist <= request.radius_m + MACRO.max_radius_m].sum()) if len(cells) else 0.0
    own = (", ".join(f"{o}/{t}" for o, t in groups) if groups else
           "none — the registry knows no site of this operator in this technology (sites with operator unknown "
           "are not counted as its network), so every cell it would serve counts as new; the column "
           "people_newly_covered_indoor_any_network gives the lower bound against every public site")
    return (f"People newly covered = people in cells where the candidate brings RSRP ≥ {threshold_dbm:g} dBm for "
            f"{request.operator} ({request.technology}) and the operator's own network does not today. Own network "
            f"taken from: {own}. Outdoor: 1.5 m above ground on cells outside buildings, people spread over those "
            f"cells; indoor: {indoor_note(high_loss_share)}, people spread over the building cells. Population: "
            f"the 100 m Zensus estimate; ≈ {in_ring:,.0f} people live within the {request.radius_m:g} m search "
            f"ring and ≈ {in_reach:,.0f} within the reach of a macro candidate in it ({MACRO.max_radius_m:g} m "
            f"beyond the ring) — no gain can exceed that.")
