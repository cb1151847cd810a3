"""The classification of ``classify.py`` as one set-based, parameterised SQL statement for the registry.

Thresholds and lists come from the programme as bound parameters; the reason text is formatted exactly like the
pure function's, so both paths give identical results (tested on the real Aachen addresses).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from netzatlas.gigabit.classify import horizon_end
from netzatlas.gigabit.programmes import Programme

SQL = """
WITH techs AS (SELECT array_agg(code ORDER BY code) AS t FROM registry.vl_technology),
s AS (
  SELECT address_id, operator, technology, down_mbps AS d, up_mbps AS u, planned_date,
         status = 'available' AS avail,
         (technology = ANY(%(nga)s) OR (technology = ANY(%(wnga)s) AND down_mbps >= %(wmin)s)) AS nga,
         ({meets}) AS meets,
         (status = 'planned' AND planned_date <= %(hend)s AND (binding OR NOT %(binding_only)s)) AS cp,
         -array_position((SELECT t FROM techs), technology)::float8 AS tk
  FROM registry.broadband_supply WHERE deleted_at IS NULL),
per_op AS (
  SELECT address_id, bool_or(avail AND nga) AS nga_op, bool_or(avail AND meets) AS served,
         bool_or(cp AND meets) AS plan, bool_or(avail AND technology = ANY(%(gig)s) AND d >= %(gmin)s) AS gigabit,
         bool_or(avail AND technology IN ('ftth', 'fttb')) AS fibre,
         max(ARRAY[d, u, tk]) FILTER (WHERE avail) AS best,
         max(ARRAY[d, u, tk, (planned_date - DATE '1970-01-01')::float8]) FILTER (WHERE cp) AS pbest
  FROM s GROUP BY address_id, operator),
agg AS (
  SELECT address_id, count(*) FILTER (WHERE nga_op) AS nga_networks, bool_or(served) AS served,
         bool_or(plan) AS plan, bool_or(gigabit) AS gigabit, bool_or(fibre) AS fibre, max(best) AS best,
         max(pbest) AS pbest
  FROM per_op GROUP BY address_id),
c AS (
  SELECT a.id AS address_id, a.socio_economic, g.best[1] AS best_down_mbps, g.best[2] AS best_up_mbps,
         (SELECT t FROM techs)[-g.best[3]::int] AS best_technology, coalesce(g.nga_networks, 0)::int AS nga_networks,
         g.pbest[1] AS planned_down_mbps, g.pbest[2] AS planned_up_mbps,
         (SELECT t FROM techs)[-g.pbest[3]::int] AS planned_technology,
         DATE '1970-01-01' + g.pbest[4]::int AS planned_date,
         coalesce(g.served, false) AS served, coalesce(g.plan, false) AS plan,
         coalesce(g.gigabit, false) AS gigabit, coalesce(g.fibre, false) AS fibre
  FROM registry.fibre_address a LEFT JOIN agg g ON g.address_id = a.id
  WHERE a.deleted_at IS NULL),
k AS (
  SELECT c.*,
    CASE WHEN gigabit THEN 'gigabitfähig' WHEN nga_networks >= 2 THEN 'schwarz'
         WHEN nga_networks = 1 AND best_down_mbps >= %(grey_split)s THEN 'dunkelgrau'
         WHEN nga_networks = 1 THEN 'hellgrau' ELSE 'weiß' END AS class_de,
    (socio_economic = ANY(%(socio_cats)s) AND CASE %(socio_rule)s WHEN 'eligible_regardless' THEN NOT gigabit
         WHEN 'eligible_without_fibre' THEN NOT fibre ELSE false END) AS override
  FROM c)
SELECT address_id::text AS address_id, best_down_mbps, best_up_mbps, best_technology, nga_networks,
       planned_down_mbps, planned_up_mbps, planned_date, plan AS binding_plan, class_de,
       CASE class_de WHEN 'weiß' THEN 'white' WHEN 'hellgrau' THEN 'light grey' WHEN 'dunkelgrau' THEN 'dark grey'
            WHEN 'schwarz' THEN 'black' ELSE 'gigabit' END AS class_en,
       (NOT served AND NOT plan) OR coalesce(override, false) AS eligible,
       CASE WHEN served THEN 'served: ' || best_down_mbps || '/' || best_up_mbps || ' Mbit/s (' || best_technology
                 || ') meets ' || %(thr_text)s
            WHEN plan THEN %(plan_word)s || ' within ' || %(years)s || ' years: ' || planned_down_mbps || '/'
                 || planned_up_mbps || ' Mbit/s (' || planned_technology || ') by ' || planned_date || ' meets '
                 || %(thr_text)s
            WHEN nga_networks = 0 THEN 'no NGA network; no ' || %(plan_word)s || ' within ' || %(years)s || ' years'
            ELSE 'best ' || best_down_mbps || '/' || best_up_mbps || ' Mbit/s (' || best_technology || ') below '
                 || %(thr_text)s || '; no ' || %(plan_word)s || ' within ' || %(years)s || ' years' END
       || CASE WHEN coalesce(override, false) THEN '; socio-economic focal point (' || coalesce(socio_economic, '')
               || '): ' || %(socio_why)s || ' under ' || %(pid)s ELSE '' END AS reason
FROM k
"""


def classification_sql(programme: Programme, reference_date: date) -> tuple[str, dict[str, Any]]:
    """The statement and its parameters (psycopg ``%(name)s`` style)."""
    meets = " OR ".join(f"(down_mbps >= %(td{i})s AND up_mbps >= %(tu{i})s)" for i in range(len(programme.served_if)))
    params: dict[str, Any] = {f"td{i}": float(t.down_mbps) for i, t in enumerate(programme.served_if)}
    params.update({f"tu{i}": float(t.up_mbps) for i, t in enumerate(programme.served_if)})
    params.update({
        "nga": programme.nga_technologies, "wnga": programme.wireless_nga_technologies,
        "wmin": programme.wireless_nga_min_down_mbps, "hend": horizon_end(reference_date, programme.horizon_years),
        "binding_only": programme.binding_plans_only, "gig": programme.gigabit_technologies,
        "gmin": programme.gigabit_min_down_mbps, "grey_split": programme.light_grey_below_down_mbps,
        "socio_cats": programme.socio_economic.categories, "socio_rule": programme.socio_economic.rule,
        "thr_text": programme.thresholds_text(), "years": f"{programme.horizon_years:g}",
        "plan_word": "binding plan" if programme.binding_plans_only else "plan",
        "socio_why": "eligible regardless" if programme.socio_economic.rule == "eligible_regardless" else "no FTTB/H",
        "pid": programme.id,
    })
    return SQL.replace("{meets}", meets), params


def compare_results(a, b):  # noqa: ANN001, ANN201 - DataFrames
    """Rows where two classification results differ (empty when identical)."""
    import pandas as pd

    from netzatlas.gigabit.classify import OUTPUT_COLUMNS

    x = a[OUTPUT_COLUMNS].copy()
    y = b[OUTPUT_COLUMNS].copy()
    for df in (x, y):
        df["address_id"] = df["address_id"].astype(str)
        for col in ("best_down_mbps", "best_up_mbps", "planned_down_mbps", "planned_up_mbps"):
            df[col] = pd.to_numeric(df[col]).astype(float).round(6)
        df["planned_date"] = df["planned_date"].astype(str).replace({"None": "", "NaT": "", "nan": ""})
        df["best_technology"] = df["best_technology"].fillna("").astype(str)
        df["eligible"] = df["eligible"].astype(bool)
        df["binding_plan"] = df["binding_plan"].astype(bool)
        df["nga_networks"] = df["nga_networks"].astype(int)
    m = x.merge(y, on="address_id", how="outer", suffixes=("_a", "_b"), indicator=True)
    diff = m["_merge"] != "both"
    for col in OUTPUT_COLUMNS[1:]:
        ca, cb = m[f"{col}_a"], m[f"{col}_b"]
        diff |= ~((ca == cb) | (ca.isna() & cb.isna()))
    return m[diff]
