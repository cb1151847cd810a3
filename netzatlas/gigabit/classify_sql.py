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
WITH thr AS (SELECT * FROM unnest(%(thr_down)s::float8[], %(thr_up)s::float8[]) AS t(d, u)),
s AS (
  SELECT s.address_id, s.operator, s.technology, s.down_mbps, s.up_mbps, s.planned_date,
         s.status = 'available' AS avail,
         (s.technology = ANY(%(nga)s) OR (s.technology = ANY(%(wnga)s) AND s.down_mbps >= %(wmin)s)) AS nga,
         EXISTS (SELECT 1 FROM thr WHERE s.down_mbps >= thr.d AND s.up_mbps >= thr.u) AS meets,
         (s.status = 'planned' AND s.planned_date <= %(hend)s AND (s.binding OR NOT %(binding_only)s)) AS counted_plan
  FROM registry.broadband_supply s
  JOIN registry.fibre_address a ON a.id = s.address_id AND a.deleted_at IS NULL
  WHERE s.deleted_at IS NULL),
agg AS (
  SELECT address_id,
         count(DISTINCT operator) FILTER (WHERE avail AND nga) AS nga_networks,
         coalesce(bool_or(avail AND meets), false) AS served,
         coalesce(bool_or(counted_plan AND meets), false) AS plan,
         coalesce(bool_or(avail AND technology = ANY(%(gig)s) AND down_mbps >= %(gmin)s), false) AS gigabit,
         coalesce(bool_or(avail AND technology IN ('ftth', 'fttb')), false) AS fibre
  FROM s GROUP BY address_id),
best AS (
  SELECT DISTINCT ON (address_id) address_id, down_mbps, up_mbps, technology FROM s WHERE avail
  ORDER BY address_id, down_mbps DESC, up_mbps DESC, technology),
pl AS (
  SELECT DISTINCT ON (address_id) address_id, down_mbps, up_mbps, technology, planned_date FROM s WHERE counted_plan
  ORDER BY address_id, down_mbps DESC, up_mbps DESC, technology),
c AS (
  SELECT a.id AS address_id, a.socio_economic, b.down_mbps AS best_down_mbps, b.up_mbps AS best_up_mbps,
         b.technology AS best_technology, coalesce(g.nga_networks, 0)::int AS nga_networks,
         p.down_mbps AS planned_down_mbps, p.up_mbps AS planned_up_mbps, p.technology AS planned_technology,
         p.planned_date, coalesce(g.served, false) AS served, coalesce(g.plan, false) AS plan,
         coalesce(g.gigabit, false) AS gigabit, coalesce(g.fibre, false) AS fibre
  FROM registry.fibre_address a
  LEFT JOIN agg g ON g.address_id = a.id LEFT JOIN best b ON b.address_id = a.id LEFT JOIN pl p ON p.address_id = a.id
  WHERE a.deleted_at IS NULL),
k AS (
  SELECT c.*,
    CASE WHEN gigabit THEN 'gigabitfähig' WHEN nga_networks >= 2 THEN 'schwarz'
         WHEN nga_networks = 1 AND best_down_mbps >= %(grey_split)s THEN 'dunkelgrau'
         WHEN nga_networks = 1 THEN 'hellgrau' ELSE 'weiß' END AS class_de,
    (socio_economic = ANY(%(socio_cats)s) AND CASE %(socio_rule)s WHEN 'eligible_regardless' THEN NOT gigabit
         WHEN 'eligible_without_fibre' THEN NOT fibre ELSE false END) AS override,
    trim_scale(round(best_down_mbps::numeric, 3))::text || '/' || trim_scale(round(best_up_mbps::numeric, 3))::text
      || ' Mbit/s (' || coalesce(best_technology, '') || ')' AS best_txt,
    trim_scale(round(planned_down_mbps::numeric, 3))::text || '/' ||
      trim_scale(round(planned_up_mbps::numeric, 3))::text || ' Mbit/s (' || coalesce(planned_technology, '')
      || ') by ' || planned_date::text AS plan_txt
  FROM c)
SELECT address_id::text AS address_id, best_down_mbps, best_up_mbps, best_technology, nga_networks,
       planned_down_mbps, planned_up_mbps, planned_date, plan AS binding_plan, class_de,
       CASE class_de WHEN 'weiß' THEN 'white' WHEN 'hellgrau' THEN 'light grey' WHEN 'dunkelgrau' THEN 'dark grey'
            WHEN 'schwarz' THEN 'black' ELSE 'gigabit' END AS class_en,
       (NOT served AND NOT plan) OR coalesce(override, false) AS eligible,
       CASE WHEN served THEN 'served: ' || best_txt || ' meets ' || %(thr_text)s
            WHEN plan THEN %(plan_word)s || ' within ' || %(years)s || ' years: ' || plan_txt || ' meets '
                 || %(thr_text)s
            WHEN nga_networks = 0 THEN 'no NGA network; no ' || %(plan_word)s || ' within ' || %(years)s || ' years'
            ELSE 'best ' || best_txt || ' below ' || %(thr_text)s || '; no ' || %(plan_word)s || ' within '
                 || %(years)s || ' years' END
       || CASE WHEN coalesce(override, false) THEN '; socio-economic focal point (' || coalesce(socio_economic, '')
               || '): ' || %(socio_why)s || ' under ' || %(pid)s ELSE '' END AS reason
FROM k
"""


def classification_sql(programme: Programme, reference_date: date) -> tuple[str, dict[str, Any]]:
    """The statement and its parameters (psycopg ``%(name)s`` style)."""
    params = {
        "thr_down": [float(t.down_mbps) for t in programme.served_if],
        "thr_up": [float(t.up_mbps) for t in programme.served_if],
        "nga": programme.nga_technologies, "wnga": programme.wireless_nga_technologies,
        "wmin": programme.wireless_nga_min_down_mbps, "hend": horizon_end(reference_date, programme.horizon_years),
        "binding_only": programme.binding_plans_only, "gig": programme.gigabit_technologies,
        "gmin": programme.gigabit_min_down_mbps, "grey_split": programme.light_grey_below_down_mbps,
        "socio_cats": programme.socio_economic.categories, "socio_rule": programme.socio_economic.rule,
        "thr_text": programme.thresholds_text(), "years": f"{programme.horizon_years:g}",
        "plan_word": "binding plan" if programme.binding_plans_only else "plan",
        "socio_why": "eligible regardless" if programme.socio_economic.rule == "eligible_regardless" else "no FTTB/H",
        "pid": programme.id,
    }
    return SQL, params


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
