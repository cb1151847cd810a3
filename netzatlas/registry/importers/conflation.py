"""Conflation: link records of two sources that describe the same asset instead of counting them twice.

Rule (documented in docs/importers.md): candidates are pairs within ``max_distance_m`` (default 50 m, in
EPSG:25832); where both records name an operator, the normalised names must share a word (e.g. "STAWAG" and
"STAWAG - Stadtwerke Aachen AG"); pairs are taken nearest first, each record linked at most once.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

STOPWORDS = {"gmbh", "ag", "kg", "co", "und", "mbh", "se", "the", "stadtwerke", "energie", "e", "v", "ev", "der",
             "die", "das", "de", "deutschland", "germany"}


def operator_tokens(name: object) -> set[str]:
    if not isinstance(name, str) or not name.strip():
        return set()
    words = re.findall(r"[a-zäöüß0-9]+", name.lower())
    return {w for w in words if w not in STOPWORDS and len(w) > 1}


def conflate(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, max_distance_m: float = 50.0,
             operator_column: str = "operator") -> pd.DataFrame:
    """One-to-one links between ``a`` and ``b`` (columns external_id_a/b, distance_m, operator_match, method)."""
    cols = ["external_id_a", "external_id_b", "distance_m", "operator_match", "method"]
    if a.empty or b.empty:
        return pd.DataFrame(columns=cols)
    pa = a.to_crs(25832).geometry.representative_point()
    pb = b.to_crs(25832).geometry.representative_point()
    xa, xb = np.c_[pa.x, pa.y], np.c_[pb.x, pb.y]
    pairs = cKDTree(xa).query_ball_tree(cKDTree(xb), r=max_distance_m)
    cand = []
    ops_a = a[operator_column].map(operator_tokens).values if operator_column in a else [set()] * len(a)
    ops_b = b[operator_column].map(operator_tokens).values if operator_column in b else [set()] * len(b)
    for i, js in enumerate(pairs):
        for j in js:
            oa, ob = ops_a[i], ops_b[j]
            if oa and ob and not (oa & ob):
                continue
            cand.append((float(np.hypot(*(xa[i] - xb[j]))), i, j, bool(oa and ob)))
    cand.sort()
    used_a, used_b, rows = set(), set(), []
    for d, i, j, op in cand:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        rows.append((a["external_id"].iloc[i], b["external_id"].iloc[j], round(d, 1), op,
                     "distance+operator" if op else "distance"))
    return pd.DataFrame(rows, columns=cols)
