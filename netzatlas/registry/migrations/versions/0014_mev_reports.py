"""Market exploration: import summaries and report rows (unmatched, conflicts) per MEV and import batch, served as
read-only confidential collections (``mev_summary_result``, ``mev_unmatched_result``, ``mev_conflict_result``).

The views are registered in ``registry.layer_policy`` as not public and confidential (operators' answers): only
keys with ``read:confidential`` (or admin) read them. ``confidential`` is added by revision 0013; it is added here
too if missing (``IF NOT EXISTS``), so this revision does not depend on how 0013 is filled.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

from pathlib import Path

from alembic import context, op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

VIEWS = ("mev_summary_result", "mev_unmatched_result", "mev_conflict_result")

POLICY = """
ALTER TABLE registry.layer_policy ADD COLUMN IF NOT EXISTS confidential boolean NOT NULL DEFAULT false;
INSERT INTO registry.layer_policy (layer, public, confidential, note) VALUES
  ('mev_summary_result', false, true, 'market exploration: what each operator''s answer file held (confidential)'),
  ('mev_unmatched_result', false, true, 'market exploration: answer rows not matched to the register (confidential)'),
  ('mev_conflict_result', false, true, 'market exploration: answers in conflict (confidential)')
ON CONFLICT (layer) DO UPDATE SET public = EXCLUDED.public, confidential = EXCLUDED.confidential,
                                  note = EXCLUDED.note;
"""


def upgrade() -> None:
    srid = int(context.config.attributes.get("srid", 25832))
    sql = Path(__file__).with_name("0014_mev_reports.sql").read_text().replace("{srid}", str(srid))
    conn = op.get_bind().connection.driver_connection
    conn.execute(sql)
    conn.execute(POLICY)


def downgrade() -> None:
    op.get_bind().connection.driver_connection.execute(
        "DELETE FROM registry.layer_policy WHERE layer IN ('mev_summary_result', 'mev_unmatched_result', "
        "'mev_conflict_result'); "
        "DROP VIEW IF EXISTS registry.mev_summary_result, registry.mev_unmatched_result, registry.mev_conflict_result; "
        "DROP TABLE IF EXISTS registry.mev_report_row, registry.mev_import")
