"""Migrations with alembic: head on a fresh database, down to base and up again (fresh == upgraded)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from netzatlas.registry import migrate

SCHEMA_SQL = """
SELECT table_schema || '.' || table_name || '.' || column_name || ':' || udt_name
FROM information_schema.columns WHERE table_schema IN ('registry', 'audit') ORDER BY 1
"""


def _columns(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(SCHEMA_SQL).fetchall()]


def test_fresh_database_is_at_head(db_url):
    assert migrate.current_revision(db_url) == migrate.head_revision()
    assert migrate.is_current(db_url)


@contextmanager
def _scratch_database() -> Iterator[str]:
    """A database of its own in the test cluster (migrated by the test), dropped afterwards."""
    from tests.conftest import _cluster

    cluster = _cluster()
    name = f"netzatlas_mig_{uuid.uuid4().hex[:6]}"
    cluster.ensure_database(name)
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


def test_downgrade_and_upgrade_gives_the_same_schema(db_url):
    with _scratch_database() as url:
        migrate.upgrade(url)
        fresh = _columns(url)
        migrate.downgrade(url, "base")
        assert _columns(url) == []
        migrate.upgrade(url)
        assert _columns(url) == fresh
        assert any(c.startswith("registry.fibre_address.geom:geometry") for c in fresh)
        assert any(c.startswith("audit.change.after:jsonb") for c in fresh)


def test_every_layer_has_the_shared_columns_and_a_spatial_index(conn):
    from netzatlas.registry.db import ASSET_LAYERS, REFERENCE_LAYERS, catalogue

    cat = catalogue(conn)
    shared = {"id", "source", "external_id", "owner_org", "status", "name", "properties", "version", "created_at",
              "updated_at", "updated_by", "deleted_at", "geom"}
    for name in ASSET_LAYERS + REFERENCE_LAYERS:
        assert shared <= set(cat[name].column_names), name
        assert cat[name].srid == 25832
        idx = conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname='registry' AND tablename=%s",
                           [name]).fetchall()
        assert any("USING gist (geom)" in r["indexdef"] for r in idx), (name, idx)  # points too (revision 0026)


def test_downgrading_below_0010_writes_the_derived_after_images_down(db_url):
    with _scratch_database() as url:
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            fid = conn.execute("INSERT INTO registry.streetlight (source, external_id, height_m, geom) VALUES "
                               "('m', '1', 8, ST_SetSRID(ST_MakePoint(294000, 5629000), 25832)) RETURNING id"
                               ).fetchone()[0]
            conn.execute("UPDATE registry.streetlight SET height_m = 9 WHERE id = %s", [fid])
        migrate.downgrade(url, "0009")
        with psycopg.connect(url) as conn:
            stored = conn.execute("SELECT operation, after ->> 'height_m' FROM audit.change WHERE row_id = %s "
                                  "ORDER BY seq", [fid]).fetchall()
        assert stored == [("INSERT", "8"), ("UPDATE", "9")]
        migrate.upgrade(url)
        assert migrate.is_current(url)


def _point_index_methods(url: str) -> set[str]:
    """The access methods of the point layers' spatial indexes (streetlight, wlan_hotspot, …)."""
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute(
            "SELECT am.amname FROM geometry_columns g JOIN pg_class c ON c.relname = g.f_table_name "
            "AND c.relnamespace = 'registry'::regnamespace JOIN pg_index i ON i.indrelid = c.oid "
            "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
            "WHERE g.f_table_schema = 'registry' AND upper(g.type) = 'POINT' AND am.amname IN ('gist', 'spgist')"
        ).fetchall()}


def test_point_layers_swap_their_spatial_index_with_revision_0026(db_url):
    """0026 gives point layers GiST (sorted build after a bulk load); below it they have SP-GiST (0011), and a layer
    made by create_layer follows the revision it was made at."""
    with _scratch_database() as url:
        migrate.upgrade(url)
        assert _point_index_methods(url) == {"gist"}
        migrate.downgrade(url, "0025")
        assert _point_index_methods(url) == {"spgist"}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT registry.create_layer('probe_point', 'Point', '', 25832)")
            method = conn.execute("SELECT am.amname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
                                  "JOIN pg_am am ON am.oid = ic.relam "
                                  "WHERE i.indrelid = 'registry.probe_point'::regclass AND am.amname <> 'btree'"
                                  ).fetchone()[0]
            assert method == "spgist"
            conn.execute("DROP TABLE registry.probe_point CASCADE")
        migrate.upgrade(url)
        assert _point_index_methods(url) == {"gist"}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT registry.create_layer('probe_point', 'Point', '', 25832)")
            assert "USING gist (geom)" in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'registry' AND tablename = 'probe_point' "
                "AND indexdef ~ 'USING (gist|spgist)'").fetchone()[0]
