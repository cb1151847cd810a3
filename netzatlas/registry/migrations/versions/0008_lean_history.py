"""Leaner history rows (no fields the change row already holds, geometry as hex EWKB) and audit.image_json().

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

HERE = Path(__file__).parent
RETRACK = """
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT DISTINCT tgrelid::regclass FROM pg_trigger WHERE tgname = 't_log_insert' LOOP
    PERFORM audit.track(t);
  END LOOP;
END $$;
"""


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute((HERE / "0008_lean_history.sql").read_text() + RETRACK)


def downgrade() -> None:
    """The functions of revision 0001 again (history rows written meanwhile stay readable: restore reads both)."""
    first = (HERE / "0001_registry.sql").read_text()
    start = first.index("CREATE FUNCTION audit.row_image")
    end = first.index("-- the shared columns of every registry layer")
    functions = first[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    op.get_bind().connection.driver_connection.execute(
        "DROP FUNCTION IF EXISTS audit.image_json(jsonb, uuid);" + functions + RETRACK)
