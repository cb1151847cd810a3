"""Mast-request evaluation (Standortanfrage, "Suchkreis"): candidates inside the search ring, ranked.

Each candidate gets: distance to the ring centre; distances to the nearest kindergarten, school and hospital
(the municipal agreement asks for care near such facilities, DOMAIN.md §3); whether it is an existing mast
(co-location); the population newly covered — people in cells where the candidate would bring RSRP at or above the
threshold and today's best server does not (the coverage engine with default sector parameters, flagged as
assumed); and a suitability score with its components shown:
  score = w_centre · (1 − d_centre / radius) + w_sensitive · min(d_sensitive / sensitive_ok_m, 1)
        + w_coloc · co-location + w_gain · gain / max gain
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netzatlas.coverage.gaps import population_raster
from netzatlas.coverage.signal import NODATA
from netzatlas.coverage.surface import Surface
from netzatlas.errors import InvalidParameter
from netzatlas.mobile_sites.run import _site_windows
from netzatlas.mobile_sites.sites import sectors_for_site

STATUSES = ("received", "under_review", "alternative_proposed", "agreed", "rejected")
SENSITIVE = ("kindergarten", "school", "hospital")
ANSWER_WEEKS = 8


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

    def __post_init__(self) -> None:
        if self.radius_m <= 0:
            raise InvalidParameter("the search-ring radius must be positive")
        if self.desired_height_m <= 0:
            raise InvalidParameter("the desired height must be positive")
        if self.status not in STATUSES:
            raise InvalidParameter(f"unknown status {self.status!r}", hint="one of " + ", ".join(STATUSES))

    @property
    def deadline(self) -> date:
        """The municipality answers within 8 weeks (Mobilfunkvereinbarung, DOMAIN.md §3)."""
        return self.received_on + timedelta(weeks=ANSWER_WEEKS)


@dataclass(frozen=True)
class ScoreWeights:
    centre: float = 0.25
    sensitive: float = 0.25
    colocation: float = 0.2
    gain: float = 0.3
    sensitive_ok_m: float = 100.0


def _nearest(points: np.ndarray, pois: gpd.GeoDataFrame, category: str) -> np.ndarray:
    p = pois[pois["category"] == category]
    if p.empty:
        return np.full(len(points), np.inf)
    rp = p.geometry.representative_point()
    d, _ = cKDTree(np.c_[rp.x, rp.y]).query(points)
    return d


def evaluate(request: MastRequest, candidates: gpd.GeoDataFrame, pois: gpd.GeoDataFrame, surface: Surface,
             current_best: np.ndarray, cells: gpd.GeoDataFrame, *, threshold_dbm: float = -105.0,
             weights: ScoreWeights | None = None) -> gpd.GeoDataFrame:
    """Ranked candidates inside the ring. ``candidates`` needs ``kind`` (candidate_site, public_building,
    streetlight, existing_mast) and optionally ``height_m``; ``current_best``: today's best-server RSRP."""
    w = weights or ScoreWeights()
    c = candidates.to_crs(surface.crs)
    pts = c.geometry.representative_point()
    d_centre = np.hypot(pts.x - request.x, pts.y - request.y)
    inside = c[d_centre.to_numpy() <= request.radius_m].copy()
    if inside.empty:
        return inside.assign(score=[])
    ip = inside.geometry.representative_point()
    xy = np.c_[ip.x, ip.y]
    inside["distance_to_centre_m"] = np.hypot(ip.x - request.x, ip.y - request.y).round(1)
    p = pois.to_crs(surface.crs)
    for cat in SENSITIVE:
        inside[f"nearest_{cat}_m"] = _nearest(xy, p, cat).round(1)
    inside["colocation"] = inside["kind"] == "existing_mast"
    people = population_raster(cells.to_crs(surface.crs), surface.transform, surface.dsm.shape)
    covered_now = current_best >= threshold_dbm
    gains = []
    nrow, ncol = surface.dsm.shape
    for r, (x, y) in zip(inside.itertuples(), xy, strict=True):
        col, row = ~surface.transform @ (x, y)
        if not (0 <= row < nrow and 0 <= col < ncol):  # no surface there: no coverage prediction
            gains.append(float("nan"))
            continue
        small = r.kind == "streetlight"
        h = float(getattr(r, "height_m", np.nan)) if not pd.isna(getattr(r, "height_m", np.nan)) else None
        h = (h or 8.0) if small else max(h or 0.0, request.desired_height_m)
        secs = sectors_for_site(str(r.Index), x, y, height_m=h, operator=request.operator,
                                kind="small_cell" if small else "macro")
        data = _site_windows(secs, surface)
        new = np.full(surface.dsm.shape, NODATA)
        for i in range(len(secs)):
            r0, r1, c0, c1 = (int(v) for v in data[f"win_{i}"])
            new[r0:r1, c0:c1] = np.maximum(new[r0:r1, c0:c1], data[f"rsrp_{i}"])
        gains.append(float(people[(new >= threshold_dbm) & ~covered_now].sum()))
    inside["people_newly_covered"] = np.round(gains, 0)
    inside["outside_surface"] = np.isnan(inside["people_newly_covered"])
    inside["people_newly_covered"] = inside["people_newly_covered"].fillna(0)
    sens = inside[[f"nearest_{c}_m" for c in SENSITIVE]].min(axis=1)
    gmax = max(inside["people_newly_covered"].max(), 1.0)
    inside["score_centre"] = (w.centre * (1 - inside["distance_to_centre_m"] / request.radius_m)).round(3)
    inside["score_sensitive"] = (w.sensitive * np.minimum(sens / w.sensitive_ok_m, 1.0)).round(3)
    inside["score_colocation"] = (w.colocation * inside["colocation"].astype(float)).round(3)
    inside["score_gain"] = (w.gain * inside["people_newly_covered"] / gmax).round(3)
    inside["score"] = inside[["score_centre", "score_sensitive", "score_colocation", "score_gain"]].sum(axis=1).round(3)
    inside = inside.sort_values("score", ascending=False)
    inside["rank"] = np.arange(1, len(inside) + 1)
    return inside
