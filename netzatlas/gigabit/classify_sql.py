"""The classification of ``classify.py`` as one set-based, parameterised SQL statement for the registry.

One pass over the supply table, like the bare ``GROUP BY address`` it is benchmarked against: the addresses join
the same aggregate (``UNION ALL``), and each supply row adds only integers to its address's state —
- a 64-bit word of flags (served, plan, gigabit, fibre, is-an-address, socio-economic, overdue plan, plan in
  pre-marketing, business counted under a hint) whose low bits, with more
  words where there are more operators, mark the distinct operators offering an NGA network (counted by popcount);
- the best current supply as one 64-bit key ``down·1000 << 33 | up·1000 << 6 | technology rank``: exact because the
  schema keeps rates to 1 kbit/s (migration 0007), and ``max`` of it picks the highest download, then upload, then
  the alphabetically first technology, as the pure function does;
- planned supply within the horizon as an array (few rows carry one).
Technology properties and operator numbers are looked up by a seeded hash in small arrays made for each run, so no
row is compared with lists of text. Thresholds and lists come from the programme as bound parameters; the reason is
formatted exactly like the pure function's, so both paths give identical results (tested on the real Aachen
addresses). The statement is run as one copy per parallel worker, each for the addresses of one range of ids
(``_branches``), so that the workers, not the leader, aggregate and classify (docs/gigabit.md).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import psycopg

from netzatlas.errors import InvalidInput
from netzatlas.gigabit.classify_common import (
    BUSINESS_HINT_TEXT,
    FIBRE_TECHNOLOGIES,
    OUTPUT_COLUMNS,
    OVERDUE_TEXT,
    PRE_MARKETING_TEXT,
    horizon_end,
)
from netzatlas.gigabit.programmes import Programme

OPS_IN_WORD0 = 53  # word 0: operator bits 0..52, then the flags below
SERVED, PLAN, GIGABIT, FIBRE, ADDRESS, SOCIO, OVERDUE, PREMKT, HINT = (1 << b for b in range(53, 62))
T_NGA, T_WNGA, T_GIG, T_FIBRE = (1 << b for b in range(6, 10))  # technology value: rank in bits 0..5, then these
MAX_TECHNOLOGIES = 64
#: Planner settings for the single statement (transaction-local, shipped with the product, not a benchmark setting;
#: measured in bench/bench_gigabit.py): let parallel workers scan (the default cost of passing rows to the leader
#: rules that out for millions of rows), and compile expressions without LLVM's optimisation pass, which costs more
#: than it saves here. ``work_mem``: the aggregate keeps one state per address (about 190 MB for a million
#: addresses); at the cluster's 32 MB it spills to disk in batches.
SETTINGS = {"parallel_tuple_cost": "0.01", "jit_optimize_above_cost": "-1", "work_mem": "256MB"}
#: The same for the statement split into one branch per parallel worker (``classification_sql(split=True)``), in a
#: plan of one ``Gather`` over a ``Parallel Append`` of whole branches; the leader only takes the rows
#: (``parallel_leader_participation`` off: were it to run a branch too, the workers would wait for it). The default
#: ``parallel_tuple_cost`` (0.1) is what makes the planner prefer that plan to a ``Gather`` of every scanned supply
#: row inside each branch (at 0.01 it does so at a million addresses).
SPLIT_SETTINGS = {"jit_optimize_above_cost": "-1", "work_mem": "256MB", "parallel_leader_participation": "off"}
#: At most this many branches (one per worker the server allows for one query).
MAX_BRANCHES = 8

SQL = """
WITH s AS (
  SELECT address_id, down_mbps AS d, up_mbps AS u, planned_date,
         CASE status WHEN 'available' THEN 1 WHEN 'planned' THEN
           CASE WHEN planned_date < %(ref)s AND NOT %(overdue_count)s THEN 5
                WHEN planned_date <= %(hend)s THEN CASE WHEN binding OR NOT %(binding_only)s THEN 2 ELSE 6 END
                ELSE 0 END ELSE 0 END AS st, vorvermarktung AS vm,
         (%(tmap)s::int8[])[(hashtextextended(technology, %(tseed)s) & %(tmask)s) + 1] AS tv,
         (%(omap)s::int4[])[(hashtextextended(operator, %(oseed)s) & %(omask)s) + 1] AS oi, NULL::text AS socio
  FROM registry.broadband_supply WHERE deleted_at IS NULL{part_s}
  UNION ALL
  SELECT id, NULL, NULL, NULL,
         CASE WHEN socio_economic = ANY(%(socio_cats)s) THEN
           CASE WHEN socio_economic <> 'business' OR business_area THEN 4 WHEN %(biz_hint)s THEN 7 ELSE 3 END
         ELSE 3 END, false, 0, 0, socio_economic
  FROM registry.fibre_address WHERE deleted_at IS NULL{part_a}),
g AS (
  SELECT address_id,
    bit_or(CASE st WHEN 1 THEN
           CASE WHEN {nga} THEN {opbit0} ELSE 0 END
         | CASE WHEN {meets} THEN {SERVED} ELSE 0 END
         | CASE WHEN (tv & {T_GIG}) <> 0 AND d >= %(gmin)s THEN {GIGABIT} ELSE 0 END
         | CASE WHEN (tv & {T_FIBRE}) <> 0 THEN {FIBRE} ELSE 0 END
         WHEN 2 THEN CASE WHEN {meets} THEN {PLAN} ELSE 0 END | CASE WHEN vm THEN {PREMKT} ELSE 0 END
         WHEN 6 THEN CASE WHEN vm THEN {PREMKT} ELSE 0 END
         WHEN 5 THEN {OVERDUE}
         WHEN 3 THEN {ADDRESS} WHEN 4 THEN {ADDRESS} | {SOCIO} WHEN 7 THEN {ADDRESS} | {SOCIO} | {HINT}
         ELSE 0 END) AS w0,{words_g}
    max(CASE WHEN st = 1 THEN (round(d * 1000)::int8 << 33) | (round(u * 1000)::int8 << 6) | (tv & 63) END) AS k,
    max(CASE WHEN st = 2 THEN ARRAY[d, u, (tv & 63)::float8, (planned_date - DATE '1970-01-01')::float8] END) AS p,
    max(CASE WHEN st = 5 THEN planned_date END) AS od,
    max(socio) AS socio_economic
  FROM s GROUP BY address_id),
c AS (
  SELECT address_id, socio_economic,
         (k >> 33)::float8 / 1000 AS best_down_mbps, ((k >> 6) & 134217727)::float8 / 1000 AS best_up_mbps,
         (%(techs)s::text[])[64 - (k & 63)::int] AS best_technology,
         CASE WHEN (k >> 33) %% 1000 = 0 THEN ((k >> 33) / 1000)::text  -- whole Mbit/s print as integers (cheaper)
              ELSE ((k >> 33)::float8 / 1000)::text END AS best_down_text,
         CASE WHEN ((k >> 6) & 134217727) %% 1000 = 0 THEN (((k >> 6) & 134217727) / 1000)::text
              ELSE (((k >> 6) & 134217727)::float8 / 1000)::text END AS best_up_text,
         (bit_count((w0 & {opmask0})::bit(64)){words_c})::int AS nga_networks,
         p[1] AS planned_down_mbps, p[2] AS planned_up_mbps, (%(techs)s::text[])[64 - p[3]::int] AS planned_technology,
         DATE '1970-01-01' + p[4]::int AS planned_date,
         (w0 & {SERVED}) <> 0 AS served, (w0 & {PLAN}) <> 0 AS plan, (w0 & {GIGABIT}) <> 0 AS gigabit,
         (w0 & {FIBRE}) <> 0 AS fibre, (w0 & {SOCIO}) <> 0 AS socio, (w0 & {OVERDUE}) <> 0 AS overdue,
         (w0 & {PREMKT}) <> 0 AS premkt, (w0 & {HINT}) <> 0 AS hint, od
  FROM g WHERE (w0 & {ADDRESS}) <> 0),
k AS (
  SELECT c.*,
    CASE WHEN gigabit THEN 'gigabitfähig' WHEN nga_networks >= 2 THEN 'schwarz'
         WHEN nga_networks = 1 AND best_down_mbps >= %(grey_split)s THEN 'dunkelgrau'
         WHEN nga_networks = 1 THEN 'hellgrau' ELSE 'weiß' END AS class_de,
    (socio AND CASE %(socio_rule)s::text WHEN 'eligible_regardless' THEN NOT gigabit
                                   WHEN 'eligible_without_fibre' THEN NOT fibre
                                   WHEN 'eligible_if_grey' THEN nga_networks = 1 AND NOT gigabit ELSE false END)
      AS override
  FROM c)
SELECT address_id, best_down_mbps, best_up_mbps, best_technology, nga_networks,
       planned_down_mbps, planned_up_mbps, planned_date, plan AS binding_plan, class_de,
       CASE class_de WHEN 'weiß' THEN 'white' WHEN 'hellgrau' THEN 'light grey' WHEN 'dunkelgrau' THEN 'dark grey'
            WHEN 'schwarz' THEN 'black' ELSE 'gigabit' END AS class_en,
       (NOT served AND NOT plan) OR override AS eligible, overdue AS overdue_plan, premkt AS pre_marketing,
       CASE WHEN NOT (overdue OR premkt OR override) THEN {base}
            ELSE {base}
       || CASE WHEN overdue THEN %(od0)s::text || od::text || %(od1)s::text ELSE '' END
       || CASE WHEN premkt THEN %(premkt_text)s::text ELSE '' END
       || CASE WHEN override THEN format('; socio-economic focal point (%%s): %%s under %%s',
                                         coalesce(socio_economic, ''), %(socio_why)s::text, %(pid)s::text)
                                  || CASE WHEN hint THEN %(hint_text)s::text ELSE '' END
               ELSE '' END END AS reason
FROM k
"""
#: The reason before its optional tails. Served and below-threshold addresses (most rows) have a current supply
#: row, so their parts are never NULL and plain concatenation (cheaper than ``format``) gives the same text.
BASE_REASON = """CASE WHEN served THEN 'served: ' || best_down_text || '/' || best_up_text || ' Mbit/s ('
                 || best_technology || ') meets ' || %(thr_text)s::text
            WHEN plan THEN format('%%s within %%s years: %%s/%%s Mbit/s (%%s) by %%s meets %%s', %(plan_word)s::text,
                                  %(years)s::text, planned_down_mbps, planned_up_mbps, planned_technology, planned_date,
                                  %(thr_text)s::text)
            WHEN nga_networks = 0 THEN %(no_nga)s::text || {plan_tail}
            ELSE 'best ' || best_down_text || '/' || best_up_text || ' Mbit/s (' || best_technology || ') below '
                 || %(thr_text)s::text || {plan_tail} END"""
#: Eligible despite a counted plan: the plan falls short of the thresholds (it is named, never "no plan").
PLAN_TAIL = """CASE WHEN planned_down_mbps IS NULL THEN %(no_plan)s::text
                 ELSE format('; %%s within %%s years below %%s: %%s/%%s Mbit/s (%%s) by %%s', %(plan_word)s::text,
                             %(years)s::text, %(thr_text)s::text, planned_down_mbps, planned_up_mbps,
                             planned_technology, planned_date) END"""


def _slots(conn: psycopg.Connection, names: list[str]) -> tuple[int, int, list[int]]:
    """A seed and mask under which ``hashtextextended(name, seed) & mask`` differs for every name, and the slots."""
    size = 64
    while size < len(names) ** 2 // 2:
        size *= 2
    for _ in range(4):
        row = conn.execute(
            "SELECT s FROM generate_series(0, 999) s WHERE (SELECT count(DISTINCT hashtextextended(x, s) & %(m)s) "
            "FROM unnest(%(n)s::text[]) x) = cardinality(%(n)s::text[]) LIMIT 1", {"m": size - 1, "n": names},
        ).fetchone()
        if row is not None:
            seed = _first(row)
            slots = conn.execute("SELECT hashtextextended(x, %(s)s) & %(m)s AS h FROM unnest(%(n)s::text[]) x",
                                 {"s": seed, "m": size - 1, "n": names}).fetchall()
            return seed, size - 1, [_first(r) for r in slots]
        size *= 4
    raise InvalidInput(f"no collision-free hash found for {len(names)} names")  # pragma: no cover - 4 sizes tried


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _operators(conn: psycopg.Connection) -> list[str]:
    """The distinct operators, by a loose scan of the operator index (milliseconds, whatever the table size)."""
    rows = conn.execute(
        "WITH RECURSIVE o AS (SELECT min(operator) AS op FROM registry.broadband_supply "
        "UNION ALL SELECT (SELECT min(operator) FROM registry.broadband_supply WHERE operator > o.op) FROM o "
        "WHERE o.op IS NOT NULL) SELECT op FROM o WHERE op IS NOT NULL").fetchall()
    return [_first(r) for r in rows]


def _branch_count(conn: psycopg.Connection) -> int:
    """One branch per parallel worker the server gives one query (``max_parallel_workers_per_gather``)."""
    workers = int(_first(conn.execute("SELECT current_setting('max_parallel_workers_per_gather')::int").fetchone()))
    return max(1, min(MAX_BRANCHES, workers))


def _bounds(conn: psycopg.Connection, n: int) -> list[str]:
    """``n - 1`` address ids splitting the addresses into ``n`` ranges of about equal size: from the statistics'
    histogram of ``fibre_address.id`` where there is one, else evenly over the uuid space (random uuids)."""
    row = conn.execute("SELECT histogram_bounds::text::uuid[] FROM pg_stats WHERE schemaname = 'registry' "
                       "AND tablename = 'fibre_address' AND attname = 'id'").fetchone()
    hist = _first(row) if row is not None else None
    if hist and len(hist) > 2 * n:
        return [str(hist[len(hist) * i // n]) for i in range(1, n)]
    return [str(uuid.UUID(int=(i << 128) // n)) for i in range(1, n)]


def _branches(query: str, n: int, bounds: list[str]) -> str:
    """``query`` as ``n`` branches joined by ``UNION ALL``, each classifying one range of address ids (an address
    and its supply rows fall into the same one), so that each parallel worker aggregates and classifies its own
    addresses from start to end, in a plan of one ``Gather`` over a ``Parallel Append`` (``SPLIT_SETTINGS``); with one
    branch, the statement as it is. Ranges, not a hash: the planner estimates their rows from the statistics, which
    it needs to choose that plan and aggregation by hash."""
    if n == 1:
        return query.replace("{part_s}", "").replace("{part_a}", "")
    out = []
    for i in range(n):
        cond = (f" AND {{col}} >= '{bounds[i - 1]}'::uuid" if i > 0 else "") + (
            f" AND {{col}} < '{bounds[i]}'::uuid" if i < n - 1 else "")
        out.append("(" + query.replace("{part_s}", cond.format(col="address_id"))
                   .replace("{part_a}", cond.format(col="id")).strip() + ")")
    return "\nUNION ALL\n".join(out)


def apply_settings(conn: psycopg.Connection, *, split: bool = True) -> None:
    """``SPLIT_SETTINGS`` (or, for the single statement, ``SETTINGS``) for the rest of the current transaction."""
    for name, value in (SPLIT_SETTINGS if split else SETTINGS).items():
        conn.execute("SELECT set_config(%s, %s, true)", [name, value])


def classification_sql(conn: psycopg.Connection, programme: Programme, reference_date: date, *, split: bool = True
                       ) -> tuple[str, dict[str, Any]]:
    """The statement and its parameters (psycopg ``%(name)s`` style) for the registry behind ``conn``; run it in
    the same transaction after ``apply_settings`` with the same ``split``. ``split``: one branch per parallel
    worker (``_branches``), used by ``classify``, the report and snapshots; ``split=False``: the single statement
    with ``SETTINGS`` (kept for comparison in the tests and the docs' measurements)."""
    techs = [_first(r) for r in conn.execute('SELECT code FROM registry.vl_technology ORDER BY code COLLATE "C"')]
    if len(techs) > MAX_TECHNOLOGIES:
        raise InvalidInput(f"the classification handles at most {MAX_TECHNOLOGIES} technology codes, "
                           f"the registry has {len(techs)}")
    tseed, tmask, tslots = _slots(conn, techs)
    tmap = [0] * (tmask + 1)
    for i, (code, slot) in enumerate(zip(techs, tslots, strict=True)):
        tmap[slot] = ((63 - i) | (T_NGA if code in programme.nga_technologies else 0)
                      | (T_WNGA if code in programme.wireless_nga_technologies else 0)
                      | (T_GIG if code in programme.gigabit_technologies else 0)
                      | (T_FIBRE if code in FIBRE_TECHNOLOGIES else 0))
    ops = _operators(conn) or ["-"]
    oseed, omask, oslots = _slots(conn, ops)
    omap = [0] * (omask + 1)
    for i, slot in enumerate(oslots):
        omap[slot] = i
    n_extra = max(0, -(-(len(ops) - OPS_IN_WORD0) // 63))
    nga = ("(((tv & {T_NGA}) <> 0 AND d >= %(nmin)s) OR ((tv & {T_WNGA}) <> 0 AND d >= %(wmin)s "
           "AND d >= %(nmin)s))")
    words_g = "".join(f"\n    bit_or(CASE WHEN st = 1 AND {nga} AND oi >= {OPS_IN_WORD0 + 63 * j} AND oi < "
                      f"{OPS_IN_WORD0 + 63 * (j + 1)} THEN 1::int8 << (oi - {OPS_IN_WORD0 + 63 * j}) END) AS w{j + 1},"
                      for j in range(n_extra))
    meets = " OR ".join(f"(d >= %(td{i})s AND u >= %(tu{i})s)" for i in range(len(programme.served_if))) or "false"
    marks = {"T_NGA": T_NGA, "T_WNGA": T_WNGA, "T_GIG": T_GIG, "T_FIBRE": T_FIBRE, "SERVED": SERVED, "PLAN": PLAN,
             "GIGABIT": GIGABIT, "FIBRE": FIBRE, "ADDRESS": ADDRESS, "SOCIO": SOCIO, "OVERDUE": OVERDUE,
             "PREMKT": PREMKT, "HINT": HINT}
    query = (SQL.replace("{words_g}", words_g)
             .replace("{words_c}", "".join(f" + coalesce(bit_count(w{j + 1}::bit(64)), 0)" for j in range(n_extra)))
             .replace("{opbit0}", f"CASE WHEN oi < {OPS_IN_WORD0} THEN 1::int8 << oi ELSE 0 END")
             .replace("{opmask0}", str((1 << OPS_IN_WORD0) - 1))
             .replace("{nga}", nga).replace("{meets}", meets)
             .replace("{base}", BASE_REASON.replace("{plan_tail}", PLAN_TAIL)))
    for name, value in marks.items():
        query = query.replace("{" + name + "}", str(value))
    n = _branch_count(conn) if split else 1
    query = _branches(query, n, _bounds(conn, n) if n > 1 else [])
    years = f"{programme.horizon_years:g}"
    plan_word = "binding plan" if programme.binding_plans_only else "plan"
    se = programme.socio_economic
    socio_cats = se.categories if se.in_force(reference_date) else []
    params: dict[str, Any] = {f"td{i}": float(t.down_mbps) for i, t in enumerate(programme.served_if)}
    params.update({f"tu{i}": float(t.up_mbps) for i, t in enumerate(programme.served_if)})
    params.update({
        "tmap": tmap, "tseed": tseed, "tmask": tmask, "techs": techs, "omap": omap, "oseed": oseed, "omask": omask,
        "wmin": programme.wireless_nga_min_down_mbps, "hend": horizon_end(reference_date, programme.horizon_years),
        "binding_only": programme.binding_plans_only, "gmin": programme.gigabit_min_down_mbps,
        "grey_split": programme.light_grey_below_down_mbps, "socio_cats": socio_cats,
        "socio_rule": se.rule, "biz_hint": se.business_area == "hint", "nmin": programme.nga_min_down_mbps,
        "ref": reference_date, "overdue_count": programme.overdue_plans_count, "od0": OVERDUE_TEXT[0],
        "od1": OVERDUE_TEXT[1], "premkt_text": PRE_MARKETING_TEXT, "hint_text": BUSINESS_HINT_TEXT,
        "thr_text": programme.thresholds_text(), "years": years,
        "plan_word": plan_word, "no_plan": f"; no {plan_word} within {years} years",
        "no_nga": "no NGA network",
        "socio_why": se.why(),
        "pid": programme.id,
    })
    return query, params


def compare_results(a, b):  # noqa: ANN001, ANN201 - DataFrames
    """Rows where two classification results differ (empty when identical)."""
    import pandas as pd

    x = a[OUTPUT_COLUMNS].copy()
    y = b[OUTPUT_COLUMNS].copy()
    for df in (x, y):
        df["address_id"] = df["address_id"].astype(str)
        for col in ("best_down_mbps", "best_up_mbps", "planned_down_mbps", "planned_up_mbps"):
            df[col] = pd.to_numeric(df[col]).astype(float).round(6)
        df["planned_date"] = df["planned_date"].astype(str).replace({"None": "", "NaT": "", "nan": ""})
        df["best_technology"] = df["best_technology"].fillna("").astype(str)
        df["eligible"] = df["eligible"].astype(bool)
        for col in ("binding_plan", "overdue_plan", "pre_marketing"):
            df[col] = df[col].astype(bool)
        df["nga_networks"] = df["nga_networks"].astype(int)
    m = x.merge(y, on="address_id", how="outer", suffixes=("_a", "_b"), indicator=True)
    diff = m["_merge"] != "both"
    for col in OUTPUT_COLUMNS[1:]:
        ca, cb = m[f"{col}_a"], m[f"{col}_b"]
        diff |= ~((ca == cb) | (ca.isna() & cb.isna()))
    return m[diff]
