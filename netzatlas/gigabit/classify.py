"""Classification per address: best supply, NGA networks, binding plans, class and eligibility with a reason.

Classes (German name, English alongside):
- ``gigabitfähig`` / gigabit: a gigabit-capable technology delivers at least the programme's gigabit rate now;
- ``schwarz`` / black: two or more distinct NGA networks (operators) available;
- ``dunkelgrau`` / dark grey: exactly one NGA network, best download at least ``light_grey_below_down_mbps``;
- ``hellgrau`` / light grey: exactly one NGA network, best download below that;
- ``weiß`` / white: no NGA network.
Eligible: no single network meets one of the programme's ``served_if`` thresholds now, and no (binding, where the
programme demands it) plan within the horizon will; socio-economic addresses follow their programme's rule.
This module is the pure path (DataFrames in, DataFrame out); ``classify_sql`` is the same logic in PostGIS.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from netzatlas.errors import InvalidInput
from netzatlas.gigabit.programmes import Programme

CLASSES = {"weiß": "white", "hellgrau": "light grey", "dunkelgrau": "dark grey", "schwarz": "black",
           "gigabitfähig": "gigabit"}
SUPPLY_COLUMNS = ["address_id", "operator", "technology", "down_mbps", "up_mbps", "status", "planned_date", "binding"]
OUTPUT_COLUMNS = ["address_id", "best_down_mbps", "best_up_mbps", "best_technology", "nga_networks",
                  "planned_down_mbps", "planned_up_mbps", "planned_date", "binding_plan", "class_de", "class_en",
                  "eligible", "reason"]


def horizon_end(reference: date, years: float) -> date:
    """The end of the planning horizon: whole calendar years, plus days for a fraction of a year."""
    whole = int(years)
    return (pd.Timestamp(reference) + pd.DateOffset(years=whole, days=round(365.25 * (years - whole)))).date()


def fmt(x: pd.Series) -> pd.Series:
    """Numbers as people write them: 100, 16.5 (same as the SQL path)."""
    return x.map(_num)


def _num(v: object) -> str:
    if v is None or pd.isna(v):
        return ""
    text = repr(float(v))  # the shortest exact form, as PostgreSQL prints float8
    return text[:-2] if text.endswith(".0") else text


def _meets(down: pd.Series, up: pd.Series, programme: Programme) -> pd.Series:
    out = pd.Series(False, index=down.index)
    for t in programme.served_if:
        out |= (down >= t.down_mbps) & (up >= t.up_mbps)
    return out


def _best(rows: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Per address the row with the highest download (then upload, then technology name)."""
    if rows.empty:
        return pd.DataFrame(columns=[f"{prefix}_down_mbps", f"{prefix}_up_mbps", f"{prefix}_technology",
                                     f"{prefix}_date"]).rename_axis("address_id")
    r = rows.assign(_pd=pd.to_datetime(rows["planned_date"])).sort_values(
        ["address_id", "down_mbps", "up_mbps", "technology", "_pd"], ascending=[True, False, False, True, False])
    first = r.drop_duplicates("address_id").set_index("address_id")
    return pd.DataFrame({f"{prefix}_down_mbps": first["down_mbps"], f"{prefix}_up_mbps": first["up_mbps"],
                         f"{prefix}_technology": first["technology"], f"{prefix}_date": first["planned_date"]})


def validate_supply(supply: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in SUPPLY_COLUMNS if c not in supply.columns]
    if missing:
        raise InvalidInput(f"supply is missing column(s) {', '.join(missing)}")
    s = supply[SUPPLY_COLUMNS].copy()
    s["down_mbps"] = pd.to_numeric(s["down_mbps"]).astype(float)
    s["up_mbps"] = pd.to_numeric(s["up_mbps"]).astype(float)
    s["binding"] = s["binding"].fillna(False).astype(bool)
    s["planned_date"] = pd.to_datetime(s["planned_date"]).dt.date
    return s


def classify(addresses: pd.DataFrame, supply: pd.DataFrame, programme: Programme, reference_date: date
             ) -> pd.DataFrame:
    """One row per address (see the module docstring); vectorised, no loop over addresses."""
    if "address_id" not in addresses.columns:
        raise InvalidInput("addresses need an address_id column")
    s = validate_supply(supply)
    s = s[s["address_id"].isin(addresses["address_id"])]
    nga = s["technology"].isin(programme.nga_technologies) | (
        s["technology"].isin(programme.wireless_nga_technologies)
        & (s["down_mbps"] >= programme.wireless_nga_min_down_mbps))
    meets = _meets(s["down_mbps"], s["up_mbps"], programme)
    available = s["status"] == "available"
    end = horizon_end(reference_date, programme.horizon_years)
    in_horizon = (s["status"] == "planned") & s["planned_date"].map(lambda d: d is not None and not pd.isna(d)
                                                                     and d <= end)
    counted_plan = in_horizon & (s["binding"] | (not programme.binding_plans_only))
    gigabit = available & s["technology"].isin(programme.gigabit_technologies) & (
        s["down_mbps"] >= programme.gigabit_min_down_mbps)
    fibre = available & s["technology"].isin(["ftth", "fttb"])

    g = pd.DataFrame({"address_id": s["address_id"], "nga_op": s["operator"].where(available & nga),
                      "served": available & meets, "plan": counted_plan & meets, "gigabit": gigabit,
                      "fibre": fibre})
    agg = g.groupby("address_id").agg(nga_networks=("nga_op", "nunique"), served=("served", "any"),
                                      plan=("plan", "any"), gigabit=("gigabit", "any"), fibre=("fibre", "any"))
    best = _best(s[available], "best")
    planned = _best(s[counted_plan], "planned")
    out = addresses[["address_id"]].drop_duplicates().set_index("address_id")
    out = out.join(agg).join(best).join(planned)
    for c in ("served", "plan", "gigabit", "fibre"):
        out[c] = out[c].fillna(False).astype(bool)
    out["nga_networks"] = out["nga_networks"].fillna(0).astype(int)

    bd = out["best_down_mbps"].astype(float)
    klass = np.select(
        [out["gigabit"], out["nga_networks"] >= 2,
         (out["nga_networks"] == 1) & (bd >= programme.light_grey_below_down_mbps), out["nga_networks"] == 1],
        ["gigabitfähig", "schwarz", "dunkelgrau", "hellgrau"], default="weiß")
    out["class_de"] = klass
    out["class_en"] = out["class_de"].map(CLASSES)
    eligible = ~out["served"] & ~out["plan"]
    socio = addresses.drop_duplicates("address_id").set_index("address_id").get("socio_economic")
    socio = socio.reindex(out.index) if socio is not None else pd.Series(None, index=out.index, dtype=object)
    in_cat = socio.isin(programme.socio_economic.categories)
    rule = programme.socio_economic.rule
    override = pd.Series(False, index=out.index)
    if rule == "eligible_regardless":
        override = in_cat & ~out["gigabit"]
    elif rule == "eligible_without_fibre":
        override = in_cat & ~out["fibre"]
    out["eligible"] = eligible | override
    out["binding_plan"] = out["plan"]
    out["reason"] = _reasons(out, programme, override, socio)
    out = out.reset_index()
    out["planned_date"] = out["planned_date"].where(out["planned_date"].notna(), None)
    return out[OUTPUT_COLUMNS]


def _reasons(out: pd.DataFrame, programme: Programme, override: pd.Series, socio: pd.Series) -> pd.Series:
    years = f"{programme.horizon_years:g}"
    plan_word = "binding plan" if programme.binding_plans_only else "plan"
    thr = programme.thresholds_text()
    best = fmt(out["best_down_mbps"]) + "/" + fmt(out["best_up_mbps"]) + " Mbit/s (" + \
        out["best_technology"].fillna("").astype(str) + ")"
    plan = fmt(out["planned_down_mbps"]) + "/" + fmt(out["planned_up_mbps"]) + " Mbit/s (" + \
        out["planned_technology"].fillna("").astype(str) + ") by " + out["planned_date"].astype(str)
    no_plan = f"; no {plan_word} within {years} years"
    reason = np.select(
        [out["served"], out["plan"], out["nga_networks"] == 0],
        ["served: " + best + " meets " + thr,
         plan_word + " within " + years + " years: " + plan + " meets " + thr,
         "no NGA network" + no_plan],
        default="best " + best + " below " + thr + no_plan)
    reason = pd.Series(reason, index=out.index)
    why = "eligible regardless" if programme.socio_economic.rule == "eligible_regardless" else "no FTTB/H"
    extra = "; socio-economic focal point (" + socio.fillna("").astype(str) + f"): {why} under {programme.id}"
    return reason.where(~override, reason + extra)
