"""The set-based PostGIS classification equals the pure function on the real Aachen addresses (simulated supply);
snapshots and their comparison.

The module works in a database of its own (``scratch``): it loads the OSM addresses under its own source, which in
the session's database would put every address there twice for the modules after it (an MEV answer matched
against the demo register would find each one twice)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from netzatlas.gigabit import breitbandatlas, programmes
from netzatlas.gigabit.classify import classify
from netzatlas.gigabit.classify_sql import compare_results
from netzatlas.gigabit.simulate import simulate_supply
from netzatlas.registry import gigabit_store
from netzatlas.registry.importers.load import load_layers

REF = date(2026, 11, 26)


@pytest.fixture(scope="module")
def scratch(db_url) -> Iterator[str]:
    """A fresh, migrated database for this module (as test_gigabit_holdout's ``scratch_registry``; on an external
    server one is created there), the CLI and the settings pointed at it for the module's duration."""
    import os

    if not os.environ.get("NETZATLAS_TEST_DATABASE_URL"):
        from tests.test_gigabit_holdout import scratch_registry

        with scratch_registry() as url:
            yield url
        return
    yield from _external_scratch(os.environ["NETZATLAS_TEST_DATABASE_URL"])


def _external_scratch(server: str) -> Iterator[str]:
    import os
    import uuid

    import psycopg

    from netzatlas.config import get_settings
    from netzatlas.registry import migrate
    from tests.conftest import _drop_external

    name = f"netzatlas_sql_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(**{**psycopg.conninfo.conninfo_to_dict(server), "dbname": name})
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    migrate.upgrade(url)
    old = os.environ["NETZATLAS_DATABASE_URL"]
    os.environ["NETZATLAS_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        yield url
    finally:
        os.environ["NETZATLAS_DATABASE_URL"] = old
        get_settings.cache_clear()
        _drop_external(server, name)


@pytest.fixture
def conn(scratch):
    """A connection (dict rows) to the module's own database; rolled back after the test."""
    from netzatlas.registry.db import connect

    c = connect(scratch)
    try:
        yield c
    finally:
        c.rollback()
        c.close()


@pytest.fixture(scope="module")
def aachen_supply(scratch):
    from netzatlas.registry import demo
    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.osm import read_osm

    frames = read_osm(demo.OSM_FILE, layers=["fibre_address"])
    load_layers(frames, source="osm-gigabit", kind="osm", url=scratch)
    with connect(scratch) as conn:
        addrs = gigabit_store.read_addresses(conn)
    addrs = addrs[addrs.external_id.str.startswith(("node/", "way/", "relation/"))].to_crs(25832)
    supply = simulate_supply(addrs, breitbandatlas.targets(), seed=7, reference_date=date(2025, 6, 1))
    gigabit_store.write_supply(supply, source="simulation-test", url=scratch)
    # edge cases make the comparison sharper: plans exactly at and one day after the 3-year horizon, binding and
    # not, wireless exactly at and below 30 Mbit/s, and socio-economic addresses
    import pandas as pd

    from netzatlas.gigabit.classify import horizon_end

    edge = horizon_end(REF, 3)
    ids = list(addrs["address_id"])
    cases = [("EdgeA", "ftth", 1000, 1000, "planned", edge, True), ("EdgeB", "ftth", 1000, 1000, "planned",
             edge + pd.Timedelta(days=1), True), ("EdgeC", "fttb", 500, 200, "planned", edge, False),
             ("EdgeD", "fwa", 30, 5, "available", None, False), ("EdgeE", "fwa", 29.9, 5, "available", None, False),
             ("EdgeF", "fttb", 300, 150, "available", None, False),
             # VDSL 16 is not NGA; a plan overdue at REF (inside the horizon at 2022-01-01); pre-marketing
             ("EdgeG", "fttc_vdsl", 16, 2, "available", None, False),
             ("EdgeH", "ftth", 1000, 1000, "planned", date(2025, 1, 1), True),
             ("EdgeI", "ftth", 1000, 1000, "planned", edge, True), ("EdgeJ", "fttb", 1000, 200, "planned", edge, False)]
    rows = [{"address_id": ids[i * 40 + k], "operator": op, "technology": t, "down_mbps": d, "up_mbps": u,
             "status": st, "planned_date": pdate, "binding": b, "vorvermarktung": op in ("EdgeI", "EdgeJ")}
            for i, (op, t, d, u, st, pdate, b) in enumerate(cases) for k in range(40)]
    gigabit_store.write_supply(pd.DataFrame(rows), source="edge-test", url=scratch)
    with connect(scratch) as conn:
        conn.execute("UPDATE registry.fibre_address SET socio_economic = 'school' WHERE id = ANY(%s::uuid[])",
                     [ids[300:340]])
        # businesses inside and outside a Gewerbegebiet, transport hubs, and Gewerbegebiet flags without a business
        conn.execute("UPDATE registry.fibre_address SET socio_economic = 'business', business_area = true "
                     "WHERE id = ANY(%s::uuid[])", [ids[400:440]])
        conn.execute("UPDATE registry.fibre_address SET socio_economic = 'business', business_area = false "
                     "WHERE id = ANY(%s::uuid[])", [ids[440:480]])
        conn.execute("UPDATE registry.fibre_address SET socio_economic = 'transport_hub' WHERE id = ANY(%s::uuid[])",
                     [ids[480:500]])
        conn.execute("UPDATE registry.fibre_address SET business_area = true WHERE id = ANY(%s::uuid[])",
                     [ids[500:520]])
        conn.commit()
    return addrs, supply


@pytest.mark.parametrize("programme,ref", [
    ("bund-2015", REF), ("bund-2015", date(2019, 6, 1)), ("bund-2015", date(2018, 6, 1)),
    ("gigabit-rl-1.0-2021", REF), ("gigabit-rl-1.0-2021", date(2022, 1, 1)), ("gigabit-rl-2.0-2023", REF),
    ("gigabit-rl-2.0-2024", REF)])
def test_sql_equals_pure_function_on_real_addresses(conn, aachen_supply, programme, ref):
    addrs, _ = aachen_supply
    p = programmes.load_programme(programme)
    sql_result = gigabit_store.classify_in_db(conn, p, ref)
    supply = gigabit_store.read_supply(conn)
    all_addresses = gigabit_store.read_addresses(conn)
    pure = classify(all_addresses, supply, p, ref)
    assert len(sql_result) == len(pure) >= len(addrs) > 20_000
    diff = compare_results(pure, sql_result)
    assert diff.empty, diff.head(3).T.to_string()
    assert pure["eligible"].sum() > 0 and pure["class_de"].nunique() >= 4
    # the new rules are exercised on both paths, not only agreed on
    if ref == REF:
        assert sql_result["overdue_plan"].sum() >= 40 and sql_result["pre_marketing"].sum() >= 80
    if programme == "gigabit-rl-1.0-2021" and ref.year == 2022:
        assert sql_result["reason"].str.contains("hint: business outside any Gewerbegebiet", regex=False).sum() > 0
    if programme == "bund-2015":
        socio = sql_result["reason"].str.contains("socio-economic focal point", regex=False)
        assert (socio.sum() > 0) == (ref >= date(2018, 11, 15))
        assert not sql_result["reason"].str.contains("focal point (business)", regex=False)[
            ~sql_result["address_id"].isin(_business_area_ids(conn))].any()


def _business_area_ids(conn) -> set[str]:  # noqa: ANN001
    return {r["id"] for r in conn.execute("SELECT id::text AS id FROM registry.fibre_address WHERE business_area")}


def test_snapshots_and_comparison(conn, aachen_supply):
    p24 = programmes.load_programme("gigabit-rl-2.0-2024")
    p23 = programmes.load_programme("gigabit-rl-2.0-2023")
    n = gigabit_store.save_snapshot(conn, "t-2023", p23, REF, simulated=True)
    gigabit_store.save_snapshot(conn, "t-2024", p24, REF, simulated=True)
    assert n > 20_000
    changed = gigabit_store.compare_snapshots(conn, "t-2023", "t-2024")
    # cable 1000/50 served the 2023 rule (500 down) but not the 2024 one (300/150)
    assert len(changed) > 1000
    assert ((changed.eligible_a == False) & (changed.eligible_b == True)).sum() > 1000  # noqa: E712
    conn.rollback()


def test_simulation_is_calibrated_and_street_coherent(aachen_supply):
    from netzatlas.gigabit.simulate import achieved_shares

    addrs, supply = aachen_supply
    got, want = achieved_shares(addrs, supply), breitbandatlas.targets()
    for k, v in got.items():
        assert abs(v - want[k]) <= 1.0, (k, v, want[k])
    cable = supply[(supply.operator == "Vodafone") & (supply.status == "available")]
    per_street = addrs.merge(cable[["address_id", "down_mbps"]], on="address_id", how="left").groupby("street")
    tiers = per_street["down_mbps"].nunique(dropna=False)
    assert (tiers == 1).mean() > 0.97          # (nearly) every street has one cable tier, or none
    assert supply.attrs["simulated"] and "SIMULATED" in supply.attrs["note"]


def test_many_operators_and_rate_resolution(conn, scratch, aachen_supply):
    """More operators than fit one 64-bit word are counted exactly; rates finer than 1 kbit/s are refused."""
    import pandas as pd
    import psycopg

    addrs, _ = aachen_supply
    target = addrs["address_id"].iloc[-1]
    rows = [{"address_id": target, "operator": f"Netz {i:03d}", "technology": "fttc_vdsl", "down_mbps": 100 + i / 8,
             "up_mbps": 40, "status": "available", "planned_date": None, "binding": False} for i in range(130)]
    gigabit_store.write_supply(pd.DataFrame(rows), source="many-ops-test", url=scratch)
    p = programmes.load_programme("gigabit-rl-2.0-2024")
    sql_result = gigabit_store.classify_in_db(conn, p, REF).set_index("address_id")
    row = sql_result.loc[target]
    assert row["nga_networks"] >= 130 and row["class_de"] in ("schwarz", "gigabitfähig")
    pure = classify(gigabit_store.read_addresses(conn), gigabit_store.read_supply(conn), p, REF)
    assert compare_results(pure, sql_result.reset_index()).empty
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO registry.broadband_supply (address_id, operator, technology, down_mbps, up_mbps) "
                     "VALUES (%s, 'X', 'adsl', 16.0004, 1)", [target])
    conn.rollback()


def test_snapshot_summary_from_the_writers_counts_equals_a_recount(conn, aachen_supply):
    """``classify_snapshot`` counts its partition once and records the summary from those counts; recording it
    again without counts (one pass over the rows) gives the same summary, and the history keeps both versions."""
    from netzatlas.registry import result_runs

    p = programmes.load_programme("gigabit-rl-2.0-2024")
    counts = gigabit_store.classify_snapshot(conn, "t-counts", p, REF, simulated=True)
    recorded = conn.execute("SELECT summary FROM registry.result_run WHERE kind = 'gigabit_snapshot' "
                            "AND key = 't-counts'").fetchone()["summary"]
    direct = conn.execute("SELECT count(*) AS n, count(*) FILTER (WHERE eligible) AS e FROM "
                          "registry.gigabit_classification WHERE snapshot_id = 't-counts'").fetchone()
    assert sum(r["addresses"] for r in counts) == direct["n"] == recorded["addresses"]
    assert recorded["eligible"] == direct["e"] and recorded["title"] is None and recorded["simulated"] is True
    assert counts == gigabit_store.snapshot_counts(conn, "t-counts")
    result_runs.record_snapshot(conn, "t-counts")
    again = conn.execute("SELECT summary FROM registry.result_run WHERE kind = 'gigabit_snapshot' "
                         "AND key = 't-counts'").fetchone()["summary"]
    assert again == recorded
    conn.rollback()


def test_snapshot_partition_holds_the_statements_rows_with_the_parents_constraints(conn, aachen_supply):
    """The snapshot's partition (``CREATE TABLE … AS`` of the statement, checked and attached) holds exactly the rows
    of the classification statement, NOT NULL where the parent has it and the bound as a check; replacing the
    snapshot in the same transaction swaps the partition."""
    p24 = programmes.load_programme("gigabit-rl-2.0-2024")
    p23 = programmes.load_programme("gigabit-rl-2.0-2023")
    counts = gigabit_store.classify_snapshot(conn, "t-part", p24, REF, simulated=True)
    import pandas as pd

    kept = pd.DataFrame(conn.execute("SELECT * FROM registry.gigabit_classification WHERE snapshot_id = 't-part'"
                                     ).fetchall())
    assert compare_results(gigabit_store.classify_in_db(conn, p24, REF), kept).empty
    assert {r["class_de"]: r["addresses"] for r in counts} == kept["class_de"].value_counts().to_dict()
    part = conn.execute("SELECT registry.gigabit_partition('t-part') AS p").fetchone()["p"]

    def not_null(table: str) -> set[str]:
        return {r["column_name"] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'registry' AND table_name = %s "
            "AND is_nullable = 'NO'", [table])}

    assert not_null(part) == not_null("gigabit_classification") >= {"snapshot_id", "address_id", "class_de", "reason"}
    checks = [r["d"] for r in conn.execute("SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = "
                                           "('registry.' || %s)::regclass AND contype = 'c'", [part])]
    assert checks == ["CHECK ((snapshot_id = 't-part'::text))"]
    gigabit_store.classify_snapshot(conn, "t-part", p23, REF, simulated=True)
    again = conn.execute("SELECT count(*) AS n, count(DISTINCT tableoid) AS parts FROM "
                         "registry.gigabit_classification WHERE snapshot_id = 't-part'").fetchone()
    assert again["n"] == len(kept) and again["parts"] == 1
    assert conn.execute("SELECT programme FROM registry.gigabit_snapshot WHERE id = 't-part'"
                        ).fetchone()["programme"] == p23.id
    conn.rollback()


def test_one_copy_per_worker_gives_the_rows_of_the_single_statement(conn, aachen_supply, monkeypatch):
    """The statement split into copies by ranges of address ids (one per parallel worker) classifies every address
    exactly once and exactly as the single statement does, for any number of copies, with the ranges from the
    statistics or (without them) spread evenly over the uuid space."""
    from netzatlas.gigabit import classify_sql

    p = programmes.load_programme("bund-2015")  # socio-economic rules, overdue plans, pre-marketing: every tail
    conn.execute("ANALYZE registry.fibre_address")  # the histogram the ranges are taken from
    conn.commit()
    results = {}
    for n, stats in ((1, True), (2, True), (3, True), (3, False)):
        monkeypatch.setattr(classify_sql, "_branch_count", lambda _conn, n=n: n)
        if not stats:
            monkeypatch.setattr(classify_sql, "_bounds", lambda _conn, k: [
                str(classify_sql.uuid.UUID(int=(i << 128) // k)) for i in range(1, k)])
        query, _ = classify_sql.classification_sql(conn, p, REF)
        assert query.count("UNION ALL\n(") == n - 1 and query.count("address_id >= '") == n - 1
        results[(n, stats)] = gigabit_store.classify_in_db(conn, p, REF)
        conn.rollback()
    assert len(results[(1, True)]) > 20_000 and results[(1, True)]["address_id"].is_unique
    for key in ((2, True), (3, True), (3, False)):
        assert results[key]["address_id"].is_unique
        diff = compare_results(results[(1, True)], results[key])
        assert diff.empty, diff.head(3).T.to_string()
