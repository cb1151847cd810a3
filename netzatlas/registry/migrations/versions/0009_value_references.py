"""Value-list and organization references checked once per statement (not per row); see the .sql file.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

HERE = Path(__file__).parent

DOWN = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT DISTINCT table_name FROM registry.value_reference LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS t_check_values_insert ON %s', r.table_name);
    EXECUTE format('DROP TRIGGER IF EXISTS t_check_values_update ON %s', r.table_name);
  END LOOP;
  FOR r IN SELECT DISTINCT ref_table FROM registry.value_reference LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS t_guard_referenced_value ON %s', r.ref_table);
    EXECUTE format('DROP TRIGGER IF EXISTS t_guard_referenced_truncate ON %s', r.ref_table);
  END LOOP;
  FOR r IN SELECT * FROM registry.value_reference LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %s (%I)',
                   r.table_name, r.constraint_name, r.column_name, r.ref_table, r.ref_column);
  END LOOP;
END $$;
DROP FUNCTION registry.use_value_references(regclass);
DROP FUNCTION registry.check_value_references();
DROP FUNCTION registry.guard_referenced_value();
DROP TABLE registry.value_reference;
"""


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute((HERE / "0009_value_references.sql").read_text())


def downgrade() -> None:
    """Ordinary foreign keys again (and create_layer as in revision 0001)."""
    first = (HERE / "0001_registry.sql").read_text()
    start = first.index("CREATE FUNCTION registry.create_layer")
    end = first.index("-- ---------------------------------------------------------------- asset layers")
    op.get_bind().connection.driver_connection.execute(
        DOWN + first[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
