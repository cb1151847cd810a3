"""A large first load writes its history rows into a history table of its own, a child of ``audit.change``.

Each feature an import creates still gets its ``audit.change`` row, written by the layer's insert trigger in the
same statement (DESIGN.md: every insert, update and delete writes a row to the change table by trigger). What
changes is where a bulk load's rows lie: ``store._copy_new`` creates ``audit.change_bulk_<hex>`` (``INHERITS
(audit.change)``) in the import's transaction and names it in the transaction-local setting
``netzatlas.history_table``; the insert trigger then writes into it. The new table has no index while it fills
(its key, (row_id, seq) and (xact, seq) are built once afterwards; a CHECK on the batch id stands in for the
batch BRIN) and, on the embedded cluster (``wal_level = minimal``), its pages are not written to the WAL twice.
For a million features: 5.6 s of history rows in the shared table (heap, primary key, (row_id, seq), (xact, seq),
BRIN, 382 MB of WAL) against ~1.5 s + 1 s of index builds (measured on the same server, bench/bench_import.py
prints the breakdown).

Every reader queries ``audit.change``: PostgreSQL includes its children (the history of a row, the change feed in
(xact, seq) order through each child's index, restore, ``netzatlas db history``). Sequence numbers come from the
same sequence, transaction ids from the same transaction: the feed's order and its horizon are the same.

``audit.bulk_history_table()`` reads the setting and accepts only a table of schema ``audit`` that inherits from
``audit.change``, so a session that sets it cannot move history rows out of the history.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

STATIC = """    BEGIN
      INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
      SELECT %2$L, n.id, 'INSERT', n.version, NULL, NULL, w.actor, w.batch FROM new_rows n, %3$s;
      RETURN NULL;"""

ROUTED = """    DECLARE
      bulk regclass := audit.bulk_history_table();
    BEGIN
      IF bulk IS NULL THEN
        INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id)
        SELECT %2$L, n.id, 'INSERT', n.version, NULL, NULL, w.actor, w.batch FROM new_rows n, %3$s;
      ELSE  -- a bulk load's history table (revision 0027): the same rows, in a child of audit.change
        EXECUTE format('INSERT INTO %%s (table_name, row_id, operation, version, before, after, changed_by, '
                       'batch_id) SELECT %%L, n.id, ''INSERT'', n.version, NULL, NULL, w.actor, w.batch '
                       'FROM new_rows n, %3$s', bulk, %2$L);
      END IF;
      RETURN NULL;"""

FUNCTION = """
CREATE FUNCTION audit.bulk_history_table() RETURNS regclass LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  name text := nullif(current_setting('netzatlas.history_table', true), '');
  t regclass;
BEGIN
  IF name IS NULL THEN
    RETURN NULL;
  END IF;
  t := to_regclass(name);
  IF t IS NULL OR NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                               WHERE i.inhrelid = t AND i.inhparent = 'audit.change'::regclass
                                 AND c.relnamespace = 'audit'::regnamespace) THEN
    RAISE EXCEPTION 'netzatlas.history_table = % is not a history table (a table of schema audit inheriting '
                    'from audit.change)', name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN t;
END $$;
COMMENT ON FUNCTION audit.bulk_history_table() IS
  'the history table a bulk load named in netzatlas.history_table (a child of audit.change), or NULL';
"""


def _retrack() -> str:
    """Revision 0010's loop that calls audit.track() again for every tracked table (the triggers' functions anew)."""
    path = Path(__file__).with_name("0010_history_before_images.py")
    spec = importlib.util.spec_from_file_location("netzatlas_revision_0010", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RETRACK


def _swap(old: str, new: str) -> str:
    """SQL that rewrites audit.track() with ``old`` replaced by ``new`` (refusing a definition it does not know)."""
    quote = "$swap$"
    return f"""
DO $swap_do$
DECLARE def text := pg_get_functiondef('audit.track(regclass)'::regprocedure);
BEGIN
  IF position({quote}{old}{quote} IN def) = 0 THEN
    RAISE EXCEPTION 'audit.track() is not the one this migration knows';
  END IF;
  EXECUTE replace(def, {quote}{old}{quote}, {quote}{new}{quote});
END $swap_do$;
"""


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(FUNCTION + _swap(STATIC, ROUTED) + _retrack())


def downgrade() -> None:
    """History rows of the bulk tables into audit.change itself, the tables dropped, the static trigger again."""
    op.get_bind().connection.driver_connection.execute(_swap(ROUTED, STATIC) + _retrack() + """
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'audit.change'::regclass LOOP
    EXECUTE format('INSERT INTO audit.change SELECT * FROM ONLY %s', t);  -- (a parent's INSERT stays in it)
    EXECUTE format('DROP TABLE %s', t);
  END LOOP;
END $$;
DROP FUNCTION audit.bulk_history_table();
""")
