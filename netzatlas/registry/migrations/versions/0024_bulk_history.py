"""The history's batch index as a bloom BRIN: a bulk import no longer inserts every history row into a fourth btree.

Every row an import writes gets a row in ``audit.change`` with the import's batch id, and each of them was also
inserted into the partial btree ``change_batch_idx`` (batch_id). No query of the product filters the history by
batch (the history API, the change feed, restore and ``netzatlas db history`` use the primary key, (row_id, seq)
and (xact, seq), which stay btrees). Finding one batch's changes by hand stays possible and cheap: the rows of a
batch are written together, so they lie in few block ranges, and a bloom BRIN over the batch id (a few bytes per
32 pages, updated in place) finds those ranges.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The batch btree → a bloom BRIN."""
    op.execute("DROP INDEX IF EXISTS audit.change_batch_idx")
    op.execute("CREATE INDEX change_batch_brin ON audit.change USING brin (batch_id text_bloom_ops) "
               "WITH (pages_per_range = 32, autosummarize = on)")


def downgrade() -> None:
    """The partial btree of revision 0001 again."""
    op.execute("DROP INDEX IF EXISTS audit.change_batch_brin")
    op.execute("CREATE INDEX change_batch_idx ON audit.change (batch_id) WHERE batch_id IS NOT NULL")
