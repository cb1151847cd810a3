"""Classification per address: best supply, NGA networks, binding plans, class and eligibility with a reason.

Classes (German name, English alongside):
- ``gigabitfähig`` / gigabit: a gigabit-capable technology delivers at least the programme's gigabit rate now;
- ``schwarz`` / black: two or more distinct NGA networks (operators) available;
- ``dunkelgrau`` / dark grey: exactly one NGA network, best download at least ``light_grey_below_down_mbps``;
- ``hellgrau`` / light grey: exactly one NGA network, best download below that;
- ``weiß`` / white: no NGA network.
NGA: an NGA technology (wired, or wireless above its own floor) delivering at least ``nga_min_down_mbps`` down.
Eligible: no single network meets one of the programme's ``served_if`` thresholds now, and no (binding, where the
programme demands it) plan within the horizon will; a plan whose milestone lies before the reference date is
overdue (flagged, not counted); socio-economic addresses follow their programme's rule while it is in force.
This module is the pure path (DataFrames in, DataFrame out); ``classify_sql`` is the same logic in PostGIS.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from netzatlas.errors import InvalidInput
from netzatlas.gigabit.classify_common import (  # noqa: F401 - re-exported
    BUSINESS_HINT_TEXT,
    CLASSES,
    FIBRE_TECHNOLOGIES,
    OUTPUT_COLUMNS,
    OVERDUE_TEXT,
    PRE_MARKETING_TEXT,
    SUPPLY_COLUMNS,
    horizon_end,
)
from netzatlas.gigabit.programmes import Programme


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
    pre = supply["vorvermarktung"] if "vorvermarktung" in supply.columns else pd.Series(False, index=supply.index)
    s["vorvermarktung"] = pre.fillna(False).astype(bool)
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
    down = s["down_mbps"]
    nga = (s["technology"].isin(programme.nga_technologies) & (down >= programme.nga_min_down_mbps)) | (
        s["technology"].isin(programme.wireless_nga_technologies) & (down >= programme.wireless_nga_min_down_mbps)
        & (down >= programme.nga_min_down_mbps))
    meets = _meets(s["down_mbps"], s["up_mbps"], programme)
    available = s["status"] == "available"
    end = horizon_end(reference_date, programme.horizon_years)
    dated = s["planned_date"].map(lambda d: d is not None and not pd.isna(d))
    pdate = s["planned_date"].where(dated, date.max)
    planned = (s["status"] == "planned") & dated
    overdue = planned & (pdate < reference_date) & (not programme.overdue_plans_count)
    in_horizon = planned & ~overdue & (pdate <= end)
    counted_plan = in_horizon & (s["binding"] | (not programme.binding_plans_only))
    gigabit = available & s["technology"].isin(programme.gigabit_technologies) & (
        s["down_mbps"] >= programme.gigabit_min_down_mbps)
    fibre = available & s["technology"].isin(FIBRE_TECHNOLOGIES)

    g = pd.DataFrame({"address_id": s["address_id"], "nga_op": s["operator"].where(available & nga),
                      "served": available & meets, "plan": counted_plan & meets, "gigabit": gigabit,
                      "fibre": fibre, "overdue": overdue, "premkt": in_horizon & s["vorvermarktung"],
                      "overdue_date": pd.to_datetime(s["planned_date"]).where(overdue)})
    agg = g.groupby("address_id").agg(nga_networks=("nga_op", "nunique"), served=("served", "any"),
                                      plan=("plan", "any"), gigabit=("gigabit", "any"), fibre=("fibre", "any"),
                                      overdue=("overdue", "any"), premkt=("premkt", "any"),
                                      overdue_date=("overdue_date", "max"))
    best = _best(s[available], "best")
    planned_best = _best(s[counted_plan], "planned")
    out = addresses[["address_id"]].drop_duplicates().set_index("address_id")
    out = out.join(agg).join(best).join(planned_best)
    for c in ("served", "plan", "gigabit", "fibre", "overdue", "premkt"):
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
    override, hint, socio = _socio_economic(addresses, out, programme, reference_date)
    out["eligible"] = eligible | override
    out["binding_plan"] = out["plan"]
    out["overdue_plan"] = out["overdue"]
    out["pre_marketing"] = out["premkt"]
    out["reason"] = _reasons(out, programme, override, hint, socio)
    out = out.reset_index()
    out["planned_date"] = out["planned_date"].where(out["planned_date"].notna(), None)
    return out[OUTPUT_COLUMNS]


def _socio_economic(addresses: pd.DataFrame, out: pd.DataFrame, programme: Programme, reference_date: date
                    ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per address: made eligible by the socio-economic rule, counted only with a hint, and the category."""
    first = addresses.drop_duplicates("address_id").set_index("address_id")
    socio = first.get("socio_economic")
    socio = socio.reindex(out.index) if socio is not None else pd.Series(None, index=out.index, dtype=object)
    area = first.get("business_area")
    area = (area.reindex(out.index).fillna(False).astype(bool) if area is not None
            else pd.Series(False, index=out.index))
    se = programme.socio_economic
    none = pd.Series(False, index=out.index)
    if not se.in_force(reference_date):
        return none, none, socio
    in_cat = socio.isin(se.categories)
    outside = in_cat & (socio == "business") & ~area
    hint = outside if se.business_area == "hint" else none
    if se.business_area == "rule":
        in_cat = in_cat & ~outside
    if se.rule == "eligible_regardless":
        override = in_cat & ~out["gigabit"]
    elif se.rule == "eligible_without_fibre":
        override = in_cat & ~out["fibre"]
    else:  # eligible_if_grey: a grey address (one NGA network, no gigabit)
        override = in_cat & (out["nga_networks"] == 1) & ~out["gigabit"]
    return override, hint & override, socio


def _reasons(out: pd.DataFrame, programme: Programme, override: pd.Series, hint: pd.Series, socio: pd.Series
             ) -> pd.Series:
    years = f"{programme.horizon_years:g}"
    plan_word = "binding plan" if programme.binding_plans_only else "plan"
    thr = programme.thresholds_text()
    best = fmt(out["best_down_mbps"]) + "/" + fmt(out["best_up_mbps"]) + " Mbit/s (" + \
        out["best_technology"].fillna("").astype(str) + ")"
    plan = fmt(out["planned_down_mbps"]) + "/" + fmt(out["planned_up_mbps"]) + " Mbit/s (" + \
        out["planned_technology"].fillna("").astype(str) + ") by " + out["planned_date"].astype(str)
    # eligible despite a counted plan: the plan falls short of the thresholds (it is named, never "no plan")
    no_plan = ("; " + plan_word + " within " + years + " years below " + thr + ": " + plan).where(
        out["planned_down_mbps"].notna(), f"; no {plan_word} within {years} years")
    reason = np.select(
        [out["served"], out["plan"], out["nga_networks"] == 0],
        ["served: " + best + " meets " + thr,
         plan_word + " within " + years + " years: " + plan + " meets " + thr,
         "no NGA network" + no_plan],
        default="best " + best + " below " + thr + no_plan)
    reason = pd.Series(reason, index=out.index)
    overdue = OVERDUE_TEXT[0] + pd.to_datetime(out["overdue_date"]).dt.strftime("%Y-%m-%d") + OVERDUE_TEXT[1]
    reason = reason.where(~out["overdue"], reason + overdue)
    reason = reason.where(~out["premkt"], reason + PRE_MARKETING_TEXT)
    extra = "; socio-economic focal point (" + socio.fillna("").astype(str) + \
        f"): {programme.socio_economic.why()} under {programme.id}"
    extra = extra.where(~hint, extra + BUSINESS_HINT_TEXT)
    return reason.where(~override, reason + extra)
