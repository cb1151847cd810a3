"""Value-list and organization references, checked once per statement (revision 0009): the same refusals a
foreign key gives (SQLSTATE 23503), on both sides, and the same lock on the referenced code."""

from __future__ import annotations

import psycopg
import pytest

POINT = "ST_SetSRID(ST_MakePoint(294000, 5629000), 25832)"


def _lamp(conn, source: str, ext: str, **values: str) -> None:
    cols = ", ".join(["source", "external_id", *values, "geom"])
    marks = ", ".join(["%s"] * (2 + len(values)))
    conn.execute(f"INSERT INTO registry.streetlight ({cols}) VALUES ({marks}, {POINT})",
                 [source, ext, *values.values()])


def test_every_value_list_reference_of_the_tracked_tables_is_registered(conn):
    refs = {(r["table_name"], r["column_name"]): r["ref_table"]
            for r in conn.execute("SELECT table_name::text, column_name::text, ref_table::text "
                                  "FROM registry.value_reference")}
    assert refs[("registry.streetlight", "status")] == "registry.vl_status"
    assert refs[("registry.streetlight", "owner_org")] == "registry.organization"
    assert refs[("registry.poi", "category")] == "registry.vl_poi_category"
    assert refs[("registry.broadband_supply", "technology")] == "registry.vl_technology"
    fks = conn.execute(
        "SELECT conrelid::regclass::text AS t, confrelid::regclass::text AS r FROM pg_constraint WHERE contype = 'f' "
        "AND connamespace = 'registry'::regnamespace").fetchall()
    # entity references stay foreign keys; value lists are no longer foreign keys of the tracked tables
    assert ("registry.mobile_sector", "registry.mobile_site") in {(f["t"], f["r"]) for f in fks}
    assert not [f for f in fks if f["r"].startswith("registry.vl_") and f["t"] in {t for t, _ in refs}]


@pytest.mark.parametrize("column, code, good", [("status", "bogus", "active"), ("owner_org", "nobody", "city")])
def test_an_unknown_code_is_refused_and_nothing_is_written(conn, unique_source, column, code, good):
    _lamp(conn, unique_source, "ok")
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as exc, conn.transaction():  # a savepoint
        conn.execute(f"INSERT INTO registry.streetlight (source, external_id, {column}, geom) "
                     f"SELECT %s, 'x' || i, CASE WHEN i = 7 THEN %s ELSE %s END, {POINT} FROM generate_series(1, 10) i",
                     [unique_source, code, good])
    assert f"{column} '{code}' is not in the value list" in str(exc.value)
    assert exc.value.diag.column_name == column and exc.value.diag.table_name == "streetlight"
    n = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s", [unique_source]).fetchone()
    assert n["n"] == 1


def test_an_update_to_an_unknown_code_is_refused(conn, unique_source):
    _lamp(conn, unique_source, "a")
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="'retired' is not in the value list"):
        conn.execute("UPDATE registry.streetlight SET status = 'retired' WHERE source = %s", [unique_source])


def test_a_code_in_use_cannot_be_deleted_renamed_or_truncated_but_an_unused_one_can(conn, unique_source):
    conn.execute("INSERT INTO registry.vl_status VALUES ('tested', 'getestet', 'tested', 9), "
                 "('unused', 'ungenutzt', 'unused', 10)")
    _lamp(conn, unique_source, "a", status="tested")
    for statement in ("DELETE FROM registry.vl_status WHERE code = 'tested'",
                      "UPDATE registry.vl_status SET code = 'renamed' WHERE code = 'tested'",
                      "TRUNCATE registry.vl_status CASCADE"):
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still used|refused"), conn.transaction():
            conn.execute(statement)
    conn.execute("UPDATE registry.vl_status SET label_en = 'checked' WHERE code = 'tested'")  # not the key: fine
    assert conn.execute("DELETE FROM registry.vl_status WHERE code = 'unused'").rowcount == 1


def test_a_writer_locks_the_codes_it_uses_like_a_foreign_key(db_url, unique_source):
    """While a transaction that wrote rows with a code is open, the code cannot be deleted; once it has committed,
    the delete is refused because the code is in use."""
    code = unique_source.replace("-", "_")
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("INSERT INTO registry.vl_status VALUES (%s, 'x', 'x', 99)", [code])
    try:
        with psycopg.connect(db_url) as writer, psycopg.connect(db_url) as deleter:
            _lamp(writer, unique_source, "a", status=code)  # open transaction
            deleter.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                deleter.execute("DELETE FROM registry.vl_status WHERE code = %s", [code])
            deleter.rollback()
            writer.commit()
            with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still used"):
                deleter.execute("DELETE FROM registry.vl_status WHERE code = %s", [code])
            deleter.rollback()
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute("DELETE FROM registry.streetlight WHERE source = %s", [unique_source])
            admin.execute("DELETE FROM registry.vl_status WHERE code = %s", [code])


def test_a_large_write_is_checked_by_its_distinct_codes_and_names_the_first_unknown_one(conn, unique_source):
    """Revision 0028: the codes of a statement are collected with a hashed DISTINCT (no sort of every value); the
    check is the same — nulls are no code, the first unknown code in alphabetical order is the one named, and a
    write of known codes only passes."""
    definition = conn.execute("SELECT pg_get_functiondef('registry.check_value_references()'::regprocedure) AS d"
                              ).fetchone()["d"]
    assert "SELECT DISTINCT n.%1$I::text" in definition and "array_agg(DISTINCT" not in definition
    many = (f"INSERT INTO registry.streetlight (source, external_id, status, owner_org, geom) "
            f"SELECT %s, 'm' || i, CASE WHEN i = 20000 THEN %s WHEN i = 30000 THEN %s WHEN i %% 2 = 0 "
            f"THEN 'active' ELSE 'planned' END, CASE WHEN i %% 3 = 0 THEN 'city' END, {POINT} "
            f"FROM generate_series(1, 50000) i")
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as exc, conn.transaction():
        conn.execute(many, [unique_source, "zz-unbekannt", "aa-unbekannt"])
    assert "status 'aa-unbekannt' is not in the value list" in str(exc.value)
    conn.execute(many, [unique_source, "active", "planned"])
    n = conn.execute("SELECT count(*) AS n, count(owner_org) AS owned FROM registry.streetlight WHERE source = %s",
                     [unique_source]).fetchone()
    assert (n["n"], n["owned"]) == (50000, 16666)
