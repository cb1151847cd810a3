"""Imports: a content fingerprint per (layer, source), so the same features arriving under a new source are noticed.

``audit.import_fingerprint`` keeps, for every import run that wrote to a layer, a digest of the features it
delivered (their ids and geometries in the storage CRS, order-independent). When a later run delivers the same
digest under another source, the importer warns: the source is the key with ``external_id``, so a new source
would create every feature a second time (typically the same file under a new name).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create audit.import_fingerprint."""
    op.execute("""
CREATE TABLE audit.import_fingerprint (
  layer text NOT NULL,
  source text NOT NULL,
  fingerprint text NOT NULL,
  features integer NOT NULL,
  batch_id text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (layer, source, fingerprint));
CREATE INDEX import_fingerprint_lookup_idx ON audit.import_fingerprint (layer, fingerprint);
COMMENT ON TABLE audit.import_fingerprint IS
  'Digest of the features (ids + geometries) each import delivered per layer and source: warns when the same '
  'features arrive under a new source.';
""")


def downgrade() -> None:
    """Drop audit.import_fingerprint."""
    op.execute("DROP TABLE IF EXISTS audit.import_fingerprint")
