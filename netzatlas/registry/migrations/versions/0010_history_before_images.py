"""History rows keep the before image only; the after state is derived (audit.after_state). See the .sql file.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

revision = "0010"
down_revision = "0009"
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

DOWN = """
-- revision 0009 stored every after image: write the derived ones down before the function goes
UPDATE audit.change c SET after = audit.after_state(c) WHERE c.after IS NULL AND c.operation <> 'HARD_DELETE';
DROP FUNCTION audit.after_state(audit.change);
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
            WHERE p.pronamespace = 'audit'::regnamespace AND p.proname LIKE 'current\\_%' LOOP
    EXECUTE format('DROP FUNCTION %s', f);
  END LOOP;
END $$;
CREATE INDEX change_row_idx ON audit.change (row_id);
DROP INDEX audit.change_row_seq_idx;
"""


def upgrade() -> None:
    op.get_bind().connection.driver_connection.execute(
        (HERE / "0010_history_before_images.sql").read_text() + RETRACK)


def downgrade() -> None:
    """Stored after images again (the derived ones are written into the rows first), triggers of revision 0008."""
    lean = (HERE / "0008_lean_history.sql").read_text()
    start = lean.index("CREATE OR REPLACE FUNCTION audit.track")
    end = lean.index("-- a history image as readers want it")
    op.get_bind().connection.driver_connection.execute(DOWN + lean[start:end] + RETRACK)
