"""Address normalisation and matching of market-exploration answers to the register.

Order: by address id, else by normalised street + house number + suffix + postcode, else (where both sides
have coordinates) the nearest register address within a tolerance. Rules:
- streets: case-folded; ß → ss, ä/ö/ü → ae/oe/ue; "straße", "strasse", "str." → "str"; spaces, dots and hyphens
  dropped ("Karl-Marx-Allee" = "karl marx allee");
- numbers: "12a" = "12 A" = "12 a" (number 12, suffix "a"); a range "12-14" (also "12–14", "14-12"; "12/14" is NOT a
  range) stands for every number from 12 to 14 — all parities, since German ranges on one building name its
  entrances — and the answer is applied to each of them that the register has; "12a-12c" and "12a-c" stand for
  12a, 12b, 12c; ranges longer than ``MAX_RANGE`` numbers are not expanded (the row stays unmatched);
- postcode: used when both sides have one; otherwise street + number must be unique in the register.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

_RANGE = re.compile(r"^\s*(\d+)\s*[a-zA-Z]?\s*[-–]\s*(\d+)\s*[a-zA-Z]?\s*$")
_LETTERS = re.compile(r"^\s*(\d+)\s*([a-zA-Z])\s*[-–]\s*(?:(\d+)\s*)?([a-zA-Z])\s*$")   # 12a-12c, 12a-c
_NUM = re.compile(r"^\s*(\d+)\s*([a-zA-Z])?\s*$")
MAX_RANGE = 50


def normalise_street(name: object) -> str:
    if not isinstance(name, str):
        return ""
    s = name.strip().lower()
    s = s.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    s = re.sub(r"(strasse|str\.|str\b)", "str", s)
    return re.sub(r"[\s.\-]+", "", s)


def split_number(value: object, suffix: object = None) -> list[tuple[str, str]]:
    """House number (+ separate suffix) → [(number, suffix)], ranges expanded; [] if unreadable."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    v = str(value).strip()
    suf = "" if suffix is None or (isinstance(suffix, float) and np.isnan(suffix)) else str(suffix).strip().lower()
    m = _LETTERS.match(v)
    if m and (m.group(3) is None or int(m.group(3)) == int(m.group(1))):
        lo, hi = sorted((m.group(2).lower(), m.group(4).lower()))
        return [(str(int(m.group(1))), chr(c)) for c in range(ord(lo), ord(hi) + 1)]
    m = _RANGE.match(v)
    if m:
        a, b = sorted((int(m.group(1)), int(m.group(2))))
        if b - a <= MAX_RANGE:
            return [(str(n), "") for n in range(a, b + 1)]
    m = _NUM.match(v)
    if m:
        return [(str(int(m.group(1))), (m.group(2) or suf).lower())]
    if v.isdigit():
        return [(str(int(v)), suf)]
    return []


def _keys(df: pd.DataFrame, with_postcode: bool) -> pd.DataFrame:
    """One row per (row index, key) — ranges give several keys for one row."""
    rows = []
    for idx, street, num, suf, plz in zip(df.index, df["street"], df["house_number"],
                                          df.get("house_number_suffix", pd.Series(None, index=df.index)),
                                          df.get("postcode", pd.Series(None, index=df.index)), strict=True):
        st = normalise_street(street)
        for n, s in split_number(num, suf):
            key = f"{st}|{n}|{s}" + (f"|{str(plz).strip()}" if with_postcode else "")
            rows.append((idx, key))
    return pd.DataFrame(rows, columns=["row", "key"])


def match_addresses(answers: pd.DataFrame, register: pd.DataFrame, *, tolerance_m: float = 25.0) -> pd.DataFrame:
    """Matches (answer row index, address_id, method); an answer row may match several addresses (ranges).

    ``register``: address_id, street, house_number, house_number_suffix, postcode, and optionally x/y (metric).
    ``answers``: the same columns (address_id optional), optionally x/y in the same CRS.
    """
    out: list[pd.DataFrame] = []
    todo = answers.index
    if "address_id" in answers.columns:
        known = set(register["address_id"].astype(str))
        ids = answers["address_id"].astype(str)
        hit = answers["address_id"].notna() & ids.isin(known)
        out.append(pd.DataFrame({"row": answers.index[hit], "address_id": ids[hit], "method": "address_id"}))
        todo = answers.index[~hit]
    for with_plz in (True, False):
        if len(todo) == 0:
            break
        sub = answers.loc[todo]
        if with_plz and "postcode" in sub:
            sub = sub[sub["postcode"].notna()]
        ak, rk = _keys(sub, with_plz), _keys(register.set_index(register.index), with_plz)
        rk["address_id"] = register.loc[rk["row"], "address_id"].astype(str).to_numpy()
        unique = rk.drop_duplicates("key", keep=False) if not with_plz else rk
        m = ak.merge(unique[["key", "address_id"]], on="key")
        if not m.empty:
            out.append(pd.DataFrame({"row": m["row"], "address_id": m["address_id"],
                                     "method": "street+number+postcode" if with_plz else "street+number"}))
            todo = todo.difference(m["row"])
    if len(todo) and {"x", "y"} <= set(answers.columns) and {"x", "y"} <= set(register.columns):
        sub = answers.loc[todo].dropna(subset=["x", "y"])
        if len(sub):
            tree = cKDTree(register[["x", "y"]].to_numpy())
            d, i = tree.query(sub[["x", "y"]].to_numpy(), distance_upper_bound=tolerance_m)
            ok = np.isfinite(d)
            out.append(pd.DataFrame({"row": sub.index[ok], "address_id": register["address_id"].astype(str)
                                     .to_numpy()[i[ok]], "method": "nearest", "distance_m": d[ok].round(1)}))
    res = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["row", "address_id", "method"])
    return res.drop_duplicates(["row", "address_id"])


def conflicts(answers: pd.DataFrame, matches: pd.DataFrame, existing_supply: pd.DataFrame | None = None
              ) -> pd.DataFrame:
    """Conflicting answers: two operators with binding plans for one address; an operator claiming supply (or a
    plan) at an address that is not in the register (an unmatched row); an operator claiming supply at an address
    where the register has none of that operator."""
    m = matches.merge(answers, left_on="row", right_index=True)
    rows = []
    lost = answers[~answers.index.isin(matches["row"])]
    claims = lost["down_mbps"].fillna(0).gt(0) if "down_mbps" in lost else pd.Series(False, index=lost.index)
    if "planned_technology" in lost:
        claims |= lost["planned_technology"].notna()
    for i, r in lost[claims].iterrows():
        where = " ".join(str(r.get(c)) for c in ("street", "house_number", "house_number_suffix", "postcode")
                         if r.get(c) is not None and not pd.isna(r.get(c)))
        rows.append({"address_id": None, "kind": "address not in the register",
                     "detail": f"row {r.get('row', i)}: {r.get('operator', '')} claims supply at {where or '?'}"})
    plans = m[m["planned_technology"].notna() & m["binding"].astype(bool)]
    multi = plans.groupby("address_id")["operator"].nunique()
    for aid in multi[multi > 1].index:
        ops = sorted(plans.loc[plans.address_id == aid, "operator"].unique())
        rows.append({"address_id": aid, "kind": "two binding plans", "detail": " and ".join(ops)})
    if existing_supply is not None:
        have = set(zip(existing_supply["address_id"].astype(str), existing_supply["operator"], strict=True))
        claims = m[m["down_mbps"].fillna(0) > 0]
        for aid, op in zip(claims["address_id"], claims["operator"], strict=True):
            if (aid, op) not in have:
                rows.append({"address_id": aid, "kind": "supply unknown to the register",
                             "detail": f"{op} claims supply the register does not show"})
    return pd.DataFrame(rows, columns=["address_id", "kind", "detail"])
