"""AFIR checks, Regulation (EU) 2023/1804 (pure: data frames in, data frames out).

- Fleet-based target (Art. 3): publicly accessible charging power of at least **1.3 kW per registered
  battery-electric car** and **0.8 kW per plug-in hybrid**, per municipality here (the regulation sets it per
  Member State; municipalities use it as a planning yardstick).
- Ad-hoc payment (Art. 5): every public charging point of **≥ 50 kW** accepts payment cards (card reader or
  contactless). A point is flagged only where its data lists payment methods without a card: no payment data
  means "unknown", not a violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

KW_PER_BEV = 1.3
KW_PER_PHEV = 0.8
ADHOC_PAYMENT_MIN_KW = 50.0

#: words of payment lists (register "Bezahlsysteme", OSM payment:* keys, OCPI capabilities) meaning a payment card
_CARD = re.compile(r"kredit|credit|debit|ec[- ]?karte|girocard|maestro|visa|master ?card|v pay|bankkarte|"
                   r"zahlungskarte|kartenzahlung|kontaktlos|contactless|nfc|card_payable|(?<!membership_)cards?$", re.I)
_FREE = re.compile(r"kostenlos|kostenfrei|gratis|free|ohne bezahlung", re.I)
_OCPI_CARD = {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CONTACTLESS_CARD_PAYABLE"}


def fleet_target_kw(bev: float, phev: float) -> float:
    """The AFIR fleet-based target in kW for ``bev`` battery-electric and ``phev`` plug-in hybrid cars."""
    return KW_PER_BEV * float(bev) + KW_PER_PHEV * float(phev)


def municipality_ags(ars: Any) -> str | None:
    """The 8-digit AGS of a 12-digit ARS (Land, Regierungsbezirk, Kreis + Gemeinde; the Verband digits dropped)."""
    s = "" if ars is None else re.sub(r"\D", "", str(ars))
    return s[:5] + s[9:] if len(s) == 12 else s if len(s) == 8 else None


def installed_per_region(chargers: gpd.GeoDataFrame, municipalities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Public chargers, charge points and kW inside each municipality (``ars`` column): region_key (AGS),
    chargers, charge_points, installed_kw. Chargers without power count with 0 kW (``kw_missing`` counts them)."""
    cols = ["region_key", "chargers", "charge_points", "installed_kw", "kw_missing"]
    if municipalities is None or municipalities.empty:
        return pd.DataFrame(columns=cols)
    m = municipalities.assign(region_key=[municipality_ags(a) for a in municipalities["ars"]])
    m = m[m["region_key"].notna()][["region_key", m.geometry.name]]
    if chargers is None or chargers.empty:
        return pd.DataFrame({"region_key": m["region_key"].unique(), "chargers": 0, "charge_points": 0,
                             "installed_kw": 0.0, "kw_missing": 0})[cols]
    c = chargers.to_crs(m.crs)[[chargers.geometry.name]].assign(
        charge_points=pd.to_numeric(chargers.get("charge_points"), errors="coerce").fillna(1).values,
        power_kw=pd.to_numeric(chargers.get("power_kw"), errors="coerce").values)
    joined = gpd.sjoin(c, m, predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()]  # a point on a shared border counts once
    agg = joined.groupby("region_key").agg(chargers=("power_kw", "size"), charge_points=("charge_points", "sum"),
                                           installed_kw=("power_kw", lambda s: float(s.fillna(0).sum())),
                                           kw_missing=("power_kw", lambda s: int(s.isna().sum())))
    out = pd.DataFrame({"region_key": m["region_key"].unique()}).merge(agg.reset_index(), how="left")
    return out.fillna({"chargers": 0, "charge_points": 0, "installed_kw": 0.0, "kw_missing": 0}).astype(
        {"chargers": int, "charge_points": int, "kw_missing": int})[cols]


def fleet_check(counts: pd.DataFrame, installed: pd.DataFrame) -> pd.DataFrame:
    """Per region of ``counts`` (region_key, name, stichtag, bev, phev): the target, the installed public power
    (NaN where the registry has no boundary for the region), their ratio, met / not met (None: unknown), and the
    shortfall in kW."""
    out = counts.merge(installed, on="region_key", how="left")
    out["target_kw"] = [round(fleet_target_kw(b, p), 1) for b, p in zip(out["bev"], out["phev"], strict=True)]
    known = out["installed_kw"].notna()
    out["ratio"] = np.where(known & (out["target_kw"] > 0), out["installed_kw"] / out["target_kw"].replace(0, np.nan),
                            np.nan).round(3)
    out["met"] = [bool(i >= t) if k else None for i, t, k in zip(out["installed_kw"], out["target_kw"], known,
                                                                    strict=True)]
    out["shortfall_kw"] = np.where(known, np.maximum(out["target_kw"] - out["installed_kw"].fillna(0), 0), np.nan)
    out["shortfall_kw"] = out["shortfall_kw"].round(1)
    return out


def point_powers(power_kw: Any, charge_points: Any, plugs: Any) -> tuple[list[float], str]:
    """The power of each charging point and what it was read from: the register's per-point plug powers
    (``plugs``: [{"point": i, "power_kw": [...]}]), else the station's power for each point."""
    if isinstance(plugs, list) and plugs:
        kws = [max(float(k) for k in p["power_kw"]) for p in plugs
               if isinstance(p, Mapping) and p.get("power_kw")]
        if kws:
            return kws, "per point"
    kw = pd.to_numeric(pd.Series([power_kw]), errors="coerce").iloc[0]
    if pd.isna(kw):
        return [], "no power"
    n = pd.to_numeric(pd.Series([charge_points]), errors="coerce").iloc[0]
    return [float(kw)] * (int(n) if not pd.isna(n) and n >= 1 else 1), "station power"


def payment_methods(properties: Mapping[str, Any] | None) -> list[str] | None:
    """The payment methods a charger's data lists (register ``Bezahlsysteme``, OSM ``payment:*=yes``, OCPI EVSE
    ``capabilities``/``payment``), or None when it says nothing about payment."""
    if not isinstance(properties, Mapping):
        return None
    methods: list[str] = []
    found = False
    reg = properties.get("Bezahlsysteme")
    if reg not in (None, ""):
        found = True
        methods += [m.strip() for m in re.split(r"[;,]", str(reg)) if m.strip()]
    for k, v in properties.items():
        if str(k).startswith("payment:"):
            found = True
            if str(v).strip().lower() in ("yes", "true", "1"):
                methods.append(str(k).split(":", 1)[1])
    if str(properties.get("fee", "")).lower() == "no":
        found = True
        methods.append("free")
    for key in ("capabilities", "payment"):
        vals = properties.get(key)
        if isinstance(vals, str):
            vals = [vals]
        if isinstance(vals, Iterable) and not isinstance(vals, Mapping):
            vals = [str(v) for v in vals]
            if key == "payment" or any(v in _OCPI_CARD or v.endswith("_PAYABLE") for v in vals):
                found = True
            methods += [v for v in vals if key == "payment" or v in _OCPI_CARD]
    return methods if found else None


def adhoc_card(methods: list[str] | None) -> bool | None:
    """True: a payment card is accepted (or charging is free); False: payment methods are listed, none a card;
    None: no payment data."""
    if methods is None:
        return None
    return any(_CARD.search(m) or _FREE.search(m) or m in _OCPI_CARD for m in methods)


def payment_check(chargers: pd.DataFrame) -> pd.DataFrame:
    """The chargers with a point of ≥ 50 kW: their fastest point, the payment methods their data lists and the
    verdict (``adhoc_card``: True / False / None) with ``flagged`` = the data says no card payment."""
    rows = []
    for r in chargers.itertuples(index=False):
        props = getattr(r, "properties", None)
        props = props if isinstance(props, Mapping) else {}
        kws, basis = point_powers(getattr(r, "power_kw", None), getattr(r, "charge_points", None),
                                  props.get("plugs"))
        fast = [k for k in kws if k >= ADHOC_PAYMENT_MIN_KW]
        if not fast:
            continue
        methods = payment_methods(props)
        verdict = adhoc_card(methods)
        rows.append({"external_id": getattr(r, "external_id", None), "source": getattr(r, "source", None),
                     "name": getattr(r, "name", None), "operator": getattr(r, "operator", None),
                     "points_50kw": len(fast), "max_kw": max(fast), "power_basis": basis,
                     "payment": "; ".join(methods) if methods else ("—" if methods is None else ""),
                     "adhoc_card": verdict, "flagged": verdict is False,
                     "geometry": getattr(r, "geometry", None)})
    cols = ["external_id", "source", "name", "operator", "points_50kw", "max_kw", "power_basis", "payment",
            "adhoc_card", "flagged", "geometry"]
    out = pd.DataFrame(rows, columns=cols)
    if isinstance(chargers, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry="geometry", crs=chargers.crs)
    return out
